#!/usr/bin/env bash
# Peer comparison: sohoa vs OCRmyPDF vs raw Tesseract on the same pages
# (DESIGN.md §5 "Peers to measure against", §7 "How we measure OCR quality").
#
#   benches/compare.sh [--pages N] [--jobs J] [--runs R] [--skip-sohoa] [--build] [--keep] [PAGES_DIR]
#
#   --pages N     cycle the source pages into N copies (default 6)
#   --jobs J      parallelism given to sohoa, OCRmyPDF and the parallel Tesseract run (default 2)
#   --runs R      time each tool R times and keep the fastest run (default 1)
#   --skip-sohoa  measure only the peers (until target/release/sohoa exists)
#   --build       run `cargo build --release --bin sohoa` even if the binary exists
#   --keep        keep the work dir (pages, outputs, logs, extracted text)
#
# PAGES_DIR holds PNG pages (A4, 300 dpi, 8-bit gray) with optional ground
# truths beside them (page1.png -> page1.txt). Without it, the sample pages are
# generated with `cargo run -p sohoa-fixtures --release --example make_samples`.
# The pages are cycled into N copies (default 6) so throughput means something.
#
# Measured, each with GNU time (`/usr/bin/time -f '%e %U %S %M'`):
#   1. sohoa digitize --jobs J -o OUT.pdf PAGE...          (target/release/sohoa)
#   2. ocrmypdf -l vie --deskew --output-type pdfa --jobs J IN.pdf OUT.pdf
#      (IN.pdf made beforehand with img2pdf; only the ocrmypdf call is timed)
#   3. tesseract PAGE OUT -l vie --dpi 300 pdf, one page per process with
#      OMP_THREAD_LIMIT=1, sequentially (xargs -P 1) and J at a time (xargs -P J)
# and the CER of the text a user gets (pdftotext of each output PDF) against the
# concatenated ground truths.
#
# The markdown table goes to stdout (paste it into benches/README.md); progress
# and logs go to stderr. Peer tools come from benches/setup-peers.sh, which is
# run automatically if one is missing.
#
# Environment: SOHOA_BIN=path measures that binary instead of building
# target/release/sohoa; CARGO_TARGET_DIR is honoured.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
[[ $TARGET_DIR = /* ]] || TARGET_DIR=$ROOT/$TARGET_DIR

# ----------------------------------------------------------------- options ---
NPAGES=6
JOBS=2
RUNS=1
SKIP_SOHOA=0
FORCE_BUILD=0
KEEP=0
PAGES_DIR=""

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
    exit "${1:-0}"
}

parse_args() {
    while (($#)); do
        case $1 in
            --pages) NPAGES=${2:?--pages needs a number}; shift 2 ;;
            --pages=*) NPAGES=${1#*=}; shift ;;
            --jobs) JOBS=${2:?--jobs needs a number}; shift 2 ;;
            --jobs=*) JOBS=${1#*=}; shift ;;
            --runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
            --runs=*) RUNS=${1#*=}; shift ;;
            --skip-sohoa) SKIP_SOHOA=1; shift ;;
            --build) FORCE_BUILD=1; shift ;;
            --keep) KEEP=1; shift ;;
            -h|--help) usage 0 ;;
            -*) echo "unknown option: $1" >&2; usage 2 ;;
            *) [[ -z $PAGES_DIR ]] || { echo "only one PAGES_DIR" >&2; usage 2; }
               PAGES_DIR=$1; shift ;;
        esac
    done
    [[ $NPAGES =~ ^[1-9][0-9]*$ ]] || { echo "--pages must be a positive integer" >&2; exit 2; }
    [[ $JOBS =~ ^[1-9][0-9]*$ ]] || { echo "--jobs must be a positive integer" >&2; exit 2; }
    [[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "--runs must be a positive integer" >&2; exit 2; }
}

# ----------------------------------------------------------------- helpers ---
log() { printf '[compare] %s\n' "$*" >&2; }
die() { printf '[compare] error: %s\n' "$*" >&2; exit 1; }

# Floating-point arithmetic: calc 'EXPR' (awk), printed with the given format.
calc() { awk "BEGIN { printf \"${2:-%.2f}\", $1 }"; }

# The tools every run needs; sohoa is checked separately.
ensure_peers() {
    local missing=() t
    for t in /usr/bin/time tesseract ocrmypdf img2pdf pdftotext gs python3; do
        command -v "$t" >/dev/null 2>&1 || missing+=("$t")
    done
    if [[ -z $(tesseract --list-langs 2>/dev/null | grep -x vie) ]]; then missing+=(tesseract-ocr-vie); fi
    if ((${#missing[@]})); then
        log "missing: ${missing[*]} -> running benches/setup-peers.sh"
        "$SCRIPT_DIR/setup-peers.sh"
        hash -r
    fi
    ocrmypdf --version >/dev/null 2>&1 || die "ocrmypdf does not run; see benches/setup-peers.sh"
}

# Build (if needed) and locate the sohoa release binary. $SOHOA_BIN, if set,
# names another binary to measure (then nothing is built).
ensure_sohoa() {
    if [[ -n ${SOHOA_BIN:-} ]]; then
        [[ -x $SOHOA_BIN ]] || die "SOHOA_BIN=$SOHOA_BIN is not executable"
        return
    fi
    SOHOA_BIN=$TARGET_DIR/release/sohoa
    if [[ $FORCE_BUILD = 1 || ! -x $SOHOA_BIN ]]; then
        log "building sohoa: cargo build --release --bin sohoa"
        (cd "$ROOT" && cargo build --release --bin sohoa) >&2
    fi
    [[ -x $SOHOA_BIN ]] || die "no sohoa binary at $SOHOA_BIN"
}

# Fill $WORK/samples from the fixtures example unless PAGES_DIR was given.
prepare_source_pages() {
    if [[ -n $PAGES_DIR ]]; then
        [[ -d $PAGES_DIR ]] || die "not a directory: $PAGES_DIR"
        PAGES_DIR=$(cd "$PAGES_DIR" && pwd)
        return
    fi
    PAGES_DIR=$WORK/samples
    mkdir -p "$PAGES_DIR"
    log "generating sample pages: cargo run -p sohoa-fixtures --release --example make_samples -- $PAGES_DIR"
    (cd "$ROOT" && cargo run -q -p sohoa-fixtures --release --example make_samples -- "$PAGES_DIR") >&2 ||
        die "make_samples failed (is fixtures/examples/make_samples.rs there yet?); pass a PAGES_DIR instead"
}

# Cycle the source pages into $NPAGES numbered copies under $WORK/pages
# (001-page1.png, 002-page2-skew4.png, ...), with their truths beside them.
# Sets PAGES (array of copies, in order) and TRUTH (concatenated truth file,
# empty if some page has no .txt).
prepare_pages() {
    local src=() f i n stem copy
    while IFS= read -r -d '' f; do src+=("$f"); done \
        < <(find "$PAGES_DIR" -maxdepth 1 -type f -name '*.png' -print0 | LC_ALL=C sort -z)
    ((${#src[@]})) || die "no *.png in $PAGES_DIR"

    mkdir -p "$WORK/pages"
    PAGES=()
    TRUTH=$WORK/truth.txt
    : >"$TRUTH"
    for ((i = 0; i < NPAGES; i++)); do
        f=${src[i % ${#src[@]}]}
        stem=$(basename "$f" .png)
        copy=$WORK/pages/$(printf '%03d' $((i + 1)))-$stem.png
        cp "$f" "$copy"
        PAGES+=("$copy")
        if [[ -n $TRUTH && -f ${f%.png}.txt ]]; then
            # Pages' truths joined with a space (whitespace is collapsed anyway).
            ((i == 0)) || printf ' ' >>"$TRUTH"
            cat "${f%.png}.txt" >>"$TRUTH"
        else
            [[ -z $TRUTH ]] || log "no ground truth ${f%.png}.txt: CER will be n/a"
            TRUTH=""
        fi
    done
    SRC=("${src[@]}")
    SOURCE_NAMES=$(for f in "${src[@]}"; do basename "$f"; done | paste -sd' ')
    log "${#PAGES[@]} pages cycled from ${#src[@]} source pages ($SOURCE_NAMES)"
}

# --------------------------------------------------------------------- CER ---
# CER per DESIGN.md §7: NFC both, collapse whitespace runs to one space, trim,
# Levenshtein over characters / truth length. Myers' bit-parallel algorithm
# over Python big ints keeps whole-document comparisons (tens of thousands of
# characters) well under a second.
cer_python() {
    python3 - "$1" "$2" <<'PY'
import re, sys, unicodedata

def norm(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = unicodedata.normalize("NFC", f.read())
    return re.sub(r"\s+", " ", text).strip()

def levenshtein(a, b):
    """Global edit distance (Myers 1999 / Hyyrö 2001), a = pattern."""
    if not a:
        return len(b)
    m = len(a)
    peq = {}
    for i, c in enumerate(a):
        peq[c] = peq.get(c, 0) | (1 << i)
    mask, high = (1 << m) - 1, 1 << (m - 1)
    pv, mv, score = mask, 0, m
    for c in b:
        eq = peq.get(c, 0)
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = mv | (~(xh | pv) & mask)
        mh = pv & xh
        if ph & high:
            score += 1
        elif mh & high:
            score -= 1
        ph = ((ph << 1) | 1) & mask
        mh = (mh << 1) & mask
        pv = mh | (~(xv | ph) & mask)
        mv = ph & xv
    return score

rec, truth = norm(sys.argv[1]), norm(sys.argv[2])
print(f"{levenshtein(truth, rec) / max(len(truth), 1):.6f}")
PY
}

# Decide once which CER implementation to use: the fixtures' `cer` example
# if it exists and builds, else the Python fallback above.
setup_cer() {
    CER_BIN=""
    CER_SOURCE="python3 fallback in benches/compare.sh (DESIGN.md §7)"
    [[ -n $TRUTH ]] || return 0
    if [[ -f $ROOT/fixtures/examples/cer.rs ]]; then
        log "building CER tool: cargo build -p sohoa-fixtures --release --example cer"
        if (cd "$ROOT" && cargo build -q -p sohoa-fixtures --release --example cer) >&2 &&
            [[ -x $TARGET_DIR/release/examples/cer ]]; then
            CER_BIN=$TARGET_DIR/release/examples/cer
            CER_SOURCE="cargo run -p sohoa-fixtures --release --example cer"
        else
            log "cer example did not build; using the python3 fallback"
        fi
    fi
}

# Print the CER of recognised text file $1 against $TRUTH as a fraction.
# The example's output is parsed for a number labelled "CER" (or a lone
# number); a trailing % is honoured. Anything else -> python fallback.
cer_of() {
    local rec=$1 out num
    if [[ -n $CER_BIN ]] && out=$("$CER_BIN" "$rec" "$TRUTH" 2>/dev/null); then
        num=$(grep -Eio 'cer[^0-9]*[0-9]+(\.[0-9]+)?%?' <<<"$out" | sed -n 1p | grep -Eo '[0-9]+(\.[0-9]+)?%?' || true)
        if [[ -z $num && $(grep -Eo '[0-9]+(\.[0-9]+)?%?' <<<"$out" | wc -l) -eq 1 ]]; then
            num=$(grep -Eo '[0-9]+(\.[0-9]+)?%?' <<<"$out")
        fi
        if [[ -n $num ]]; then
            if [[ $num == *% ]]; then calc "${num%\%} / 100" '%.6f'; else printf '%s' "$num"; fi
            return
        fi
        log "could not read a CER from the cer example's output ($out); using python3"
    fi
    cer_python "$rec" "$TRUTH"
}

# ------------------------------------------------------------- measurement ---
# Results, keyed by tool id.
declare -A WALL USR SYS RSS CER STATUS LABEL CMDLINE OUT_BYTES PAGE_CER
TOOLS=()

# run_timed ID LABEL -- CMD...: run CMD under GNU time $RUNS times, logs to
# $WORK/ID.log, and keep the figures of the run with the least wall time.
run_timed() {
    local id=$1 label=$2; shift 3
    local tf=$WORK/$id.time run wall usr sys rss
    TOOLS+=("$id")
    LABEL[$id]=$label
    STATUS[$id]=ok
    for ((run = 1; run <= RUNS; run++)); do
        log "running $label (run $run/$RUNS)"
        if ! /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" >"$WORK/$id.log" 2>&1; then
            STATUS[$id]=failed
            log "$label FAILED; last lines of $WORK/$id.log:"
            tail -n 15 "$WORK/$id.log" >&2
            return 0
        fi
        # The figures are the last line (after any "Command exited ..." line).
        read -r wall usr sys rss < <(tail -n 1 "$tf")
        log "  wall ${wall} s, user ${usr} s, sys ${sys} s, max RSS ${rss} KB"
        if ((run == 1)) || awk "BEGIN { exit !($wall < ${WALL[$id]}) }"; then
            WALL[$id]=$wall USR[$id]=$usr SYS[$id]=$sys RSS[$id]=$rss
        fi
    done
}

# Text a user gets: pdftotext of each PDF given, in order, concatenated.
extract_text() {
    local out=$1 pdf; shift
    : >"$out"
    for pdf in "$@"; do
        pdftotext -enc UTF-8 "$pdf" - >>"$out"
        printf '\n' >>"$out"
    done
}

# record_cer ID PDF...: output size, whole-run CER, and the CER of the first
# copy of each source page (pdftotext -f K -l K of a multi-page output, or
# the K-th PDF when the tool wrote one per page).
record_cer() {
    local id=$1 txt=$WORK/$1.txt k truth; shift
    CER[$id]=""
    [[ ${STATUS[$id]} == ok ]] || return 0
    OUT_BYTES[$id]=$(cat "$@" | wc -c)
    [[ -n $TRUTH ]] || return 0
    extract_text "$txt" "$@"
    CER[$id]=$(cer_of "$txt")
    for ((k = 1; k <= ${#SRC[@]} && k <= NPAGES; k++)); do
        truth=${SRC[k - 1]%.png}.txt
        if (($# == 1)); then
            pdftotext -enc UTF-8 -f "$k" -l "$k" "$1" "$WORK/$id.p$k.txt"
        else
            pdftotext -enc UTF-8 "${!k}" "$WORK/$id.p$k.txt"
        fi
        PAGE_CER[$id,$k]=$(TRUTH=$truth cer_of "$WORK/$id.p$k.txt")
    done
}

bench_sohoa() {
    local out=$WORK/sohoa.pdf
    CMDLINE[sohoa]="sohoa digitize --jobs $JOBS -o OUT.pdf PAGE..."
    # OMP_THREAD_LIMIT is left unset: sohoa must cope with what a user has.
    run_timed sohoa "sohoa digitize --jobs $JOBS" -- \
        env -u OMP_THREAD_LIMIT "$SOHOA_BIN" digitize --jobs "$JOBS" -o "$out" "${PAGES[@]}"
    record_cer sohoa "$out"
}

bench_ocrmypdf() {
    local in=$WORK/ocrmypdf-in.pdf out=$WORK/ocrmypdf.pdf tf=$WORK/img2pdf.time
    # Not timed as part of OCRmyPDF: combining the PNGs into its one input file.
    /usr/bin/time -f '%e %U %S %M' -o "$tf" img2pdf --pagesize A4 -o "$in" "${PAGES[@]}"
    read -r IMG2PDF_WALL _ < <(tail -n 1 "$tf")
    CMDLINE[ocrmypdf]="ocrmypdf -l vie --deskew --output-type pdfa --jobs $JOBS IN.pdf OUT.pdf"
    # OCRmyPDF sets OMP_THREAD_LIMIT for its Tesseract children itself.
    run_timed ocrmypdf "OCRmyPDF --jobs $JOBS" -- \
        env -u OMP_THREAD_LIMIT ocrmypdf -l vie --deskew --output-type pdfa --jobs "$JOBS" "$in" "$out"
    record_cer ocrmypdf "$out"
    OCRMYPDF_NOTES=$(grep -E 'Ghostscript|Output file is' "$WORK/ocrmypdf.log" | paste -sd';' || true)
}

# One Tesseract process per page through xargs, P at a time.
bench_tesseract() {
    local id=$1 parallel=$2 outdir=$WORK/$1 p pdfs=()
    mkdir -p "$outdir"
    cat >"$WORK/tess-one.sh" <<'SH'
#!/bin/sh
# tess-one.sh OUTDIR PAGE.png -> OUTDIR/PAGE.pdf
exec tesseract "$2" "$1/$(basename "$2" .png)" -l vie --dpi 300 pdf
SH
    chmod +x "$WORK/tess-one.sh"
    printf '%s\0' "${PAGES[@]}" >"$WORK/pages.list"
    CMDLINE[$id]="OMP_THREAD_LIMIT=1 tesseract PAGE OUT -l vie --dpi 300 pdf, xargs -P $parallel"
    run_timed "$id" "tesseract, $parallel at a time" -- \
        env OMP_THREAD_LIMIT=1 xargs -0 -a "$WORK/pages.list" -n 1 -P "$parallel" \
        "$WORK/tess-one.sh" "$outdir"
    for p in "${PAGES[@]}"; do pdfs+=("$outdir/$(basename "$p" .png).pdf"); done
    record_cer "$id" "${pdfs[@]}"
}

# ----------------------------------------------------------------- reports ---
ppm_of() { calc "$NPAGES * 60 / ${WALL[$1]}" '%.1f'; }
cpu_per_page_of() { calc "(${USR[$1]} + ${SYS[$1]}) / $NPAGES" '%.2f'; }

print_table() {
    local id cer
    local cpu_model
    cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
    cat <<EOF
### Peer comparison — $(date -u +%Y-%m-%d)

$NPAGES pages (A4, 300 dpi, gray; cycled from: $SOURCE_NAMES), $JOBS jobs, best of $RUNS run(s),
$(nproc) cores ($cpu_model), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM.

| Tool | Command | Wall s | Pages/min | CPU s/page (user+sys) | Peak RSS MB | Output MB | CER % |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |
EOF
    for id in "${TOOLS[@]}"; do
        if [[ ${STATUS[$id]} != ok ]]; then
            printf '| %s | `%s` | FAILED | | | | | |\n' "${LABEL[$id]}" "${CMDLINE[$id]}"
            continue
        fi
        cer=n/a
        [[ -z ${CER[$id]} ]] || cer=$(calc "${CER[$id]} * 100" '%.2f')
        printf '| %s | `%s` | %.2f | %s | %s | %s | %s | %s |\n' \
            "${LABEL[$id]}" "${CMDLINE[$id]}" "${WALL[$id]}" "$(ppm_of "$id")" \
            "$(cpu_per_page_of "$id")" "$(calc "${RSS[$id]} / 1024" '%.0f')" \
            "$(calc "${OUT_BYTES[$id]} / 1048576" '%.2f')" "$cer"
    done
    echo
    print_page_cer
    print_ratios
    print_notes
}

ok() { [[ ${STATUS[$1]:-} == ok ]]; }

# CER % of each source page (its first copy), one column per tool.
print_page_cer() {
    [[ -n $TRUTH ]] || return 0
    local id k row
    row="| Page |"; for id in "${TOOLS[@]}"; do row+=" ${LABEL[$id]} |"; done; echo "$row"
    row="| --- |"; for id in "${TOOLS[@]}"; do row+=" ---: |"; done; echo "$row"
    for ((k = 1; k <= ${#SRC[@]} && k <= NPAGES; k++)); do
        row="| $(basename "${SRC[k - 1]}") |"
        for id in "${TOOLS[@]}"; do
            if [[ -n ${PAGE_CER[$id,$k]:-} ]]; then
                row+=" $(calc "${PAGE_CER[$id,$k]} * 100" '%.2f') |"
            else
                row+=" n/a |"
            fi
        done
        echo "$row"
    done
    echo
}

print_ratios() {
    if ok sohoa && ok ocrmypdf; then
        printf -- '- Throughput, sohoa ÷ OCRmyPDF (pages/min): **%s×**\n' \
            "$(calc "${WALL[ocrmypdf]} / ${WALL[sohoa]}" '%.2f')"
    fi
    if ok sohoa && ok tess_seq; then
        printf -- '- CPU per page, sohoa ÷ Tesseract sequential: **%s×**\n' \
            "$(calc "(${USR[sohoa]} + ${SYS[sohoa]}) / (${USR[tess_seq]} + ${SYS[tess_seq]})" '%.2f')"
    fi
    if ! ok sohoa; then
        echo "- sohoa not measured (--skip-sohoa or failed): no ratios."
    fi
}

print_notes() {
    cat <<EOF

Notes:
- Timed with GNU time (\`/usr/bin/time -f '%e %U %S %M'\`). For OCRmyPDF and the xargs
  runs, user+sys include all waited-for child processes (Tesseract, Ghostscript, …);
  peak RSS is the largest single process in the tree, not the sum over processes
  running at once.
- OCRmyPDF: only the \`ocrmypdf\` call is timed; combining the PNGs into its input with
  \`img2pdf --pagesize A4\` took ${IMG2PDF_WALL:-?} s more. Its log: ${OCRMYPDF_NOTES:-n/a}.
- Tesseract: raw CLI, no deskew, one process per page with \`OMP_THREAD_LIMIT=1\`
  (sequential = \`xargs -P 1\`; parallel = \`xargs -P $JOBS\`).
- CER (DESIGN.md §7) of \`pdftotext\` output of each tool's PDF(s) against the pages'
  truths concatenated in order; computed by: $CER_SOURCE.
- Versions: ${VERSIONS}.
EOF
}

collect_versions() {
    VERSIONS="tesseract $(tesseract --version 2>&1 | awk 'NR == 1 {print $2}')"
    VERSIONS+=", OCRmyPDF $(ocrmypdf --version 2>&1)"
    VERSIONS+=", img2pdf $(img2pdf --version 2>&1 | awk '{print $2}')"
    VERSIONS+=", Ghostscript $(gs --version 2>&1)"
    VERSIONS+=", pdftotext $(pdftotext -v 2>&1 | awk 'NR == 1 {print $3}')"
    if [[ $SKIP_SOHOA = 0 ]]; then
        VERSIONS+=", sohoa $("$SOHOA_BIN" --version 2>/dev/null | awk '{print $NF}' || echo '?')"
        VERSIONS+=" ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo 'no commit'))"
    fi
}

# -------------------------------------------------------------------- main ---
main() {
    parse_args "$@"
    ensure_peers
    [[ $SKIP_SOHOA = 1 ]] || ensure_sohoa

    WORK=$(mktemp -d "${TMPDIR:-/tmp}/sohoa-compare.XXXXXX")
    if [[ $KEEP = 1 ]]; then
        log "work dir (kept): $WORK"
    else
        trap '[[ $KEEP = 1 ]] || rm -rf "$WORK"' EXIT
        log "work dir (removed at exit; --keep to keep): $WORK"
    fi

    prepare_source_pages
    prepare_pages
    setup_cer
    collect_versions

    [[ $SKIP_SOHOA = 1 ]] || bench_sohoa
    bench_ocrmypdf
    bench_tesseract tess_seq 1
    bench_tesseract tess_par "$JOBS"

    print_table

    # A tool that failed still gets its row; the run as a whole fails.
    local id
    for id in "${TOOLS[@]}"; do
        ok "$id" || { KEEP=1; die "${LABEL[$id]} failed (work dir kept; log: $WORK/$id.log)"; }
    done
}

main "$@"
