#!/usr/bin/env bash
# Launch overhead against the peers that install from the package registries here:
# dotenvx (npm) and python-dotenv's CLI (PyPI), on the same 50-variable dotenv file,
# side by side in one hyperfine run. The peers go into a temporary folder, not the repo.
#   bench/peers.sh            RUNS=N sets hyperfine's runs
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(scripts/build-static)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check 'python-dotenv[cli]'
(cd "$work" && npm install --silent --no-audit --no-fund @dotenvx/dotenvx >/dev/null)
python3 bench/make_env.py "$work/bench.env"
hyperfine -N --warmup 5 --runs "${RUNS:-100}" --export-json "$work/result.json" \
  -n "bare" "/bin/true" \
  -n "secretrun" "$bin --from $work/bench.env -- /bin/true" \
  -n "python-dotenv" "$work/venv/bin/dotenv -f $work/bench.env run -- /bin/true" \
  -n "dotenvx" "$work/node_modules/.bin/dotenvx run -q -f $work/bench.env -- /bin/true" >/dev/null
python3 - "$work/result.json" <<'PY'
import json, sys
r = {x["command"]: x["median"] * 1000 for x in json.load(open(sys.argv[1]))["results"]}
bare = r["bare"]
for name, ms in r.items():
    extra = "" if name == "bare" else f"  +{ms - bare:7.2f} ms over bare, {(ms - bare) / (r['secretrun'] - bare):6.1f}x secretrun's overhead"
    print(f"{name:<14} median {ms:8.2f} ms{extra}")
PY
