//! PAdES signature as an incremental update: the original file is kept byte for byte and
//! followed by the new objects (stamp appearance, signature widget, signature dictionary,
//! updated page and catalog), a cross-reference section and a trailer.
//!
//! The incremental section is written by hand (with lopdf serialising ordinary objects)
//! because the signature dictionary needs a fixed-size `/Contents` placeholder and a
//! `/ByteRange` patched in place once the offsets are known.

use std::fmt::Write as _;

use lopdf::{dictionary, Dictionary, Document, Object, ObjectId};
use time::OffsetDateTime;

use super::placement::{self, PlacementError, Spot};
use super::stamp::{STAMP_HEIGHT, STAMP_WIDTH};

/// Bytes reserved for the CMS signature (hex-encoded twice as long in the file). Room for
/// a chain of several 4096-bit certificates and, later, a timestamp token.
pub const SIGNATURE_CAPACITY: usize = 16384;
/// Width of each patched `/ByteRange` number.
const RANGE_DIGITS: usize = 10;

/// Why a PDF could not be prepared for signing or completed.
#[derive(Debug, thiserror::Error)]
pub enum PadesError {
    /// The input is not a readable PDF.
    #[error("not a readable PDF: {0}")]
    Unreadable(String),
    /// The input is encrypted; PDF/A forbids encryption and sohoa does not decrypt.
    #[error("the PDF is encrypted; certified copies must not be")]
    Encrypted,
    /// The input has no page to stamp, or the requested page does not exist.
    #[error("the PDF has no page {0}")]
    NoSuchPage(usize),
    /// A structural element is missing or malformed.
    #[error("malformed PDF: {0}")]
    Malformed(String),
    /// The stamp cannot go where it was asked to.
    #[error(transparent)]
    Placement(#[from] PlacementError),
    /// The CMS signature does not fit the reserved space.
    #[error("the signature ({0} bytes) exceeds the reserved {SIGNATURE_CAPACITY} bytes")]
    SignatureTooLarge(usize),
}

pub use super::placement::{Corner, Placement, StampPlace};

/// Text fields of the signature dictionary.
#[derive(Debug, Clone)]
pub struct SignatureInfo {
    /// Signing time, written as `/M`.
    pub time: OffsetDateTime,
    /// Signer's name (`/Name`).
    pub name: String,
    /// Reason (`/Reason`).
    pub reason: String,
    /// Location, the agency (`/Location`).
    pub location: String,
    /// Field name (`/T`), unique in the document.
    pub field_name: String,
    /// Make a certification signature with this DocMDP permission (1 no changes, 2 form
    /// filling and signing, 3 also annotations) — only on a document not yet signed; a
    /// document already signed gets an approval signature.
    pub docmdp: Option<u8>,
}

/// A PDF with an empty signature: `byte_range` marks everything but the placeholder.
#[derive(Debug, Clone)]
pub struct Unsigned {
    /// The whole file with the placeholder.
    pub bytes: Vec<u8>,
    /// `[0, a, b, c]`: bytes `0..a` and `b..b+c` are signed.
    pub byte_range: [usize; 4],
    /// Where the stamp went.
    pub stamp: StampPlace,
}

impl Unsigned {
    /// The two signed parts of the file.
    pub fn signed_parts(&self) -> [&[u8]; 2] {
        let [_, a, b, c] = self.byte_range;
        [&self.bytes[..a], &self.bytes[b..b + c]]
    }

    /// Puts the DER CMS signature into the placeholder and returns the signed file.
    pub fn embed(mut self, cms: &[u8]) -> Result<Vec<u8>, PadesError> {
        if cms.len() > SIGNATURE_CAPACITY {
            return Err(PadesError::SignatureTooLarge(cms.len()));
        }
        let start = self.byte_range[1] + 1; // after '<'
        let hex = hex::encode_upper(cms);
        self.bytes[start..start + hex.len()].copy_from_slice(hex.as_bytes());
        Ok(self.bytes)
    }
}

/// The original document's facts the update needs.
struct Original {
    doc: Document,
    startxref: usize,
    root: ObjectId,
}

fn load(input: &[u8]) -> Result<Original, PadesError> {
    let doc = Document::load_mem(input).map_err(|e| PadesError::Unreadable(e.to_string()))?;
    if doc.is_encrypted() || doc.trailer.has(b"Encrypt") {
        return Err(PadesError::Encrypted);
    }
    let root = doc
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(|_| PadesError::Malformed("trailer has no /Root".into()))?;
    Ok(Original {
        startxref: last_startxref(input)?,
        doc,
        root,
    })
}

/// Offset given by the last `startxref` of the file.
fn last_startxref(input: &[u8]) -> Result<usize, PadesError> {
    let tail_start = input.len().saturating_sub(2048);
    let tail = &input[tail_start..];
    let at = tail
        .windows(9)
        .rposition(|w| w == b"startxref")
        .ok_or_else(|| PadesError::Malformed("no startxref".into()))?;
    let rest = String::from_utf8_lossy(&tail[at + 9..]);
    rest.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| PadesError::Malformed("unreadable startxref".into()))
}

/// Validation data for the document security store (PAdES B-LT): certificates and
/// revocation answers (DER), added to what the store already holds.
#[derive(Debug, Clone, Default)]
pub struct Validation {
    /// Certificates (signer, issuers, timestamp authority, OCSP responders).
    pub certs: Vec<Vec<u8>>,
    /// OCSPResponse objects.
    pub ocsps: Vec<Vec<u8>>,
    /// CertificateList (CRL) objects.
    pub crls: Vec<Vec<u8>>,
    /// The signature (its DER, as in `/Contents` without the padding) this evidence is
    /// for: it gets a `/VRI` entry keyed by the SHA-1 of these bytes (ISO 32000-2
    /// §12.8.4.3) naming the certificates and answers above.
    pub signature: Option<Vec<u8>>,
}

impl Validation {
    /// Whether there is nothing to add.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty() && self.ocsps.is_empty() && self.crls.is_empty()
    }
}

/// Appends an incremental update that adds `validation` to the catalog's `/DSS`
/// (ETSI EN 319 142-1 §5.4): what a validator needs years later, when the responders
/// may be gone. Signatures stay intact: a DSS is an allowed later change.
pub fn append_dss(pdf: &[u8], validation: &Validation) -> Result<Vec<u8>, PadesError> {
    let original = load(pdf)?;
    let mut new = Document::with_version("1.7");
    new.max_id = original.doc.max_id;
    let existing = original
        .doc
        .catalog()
        .ok()
        .and_then(|c| resolved(&original.doc, c, b"DSS"))
        .and_then(|d| d.as_dict().ok().cloned())
        .unwrap_or_default();
    let mut dss = existing.clone();
    let mut vri = Dictionary::new();
    for (key, entry_key, items) in [
        ("Certs", "Cert", &validation.certs),
        ("OCSPs", "OCSP", &validation.ocsps),
        ("CRLs", "CRL", &validation.crls),
    ] {
        let mut list = array_at(&original.doc, &existing, key.as_bytes());
        let mut added = Vec::new();
        for item in dedup(items) {
            let stream = lopdf::Stream::new(Dictionary::new(), item.clone());
            added.push(Object::from(new.add_object(stream)));
        }
        list.extend(added.iter().cloned());
        if !list.is_empty() {
            dss.set(key, list);
        }
        if !added.is_empty() {
            vri.set(entry_key, added);
        }
    }
    if let Some(signature) = &validation.signature {
        let mut entries = resolved(&original.doc, &existing, b"VRI")
            .and_then(|v| v.as_dict().ok().cloned())
            .unwrap_or_default();
        vri.set("Type", Object::Name(b"VRI".to_vec()));
        entries.set(vri_key(signature), new.add_object(vri));
        dss.set("VRI", new.add_object(entries));
    }
    let dss_id = new.add_object(dss);
    let mut catalog = dictionary_at(&original.doc, original.root)?;
    catalog.set("DSS", dss_id);
    new.objects
        .insert(original.root, Object::Dictionary(catalog));

    let mut out = pdf.to_vec();
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    let mut offsets = Vec::new();
    for (&id, object) in &new.objects {
        offsets.push((id.0, out.len()));
        write_object(&mut out, id, object)?;
    }
    write_xref_and_trailer(&mut out, &original, &mut offsets, new.max_id);
    Ok(out)
}

/// The `/VRI` key of a signature: its SHA-1, upper-case hex.
fn vri_key(signature: &[u8]) -> Vec<u8> {
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, signature);
    hex::encode_upper(digest.as_ref()).into_bytes()
}

fn dedup(items: &[Vec<u8>]) -> Vec<&Vec<u8>> {
    let mut seen = std::collections::HashSet::new();
    items.iter().filter(|i| seen.insert(i.as_slice())).collect()
}

/// Appends a signature field with the stamp `appearance` (built by `draw` into the new
/// objects' document) and an empty signature, ready for [`Unsigned::embed`].
pub fn prepare(
    input: &[u8],
    placement: &Placement,
    info: &SignatureInfo,
    draw: impl FnOnce(&mut Document) -> Result<ObjectId, PadesError>,
) -> Result<Unsigned, PadesError> {
    let original = load(input)?;
    let spot = placement::choose(&original.doc, placement, (STAMP_WIDTH, STAMP_HEIGHT))?;

    // New objects get ids after the original's highest.
    let mut new = Document::with_version("1.7");
    new.max_id = original.doc.max_id;
    let appearance = draw(&mut new)?;
    let signature_id = new.new_object_id();
    let (page_id, rect, stamp) = match spot {
        Spot::OnPage { page, rect } => {
            let page_id = original.doc.get_pages()[&(page as u32)];
            let stamp = StampPlace {
                page,
                rect,
                added_page: false,
            };
            (page_id, rect, stamp)
        }
        Spot::NewPage {
            after,
            media_box,
            rect,
        } => {
            let page_id = append_page(&original.doc, &mut new, after, media_box)?;
            let stamp = StampPlace {
                page: after + 1,
                rect,
                added_page: true,
            };
            (page_id, rect, stamp)
        }
    };
    let widget = new.add_object(dictionary! {
        "Type" => "Annot",
        "Subtype" => "Widget",
        "FT" => "Sig",
        "T" => text_string(&info.field_name),
        "V" => signature_id,
        "F" => 4,
        "P" => page_id,
        "Rect" => rect.iter().map(|&v| Object::Real(v)).collect::<Vec<_>>(),
        "AP" => dictionary! { "N" => appearance },
    });
    let page = match new.get_dictionary(page_id) {
        Ok(added) => added.clone(),
        Err(_) => dictionary_at(&original.doc, page_id)?,
    };
    new.objects.insert(
        page_id,
        Object::Dictionary(with_annotation(&original.doc, page, widget)),
    );
    let docmdp = info.docmdp.filter(|_| !is_signed(&original.doc));
    let mut catalog = catalog_with_field(&original.doc, original.root, widget)?;
    if docmdp.is_some() {
        catalog.set("Perms", dictionary! { "DocMDP" => signature_id });
    }
    new.objects
        .insert(original.root, Object::Dictionary(catalog));

    let head = signature_head(info, docmdp);
    let (bytes, byte_range) = append_with_placeholder(input, &original, &new, signature_id, &head)?;
    Ok(Unsigned {
        bytes,
        byte_range,
        stamp,
    })
}

/// Appends `new`'s objects and the signature dictionary `signature_id` (its keys before
/// `/ByteRange` in `head`, an empty `/Contents`), a cross-reference section and trailer;
/// the file and its byte range.
fn append_with_placeholder(
    input: &[u8],
    original: &Original,
    new: &Document,
    signature_id: ObjectId,
    head: &str,
) -> Result<(Vec<u8>, [usize; 4]), PadesError> {
    let mut out = input.to_vec();
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    let mut offsets = Vec::new();
    for (&id, object) in &new.objects {
        offsets.push((id.0, out.len()));
        write_object(&mut out, id, object)?;
    }
    offsets.push((signature_id.0, out.len()));
    let (contents_at, range_at) = write_signature_placeholder(&mut out, signature_id, head);
    write_xref_and_trailer(&mut out, original, &mut offsets, new.max_id);

    let contents_end = contents_at + 2 * SIGNATURE_CAPACITY + 2;
    let byte_range = [0, contents_at, contents_end, out.len() - contents_end];
    let patched = format!("0 {} {} {}", byte_range[1], byte_range[2], byte_range[3]);
    let width = 3 * (RANGE_DIGITS + 1) + 1;
    out[range_at..range_at + width].copy_from_slice(format!("{patched:<width$}").as_bytes());
    Ok((out, byte_range))
}

/// Appends an invisible signature field (an approval signature: no DocMDP) with an
/// empty signature, ready for [`Unsigned::embed`].
pub fn prepare_invisible(input: &[u8], info: &SignatureInfo) -> Result<Unsigned, PadesError> {
    let head = signature_head(info, None);
    prepare_invisible_field(input, &info.field_name, &head)
}

/// Appends an invisible document timestamp field (`/Type /DocTimeStamp`, `/SubFilter
/// /ETSI.RFC3161`, PAdES B-LTA) with an empty `/Contents` for the token over the whole
/// file as it then is.
pub fn prepare_document_timestamp(input: &[u8], field_name: &str) -> Result<Unsigned, PadesError> {
    let head = "/Type /DocTimeStamp /Filter /Adobe.PPKLite /SubFilter /ETSI.RFC3161";
    prepare_invisible_field(input, field_name, head)
}

/// An invisible field on page 1 holding the signature dictionary `head`.
fn prepare_invisible_field(
    input: &[u8],
    field_name: &str,
    head: &str,
) -> Result<Unsigned, PadesError> {
    let original = load(input)?;
    let first_page = *original
        .doc
        .get_pages()
        .get(&1)
        .ok_or(PadesError::NoSuchPage(1))?;
    let mut new = Document::with_version("1.7");
    new.max_id = original.doc.max_id;
    let signature_id = new.new_object_id();
    let widget = new.add_object(dictionary! {
        "Type" => "Annot",
        "Subtype" => "Widget",
        "FT" => "Sig",
        "T" => text_string(field_name),
        "V" => signature_id,
        "F" => 132,
        "P" => first_page,
        "Rect" => vec![0.into(), 0.into(), 0.into(), 0.into()],
    });
    let page = dictionary_at(&original.doc, first_page)?;
    new.objects.insert(
        first_page,
        Object::Dictionary(with_annotation(&original.doc, page, widget)),
    );
    let catalog = catalog_with_field(&original.doc, original.root, widget)?;
    new.objects
        .insert(original.root, Object::Dictionary(catalog));
    let (bytes, byte_range) = append_with_placeholder(input, &original, &new, signature_id, head)?;
    Ok(Unsigned {
        bytes,
        byte_range,
        stamp: StampPlace {
            page: 1,
            rect: [0.0; 4],
            added_page: false,
        },
    })
}

fn write_object(out: &mut Vec<u8>, id: ObjectId, object: &Object) -> Result<(), PadesError> {
    out.extend_from_slice(format!("{} {} obj\n", id.0, id.1).as_bytes());
    lopdf::Writer::write_object(out, object).map_err(|e| PadesError::Malformed(e.to_string()))?;
    out.extend_from_slice(b"\nendobj\n");
    Ok(())
}

/// The keys of a signature dictionary before its `/ByteRange`.
fn signature_head(info: &SignatureInfo, docmdp: Option<u8>) -> String {
    let reference = docmdp.map_or(String::new(), |p| {
        format!(
            " /Reference [<< /Type /SigRef /TransformMethod /DocMDP /TransformParams << /Type /TransformParams /P {p} /V /1.2 >> >>]"
        )
    });
    format!(
        "/Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /M {} /Name {} /Reason {} /Location {}{reference}",
        literal(&crate::pdf::pdf_date(info.time)),
        hex_text(&info.name),
        hex_text(&info.reason),
        hex_text(&info.location),
    )
}

/// Writes the signature dictionary (`head`, then the `/ByteRange` and `/Contents`
/// placeholders); returns the offsets of the `<` of `/Contents` and of the first
/// character inside the `/ByteRange` brackets.
fn write_signature_placeholder(out: &mut Vec<u8>, id: ObjectId, head: &str) -> (usize, usize) {
    let mut head = format!("{} 0 obj\n<< {head}\n/ByteRange [", id.0);
    let range_at = out.len() + head.len();
    let _ = write!(
        head,
        "{}] /Contents ",
        " ".repeat(3 * (RANGE_DIGITS + 1) + 1)
    );
    out.extend_from_slice(head.as_bytes());
    let contents_at = out.len();
    out.push(b'<');
    out.extend(std::iter::repeat_n(b'0', 2 * SIGNATURE_CAPACITY));
    out.extend_from_slice(b">\n>>\nendobj\n");
    (contents_at, range_at)
}

fn write_xref_and_trailer(
    out: &mut Vec<u8>,
    original: &Original,
    offsets: &mut [(u32, usize)],
    max_id: u32,
) {
    offsets.sort_unstable();
    let xref_at = out.len();
    let mut xref = String::from("xref\n");
    for run in offsets.chunk_by(|a, b| b.0 == a.0 + 1) {
        let _ = writeln!(xref, "{} {}", run[0].0, run.len());
        for (_, offset) in run {
            let _ = write!(xref, "{offset:010} 00000 n\r\n");
        }
    }
    out.extend_from_slice(xref.as_bytes());
    let mut trailer = dictionary! {
        "Size" => i64::from(max_id) + 1,
        "Root" => original.root,
        "Prev" => original.startxref as i64,
    };
    for key in [b"Info".as_slice(), b"ID"] {
        if let Ok(value) = original.doc.trailer.get(key) {
            trailer.set(key, value.clone());
        }
    }
    out.extend_from_slice(b"trailer\n");
    let _ = lopdf::Writer::write_object(out, &Object::Dictionary(trailer));
    out.extend_from_slice(format!("\nstartxref\n{xref_at}\n%%EOF\n").as_bytes());
}

/// The value under `key`, followed when it is a reference; `None` when absent or broken.
fn resolved<'a>(doc: &'a Document, dict: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    dict.get(key)
        .ok()
        .and_then(|v| doc.dereference(v).ok())
        .map(|(_, v)| v)
}

fn array_at(doc: &Document, dict: &Dictionary, key: &[u8]) -> Vec<Object> {
    resolved(doc, dict, key)
        .and_then(|v| v.as_array().ok().cloned())
        .unwrap_or_default()
}

fn dictionary_at(doc: &Document, id: ObjectId) -> Result<Dictionary, PadesError> {
    doc.get_dictionary(id)
        .cloned()
        .map_err(|e| PadesError::Malformed(e.to_string()))
}

/// `page` with `widget` added to its annotations.
fn with_annotation(doc: &Document, mut page: Dictionary, widget: ObjectId) -> Dictionary {
    let mut annots = array_at(doc, &page, b"Annots");
    annots.push(widget.into());
    page.set("Annots", annots);
    page
}

/// Adds an empty page of `media_box` after page `after` (1-based): the new page and every
/// page-tree node from its parent to the root (kids, counts) go into `new`.
fn append_page(
    doc: &Document,
    new: &mut Document,
    after: usize,
    media_box: [f32; 4],
) -> Result<ObjectId, PadesError> {
    let malformed = |what: &str| PadesError::Malformed(what.to_string());
    let after_id = *doc
        .get_pages()
        .get(&(after as u32))
        .ok_or(PadesError::NoSuchPage(after))?;
    let parent_id = dictionary_at(doc, after_id)?
        .get(b"Parent")
        .and_then(Object::as_reference)
        .map_err(|_| malformed("page without a parent"))?;
    let page_id = new.add_object(dictionary! {
        "Type" => "Page",
        "Parent" => parent_id,
        "MediaBox" => media_box.iter().map(|&v| Object::Real(v)).collect::<Vec<_>>(),
        "Resources" => dictionary! {},
    });
    let mut node = dictionary_at(doc, parent_id)?;
    let mut kids = array_at(doc, &node, b"Kids");
    let at = kids
        .iter()
        .position(|k| k.as_reference().ok() == Some(after_id))
        .map_or(kids.len(), |i| i + 1);
    kids.insert(at, page_id.into());
    node.set("Kids", kids);
    let mut node_id = parent_id;
    for _ in 0..32 {
        let count = node.get(b"Count").and_then(Object::as_i64).unwrap_or(0);
        node.set("Count", count + 1);
        let up = node.get(b"Parent").and_then(Object::as_reference).ok();
        new.objects.insert(node_id, Object::Dictionary(node));
        match up {
            Some(up) => {
                node_id = up;
                node = dictionary_at(doc, up)?;
            }
            None => return Ok(page_id),
        }
    }
    Err(malformed("page tree too deep"))
}

/// Whether any signature field of the document holds a signature.
fn is_signed(doc: &Document) -> bool {
    doc.objects.values().any(|object| {
        object.as_dict().is_ok_and(|d| {
            d.get(b"FT").and_then(Object::as_name).ok() == Some(b"Sig") && d.has(b"V")
        })
    })
}

fn catalog_with_field(
    doc: &Document,
    root: ObjectId,
    widget: ObjectId,
) -> Result<Dictionary, PadesError> {
    let mut catalog = dictionary_at(doc, root)?;
    let mut form = resolved(doc, &catalog, b"AcroForm")
        .and_then(|v| v.as_dict().ok().cloned())
        .unwrap_or_default();
    let mut fields = array_at(doc, &form, b"Fields");
    fields.push(widget.into());
    form.set("Fields", fields);
    form.set("SigFlags", 3);
    form.remove(b"NeedAppearances");
    catalog.set("AcroForm", form);
    Ok(catalog)
}

fn literal(ascii: &str) -> String {
    format!("({ascii})")
}

/// A PDF text string: UTF-16BE with a byte-order mark, hex-encoded.
fn hex_text(text: &str) -> String {
    let mut hex = String::from("<FEFF");
    for unit in text.encode_utf16() {
        let _ = write!(hex, "{unit:04X}");
    }
    hex.push('>');
    hex
}

fn text_string(text: &str) -> Object {
    let mut bytes = vec![0xFE, 0xFF];
    bytes.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    Object::String(bytes, lopdf::StringFormat::Hexadecimal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn startxref_is_found_at_the_end() {
        assert_eq!(
            last_startxref(b"%PDF-1.7\n...\nstartxref\n1234\n%%EOF\n").unwrap(),
            1234
        );
        assert!(last_startxref(b"garbage").is_err());
    }

    #[test]
    fn text_strings_are_utf16_with_bom() {
        assert_eq!(hex_text("Đ"), "<FEFF0110>");
    }
}
