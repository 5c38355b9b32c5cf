#!/usr/bin/env bash
# Certification and verification throughput, sohoa vs pyHanko (and pdfsig), in one run on
# the same machine, the same one-page input PDF and the same RSA-2048 key:
#
#   sign, in-process  sohoa `certify_copy` (criterion, benches/certify.rs: stamp with QR and
#                     subset font + PAdES B-B, RSA-2048 PSS and ECDSA P-256) vs pyHanko
#                     `signers.sign_pdf` (key loaded once, RSA-2048 PSS, invisible field);
#   sign, CLI         `sohoa certify` per file (process start, key load, SQLite register
#                     with fsync, atomic write) vs `pyhanko sign addsig … pemder`;
#   verify            sohoa `verify_pdf` (criterion) vs pyHanko `validate_pdf_signature`
#                     in-process; `sohoa verify --trust`, `pdfsig` and
#                     `pyhanko sign validate --trust` per file;
#   reference         raw ring RSA-2048 PSS signing through `SigningKey::sign` (criterion)
#                     and `openssl speed rsa2048`.
#
# The input (fixtures/samples/page1.png digitized), the test PKI and the certified copy
# that every verifier checks are written by the criterion bench to target/bench-certify/.
#
# Usage: benches/compare-certify.sh [--seconds S] [--rounds R] [--no-criterion]
#   --seconds S      target duration of each looped measurement (default 3)
#   --rounds R       rounds of the looped measurements, tools interleaved; the best round
#                    of each is reported (default 3), so that a burst of other work on the
#                    machine does not decide a ratio
#   --no-criterion   reuse the last `cargo bench --bench certify` results and files
# Needs: cargo, openssl, pdfsig (poppler-utils), pyHanko 0.38 with its CLI
# (python3 -m pip install pyhanko pyhanko-cli).
set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_PER=3
ROUNDS=3
RUN_CRITERION=1
while [ $# -gt 0 ]; do
    case "$1" in
    --seconds)
        SECONDS_PER=$2
        shift 2
        ;;
    --rounds)
        ROUNDS=$2
        shift 2
        ;;
    --no-criterion)
        RUN_CRITERION=0
        shift
        ;;
    *)
        echo "usage: $0 [--seconds S] [--rounds R] [--no-criterion]" >&2
        exit 2
        ;;
    esac
done

for tool in cargo openssl pdfsig python3 pyhanko; do
    command -v "$tool" >/dev/null || {
        echo "missing: $tool (pyHanko: python3 -m pip install pyhanko pyhanko-cli)" >&2
        exit 1
    }
done
python3 -c 'import pyhanko' 2>/dev/null || {
    echo "missing: the pyhanko Python package (python3 -m pip install pyhanko pyhanko-cli)" >&2
    exit 1
}

cd "$ROOT"
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
SOHOA="$TARGET_DIR/release/sohoa"
FILES="$ROOT/target/bench-certify"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

log() { echo "$*" >&2; }

log "building sohoa (release)…"
cargo build --release --quiet
if [ "$RUN_CRITERION" = 1 ]; then
    log "running cargo bench --bench certify (about a minute)…"
    cargo bench --bench certify >"$WORK/criterion.log" 2>&1 || {
        cat "$WORK/criterion.log" >&2
        exit 1
    }
fi
IN="$FILES/input.pdf"
CERT="$FILES/office-rsa.pem"
KEY="$FILES/office-rsa.key.pem"
CA="$FILES/root.pem"
SIGNED="$FILES/certified.pdf"
for f in "$IN" "$CERT" "$KEY" "$CA" "$SIGNED"; do
    [ -f "$f" ] || {
        echo "missing $f: run without --no-criterion" >&2
        exit 1
    }
done

# Mean time of a criterion benchmark, in nanoseconds.
criterion_ns() {
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["mean"]["point_estimate"])' \
        "$TARGET_DIR/criterion/$1/new/estimates.json"
}
ops() { awk -v ns="$1" 'BEGIN { printf "%.1f", 1e9 / ns }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
now() { date +%s.%N; }

# measure FUNC: runs `FUNC i` once to warm up and calibrate, then N times so that the loop
# takes about SECONDS_PER seconds; prints ops/s.
measure() {
    local fn=$1 start end n i
    start=$(now)
    "$fn" 0
    end=$(now)
    n=$(awk -v t="$(awk -v s="$start" -v e="$end" 'BEGIN { print e - s }')" -v want="$SECONDS_PER" \
        'BEGIN { n = int(want / t + 0.5); if (n < 3) n = 3; print n }')
    start=$(now)
    for ((i = 1; i <= n; i++)); do
        "$fn" "$i"
    done
    end=$(now)
    awk -v n="$n" -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", n / (e - s) }'
}

# BEST[name] = the highest ops/s seen for a measurement over the rounds.
declare -A BEST
keep_best() {
    local name=$1 rate=$2
    log "  $name: $rate/s"
    if [ -z "${BEST[$name]:-}" ] || awk -v a="$rate" -v b="${BEST[$name]}" 'BEGIN { exit !(a > b) }'; then
        BEST[$name]=$rate
    fi
}

# cross_check WHAT FILE: reports (on stderr) whether `sohoa verify` accepts a file signed
# by pyHanko with the same key, and why not.
cross_check() {
    local out
    if out=$("$SOHOA" verify "$2" --trust "$CA" 2>&1); then
        log "  cross-check: sohoa verify accepts $1"
    else
        log "  cross-check: sohoa verify does not accept $1:"
        log "$(grep '^    ' <<<"$out" || echo "$out")"
    fi
}

# --- pyHanko, in-process ----------------------------------------------------------------
cat >"$WORK/pyhanko_sign.py" <<'EOF'
"""Signs the input repeatedly with one SimpleSigner (loaded once); prints copies/s."""
import sys
import time
from io import BytesIO

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter

key, cert, root, path, seconds, out = sys.argv[1:]
signer = signers.SimpleSigner.load(key, cert, ca_chain_files=(root,), prefer_pss=True)
data = open(path, "rb").read()
meta = signers.PdfSignatureMetadata(
    field_name="Sig1", subfilter=SigSeedSubFilter.PADES, md_algorithm="sha256"
)


def once():
    return signers.sign_pdf(IncrementalPdfFileWriter(BytesIO(data)), meta, signer=signer)


with open(out, "wb") as f:
    f.write(once().getvalue())
once()
n, start = 0, time.perf_counter()
while True:
    once()
    n += 1
    elapsed = time.perf_counter() - start
    if elapsed >= float(seconds) and n >= 3:
        break
print(f"{n / elapsed:.1f}")
EOF

cat >"$WORK/pyhanko_validate.py" <<'EOF'
"""Validates the first signature of a file repeatedly (fresh reader and validation context
each time, trust root loaded once); prints validations/s."""
import sys
import time
from io import BytesIO

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

root_path, path, seconds = sys.argv[1:]
root = load_cert_from_pemder(root_path)
data = open(path, "rb").read()


def once():
    reader = PdfFileReader(BytesIO(data))
    return validate_pdf_signature(
        reader.embedded_signatures[0], ValidationContext(trust_roots=[root])
    )


status = once()
if not status.bottom_line:
    sys.exit("pyHanko does not accept the file:\n" + status.pretty_print_details())
n, start = 0, time.perf_counter()
while True:
    once()
    n += 1
    elapsed = time.perf_counter() - start
    if elapsed >= float(seconds) and n >= 3:
        break
print(f"{n / elapsed:.1f}")
EOF


# --- command lines, one process per file ------------------------------------------------
mkdir -p "$WORK/register"
sohoa_certify() {
    env -u OMP_THREAD_LIMIT "$SOHOA" certify "$IN" -o "$WORK/sohoa-$1.pdf" \
        --certifier "Nguyễn Văn An" --agency "UBND xã Thử Nghiệm" \
        --cert "$CERT" --key "$KEY" --chain "$CA" --register "$WORK/register" >/dev/null
}
pyhanko_addsig() {
    pyhanko sign addsig --field Sig1 --use-pades --prefer-pss \
        pemder --key "$KEY" --cert "$CERT" --chain "$CA" --no-pass \
        "$IN" "$WORK/pyhanko-$1.pdf" >/dev/null 2>&1
}
sohoa_verify() { env -u OMP_THREAD_LIMIT "$SOHOA" verify "$SIGNED" --trust "$CA" >/dev/null; }
pdfsig_verify() { pdfsig "$SIGNED" >/dev/null; }
pyhanko_validate() { pyhanko sign validate --trust "$CA" "$SIGNED" >/dev/null 2>&1; }
# Process start alone, for reading the per-file figures.
sohoa_version() { env -u OMP_THREAD_LIMIT "$SOHOA" --version >/dev/null; }
pdfsig_version() { pdfsig -v >/dev/null 2>&1; }

for ((round = 1; round <= ROUNDS; round++)); do
    log "round $round of $ROUNDS…"
    keep_best py_sign "$(python3 "$WORK/pyhanko_sign.py" "$KEY" "$CERT" "$CA" "$IN" \
        "$SECONDS_PER" "$WORK/pyhanko-inproc.pdf")"
    keep_best py_validate "$(python3 "$WORK/pyhanko_validate.py" "$CA" "$SIGNED" "$SECONDS_PER")"
    for fn in sohoa_certify pyhanko_addsig sohoa_verify pdfsig_verify pyhanko_validate \
        sohoa_version pdfsig_version; do
        keep_best "$fn" "$(measure "$fn")"
    done
done
PY_SIGN=${BEST[py_sign]}
PY_VALIDATE=${BEST[py_validate]}
CLI_SOHOA_CERTIFY=${BEST[sohoa_certify]}
CLI_PYHANKO_SIGN=${BEST[pyhanko_addsig]}
CLI_SOHOA_VERIFY=${BEST[sohoa_verify]}
SOHOA_START=${BEST[sohoa_version]}
PDFSIG_START=${BEST[pdfsig_version]}
CLI_PDFSIG=${BEST[pdfsig_verify]}
CLI_PYHANKO_VALIDATE=${BEST[pyhanko_validate]}
# Cross-check: does sohoa accept what pyHanko signed with the same key?
cross_check "pyHanko's in-process output" "$WORK/pyhanko-inproc.pdf"
cross_check "pyHanko CLI's output" "$WORK/pyhanko-0.pdf"

log "openssl speed rsa2048…"
OPENSSL_RSA=$(openssl speed -seconds 3 rsa2048 2>/dev/null |
    awk '/^rsa 2048 bits/ { print $(NF - 1) }')

# --- criterion figures ------------------------------------------------------------------
NS_RSA=$(criterion_ns certify/certify_copy_rsa2048_pss)
NS_EC=$(criterion_ns certify/certify_copy_ecdsa_p256)
NS_VERIFY=$(criterion_ns certify/verify_pdf)
NS_RAW=$(criterion_ns certify/raw_ring_rsa2048_pss_sign)
IN_RSA=$(ops "$NS_RSA")
IN_EC=$(ops "$NS_EC")
IN_VERIFY=$(ops "$NS_VERIFY")
RAW=$(ops "$NS_RAW")

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo "### Certification benchmark — $(date +%Y-%m-%d)"
echo
echo "$(nproc) cores ($cpu); input: fixtures/samples/page1.png digitized by sohoa," \
    "1 page, $(stat -c %s "$IN") bytes; key: RSA-2048 office certificate (PSS, SHA-256)" \
    "with the test root embedded as chain. Looped measurements: best of $ROUNDS rounds of" \
    "about ${SECONDS_PER} s each, tools interleaved; in-process sohoa figures: criterion means."
echo
echo "| Operation | Tool | ops/s | Ratio |"
echo "| --- | --- | ---: | --- |"
echo "| sign, in-process | sohoa \`certify_copy\`, RSA-2048 PSS (stamp + QR + PAdES B-B) | $IN_RSA | $(ratio "$IN_RSA" "$PY_SIGN")× pyHanko in-process |"
echo "| sign, in-process | sohoa \`certify_copy\`, ECDSA P-256 | $IN_EC | $(ratio "$IN_EC" "$PY_SIGN")× pyHanko in-process |"
echo "| sign, in-process | pyHanko \`sign_pdf\`, RSA-2048 PSS (invisible field, no stamp) | $PY_SIGN | 1× |"
echo "| sign, CLI per file | \`sohoa certify … --register DIR\` | $CLI_SOHOA_CERTIFY | $(ratio "$CLI_SOHOA_CERTIFY" "$CLI_PYHANKO_SIGN")× pyHanko CLI |"
echo "| sign, CLI per file | \`pyhanko sign addsig --use-pades --prefer-pss … pemder\` | $CLI_PYHANKO_SIGN | 1× |"
echo "| raw RSA-2048 sign | ring, PSS, \`SigningKey::sign\` of 32 bytes | $RAW | reference |"
echo "| raw RSA-2048 sign | \`openssl speed rsa2048\` (OpenSSL 3, PKCS#1) | $OPENSSL_RSA | $(ratio "$OPENSSL_RSA" "$RAW")× ring |"
echo "| verify, in-process | sohoa \`verify_pdf\` (trust anchor = root) | $IN_VERIFY | $(ratio "$IN_VERIFY" "$PY_VALIDATE")× pyHanko in-process |"
echo "| verify, in-process | pyHanko \`validate_pdf_signature\` | $PY_VALIDATE | 1× |"
echo "| verify, CLI per file | \`sohoa verify --trust root.pem FILE\` | $CLI_SOHOA_VERIFY | $(ratio "$CLI_SOHOA_VERIFY" "$CLI_PDFSIG")× pdfsig |"
echo "| verify, CLI per file | \`pdfsig FILE\` | $CLI_PDFSIG | 1× |"
echo "| verify, CLI per file | \`pyhanko sign validate --trust root.pem FILE\` | $CLI_PYHANKO_VALIDATE | $(ratio "$CLI_PYHANKO_VALIDATE" "$CLI_PDFSIG")× pdfsig |"
echo "| process start only | \`sohoa --version\` | $SOHOA_START | $(ratio "$SOHOA_START" "$PDFSIG_START")× pdfsig |"
echo "| process start only | \`pdfsig -v\` | $PDFSIG_START | 1× |"
echo
echo "- sohoa \`certify_copy\` (RSA-2048 PSS) runs at **$(awk -v a="$IN_RSA" -v b="$RAW" 'BEGIN { printf "%.0f", 100 * a / b }') %** of the raw ring RSA-2048 signing rate (target ≥ 70 %)" \
    "and **$(ratio "$IN_RSA" "$PY_SIGN")×** pyHanko in-process (target ≥ 100×)."
ms() { awk -v r="$1" 'BEGIN { printf "%.1f", 1000 / r }'; }
echo "- \`sohoa verify\` per file: **$(ratio "$CLI_SOHOA_VERIFY" "$CLI_PDFSIG")×** pdfsig (target ≥ 1×):" \
    "$(ms "$CLI_SOHOA_VERIFY") ms per file against $(ms "$CLI_PDFSIG") ms, of which process start" \
    "$(ms "$SOHOA_START") ms against $(ms "$PDFSIG_START") ms; in-process \`verify_pdf\` takes" \
    "$(awk -v ns="$NS_VERIFY" 'BEGIN { printf "%.2f", ns / 1e6 }') ms."
echo
echo "Phases of \`certify_copy\` (criterion, benches/certify.rs, group certify_phases):"
echo
echo "| Phase | Mean |"
echo "| --- | ---: |"
for phase in check_signing_cert sha256_input_sha2 lopdf_load_input stamp_appearance \
    prepare_with_stamp digest_byte_range cms_sign_detached embed sha256_output_sha2; do
    ns=$(criterion_ns "certify_phases/$phase")
    echo "| $phase | $(awk -v ns="$ns" 'BEGIN { printf "%.1f µs", ns / 1e3 }') |"
done
echo "| (total \`certify_copy\`, RSA) | $(awk -v ns="$NS_RSA" 'BEGIN { printf "%.1f µs", ns / 1e3 }') |"
echo
echo "Versions: sohoa $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')," \
    "$(pyhanko --version 2>/dev/null | head -1)," \
    "python-cryptography $(python3 -c 'import cryptography; print(cryptography.__version__)')," \
    "$(pdfsig -v 2>&1 | head -1), $(openssl version | cut -d' ' -f1-2)."
