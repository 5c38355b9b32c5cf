//! Scanned PDFs as input: a scanner's PDF carries one image per page; each page's
//! largest image is taken out as an image file ([`super::pdf_image`]) and captured like
//! any photo or scan. PDFs whose pages are text
//! and drawings are refused: they need no digitizing, and rendering them is a PDF
//! viewer's job.

use lopdf::{Document, LoadOptions};

use super::{density, pdf_image, CaptureError, DecodeLimits};

/// Most pages taken from one PDF.
const MAX_PAGES: usize = 500;

/// Whether `bytes` look like a PDF.
pub fn is_pdf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"%PDF-")
}

/// The scanned image of every page of `pdf`, in page order, as JPEG or PNG files.
pub fn page_images(pdf: &[u8], limits: &DecodeLimits) -> Result<Vec<Vec<u8>>, CaptureError> {
    let doc = Document::load_mem_with_options(pdf, LoadOptions::default())
        .map_err(|e| CaptureError::Corrupt(format!("PDF: {e}")))?;
    if is_signed(&doc) {
        return Err(CaptureError::Signed);
    }
    let pages = doc.get_pages();
    if pages.len() > MAX_PAGES {
        return Err(CaptureError::Corrupt(format!(
            "PDF has {} pages; at most {MAX_PAGES} are taken at once",
            pages.len()
        )));
    }
    pages
        .iter()
        .map(|(&number, &page)| page_image(&doc, page, limits).map_err(|e| on_page(number, e)))
        .collect()
}

/// Whether the document holds a signature: a signature dictionary (`/Type /Sig` or
/// `/DocTimeStamp`, or any dictionary with a `/ByteRange`).
fn is_signed(doc: &Document) -> bool {
    doc.objects.values().any(|object| {
        object.as_dict().is_ok_and(|dict| {
            dict.has(b"ByteRange")
                || matches!(
                    dict.get(b"Type").and_then(lopdf::Object::as_name),
                    Ok(b"Sig" | b"DocTimeStamp")
                )
        })
    })
}

/// [`page_images`] named for reports and errors: `NAME (trang N)`.
pub fn named_pages(
    name: &str,
    pdf: &[u8],
    limits: &DecodeLimits,
) -> Result<Vec<(String, Vec<u8>)>, CaptureError> {
    Ok(page_images(pdf, limits)?
        .into_iter()
        .enumerate()
        .map(|(i, page)| (format!("{name} (trang {})", i + 1), page))
        .collect())
}

fn on_page(number: u32, error: String) -> CaptureError {
    CaptureError::Corrupt(format!("PDF page {number}: {error}"))
}

fn page_image(
    doc: &Document,
    page: lopdf::ObjectId,
    limits: &DecodeLimits,
) -> Result<Vec<u8>, String> {
    let images = doc.get_page_images(page).map_err(|e| e.to_string())?;
    let image = images
        .iter()
        .max_by_key(|i| i.width.saturating_mul(i.height))
        .ok_or(
            "no scanned image on this page (a text PDF needs no digitizing: store it as it is)",
        )?;
    let size = (image.width as u32, image.height as u32);
    let file = pdf_image::image_file(doc, image.id, limits)?;
    Ok(match page_dpi(doc, page, size) {
        Some(dpi) => density::with_dpi(file, dpi),
        None => file,
    })
}

/// The image's resolution from the page it fills: its width in pixels over the page's
/// width in inches (MediaBox, inherited from the page tree when not on the page; the
/// page's height when the image lies across it), when plausible (50–1200 dpi). A
/// scanner's PDF states its page size, not always its dpi.
fn page_dpi(
    doc: &Document,
    page: lopdf::ObjectId,
    (width_px, height_px): (u32, u32),
) -> Option<u16> {
    let mut node = doc.get_dictionary(page).ok()?;
    for _ in 0..32 {
        if let Ok(media_box) = node.get(b"MediaBox").and_then(lopdf::Object::as_array) {
            let number = |o: &lopdf::Object| {
                o.as_float()
                    .ok()
                    .or_else(|| o.as_i64().ok().map(|v| v as f32))
            };
            let values: Vec<f32> = media_box.iter().filter_map(number).collect();
            let [x0, y0, x1, y1] = <[f32; 4]>::try_from(values).ok()?;
            let (across, down) = ((x1 - x0).abs(), (y1 - y0).abs());
            let crosswise = (width_px > height_px) != (across > down);
            let inches = if crosswise { down } else { across } / 72.0;
            let dpi = (width_px as f32 / inches).round();
            return (50.0..=1200.0).contains(&dpi).then_some(dpi as u16);
        }
        let parent = node
            .get(b"Parent")
            .and_then(lopdf::Object::as_reference)
            .ok()?;
        node = doc.get_dictionary(parent).ok()?;
    }
    None
}
