#!/usr/bin/env bash
# Regenerates the seed corpora in fuzz/corpus/ and the verifier's trust anchor
# fuzz/seeds/trust-root.der. Not needed to fuzz: the results are committed.
#
# Needs openssl (3, for `cms -cades`) and python3 (Pillow is installed into
# .cache/venv, git-ignored). Every file made is small (< 50 KB): the signed seed is made
# by fuzz/sign_pdf.py, because a copy certified by `sohoa certify` carries a font subset
# and weighs ~70 KB.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$root/.cache/fuzz-seeds
rm -rf "$work"
mkdir -p "$work"
corpus=$root/fuzz/corpus
rm -rf "$corpus"
mkdir -p "$corpus"/{decode_image,verify_pdf,inspect_pdf,http_query,http_ingest,http_verify,http_login,http_capture}

# --- TEST-ONLY PKI (EC P-256): root CA and a signing certificate --------------------
cat >"$work/openssl.cnf" <<'CNF'
[req]
distinguished_name = dn
string_mask = utf8only
utf8 = yes
prompt = no
[dn]
CN = unused
[v3_root]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_sign]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF
(
    cd "$work"
    openssl ecparam -name prime256v1 -genkey -noout -out root.key 2>/dev/null
    openssl req -config openssl.cnf -new -x509 -utf8 -key root.key -days 36500 -sha256 \
        -subj "/CN=Fuzz Root CA sohoa (TEST ONLY)" -extensions v3_root -out root.pem
    openssl x509 -in root.pem -outform DER -out root.der
    openssl ecparam -name prime256v1 -genkey -noout -out office.key 2>/dev/null
    openssl pkcs8 -topk8 -nocrypt -in office.key -out office.key.pem
    openssl req -config openssl.cnf -new -utf8 -key office.key -subj "/CN=Cán bộ Fuzz (TEST ONLY)/O=UBND xã Thử Nghiệm" -out office.csr
    openssl x509 -req -in office.csr -CA root.pem -CAkey root.key -CAcreateserial -days 36500 \
        -sha256 -extfile openssl.cnf -extensions v3_sign -out office.pem 2>/dev/null
)
cp "$work/root.der" fuzz/seeds/trust-root.der

# --- seeds -------------------------------------------------------------------------------
if [ ! -x .cache/venv/bin/python ]; then
    python3 -m venv .cache/venv
    .cache/venv/bin/pip install -q pillow
fi
python3 fuzz/sign_pdf.py "$work/office.pem" "$work/office.key.pem" "$work/root.pem" "$work/signed.pdf"
.cache/venv/bin/python fuzz/make_seeds.py "$corpus" "$work/signed.pdf"
du -sh "$corpus"
