#!/usr/bin/env bash
# Scale-out benchmark (issue 15): sohoa on the shared backends of ./dev services.
#
#   benches/scale-out.sh lookups [--docs N] [--duration 30s] [--rate 5000]
#   benches/scale-out.sh batch   [--documents 24]
#
# lookups: a store of N synthetic documents (default 1,000,000; examples/bulk_store.rs)
#   indexed in the PostgreSQL database `sohoa_bench` of ./dev services (blobs in a local
#   folder: lookups never read them), generated once and kept; then `sohoa serve` with 1,
#   then 2 instances on that one database. Each run: wrk (closed loop, 50 connections in
#   all, split over the instances) on GET /api/v1/documents?citizen_id=ID, authenticated
#   and audited (every request appends to the one hash-chained log); with oha installed
#   (.cache/tools/bin, `cargo install oha --locked --root .cache/tools`), also a fixed
#   rate (default 5,000/s in all) with latency corrected for coordinated omission.
# batch: generated documents (2 clean pages of 12 text lines each, examples/gen_batch.rs) queued with
#   `sohoa batch --enqueue` into a fresh PostgreSQL schema + Garage prefix, worked off by
#   1 worker pinned to core 0, then again by 2 workers pinned to cores 0 and 1; pages per
#   minute of each; then the cost of a SIGKILL: a worker killed while it holds a job, and
#   the seconds until another worker has stored that job's document (lease 10 s).
#
# Everything runs on this machine's 2 cores: PostgreSQL, Garage, the instances and the
# load generator share them. Start the services first: ./dev services up.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
mode="${1:-}"; shift || true
docs=1000000 duration=30s rate=5000 documents=24
while [[ $# -gt 0 ]]; do
    case "$1" in
        --docs) docs="$2"; shift 2 ;;
        --duration) duration="$2"; shift 2 ;;
        --rate) rate="$2"; shift 2 ;;
        --documents) documents="$2"; shift 2 ;;
        *) echo "scale-out.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
eval "$(./dev services env)"
pg="${SOHOA_TEST_POSTGRES%/*}"
sohoa="$root/target/release/sohoa"
work="$(mktemp -d /tmp/sohoa-scale.XXXXXX)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
say() { printf '\n== %s\n' "$*"; }

say "building (release)"
cargo build --release --quiet --bin sohoa --example bulk_store
echo "$(nproc) cores; sohoa $(git rev-parse --short HEAD); $(psql --version)"

serve() { # PORT: one instance on the bench database
    "$sohoa" serve --store "$store" --index "$index" --blobs "file:$store/blobs" \
        --listen "127.0.0.1:$1" >"$work/serve-$1.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 300); do
        grep -q "listening on" "$work/serve-$1.log" && return 0
        sleep 0.1
    done
    cat "$work/serve-$1.log" >&2; exit 1
}

lookups() {
    command -v wrk >/dev/null || { echo "scale-out.sh: install wrk (apt-get install wrk)" >&2; exit 1; }
    store="/tmp/sohoa-pg-bench-$docs"
    index="$pg/sohoa_bench_$docs"
    if [[ ! -f "$store/bench-sample/generation.txt" ]]; then
        say "generating $docs documents: index in PostgreSQL, blobs in $store/blobs"
        psql -q "$pg/postgres" -c "DROP DATABASE IF EXISTS sohoa_bench_$docs" -c "CREATE DATABASE sohoa_bench_$docs"
        rm -rf "$store"; mkdir -p "$store"
        time "$root/target/release/examples/bulk_store" "$store" "$docs" --threads 8 \
            --index "$index" --blobs "file:$store/blobs"
    fi
    cat "$store/bench-sample/generation.txt"
    key="$("$sohoa" key create --store "$store" --index "$index" --blobs "file:$store/blobs" \
        --agency BENCH-UBND --scope 'read:*' | sed -n 's/.*"key": *"\([^"]*\)".*/\1/p')"
    cat >"$work/lookup.lua" <<'LUA'
local sample, key = os.getenv("BENCH_SAMPLE"), os.getenv("BENCH_KEY")
local offset = tonumber(os.getenv("BENCH_OFFSET") or "0")
local started = 0
function setup(thread) thread:set("tid", started); started = started + 1 end
function init(args)
    items = {}
    for line in io.lines(sample) do if #line > 0 then items[#items + 1] = line end end
    i = offset + (tid or 0) * 7919
    wrk.headers["Authorization"] = "Bearer " .. key
    wrk.headers["X-Purpose"] = "benchmark"
end
function request()
    i = i % #items + 1
    return wrk.format("GET", "/api/v1/documents?citizen_id=" .. items[i])
end
function done(summary, latency, requests)
    io.write(string.format("RESULT rps=%.0f p50_ms=%.2f p99_ms=%.2f non2xx=%d errors=%d\n",
        summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
        latency:percentile(99) / 1000, summary.errors.status,
        summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA
    for instances in 1 2; do
        for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
        pids=()
        for n in $(seq 1 "$instances"); do serve $((18180 + n)); done
        say "$instances instance(s): warm-up 5 s, then wrk $duration, 50 connections in all"
        for phase in 5s "$duration"; do
            for n in $(seq 1 "$instances"); do
                BENCH_SAMPLE="$store/bench-sample/citizen_ids.txt" BENCH_KEY="$key" BENCH_OFFSET=$((n * 5003)) \
                    wrk -t1 -c$((50 / instances)) -d"$phase" --latency -s "$work/lookup.lua" \
                    "http://127.0.0.1:$((18180 + n))" >"$work/wrk-$n.out" &
            done
            wait $(jobs -p | grep -v -x -F "$(printf '%s\n' "${pids[@]}")") 2>/dev/null || true
            sleep 1
        done
        grep -h '^RESULT' "$work"/wrk-*.out | sed "s/^/$instances instance(s): /"
        awk '/^RESULT/ { split($2, a, "="); t += a[2] } END { printf "total %.0f requests/s\n", t }' "$work"/wrk-*.out
        oha="$root/.cache/tools/bin/oha"
        if [[ -x "$oha" ]]; then
            say "$instances instance(s): fixed rate $rate/s in all (oha, latency corrected)"
            for n in $(seq 1 "$instances"); do
                sed "s|^|http://127.0.0.1:$((18180 + n))/api/v1/documents?citizen_id=|" \
                    "$store/bench-sample/citizen_ids.txt" >"$work/urls-$n.txt"
                "$oha" -z "$duration" -c $((50 / instances)) -q $((rate / instances)) --latency-correction --no-tui \
                    -H "Authorization: Bearer $key" -H 'X-Purpose: benchmark' \
                    --urls-from-file "$work/urls-$n.txt" >"$work/oha-$n.out" &
            done
            wait $(jobs -p | grep -v -x -F "$(printf '%s\n' "${pids[@]}")") 2>/dev/null || true
            for n in $(seq 1 "$instances"); do
                echo "instance $n: $(grep -E 'Success rate|Requests/sec|^ *(50|99)\.00% in' "$work/oha-$n.out" | tr -s ' \t' ' ' | paste -sd' ')"
            done
        fi
    done
}

pages() { # DIR N: N documents of 2 clean generated pages each (12 text lines)
    "$root/target/release/examples/gen_batch" "$1" "$2" --pages 2 --lines 12 --mix clean >/dev/null
}

batch() {
    cargo build --release --quiet --example gen_batch
    input="$work/in"; pages "$input" "$documents"
    local schema
    for workers in 1 2; do
        schema="bench_$$_$workers"
        psql -q "$SOHOA_TEST_POSTGRES" -c "CREATE SCHEMA $schema"
        local args=(--store "$work/store-$workers" --index "$SOHOA_TEST_POSTGRES?options=-csearch_path%3D$schema"
            --blobs "$SOHOA_TEST_S3-bench/$schema" --s3-endpoint "$SOHOA_TEST_S3_ENDPOINT")
        "$sohoa" batch "$input" "${args[@]}" --enqueue --procedure 1.001193 --kind giay-to
        say "$workers worker(s), each pinned to one core, --jobs 1"
        start=$(date +%s.%N)
        for w in $(seq 0 $((workers - 1))); do
            OMP_THREAD_LIMIT=1 taskset -c "$w" "$sohoa" worker "${args[@]}" --exit-when-empty >/dev/null &
        done
        # The end is when the last document is stored (a worker with nothing left waits
        # a poll interval for the others before it exits).
        until [[ "$(psql -Atq "$SOHOA_TEST_POSTGRES" -c "SELECT count(*) FROM $schema.batch_jobs WHERE state = 'done'")" == "$documents" ]]; do
            sleep 0.2
        done
        end=$(date +%s.%N)
        wait
        "$sohoa" batch --status "${args[@]}"
        awk -v a="$start" -v b="$end" -v p=$((documents * 2)) -v w="$workers" \
            'BEGIN { printf "%d worker(s): %d pages in %.1f s = %.1f pages/min\n", w, p, b - a, p / (b - a) * 60 }' \
            | tee -a "$work/batch.txt"
    done
    say "the cost of a SIGKILL (lease 10 s)"
    schema="bench_$$_kill"
    psql -q "$SOHOA_TEST_POSTGRES" -c "CREATE SCHEMA $schema"
    local args=(--store "$work/store-kill" --index "$SOHOA_TEST_POSTGRES?options=-csearch_path%3D$schema"
        --blobs "$SOHOA_TEST_S3-bench/$schema" --s3-endpoint "$SOHOA_TEST_S3_ENDPOINT")
    pages "$work/one" 1
    "$sohoa" batch "$work/one" "${args[@]}" --enqueue --procedure 1.001193 --kind giay-to
    OMP_THREAD_LIMIT=1 "$sohoa" worker "${args[@]}" --lease 10 &
    victim=$!
    until "$sohoa" batch --status "${args[@]}" | grep -q 'running 1'; do sleep 0.05; done
    kill -9 "$victim"; killed=$(date +%s.%N)
    OMP_THREAD_LIMIT=1 "$sohoa" worker "${args[@]}" --lease 10 --exit-when-empty
    done_at=$(date +%s.%N)
    awk -v a="$killed" -v b="$done_at" 'BEGIN { printf "killed worker: its document stored %.1f s after the kill\n", b - a }'
    cat "$work/batch.txt"
}

case "$mode" in
    lookups) lookups ;;
    batch) batch ;;
    *) sed -n '2,22p' "$0"; exit 2 ;;
esac
