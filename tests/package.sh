#!/usr/bin/env bash
# Checks the Debian package made by `./dev package` in a throw-away root, without
# installing it on this machine: its metadata and files, the stripped binary running,
# the systemd unit verified by systemd-analyze, the maintainer scripts' syntax, and the
# installed layout serving the web page with the packaged settings file.
set -euo pipefail
cd "$(dirname "$0")/.."
deb=$(ls -t target/debian/sohoa_*_amd64.deb | head -1)
root=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$root"' EXIT
fail() { echo "package check: $*" >&2; exit 1; }

info=$(dpkg-deb --info "$deb")
grep -q "^ Package: sohoa" <<<"$info" || fail "not the sohoa package"
for dep in tesseract-ocr-vie tesseract-ocr-osd libtesseract libheif; do
  grep -q "^ Depends:.*$dep" <<<"$info" || fail "Depends lacks $dep"
done
contents=$(dpkg-deb -c "$deb")
for file in ./usr/bin/sohoa ./lib/systemd/system/sohoa.service ./etc/sohoa/sohoa.toml; do
  grep -q " $file\$" <<<"$contents" || fail "$file is missing"
done
dpkg-deb -x "$deb" "$root/fs"
dpkg-deb -e "$deb" "$root/DEBIAN"
grep -qx /etc/sohoa/sohoa.toml "$root/DEBIAN/conffiles" || fail "sohoa.toml is not a conffile"
for script in postinst prerm postrm; do sh -n "$root/DEBIAN/$script" || fail "$script: syntax"; done

binary="$root/fs/usr/bin/sohoa"
"$binary" --version | grep -q '^sohoa ' || fail "the binary does not run"
size=$(stat -c %s "$binary")
[ "$size" -lt $((80 << 20)) ] || fail "the binary is $size bytes: not stripped?"
if readelf -S "$binary" | grep -q '\.debug_info'; then fail "the binary keeps its debug info"; fi

# The unit, pointed at the extracted binary, as systemd would load it.
mkdir -p "$root/unit"
sed "s#/usr/bin/sohoa#$binary#" "$root/fs/lib/systemd/system/sohoa.service" > "$root/unit/sohoa.service"
systemd-analyze verify "$root/unit/sohoa.service" 2>&1 | grep -v "^$" | grep -v "Failed to resolve user\|Failed to resolve group\|sohoa: User\|group sohoa" | grep . && fail "systemd-analyze verify"

# The packaged settings file and the unit's command, on a throw-away store: the web
# page answers.
store="$root/store"
args=$(sed -n 's#^ExecStart=/usr/bin/sohoa ##p' "$root/fs/lib/systemd/system/sohoa.service")
args=${args//\/var\/lib\/sohoa\/store/$store}
args=${args//127.0.0.1:8080/127.0.0.1:0}
args=${args//127.0.0.1:9464/127.0.0.1:0}
SOHOA_CONFIG="$root/fs/etc/sohoa/sohoa.toml" "$binary" $args > "$root/serve.out" 2> "$root/serve.err" &
server=$!
for _ in $(seq 50); do grep -q "^listening on" "$root/serve.out" 2>/dev/null && break; sleep 0.2; done
url=$(sed -n 's/^listening on //p' "$root/serve.out")
[ -n "$url" ] || fail "serve did not start: $(cat "$root/serve.err")"
code=$(curl -s -o /dev/null -w '%{http_code}' "$url/login")
[ "$code" = 200 ] || fail "the web page answered $code"
echo "package check: $(basename "$deb") ($((size >> 20)) MiB binary) is sound"
