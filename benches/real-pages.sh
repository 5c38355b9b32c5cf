#!/usr/bin/env bash
# Real-page quality harness: sohoa against Tesseract alone on real scanned pages of
# several languages and kinds (fixtures/real-pages/pages.tsv), one page at a time, one
# thread each (OMP_THREAD_LIMIT=1), in one run so the figures compare.
#
#   benches/real-pages.sh [--keep DIR]
#
# For every page: sohoa digitize (orientation from its --report, text from its PDF with
# pdftotext, as any reader of the file would get it, and from --text), and
# `tesseract IMG - -l vie` on the same page (a PDF page rendered at 300 dpi with
# pdftoppm, as it displays). CER against fixtures/real-pages/truth/NAME.txt with the
# fixtures' `cer` example (measurement rules in benches/README.md). A page counts as
# falsely turned when sohoa turned it although it displays upright; pages the PDF itself
# shows turned (cardinal.pdf pages 2–4, rotated_skew.pdf) count as correct when sohoa's
# output is upright, i.e. its text reads.
set -euo pipefail
cd "$(dirname "$0")/.."
KEEP=""
[ "${1:-}" = "--keep" ] && KEEP=${2:?--keep needs a folder}
WORK=${KEEP:-$(mktemp -d)}
mkdir -p "$WORK"
[ -n "$KEEP" ] || trap 'rm -rf "$WORK"' EXIT

RES=$(./dev real-pages)
cargo build --release --quiet --bin sohoa
cargo build --release --quiet -p sohoa-fixtures --example cer
SOHOA=$PWD/target/release/sohoa
CER=$PWD/target/release/examples/cer
TRUTH=fixtures/real-pages/truth
export OMP_THREAD_LIMIT=1

cer() { "$CER" "$1" "$2" | sed -E 's/^CER ([0-9.]+)%.*/\1/'; }
seconds() { awk '{print $1}' "$1"; }

printf '| page | class | sohoa turn | sohoa CER (pdftotext) | sohoa CER (text) | tesseract CER | sohoa s | tesseract s |\n'
printf '|---|---|---|---|---|---|---|---|\n'
grep -v '^#' fixtures/real-pages/pages.tsv | while IFS=$'\t' read -r file class truth; do
  name=${file%.*}
  in=$RES/$file
  /usr/bin/time -f '%e' -o "$WORK/$name.sohoa.time" \
    "$SOHOA" digitize --jobs 1 -o "$WORK/$name.pdf" --report "$WORK/$name.json" \
    --text "$WORK/$name.txt" "$in" >/dev/null 2>"$WORK/$name.log" || {
    printf '| %s | %s | error: %s |\n' "$file" "$class" "$(tail -1 "$WORK/$name.log")"
    continue
  }
  turns=$(python3 -c 'import json,sys; print(",".join(str(p["orientation_degrees"]) for p in json.load(open(sys.argv[1]))))' "$WORK/$name.json")
  pdftotext "$WORK/$name.pdf" "$WORK/$name.layer.txt"
  # Tesseract alone reads what the file shows: an image as it is, a PDF page rendered.
  if [[ $file == *.pdf ]]; then
    pdftoppm -r 300 -gray -png "$in" "$WORK/$name.page"
    images=("$WORK/$name".page*.png)
  else
    images=("$in")
  fi
  : >"$WORK/$name.tess.txt"
  start=$(date +%s.%N)
  for image in "${images[@]}"; do
    tesseract "$image" - -l vie 2>/dev/null >>"$WORK/$name.tess.txt"
  done
  tess_s=$(echo "$(date +%s.%N) - $start" | bc)
  if [ "$truth" = "-" ]; then
    c_layer="–" c_text="–" c_tess="–"
  else
    # Every page of a multi-page file holds the same text.
    pages=$(grep -c . <<<"${turns//,/$'\n'}")
    for _ in $(seq "$pages"); do cat "$TRUTH/$truth.txt"; done >"$WORK/$name.truth.txt"
    c_layer="$(cer "$WORK/$name.layer.txt" "$WORK/$name.truth.txt") %"
    c_text="$(cer "$WORK/$name.txt" "$WORK/$name.truth.txt") %"
    c_tess="$(cer "$WORK/$name.tess.txt" "$WORK/$name.truth.txt") %"
  fi
  printf '| %s | %s | %s | %s | %s | %s | %.2f | %.2f |\n' "$file" "$class" "$turns" \
    "$c_layer" "$c_text" "$c_tess" "$(seconds "$WORK/$name.sohoa.time")" "$tess_s"
done
