#!/usr/bin/env bash
# Backlog batch comparison (issue 6): `sohoa batch` vs OCRmyPDF vs raw Tesseract on the
# same generated documents, in one run.
#
#   benches/batch-compare.sh [--docs N] [--pages P] [--lines L] [--jobs J] [--mix LIST] [--keep]
#
#   --docs N    documents (default 52)
#   --pages P   pages per document (default 2)
#   --lines L   text lines per page (default 25)
#   --jobs J    parallelism of every tool (default 2)
#   --mix LIST  page kinds cycled through, for examples/gen_batch.rs (default
#               clean,skewed,phone: scans, skewed scans and 12 MP phone photos)
#   --keep      keep the work folder
#
# Measured, each with GNU time (`/usr/bin/time -f '%e %U %S %M'`), on the same pages:
#   1. sohoa batch IN --store S --jobs J          (digitize + store every document)
#   2. ocrmypdf --jobs J -l vie --deskew --output-type pdfa IN.pdf OUT.pdf, one call per
#      document, documents one after another (each IN.pdf made beforehand by img2pdf,
#      untimed)
#   3. tesseract PAGE OUT -l vie --dpi 300 pdf, one process per page, J at a time
#      (xargs -P J, OMP_THREAD_LIMIT=1): OCR alone, the floor
# CPU seconds are user + system of the process and all its children; peak RSS is that of
# the largest single process (GNU time's %M), so for 2 and 3 it is one ocrmypdf or
# tesseract process, not the sum of those running at once.
#
# Environment: SOHOA_BIN, GEN_BIN name prebuilt binaries (else they are built with
# cargo, honouring CARGO_TARGET_DIR). The markdown table goes to stdout.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
[[ $TARGET_DIR = /* ]] || TARGET_DIR=$ROOT/$TARGET_DIR

DOCS=52 PAGES=2 LINES=25 JOBS=2 MIX=clean,skewed,phone KEEP=0
while (($#)); do
    case $1 in
        --docs) DOCS=$2; shift 2 ;;
        --pages) PAGES=$2; shift 2 ;;
        --lines) LINES=$2; shift 2 ;;
        --jobs) JOBS=$2; shift 2 ;;
        --mix) MIX=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done

log() { printf '[batch-compare] %s\n' "$*" >&2; }

for tool in /usr/bin/time tesseract ocrmypdf img2pdf; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        log "missing $tool -> running benches/setup-peers.sh"
        "$SCRIPT_DIR/setup-peers.sh"
        break
    fi
done

if [[ -z ${SOHOA_BIN:-} || -z ${GEN_BIN:-} ]]; then
    log "building sohoa and examples/gen_batch (release)"
    (cd "$ROOT" && cargo build --release --bin sohoa --example gen_batch >&2)
fi
SOHOA=${SOHOA_BIN:-$TARGET_DIR/release/sohoa}
GEN=${GEN_BIN:-$TARGET_DIR/release/examples/gen_batch}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sohoa-batch-compare.XXXXXX")
((KEEP)) || trap 'rm -rf "$WORK"' EXIT
log "work folder $WORK"

log "generating $DOCS documents of $PAGES pages ($LINES lines, mix $MIX)"
"$GEN" "$WORK/in" "$DOCS" --pages "$PAGES" --lines "$LINES" --mix "$MIX" >&2
NPAGES=$(find "$WORK/in" \( -name '*.png' -o -name '*.jpg' \) | wc -l)

# Runs "$@" under GNU time; prints "wall user sys maxrss_kib".
timed() {
    local out=$WORK/time.txt
    /usr/bin/time -o "$out" -f '%e %U %S %M' "$@" >>"$WORK/log.txt" 2>&1 || {
        log "failed: $* (see $WORK/log.txt)"; tail -20 "$WORK/log.txt" >&2; exit 1; }
    tail -1 "$out"
}

log "1/3 sohoa batch ($NPAGES pages)"
SOHOA_T=$(timed env OMP_THREAD_LIMIT=1 "$SOHOA" batch "$WORK/in" --store "$WORK/store" \
    --procedure 1.001193 --kind giay-to --jobs "$JOBS" --report "$WORK/sohoa.json" --quiet)
STORED=$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["totals"]; print(t["stored"])' "$WORK/sohoa.json")
[[ $STORED == "$DOCS" ]] || { log "sohoa stored $STORED of $DOCS documents"; exit 1; }

log "2/3 OCRmyPDF, one call per document (inputs made by img2pdf first, untimed)"
mkdir -p "$WORK/ocrmypdf"
for d in "$WORK"/in/*/; do
    name=$(basename "$d")
    img2pdf --pagesize A4 -o "$WORK/ocrmypdf/$name.in.pdf" $(ls "$d"*.png "$d"*.jpg 2>/dev/null | sort -V)
done
cat >"$WORK/ocrmypdf.sh" <<EOF
set -e
for f in "$WORK"/ocrmypdf/*.in.pdf; do
    ocrmypdf --jobs $JOBS -l vie --deskew --output-type pdfa --quiet "\$f" "\${f%.in.pdf}.pdf"
done
EOF
OCRMYPDF_T=$(timed bash "$WORK/ocrmypdf.sh")

log "3/3 raw Tesseract, one process per page, $JOBS at a time"
mkdir -p "$WORK/tesseract"
find "$WORK/in" \( -name '*.png' -o -name '*.jpg' \) | sort >"$WORK/pages.txt"
cat >"$WORK/tesseract.sh" <<EOF
set -e
export OMP_THREAD_LIMIT=1
xargs -P $JOBS -I{} sh -c 'tesseract "\$1" "$WORK/tesseract/\$(echo "\$1" | md5sum | cut -c1-16)" -l vie --dpi 300 pdf 2>/dev/null' _ {} <"$WORK/pages.txt"
EOF
TESS_T=$(timed bash "$WORK/tesseract.sh")

python3 - "$NPAGES" "$DOCS" "$JOBS" "$SOHOA_T" "$OCRMYPDF_T" "$TESS_T" "$WORK/sohoa.json" <<'EOF'
import json, sys
pages, docs, jobs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
runs = {}
for name, t in zip(["sohoa batch", "OCRmyPDF (1 call/document)", "Tesseract alone"], sys.argv[4:7]):
    wall, user, system, rss = t.split()
    runs[name] = (float(wall), float(user) + float(system), int(rss) / 1024)
report = json.load(open(sys.argv[7]))
base_rate = pages * 60 / runs["OCRmyPDF (1 call/document)"][0]
base_cpu = runs["Tesseract alone"][1] / pages
print(f"{pages} pages in {docs} documents, --jobs {jobs}\n")
print("| tool | wall s | pages/min | CPU s/page | peak RSS MiB | throughput vs OCRmyPDF | CPU/page vs Tesseract |")
print("|---|---:|---:|---:|---:|---:|---:|")
for name, (wall, cpu, rss) in runs.items():
    rate = pages * 60 / wall
    print(f"| {name} | {wall:.1f} | {rate:.1f} | {cpu / pages:.2f} | {rss:.0f} | "
          f"{rate / base_rate:.2f}× | {cpu / pages / base_cpu:.2f}× |")
print(f"\nsohoa's own report: {report['pages_per_minute']:.1f} pages/min, "
      f"peak RSS {report['peak_rss_kib'] / 1024:.0f} MiB, {report['totals']['stored']} documents stored")
EOF
