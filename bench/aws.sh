#!/usr/bin/env bash
# AWS Secrets Manager launch cost against a local moto_server: 1, 20 and 45 secrets;
# a mixed launch (dotenv + Vault + AWS) against each store alone; and a launch with
# no credentials at all (which must fail at once, not wait on the EC2 metadata
# service). Side by side in one hyperfine run. Needs hyperfine, moto_server and bao
# (scripts/test installs both into .venv), and openssl for the https case's
# certificates: real AWS endpoints are https only, so "1 secret, https" goes through
# a TLS front (bench/tls_proxy.py) and pays a real handshake.
#   bench/aws.sh [OTHER_BINARY...]   RUNS=N sets hyperfine's runs; an OTHER_BINARY (an
#   earlier build, say) runs the 1-secret cases in the same hyperfine run.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
bin=$(scripts/build-static)
work=$(mktemp -d)
source bench/lib.sh
moto_port=$(free_port)
tls_port=$(free_port)
bao_port=$(free_port)
HOME="$work" moto_server -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
moto_pid=$!
bench/tls_cert.sh "$work"
python3 bench/tls_proxy.py "$tls_port" "$moto_port" "$work/tls.pem" "$work/tls.key" &
tls_pid=$!
HOME="$work" bao server -dev -dev-no-store-token -dev-root-token-id=bench -dev-listen-address=127.0.0.1:$bao_port >"$work/bao.log" 2>&1 &
bao_pid=$!
trap 'kill $moto_pid $tls_pid $bao_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$bao_port/v1/sys/health" >/dev/null 2>&1 && curl -s "http://127.0.0.1:$moto_port/" >/dev/null 2>&1 && curl -s --cacert "$work/ca.pem" "https://127.0.0.1:$tls_port/" >/dev/null 2>&1 && break; sleep 0.1; done
sm() {
  curl -sf -X POST "http://127.0.0.1:$moto_port/" -H "X-Amz-Target: secretsmanager.$1" \
    -H "Content-Type: application/x-amz-json-1.1" \
    -H "Authorization: AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0" \
    -d "$2" >/dev/null
}
all=()
for i in $(seq 0 44); do
  sm CreateSecret "{\"Name\":\"bench/$i\",\"SecretString\":\"{\\\"BENCH_$i\\\":\\\"value-$i\\\"}\"}"
  all+=(--from "aws-sm://bench/$i")
done
curl -sf -H "X-Vault-Token: bench" -d '{"data":{"FROM_VAULT":"v"}}' "http://127.0.0.1:$bao_port/v1/secret/data/bench" >/dev/null
echo "FROM_DOTENV=d" >"$work/bench.env"
keys="AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench"
creds="AWS_ENDPOINT_URL=http://127.0.0.1:$moto_port $keys"
vault="VAULT_ADDR=http://127.0.0.1:$bao_port VAULT_TOKEN=bench"
https="AWS_ENDPOINT_URL=https://127.0.0.1:$tls_port SSL_CERT_FILE=$work/ca.pem $keys"
run() { echo "env -i PATH=/usr/bin:/bin HOME=$work $*"; }
others=()
n=0
for b in "$@"; do
  n=$((n + 1))
  others+=(-n "1 secret (other $n)" "$(run $creds $b "${all[@]:0:2}" -- /bin/true)"
           -n "1 secret, https (other $n)" "$(run $https $b "${all[@]:0:2}" -- /bin/true)")
done
hyperfine -N --warmup 3 --runs "${RUNS:-30}" -i --export-json "$work/result.json" \
  -n "1 secret" "$(run $creds $bin "${all[@]:0:2}" -- /bin/true)" \
  -n "1 secret, https" "$(run $https $bin "${all[@]:0:2}" -- /bin/true)" \
  -n "20 secrets" "$(run $creds $bin "${all[@]:0:40}" -- /bin/true)" \
  -n "45 secrets" "$(run $creds $bin "${all[@]}" -- /bin/true)" \
  -n "vault alone" "$(run $vault $bin --from vault://secret/bench -- /bin/true)" \
  -n "aws alone (1)" "$(run $creds $bin "${all[@]:0:2}" -- /bin/true)" \
  -n "dotenv+vault+aws" "$(run $creds $vault $bin --from $work/bench.env --from vault://secret/bench "${all[@]:0:2}" -- /bin/true)" \
  -n "no credentials (fails)" "$(run AWS_ENDPOINT_URL=http://127.0.0.1:$moto_port AWS_REGION=us-east-1 $bin "${all[@]:0:2}" -- /bin/true)" \
  "${others[@]}" >/dev/null
python3 - "$work/result.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"{r['command']:<24} median {r['median'] * 1000:8.2f} ms")
PY
