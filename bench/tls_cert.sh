#!/usr/bin/env bash
# A throwaway CA and a certificate for 127.0.0.1 signed by it, for the benchmarks' TLS
# fronts (bench/tls_proxy.py): DIR/ca.pem (trust it with SSL_CERT_FILE), DIR/tls.pem
# and DIR/tls.key. Valid for a day. Needs openssl.
#   bench/tls_cert.sh DIR
set -euo pipefail
dir=$1
openssl ecparam -name prime256v1 -genkey -noout -out "$dir/ca.key"
openssl req -x509 -new -key "$dir/ca.key" -subj /CN=bench-ca -days 1 -out "$dir/ca.pem"
openssl ecparam -name prime256v1 -genkey -noout -out "$dir/tls.key"
openssl req -new -key "$dir/tls.key" -subj /CN=127.0.0.1 |
  openssl x509 -req -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 1 \
    -extfile <(printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n') \
    -out "$dir/tls.pem" 2>/dev/null
