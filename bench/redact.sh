#!/usr/bin/env bash
# Throughput of `--redact`: 100 MB of output (printable text with a secret value every
# ~1000 bytes) through the filter to /dev/null, against the same output with no
# filter, side by side in one hyperfine run; another binary's --redact beside it.
#   bench/redact.sh [OTHER_BINARY]     RUNS=N sets hyperfine's runs;
#   SECRETRUN_STATIC=PATH uses that binary instead of building one
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${SECRETRUN_STATIC:-$(scripts/build-static)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf 'STRIPE_SECRET_KEY=sk_live_BENCHbench0123456789abcdef\nDB_PASSWORD=bench-password-0000\nTOKEN=ghp_BENCHbench0123456789abcdefghijklmn\n' >"$work/bench.env"
python3 - "$work/out.txt" <<'PY'
import random, string, sys
random.seed(1)
line = "".join(random.choice(string.ascii_letters + " ") for _ in range(960))
with open(sys.argv[1], "w") as f:
    for i in range(100 * 1024 * 1024 // 1000):
        f.write(line + (" sk_live_BENCHbench0123456789abcdef\n" if i % 2 else " bench-password-0000 xx\n"))
PY
size=$(stat -c %s "$work/out.txt")
other=()
if [ $# -gt 0 ]; then other=(-n "other, --redact" "$1 --from $work/bench.env --redact -- cat $work/out.txt"); fi
hyperfine -N --warmup 1 --runs "${RUNS:-10}" --export-json "$work/result.json" --output=pipe \
  -n "cat, no filter" "$bin --from $work/bench.env -- cat $work/out.txt" \
  -n "cat through --redact" "$bin --from $work/bench.env --redact -- cat $work/out.txt" \
  "${other[@]}" >/dev/null
python3 - "$work/result.json" "$size" <<'PY'
import json, sys
size = int(sys.argv[2])
results = json.load(open(sys.argv[1]))["results"]
for r in results:
    print(f"{r['command']:<22} median {r['median'] * 1000:8.1f} ms  {size / r['median'] / 1e6:8.0f} MB/s  {results[0]['median'] / r['median']:5.2f} of no filter")
PY
