#!/usr/bin/env bash
# Launch overhead of secretrun on a 50-variable dotenv file, against the bare command
# and the floor (a static C program that only execs it), measured side by side in one
# hyperfine run: the default (dynamic, PIE) release build and the static build of
# scripts/build-static. Extra secretrun binaries to compare may be given as arguments.
#   bench/launch.sh [OTHER_SECRETRUN_BINARY...]      RUNS=N sets hyperfine's runs
# Needs: hyperfine, gcc with static glibc, GNU time. Prints medians, ratios, peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
static=$(scripts/build-static)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -static -o "$work/floor" bench/floor.c
python3 bench/make_env.py "$work/bench.env"
bins=("$static" "$PWD/target/release/secretrun" "$@")
cmds=(/bin/true "$work/floor /bin/true")
for b in "${bins[@]}"; do cmds+=("$b --from $work/bench.env -- /bin/true"); done
hyperfine -N --warmup 100 --runs "${RUNS:-1000}" --export-json "$work/result.json" "${cmds[@]}" >/dev/null
python3 - "$work/result.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
med = [r["median"] * 1000 for r in results]
bare, floor = med[0], med[1]
print(f"{'command':<70} {'median ms':>9} {'over bare':>9} {'x floor':>7}")
for r, m in zip(results, med):
    print(f"{r['command'][-70:]:<70} {m:9.3f} {m - bare:+9.3f} {(m - bare) / (floor - bare) if r is not results[0] else 0:7.2f}")
for r, m in zip(results[2:], med[2:]):
    print(f"launch / floor (medians, bare included): {m / floor:.3f}  {r['command'].split()[0]}")
PY
for b in "${bins[@]}"; do
    rss=$(/usr/bin/time -f %M "$b" --from "$work/bench.env" -- /bin/true 2>&1 >/dev/null)
    printf 'peak RSS %s: %s KiB\n' "$b" "$rss"
done
