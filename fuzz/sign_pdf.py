"""Writes a tiny PAdES-style signed PDF (CMS from `openssl cms -sign -cades`), for the
verifier's seeds: sohoa's own certified copies carry a font subset and are over 50 KB.

Usage: python sign_pdf.py CERT.pem KEY.pem CHAIN.pem OUT.pdf
"""
import subprocess
import sys
import tempfile
import time

cert, key, chain, out_path = sys.argv[1:5]
# Signing time: now (the test certificates are valid from the day they were made).
NOW = time.strftime("%Y%m%d%H%M%S", time.gmtime()).encode()
SIG_BYTES = 2500  # room for the DER CMS (ECDSA P-256 with two certificates)

objects = [
    b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [6 0 R] /SigFlags 3 >> >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 150] /Contents 4 0 R"
    b" /Resources << /Font << /F1 5 0 R >> >> /Annots [6 0 R] >>",
    None,  # contents, below
    b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    b"<< /Type /Annot /Subtype /Widget /FT /Sig /T (ChungThuc-fuzz) /V 7 0 R"
    b" /Rect [0 0 0 0] /P 3 0 R /F 132 >>",
    b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached"
    b" /ByteRange [0 ########## ########## ##########] /M (D:" + NOW + b"Z)"
    b" /Contents <" + b"0" * (2 * SIG_BYTES) + b"> >>",
]
text = b"BT /F1 10 Tf 10 100 Td (Ban sao dien tu SOHOA1:2024-01-1:0123456789abcdef) Tj ET"
objects[3] = b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream"

pdf = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
offsets = []
for i, body in enumerate(objects, start=1):
    offsets.append(len(pdf))
    pdf += b"%d 0 obj\n" % i + body + b"\nendobj\n"
xref = len(pdf)
pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
for off in offsets:
    pdf += b"%010d 00000 n \n" % off
pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)

start = pdf.index(b"/Contents <") + len(b"/Contents ")
end = pdf.index(b">", start) + 1
ranges = b"%010d %010d %010d" % (start, end, len(pdf) - end)
placeholder = b"########## ########## ##########"
at = pdf.index(placeholder)
pdf[at:at + len(placeholder)] = ranges
signed_bytes = bytes(pdf[:start] + pdf[end:])
with tempfile.NamedTemporaryFile() as data:
    data.write(signed_bytes)
    data.flush()
    der = subprocess.run(
        ["openssl", "cms", "-sign", "-binary", "-cades", "-nosmimecap", "-md", "sha256",
         "-outform", "DER", "-signer", cert, "-inkey", key, "-certfile", chain, "-in", data.name],
        check=True, capture_output=True).stdout
assert len(der) <= SIG_BYTES, len(der)
hexsig = der.hex().encode().ljust(2 * SIG_BYTES, b"0")
pdf[start + 1:end - 1] = hexsig
with open(out_path, "wb") as f:
    f.write(pdf)
