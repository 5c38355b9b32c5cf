#!/usr/bin/env bash
# Archival size by page kind (issue 17, target 3): bytes per page of sohoa `--quality
# archive` and `--quality compact` against OCRmyPDF, with the CER of each output's text.
#
#   benches/size-compare.sh [--pages N] [--keep]
#
#   --pages N   pages of each kind (default 4)
#   --keep      keep the work folder
#
# Pages: examples/gen_batch.rs, 25 Vietnamese lines, one page per document, three kinds:
#   clean         a 300-dpi 8-bit gray PNG scan
#   phone         a 12 MP JPEG phone photo of the page on a desk
#   sealed-phone  the same with a red seal and a blue signature (a colour page)
# Each page goes through
#   sohoa digitize --quality archive|compact -o OUT.pdf PAGE
#   ocrmypdf -l vie --deskew --output-type pdfa IN.pdf OUT.pdf   (IN.pdf: img2pdf of PAGE)
# and the table gives the mean bytes per page and the mean CER of `pdftotext` against the
# truth. OCRmyPDF's defaults are kept (`--optimize 1`: lossless); it has no page
# detection, so a phone photo stays a photo of a desk.
# Needs: benches/setup-peers.sh (OCRmyPDF, img2pdf), poppler-utils.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
[[ $TARGET_DIR = /* ]] || TARGET_DIR=$ROOT/$TARGET_DIR

PAGES=4 KEEP=0
while (($#)); do
    case $1 in
        --pages) PAGES=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done

log() { printf '[size-compare] %s\n' "$*" >&2; }

for tool in ocrmypdf img2pdf pdftotext; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        log "missing $tool -> running benches/setup-peers.sh"
        "$SCRIPT_DIR/setup-peers.sh"
        break
    fi
done

WORK=$(mktemp -d)
if ((KEEP)); then log "work folder: $WORK"; else trap 'rm -rf "$WORK"' EXIT; fi

log "building sohoa, gen_batch and cer (release)"
(cd "$ROOT" && cargo build --release --quiet --bin sohoa --example gen_batch &&
    cargo build --release --quiet -p sohoa-fixtures --example cer)
SOHOA=$TARGET_DIR/release/sohoa
CER=$TARGET_DIR/release/examples/cer

KINDS=(clean phone sealed-phone)
"$TARGET_DIR/release/examples/gen_batch" "$WORK/pages" $((PAGES * ${#KINDS[@]})) \
    --pages 1 --lines 25 --mix "$(IFS=,; echo "${KINDS[*]}")" >/dev/null

# kind -> the page files of that kind (documents cycle through the kinds in order).
declare -A FILES
i=0
for dir in $(ls -d "$WORK"/pages/*/ | sort); do
    kind=${KINDS[$((i % ${#KINDS[@]}))]}
    FILES[$kind]+="$(ls "$dir"page1.* | grep -v '\.txt$') "
    i=$((i + 1))
done

# CER in percent of text file $1 against truth $2.
cer() { "$CER" "$1" "$2" | awk '{ sub("%", "", $2); print $2 }'; }

# Mean of the numbers on stdin, printed with format $1.
mean() { awk -v f="$1" '{ s += $1; n++ } END { printf f, n ? s / n : 0 }'; }

echo "| page kind | tool | bytes/page | ratio to OCRmyPDF | CER |"
echo "|---|---|---:|---:|---:|"
for kind in "${KINDS[@]}"; do
    declare -A BYTES=() CERS=()
    for page in ${FILES[$kind]}; do
        truth=${page%.*}.txt
        out=$WORK/out/$kind/$(basename "$(dirname "$page")")
        mkdir -p "$out"
        for quality in archive compact; do
            "$SOHOA" digitize --quality "$quality" -o "$out/$quality.pdf" "$page" >/dev/null 2>&1
            BYTES[$quality]+="$(wc -c <"$out/$quality.pdf") "
            pdftotext "$out/$quality.pdf" "$out/$quality.txt"
            CERS[$quality]+="$(cer "$out/$quality.txt" "$truth") "
        done
        img2pdf "$page" -o "$out/in.pdf"
        env -u OMP_THREAD_LIMIT ocrmypdf -q -l vie --deskew --output-type pdfa \
            "$out/in.pdf" "$out/ocrmypdf.pdf" 2>/dev/null
        BYTES[ocrmypdf]+="$(wc -c <"$out/ocrmypdf.pdf") "
        pdftotext "$out/ocrmypdf.pdf" "$out/ocrmypdf.txt"
        CERS[ocrmypdf]+="$(cer "$out/ocrmypdf.txt" "$truth") "
    done
    peer=$(tr ' ' '\n' <<<"${BYTES[ocrmypdf]}" | grep . | mean '%.0f')
    for tool in archive compact ocrmypdf; do
        bytes=$(tr ' ' '\n' <<<"${BYTES[$tool]}" | grep . | mean '%.0f')
        error=$(tr ' ' '\n' <<<"${CERS[$tool]}" | grep . | mean '%.2f')
        label=$([[ $tool = ocrmypdf ]] && echo OCRmyPDF || echo "sohoa --quality $tool")
        ratio=$(awk -v a="$bytes" -v b="$peer" 'BEGIN { printf "%.2f×", a / b }')
        echo "| $kind | $label | $bytes | $ratio | $error % |"
    done
    unset BYTES CERS
done
