#!/usr/bin/env bash
# Round trips and the client's CPU per reference: 1 Vault path against 20 on one
# mount, through a proxy that holds each answer 20 ms (bench/delay_proxy.py: a
# network round trip), on a quiet machine and with the cores busy (two `yes` loops,
# as a node full of starting containers), side by side in one hyperfine run per
# condition. Three conditions:
#   quiet          nothing else runs
#   busy, shared   the loops, secretrun, OpenBao and the proxy share every core
#   busy client    the loops and secretrun share core 1; OpenBao and the proxy have
#                  core 0, as a store on another machine would have its own
# Each over plain http (HTTP/1.1: a connection a read in flight) and over https
# (OpenBao's -dev-tls: 20 paths share one HTTP/2 connection). Then the client's own
# CPU (perf stat's task-clock, user and system) for 1 and 20 paths: what each
# reference costs it. Needs hyperfine, perf, taskset and bao.
#   bench/busy.sh    RUNS=N sets hyperfine's runs
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
source bench/lib.sh
bin=$(release_binary)
scratch
token=bench
mkdir "$work/tls"
stores=() # OpenBao's pids and the proxies', for taskset
for kind in http https; do
  port=$(free_port); proxy=$(free_port)
  tls=(); [ "$kind" = https ] && tls=(-dev-tls "-dev-tls-cert-dir=$work/tls")
  HOME="$work" bao server -dev "${tls[@]}" -dev-no-store-token -dev-root-token-id=$token \
    -dev-listen-address=127.0.0.1:$port >"$work/bao-$kind.log" 2>&1 &
  pids+=($!); stores+=($!)
  python3 bench/delay_proxy.py "$proxy" "$port" 0.020 &
  pids+=($!); stores+=($!)
  for _ in $(seq 100); do curl -sfk "$kind://127.0.0.1:$port/v1/sys/health" >/dev/null 2>&1 && break; sleep 0.1; done
  for i in $(seq 0 19); do
    curl -sfk -H "X-Vault-Token: $token" -d "{\"data\":{\"BUSY_$i\":\"value-$i\"}}" \
      "$kind://127.0.0.1:$port/v1/secret/data/busy$i" >/dev/null
  done
  declare "addr_$kind=$kind://127.0.0.1:$proxy"
done
one=(--from vault://secret/busy0); twenty=()
for i in $(seq 0 19); do twenty+=(--from "vault://secret/busy$i"); done
export VAULT_TOKEN=$token VAULT_CACERT=$work/tls/vault-ca.pem
http="env VAULT_ADDR=$addr_http"; https="env VAULT_ADDR=$addr_https"
measure() { # NAME [taskset -c CPUS]
  local name=$1; shift
  "$@" hyperfine -N --warmup 5 --runs "${RUNS:-60}" --export-json "$work/$name.json" \
    -n "http 1" "$http $bin ${one[*]} -- /bin/true" -n "http 20" "$http $bin ${twenty[*]} -- /bin/true" \
    -n "https 1" "$https $bin ${one[*]} -- /bin/true" -n "https 20" "$https $bin ${twenty[*]} -- /bin/true" >/dev/null
  python3 - "$work/$name.json" "$name" <<'PY'
import json, sys
r = {x["command"]: x["median"] * 1000 for x in json.load(open(sys.argv[1]))["results"]}
for kind in ["http", "https"]:
    one, twenty = r[f"{kind} 1"], r[f"{kind} 20"]
    print(f"{sys.argv[2]:<14} {kind:<5} 1 path {one:6.2f} ms, 20 paths {twenty:6.2f} ms: {twenty / one:.2f}x")
PY
}
load() { for cpu in "$@"; do taskset -c "$cpu" sh -c 'while :; do :; done' & loops+=($!); done; }
measure quiet
loops=(); load 0 1; measure "busy, shared"; kill "${loops[@]}"
for pid in "${stores[@]}"; do taskset -apc 0 "$pid" >/dev/null; done
loops=(); load 1 1; measure "busy client" taskset -c 1; kill "${loops[@]}"
for kind in http https; do
  for n in 1 20; do
    args=("${one[@]}"); [ "$n" = 1 ] || args=("${twenty[@]}")
    VAULT_ADDR=$(eval echo "\$addr_$kind") perf stat -x, -e task-clock -r 30 \
      "$bin" "${args[@]}" -- /bin/true 2>"$work/perf-$kind-$n" >/dev/null
  done
  python3 - "$work/perf-$kind-1" "$work/perf-$kind-20" "$kind" <<'PY'
import sys
ms = [float(open(p).read().split(",")[0]) for p in sys.argv[1:3]]
print(f"client CPU, {sys.argv[3]:<5} (task-clock, mean of 30): 1 path {ms[0]:.2f} ms, "
      f"20 paths {ms[1]:.2f} ms: {(ms[1] - ms[0]) / 19:.3f} ms a reference")
PY
done
