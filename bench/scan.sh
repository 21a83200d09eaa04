#!/usr/bin/env bash
# `secretrun scan` against ripgrep (`rg -F -f VALUES`, the floor: a fixed-string search
# for the configured values as they are) and detect-secrets, side by side in one run,
# on a generated tree (MB megabytes, default 1024, in files of about 50 KiB) with four
# planted secrets: a configured value as it is, base64-encoded and URL-encoded, and a
# live Stripe key that no configuration names.
#   bench/scan.sh            MB=N sets the size; RUNS=N hyperfine's runs (default 5);
#                            STYLE=ident for text dense in identifier-like runs
#                            (bench/make_tree.py); DETECT=0 skips detect-secrets
# Needs: hyperfine and ripgrep (Debian), detect-secrets (installed into ./.venv).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v rg >/dev/null || apt-get install -y -qq ripgrep >/dev/null
[ -x .venv/bin/detect-secrets ] || .venv/bin/pip install --quiet detect-secrets
cargo build --release --quiet
bin=$PWD/target/$(rustc -vV | sed -n 's/^host: //p')/release/secretrun
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 bench/make_tree.py "$work/tree" "${MB:-1024}" > "$work/planted"
printf 'sources = ["%s"]\n' "$work/bench-scan.env" > "$work/bench.toml"
du -sh "$work/tree" | sed 's/^/tree: /'
echo "planted:"; sed 's/^/  /' "$work/planted"
cd "$work"
hyperfine -N -i --warmup 1 --runs "${RUNS:-5}" --export-json result.json \
  "$bin scan --config bench.toml --format json tree" \
  "rg -F -f bench-scan.values tree" >/dev/null
python3 - result.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
for x in r:
    print(f"{x['command'][:60]:<60} median {x['median']:.3f} s")
print(f"secretrun / ripgrep (medians): {r[0]['median'] / r[1]['median']:.2f}")
PY
[ "${DETECT:-1}" = 0 ] && exit 0
# detect-secrets reads about 7-10 MB a minute here: the whole tree would take hours.
# It is timed on one package of the tree (500 files, about 25 MB), and shown the four
# planted files for what it finds.
slice=tree/pkg000
took=$( { /usr/bin/time -f %e "$OLDPWD/.venv/bin/detect-secrets" scan --all-files "$slice" > /dev/null; } 2>&1 | tail -1)
slice_mb=$(du -sm "$slice" | cut -f1)
tree_mb=$(du -sm tree | cut -f1)
echo "detect-secrets scan --all-files $slice ($slice_mb MB): $took s; the tree at that rate: $(python3 -c "print(round($took * $tree_mb / $slice_mb / 60))") min"
mkdir planted-only
while read -r kind path; do cp "$path" "planted-only/$(basename "$path")"; done < planted
"$OLDPWD/.venv/bin/detect-secrets" scan --all-files planted-only > detect.json
echo "found, of the four planted:"
"$bin" scan --config bench.toml --format json tree > secretrun.json || true
python3 - planted secretrun.json detect.json <<'PY'
import json, subprocess, sys
planted = dict(line.split() for line in open(sys.argv[1]))
ours = {f["path"] for f in json.load(open(sys.argv[2]))["findings"]}
theirs = {p.split("/")[-1] for p in json.load(open(sys.argv[3]))["results"]}
rg = set(subprocess.run(["rg", "-F", "-l", "-f", "bench-scan.values", "tree"], capture_output=True, text=True).stdout.split())
for kind, path in planted.items():
    rel = path.split("/tree/", 1)[1]
    rel = "tree/" + rel
    name = rel.split("/")[-1]
    print(f"  {kind:<7} secretrun {'yes' if rel in ours else 'no ':<4} ripgrep {'yes' if rel in rg else 'no ':<4} detect-secrets {'yes' if name in theirs else 'no'}")
PY
