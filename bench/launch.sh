#!/usr/bin/env bash
# Launch overhead of secretrun on a 50-variable dotenv file, against the bare command
# and the floor (a static C program that only execs it), measured side by side in one
# hyperfine run: the default release build (`cargo build --release`: static and not
# PIE on x86_64 Linux with glibc, .cargo/config.toml) and the build of
# scripts/build-static. Extra secretrun binaries to compare may be given as arguments.
#   bench/launch.sh [OTHER_SECRETRUN_BINARY...]
#   RUNS=N launches of each command in all (default 1000); ROUNDS=N (default 5)
# The runs are split into rounds, the commands in a different order each round, and
# each command's median is taken over all its runs: these machines drift by more than
# the differences measured, and hyperfine runs one command's runs back to back.
# Needs: hyperfine, gcc with static glibc, GNU time. Prints medians, ratios, peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
host=$(rustc -vV | sed -n 's/^host: //p')
release=$PWD/target/$host/release/secretrun
static=$(scripts/build-static)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -static -o "$work/floor" bench/floor.c
python3 bench/make_env.py "$work/bench.env"
# Every binary is run from a copy in one directory: where and how a file was written
# (a linker's output, a hard link in target/, a copy) moved launches by up to 0.2 ms
# here, through how its pages sit in the page cache.
bins=()
i=0
for b in "$static" "$release" "$@"; do
  i=$((i + 1))
  cp "$b" "$work/secretrun-$i"
  bins+=("$work/secretrun-$i")
  echo "secretrun-$i: $b"
done
cmds=(/bin/true "$work/floor /bin/true")
for b in "${bins[@]}"; do cmds+=("$b --from $work/bench.env -- /bin/true"); done
rounds=${ROUNDS:-5}
runs=$(( (${RUNS:-1000} + rounds - 1) / rounds ))
for ((r = 0; r < rounds; r++)); do
  # Round r starts at command r (mod their number): each takes every place in turn.
  order=("${cmds[@]:r % ${#cmds[@]}}" "${cmds[@]:0:r % ${#cmds[@]}}")
  hyperfine -N --warmup 50 --runs "$runs" --export-json "$work/round$r.json" "${order[@]}" >/dev/null
done
python3 - "${cmds[@]}" <<PY
import json, statistics, sys
commands = sys.argv[1:]
times = {c: [] for c in commands}
for r in range($rounds):
    for result in json.load(open(f"$work/round{r}.json"))["results"]:
        times[result["command"]] += result["times"]
med = [statistics.median(times[c]) * 1000 for c in commands]
bare, floor = med[0], med[1]
print(f"{len(times[commands[0]])} runs of each, in $rounds rounds")
print(f"{'command':<70} {'median ms':>9} {'over bare':>9} {'x floor':>7}")
for i, (c, m) in enumerate(zip(commands, med)):
    print(f"{c[-70:]:<70} {m:9.3f} {m - bare:+9.3f} {(m - bare) / (floor - bare) if i else 0:7.2f}")
for c, m in zip(commands[2:], med[2:]):
    print(f"launch / floor (medians, bare included): {m / floor:.3f}  {c.split()[0]}")
PY
for b in "${bins[@]}"; do
    rss=$(/usr/bin/time -f %M "$b" --from "$work/bench.env" -- /bin/true 2>&1 >/dev/null)
    printf 'peak RSS %s: %s KiB\n' "$b" "$rss"
done
