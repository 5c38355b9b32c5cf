//! The digitize pipeline: inputs → capture → recognize → assemble, pages in parallel.
//!
//! Each worker thread loads its own OCR engine once and takes pages from a shared
//! counter; results are put back in input order. No file or network I/O happens here:
//! the caller hands in the input bytes and writes the outputs.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use image::GrayImage;
use serde::Serialize;

use crate::capture::{
    self, Adjustment, CaptureError, CaptureMode, CaptureTimings, DecodeLimits, Geometry, Raster,
    ReadingCheck,
};
use crate::certify::placement::{InkMask, KnownInk};
use crate::ocr::{self, Model, OcrEngine, OcrError, RecognizedPage, TesseractEngine};
use crate::pdf::{self, DocumentInfo, KeptPage, OutputPage, PdfError, PdfPage, Quality};

/// Mean word confidence under which a page is flagged for the clerk to check.
pub const LOW_CONFIDENCE: f32 = 60.0;
/// Pages with fewer recognised words are flagged as (nearly) empty.
pub const FEW_WORDS: usize = 10;

/// One input file's name (for messages and the report) and content.
#[derive(Debug, Clone)]
pub struct Source {
    /// Shown in reports and errors, usually the path.
    pub name: String,
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// The clerk's corrections (outline, quarter turns) for every frame of it.
    pub adjust: Adjustment,
    /// A born-digital page of a PDF, kept as it is instead of read (`bytes` is empty).
    pub kept: Option<KeptPage>,
    /// The page as capture already made it, with `adjust` applied (the web page's
    /// preview): it is read as it is, not decoded and captured again.
    pub captured: Option<Arc<capture::Page>>,
}

impl Source {
    /// A source taken as it is (no clerk corrections).
    pub fn new(name: impl Into<String>, bytes: Vec<u8>) -> Source {
        Source {
            name: name.into(),
            bytes,
            adjust: Adjustment::default(),
            kept: None,
            captured: None,
        }
    }
}

/// What is done with pages of a PDF input that already have text (`--ocr`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OcrMode {
    /// Pages with text of their own (made by software, or an earlier OCR layer) are kept
    /// as they are; only scanned pages are read.
    #[default]
    SkipText,
    /// Pages whose only text is an earlier, invisible OCR layer are read again (the layer
    /// is replaced); pages made by software are kept.
    Redo,
    /// Every page is rendered and read, its own text dropped.
    Force,
}

impl std::str::FromStr for OcrMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "skip-text" => Ok(OcrMode::SkipText),
            "redo" => Ok(OcrMode::Redo),
            "force" => Ok(OcrMode::Force),
            other => Err(format!(
                "unknown OCR mode {other:?} (skip-text, redo or force)"
            )),
        }
    }
}

/// Settings of a digitize run.
#[derive(Debug, Clone)]
pub struct DigitizeOptions {
    /// Worker threads, each with its own OCR engine.
    pub jobs: usize,
    /// Decode bounds for untrusted input.
    pub limits: DecodeLimits,
    /// Tesseract language.
    pub language: String,
    /// Folder searched first for model files (default `./models`).
    pub models_dir: Option<PathBuf>,
    /// Scan, photo, or decide per input.
    pub mode: CaptureMode,
    /// The scans' resolution when the files state none or a wrong one (`--dpi`).
    pub dpi: Option<f32>,
    /// Pages of PDF inputs that already have text: kept, or read again.
    pub ocr: OcrMode,
    /// How page images are kept: as scanned, or text pages bitonal.
    pub quality: Quality,
}

impl Default for DigitizeOptions {
    fn default() -> Self {
        DigitizeOptions {
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            limits: DecodeLimits::default(),
            language: "vie".into(),
            models_dir: None,
            mode: CaptureMode::Auto,
            dpi: None,
            ocr: OcrMode::SkipText,
            quality: Quality::Archive,
        }
    }
}

/// Milliseconds spent per stage on one page.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    /// Decoding the input frame.
    pub decode: u64,
    /// Capture stages: detection, warp, normalisation, orientation, deskew.
    #[serde(flatten)]
    pub capture: CaptureTimings,
    /// Tesseract.
    pub ocr: u64,
    /// Compressing the page image.
    pub encode: u64,
}

/// Per-page facts written to `--report`.
#[derive(Debug, Clone, Serialize)]
pub struct PageReport {
    /// Input name.
    pub source: String,
    /// Frame index within the input (multi-page TIFF).
    pub frame: usize,
    /// Width of the corrected page.
    pub width_px: u32,
    /// Height of the corrected page.
    pub height_px: u32,
    /// Resolution used.
    pub dpi: f32,
    /// Geometry corrections (skew, orientation, corners).
    #[serde(flatten)]
    pub geometry: Geometry,
    /// Mean Tesseract word confidence, 0–100.
    pub mean_confidence: f32,
    /// Number of recognised words.
    pub words: usize,
    /// Milliseconds per stage.
    pub timings_ms: Timings,
    /// The OCR model that read the page.
    pub ocr_model: Model,
    /// A born-digital page kept as it is (not read: its own text is indexed).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub kept_as_is: bool,
}

/// The result of a digitize run.
#[derive(Debug, Clone)]
pub struct Digitized {
    /// The PDF/A-2b file.
    pub pdf: Vec<u8>,
    /// One report per page, in output order.
    pub pages: Vec<PageReport>,
    /// Recognised text per page.
    pub texts: Vec<String>,
    /// Where each page image has ink, from the rasters it was encoded from: certifying
    /// this very PDF then places its stamp without decoding the images again.
    pub ink: Arc<KnownInk>,
}

impl Digitized {
    /// All pages' text, separated by a line holding a form feed.
    pub fn text(&self) -> String {
        let mut text = self.texts.join("\n\x0c\n");
        text.push('\n');
        text
    }
}

/// What went wrong with one page.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The input could not become a page.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// OCR failed.
    #[error(transparent)]
    Ocr(#[from] OcrError),
    /// The page could not go into the PDF.
    #[error(transparent)]
    Pdf(#[from] PdfError),
}

/// A digitize failure, naming the input it concerns.
#[derive(Debug, thiserror::Error)]
pub enum DigitizeError {
    /// No inputs were given.
    #[error("no input files")]
    NoInput,
    /// The OCR model or engine is unusable (not tied to one input).
    #[error(transparent)]
    Setup(#[from] OcrError),
    /// One input failed.
    #[error("{source_name}{}: {error}", frame_suffix(*.frame))]
    Input {
        /// The input's name.
        source_name: String,
        /// Frame index, when the input has several.
        frame: Option<usize>,
        /// What is wrong.
        error: PageError,
    },
    /// Writing the PDF failed.
    #[error(transparent)]
    Assemble(#[from] PdfError),
}

fn frame_suffix(frame: Option<usize>) -> String {
    frame.map_or_else(String::new, |f| format!(" (frame {f})"))
}

/// One unit of work: a frame of a source.
#[derive(Debug, Clone, Copy)]
struct Task {
    source: usize,
    frame: usize,
    multi_frame: bool,
}

/// One digitized page: what the PDF needs, its report and its text.
#[derive(Debug, Clone)]
pub struct DonePage {
    /// The image and text layer for the PDF, or the kept page.
    pub pdf_page: OutputPage,
    /// Facts for `--report`.
    pub report: PageReport,
    /// Recognised text.
    pub text: String,
    /// Where the page image has ink.
    pub ink: InkMask,
}

/// Assembles digitized pages, in order, into one PDF/A document.
pub fn assemble(done: Vec<DonePage>) -> Result<Digitized, PdfError> {
    let pdf = pdf::assemble_pages(
        &done.iter().map(|d| d.pdf_page.clone()).collect::<Vec<_>>(),
        &DocumentInfo::now(),
    )?;
    let mut ink = KnownInk::default();
    let (mut pages, mut texts) = (Vec::new(), Vec::new());
    for page in done {
        if let OutputPage::Scanned(scanned) = &page.pdf_page {
            for key in scanned.image.layer_keys() {
                ink.add(key, page.ink.clone());
            }
        }
        pages.push(page.report);
        texts.push(page.text);
    }
    Ok(Digitized {
        pdf,
        pages,
        texts,
        ink: Arc::new(ink),
    })
}

/// A page worker: one OCR engine, loaded once, reused for every page it is given.
pub struct PageWorker {
    engine: TesseractEngine,
}

impl PageWorker {
    /// Loads the model named by `options` (checked against the manifest).
    pub fn new(options: &DigitizeOptions) -> Result<PageWorker, OcrError> {
        let model = ocr::models::locate(&options.language, options.models_dir.as_deref())?;
        Ok(PageWorker {
            engine: TesseractEngine::new(model)?,
        })
    }

    /// Digitizes frame `frame` of `source`; `multi_frame` names the frame in errors.
    pub fn digitize_page(
        &mut self,
        source: &Source,
        frame: usize,
        multi_frame: bool,
        options: &DigitizeOptions,
    ) -> Result<DonePage, DigitizeError> {
        let task = Task {
            source: 0,
            frame,
            multi_frame,
        };
        process(source, task, options, &mut self.engine)
    }
}

/// Digitizes `sources` into one searchable PDF/A document, pages in input order.
pub fn digitize(sources: &[Source], options: &DigitizeOptions) -> Result<Digitized, DigitizeError> {
    if sources.is_empty() {
        return Err(DigitizeError::NoInput);
    }
    let model = ocr::models::locate(&options.language, options.models_dir.as_deref())?;
    let sources = with_pdf_pages(sources, options)?;
    let tasks = plan(&sources)?;
    let done = run_workers(&sources, &tasks, options, &model)?;
    Ok(assemble(done)?)
}

/// `sources` with every PDF replaced by its pages ([`pages_of`]).
fn with_pdf_pages(
    sources: &[Source],
    options: &DigitizeOptions,
) -> Result<Vec<Source>, DigitizeError> {
    let mut expanded = Vec::with_capacity(sources.len());
    for source in sources {
        let pages = pages_of(source.clone(), options).map_err(|e| DigitizeError::Input {
            source_name: source.name.clone(),
            frame: None,
            error: e.into(),
        })?;
        expanded.extend(pages);
    }
    Ok(expanded)
}

/// The pages of a PDF source as sources of their own: kept, rendered or taken out; any
/// other source as it is. Every entry point (digitize, batch, worker, web) expands its
/// inputs here.
pub fn pages_of(source: Source, options: &DigitizeOptions) -> Result<Vec<Source>, CaptureError> {
    use capture::pdf_input::{PageKind, PdfPages};
    if !capture::pdf_input::is_pdf(&source.bytes) {
        return Ok(vec![source]);
    }
    let limits = &options.limits;
    let pdf = PdfPages::open(&source.bytes)?;
    let shared = Arc::new(source.bytes.clone());
    let mut pages = Vec::with_capacity(pdf.len());
    for index in 0..pdf.len() {
        let name = format!("{} (trang {})", source.name, index + 1);
        let content = pdf.content(index)?;
        let keep = match (options.ocr, content.kind) {
            (OcrMode::Force, _) | (_, PageKind::Scanned) | (OcrMode::Redo, PageKind::OcrLayer) => {
                false
            }
            (_, PageKind::BornDigital) | (OcrMode::SkipText, PageKind::OcrLayer) => true,
        };
        let mut page = if !keep && options.ocr != OcrMode::Force {
            Source::new(name, pdf.image_file(index, limits)?)
        } else if keep && unkeepable(&pdf, index, &content)?.is_none() {
            let mut page = Source::new(name, Vec::new());
            page.kept = Some(KeptPage {
                pdf: shared.clone(),
                index,
                text: pdf.text(index)?,
            });
            page
        } else {
            Source::new(name, pdf.rendered_file(index, limits)?)
        };
        page.adjust = source.adjust;
        pages.push(page);
    }
    Ok(pages)
}

/// Why a page cannot be kept as it is in a PDF/A file (then it is rendered and read).
fn unkeepable(
    pdf: &capture::pdf_input::PdfPages,
    index: usize,
    content: &capture::pdf_input::PageContent,
) -> Result<Option<String>, CaptureError> {
    let reason = if content.cmyk {
        Some("it uses CMYK colours".to_string())
    } else {
        let (doc, page) = pdf.page(index)?;
        pdf::import::unkeepable(doc, page, &content.fonts_shown)
    };
    if let Some(reason) = &reason {
        tracing::warn!("page {} is read from its rendering: {reason}", index + 1);
    }
    Ok(reason)
}

/// Digitizes the chosen `(source index, frame)` pairs into one PDF/A document, in the
/// order given (the web page's reviewed pages: reordered, some frames left out).
pub fn digitize_frames(
    sources: &[Source],
    frames: &[(usize, usize)],
    options: &DigitizeOptions,
) -> Result<Digitized, DigitizeError> {
    if frames.is_empty() || frames.iter().any(|&(s, _)| s >= sources.len()) {
        return Err(DigitizeError::NoInput);
    }
    let model = ocr::models::locate(&options.language, options.models_dir.as_deref())?;
    let tasks: Vec<Task> = frames
        .iter()
        .map(|&(source, frame)| Task {
            source,
            frame,
            multi_frame: frame > 0,
        })
        .collect();
    let done = run_workers(sources, &tasks, options, &model)?;
    Ok(assemble(done)?)
}

/// Lists the frames of every source, failing early on unreadable containers.
fn plan(sources: &[Source]) -> Result<Vec<Task>, DigitizeError> {
    let mut tasks = Vec::new();
    for (index, source) in sources.iter().enumerate() {
        if source.kept.is_some() {
            tasks.push(Task {
                source: index,
                frame: 0,
                multi_frame: false,
            });
            continue;
        }
        let frames = capture::frame_count(&source.bytes).map_err(|e| DigitizeError::Input {
            source_name: source.name.clone(),
            frame: None,
            error: e.into(),
        })?;
        tasks.extend((0..frames).map(|frame| Task {
            source: index,
            frame,
            multi_frame: frames > 1,
        }));
    }
    Ok(tasks)
}

type Slot = Option<Result<DonePage, DigitizeError>>;

fn run_workers(
    sources: &[Source],
    tasks: &[Task],
    options: &DigitizeOptions,
    model: &Model,
) -> Result<Vec<DonePage>, DigitizeError> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let slots: Mutex<Vec<Slot>> = Mutex::new((0..tasks.len()).map(|_| None).collect());
    if tasks.is_empty() {
        return Err(DigitizeError::NoInput);
    }
    let workers = options.jobs.clamp(1, tasks.len());
    let setup_error: Mutex<Option<OcrError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let mut engine = match TesseractEngine::new(model.clone()) {
                    Ok(engine) => engine,
                    Err(e) => {
                        failed.store(true, Ordering::Relaxed);
                        *setup_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                        return;
                    }
                };
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&task) = tasks.get(i) else { break };
                    let result = process(&sources[task.source], task, options, &mut engine);
                    failed.fetch_or(result.is_err(), Ordering::Relaxed);
                    slots.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(result);
                }
            });
        }
    });
    if let Some(e) = setup_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e.into());
    }
    let slots = slots.into_inner().unwrap_or_else(|p| p.into_inner());
    // The first failure in input order wins; unprocessed slots only follow a failure.
    slots
        .into_iter()
        .map_while(|s| s)
        .collect::<Result<Vec<_>, _>>()
        .and_then(|done| {
            if done.len() == tasks.len() {
                Ok(done)
            } else {
                Err(DigitizeError::Setup(OcrError::Engine(
                    "a worker stopped early".into(),
                )))
            }
        })
}

fn process(
    source: &Source,
    task: Task,
    options: &DigitizeOptions,
    engine: &mut dyn OcrEngine,
) -> Result<DonePage, DigitizeError> {
    let fail = |error: PageError| DigitizeError::Input {
        source_name: source.name.clone(),
        frame: task.multi_frame.then_some(task.frame),
        error,
    };
    if let Some(kept) = &source.kept {
        return Ok(kept_page(source, kept, engine.model()));
    }
    let mut timings = Timings::default();
    let page = match &source.captured {
        Some(page) => Arc::clone(page),
        None => {
            let clock = Instant::now();
            let frame = capture::decode_frame(&source.bytes, task.frame, &options.limits)
                .map_err(|e| fail(e.into()))?;
            timings.decode = elapsed_ms(clock);
            let adjust = Adjustment {
                dpi: options.dpi.or(source.adjust.dpi),
                ..source.adjust
            };
            Arc::new(capture::capture_adjusted(
                frame,
                options.mode,
                &adjust,
                Some(&mut EngineCheck(&mut *engine)),
            ))
        }
    };
    timings.capture = page.timings.clone();

    let clock = Instant::now();
    let recognized = recognize(engine, &page).map_err(|e| fail(e.into()))?;
    timings.ocr = elapsed_ms(clock);

    let clock = Instant::now();
    let image = pdf::encode(&page, options.quality).map_err(|e| fail(e.into()))?;
    timings.encode = elapsed_ms(clock);

    let (width_px, height_px) = page.raster.dimensions();
    let words = recognized.lines.iter().map(|l| l.words.len()).sum();
    let mut geometry = page.geometry.clone();
    let mean_confidence = recognized.mean_confidence();
    if words < FEW_WORDS {
        geometry.warnings.push(format!(
            "little or no text was recognised on this page ({words} words): check the capture"
        ));
    } else if mean_confidence < LOW_CONFIDENCE {
        geometry.warnings.push(format!(
            "low OCR confidence ({mean_confidence:.0}/100): check the capture of this page"
        ));
    }
    let report = PageReport {
        source: source.name.clone(),
        frame: task.frame,
        width_px,
        height_px,
        dpi: page.dpi,
        geometry,
        mean_confidence,
        words,
        timings_ms: timings,
        ocr_model: engine.model().clone(),
        kept_as_is: false,
    };
    let text = recognized.text();
    let ink = ink_mask(&page.raster);
    Ok(DonePage {
        pdf_page: OutputPage::Scanned(PdfPage {
            image,
            dpi: page.dpi,
            text: recognized,
        }),
        report,
        text,
        ink,
    })
}

/// A born-digital page: kept as it is, its own text taken for search and the report.
fn kept_page(source: &Source, kept: &KeptPage, model: &Model) -> DonePage {
    let text = kept.text.clone();
    let words = text.split_whitespace().count();
    let report = PageReport {
        source: source.name.clone(),
        frame: 0,
        width_px: 0,
        height_px: 0,
        dpi: 0.0,
        geometry: Geometry::untouched(CaptureMode::Scan),
        mean_confidence: 0.0,
        words,
        timings_ms: Timings::default(),
        ocr_model: model.clone(),
        kept_as_is: true,
    };
    DonePage {
        pdf_page: OutputPage::Kept(kept.clone()),
        report,
        text,
        ink: InkMask::new(&[], 0, 0, 1),
    }
}

/// Scans under this resolution are enlarged for OCR (only): Tesseract reads best with
/// letters some 20 pixels high, and a 150-dpi office scan has 12.
const OCR_MIN_DPI: f32 = 200.0;
/// The height (in pixels, ink of one line, marks included) body text is reduced to for
/// OCR. Tesseract scales every line to its network's fixed input height (a few dozen
/// pixels) anyway, so the pixels of a 300-dpi scan's 40-pixel lines beyond this are work
/// without information: thresholding, layout analysis and Tesseract's copies of each line
/// cost by the pixel. Measured on the Vietnamese quality pages (`examples/quality.rs`, 24
/// pages): time per clean page −22 %, CER 0.03 → 0.01 %; tall letters read better too (a
/// typewritten page with 79-pixel lines: 13.9 % CER as it is, 5.5 % reduced 4×).
const OCR_LINE_PX: f32 = 20.0;
/// No line in the smallest tenth (footnotes, fine print) is reduced under this height:
/// Tesseract still reads the quality pages without error at 18 pixels, not at 12.
const OCR_MIN_LINE_PX: f32 = 16.0;
/// Reductions smaller than this are not worth the resize.
const OCR_MIN_REDUCTION: f32 = 1.25;

/// How the page is scaled for OCR only (the PDF keeps the original pixels).
#[derive(Debug, Clone, Copy, PartialEq)]
enum OcrScale {
    AsIs,
    /// Enlarged this many times (a low-resolution scan).
    Enlarge(u32),
    /// Reduced by this factor (over 1): letters taller than OCR needs.
    Reduce(f32),
}

fn ocr_scale(gray: &image::GrayImage, dpi: f32) -> OcrScale {
    let enlarge = (OCR_MIN_DPI / dpi).ceil().clamp(1.0, 4.0) as u32;
    if enlarge > 1 {
        return OcrScale::Enlarge(enlarge);
    }
    let heights = capture::line_heights(gray);
    let Some(&median) = heights.get(heights.len() / 2) else {
        return OcrScale::AsIs;
    };
    // Runs under this are a line's marks set apart from it, rules or specks, not text.
    let lines: Vec<f32> = heights.into_iter().filter(|h| *h >= 0.4 * median).collect();
    let small = lines[lines.len() / 10];
    let factor = (median / OCR_LINE_PX).min(small / OCR_MIN_LINE_PX).min(8.0);
    if factor >= OCR_MIN_REDUCTION {
        OcrScale::Reduce(factor)
    } else {
        OcrScale::AsIs
    }
}

/// Recognises the page, from a copy enlarged to at least [`OCR_MIN_DPI`] when its
/// resolution is low, or reduced when its letters are taller than OCR needs
/// ([`OCR_LINE_PX`]); the word boxes are scaled back to the page's pixels, and ruled
/// tables are read cell by cell ([`ocr::table`]).
fn recognize(engine: &mut dyn OcrEngine, page: &capture::Page) -> Result<RecognizedPage, OcrError> {
    let gray = page.raster.to_ocr_gray();
    let scale = ocr_scale(&gray, page.dpi);
    tracing::debug!(?scale, "page read for OCR");
    let read = match scale {
        OcrScale::AsIs => engine.recognize(&gray, page.dpi.round() as u32)?,
        OcrScale::Enlarge(f) => read_scaled(engine, &gray, page.dpi, f as f32)?,
        OcrScale::Reduce(f) => read_scaled(engine, &gray, page.dpi, 1.0 / f)?,
    };
    Ok(ocr::table::in_cell_order(read, &gray, page.dpi))
}

/// Recognises a copy of `gray` scaled by `factor`, word boxes scaled back.
fn read_scaled(
    engine: &mut dyn OcrEngine,
    gray: &image::GrayImage,
    dpi: f32,
    factor: f32,
) -> Result<RecognizedPage, OcrError> {
    let (w, h) = gray.dimensions();
    let scaled_w = ((w as f32 * factor).round() as u32).max(1);
    let scaled_h = ((h as f32 * factor).round() as u32).max(1);
    let scaled = capture::resize_gray(gray, scaled_w, scaled_h);
    let mut read = engine.recognize(&scaled, (dpi * factor).round() as u32)?;
    let (sx, sy) = (w as f32 / scaled_w as f32, h as f32 / scaled_h as f32);
    for word in read.lines.iter_mut().flat_map(|l| l.words.iter_mut()) {
        let b = &mut word.bbox;
        let right = ((b.right() as f32 * sx).ceil() as u32).min(w);
        let bottom = ((b.bottom() as f32 * sy).ceil() as u32).min(h);
        b.left = ((b.left as f32 * sx).floor() as u32).min(right);
        b.top = ((b.top as f32 * sy).floor() as u32).min(bottom);
        (b.width, b.height) = (right - b.left, bottom - b.top);
    }
    Ok(read)
}

/// An OCR engine as capture's check of automatic turns.
struct EngineCheck<'a>(&'a mut dyn OcrEngine);

impl ReadingCheck for EngineCheck<'_> {
    fn confidence(&mut self, sample: &GrayImage, dpi: u32) -> f32 {
        self.0
            .recognize_lines(sample, dpi)
            .map_or(0.0, |page| page.reading_confidence())
    }
}

/// Capture's check of automatic turns for pages that are not read yet (the web page's
/// previews): the OCR engine is loaded only when a turn is to be checked. Without a
/// usable model every check reads nothing, so no turn is made.
pub struct TurnCheck {
    options: DigitizeOptions,
    engine: Option<TesseractEngine>,
}

impl TurnCheck {
    /// A check that will load the model `options` name.
    pub fn new(options: &DigitizeOptions) -> TurnCheck {
        TurnCheck {
            options: options.clone(),
            engine: None,
        }
    }
}

impl ReadingCheck for TurnCheck {
    fn confidence(&mut self, sample: &GrayImage, dpi: u32) -> f32 {
        if self.engine.is_none() {
            self.engine = PageWorker::new(&self.options).ok().map(|w| w.engine);
        }
        match &mut self.engine {
            Some(engine) => EngineCheck(engine).confidence(sample, dpi),
            None => 0.0,
        }
    }
}

/// Where a page raster has ink (what certification's stamp placement must not cover).
fn ink_mask(raster: &Raster) -> InkMask {
    let (width, height) = raster.dimensions();
    let (width, height) = (width as usize, height as usize);
    match raster {
        Raster::Bilevel(g) | Raster::Gray(g) => InkMask::new(g.as_raw(), width, height, 1),
        Raster::Rgb(c) => InkMask::new(c.as_raw(), width, height, 3),
    }
}

fn elapsed_ms(since: Instant) -> u64 {
    since.elapsed().as_millis() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A white page with `lines` black bars `height` pixels tall, `height` apart.
    fn bars(height: u32, lines: u32) -> image::GrayImage {
        image::GrayImage::from_fn(1000, 2 * height * (lines + 1), |_, y| {
            let inked = y >= height && (y / height) % 2 == 1 && y / height < 2 * lines;
            image::Luma([if inked { 0 } else { 255 }])
        })
    }

    /// `lines` bars of `big` pixels, then `small` bars of `tiny` pixels, each followed by
    /// a gap as tall.
    fn mixed_bars(big: u32, lines: u32, tiny: u32, small: u32) -> image::GrayImage {
        let mut rows = Vec::new();
        for (height, count) in [(big, lines), (tiny, small)] {
            for _ in 0..count {
                rows.extend(std::iter::repeat_n(0u8, height as usize));
                rows.extend(std::iter::repeat_n(255u8, height as usize));
            }
        }
        image::GrayImage::from_fn(1000, rows.len() as u32 + 20, |_, y| {
            image::Luma([*rows.get(y as usize).unwrap_or(&255)])
        })
    }

    #[test]
    fn tall_letters_are_read_reduced_and_low_resolutions_enlarged() {
        let reduced = |scale| match scale {
            OcrScale::Reduce(f) => (f * 100.0).round() / 100.0,
            other => panic!("{other:?} where a reduction was expected"),
        };
        // Body text of a 300-dpi scan (40-pixel lines) is read at 20 pixels.
        assert_eq!(reduced(ocr_scale(&bars(40, 10), 300.0)), 2.0);
        assert_eq!(reduced(ocr_scale(&bars(80, 10), 300.0)), 4.0);
        assert_eq!(reduced(ocr_scale(&bars(60, 10), 600.0)), 3.0);
        // Fine print limits the reduction: a tenth of the lines at 24 pixels stay at 16.
        assert_eq!(reduced(ocr_scale(&mixed_bars(40, 17, 24, 3), 300.0)), 1.5);
        // Lines near the target, or small text, are read as they are.
        assert_eq!(ocr_scale(&bars(24, 10), 300.0), OcrScale::AsIs);
        assert_eq!(ocr_scale(&mixed_bars(40, 17, 18, 3), 300.0), OcrScale::AsIs);
        assert_eq!(ocr_scale(&bars(20, 10), 150.0), OcrScale::Enlarge(2));
        assert_eq!(ocr_scale(&bars(80, 10), 100.0), OcrScale::Enlarge(2));
        assert_eq!(
            ocr_scale(&image::GrayImage::new(100, 100), 300.0),
            OcrScale::AsIs
        );
    }
}
