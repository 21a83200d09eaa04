#!/usr/bin/env bash
# What opening encrypted dotenv files costs at launch, side by side in one hyperfine
# run: the same 50-variable file plain, age-encrypted (X25519) and dotenvx-encrypted,
# launched by the static build; and the dotenvx file launched by `dotenvx run`.
#   bench/encrypted.sh [OTHER_SECRETRUN_BINARY]     RUNS=N sets hyperfine's runs;
#   SECRETRUN_STATIC=PATH uses that binary instead of building one
# Needs: hyperfine, age, and dotenvx in .node (scripts/test installs both). The values
# are generated, not secrets.
set -euo pipefail
cd "$(dirname "$0")/.."
static=${SECRETRUN_STATIC:-$(scripts/build-static)}
dotenvx="$PWD/.node/node_modules/.bin/dotenvx"
[ -x "$dotenvx" ] || { echo "bench/encrypted.sh: run scripts/test first (it installs dotenvx)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 bench/make_env.py "$work/bench.env"
age-keygen -o "$work/id.txt" 2>/dev/null
age -R <(age-keygen -y "$work/id.txt") -o "$work/bench.env.age" "$work/bench.env"
mkdir "$work/dx" && cp "$work/bench.env" "$work/dx/.env"
(cd "$work/dx" && HOME="$work" "$dotenvx" encrypt >/dev/null)
cmds=(
  "$static --from $work/bench.env -- /bin/true"
  "$static -i $work/id.txt --from $work/bench.env.age -- /bin/true"
  "$static --from $work/dx/.env -- /bin/true"
  "$dotenvx run -q -f $work/dx/.env -- /bin/true"
)
for other in "$@"; do cmds+=("$other --from $work/bench.env -- /bin/true"); done
hyperfine -N --warmup 20 --runs "${RUNS:-300}" --export-json "$work/result.json" "${cmds[@]}" >/dev/null
python3 - "$work/result.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
med = [r["median"] * 1000 for r in results]
names = ["secretrun, plain file", "secretrun, age file", "secretrun, dotenvx file", "dotenvx run, dotenvx file"]
names += [f"other: {r['command'].split()[0]}, plain file" for r in results[4:]]
print(f"{'launch':<40} {'median ms':>9} {'vs plain':>9}")
for name, m in zip(names, med):
    print(f"{name:<40} {m:9.3f} {m - med[0]:+9.3f}")
print(f"dotenvx run / secretrun on the same dotenvx file: {med[3] / med[2]:.0f}x")
PY
