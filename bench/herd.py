"""Starts N secretrun launches at once against a store and reports who got through.

    python3 bench/herd.py BINARY N TIMEOUT [--each NAME=FORMAT]... ARGS...

ARGS are the launch's options. `--each VAULT_TOKEN=herd-{i}` gives launch i (from 0)
a variable of its own, so a counting proxy can tell the launches apart. Prints one
line: launches, how many succeeded, p50/p99/max wall time, and the exit codes of
those that failed. The rest of the environment (VAULT_ADDR, ...) is the caller's.
For benchmarks only: loopback stores, a bounded count.
"""
import collections
import os
import subprocess
import sys
import time

binary, count, timeout = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rest, each = sys.argv[4:], []
while rest[:1] == ["--each"]:
    each.append(rest[1].split("=", 1))
    rest = rest[2:]
args = [binary, "--timeout", timeout, *rest, "--", "true"]


def environment(i):
    env = dict(os.environ)
    env.update((name, form.format(i=i)) for name, form in each)
    return env


envs = [environment(i) for i in range(count)]
started = time.monotonic()
procs = [(time.monotonic(), subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.PIPE))
         for env in envs]
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
