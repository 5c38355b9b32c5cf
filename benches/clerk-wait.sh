#!/usr/bin/env bash
# The clerk's wait (issue 17): from uploading two phone photos in the web page to a
# certified copy ready to download, over real HTTP against `sohoa serve --web`, timed per
# step with curl (a real browser adds its own rendering on top).
#
#   benches/clerk-wait.sh [RUNS]      (default 5; prints a Markdown table, best and median)
#
# Steps, as a certifier does them: upload (POST /capture: decode, find the page, flatten,
# light, orient, deskew — the preview), store (POST /drafts/ID/store: OCR, PDF/A, store),
# certify (POST /documents/ID/certify: stamp, register number, PAdES signature), download
# (GET of the copy). A TEST-ONLY PKI is made with openssl; the store is embedded.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
sohoa=./target/release/sohoa
cargo build --release --quiet --bin sohoa
work=$(mktemp -d)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

pki=$work/pki
mkdir -p "$pki"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/root.key" -out "$pki/root.pem" -days 30 \
  -subj "/CN=bench root - TEST ONLY" -addext "basicConstraints=critical,CA:true" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$pki/office.key" -out "$pki/office.csr" \
  -subj "/CN=Bench Certifier (TEST ONLY)/O=UBND xa Thu Nghiem" 2>/dev/null
printf 'basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature,nonRepudiation\n' >"$pki/ext.cnf"
openssl x509 -req -in "$pki/office.csr" -CA "$pki/root.pem" -CAkey "$pki/root.key" -CAcreateserial \
  -out "$pki/office.pem" -days 30 -extfile "$pki/ext.cnf" 2>/dev/null

store=$work/store
$sohoa agency add --store "$store" --code UBND-XA-TN --name "UBND xã Thử Nghiệm" >/dev/null
BENCH_PASSWORD=mat-khau-do-thoi-gian $sohoa user add --store "$store" --username an \
  --name "Nguyễn Văn An" --role clerk,certifier --password-env BENCH_PASSWORD >/dev/null
$sohoa serve --store "$store" --listen 127.0.0.1:0 --web --trust "$pki/root.pem" \
  --cert "$pki/office.pem" --key "$pki/office.key" >"$work/serve.out" 2>"$work/serve.err" &
server=$!
for _ in $(seq 100); do grep -q '^listening on ' "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
base=$(sed -n 's/^listening on //p' "$work/serve.out" | head -1)
[ -n "$base" ] || { cat "$work/serve.err" >&2; exit 1; }

jar=$work/cookies
csrf_of() { sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1; }
csrf=$(curl -sf -c "$jar" "$base/login" | csrf_of)
curl -sf -b "$jar" -c "$jar" -o /dev/null --data-urlencode "username=an" \
  --data-urlencode "password=mat-khau-do-thoi-gian" --data-urlencode "csrf=$csrf" "$base/login"
csrf=$(curl -sf -b "$jar" "$base/" | csrf_of)
photo=fixtures/samples/photo4-phone.jpg

# One request: prints "seconds location".
timed() { curl -s -b "$jar" -o /dev/null -w '%{time_total} %{redirect_url}\n' "$@"; }
step_of() { sed 's#^[a-z]*://[^/]*##' <<<"$1"; }

rows=()
for run in $(seq "$runs"); do
  read -r t_upload draft < <(timed -F "csrf=$csrf" -F "pages=@$photo;filename=trang1.jpg" \
    -F "pages=@$photo;filename=trang2.jpg" "$base/capture")
  draft=$(step_of "$draft")
  read -r t_review _ < <(timed "$base$draft")
  read -r t_store document < <(timed --data-urlencode "csrf=$csrf" \
    --data-urlencode "dossier_code=HS-BENCH-$run" --data-urlencode "procedure_code=1.001234" \
    --data-urlencode "citizen_id=012345678901" --data-urlencode "kind=giay-khai-sinh" \
    --data-urlencode "title=Giấy khai sinh" --data-urlencode "role=component" "$base$draft/store")
  document=$(step_of "$document")
  read -r t_certify copy < <(timed --data-urlencode "csrf=$csrf" --data-urlencode "compared=on" \
    "$base$document/certify")
  copy=$(step_of "$copy")
  start=$(date +%s%N)
  link=$(curl -sf -b "$jar" "$base$copy" | sed -n 's/.*id="download" href="\([^"]*\)".*/\1/p' | head -1)
  [ -n "$link" ] || { echo "run $run: no download link on $copy (draft $draft, document $document)" >&2; exit 1; }
  link=${link//&amp;/&}
  curl -sf -b "$jar" -o "$work/copy.pdf" "$base$link"
  t_download=$(awk -v s="$start" -v e="$(date +%s%N)" 'BEGIN { printf "%.3f", (e - s) / 1e9 }')
  pdfsig "$work/copy.pdf" 2>/dev/null | grep -q "Signature is Valid" || { echo "run $run: copy not valid" >&2; exit 1; }
  total=$(awk -v a="$t_upload" -v b="$t_review" -v c="$t_store" -v d="$t_certify" -v e="$t_download" \
    'BEGIN { printf "%.3f", a + b + c + d + e }')
  rows+=("$total $t_upload $t_review $t_store $t_certify $t_download")
done

echo "### The clerk's wait — $(date +%F)"
echo
echo "2 photos (fixtures/samples/photo4-phone.jpg twice), $runs runs, $(nproc) cores; seconds."
echo
echo "| run | total | upload + preview | review page | store (OCR, PDF/A) | certify | copy page + download |"
echo "|---|---:|---:|---:|---:|---:|---:|"
i=0
for row in "${rows[@]}"; do
  i=$((i + 1)); read -r a b c d e f <<<"$row"
  printf '| %s | %.2f | %.2f | %.3f | %.2f | %.3f | %.3f |\n' "$i" "$a" "$b" "$c" "$d" "$e" "$f"
done
printf '%s\n' "${rows[@]}" | sort -n | awk '{ t[NR] = $1 } END { printf "\nbest %.2f s, median %.2f s (target ≤ 2.0 s)\n", t[1], t[int((NR + 1) / 2)] }'
