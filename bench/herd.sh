#!/usr/bin/env bash
# A fleet starting at once: N launches (default 100, then 500), each reading 10 KV
# paths, against an OpenBao dev server with a real rate-limit quota
# (`sys/quotas/rate-limit`, RATE requests a second for everyone, default 200: the
# 100 launches' 1,100 requests fit in about 5.5 s, inside the 10 s deadline). Reports,
# per build, how many launches succeeded, p50/p99/max launch time, and the requests
# OpenBao refused so far (its `quota.rate_limit.violation` counter). Loopback only.
#   bench/herd.sh [OTHER_BINARY...]    N="100 500" RATE=200 TIMEOUT=10s
# Needs `bao` (scripts/test installs it into .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
work=$(mktemp -d)
cargo build --release --quiet
bins=("$work/secretrun")
cp "target/$(rustc -vV | sed -n 's/^host: //p')/release/secretrun" "${bins[0]}"
for b in "$@"; do bins+=("$work/other-${#bins[@]}"); cp "$b" "${bins[-1]}"; done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
token=herd-root-token
HOME="$work" bao server -dev -dev-no-store-token -dev-root-token-id=$token \
  -dev-listen-address=127.0.0.1:$port >"$work/bao.log" 2>&1 &
bao_pid=$!
trap 'kill $bao_pid 2>/dev/null; rm -rf "$work"' EXIT
export VAULT_ADDR=http://127.0.0.1:$port VAULT_TOKEN=$token
for _ in $(seq 100); do curl -sf "$VAULT_ADDR/v1/sys/health" >/dev/null 2>&1 && break; sleep 0.1; done
refs=()
for i in $(seq 0 9); do
  HOME="$work" bao kv put -mount=secret "herd/p$i" "P$i=value-$i" >/dev/null
  refs+=(--from "vault://secret/herd/p$i")
done
rate=${RATE:-200}
HOME="$work" bao write sys/quotas/rate-limit/herd rate="$rate" interval=1s >/dev/null
echo "OpenBao at $VAULT_ADDR, quota $rate requests/s for all; $((${#refs[@]} / 2)) references a launch"
for n in ${N:-100 500}; do
  for b in "${bins[@]}"; do
    echo "== $(basename "$b"), N=$n"
    python3 bench/herd.py "$b" "$n" "${TIMEOUT:-10s}" "${refs[@]}"
    # Let the bucket fill again before the next fleet (and the metrics request in).
    sleep 2
    curl -sf -H "X-Vault-Token: $token" "$VAULT_ADDR/v1/sys/metrics" |
      python3 -c 'import json,sys; d=json.load(sys.stdin); print("  refused by the quota so far (429s):", sum(c["Count"] for c in d.get("Counters", []) if "rate_limit.violation" in c["Name"]))' ||
      echo "  (OpenBao's metrics did not answer)"
  done
done
