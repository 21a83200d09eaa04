"""Writes the benchmarks' dotenv file: 50 variables of made-up 46-character values.

    python3 bench/make_env.py PATH
"""
import random
import string
import sys

random.seed(1)
with open(sys.argv[1], "w") as f:
    for i in range(50):
        value = "".join(random.choice(string.ascii_letters + string.digits) for _ in range(40))
        f.write(f"BENCH_VAR_{i}=bench_{value}\n")
