#!/usr/bin/env bash
# What each store costs: the static release binary built with each feature set
# (none, one store each, the former default vault+aws, and today's default of all
# four), its size, its build time from a warm dependency cache, and its launch time
# on a 50-variable dotenv file, side by side in one hyperfine run.
#   bench/features.sh        RUNS=N sets hyperfine's runs; TARGET_DIR the cargo target
# Needs: hyperfine. Prints a table.
set -euo pipefail
cd "$(dirname "$0")/.."
target=$(rustc -vV | sed -n 's/^host: //p')
dir=${TARGET_DIR:-$PWD/target/features}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 bench/make_env.py "$work/bench.env"
sets=("none:" "vault:vault" "aws:aws" "azure:azure" "gcp:gcp" "vault+aws:vault,aws" "default:vault,aws,azure,gcp")
# Dependencies first, so each timed build below is secretrun's own compile and link.
RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" \
  cargo build --release --quiet --target "$target" --target-dir "$dir" --no-default-features \
  --features vault,aws,azure,gcp
printf '%-10s %10s %10s\n' "features" "bytes" "build s"
cmds=()
for entry in "${sets[@]}"; do
  name=${entry%%:*}; features=${entry#*:}
  touch src/lib.rs
  start=$(date +%s.%N)
  RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" \
    cargo build --release --quiet --target "$target" --target-dir "$dir" --no-default-features \
    ${features:+--features "$features"}
  secs=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
  cp "$dir/$target/release/secretrun" "$work/secretrun-$name"
  printf '%-10s %10d %10s\n' "$name" "$(stat -c %s "$work/secretrun-$name")" "$secs"
  cmds+=(-n "$name" "$work/secretrun-$name --from $work/bench.env -- /bin/true")
done
hyperfine -N --warmup 50 --runs "${RUNS:-500}" --export-json "$work/result.json" "${cmds[@]}" >/dev/null
python3 - "$work/result.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
base = results[0]["median"]
print(f"{'features':<10} {'launch ms':>9} {'vs none':>8}")
for r in results:
    print(f"{r['command']:<10} {r['median'] * 1000:9.3f} {r['median'] / base:8.3f}")
PY
