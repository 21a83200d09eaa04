"""Starts N secretrun launches at once against a store and reports who got through.

    python3 bench/herd.py BINARY N TIMEOUT ARGS...   (ARGS: the launch's options)

Prints one line: launches, how many succeeded, p50/p99/max wall time, and the exit
codes of those that failed. The environment (VAULT_ADDR, VAULT_TOKEN, ...) is the
caller's. For benchmarks only: loopback stores, a bounded count.
"""
import collections
import subprocess
import sys
import time

binary, count, timeout = sys.argv[1], int(sys.argv[2]), sys.argv[3]
args = [binary, "--timeout", timeout, *sys.argv[4:], "--", "true"]
started = time.monotonic()
procs = [(time.monotonic(), subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.PIPE))
         for _ in range(count)]
times, codes, said = [], collections.Counter(), collections.Counter()
for began, proc in procs:
    _, err = proc.communicate()
    times.append(time.monotonic() - began)
    codes[proc.returncode] += 1
    if proc.returncode:
        said[err.decode(errors="replace").splitlines()[0][:100] if err else ""] += 1
times.sort()
pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]
print(f"{count} launches: {codes[0]} succeeded; p50 {pick(0.5):.2f} s, "
      f"p99 {pick(0.99):.2f} s, max {times[-1]:.2f} s; whole {time.monotonic() - started:.2f} s; "
      f"exit codes {dict(codes)}")
for line, n in said.most_common(3):
    print(f"  {n}x {line}")
