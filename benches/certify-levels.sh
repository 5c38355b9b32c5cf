#!/usr/bin/env bash
# Certification latency per PAdES level through the CLI, against a real local TSA and OCSP
# responder (tests/services/*.py around openssl) and a throw-away PKI made here.
#
#   benches/certify-levels.sh [ROUNDS]      # default 10 copies per level
#
# Prints the mean wall time per `sohoa certify` (process start, key load, register,
# placement, signing, TSA/OCSP round trips on loopback, atomic write) for b-b, b-t, b-lt
# and b-lta, and the mean of `sohoa verify` for each result. Needs a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-10}
[ -x target/release/sohoa ] || cargo build --release --quiet
sohoa=$PWD/target/release/sohoa
services=$PWD/tests/services
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# Starts a service in the background; sets `addr` once it listens.
start() {
  local out=$work/$1.addr
  python3 "$services/$1.py" "${@:2}" > "$out" &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.05; done
  addr=$(sed -n 's/^listening on //p' "$out")
}

cd "$work"
cat > pki.cnf <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[leaf]
basicConstraints = critical, CA:FALSE
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
keyUsage = critical, digitalSignature, nonRepudiation
authorityInfoAccess = OCSP;URI:${ENV::OCSP_URL}
[tsa]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
authorityInfoAccess = OCSP;URI:${ENV::OCSP_URL}
[ocsp]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = OCSPSigning
noCheck = ignored
EOF
quiet() { "$@" > /dev/null 2>&1; }
export OCSP_URL=unused
quiet openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem -days 3650 \
  -subj "/CN=Bench Root" -config pki.cnf -extensions root
touch index.txt
serial=4096
issue() { # name section
  quiet openssl req -new -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=Bench $1" -config pki.cnf
  quiet openssl x509 -req -in "$1.csr" -CA root.pem -CAkey root.key -set_serial "$serial" -days 365 \
    -sha256 -extfile pki.cnf -extensions "$2" -out "$1.pem"
  local hex end
  hex=$(openssl x509 -in "$1.pem" -noout -serial | cut -d= -f2)
  end=$(date -u -d '+1 year' +%y%m%d%H%M%SZ)
  printf 'V\t%s\t\t%s\tunknown\t/CN=Bench %s\n' "$end" "$hex" "$1" >> index.txt
  serial=$((serial + 1))
}
issue ocsp ocsp
start ocsp --index "$work/index.txt" --ca "$work/root.pem" --rsigner "$work/ocsp.pem" --rkey "$work/ocsp.key"
export OCSP_URL=$addr/
issue office leaf
issue tsa tsa
start tsa --cert "$work/tsa.pem" --key "$work/tsa.key" --chain "$work/root.pem"
tsa=$addr
cd "$OLDPWD"
"$sohoa" digitize -o "$work/input.pdf" fixtures/samples/page1.png > /dev/null

ms() { python3 -c "import sys; print(f'{float(sys.argv[1]) * 1000 / $rounds:.1f}')" "$1"; }
echo "| level | sohoa certify, ms per copy | sohoa verify, ms per file |"
echo "| --- | ---: | ---: |"
for level in b-b b-t b-lt b-lta; do
  start_t=$(date +%s.%N)
  for i in $(seq "$rounds"); do
    "$sohoa" certify "$work/input.pdf" -o "$work/$level-$i.pdf" --certifier "Bench" --agency "Bench" \
      --register "$work/register-$level" --cert "$work/office.pem" --key "$work/office.key" \
      --chain "$work/root.pem" --level "$level" --tsa "$tsa" > /dev/null
  done
  certify=$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$start_t" "$(date +%s.%N)")
  start_t=$(date +%s.%N)
  for i in $(seq "$rounds"); do
    "$sohoa" verify "$work/$level-$i.pdf" --trust "$work/root.pem" > /dev/null
  done
  verify=$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$start_t" "$(date +%s.%N)")
  echo "| $level | $(ms "$certify") | $(ms "$verify") |"
done
