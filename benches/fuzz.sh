#!/usr/bin/env bash
# Fuzzing run (security issue: untrusted images, PDFs and HTTP requests): builds the
# libFuzzer targets of fuzz/ with cargo-fuzz and runs each for SECONDS (default 60), one
# libFuzzer process at a time (no -jobs/-workers: one worker), under `nice -n 19`.
#
#   benches/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Targets (default: all): decode_image verify_pdf inspect_pdf http_query http_ingest
# http_verify http_login http_capture (bodies in fuzz/src/targets.rs; see fuzz/README.md).
#
# Works from a fresh clone on the stable toolchain: cargo-fuzz is installed into
# .cache/tools (git-ignored) when missing, and its nightly-only flags (-Zsanitizer, …) are
# let through with RUSTC_BOOTSTRAP=1.
#
# Each target reads its seeds from fuzz/corpus/TARGET (left untouched) and grows its
# corpus in .cache/fuzz/corpus/TARGET (git-ignored, kept between runs). A crashing
# input is written to fuzz/artifacts/TARGET/ (crash-*, timeout-*, oom-*, leak-*), with
# the log in .cache/fuzz/logs/TARGET.log.
#
# Environment:
#   FUZZ_SANITIZER  address (default) or none (faster, catches panics only)
#   FUZZ_TIMEOUT    seconds one input may take before it is a finding (default 30)
#   FUZZ_RSS_MB     memory limit of the process, MB (default 2048, libFuzzer's default)
#
# Prints one line per target: seconds, CPU seconds, executions, corpus files and bytes,
# and OK or the finding with its input file. Exits 1 when a target crashed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

SECONDS_PER_TARGET=${1:-60}
shift || true
ALL_TARGETS=(decode_image verify_pdf inspect_pdf http_query http_ingest http_verify http_login http_capture)
if [ $# -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL_TARGETS[@]}"); fi
SANITIZER=${FUZZ_SANITIZER:-address}
TIMEOUT=${FUZZ_TIMEOUT:-30}
RSS_MB=${FUZZ_RSS_MB:-2048}

TOOLS=$ROOT/.cache/tools
WORK=$ROOT/.cache/fuzz
export PATH=$TOOLS/bin:$PATH
# cargo-fuzz passes nightly-only flags (-Zsanitizer, -Zunstable-options); the stable
# compiler takes them with this set.
export RUSTC_BOOTSTRAP=1

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz into $TOOLS" >&2
    nice -n 19 cargo install --locked --root "$TOOLS" cargo-fuzz >&2
fi

FUZZ=(cargo fuzz)
FLAGS=(--fuzz-dir fuzz --sanitizer "$SANITIZER")
echo "fuzz.sh: building the targets (sanitizer $SANITIZER)" >&2
nice -n 19 "${FUZZ[@]}" build "${FLAGS[@]}" >&2
BIN_DIR=$ROOT/fuzz/target/$(rustc -vV | sed -n 's/^host: //p')/release

mkdir -p "$WORK/logs"
printf '%-14s %8s %8s %12s %8s %10s %s\n' target seconds cpu_s executions files bytes result
failed=0
for target in "${TARGETS[@]}"; do
    corpus=$WORK/corpus/$target
    seeds=$ROOT/fuzz/corpus/$target
    artifacts=$ROOT/fuzz/artifacts/$target
    tmp=$WORK/tmp/$target
    log=$WORK/logs/$target.log
    mkdir -p "$corpus" "$artifacts" "$tmp"
    [ -d "$seeds" ] || { echo "fuzz.sh: no seeds in $seeds" >&2; exit 2; }
    before=$(ls "$artifacts" | wc -l)
    started=$(date +%s)
    TIMEFORMAT='%U %S'
    set +e
    # The HTTP targets keep their store in a temporary folder: one per run, removed after.
    # The binary cargo fuzz built, run directly (`cargo fuzz run` would first rebuild
    # whenever a file under src/ changed, and count that build in the time).
    { time TMPDIR=$tmp nice -n 19 "$BIN_DIR/$target" "$corpus" "$seeds" \
        -max_total_time="$SECONDS_PER_TARGET" -timeout="$TIMEOUT" -rss_limit_mb="$RSS_MB" \
        -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1; } 2>"$WORK/logs/$target.time"
    status=$?
    set -e
    elapsed=$(($(date +%s) - started))
    cpu=$(awk '{printf "%.0f", $1 + $2}' "$WORK/logs/$target.time")
    rm -rf "$tmp"
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{print $2}' | tail -1)
    if [ -z "$execs" ]; then
        # libFuzzer prints no final stats after a crash: take the last status line.
        execs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
    fi
    files=$(find "$corpus" -type f | wc -l)
    bytes=$(find "$corpus" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
    result=OK
    if [ "$status" -ne 0 ] || [ "$(ls "$artifacts" | wc -l)" -ne "$before" ]; then
        failed=1
        found=$(ls -t "$artifacts" | head -1)
        why=$(grep -m1 -E "^==[0-9]+==ERROR|panicked at|deadly signal|ERROR: libFuzzer" "$log" || true)
        result="CRASH ($why) input: fuzz/artifacts/$target/$found, log: $log"
    fi
    printf '%-14s %8s %8s %12s %8s %10s %s\n' "$target" "$elapsed" "$cpu" "${execs:-?}" "$files" "$bytes" "$result"
done
exit $failed
