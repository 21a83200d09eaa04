#!/usr/bin/env bash
# AWS Secrets Manager launch cost against a local moto_server: 1, 20 and 45 secrets;
# a mixed launch (dotenv + Vault + AWS) against each store alone; and a launch with
# no credentials at all (which must fail at once, not wait on the EC2 metadata
# service). Side by side in one hyperfine run. Needs hyperfine, moto_server and bao
# (scripts/test installs both into .venv).
#   bench/aws.sh              RUNS=N sets hyperfine's runs
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
bin=$(scripts/build-static)
work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
moto_port=$(free_port)
bao_port=$(free_port)
HOME="$work" moto_server -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
moto_pid=$!
HOME="$work" bao server -dev -dev-no-store-token -dev-root-token-id=bench -dev-listen-address=127.0.0.1:$bao_port >"$work/bao.log" 2>&1 &
bao_pid=$!
trap 'kill $moto_pid $bao_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$bao_port/v1/sys/health" >/dev/null 2>&1 && curl -s "http://127.0.0.1:$moto_port/" >/dev/null 2>&1 && break; sleep 0.1; done
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
creds="AWS_ENDPOINT_URL=http://127.0.0.1:$moto_port AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench"
vault="VAULT_ADDR=http://127.0.0.1:$bao_port VAULT_TOKEN=bench"
run() { echo "env -i PATH=/usr/bin:/bin HOME=$work $*"; }
hyperfine -N --warmup 3 --runs "${RUNS:-30}" -i --export-json "$work/result.json" \
  -n "1 secret" "$(run $creds $bin "${all[@]:0:2}" -- /bin/true)" \
  -n "20 secrets" "$(run $creds $bin "${all[@]:0:40}" -- /bin/true)" \
  -n "45 secrets" "$(run $creds $bin "${all[@]}" -- /bin/true)" \
  -n "vault alone" "$(run $vault $bin --from vault://secret/bench -- /bin/true)" \
  -n "aws alone (1)" "$(run $creds $bin "${all[@]:0:2}" -- /bin/true)" \
  -n "dotenv+vault+aws" "$(run $creds $vault $bin --from $work/bench.env --from vault://secret/bench "${all[@]:0:2}" -- /bin/true)" \
  -n "no credentials (fails)" "$(run AWS_ENDPOINT_URL=http://127.0.0.1:$moto_port AWS_REGION=us-east-1 $bin "${all[@]:0:2}" -- /bin/true)" \
  >/dev/null
python3 - "$work/result.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"{r['command']:<24} median {r['median'] * 1000:8.2f} ms")
PY
