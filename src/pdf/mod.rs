//! Assemble: PDF/A-2b with one page image per page and an invisible text layer.
//!
//! What makes the file PDF/A-2b: XMP metadata with `pdfaid:part=2`,
//! `pdfaid:conformance=B` that agrees with the Info dictionary; an sRGB OutputIntent with
//! an embedded ICC profile; every font embedded (the glyphless font of the text layer);
//! a trailer `/ID`; no encryption, no JavaScript, no transparency, no LZW or JBIG2.

pub mod font;
mod image;
pub mod import;
pub mod text_layer;

pub use self::image::{encode, EncodedImage, ImageColor, ImageFilter, PageImage, Quality};

use lopdf::{dictionary, Dictionary, Document, Object, ObjectId, Stream, StringFormat};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::ocr::RecognizedPage;
use text_layer::{PixelToPoint, FONT_RESOURCE};

/// sRGB ICC profile for the OutputIntent (Debian icc-profiles-free, Zlib licence).
const SRGB_ICC: &[u8] = include_bytes!("assets/sRGB.icc");
/// Tesseract's glyphless TrueType font: one invisible glyph (Apache-2.0).
const GLYPHLESS_TTF: &[u8] = include_bytes!("assets/pdf.ttf");

/// Why a PDF could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// The page image cannot be encoded at this size.
    #[error("page image of {width}×{height} px is too large to encode")]
    ImageTooLarge {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
    /// An encoder failed.
    #[error("image encoding failed: {0}")]
    Encode(String),
    /// A font could not be read or subset.
    #[error("font: {0}")]
    Font(String),
    /// lopdf could not serialise the document.
    #[error("PDF writing failed: {0}")]
    Write(String),
}

/// One page to assemble: its compressed image, resolution and recognised text.
#[derive(Debug, Clone)]
pub struct PdfPage {
    /// The page image.
    pub image: PageImage,
    /// Resolution of the image in dots per inch; fixes the page size.
    pub dpi: f32,
    /// Words to place invisibly over the image.
    pub text: RecognizedPage,
}

/// A page of an existing PDF kept as it is (a born-digital page: no OCR, its vector text
/// and fonts untouched).
#[derive(Debug, Clone)]
pub struct KeptPage {
    /// The PDF it comes from.
    pub pdf: std::sync::Arc<Vec<u8>>,
    /// Its index there, from 0.
    pub index: usize,
    /// Its own text, for search and the report.
    pub text: String,
}

/// One page of the output: a scanned page with its text layer, or a kept page.
#[derive(Debug, Clone)]
pub enum OutputPage {
    /// A page image with its invisible text.
    Scanned(PdfPage),
    /// A born-digital page copied as it is.
    Kept(KeptPage),
}

/// Document-level metadata.
#[derive(Debug, Clone)]
pub struct DocumentInfo {
    /// Creation time written to the Info dictionary and XMP.
    pub created: OffsetDateTime,
}

impl DocumentInfo {
    /// Now, or `SOURCE_DATE_EPOCH` when set (reproducible output).
    pub fn now() -> DocumentInfo {
        let created = std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
            .unwrap_or_else(OffsetDateTime::now_utc);
        DocumentInfo { created }
    }
}

/// Writes the pages as one PDF/A-2b document.
pub fn assemble(pages: &[PdfPage], info: &DocumentInfo) -> Result<Vec<u8>, PdfError> {
    let pages: Vec<OutputPage> = pages.iter().cloned().map(OutputPage::Scanned).collect();
    assemble_pages(&pages, info)
}

/// Writes scanned and kept pages, in order, as one PDF/A-2b document.
pub fn assemble_pages(pages: &[OutputPage], info: &DocumentInfo) -> Result<Vec<u8>, PdfError> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let font_id = add_glyphless_font(&mut doc);
    let mut sources: Vec<(*const Vec<u8>, Document)> = Vec::new();
    let mut kids: Vec<Object> = Vec::with_capacity(pages.len());
    for page in pages {
        let id = match page {
            OutputPage::Scanned(p) => add_page(&mut doc, p, pages_id, font_id),
            OutputPage::Kept(kept) => add_kept_page(&mut doc, &mut sources, kept, pages_id)?,
        };
        kids.push(id.into());
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }.into(),
    );
    let catalog = catalog(&mut doc, pages_id, info);
    let catalog_id = doc.add_object(catalog);
    let info_id = doc.add_object(info_dictionary(info));
    let id = Object::String(document_id(pages, info), StringFormat::Hexadecimal);
    doc.trailer.set("Root", catalog_id);
    doc.trailer.set("Info", info_id);
    doc.trailer.set("ID", vec![id.clone(), id]);
    let mut out = Vec::new();
    doc.save_to(&mut out)
        .map_err(|e| PdfError::Write(e.to_string()))?;
    Ok(out)
}

/// Copies a kept page, loading its source PDF once for all its pages.
fn add_kept_page(
    doc: &mut Document,
    sources: &mut Vec<(*const Vec<u8>, Document)>,
    kept: &KeptPage,
    parent: ObjectId,
) -> Result<ObjectId, PdfError> {
    let key = std::sync::Arc::as_ptr(&kept.pdf);
    let at = match sources.iter().position(|(k, _)| *k == key) {
        Some(at) => at,
        None => {
            let source = Document::load_mem(&kept.pdf)
                .map_err(|e| PdfError::Write(format!("kept page: {e}")))?;
            sources.push((key, source));
            sources.len() - 1
        }
    };
    let source = &sources[at].1;
    let page = source
        .get_pages()
        .into_values()
        .nth(kept.index)
        .ok_or_else(|| PdfError::Write(format!("kept page {} is missing", kept.index + 1)))?;
    import::import_page(doc, source, page, parent).map_err(PdfError::Write)
}

fn add_page(doc: &mut Document, page: &PdfPage, parent: ObjectId, font: ObjectId) -> ObjectId {
    let scale = 72.0 / page.dpi;
    let (w, h) = (
        page.image.width as f32 * scale,
        page.image.height as f32 * scale,
    );
    let mut xobjects = Dictionary::new();
    let mut content = format!("q {w:.3} 0 0 {h:.3} 0 0 cm");
    for (i, layer) in page.image.layers.iter().enumerate() {
        let mut image = image_xobject(layer);
        if let Some(mask) = &layer.mask {
            image.dict.set("Mask", doc.add_object(mask_xobject(mask)));
        }
        xobjects.set(format!("Im{i}"), doc.add_object(image));
        content.push_str(&format!(" /Im{i} Do"));
    }
    content.push_str(" Q\n");
    content.push_str(&text_layer::operators(
        &page.text,
        PixelToPoint {
            scale,
            page_height: h,
        },
    ));
    let content_id = doc.add_object(flate_stream(Dictionary::new(), content.as_bytes()));
    doc.add_object(dictionary! {
        "Type" => "Page",
        "Parent" => parent,
        "MediaBox" => vec![0.into(), 0.into(), Object::Real(w), Object::Real(h)],
        "Resources" => dictionary! {
            "XObject" => xobjects,
            "Font" => dictionary! { FONT_RESOURCE => font },
        },
        "Contents" => content_id,
    })
}

fn image_xobject(image: &EncodedImage) -> Stream {
    let (color_space, bits) = match image.color {
        ImageColor::Bilevel => ("DeviceGray", 1),
        ImageColor::Gray => ("DeviceGray", 8),
        ImageColor::Rgb => ("DeviceRGB", 8),
    };
    let filter = match image.filter {
        ImageFilter::Dct => "DCTDecode",
        ImageFilter::Flate => "FlateDecode",
        ImageFilter::CcittG4 => "CCITTFaxDecode",
    };
    let mut dict = dictionary! {
        "Type" => "XObject",
        "Subtype" => "Image",
        "Width" => image.width as i64,
        "Height" => image.height as i64,
        "ColorSpace" => color_space,
        "BitsPerComponent" => bits,
        "Filter" => filter,
    };
    if image.filter == ImageFilter::CcittG4 {
        dict.set(
            "DecodeParms",
            dictionary! { "K" => -1, "Columns" => image.width as i64, "Rows" => image.height as i64, "BlackIs1" => false },
        );
    }
    if image.png_rows {
        let colors = if image.color == ImageColor::Rgb { 3 } else { 1 };
        dict.set(
            "DecodeParms",
            dictionary! { "Predictor" => 15, "Colors" => colors, "BitsPerComponent" => bits, "Columns" => image.width as i64 },
        );
    }
    Stream::new(dict, image.data.clone()).with_compression(false)
}

/// A G4 stencil as an image mask (its black pixels, bits 0, are where it paints).
fn mask_xobject(mask: &EncodedImage) -> Stream {
    let dict = dictionary! {
        "Type" => "XObject",
        "Subtype" => "Image",
        "Width" => mask.width as i64,
        "Height" => mask.height as i64,
        "ImageMask" => true,
        "BitsPerComponent" => 1,
        "Filter" => "CCITTFaxDecode",
        "DecodeParms" => dictionary! { "K" => -1, "Columns" => mask.width as i64, "Rows" => mask.height as i64, "BlackIs1" => false },
    };
    Stream::new(dict, mask.data.clone()).with_compression(false)
}

fn flate_stream(mut dict: Dictionary, bytes: &[u8]) -> Stream {
    dict.set("Filter", "FlateDecode");
    Stream::new(dict, image::zlib(bytes)).with_compression(false)
}

/// The glyphless font as a Type0/CIDFontType2 font with Identity-H encoding, an identity
/// CIDToGIDMap onto its one glyph, and an identity ToUnicode map.
fn add_glyphless_font(doc: &mut Document) -> ObjectId {
    let mut file = dictionary! { "Length1" => GLYPHLESS_TTF.len() as i64 };
    file.set("Filter", "FlateDecode");
    let font_file =
        doc.add_object(Stream::new(file, image::zlib(GLYPHLESS_TTF)).with_compression(false));
    let descriptor = doc.add_object(dictionary! {
        "Type" => "FontDescriptor",
        "FontName" => "GlyphLessFont",
        "Flags" => 5,
        "FontBBox" => vec![0.into(), 0.into(), 500.into(), 1000.into()],
        "ItalicAngle" => 0,
        "Ascent" => 1000,
        "Descent" => 0,
        "CapHeight" => 1000,
        "StemV" => 80,
        "FontFile2" => font_file,
    });
    let every_cid_to_glyph_1: Vec<u8> = [0u8, 1].repeat(65536);
    let cid_to_gid = doc.add_object(flate_stream(Dictionary::new(), &every_cid_to_glyph_1));
    let cid_font = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "CIDFontType2",
        "BaseFont" => "GlyphLessFont",
        "CIDSystemInfo" => dictionary! {
            "Registry" => Object::string_literal("Adobe"),
            "Ordering" => Object::string_literal("Identity"),
            "Supplement" => 0,
        },
        "FontDescriptor" => descriptor,
        "DW" => 500,
        "CIDToGIDMap" => cid_to_gid,
    });
    let to_unicode = doc.add_object(flate_stream(
        Dictionary::new(),
        text_layer::identity_to_unicode_cmap().as_bytes(),
    ));
    doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type0",
        "BaseFont" => "GlyphLessFont",
        "Encoding" => "Identity-H",
        "DescendantFonts" => vec![cid_font.into()],
        "ToUnicode" => to_unicode,
    })
}

fn catalog(doc: &mut Document, pages_id: ObjectId, info: &DocumentInfo) -> Dictionary {
    let mut icc = dictionary! { "N" => 3 };
    icc.set("Filter", "FlateDecode");
    let icc_id = doc.add_object(Stream::new(icc, image::zlib(SRGB_ICC)).with_compression(false));
    let xmp = dictionary! { "Type" => "Metadata", "Subtype" => "XML" };
    let metadata_id =
        doc.add_object(Stream::new(xmp, xmp_packet(info).into_bytes()).with_compression(false));
    let output_intent = dictionary! {
        "Type" => "OutputIntent",
        "S" => "GTS_PDFA1",
        "OutputConditionIdentifier" => Object::string_literal("sRGB IEC61966-2.1"),
        "Info" => Object::string_literal("sRGB IEC61966-2.1"),
        "DestOutputProfile" => icc_id,
    };
    dictionary! {
        "Type" => "Catalog",
        "Pages" => pages_id,
        "Metadata" => metadata_id,
        "OutputIntents" => vec![output_intent.into()],
        "Lang" => Object::string_literal("vi-VN"),
    }
}

fn producer() -> String {
    format!("sohoa {}", env!("CARGO_PKG_VERSION"))
}

fn info_dictionary(info: &DocumentInfo) -> Dictionary {
    let date = Object::string_literal(pdf_date(info.created));
    dictionary! {
        "Producer" => Object::string_literal(producer()),
        "Creator" => Object::string_literal(producer()),
        "CreationDate" => date.clone(),
        "ModDate" => date,
    }
}

/// `D:YYYYMMDDHHmmSSZ` in UTC: the PDF date form (Info dictionary, signature `/M`).
pub fn pdf_date(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `YYYY-MM-DDTHH:mm:SSZ`, the XMP form of the same instant.
fn xmp_date(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn xmp_packet(info: &DocumentInfo) -> String {
    let date = xmp_date(info.created);
    let producer = producer();
    format!(
        r#"<?xpacket begin="{bom}" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:pdf="http://ns.adobe.com/pdf/1.3/"
    xmlns:dc="http://purl.org/dc/elements/1.1/">
   <pdfaid:part>2</pdfaid:part>
   <pdfaid:conformance>B</pdfaid:conformance>
   <xmp:CreateDate>{date}</xmp:CreateDate>
   <xmp:ModifyDate>{date}</xmp:ModifyDate>
   <xmp:MetadataDate>{date}</xmp:MetadataDate>
   <xmp:CreatorTool>{producer}</xmp:CreatorTool>
   <pdf:Producer>{producer}</pdf:Producer>
   <dc:format>application/pdf</dc:format>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"#,
        bom = '\u{feff}'
    )
}

/// A file identifier derived from the content and the creation time.
fn document_id(pages: &[OutputPage], info: &DocumentInfo) -> Vec<u8> {
    let mut hasher = Sha256::new();
    for page in pages {
        match page {
            OutputPage::Scanned(page) => {
                for layer in page.image.layers.iter() {
                    hasher.update(&layer.data);
                    hasher.update(layer.mask.as_ref().map_or(&[][..], |m| &m.data));
                }
                hasher.update(page.text.text().as_bytes());
            }
            OutputPage::Kept(kept) => {
                hasher.update(Sha256::digest(kept.pdf.as_slice()));
                hasher.update(kept.index.to_be_bytes());
            }
        }
    }
    hasher.update(info.created.unix_timestamp().to_be_bytes());
    hasher.finalize()[..16].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_agree_between_info_and_xmp() {
        let t = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        assert_eq!(pdf_date(t), "D:20231114221320Z");
        assert_eq!(xmp_date(t), "2023-11-14T22:13:20Z");
        let xmp = xmp_packet(&DocumentInfo { created: t });
        assert!(
            xmp.contains("<pdfaid:part>2</pdfaid:part>")
                && xmp.contains("<pdfaid:conformance>B</pdfaid:conformance>")
        );
    }

    #[test]
    fn assembled_document_has_pdfa_parts_and_parses_back() {
        let gray = ::image::GrayImage::from_pixel(300, 400, ::image::Luma([255]));
        let frame = crate::capture::Frame {
            raster: crate::capture::Raster::Gray(gray),
            stated_dpi: Some(100.0),
            lossy: false,
            original: None,
        };
        let captured = crate::capture::capture(frame, crate::capture::CaptureMode::Scan, None);
        let page = PdfPage {
            image: encode(&captured, Quality::Archive).unwrap(),
            dpi: 100.0,
            text: RecognizedPage::default(),
        };
        let bytes = assemble(&[page], &DocumentInfo::now()).unwrap();
        let doc = Document::load_mem(&bytes).unwrap();
        let catalog = doc.catalog().unwrap();
        assert!(catalog.get(b"OutputIntents").is_ok() && catalog.get(b"Metadata").is_ok());
        assert!(doc.trailer.get(b"ID").is_ok());
        assert_eq!(doc.get_pages().len(), 1);
    }
}
