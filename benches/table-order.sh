#!/usr/bin/env bash
# Reading order of a form table with wrapped cells (issue 21: "tables and forms should
# read cell by cell"): a generated A4 page at 300 dpi (DejaVu Serif,
# `sohoa_fixtures::render_table_page`, the page of the end-to-end test) with a four-column
# table whose cells hold one or two lines, read by `sohoa digitize` (--text:
# Tesseract's reading order, what the store's search indexes; and poppler's default
# `pdftotext` of the PDF) and by `tesseract` alone, scored cell by cell (row-major, each
# cell's lines joined) with the fixtures' `cer` example.
#
#   benches/table-order.sh
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cargo build --release --quiet --bin sohoa
cargo build --release --quiet -p sohoa-fixtures --example cer --example table_page
target/release/examples/table_page "$WORK"
SOHOA=$PWD/target/release/sohoa
CER=$PWD/target/release/examples/cer
export OMP_THREAD_LIMIT=1
"$SOHOA" digitize --jobs 1 -o "$WORK/t.pdf" --text "$WORK/t.txt" "$WORK/table.png" >/dev/null
pdftotext "$WORK/t.pdf" "$WORK/layer.txt"
tesseract "$WORK/table.png" "$WORK/tess" -l vie >/dev/null 2>&1
printf '| reader | CER, cell by cell |\n|---|---:|\n'
printf '| sohoa --text | %s |\n' "$("$CER" "$WORK/t.txt" "$WORK/table.txt" | cut -d' ' -f2)"
printf '| pdftotext of sohoa'"'"'s PDF | %s |\n' "$("$CER" "$WORK/layer.txt" "$WORK/table.txt" | cut -d' ' -f2)"
printf '| tesseract alone | %s |\n' "$("$CER" "$WORK/tess.txt" "$WORK/table.txt" | cut -d' ' -f2)"
