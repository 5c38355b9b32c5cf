#!/usr/bin/env bash
# Scanned PDFs in, sohoa against OCRmyPDF on OCRmyPDF's home ground (issue 19): the same
# scanned PDFs, encoded as a scanner would (JPEG, Flate, CCITT G4), in one run.
#
#   benches/pdf-compare.sh [--docs N] [--pages P] [--jobs J] [--keep DIR]
#
# Pages: examples/gen_batch.rs (A4, 300 dpi, Vietnamese, clean and skewed scans, with
# ground truth). Each document becomes three PDFs made by independent tools:
#   jpeg   img2pdf of the pages as JPEG (quality 90, ImageMagick)
#   flate  img2pdf of the 8-bit gray PNGs
#   g4     img2pdf of the pages as CCITT G4 TIFFs (ImageMagick -threshold 60% -compress Group4)
# Timed with GNU time, per PDF, one after another, all with --jobs J:
#   sohoa digitize --jobs J -o OUT IN.pdf                      (--quality archive, the default)
#   sohoa digitize --jobs J --quality compact -o OUT IN.pdf
#   ocrmypdf -l vie --deskew --output-type pdfa --jobs J IN.pdf OUT.pdf
# CER of `pdftotext` of each output against the truth; bytes per page of each output.
# Needs: benches/setup-peers.sh (OCRmyPDF), img2pdf, ImageMagick (convert).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DOCS=6 PAGES=2 JOBS=2 KEEP=""
while (($#)); do
  case $1 in
    --docs) DOCS=$2; shift 2 ;;
    --pages) PAGES=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --keep) KEEP=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
for tool in ocrmypdf img2pdf convert pdftotext /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "missing $tool (benches/setup-peers.sh)" >&2; exit 1; }
done
WORK=${KEEP:-$(mktemp -d)}
mkdir -p "$WORK"
[ -n "$KEEP" ] || trap 'rm -rf "$WORK"' EXIT
(cd "$ROOT" && cargo build --release --quiet --bin sohoa --example gen_batch &&
  cargo build --release --quiet -p sohoa-fixtures --example cer)
SOHOA=$ROOT/target/release/sohoa
CER=$ROOT/target/release/examples/cer
"$ROOT/target/release/examples/gen_batch" "$WORK/pages" "$DOCS" --pages "$PAGES" --lines 25 \
  --mix clean,skewed >/dev/null

# The three encodings of every document, and its truth.
for doc in "$WORK"/pages/*/; do
  name=$(basename "$doc")
  pngs=("$doc"page*.png)
  for png in "${pngs[@]}"; do
    convert "$png" -quality 90 "${png%.png}.jpg"
    convert "$png" -threshold 60% -compress Group4 "${png%.png}.tif"
  done
  img2pdf "${pngs[@]/%.png/.jpg}" -o "$WORK/$name.jpeg.pdf"
  img2pdf "${pngs[@]}" -o "$WORK/$name.flate.pdf"
  img2pdf "${pngs[@]/%.png/.tif}" -o "$WORK/$name.g4.pdf"
  cat "${pngs[@]/%.png/.txt}" >"$WORK/$name.truth.txt"
done

timed() { # OUT_TIME CMD...: wall seconds appended to OUT_TIME
  /usr/bin/time -f '%e' -a -o "$1" "${@:2}" >/dev/null 2>&1
}

printf '| encoding | tool | pages | wall s | pages/min | CER mean | bytes/page |\n'
printf '|---|---|---|---|---|---|---|\n'
for enc in jpeg flate g4; do
  for tool in sohoa sohoa-compact ocrmypdf; do
    : >"$WORK/$enc.$tool.time"
    rm -f "$WORK/$enc.$tool.cer"
    bytes=0 pages=0
    for input in "$WORK"/*."$enc".pdf; do
      name=$(basename "$input" ".$enc.pdf")
      out=$WORK/$name.$enc.$tool.out.pdf
      if [ "$tool" = sohoa ]; then
        timed "$WORK/$enc.$tool.time" "$SOHOA" digitize --jobs "$JOBS" -o "$out" "$input"
      elif [ "$tool" = sohoa-compact ]; then
        timed "$WORK/$enc.$tool.time" "$SOHOA" digitize --jobs "$JOBS" --quality compact \
          -o "$out" "$input"
      else
        timed "$WORK/$enc.$tool.time" env -u OMP_THREAD_LIMIT ocrmypdf -l vie --deskew \
          --output-type pdfa --jobs "$JOBS" "$input" "$out"
      fi
      pdftotext "$out" "$out.txt"
      "$CER" "$out.txt" "$WORK/$name.truth.txt" | sed -E 's/^CER ([0-9.]+)%.*/\1/' >>"$WORK/$enc.$tool.cer"
      bytes=$((bytes + $(stat -c %s "$out")))
      pages=$((pages + PAGES))
    done
    wall=$(awk '{s+=$1} END {printf "%.1f", s}' "$WORK/$enc.$tool.time")
    cer=$(awk '{s+=$1} END {printf "%.2f", s/NR}' "$WORK/$enc.$tool.cer")
    printf '| %s | %s | %d | %s | %.1f | %s %% | %d |\n' "$enc" "$tool" "$pages" "$wall" \
      "$(echo "$pages * 60 / $wall" | bc -l)" "$cer" "$((bytes / pages))"
  done
done
