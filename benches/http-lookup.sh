#!/usr/bin/env bash
# Lookup benchmark of `sohoa serve` over loopback HTTP (issue 5, "Benchmark").
#
#   benches/http-lookup.sh [--docs N] [--store DIR] [--port P] [--duration 30s]
#                          [--connections 50] [--wrk-threads 2] [--oha RATE[,RATE...]]
#                          [--reuse]
#
# 1. installs wrk, curl and GNU time (Debian) when missing; builds `sohoa` and the
#    `bulk_store` example;
# 2. generates a store of N synthetic documents (default 1,000,000; examples/bulk_store.rs)
#    in DIR (default /tmp/sohoa-bench-N) unless DIR already holds one, and times it;
# 3. creates a `read:*` key, starts `sohoa serve` on 127.0.0.1:P (stopped on exit);
# 4. runs `wrk -t2 -c50 -d30s --latency` with authentication (Bearer key) and a purpose
#    (X-Purpose: benchmark), so every request writes a hash-chained audit entry:
#    GET /api/v1/documents?citizen_id=ID cycling through ~20,000 citizen IDs, then
#    GET /api/v1/documents/{id} cycling through ~20,000 document ids, spread over the store;
# 5. prints requests/s and p50/p90/p99 per endpoint, the CPU time used, the audit log's
#    size, and times `sohoa audit verify`.
# With --oha RATES, also fixed-rate runs (oha -q RATE, latency corrected for coordinated
# omission) on the citizen lookup, one per rate; oha is installed with
# `cargo install oha --locked` when missing (about 10 minutes of compiling on 2 cores).
# With --reuse (issue 16), the reuse finder instead: GET /api/v1/reuse?citizen_id=&procedure=
# through ~20,000 (person, procedure) pairs with wrk, and with --oha at each rate; then
# `sohoa report indicators` for the year 2026 of the store (all its dossiers), timed.
#
# wrk runs on the same 2 cores as the server: the load generator takes part of the CPU
# the server would otherwise have; each run reports the CPU seconds of the server, of the
# load generator and of everything else. The store is kept for reruns: delete DIR yourself.
set -euo pipefail

docs=1000000
store=""
port=18080
duration=30s
connections=50
wrk_threads=2
oha_rates=""
reuse=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --docs) docs="$2"; shift 2 ;;
        --store) store="$2"; shift 2 ;;
        --port) port="$2"; shift 2 ;;
        --duration) duration="$2"; shift 2 ;;
        --connections) connections="$2"; shift 2 ;;
        --wrk-threads) wrk_threads="$2"; shift 2 ;;
        --oha) oha_rates="$2"; shift 2 ;;
        --reuse) reuse=1; shift ;;
        -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
        *) echo "http-lookup.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
store="${store:-/tmp/sohoa-bench-$docs}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
sohoa="$root/target/release/sohoa"
work="$(mktemp -d /tmp/sohoa-http-bench.XXXXXX)"
server_pid=""

cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n== %s\n' "$*"; }

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v curl >/dev/null || missing+=(curl)
[[ -x /usr/bin/time ]] || missing+=(time)
if [[ ${#missing[@]} -gt 0 ]]; then
    say "installing ${missing[*]} (apt)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

say "building (release)"
cargo build --release --quiet --bin sohoa --example bulk_store

say "machine"
echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -g | awk '/Mem:/ {print $2}') GiB RAM"
echo "sohoa $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(wrk -v 2>&1 | head -1 || true)"

if [[ -f "$store/bench-sample/generation.txt" ]]; then
    say "using the existing store $store"
    cat "$store/bench-sample/generation.txt"
else
    if [[ -e "$store" ]]; then
        echo "http-lookup.sh: $store exists but holds no finished benchmark import; delete it" >&2
        exit 1
    fi
    say "generating $docs documents in $store"
    echo "+ cargo run --release --example bulk_store -- $store $docs"
    time "$root/target/release/examples/bulk_store" "$store" "$docs"
fi
say "store size"
du -sh "$store/blobs"; du -sh "$store"
ls -l "$store"/index.sqlite*

sample="$store/bench-sample"
key_json="$("$sohoa" key create --store "$store" --agency BENCH-UBND --scope 'read:*' 2>/dev/null)"
key="$(printf '%s' "$key_json" | sed -n 's/.*"key": *"\([^"]*\)".*/\1/p')"
[[ -n "$key" ]] || { echo "http-lookup.sh: no key in: $key_json" >&2; exit 1; }

audit_count() { "$sohoa" audit verify --store "$store" | sed -n 's/.*(\([0-9]*\) checked).*/\1/p' | tail -1; }
audit_before="$(audit_count)"

say "starting sohoa serve"
echo "+ sohoa serve --store $store --listen 127.0.0.1:$port"
"$sohoa" serve --store "$store" --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 600); do
    grep -q "listening on" "$work/serve.log" && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
    sleep 0.1
done
grep "listening on" "$work/serve.log" || { echo "http-lookup.sh: server did not start" >&2; exit 1; }
base="http://127.0.0.1:$port"

# One request of each kind first: they must find documents (an empty answer or an error
# would make the figures meaningless).
check() { # PATH [FIELD that the answer must hold]
    local status
    status="$(curl -s -o "$work/check.json" -w '%{http_code}' \
        -H "Authorization: Bearer $key" -H 'X-Purpose: benchmark' "$base$1")"
    if [[ "$status" != 200 ]] || ! grep -q "\"${2:-sha256}\"" "$work/check.json"; then
        echo "http-lookup.sh: GET $1 -> $status: $(head -c 300 "$work/check.json")" >&2
        exit 1
    fi
    echo "GET $1 -> $status, $(grep -o '"id":' "$work/check.json" | wc -l) document(s), $(wc -c <"$work/check.json") bytes"
}
check "/api/v1/documents?citizen_id=$(head -1 "$sample/citizen_ids.txt")"
check "/api/v1/documents/$(head -1 "$sample/document_ids.txt")"

cat >"$work/lookup.lua" <<'LUA'
-- Cycles through the lines of BENCH_SAMPLE: BENCH_PREFIX .. line .. BENCH_SUFFIX, with the
-- bearer key and a purpose; each thread starts at its own offset.
local sample, prefix = os.getenv("BENCH_SAMPLE"), os.getenv("BENCH_PREFIX")
local suffix, key = os.getenv("BENCH_SUFFIX") or "", os.getenv("BENCH_KEY")
local started = 0
function setup(thread)
    thread:set("tid", started)
    started = started + 1
end
function init(args)
    items = {}
    for line in io.lines(sample) do
        if #line > 0 then items[#items + 1] = line end
    end
    i = (tid or 0) * 7919
    wrk.headers["Authorization"] = "Bearer " .. key
    wrk.headers["X-Purpose"] = "benchmark"
end
function request()
    i = i % #items + 1
    return wrk.format("GET", prefix .. items[i] .. suffix)
end
function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "RESULT requests=%d seconds=%.1f rps=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f p99.9_ms=%.2f max_ms=%.2f non2xx=%d socket_errors=%d\n",
        summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
        latency:percentile(50) / 1000, latency:percentile(90) / 1000,
        latency:percentile(99) / 1000, latency:percentile(99.9) / 1000, latency.max / 1000,
        e.status, e.connect + e.read + e.write + e.timeout))
end
LUA

# CPU accounting of a run: the server's CPU time (/proc/PID/stat), the load generator's
# (GNU time) and everything else on the machine (/proc/stat busy time minus both): another
# job on the 2 cores shows up as "other" and makes that run's figures worse.
hz="$(getconf CLK_TCK)"
server_cpu() { awk -v hz="$hz" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$server_pid/stat"; }
busy_cpu() { awk -v hz="$hz" '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / hz }' /proc/stat; }
cpu_before() { s0="$(server_cpu)"; b0="$(busy_cpu)"; }
cpu_after() { # LOADGEN_TIME_FILE: prints server_cpu_s=.. loadgen_cpu_s=.. other_cpu_s=..
    local s1 b1 g
    s1="$(server_cpu)"; b1="$(busy_cpu)"
    g="$(awk '{ printf "%.2f", $1 + $2 }' "$1")"
    awk -v s0="$s0" -v s1="$s1" -v b0="$b0" -v b1="$b1" -v g="$g" 'BEGIN {
        o = (b1 - b0) - (s1 - s0) - g; if (o < 0) o = 0
        printf "server_cpu_s=%.1f loadgen_cpu_s=%.1f other_cpu_s=%.1f", s1 - s0, g, o }'
}

results=()
run_wrk() { # NAME SAMPLE PREFIX [SUFFIX] [DURATION]
    local name="$1" file="$2" prefix="$3" suffix="${4:-}" dur="${5:-$duration}" cpu line
    say "$name ($(wc -l <"$file") distinct values, $dur)"
    echo "+ wrk -t$wrk_threads -c$connections -d$dur --latency -s lookup.lua $base   # $prefix{value}$suffix"
    cpu_before
    BENCH_SAMPLE="$file" BENCH_PREFIX="$prefix" BENCH_SUFFIX="$suffix" BENCH_KEY="$key" \
        /usr/bin/time -f '%U %S' -o "$work/loadgen.time" \
        wrk "-t$wrk_threads" "-c$connections" "-d$dur" --latency -s "$work/lookup.lua" "$base" \
        | tee "$work/wrk.out"
    cpu="$(cpu_after "$work/loadgen.time")"
    echo "CPU seconds: $cpu"
    line="$(grep '^RESULT' "$work/wrk.out")"
    results+=("$name: ${line#RESULT } $cpu")
}

if [[ -n "$reuse" ]]; then
    [[ -s "$sample/reuse_paths.txt" ]] || { echo "http-lookup.sh: $sample/reuse_paths.txt missing: regenerate the store" >&2; exit 1; }
    check "$(head -1 "$sample/reuse_paths.txt")" status
    run_wrk "warm-up: reuse finder" "$sample/reuse_paths.txt" "" "" 5s
    run_wrk "GET /api/v1/reuse?citizen_id=ID&procedure=CODE" "$sample/reuse_paths.txt" ""
    oha_paths="$sample/reuse_paths.txt"; oha_name="reuse finder"
else
    run_wrk "warm-up: by personal ID" "$sample/citizen_ids.txt" "/api/v1/documents?citizen_id=" "" 5s
    run_wrk "GET /api/v1/documents?citizen_id=ID" "$sample/citizen_ids.txt" "/api/v1/documents?citizen_id="
    run_wrk "GET /api/v1/documents/{id}" "$sample/document_ids.txt" "/api/v1/documents/"
    sed 's|^|/api/v1/documents?citizen_id=|' "$sample/citizen_ids.txt" >"$work/citizen_paths.txt"
    oha_paths="$work/citizen_paths.txt"; oha_name="by personal ID"
fi

if [[ -n "$oha_rates" ]]; then
    export PATH="$root/.cache/tools/bin:$PATH"
    if ! command -v oha >/dev/null; then
        say "installing oha (cargo install oha --locked --root .cache/tools)"
        time cargo install oha --locked --root "$root/.cache/tools"
    fi
    sed "s|^|$base|" "$oha_paths" >"$work/urls.txt"
    for rate in ${oha_rates//,/ }; do
        say "fixed rate: $rate req/s, $oha_name (oha, latency corrected)"
        echo "+ oha -z $duration -c $connections -q $rate --latency-correction --no-tui -H 'Authorization: Bearer KEY' -H 'X-Purpose: benchmark' --urls-from-file urls.txt"
        cpu_before
        /usr/bin/time -f '%U %S' -o "$work/loadgen.time" \
            oha -z "$duration" -c "$connections" -q "$rate" --latency-correction --no-tui \
            -H "Authorization: Bearer $key" -H 'X-Purpose: benchmark' \
            --urls-from-file "$work/urls.txt" | tee "$work/oha.out"
        cpu="$(cpu_after "$work/loadgen.time")"
        echo "CPU seconds: $cpu"
        results+=("oha -q $rate, $oha_name: $(grep -E 'Success rate|Requests/sec|^ *(50|90|99|99\.90)\.00% in|^ *99\.90% in' "$work/oha.out" | tr -s ' \t' ' ' | paste -sd' ') $cpu")
    done
fi

kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=""

if [[ -n "$reuse" ]]; then
    for by in "" month procedure; do
        say "sohoa report indicators --from 2026-01-01 --to 2026-12-31 ${by:+--by $by}"
        start=$(date +%s.%N)
        "$sohoa" report indicators --store "$store" --from 2026-01-01 --to 2026-12-31 ${by:+--by "$by"} | head -8
        end=$(date +%s.%N)
        results+=("report indicators ${by:-(whole year)}: $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }') s")
    done
fi

say "audit log"
audit_after="$(audit_count)"
echo "entries: $audit_before before, $audit_after after (+$((audit_after - audit_before)))"
if command -v sqlite3 >/dev/null; then
    sqlite3 "$store/index.sqlite" \
        "SELECT 'audit table: ' || printf('%.1f', SUM(pgsize) / 1048576.0) || ' MiB in ' || COUNT(*) || ' pages' FROM dbstat WHERE name = 'audit';" \
        2>/dev/null || true
fi
ls -l "$store"/index.sqlite*
say "sohoa audit verify --store $store"
start=$(date +%s.%N)
"$sohoa" audit verify --store "$store" | tail -1
end=$(date +%s.%N)
echo "audit verify: $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s for $audit_after entries"

say "summary"
printf '%s\n' "${results[@]}"
