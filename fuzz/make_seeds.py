"""Writes the image, PDF and request seeds of fuzz/corpus/ (called by make_seeds.sh).

Usage: python make_seeds.py CORPUS_DIR [SIGNED_PDF]
"""
import base64
import io
import os
import sys
import zlib

from PIL import Image, ImageDraw

corpus = sys.argv[1]
signed = open(sys.argv[2], "rb").read() if len(sys.argv) > 2 else None

def put(target, name, data):
    assert len(data) < 50_000, (target, name, len(data))
    with open(os.path.join(corpus, target, name), "wb") as f:
        f.write(data)

def page(w=96, h=128, mode="L"):
    """A tiny 'page': white paper, a few dark text lines, a grey border."""
    img = Image.new("RGB", (w, h), (235, 235, 230))
    d = ImageDraw.Draw(img)
    for y in range(14, h - 14, 9):
        d.line([(10, y), (w - 12 - (y * 7) % 23, y)], fill=(30, 30, 30), width=2)
    d.ellipse([w - 34, h - 34, w - 8, h - 8], outline=(200, 20, 20), width=3)
    return img.convert(mode)

def save(img, fmt, **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()

# --- images --------------------------------------------------------------------------
D = "decode_image"
gray_jpeg = save(page(), "JPEG", quality=40, dpi=(300, 300))
put(D, "gray.jpg", gray_jpeg)
put(D, "rgb-progressive.jpg", save(page(mode="RGB"), "JPEG", quality=40, progressive=True))
exif = Image.Exif()
exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
put(D, "exif-orientation6.jpg", save(page(80, 96, "RGB"), "JPEG", quality=40, exif=exif.tobytes()))
put(D, "cmyk.jpg", save(page(mode="CMYK"), "JPEG", quality=40))
put(D, "truncated.jpg", gray_jpeg[: len(gray_jpeg) * 2 // 3])
put(D, "gray.png", save(page(), "PNG", dpi=(200, 200)))
put(D, "rgb.png", save(page(mode="RGB"), "PNG"))
put(D, "bilevel.png", save(page(mode="1"), "PNG"))
put(D, "rgba.png", save(page(mode="RGBA"), "PNG"))
put(D, "palette.png", save(page(mode="P"), "PNG"))
put(D, "gray16.png", save(page().convert("I").point(lambda v: v * 256).convert("I;16"), "PNG"))
put(D, "gray-lzw.tif", save(page(), "TIFF", compression="tiff_lzw", dpi=(300, 300)))
put(D, "rgb-packbits.tif", save(page(64, 64, "RGB"), "TIFF", compression="packbits"))
put(D, "bilevel-g4.tif", save(page(mode="1"), "TIFF", compression="group4"))
put(D, "cmyk.tif", save(page(mode="CMYK"), "TIFF", compression="tiff_deflate"))
put(D, "rgba.tif", save(page(64, 72, "RGBA"), "TIFF", compression="tiff_deflate"))
first, second = page(), page(64, 72, "RGB")
put(D, "multipage.tif", save(first, "TIFF", save_all=True, append_images=[second], compression="tiff_lzw"))
put(D, "small-30px.png", save(page(30, 40), "PNG"))  # under the minimum side

# --- PDFs ----------------------------------------------------------------------------
def pdf(objects):
    """A PDF from object bodies (object 1 is the catalog), with a correct xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)

def stream(dict_body, data):
    return b"<< " + dict_body + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"

text = b"BT /F1 12 Tf 20 100 Td (Giay khai sinh 001234567890) Tj ET"
tiny = pdf([
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 150] /Contents 4 0 R"
    b" /Resources << /Font << /F1 5 0 R >> >> >>",
    stream(b"", text),
    b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
])
flate_text = pdf([
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R 6 0 R] /Count 2 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 150] /Contents 4 0 R"
    b" /Resources << /Font << /F1 5 0 R >> >> >>",
    stream(b"/Filter /FlateDecode", zlib.compress(text)),
    b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 150] /Contents 4 0 R"
    b" /Resources << /Font << /F1 5 0 R >> >> /Rotate 90 >>",
])

def scanned(img_obj):
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 96] /Contents 4 0 R"
        b" /Resources << /XObject << /Im0 5 0 R >> >> >>",
        stream(b"", b"q 72 0 0 96 0 0 cm /Im0 Do Q"),
        img_obj,
    ])

scan_jpeg = scanned(stream(
    b"/Type /XObject /Subtype /Image /Width 96 /Height 128 /ColorSpace /DeviceGray"
    b" /BitsPerComponent 8 /Filter /DCTDecode", gray_jpeg))
raw = page(72, 80, "RGB").tobytes()
scan_flate = scanned(stream(
    b"/Type /XObject /Subtype /Image /Width 72 /Height 80 /ColorSpace /DeviceRGB"
    b" /BitsPerComponent 8 /Filter /FlateDecode", zlib.compress(raw)))

for t in ("verify_pdf", "inspect_pdf", "http_verify"):
    put(t, "tiny.pdf", tiny)
    put(t, "flate-text.pdf", flate_text)
    if signed:
        put(t, "signed.pdf", signed)
        put(t, "signed-appended.pdf", signed + b"\n% appended after signing\n")
put("inspect_pdf", "scanned-jpeg.pdf", scan_jpeg)
put(D, "scanned-jpeg.pdf", scan_jpeg)
put(D, "scanned-flate.pdf", scan_flate)

# --- HTTP requests ---------------------------------------------------------------------
Q = "http_query"
queries = {
    "citizen.txt": "citizen_id=001234567890&kind=giay-khai-sinh&purpose=tra-cuu",
    "dossier.txt": "dossier_code=HS-2024-000123&purpose=tra%20c%E1%BB%A9u",
    "sha256.txt": "sha256=" + "ab" * 32 + "&purpose=fuzz",
    "reference.txt": "reference=SOHOA1:ubnd-fuzz:01:2024:000001:ABCDEFGH&purpose=fuzz",
    "search.txt": "q=giay+khai+sinh&from=2024-01-01&to=2024-12-31&limit=10&agency=ubnd-fuzz&purpose=fuzz",
    "search-all.txt": "q=Nguy%E1%BB%85n&citizen_id=001234567890&kind=k&procedure=1.001&dossier_code=HS-1"
                      "&agency=a&from=2024-02-30&to=x&limit=4294967296&purpose=p",
    "repeated.txt": "citizen_id=1&citizen_id=2&purpose=&purpose=%ZZ&unknown=1",
}
for name, q in queries.items():
    put(Q, name, q.encode())

I = "http_ingest"
meta = ("dossier_code=HS-2024-000123&procedure_code=1.001&citizen_id=001234567890"
        "&kind=giay-khai-sinh&title=Gi%E1%BA%A5y+khai+sinh&role=component&valid_until=2030-01-01"
        "&file_name=giay-khai-sinh.pdf&purpose=fuzz")
put(I, "pdf-query.bin", meta.encode() + b"\n" + tiny)
put(I, "pdf-result-supersedes.bin",
    (meta.replace("role=component", "role=result") + "&supersedes=abcdefghijklmnopqrstuvwxyz").encode()
    + b"\n" + flate_text)
if signed:
    put(I, "pdf-signed.bin", meta.encode() + b"&reference=SOHOA1:x\n" + signed)
meta_json = ('{"dossier_code":"HS-2024-000124","procedure_code":"1.001","citizen_id":"001234567890",'
             '"kind":"giay-khai-sinh","title":"Giấy khai sinh","role":"result","valid_until":"2030-12-31"}')
put(I, "json.json", ('{"metadata":%s,"pdf_base64":"%s"}' % (meta_json, base64.b64encode(tiny).decode())).encode())
put(I, "json-bad-base64.json", ('{"metadata":%s,"pdf_base64":"JVBERi0x%%%%"}' % meta_json).encode())

L = "http_login"
logins = {
    "ok.txt": "username=fuzz.clerk&password=fuzz-mat-khau-01&csrf=fuzz-login-token",
    "wrong-password.txt": "username=Fuzz.Clerk+&password=sai&csrf=fuzz-login-token",
    "unknown-user.txt": "username=%C3%A0%00&password=x&csrf=fuzz-login-token&extra=1",
    "no-csrf.txt": "username=fuzz.clerk&password=fuzz-mat-khau-01",
    "duplicate.txt": "username=a&username=b&password=c&csrf=bad",
}
for name, form in logins.items():
    put(L, name, form.encode())

def multipart(parts, boundary=b"FUZZBOUNDARY"):
    out = bytearray()
    for headers, body in parts:
        out += b"--" + boundary + b"\r\n" + headers + b"\r\n\r\n" + body + b"\r\n"
    return bytes(out + b"--" + boundary + b"--\r\n")

csrf = (b'Content-Disposition: form-data; name="csrf"', b"@CSRF@")

def file_part(name, ctype, data):
    return (b'Content-Disposition: form-data; name="pages"; filename="' + name + b'"\r\n'
            b"Content-Type: " + ctype, data)

C = "http_capture"
small_png = save(page(64, 80), "PNG")
small_jpeg = save(page(64, 80, "RGB"), "JPEG", quality=30)
put(C, "png.bin", multipart([csrf, file_part(b"trang1.png", b"image/png", small_png)]))
put(C, "jpeg-and-png.bin", multipart([
    csrf,
    file_part(b"a.jpg", b"image/jpeg", small_jpeg),
    file_part("ảnh 2.png".encode(), b"image/png", small_png),
]))
put(C, "tiff-multipage.bin", multipart([csrf, file_part(b"m.tif", b"image/tiff", save(
    page(64, 80), "TIFF", save_all=True, append_images=[page(64, 64)], compression="packbits"))]))
put(C, "scanned-pdf.bin", multipart([csrf, file_part(b"scan.pdf", b"application/pdf", scan_jpeg)]))
put(C, "csrf-only.bin", multipart([csrf, (b'Content-Disposition: form-data; name="other"', b"x")]))
put(C, "not-an-image.bin", multipart([csrf, file_part(b"x.txt", b"text/plain", b"hello")]))
put(C, "bad-csrf.bin", multipart([(b'Content-Disposition: form-data; name="csrf"', b"nope"),
                                  file_part(b"p.png", b"image/png", small_png)]))
