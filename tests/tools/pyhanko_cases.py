#!/usr/bin/env python3
"""Signed PDFs made with pyHanko's library for the verification corpus (tests/it/others.rs):
modes its command line does not offer.

    pyhanko_cases.py doc-timestamp IN OUT TSA_URL
        a document timestamp (/DocTimeStamp, ETSI.RFC3161) from the TSA at TSA_URL
    pyhanko_cases.py fill-between IN OUT CERT KEY ROOT
        IN has a text field "Ten": sign (Sig1), fill the field in a further incremental
        update, sign again (Sig2) — two approval signatures with form filling between
    pyhanko_cases.py sign-encrypted IN OUT CERT KEY ROOT
        IN is encrypted with an empty user password: authenticate and sign it (PAdES)
"""
import sys

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers, timestamps
from pyhanko.sign.fields import SigSeedSubFilter


def signer(cert, key, root):
    return signers.SimpleSigner.load(key, cert, ca_chain_files=(root,), key_passphrase=None)


def sign(writer, out, field, simple):
    meta = signers.PdfSignatureMetadata(field_name=field, subfilter=SigSeedSubFilter.PADES)
    signers.sign_pdf(writer, meta, signer=simple, output=out)


def doc_timestamp(src, dst, url):
    with open(src, "rb") as f, open(dst, "wb") as out:
        writer = IncrementalPdfFileWriter(f)
        stamper = signers.PdfTimeStamper(timestamps.HTTPTimeStamper(url))
        stamper.timestamp_pdf(writer, "sha256", output=out)


def fill_between(src, dst, cert, key, root):
    simple = signer(cert, key, root)
    first = dst + ".1"
    with open(src, "rb") as f, open(first, "wb") as out:
        sign(IncrementalPdfFileWriter(f), out, "Sig1", simple)
    filled = dst + ".2"
    with open(first, "rb") as f, open(filled, "wb") as out:
        writer = IncrementalPdfFileWriter(f)
        fields = writer.root["/AcroForm"]["/Fields"]
        for ref in fields:
            field = ref.get_object()
            if field.get("/T") == "Ten":
                field["/V"] = generic.TextStringObject("Nguyen Van An")
                writer.update_container(field)
        writer.write(out)
    with open(filled, "rb") as f, open(dst, "wb") as out:
        sign(IncrementalPdfFileWriter(f), out, "Sig2", simple)


def sign_encrypted(src, dst, cert, key, root):
    with open(src, "rb") as f, open(dst, "wb") as out:
        writer = IncrementalPdfFileWriter(f)
        writer.encrypt("")
        sign(writer, out, "Sig1", signer(cert, key, root))


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    {"doc-timestamp": doc_timestamp, "fill-between": fill_between,
     "sign-encrypted": sign_encrypted}[mode](*args)


if __name__ == "__main__":
    main()
