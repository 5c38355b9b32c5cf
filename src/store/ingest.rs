//! What the store needs to know about a PDF before storing it: its pages, its text,
//! whether it is signed, and how to file it ([`file_pdf`]): a signed PDF is verified,
//! and its verification reference comes from the register that issued it, never from
//! text printed inside the PDF.
//!
//! Text comes from every page's content and from the appearances of its signature
//! widgets (the certification stamp), decoded through each font's encoding or ToUnicode
//! map.

use std::collections::BTreeMap;
use std::path::Path;

use lopdf::content::Content;
use lopdf::{Dictionary, Document, Encoding, Object};
use sha2::{Digest, Sha256};

use super::{FileRole, NewFile, StoreError};
use crate::certify::register::Register;
use crate::certify::verify::{verify_pdf, VerifyOptions, VerifyReport};

/// Decompressed content read from one stream at most.
const MAX_CONTENT: usize = 64 << 20;

/// Facts about a PDF to store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PdfFacts {
    /// Pages.
    pub page_count: u32,
    /// Text of the pages and of the stamps (empty when none could be read).
    pub text: String,
    /// Whether the PDF carries a signature (to be verified by [`file_pdf`]).
    pub signed: bool,
    /// Why some text could not be extracted, if so.
    pub text_error: Option<String>,
}

/// Reads the facts of `pdf`; fails only when it is not a readable PDF.
pub fn inspect_pdf(pdf: &[u8]) -> Result<PdfFacts, StoreError> {
    if !pdf.starts_with(b"%PDF-") {
        return Err(StoreError::Invalid("not a PDF (no %PDF- header)".into()));
    }
    let doc = Document::load_mem(pdf)
        .map_err(|e| StoreError::Invalid(format!("not a readable PDF: {e}")))?;
    if doc.is_encrypted() {
        return Err(StoreError::Invalid("the PDF is encrypted".into()));
    }
    let pages = doc.get_pages();
    let mut facts = PdfFacts {
        page_count: pages.len() as u32,
        ..PdfFacts::default()
    };
    let mut errors = Vec::new();
    for (&number, &page_id) in &pages {
        match page_text(&doc, page_id) {
            Ok(text) => facts.text.push_str(&text),
            Err(e) => errors.push(format!("page {number}: {e}")),
        }
        let (stamps, signed) = widget_texts(&doc, page_id);
        facts.signed |= signed;
        facts.text.push_str(&stamps);
    }
    facts.text_error = (!errors.is_empty()).then(|| errors.join("; "));
    Ok(facts)
}

/// What a signed PDF is checked against before it is filed as a certified copy.
#[derive(Debug, Clone, Copy, Default)]
pub struct CopyTrust<'a> {
    /// Trust anchors (DER certificates) for other signers.
    pub anchors: &'a [Vec<u8>],
    /// This office's certification register: a copy whose exact bytes it issued is
    /// certified by this office and carries the register's reference.
    pub register: Option<&'a Path>,
}

/// How a PDF is filed: its role, its verification reference, and for a signed PDF the
/// verification report kept with it (`verification.json`, role `report`).
#[derive(Debug, Clone)]
pub struct Filing {
    /// [`FileRole::Certified`] only for a copy that verifies; else [`FileRole::Pdf`].
    pub role: FileRole,
    /// The reference of the register entry that issued exactly these bytes, if any.
    pub reference: Option<String>,
    /// The verification report of a signed PDF.
    pub verification: Option<NewFile>,
}

/// Files `pdf` (whose `facts` were read by [`inspect_pdf`]). A signed PDF is verified:
/// it is a certified copy only when every signature is intact and either the register
/// issued these exact bytes or every signer chains to a trust anchor. Text printed in
/// the PDF never names a register entry: only the register does. A `claimed` reference
/// (from a request) must be the register's, or the PDF is refused.
pub fn file_pdf(
    pdf: &[u8],
    facts: &PdfFacts,
    trust: &CopyTrust,
    claimed: Option<&str>,
) -> Result<Filing, StoreError> {
    if !facts.signed {
        return match claimed {
            Some(_) => Err(StoreError::Invalid(
                "a verification reference was given for a PDF without a signature".into(),
            )),
            None => Ok(Filing {
                role: FileRole::Pdf,
                reference: None,
                verification: None,
            }),
        };
    }
    let report = verify_pdf(
        pdf,
        &VerifyOptions {
            trust_anchors: trust.anchors.to_vec(),
            at: None,
        },
    );
    let reference = issued_reference(pdf, trust.register)?;
    if let Some(claimed) = claimed {
        if reference.as_deref() != Some(claimed) {
            return Err(StoreError::Invalid(format!(
                "the verification reference {claimed:?} is not the register's entry for this file"
            )));
        }
    }
    let trusted = report.valid
        && (reference.is_some()
            || (!trust.anchors.is_empty() && report.signatures.iter().all(|s| s.chain_trusted)));
    let reference = reference.filter(|_| report.valid);
    Ok(Filing {
        role: if trusted {
            FileRole::Certified
        } else {
            FileRole::Pdf
        },
        reference,
        verification: Some(verification_file(&report)?),
    })
}

/// The reference of the issued register entry whose copy has exactly `pdf`'s bytes.
fn issued_reference(pdf: &[u8], register: Option<&Path>) -> Result<Option<String>, StoreError> {
    let Some(dir) = register else {
        return Ok(None);
    };
    let register_error = |e: crate::certify::register::RegisterError| {
        StoreError::Storage(format!("certification register: {e}"))
    };
    let Some(mut register) = Register::open_existing(dir).map_err(register_error)? else {
        return Ok(None);
    };
    let sha256 = hex::encode(Sha256::digest(pdf));
    Ok(register
        .issued_copy(&sha256)
        .map_err(register_error)?
        .map(|entry| entry.reference))
}

fn verification_file(report: &VerifyReport) -> Result<NewFile, StoreError> {
    let bytes = serde_json::to_vec_pretty(report)
        .map_err(|e| StoreError::Storage(format!("verification report: {e}")))?;
    Ok(NewFile {
        role: FileRole::Report,
        name: "verification.json".into(),
        bytes,
    })
}

/// Names of PDF entries that run or launch something when the file is opened or used:
/// JavaScript, actions on open or on events, launching programs, embedded files,
/// rich media, form submission.
const ACTIVE_KEYS: &[&[u8]] = &[
    b"JS",
    b"JavaScript",
    b"OpenAction",
    b"AA",
    b"Launch",
    b"EmbeddedFiles",
    b"EmbeddedFile",
    b"RichMedia",
    b"SubmitForm",
    b"ImportData",
];

/// Whether `pdf` carries active content (see [`ACTIVE_KEYS`]); an unreadable PDF counts
/// as active, so that it is never shown inline.
pub fn has_active_content(pdf: &[u8]) -> bool {
    let Ok(doc) = Document::load_mem(pdf) else {
        return true;
    };
    let active = |d: &Dictionary| {
        d.iter().any(|(key, value)| {
            ACTIVE_KEYS.contains(&key.as_slice())
                || (key == b"S" && value.as_name().is_ok_and(|n| ACTIVE_KEYS.contains(&n)))
        })
    };
    doc.objects.values().any(|object| match object {
        Object::Dictionary(d) => active(d),
        Object::Stream(s) => active(&s.dict),
        _ => false,
    }) || active(&doc.trailer)
}

fn page_text(doc: &Document, page_id: lopdf::ObjectId) -> Result<String, String> {
    let fonts = doc.get_page_fonts(page_id).map_err(|e| e.to_string())?;
    let content = doc
        .get_page_content_with_limit(page_id, MAX_CONTENT)
        .map_err(|e| e.to_string())?;
    stream_text(doc, &fonts, &content)
}

/// Text of the signature widgets' normal appearances on a page, and whether the page
/// has a signed signature field.
fn widget_texts(doc: &Document, page_id: lopdf::ObjectId) -> (String, bool) {
    let mut text = String::new();
    let mut signed = false;
    let Ok(page) = doc.get_dictionary(page_id) else {
        return (text, signed);
    };
    let annots = match page.get_deref(b"Annots", doc).and_then(Object::as_array) {
        Ok(a) => a.clone(),
        Err(_) => return (text, signed),
    };
    for annot in &annots {
        let Ok((_, Object::Dictionary(annot))) = doc.dereference(annot) else {
            continue;
        };
        if annot.get(b"FT").and_then(Object::as_name).ok() != Some(b"Sig".as_slice()) {
            continue;
        }
        signed |= annot.has(b"V");
        if let Some(t) = appearance_text(doc, annot) {
            text.push_str(&t);
        }
    }
    (text, signed)
}

fn appearance_text(doc: &Document, annot: &Dictionary) -> Option<String> {
    let ap = annot.get_deref(b"AP", doc).and_then(Object::as_dict).ok()?;
    let stream = ap.get_deref(b"N", doc).and_then(Object::as_stream).ok()?;
    let content = stream
        .decompressed_content_with_limit(MAX_CONTENT)
        .ok()
        .unwrap_or_else(|| stream.content.clone());
    let mut fonts = BTreeMap::new();
    let resources = stream
        .dict
        .get_deref(b"Resources", doc)
        .and_then(Object::as_dict);
    if let Ok(font_dict) = resources
        .and_then(|r| r.get_deref(b"Font", doc))
        .and_then(Object::as_dict)
    {
        for (name, font) in font_dict.iter() {
            if let Ok((_, Object::Dictionary(d))) = doc.dereference(font) {
                fonts.insert(name.clone(), d);
            }
        }
    }
    stream_text(doc, &fonts, &content).ok()
}

/// Text shown by a content stream, a space between positioned runs, a newline per text
/// object.
fn stream_text(
    doc: &Document,
    fonts: &BTreeMap<Vec<u8>, &Dictionary>,
    content: &[u8],
) -> Result<String, String> {
    let content = Content::decode(content).map_err(|e| e.to_string())?;
    let mut encodings: BTreeMap<Vec<u8>, Encoding> = BTreeMap::new();
    let mut current: Option<Vec<u8>> = None;
    let mut out = String::new();
    for op in &content.operations {
        match op.operator.as_str() {
            "Tf" => {
                let name = op.operands.first().and_then(|o| o.as_name().ok());
                current = name.map(<[u8]>::to_vec);
                if let (Some(name), None) =
                    (&current, current.as_ref().and_then(|n| encodings.get(n)))
                {
                    if let Some(enc) = fonts
                        .get(name)
                        .and_then(|f| f.get_font_encoding_with_limit(doc, MAX_CONTENT).ok())
                    {
                        encodings.insert(name.clone(), enc);
                    }
                }
            }
            "Tj" | "TJ" | "'" | "\"" => {
                let enc = current.as_ref().and_then(|n| encodings.get(n));
                if let Some(enc) = enc {
                    if op.operator != "Tj" && op.operator != "TJ" {
                        separate(&mut out);
                    }
                    show(&mut out, enc, &op.operands);
                }
            }
            "Td" | "TD" | "Tm" | "T*" => separate(&mut out),
            "ET" if !out.is_empty() && !out.ends_with('\n') => out.push('\n'),
            _ => {}
        }
    }
    Ok(out)
}

fn separate(out: &mut String) {
    if !out.is_empty() && !out.ends_with(char::is_whitespace) {
        out.push(' ');
    }
}

/// Appends the strings of a text-showing operator; a large negative `TJ` kerning is a space.
fn show(out: &mut String, enc: &Encoding, operands: &[Object]) {
    for operand in operands {
        match operand {
            Object::String(bytes, _) => {
                if let Ok(s) = Document::decode_text(enc, bytes) {
                    out.push_str(&s);
                }
            }
            Object::Array(items) => show(out, enc, items),
            Object::Integer(n) if *n < -200 => separate(out),
            Object::Real(n) if *n < -200.0 => separate(out),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_pdf() {
        assert!(inspect_pdf(b"hello").is_err());
        assert!(inspect_pdf(b"%PDF-1.7\ngarbage").is_err());
    }
}
