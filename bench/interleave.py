"""Times commands interleaved (A B C A B C ...) rather than one after another, so that
a noisy neighbour slows them all alike; prints the median of each. For comparing
builds of secretrun whose differences are smaller than these machines' drift.

    python3 bench/interleave.py RUNS 'cmd one' 'cmd two' ...
"""
import os
import shlex
import statistics
import sys
import time

runs = int(sys.argv[1])
commands = [shlex.split(c) for c in sys.argv[2:]]
times = [[] for _ in commands]
devnull = os.open(os.devnull, os.O_WRONLY)
actions = [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
for _ in range(runs):
    for i, argv in enumerate(commands):
        start = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
        os.waitpid(pid, 0)
        times[i].append(time.perf_counter() - start)
base = statistics.median(times[0])
for argv, t in zip(commands, times):
    m = statistics.median(t)
    print(f"{m * 1000:7.3f} ms  {m / base:5.2f}x first  {' '.join(argv)[-70:]}")
