//! PDFs as input, opened once per file ([`PdfPages`]): a scanner's PDF carries one image
//! per page; that image is taken out as it is ([`super::pdf_image`]), and a page composed
//! of more (several or masked images, drawings) is rendered ([`super::pdf_render`]);
//! either is then captured like any photo or scan. What a page shows ([`PageContent`])
//! tells a page made by software, which digitizing keeps as it is.

use std::collections::BTreeMap;

use lopdf::{Document, LoadOptions};

use super::{density, pdf_image, pdf_render, CaptureError, DecodeLimits};

/// Most pages taken from one PDF.
const MAX_PAGES: usize = 500;

/// Whether `bytes` look like a PDF.
pub fn is_pdf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"%PDF-")
}

/// What a page of a PDF holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    /// Images and drawings only: a scan, to read with OCR.
    Scanned,
    /// Text in the invisible render mode over images: an earlier OCR layer.
    OcrLayer,
    /// Visible text: a page made by software (an agency's result), with its own text.
    BornDigital,
}

/// What a page's content stream shows, as far as digitizing is concerned.
#[derive(Debug, Clone)]
pub struct PageContent {
    /// Scanned, OCR layer or born-digital.
    pub kind: PageKind,
    /// Colours set in DeviceCMYK (`k`, `K`), which a PDF/A file with an sRGB output
    /// intent may not keep as they are.
    pub cmyk: bool,
    /// The font resources that show visible text.
    pub fonts_shown: Vec<Vec<u8>>,
}

/// A PDF opened once to take its pages from: not locked by a password, not signed
/// (digitizing would break the signatures), with 1 to [`MAX_PAGES`] pages.
pub struct PdfPages<'a> {
    pdf: &'a [u8],
    doc: Document,
    /// Page number and object of each page, in order.
    pages: Vec<(u32, lopdf::ObjectId)>,
}

impl<'a> PdfPages<'a> {
    /// Opens and checks `pdf`.
    pub fn open(pdf: &'a [u8]) -> Result<PdfPages<'a>, CaptureError> {
        let (doc, pages) = open(pdf)?;
        Ok(PdfPages {
            pdf,
            doc,
            pages: pages.into_iter().collect(),
        })
    }

    /// Number of pages.
    pub fn len(&self) -> usize {
        self.pages.len()
    }

    /// Always false: an empty page tree is refused by [`PdfPages::open`].
    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    /// The loaded document and the object of page `index` (from 0).
    pub fn page(&self, index: usize) -> Result<(&Document, lopdf::ObjectId), CaptureError> {
        let &(_, page) = self
            .pages
            .get(index)
            .ok_or(CaptureError::NoSuchFrame(index))?;
        Ok((&self.doc, page))
    }

    /// What page `index` shows.
    pub fn content(&self, index: usize) -> Result<PageContent, CaptureError> {
        self.on(index, |_, page| {
            let drawn = Drawn::read(&self.doc, page)?;
            let kind = if drawn.visible_text {
                PageKind::BornDigital
            } else if drawn.invisible_text {
                PageKind::OcrLayer
            } else {
                PageKind::Scanned
            };
            Ok(PageContent {
                kind,
                cmyk: drawn.cmyk,
                fonts_shown: drawn.fonts_shown,
            })
        })
    }

    /// The scanned image of page `index`, as a JPEG, JPEG 2000 or PNG file.
    pub fn image_file(&self, index: usize, limits: &DecodeLimits) -> Result<Vec<u8>, CaptureError> {
        self.on(index, |index, page| {
            page_image(self.pdf, &self.doc, (index, page), limits)
        })
    }

    /// Page `index` rendered as it displays (`--ocr force`), as a PNG file.
    pub fn rendered_file(
        &self,
        index: usize,
        limits: &DecodeLimits,
    ) -> Result<Vec<u8>, CaptureError> {
        self.on(index, |index, page| {
            let images = self.doc.get_page_images(page).map_err(|e| e.to_string())?;
            let dpi = images
                .iter()
                .max_by_key(|i| i.width.saturating_mul(i.height))
                .and_then(|i| page_dpi(&self.doc, page, (i.width as u32, i.height as u32)))
                .map_or(300.0, f32::from);
            let (file, dpi) = pdf_render::render_page(self.pdf, index, dpi, limits)?;
            Ok(density::with_dpi(file, dpi.round() as u16))
        })
    }

    /// The text of page `index` as drawn by its fonts (for a born-digital page).
    pub fn text(&self, index: usize) -> Result<String, CaptureError> {
        self.on(index, |_, _| {
            let number = self.pages[index].0;
            self.doc
                .extract_text(&[number])
                .map_err(|e| format!("its text cannot be read: {e}"))
        })
    }

    /// Runs `work` on page `index`, its errors named by the page's number.
    fn on<T>(
        &self,
        index: usize,
        work: impl FnOnce(usize, lopdf::ObjectId) -> Result<T, String>,
    ) -> Result<T, CaptureError> {
        let &(number, page) = self
            .pages
            .get(index)
            .ok_or(CaptureError::NoSuchFrame(index))?;
        work(index, page).map_err(|e| on_page(number, e))
    }
}

/// Loads a PDF to take pages from: not locked by a password, not signed (digitizing
/// would break the signatures), with 1 to [`MAX_PAGES`] pages.
fn open(pdf: &[u8]) -> Result<(Document, BTreeMap<u32, lopdf::ObjectId>), CaptureError> {
    let doc = Document::load_mem_with_options(pdf, LoadOptions::default())
        .map_err(|e| CaptureError::Pdf(format!("unreadable PDF: {e}")))?;
    if doc.is_encrypted() {
        return Err(CaptureError::Pdf(
            "the PDF is protected by a password: open it with the password and save an \
             unprotected copy (a PDF protected only against editing is read as it is)"
                .into(),
        ));
    }
    if is_signed(&doc) {
        return Err(CaptureError::Signed);
    }
    let pages = doc.get_pages();
    if pages.is_empty() {
        return Err(CaptureError::Pdf(
            "the PDF has no pages (its page tree is empty or broken)".into(),
        ));
    }
    if pages.len() > MAX_PAGES {
        return Err(CaptureError::Pdf(format!(
            "PDF has {} pages; at most {MAX_PAGES} are taken at once",
            pages.len()
        )));
    }
    Ok((doc, pages))
}

/// Whether `bytes` are a readable PDF that holds a signature.
pub fn is_signed_pdf(bytes: &[u8]) -> bool {
    is_pdf(bytes)
        && Document::load_mem_with_options(bytes, LoadOptions::default())
            .is_ok_and(|doc| is_signed(&doc))
}

/// `pdf` rewritten without its signature dictionaries, for `--invalidate-signatures`:
/// its pages can then be digitized into a new, unsigned document.
pub fn without_signatures(pdf: &[u8]) -> Result<Vec<u8>, CaptureError> {
    let mut doc = Document::load_mem_with_options(pdf, LoadOptions::default())
        .map_err(|e| CaptureError::Pdf(format!("unreadable PDF: {e}")))?;
    doc.objects.retain(|_, object| !is_signature(object));
    let mut out = Vec::new();
    doc.save_to(&mut out)
        .map_err(|e| CaptureError::Pdf(format!("unreadable PDF: {e}")))?;
    Ok(out)
}

/// Whether the document holds a signature: a signature dictionary (`/Type /Sig` or
/// `/DocTimeStamp`, or any dictionary with a `/ByteRange`).
fn is_signed(doc: &Document) -> bool {
    doc.objects.values().any(is_signature)
}

/// A signature dictionary: `/Type /Sig` or `/DocTimeStamp`, or any with a `/ByteRange`.
fn is_signature(object: &lopdf::Object) -> bool {
    object.as_dict().is_ok_and(|dict| {
        dict.has(b"ByteRange")
            || matches!(
                dict.get(b"Type").and_then(lopdf::Object::as_name),
                Ok(b"Sig" | b"DocTimeStamp")
            )
    })
}

fn on_page(number: u32, error: String) -> CaptureError {
    CaptureError::Pdf(format!("PDF page {number}: {error}"))
}

/// The page as one image file: its image taken out as it is when the page is one plain
/// image, else the page rendered at its images' resolution (300 dpi without images).
fn page_image(
    pdf: &[u8],
    doc: &Document,
    (index, page): (usize, lopdf::ObjectId),
    limits: &DecodeLimits,
) -> Result<Vec<u8>, String> {
    let images = doc.get_page_images(page).map_err(|e| e.to_string())?;
    let largest = images
        .iter()
        .max_by_key(|i| i.width.saturating_mul(i.height));
    let drawn = Drawn::read(doc, page)?;
    if drawn.visible_text && largest.is_none() {
        return Err(
            "no scanned image on this page (a text PDF needs no digitizing: store it as it is)"
                .into(),
        );
    }
    let dpi = largest.and_then(|i| page_dpi(doc, page, (i.width as u32, i.height as u32)));
    let file = match largest {
        Some(image) if drawn.is_one_plain_image() && is_plain(image.origin_dict) => {
            pdf_image::image_file(doc, image.id, limits)?
        }
        _ => {
            let (file, rendered_dpi) =
                pdf_render::render_page(pdf, index, dpi.map_or(300.0, f32::from), limits)?;
            return Ok(density::with_dpi(file, rendered_dpi.round() as u16));
        }
    };
    Ok(match dpi {
        Some(dpi) => density::with_dpi(file, dpi),
        None => file,
    })
}

/// An image drawn as it is: no soft mask, colour-key or stencil mask to apply.
fn is_plain(dict: &lopdf::Dictionary) -> bool {
    !dict.has(b"SMask")
        && !dict.has(b"Mask")
        && !dict
            .get(b"ImageMask")
            .and_then(lopdf::Object::as_bool)
            .unwrap_or(false)
}

/// What a page's content stream draws.
#[derive(Debug, Default)]
struct Drawn {
    /// `Do` operators (images or forms).
    xobjects: usize,
    /// Inline images.
    inline_images: bool,
    /// Text shown in a visible render mode (not the invisible mode 3 of OCR layers).
    visible_text: bool,
    /// Text shown in the invisible render mode.
    invisible_text: bool,
    /// Colours set in DeviceCMYK (`k`, `K`).
    cmyk: bool,
    /// Font resources that show visible text.
    fonts_shown: Vec<Vec<u8>>,
    /// Paths filled or stroked, shadings.
    paths: bool,
}

impl Drawn {
    fn read(doc: &Document, page: lopdf::ObjectId) -> Result<Drawn, String> {
        let content = doc
            .get_and_decode_page_content(page)
            .map_err(|e| format!("page content cannot be read: {e}"))?;
        let mut drawn = Drawn::default();
        let mut invisible = false;
        let mut font: Option<Vec<u8>> = None;
        for op in &content.operations {
            match op.operator.as_str() {
                "Tf" => {
                    font = op
                        .operands
                        .first()
                        .and_then(|o| o.as_name().ok())
                        .map(<[u8]>::to_vec)
                }
                "Do" => drawn.xobjects += 1,
                "BI" | "ID" => drawn.inline_images = true,
                "Tr" => invisible = op.operands.first().and_then(|o| o.as_i64().ok()) == Some(3),
                "Tj" | "TJ" | "'" | "\"" if invisible => drawn.invisible_text = true,
                "Tj" | "TJ" | "'" | "\"" => {
                    drawn.visible_text = true;
                    if let Some(f) = font.as_ref().filter(|f| !drawn.fonts_shown.contains(f)) {
                        drawn.fonts_shown.push(f.clone());
                    }
                }
                "k" | "K" => drawn.cmyk = true,
                "f" | "F" | "f*" | "B" | "B*" | "b" | "b*" | "S" | "s" | "sh" => drawn.paths = true,
                _ => {}
            }
        }
        Ok(drawn)
    }

    /// One image and nothing else: the scan can be taken out as it is.
    fn is_one_plain_image(&self) -> bool {
        self.xobjects == 1 && !self.inline_images && !self.visible_text && !self.paths
    }
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
