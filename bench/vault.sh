#!/usr/bin/env bash
# Vault fetch latency: 1 path against 20 paths, straight to a local OpenBao dev server
# over http and over https (the dev server's own TLS, where Go offers HTTP/2), and
# through a proxy that adds 20 ms to every answer, side by side in one hyperfine run.
# Every binary runs from a copy in one directory (where a file lies changes its
# launch time here). Needs hyperfine and `bao` (scripts/test installs it into .venv).
#   bench/vault.sh [OTHER_BINARY...]   RUNS=N sets hyperfine's runs; each OTHER_BINARY
#   (an earlier build, say) runs the same six cases in the same hyperfine run.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
work=$(mktemp -d)
bins=("$work/secretrun")
cp "$(scripts/build-static)" "${bins[0]}"
for b in "$@"; do bins+=("$work/other-${#bins[@]}"); cp "$b" "${bins[-1]}"; done
bin=${bins[0]}
source bench/lib.sh
port=$(free_port)
proxy_port=$(free_port)
tls_port=$(free_port)
token=bench-root-token
HOME="$work" bao server -dev -dev-no-store-token -dev-root-token-id=$token -dev-listen-address=127.0.0.1:$port >"$work/bao.log" 2>&1 &
bao_pid=$!
mkdir "$work/tls"
HOME="$work" bao server -dev -dev-tls -dev-tls-cert-dir="$work/tls" -dev-no-store-token -dev-root-token-id=$token -dev-listen-address=127.0.0.1:$tls_port >"$work/bao-tls.log" 2>&1 &
tls_pid=$!
python3 bench/delay_proxy.py "$proxy_port" "$port" 0.020 &
proxy_pid=$!
trap 'kill $bao_pid $tls_pid $proxy_pid 2>/dev/null; rm -rf "$work"' EXIT
export VAULT_ADDR=http://127.0.0.1:$port VAULT_TOKEN=$token
tls_addr=https://127.0.0.1:$tls_port
for _ in $(seq 100); do
  curl -sf "$VAULT_ADDR/v1/sys/health" >/dev/null 2>&1 &&
    curl -sf --cacert "$work/tls/vault-ca.pem" "$tls_addr/v1/sys/health" >/dev/null 2>&1 && break
  sleep 0.1
done
one=(--from vault://secret/bench0)
twenty=()
for i in $(seq 0 19); do
  for a in "$VAULT_ADDR" "$tls_addr"; do
    curl -sf --cacert "$work/tls/vault-ca.pem" -H "X-Vault-Token: $token" -d "{\"data\":{\"BENCH_$i\":\"value-$i\"}}" "$a/v1/secret/data/bench$i" >/dev/null
  done
  twenty+=(--from "vault://secret/bench$i")
done
proxied="VAULT_ADDR=http://127.0.0.1:$proxy_port"
tls="VAULT_ADDR=$tls_addr VAULT_CACERT=$work/tls/vault-ca.pem"
cases=()
for i in "${!bins[@]}"; do
  b=${bins[$i]}
  tag=""
  [ "$i" = 0 ] || tag=" (other $i)"
  cases+=(-n "1 path$tag" "$b ${one[*]} -- /bin/true"
          -n "20 paths$tag" "$b ${twenty[*]} -- /bin/true"
          -n "1 path, +20 ms$tag" "env $proxied $b ${one[*]} -- /bin/true"
          -n "20 paths, +20 ms$tag" "env $proxied $b ${twenty[*]} -- /bin/true"
          -n "1 path, https$tag" "env $tls $b ${one[*]} -- /bin/true"
          -n "20 paths, https$tag" "env $tls $b ${twenty[*]} -- /bin/true")
done
hyperfine -N --warmup 5 --runs "${RUNS:-50}" --export-json "$work/result.json" "${cases[@]}" >/dev/null
# The server's own work: its CPU time (user + system, /proc/PID/stat) over
# $launches launches of each loopback case, per launch. On loopback a launch cannot
# end before the server has done it, and the server has at most every core of the
# machine.
launches=100
for kind in http https; do
  if [ "$kind" = http ]; then
    p=$port; over=()
  else
    p=$tls_port; read -ra over <<<"$tls"
  fi
  server=$(pgrep -f -- "-dev-listen-address=127.0.0.1:$p" | head -1)
  ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
  for n in 1 20; do
    args=("${one[@]}")
    [ "$n" = 1 ] || args=("${twenty[@]}")
    before=$(ticks)
    for _ in $(seq $launches); do env "${over[@]}" "$bin" "${args[@]}" -- /bin/true; done
    echo "$kind $n $(( ($(ticks) - before) * 1000 / $(getconf CLK_TCK) ))" >>"$work/server_cpu"
  done
done
python3 - "$work/result.json" "$work/server_cpu" "$(nproc)" "$launches" <<'PY'
import json, sys
r = {x["command"]: x["median"] * 1000 for x in json.load(open(sys.argv[1]))["results"]}
launches = int(sys.argv[4])
cpu = {(kind, int(n)): int(ms) / launches
       for kind, n, ms in (line.split() for line in open(sys.argv[2]))}
cores = int(sys.argv[3])
for name, ms in r.items():
    print(f"{name:<18} median {ms:8.2f} ms")
for tag in [""] + [f" (other {i})" for i in range(1, 10)]:
    if f"1 path{tag}" in r:
        print(f"20 paths / 1 path{tag}:              {r['20 paths' + tag] / r['1 path' + tag]:.2f}x")
        print(f"20 paths / 1 path, with +20 ms{tag}: {r['20 paths, +20 ms' + tag] / r['1 path, +20 ms' + tag]:.2f}x")
        print(f"20 paths / 1 path, https{tag}:       {r['20 paths, https' + tag] / r['1 path, https' + tag]:.2f}x")
for kind, one in [("http", "1 path"), ("https", "1 path, https")]:
    print(f"{kind}: server CPU per launch ({launches} launches): "
          f"1 path {cpu[kind, 1]:.2f} ms, 20 paths {cpu[kind, 20]:.2f} ms")
    floor = r[one] + (cpu[kind, 20] - cpu[kind, 1]) / cores
    print(f"{kind}: 20 paths can take no less than 1 path + the server's extra CPU over "
          f"{cores} cores: {floor:.2f} ms, {floor / r[one]:.2f}x")
PY
