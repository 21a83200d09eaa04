#!/usr/bin/env bash
# Azure Key Vault and Google Secret Manager fetch latency: 1 secret against 20, each
# store on its own, straight to a local stub (bench/cloud_stub.py) and through a
# proxy that adds 20 ms to every answer (bench/delay_proxy.py), side by side in one
# hyperfine run. The token request goes through the proxy too, as it would cross
# the network. The https cases go through a TLS front (bench/tls_proxy.py), as both
# clouds' endpoints are https only, and pay a real handshake.
#   bench/cloud.sh [OTHER_BINARY...]   RUNS=N sets hyperfine's runs; SECRETRUN_STATIC=PATH
#   uses that build; an OTHER_BINARY (an earlier build) runs the https cases beside it.
# Needs hyperfine and openssl (for the service-account key and the certificates).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${SECRETRUN_STATIC:-$(scripts/build-static)}
work=$(mktemp -d)
source bench/lib.sh
port=$(free_port); proxy=$(free_port); tls=$(free_port)
bench/tls_cert.sh "$work"
python3 bench/cloud_stub.py "$port" & stub_pid=$!
python3 bench/delay_proxy.py "$proxy" "$port" 0.020 & proxy_pid=$!
python3 bench/tls_proxy.py "$tls" "$port" "$work/tls.pem" "$work/tls.key" & tls_pid=$!
trap 'kill $stub_pid $proxy_pid $tls_pid 2>/dev/null; rm -rf "$work"' EXIT
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/key.pem" 2>/dev/null
for p in "$port" "$proxy" "$tls"; do
  scheme=http; [ "$p" = "$tls" ] && scheme=https
  python3 - "$work/key.pem" "$p" "$scheme" > "$work/sa-$p.json" <<'PY'
import json, sys
print(json.dumps({"type": "service_account", "client_email": "bench@p.iam.gserviceaccount.com",
                  "private_key": open(sys.argv[1]).read(), "private_key_id": "k",
                  "token_uri": f"{sys.argv[3]}://127.0.0.1:{sys.argv[2]}/token"}))
PY
done
for _ in $(seq 50); do
  curl -s -o /dev/null "http://127.0.0.1:$port/" &&
    curl -s -o /dev/null --cacert "$work/ca.pem" "https://127.0.0.1:$tls/" && break
  sleep 0.1
done
cases=()
for p in "$port" "$proxy"; do
  tag=""; [ "$p" = "$proxy" ] && tag=", +20 ms"
  azure="env AZURE_TENANT_ID=t AZURE_CLIENT_ID=c AZURE_CLIENT_SECRET=s AZURE_AUTHORITY_HOST=http://127.0.0.1:$p SECRETRUN_TRUSTED_ORIGINS=http://127.0.0.1:$p"
  gcp="env GOOGLE_APPLICATION_CREDENTIALS=$work/sa-$p.json SECRETRUN_GCP_ENDPOINT=http://127.0.0.1:$p"
  a1="--from azure-kv://127.0.0.1:$p/s0?as=V0"; g1="--from gcp-sm://p/s0?as=V0"
  a20=""; g20=""
  for i in $(seq 0 19); do a20+=" --from azure-kv://127.0.0.1:$p/s$i?as=V$i"; g20+=" --from gcp-sm://p/s$i?as=V$i"; done
  cases+=(-n "azure 1$tag" "$azure $bin $a1 -- /bin/true" -n "azure 20$tag" "$azure $bin$a20 -- /bin/true"
          -n "gcp 1$tag" "$gcp $bin $g1 -- /bin/true" -n "gcp 20$tag" "$gcp $bin$g20 -- /bin/true")
done
origin=https://127.0.0.1:$tls
azure="env AZURE_TENANT_ID=t AZURE_CLIENT_ID=c AZURE_CLIENT_SECRET=s AZURE_AUTHORITY_HOST=$origin SECRETRUN_TRUSTED_ORIGINS=$origin SSL_CERT_FILE=$work/ca.pem"
gcp="env GOOGLE_APPLICATION_CREDENTIALS=$work/sa-$tls.json SECRETRUN_GCP_ENDPOINT=$origin SSL_CERT_FILE=$work/ca.pem"
n=0
for b in "$bin" "$@"; do
  tag=", https"; [ "$b" = "$bin" ] || { n=$((n + 1)); tag=", https (other $n)"; }
  cases+=(-n "azure 1$tag" "$azure $b --from azure-kv://127.0.0.1:$tls/s0?as=V0 -- /bin/true"
          -n "gcp 1$tag" "$gcp $b --from gcp-sm://p/s0?as=V0 -- /bin/true")
done
for c in "${cases[@]}"; do case "$c" in env*) $c >/dev/null || { echo "failed: $c" >&2; exit 1; };; esac; done
hyperfine -N --warmup 5 --runs "${RUNS:-40}" --export-json "$work/result.json" "${cases[@]}" >/dev/null
python3 - "$work/result.json" <<'PY'
import json, sys
r = {x["command"]: x["median"] * 1000 for x in json.load(open(sys.argv[1]))["results"]}
for name, ms in r.items():
    print(f"{name:<18} median {ms:8.2f} ms")
for store in ["azure", "gcp"]:
    for tag in ["", ", +20 ms"]:
        print(f"{store} 20 / 1{tag}: {r[f'{store} 20{tag}'] / r[f'{store} 1{tag}']:.2f}x")
PY
