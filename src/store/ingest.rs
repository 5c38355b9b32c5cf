//! What the store needs to know about a PDF before storing it: its pages, its text and,
//! for an electronic certified copy, its signature and verification reference.
//!
//! Text comes from every page's content and from the appearances of its signature
//! widgets (the certification stamp), decoded through each font's encoding or ToUnicode
//! map. The reference is the `SOHOA1:…` token printed on the stamp.

use std::collections::BTreeMap;

use lopdf::content::Content;
use lopdf::{Dictionary, Document, Encoding, Object};

use super::StoreError;

/// Decompressed content read from one stream at most.
const MAX_CONTENT: usize = 64 << 20;

/// Facts about a PDF to store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PdfFacts {
    /// Pages.
    pub page_count: u32,
    /// Text of the pages and of the stamps (empty when none could be read).
    pub text: String,
    /// Whether the PDF carries a signature (then it is a certified copy).
    pub signed: bool,
    /// The verification reference printed on the certification stamp.
    pub reference: Option<String>,
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
    facts.reference = find_reference(&facts.text);
    facts.text_error = (!errors.is_empty()).then(|| errors.join("; "));
    Ok(facts)
}

/// The `SOHOA1:…` token in `text`.
pub fn find_reference(text: &str) -> Option<String> {
    let at = text.find("SOHOA1:")?;
    let token: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || ":._/-".contains(*c))
        .collect();
    (token.len() > "SOHOA1:".len()).then_some(token)
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
    fn finds_the_reference_token() {
        assert_eq!(
            find_reference("Mã xác minh: SOHOA1:2026-01-42:0123456789abcdef\nKý số").as_deref(),
            Some("SOHOA1:2026-01-42:0123456789abcdef")
        );
        assert_eq!(find_reference("SOHOA1: nothing"), None);
        assert_eq!(find_reference("no token"), None);
    }

    #[test]
    fn refuses_what_is_not_a_pdf() {
        assert!(inspect_pdf(b"hello").is_err());
        assert!(inspect_pdf(b"%PDF-1.7\ngarbage").is_err());
    }
}
