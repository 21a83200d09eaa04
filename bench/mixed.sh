#!/usr/bin/env bash
# A launch that mixes stores costs the slowest store, not their sum: a dotenv file,
# Vault (OpenBao's dev server) and AWS Secrets Manager (moto_server), each store
# behind a proxy that holds every answer as a network would (Vault 40 ms, AWS 20 ms
# a round trip: bench/delay_proxy.py), alone and all together, side by side in one
# hyperfine run. Prints the medians, their sum, and what the mixed launch took.
#   bench/mixed.sh    RUNS=N sets hyperfine's runs
# Needs hyperfine, bao and moto_server (scripts/test installs both into .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
source bench/lib.sh
bin=$(release_binary)
scratch
bao_port=$(free_port); moto_port=$(free_port); vault_front=$(free_port); aws_front=$(free_port)
HOME="$work" bao server -dev -dev-no-store-token -dev-root-token-id=bench \
  -dev-listen-address=127.0.0.1:$bao_port >"$work/bao.log" 2>&1 &
pids+=($!)
HOME="$work" moto_server -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
pids+=($!)
python3 bench/delay_proxy.py "$vault_front" "$bao_port" 0.040 & pids+=($!)
python3 bench/delay_proxy.py "$aws_front" "$moto_port" 0.020 & pids+=($!)
wait_for "http://127.0.0.1:$bao_port/v1/sys/health"
wait_for "http://127.0.0.1:$moto_port/"
curl -sf -H "X-Vault-Token: bench" -d '{"data":{"FROM_VAULT":"v"}}' \
  "http://127.0.0.1:$bao_port/v1/secret/data/mixed" >/dev/null
curl -sf -X POST "http://127.0.0.1:$moto_port/" -H "X-Amz-Target: secretsmanager.CreateSecret" \
  -H "Content-Type: application/x-amz-json-1.1" \
  -H "Authorization: AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0" \
  -d '{"Name":"mixed","SecretString":"{\"FROM_AWS\":\"a\"}"}' >/dev/null
echo "FROM_DOTENV=d" >"$work/mixed.env"
run() { echo "env -i PATH=/usr/bin:/bin HOME=$work AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_ENDPOINT_URL=http://127.0.0.1:$aws_front VAULT_ADDR=http://127.0.0.1:$vault_front VAULT_TOKEN=bench $bin $* -- /bin/true"; }
dotenv="--from $work/mixed.env"; vault="--from vault://secret/mixed"; aws="--from aws-sm://mixed"
hyperfine -N --warmup 3 --runs "${RUNS:-40}" --export-json "$work/result.json" \
  -n "dotenv alone" "$(run $dotenv)" \
  -n "vault alone (40 ms)" "$(run $vault)" \
  -n "aws alone (20 ms)" "$(run $aws)" \
  -n "dotenv + vault + aws" "$(run $dotenv $vault $aws)" >/dev/null
python3 - "$work/result.json" <<'PY'
import json, sys
medians = {r["command"]: r["median"] * 1000 for r in json.load(open(sys.argv[1]))["results"]}
for name, ms in medians.items():
    print(f"{name:<24} median {ms:8.2f} ms")
alone = [ms for name, ms in medians.items() if "alone" in name]
print(f"sum of the stores alone {sum(alone):8.2f} ms; slowest alone {max(alone):.2f} ms; "
      f"together {medians['dotenv + vault + aws']:.2f} ms")
PY
