#!/usr/bin/env bash
# Peak memory of `sohoa serve --web` under a hostile mix of uploads (issue 12, item 6):
# N concurrent uploads of a 40 MP colour page (the largest accepted), N concurrent
# 144 MP PNGs (refused by size before decoding) and N 150-frame TIFFs (refused by page
# count). Prints the server's peak RSS (VmHWM) and the answers' status codes.
#
#   benches/upload-memory.sh [N]      (default N=4; needs a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-4}
sohoa=./target/release/sohoa
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

python3 - "$work" <<'EOF'
import struct, sys, zlib
def png(path, w, h, color):
    channels = 3 if color else 1
    row = bytes(range(256)) * (w * channels // 256 + 1)
    raw = b"".join(b"\0" + row[: w * channels] for _ in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2 if color else 0, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b""))
def tiff(path, frames):
    # little-endian baseline TIFF: frames of 64x64 white, one strip each
    out = bytearray(b"II*\0\0\0\0\0")
    prev = 4
    for _ in range(frames):
        data_at = len(out); out += b"\xff" * 4096
        ifd_at = len(out)
        entries = [(256, 3, 1, 64), (257, 3, 1, 64), (258, 3, 1, 8), (259, 3, 1, 1),
                   (262, 3, 1, 1), (273, 4, 1, data_at), (277, 3, 1, 1), (278, 3, 1, 64), (279, 4, 1, 4096)]
        out += struct.pack("<H", len(entries))
        for tag, typ, count, value in entries:
            out += struct.pack("<HHII", tag, typ, count, value)
        struct.pack_into("<I", out, prev, ifd_at)
        prev = len(out); out += b"\0\0\0\0"
    open(path, "wb").write(out)
png(sys.argv[1] + "/page40mp.png", 6000, 6660, True)
png(sys.argv[1] + "/huge144mp.png", 12000, 12000, False)
tiff(sys.argv[1] + "/many.tif", 150)
EOF

store=$work/store
$sohoa agency add --store "$store" --code BENCH --name Bench >/dev/null
BENCH_PASSWORD=mat-khau-bench-1 $sohoa user add --store "$store" --username bench --name Bench \
  --role clerk --password-env BENCH_PASSWORD >/dev/null
$sohoa serve --store "$store" --listen 127.0.0.1:0 --web > "$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/serve.log" && break; sleep 0.1; done
addr=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$work/serve.log")
jar=$work/jar
csrf=$(curl -sS -c "$jar" "$addr/login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p')
curl -sS -b "$jar" -c "$jar" -o /dev/null --data-urlencode username=bench \
  --data-urlencode password=mat-khau-bench-1 --data-urlencode "csrf=$csrf" "$addr/login"
csrf=$(curl -sS -b "$jar" "$addr/capture" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p')
base_rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")

upload() {
  curl -sS -b "$jar" -o /dev/null -w '%{http_code} ' -F "csrf=$csrf" -F "pages=@$1" "$addr/capture"
}
start=$(date +%s.%N)
for _ in $(seq "$n"); do
  upload "$work/page40mp.png" &
  upload "$work/huge144mp.png" &
  upload "$work/many.tif" &
done
wait $(jobs -p | grep -v "^$pid$") 2>/dev/null || true
echo
end=$(date +%s.%N)
peak=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
printf 'uploads: %d × (40 MP colour PNG, 144 MP PNG, 150-frame TIFF) at once\n' "$n"
printf 'server RSS before: %d MiB; peak (VmHWM): %d MiB; wall %.1f s\n' \
  $((base_rss / 1024)) $((peak / 1024)) "$(awk "BEGIN {print $end - $start}")"
