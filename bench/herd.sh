#!/usr/bin/env bash
# A fleet starting at once: N launches, each reading 10 references, against each
# store with a rate limit that lets 100 launches' whole work through in about 5.5 s:
# 100 launches with the default 10 s deadline, 500 (27.5 s of quota) with 10 s, and
# 500 with 35 s, a deadline that covers their work. Each store:
#   vault   OpenBao's dev server with a real quota (sys/quotas/rate-limit), 11
#           requests a launch (one mount lookup, ten reads): 200 requests/s
#   aws     moto_server behind a quota answering ThrottlingException, as AWS does;
#           one BatchGetSecretValue a launch: 18 requests/s
#   azure   the Key Vault and Entra stub (bench/cloud_stub.py) behind a quota
#           answering 429 with Retry-After: 1; one token, ten reads: 200 requests/s
#   google  the same for Secret Manager and Google's token endpoint: 200 requests/s
# Every store sits behind bench/quota_proxy.py, which knows each launch by its own
# token or key and reports what the store saw: requests, throttled answers, requests
# and repeats per launch, and the timeline of first tries and repeats.
# Per build: how many launches succeeded, p50/p99/max launch time. Loopback only.
#   bench/herd.sh [OTHER_BINARY...]    STORES="vault aws azure google"
#   FLEETS="100:10s 500:10s 500:35s" (launches:--timeout); RATE_vault=200 (and so
#   on) sets a store's quota
# Needs bao and moto_server (scripts/test installs both into .venv) and openssl.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
source bench/lib.sh
scratch
bins=("$work/secretrun")
cp "$(release_binary)" "${bins[0]}"
for b in "$@"; do bins+=("$work/other-${#bins[@]}"); cp "$b" "${bins[-1]}"; done
fleets=${FLEETS:-100:10s 500:10s 500:35s}
most=$(printf '%s\n' $fleets | cut -d: -f1 | sort -n | tail -1)

vault() { # Sets up OpenBao with a token a launch; prints the launch's arguments.
  local port=$(free_port) token=herd-root-token
  HOME="$work" bao server -dev -dev-no-store-token -dev-root-token-id=$token \
    -dev-listen-address=127.0.0.1:$port >"$work/bao.log" 2>&1 &
  pids+=($!)
  wait_for "http://127.0.0.1:$port/v1/sys/health"
  python3 - "$port" "$token" "$most" <<'PY'
import http.client, json, sys
port, root, most = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = http.client.HTTPConnection("127.0.0.1", int(port))
def call(method, path, doc):
    c.request(method, "/v1/" + path, json.dumps(doc), {"X-Vault-Token": root})
    r = c.getresponse(); r.read(); assert r.status < 300, (path, r.status)
for i in range(10):
    call("POST", f"secret/data/herd/p{i}", {"data": {f"P{i}": f"value-{i}"}})
for i in range(most):
    call("POST", "auth/token/create", {"id": f"herd-{i}", "policies": ["root"]})
PY
  curl -sf -H "X-Vault-Token: $token" -d "{\"rate\": ${RATE_vault:-200}, \"interval\": \"1s\"}" \
    "http://127.0.0.1:$port/v1/sys/quotas/rate-limit/herd" >/dev/null
  front $port count 0
  export VAULT_ADDR=$origin
  echo "--each VAULT_TOKEN=herd-{i} --from vault://secret/herd/p0"
  for i in $(seq 1 9); do echo "--from vault://secret/herd/p$i"; done
}

aws() {
  local port=$(free_port)
  HOME="$work" moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
  pids+=($!)
  wait_for "http://127.0.0.1:$port/"
  for i in $(seq 0 9); do
    curl -sf -X POST "http://127.0.0.1:$port/" -H "X-Amz-Target: secretsmanager.CreateSecret" \
      -H "Content-Type: application/x-amz-json-1.1" \
      -H "Authorization: AWS4-HMAC-SHA256 Credential=herd/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0" \
      -d "{\"Name\":\"herd/p$i\",\"SecretString\":\"{\\\"P$i\\\":\\\"value-$i\\\"}\"}" >/dev/null
  done
  front $port aws "${RATE_aws:-18}"
  export AWS_REGION=us-east-1 AWS_SECRET_ACCESS_KEY=herd AWS_ENDPOINT_URL=$origin
  echo "--each AWS_ACCESS_KEY_ID=herd-{i}"
  for i in $(seq 0 9); do echo "--from aws-sm://herd/p$i"; done
}

cloud_stub() {
  local port=$(free_port)
  python3 bench/cloud_stub.py "$port" &
  pids+=($!)
  wait_for "http://127.0.0.1:$port/"
  front $port 429 "$1"
}

azure() {
  cloud_stub "${RATE_azure:-200}"
  export AZURE_TENANT_ID=t AZURE_CLIENT_SECRET=s AZURE_AUTHORITY_HOST=$origin SECRETRUN_TRUSTED_ORIGINS=$origin
  echo "--each AZURE_CLIENT_ID=herd-{i}"
  for i in $(seq 0 9); do echo "--from azure-kv://${origin#http://}/s$i?as=P$i"; done
}

google() {
  cloud_stub "${RATE_google:-200}"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/key.pem" 2>/dev/null
  python3 - "$work" "$origin" "$most" <<'PY'
import json, sys
work, origin, most = sys.argv[1], sys.argv[2], int(sys.argv[3])
key = open(f"{work}/key.pem").read()
for i in range(most):
    with open(f"{work}/sa-{i}.json", "w") as f:
        json.dump({"type": "service_account", "client_email": f"herd-{i}@p.iam.gserviceaccount.com",
                   "private_key": key, "private_key_id": "k", "token_uri": f"{origin}/token"}, f)
PY
  export SECRETRUN_GCP_ENDPOINT=$origin
  echo "--each GOOGLE_APPLICATION_CREDENTIALS=$work/sa-{i}.json"
  for i in $(seq 0 9); do echo "--from gcp-sm://p/s$i?as=P$i"; done
}

front() { # A counting (and, but for `count`, throttling) proxy before the store.
  local port=$(free_port)
  python3 bench/quota_proxy.py "$port" "$1" "$2" "$3" &
  pids+=($!)
  origin=http://127.0.0.1:$port
  wait_for "$origin/__report"
}

for store in ${STORES:-vault aws azure google}; do
  # Not in a subshell: the store's exports, its proxy's address and pids stay.
  "$store" >"$work/args"
  read -r -d '' -a args <"$work/args" || true
  echo "== $store"
  for fleet in $fleets; do
    n=${fleet%:*} timeout=${fleet#*:}
    for b in "${bins[@]}"; do
      echo "-- $(basename "$b"), N=$n, --timeout $timeout"
      python3 bench/herd.py "$b" "$n" "$timeout" "${args[@]}"
      curl -sf "$origin/__report" | sed 's/^/  /'
      sleep 2 # the quota's bucket fills again before the next fleet
    done
  done
done
