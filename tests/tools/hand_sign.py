#!/usr/bin/env python3
"""Signs a PDF the way other systems do, without sohoa's writer: appends an incremental
update with a signature field whose /Contents placeholder is then filled with a CMS
SignedData made by `openssl cms -sign` over the byte range.

    hand_sign.py IN.pdf OUT.pdf CERT.pem KEY.pem SUBFILTER [noattr|attrs] [sha256|sha1]

`noattr`: no signed attributes (PKCS #7 as Adobe allows); `attrs`: OpenSSL's default
signed attributes (content type, signing time, message digest, no signingCertificateV2).
SUBFILTER `adbe.pkcs7.sha1` (legacy): the SignedData carries the SHA-1 digest of the byte
range as its content instead of being detached.
The input must be a classic-xref PDF whose catalog is object 1 with no /AcroForm and whose
first page is object 3 (as the tests' hand-written PDF)."""
import hashlib
import re
import subprocess
import sys
import tempfile
import time

PLACEHOLDER = 16384  # hex digits reserved for the CMS


def main():
    src, out, cert, key, subfilter = sys.argv[1:6]
    attrs = sys.argv[6] if len(sys.argv) > 6 else "attrs"
    digest = sys.argv[7] if len(sys.argv) > 7 else "sha256"
    pdf = open(src, "rb").read()
    size = int(re.search(rb"/Size (\d+)", pdf).group(1))
    prev = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    catalog = re.search(rb"1 0 obj\s*<<(.*?)>>\s*endobj", pdf, re.S).group(1)
    page = re.search(rb"3 0 obj\s*<<(.*?)>>\s*endobj", pdf, re.S).group(1)
    sig, field = size, size + 1
    byte_range = b"/ByteRange [0 0000000000 0000000000 0000000000]"
    objects = {
        1: b"<<" + catalog + b" /AcroForm << /Fields [%d 0 R] /SigFlags 3 >> >>" % field,
        3: b"<<" + page + b" /Annots [%d 0 R] >>" % field,
        sig: b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /" + subfilter.encode()
        + b" " + byte_range + b" /Contents <" + b"0" * PLACEHOLDER + b"> /M (D:" + time.strftime("%Y%m%d%H%M%S", time.gmtime()).encode() + b"Z) >>",
        field: b"<< /FT /Sig /T (Other) /V %d 0 R /Type /Annot /Subtype /Widget /Rect [0 0 0 0] /F 132 /P 3 0 R >>" % sig,
    }
    update = bytearray(b"\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(pdf) + len(update)
        update += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    xref = len(pdf) + len(update)
    update += b"xref\n0 1\n0000000000 65535 f \n"
    for number in sorted(objects):
        update += b"%d 1\n%010d 00000 n \n" % (number, offsets[number])
    update += b"trailer\n<< /Size %d /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (field + 1, prev, xref)
    whole = bytearray(pdf + update)
    start = whole.index(b"/Contents <") + len(b"/Contents ")
    end = start + PLACEHOLDER + 2
    ranges = b"/ByteRange [0 %010d %010d %010d]" % (start, end, len(whole) - end)
    at = whole.index(byte_range)
    whole[at:at + len(byte_range)] = ranges
    signed = bytes(whole[:start] + whole[end:])
    legacy = subfilter == "adbe.pkcs7.sha1"
    with tempfile.NamedTemporaryFile() as content:
        content.write(hashlib.sha1(signed).digest() if legacy else signed)
        content.flush()
        command = ["openssl", "cms", "-sign", "-binary", "-outform", "DER", "-in", content.name,
                   "-signer", cert, "-inkey", key, "-md", digest]
        if legacy:
            command.append("-nodetach")
        if attrs == "noattr":
            command.append("-noattr")
        der = subprocess.run(command, check=True, capture_output=True).stdout
    hex_der = der.hex().encode()
    assert len(hex_der) <= PLACEHOLDER, "the CMS does not fit the placeholder"
    whole[start + 1:start + 1 + len(hex_der)] = hex_der
    open(out, "wb").write(whole)


if __name__ == "__main__":
    main()
