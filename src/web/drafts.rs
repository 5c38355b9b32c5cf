//! Capture on the web page: uploaded pages wait in a draft while the clerk reviews them —
//! the original with the page outline found (its corners can be dragged), the corrected
//! page beside it, turn and order buttons — before the draft is stored.
//!
//! A draft is a set of working files in the store's blob storage, `drafts/<id>/…`:
//! `draft.json`, the uploaded files, and JPEG previews — shared by every service instance
//! on the same store, so that a clerk may upload on one and store on another. Only its
//! owner sees it; storing it removes it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Multipart, Path as UrlPath, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use image::codecs::jpeg::JpegEncoder;
use image::DynamicImage;
use maud::{html, Markup};
use serde::{Deserialize, Serialize};

use super::captured::{self, CapturedPages};
use super::html::{csrf_input, layout, text_field};
use super::session::{CsrfForm, Session};
use super::{WebError, WebResult, WebState};
use crate::capture::{self, pdf_input, Adjustment, CaptureMode, Raster};
use crate::digitize::{self, DigitizeOptions, Source, TurnCheck};
use crate::store::{is_id, Kind, Store, UserRole};

/// A page outline: four corners in input pixels (TL, TR, BR, BL).
pub type Quad = [[f32; 2]; 4];
/// Longest side of the preview images.
const PREVIEW_SIDE: u32 = 1000;
/// Most files in one upload.
const MAX_FILES: usize = 60;
/// Pages one draft may hold (every frame of every file, every page of every PDF),
/// counted before any image is decoded.
pub const MAX_DRAFT_PAGES: usize = 100;
/// Image work (decode + capture of an upload or a re-capture) running at once; storing a
/// draft (OCR on every core) takes them all. With [`PAGE_LIMITS`] this bounds the
/// memory uploads can take: see benches/README.md ("Upload memory").
pub const IMAGE_SLOTS: u32 = 2;
/// Limits of an uploaded page: 40 MP (an A4 page at 600 dpi is 35 MP, phone photos are
/// 12–50 MP), 512 MiB of decoder memory.
pub const PAGE_LIMITS: capture::DecodeLimits = capture::DecodeLimits {
    max_pixels: 40_000_000,
    max_alloc: 512 << 20,
    min_side: 64,
};

/// What the clerk uploaded and decided so far.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Draft {
    /// User name of the clerk who uploaded it.
    pub owner: String,
    /// Pages in the order they will have in the document.
    pub pages: Vec<DraftPage>,
    /// The dossier whose missing component this draft captures (from its checklist).
    #[serde(default)]
    pub dossier: Option<String>,
    /// The kind of that component.
    #[serde(default)]
    pub kind: Option<String>,
}

/// One page of a draft: a frame of an uploaded file and the clerk's corrections.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DraftPage {
    /// Unique within the draft; names its files.
    pub key: String,
    /// The uploaded file in the draft folder.
    pub file: String,
    /// The file's name on the clerk's device.
    pub name: String,
    /// Frame of a multi-page TIFF.
    pub frame: usize,
    /// Size of the decoded (upright) input.
    pub width: u32,
    /// Height of the decoded input.
    pub height: u32,
    /// The outline detection found, when the input looked like a photo.
    pub detected: Option<Quad>,
    /// The outline the clerk set.
    pub outline: Option<Quad>,
    /// Clockwise quarter turns the clerk added.
    pub turn: u16,
    /// What capture warned about.
    pub warnings: Vec<String>,
    /// Bumped whenever the corrected preview changes (cache buster).
    pub version: u32,
    /// A page with text of its own (born-digital): the index of the page in the PDF
    /// `file`, kept as it is instead of read.
    #[serde(default)]
    pub kept: Option<usize>,
}

impl DraftPage {
    /// The clerk's corrections in the form capture takes.
    pub fn adjustment(&self) -> Adjustment {
        Adjustment {
            outline: self.outline,
            turn: self.turn,
            dpi: None,
        }
    }

    /// The outline shown: the clerk's, else the one found, else the whole image.
    fn shown_outline(&self) -> Quad {
        let (w, h) = (self.width as f32, self.height as f32);
        self.outline
            .or(self.detected)
            .unwrap_or([[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]])
    }
}

/// Drafts untouched for this long are removed when the server starts.
pub const DRAFT_LIFETIME: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// The working files of one draft in the store.
pub struct DraftFiles {
    store: Store,
    id: String,
    captured: Arc<CapturedPages>,
}

impl DraftFiles {
    /// The files of draft `id` (checked: an opaque id, never a path).
    pub fn of(state: &WebState, id: &str) -> WebResult<DraftFiles> {
        if !is_id(id) {
            return Err(WebError::not_found("Không có bản nháp này."));
        }
        Ok(DraftFiles {
            store: state.app.store.clone(),
            id: id.to_string(),
            captured: Arc::clone(&state.captured),
        })
    }

    /// Keeps version `version` of page `key` as captured, for when the draft is stored.
    fn keep_captured(&self, key: &str, version: u32, page: Arc<capture::Page>) {
        self.captured
            .keep(captured::key(&self.id, key, version), page);
    }

    /// The captured page `page` as its preview shows it, when it is still kept.
    pub fn take_captured(&self, page: &DraftPage) -> Option<Arc<capture::Page>> {
        self.captured
            .take(&captured::key(&self.id, &page.key, page.version))
    }

    /// Writes file `name` of the draft.
    pub fn write(&self, name: &str, bytes: &[u8]) -> WebResult<()> {
        Ok(self
            .store
            .put_scratch(&format!("drafts/{}/{name}", self.id), bytes)?)
    }

    /// Reads file `name` of the draft.
    pub fn read(&self, name: &str) -> WebResult<Vec<u8>> {
        Ok(self
            .store
            .get_scratch(&format!("drafts/{}/{name}", self.id))?)
    }

    /// Removes the draft.
    pub fn remove(&self) -> WebResult<()> {
        Ok(self.store.remove_scratch(&format!("drafts/{}", self.id))?)
    }
}

/// Removes drafts (and half-written uploads) not modified for [`DRAFT_LIFETIME`].
pub fn remove_stale(store: &Store) {
    let files = match store.scratch_list("drafts") {
        Ok(files) => files,
        Err(e) => return tracing::warn!("cannot list drafts: {e}"),
    };
    let mut newest: HashMap<String, std::time::SystemTime> = HashMap::new();
    for (key, modified) in files {
        let Some(id) = key.split('/').nth(1) else {
            continue;
        };
        let entry = newest.entry(id.to_string()).or_insert(modified);
        *entry = (*entry).max(modified);
    }
    for (id, modified) in newest {
        let stale = modified.elapsed().is_ok_and(|age| age > DRAFT_LIFETIME);
        if stale && is_id(&id) {
            if let Err(e) = store.remove_scratch(&format!("drafts/{id}")) {
                tracing::warn!("cannot remove stale draft {id}: {e}");
            }
        }
    }
}

/// Loads draft `id` when `session` owns it.
pub fn load(state: &WebState, session: &Session, id: &str) -> WebResult<(DraftFiles, Draft)> {
    let files = DraftFiles::of(state, id)?;
    let text = files.read("draft.json").map_err(|e| match e.status {
        axum::http::StatusCode::NOT_FOUND => {
            WebError::not_found("Không có bản nháp này (có thể đã được lưu).")
        }
        _ => e,
    })?;
    let draft: Draft = serde_json::from_slice(&text).map_err(WebError::internal)?;
    if draft.owner != session.user.username {
        return Err(WebError::not_found("Không có bản nháp này."));
    }
    Ok((files, draft))
}

fn save(files: &DraftFiles, draft: &Draft) -> WebResult<()> {
    let json = serde_json::to_vec_pretty(draft).map_err(WebError::internal)?;
    files.write("draft.json", &json)
}

/// What a capture is for, when it comes from a dossier's checklist.
#[derive(Deserialize, Default)]
pub struct CaptureFor {
    dossier: Option<String>,
    kind: Option<String>,
}

/// `GET /capture[?dossier=…&kind=…]`: the upload form (photos straight from a phone's
/// camera too); a dossier and kind given are carried to the draft's form.
pub async fn capture_page(
    session: Session,
    Query(target): Query<CaptureFor>,
) -> WebResult<Response> {
    session.require(UserRole::Clerk, "số hoá tài liệu")?;
    let context = [("dossier", &target.dossier), ("kind", &target.kind)];
    let body = html! {
        h1 { "Số hoá tài liệu" }
        @if let (Some(dossier), Some(kind)) = (&target.dossier, &target.kind) {
            p.hint id="capture-for" { "Cho hồ sơ " (dossier) ": " (kind) }
        }
        form method="post" action="/capture" enctype="multipart/form-data" id="upload" class="card" {
            (csrf_input(&session))
            @for (name, value) in context {
                @if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                    input type="hidden" name=(name) value=(value);
                }
            }
            label for="pages" { "Chụp ảnh hoặc chọn ảnh (JPEG, PNG, TIFF, HEIC) — mỗi ảnh một trang" }
            input id="pages" name="pages" type="file" accept="image/*" capture="environment" multiple;
            label for="pdf" { "hoặc một tệp PDF do máy scan tạo ra" }
            input id="pdf" name="pages" type="file" accept="application/pdf" multiple;
            p.hint {
                "Trên điện thoại: chụp lần lượt từng trang, đặt giấy trên nền tối, đủ sáng. \
                 Có thể tải lên nhiều ảnh một lúc."
            }
            button id="upload-submit" { "Tải lên và xem trước" }
        }
    };
    Ok(layout("Số hoá", Some(&session), body).into_response())
}

/// `POST /capture`: decodes every uploaded file (all or nothing), finds each page's
/// outline, makes the previews, and opens the new draft.
pub async fn upload(
    State(state): State<WebState>,
    session: Session,
    mut multipart: Multipart,
) -> WebResult<Response> {
    session.require(UserRole::Clerk, "số hoá tài liệu")?;
    let mut csrf = String::new();
    let mut csrf_checked = false;
    let mut files = Vec::new();
    let mut target = CaptureFor::default();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| WebError::bad_request(format!("Tải lên bị lỗi: {}", e.body_text())))?
    {
        match field.name() {
            Some("csrf") => csrf = field.text().await.unwrap_or_default(),
            Some("dossier") => target.dossier = Some(short_field(field.text().await)?),
            Some("kind") => target.kind = Some(short_field(field.text().await)?),
            Some("pages") => {
                if !csrf_checked {
                    session.check_csrf(&csrf)?;
                    csrf_checked = true;
                }
                let name = field.file_name().unwrap_or("anh").to_string();
                let bytes = field.bytes().await.map_err(|e| {
                    WebError::bad_request(format!("Tải lên bị lỗi: {}", e.body_text()))
                })?;
                if !bytes.is_empty() {
                    files.push((name, bytes.to_vec()));
                }
            }
            _ => {}
        }
        if files.len() > MAX_FILES {
            return Err(WebError::bad_request(format!(
                "Tối đa {MAX_FILES} tệp mỗi lần tải lên."
            )));
        }
    }
    session.check_csrf(&csrf)?;
    if files.is_empty() {
        return Err(WebError::bad_request("Chưa chọn ảnh nào."));
    }
    let owner = session.user.username.clone();
    let options = state.config.digitize.clone();
    let mut check = TurnCheck::new(&options);
    let _slot = state
        .image_slots
        .acquire()
        .await
        .map_err(WebError::internal)?;
    // A second slot, when free, captures a second page at the same time.
    let second = state.image_slots.try_acquire().ok();
    let workers = 1 + usize::from(second.is_some());
    let id = state
        .blocking(move |s| {
            let id = crate::store::new_id()?;
            let draft = DraftFiles::of(s, &id)?;
            let made = make_draft(&draft, owner, files, target, &options, &mut check, workers);
            if made.is_err() {
                let _ = draft.remove();
            }
            made.map(|()| id)
        })
        .await?;
    Ok(Redirect::to(&format!("/drafts/{id}")).into_response())
}

/// A short text field of the upload form (a dossier code or kind).
fn short_field<E>(text: Result<String, E>) -> WebResult<String> {
    let text = text.map_err(|_| WebError::bad_request("Tải lên bị lỗi."))?;
    if text.len() > 100 || text.chars().any(char::is_control) {
        return Err(WebError::bad_request(
            "Mã hồ sơ hoặc loại giấy tờ không hợp lệ.",
        ));
    }
    Ok(text.trim().to_string())
}

fn make_draft(
    dir: &DraftFiles,
    owner: String,
    files: Vec<(String, Vec<u8>)>,
    target: CaptureFor,
    options: &DigitizeOptions,
    check: &mut TurnCheck,
    workers: usize,
) -> WebResult<()> {
    let mut draft = Draft {
        owner,
        pages: Vec::new(),
        dossier: target.dossier.filter(|d| !d.is_empty()),
        kind: target.kind.filter(|k| !k.is_empty()),
    };
    let files = expand_pdfs(files, options)?;
    let mut frames = Vec::with_capacity(files.len());
    for source in &files {
        frames.push(match source.kept {
            Some(_) => 1,
            None => capture::frame_count(&source.bytes).map_err(|e| unreadable(&source.name, e))?,
        });
        if frames.iter().sum::<usize>() > MAX_DRAFT_PAGES {
            return Err(WebError::bad_request(format!(
                "Tối đa {MAX_DRAFT_PAGES} trang mỗi lần số hoá (tệp {} vượt quá).",
                source.name
            )));
        }
    }
    let mut kept_files: Vec<(*const Vec<u8>, String)> = Vec::new();
    let mut pages: Vec<Option<DraftPage>> = Vec::new();
    let mut looks: Vec<Look> = Vec::new();
    for (index, (source, frames)) in files.iter().zip(frames).enumerate() {
        if let Some(kept) = &source.kept {
            let file = kept_file(dir, &mut kept_files, &kept.pdf)?;
            let key = format!("p{index}-0");
            pages.push(Some(kept_look(dir, &key, &file, &source.name, kept.index)?));
            continue;
        }
        let file = format!("f{index}.bin");
        dir.write(&file, &source.bytes)?;
        for frame in 0..frames {
            looks.push(Look {
                slot: pages.len(),
                key: format!("p{index}-{frame}"),
                file: file.clone(),
                source,
                frame,
            });
            pages.push(None);
        }
    }
    for (slot, page) in first_looks(dir, &looks, options, check, workers)? {
        pages[slot] = Some(page);
    }
    draft.pages = pages.into_iter().flatten().collect();
    save(dir, &draft)
}

/// One frame of an upload to capture for its preview.
struct Look<'a> {
    /// Its place among the draft's pages.
    slot: usize,
    key: String,
    file: String,
    source: &'a Source,
    frame: usize,
}

/// Captures `looks` for their previews on `workers` threads (the first uses `check`, the
/// others their own), in any order; each page comes back with its slot.
fn first_looks(
    dir: &DraftFiles,
    looks: &[Look],
    options: &DigitizeOptions,
    check: &mut TurnCheck,
    workers: usize,
) -> WebResult<Vec<(usize, DraftPage)>> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = |check: &mut TurnCheck| -> WebResult<Vec<(usize, DraftPage)>> {
        let mut done = Vec::new();
        while let Some(look) = looks.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) {
            let (source, frame) = (look.source, look.frame);
            let page = first_look(
                dir,
                &look.key,
                &look.file,
                &source.name,
                frame,
                &source.bytes,
                check,
            )?;
            done.push((look.slot, page));
        }
        Ok(done)
    };
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..workers.min(looks.len()))
            .map(|_| scope.spawn(|| work(&mut TurnCheck::new(options))))
            .collect();
        let mut done = work(check)?;
        for helper in helpers {
            done.extend(
                helper
                    .join()
                    .map_err(|_| WebError::internal("a capture thread stopped"))??,
            );
        }
        Ok(done)
    })
}

/// The draft file holding a PDF whose pages are kept, written once for all its pages.
fn kept_file(
    dir: &DraftFiles,
    written: &mut Vec<(*const Vec<u8>, String)>,
    pdf: &std::sync::Arc<Vec<u8>>,
) -> WebResult<String> {
    let key = std::sync::Arc::as_ptr(pdf);
    if let Some((_, file)) = written.iter().find(|(k, _)| *k == key) {
        return Ok(file.clone());
    }
    let file = format!("k{}.pdf", written.len());
    dir.write(&file, pdf)?;
    written.push((key, file.clone()));
    Ok(file)
}

/// Every uploaded PDF as its pages, the way digitize takes them: a scanned page's image,
/// or a page with text of its own kept as it is.
fn expand_pdfs(files: Vec<(String, Vec<u8>)>, options: &DigitizeOptions) -> WebResult<Vec<Source>> {
    let options = DigitizeOptions {
        limits: PAGE_LIMITS,
        ..options.clone()
    };
    let mut out = Vec::with_capacity(files.len());
    for (name, bytes) in files {
        let pages = digitize::pages_of(Source::new(name.clone(), bytes), &options)
            .map_err(|e| unreadable(&name, e))?;
        if out.len() + pages.len() > MAX_DRAFT_PAGES {
            return Err(WebError::bad_request(format!(
                "Tối đa {MAX_DRAFT_PAGES} trang mỗi lần số hoá (tệp {name} vượt quá)."
            )));
        }
        out.extend(pages);
    }
    Ok(out)
}

/// A kept page: previewed as it displays, never captured or read.
fn kept_look(
    dir: &DraftFiles,
    key: &str,
    file: &str,
    name: &str,
    index: usize,
) -> WebResult<DraftPage> {
    let pdf = dir.read(file)?;
    let rendered = pdf_input::PdfPages::open(&pdf)
        .and_then(|pages| pages.rendered_file(index, &PAGE_LIMITS))
        .map_err(|e| unreadable(name, e))?;
    let decoded =
        capture::decode_frame(&rendered, 0, &PAGE_LIMITS).map_err(|e| unreadable(name, e))?;
    let (width, height) = decoded.raster.dimensions();
    let look = preview(&decoded.raster)?;
    dir.write(&format!("{key}-original.jpg"), &look)?;
    dir.write(&format!("{key}-corrected.jpg"), &look)?;
    Ok(DraftPage {
        key: key.into(),
        file: file.into(),
        name: name.into(),
        frame: 0,
        width,
        height,
        detected: None,
        outline: None,
        turn: 0,
        warnings: vec![
            "Trang có sẵn chữ (văn bản điện tử): được giữ nguyên như tệp gốc, không nhận dạng lại."
                .into(),
        ],
        version: 0,
        kept: Some(index),
    })
}

fn unreadable(name: &str, e: impl std::fmt::Display) -> WebError {
    WebError::bad_request(format!("Tệp {name}: không đọc được ảnh ({e})."))
}

/// Decodes a frame, keeps a preview of it, captures it as `auto` would.
fn first_look(
    dir: &DraftFiles,
    key: &str,
    file: &str,
    name: &str,
    frame: usize,
    bytes: &[u8],
    check: &mut TurnCheck,
) -> WebResult<DraftPage> {
    let decoded =
        capture::decode_frame(bytes, frame, &PAGE_LIMITS).map_err(|e| unreadable(name, e))?;
    let (width, height) = decoded.raster.dimensions();
    dir.write(&format!("{key}-original.jpg"), &preview(&decoded.raster)?)?;
    let page = Arc::new(capture::capture(decoded, CaptureMode::Auto, Some(check)));
    dir.write(&format!("{key}-corrected.jpg"), &preview(&page.raster)?)?;
    dir.keep_captured(key, 0, Arc::clone(&page));
    Ok(DraftPage {
        key: key.into(),
        file: file.into(),
        name: name.into(),
        frame,
        width,
        height,
        detected: page.geometry.corners,
        outline: None,
        turn: 0,
        warnings: page.geometry.warnings.clone(),
        version: 0,
        kept: None,
    })
}

/// Captures `page` again with the clerk's corrections and replaces its preview.
fn recapture(dir: &DraftFiles, page: &mut DraftPage, check: &mut TurnCheck) -> WebResult<()> {
    let bytes = dir.read(&page.file)?;
    let decoded = capture::decode_frame(&bytes, page.frame, &PAGE_LIMITS)
        .map_err(|e| unreadable(&page.name, e))?;
    let captured =
        capture::capture_adjusted(decoded, CaptureMode::Auto, &page.adjustment(), Some(check));
    dir.write(
        &format!("{}-corrected.jpg", page.key),
        &preview(&captured.raster)?,
    )?;
    page.warnings = captured.geometry.warnings.clone();
    page.version += 1;
    dir.keep_captured(&page.key, page.version, Arc::new(captured));
    Ok(())
}

/// A JPEG of `raster` at most [`PREVIEW_SIDE`] pixels on its longer side.
fn preview(raster: &Raster) -> WebResult<Vec<u8>> {
    let image = match raster {
        Raster::Bilevel(g) | Raster::Gray(g) => DynamicImage::ImageLuma8(g.clone()),
        Raster::Rgb(c) => DynamicImage::ImageRgb8(c.clone()),
    };
    let small = image.thumbnail(PREVIEW_SIDE, PREVIEW_SIDE);
    let mut jpeg = Vec::new();
    small
        .write_with_encoder(JpegEncoder::new_with_quality(&mut jpeg, 80))
        .map_err(WebError::internal)?;
    Ok(jpeg)
}

/// `GET /drafts/{id}`: every page side by side with its corrected version, and the
/// dossier form that stores the draft.
pub async fn draft_page(
    State(state): State<WebState>,
    session: Session,
    UrlPath(id): UrlPath<String>,
) -> WebResult<Response> {
    let (owner, draft_id) = (session.clone(), id.clone());
    let (draft, dossiers, kinds) = state
        .blocking(move |s| {
            let (_, draft) = load(s, &owner, &draft_id)?;
            Ok((draft, recent_dossiers(s)?, s.app.store.kinds()?))
        })
        .await?;
    let count = draft.pages.len();
    let body = html! {
        h1 { "Xem lại trước khi lưu" }
        p.hint {
            "Kéo bốn góc (chấm đỏ) nếu khung trang chưa đúng rồi bấm «Áp dụng góc»; xoay hoặc \
             đổi thứ tự trang bằng các nút. " (count) " trang."
        }
        @for (index, page) in draft.pages.iter().enumerate() {
            (page_section(&session, &id, index, count, page))
        }
        (store_form(&session, &id, &draft, &dossiers, &kinds))
    };
    Ok(layout("Xem lại", Some(&session), body).into_response())
}

fn page_section(
    session: &Session,
    id: &str,
    index: usize,
    count: usize,
    page: &DraftPage,
) -> Markup {
    let quad = page.shown_outline();
    let base = format!("/drafts/{id}/pages/{index}");
    let buttons = [
        ("rotate-left", "↺ Xoay trái", true),
        ("rotate-right", "↻ Xoay phải", true),
        ("up", "↑ Lên", index > 0),
        ("down", "↓ Xuống", index + 1 < count),
        ("reset", "Khung tự động", page.outline.is_some()),
        ("remove", "Bỏ trang", count > 1),
    ];
    html! {
        section class="page card" id={ "page-" (index) } data-page=(index)
            data-adjusted=(page.outline.is_some()) data-turn=(page.turn) {
            h2 { "Trang " (index + 1) " " small { (page.name) } }
            div.pair {
                figure {
                    div.stage {
                        img.original src={ (base) "/image/original" } width=(page.width)
                            height=(page.height) alt="Ảnh gốc";
                        (outline_svg(page, &quad))
                    }
                    figcaption { "Ảnh gốc và khung trang" }
                }
                figure {
                    img.corrected src={ (base) "/image/corrected?v=" (page.version) }
                        alt="Trang sau khi chỉnh";
                    figcaption { "Sau khi chỉnh" }
                }
            }
            @for warning in &page.warnings {
                p.warning { (warning) }
            }
            (corner_form(session, &base, &quad))
            div.buttons {
                @for (action, label, enabled) in buttons {
                    @if enabled {
                        form method="post" action={ (base) "/" (action) } {
                            (csrf_input(session))
                            button class=(action) { (label) }
                        }
                    }
                }
            }
        }
    }
}

/// The page's outline over its original, with a handle at each corner. SVG elements are
/// written with closing tags: inside HTML they are not void elements.
fn outline_svg(page: &DraftPage, quad: &Quad) -> Markup {
    let (w, h) = (page.width, page.height);
    let radius = (w.max(h) as f32 / 45.0).round();
    let points: Vec<String> = quad.iter().map(|[x, y]| format!("{x:.0},{y:.0}")).collect();
    html! {
        svg.outline viewBox={ "0 0 " (w) " " (h) } preserveAspectRatio="none" {
            polygon points=(points.join(" ")) {}
            @for (i, [x, y]) in quad.iter().enumerate() {
                circle.corner data-corner=(i) cx=(format!("{x:.0}")) cy=(format!("{y:.0}")) r=(radius) {}
            }
        }
    }
}

fn corner_form(session: &Session, base: &str, quad: &Quad) -> Markup {
    html! {
        form.corners method="post" action={ (base) "/corners" } {
            (csrf_input(session))
            @for (i, [x, y]) in quad.iter().enumerate() {
                input type="hidden" name={ "c" (i) "x" } value=(format!("{x:.0}"));
                input type="hidden" name={ "c" (i) "y" } value=(format!("{y:.0}"));
            }
            button.apply-corners { "Áp dụng góc" }
        }
    }
}

/// Codes of the dossiers of the newest documents, newest first, for picking.
fn recent_dossiers(state: &WebState) -> WebResult<Vec<String>> {
    let query = crate::store::SearchQuery {
        limit: Some(200),
        ..Default::default()
    };
    let mut codes: Vec<String> = Vec::new();
    for doc in state.app.store.search(&query)? {
        if !codes.contains(&doc.dossier_code) {
            codes.push(doc.dossier_code);
        }
    }
    Ok(codes)
}

fn store_form(
    session: &Session,
    id: &str,
    draft: &Draft,
    dossiers: &[String],
    kinds: &[Kind],
) -> Markup {
    let dossier = draft.dossier.as_deref().unwrap_or("");
    let title = draft
        .kind
        .as_deref()
        .and_then(|k| kinds.iter().find(|kind| kind.code == k))
        .map_or("", |k| k.name.as_str());
    html! {
        form method="post" action={ "/drafts/" (id) "/store" } id="store" class="card" {
            h2 { "Thông tin hồ sơ" }
            datalist id="dossiers" { @for code in dossiers { option value=(code); } }
            (csrf_input(session))
            label for="dossier_code" { "Mã hồ sơ (nhập mới hoặc chọn hồ sơ đã có)" }
            input id="dossier_code" name="dossier_code" value=(dossier) required list="dossiers"
                autocomplete="off";
            p.hint { "Hồ sơ đã có: để trống mã thủ tục và số định danh, sohoa lấy theo hồ sơ." }
            (text_field("procedure_code", "Mã thủ tục hành chính", "", false))
            label for="citizen_id" { "Số định danh cá nhân (12 số)" }
            input id="citizen_id" name="citizen_id" value="" inputmode="numeric" pattern="[0-9]{12}";
            (kind_field(kinds, draft.kind.as_deref()))
            (text_field("title", "Tên giấy tờ", title, true))
            @if draft.dossier.is_some() {
                input type="hidden" name="back_to_dossier" value="1";
            }
            label for="role" { "Loại" }
            select id="role" name="role" {
                option value="component" { "Thành phần hồ sơ" }
                option value="result" { "Kết quả giải quyết TTHC" }
            }
            label for="valid_until" { "Hiệu lực đến (YYYY-MM-DD, nếu có)" }
            input id="valid_until" name="valid_until" value="" pattern="\\d{4}-\\d{2}-\\d{2}";
            button id="store-submit" { "Lưu (nhận dạng chữ, tạo PDF/A)" }
            p.hint { "Nhận dạng chữ mất vài giây mỗi trang." }
        }
    }
}

/// The document kind: chosen from the catalogue's kinds; typed only while the catalogue
/// is empty.
fn kind_field(kinds: &[Kind], chosen: Option<&str>) -> Markup {
    if kinds.is_empty() {
        return text_field(
            "kind",
            "Loại giấy tờ (mã, ví dụ giay-khai-sinh)",
            chosen.unwrap_or(""),
            true,
        );
    }
    html! {
        label for="kind" { "Loại giấy tờ" }
        select id="kind" name="kind" required {
            option value="" { "— chọn loại giấy tờ —" }
            @for kind in kinds {
                option value=(kind.code) selected[Some(kind.code.as_str()) == chosen] { (kind.name) }
            }
        }
    }
}

/// `GET /drafts/{id}/pages/{page}/image/{original|corrected}`: a preview JPEG.
pub async fn page_image(
    State(state): State<WebState>,
    session: Session,
    UrlPath((id, index, which)): UrlPath<(String, usize, String)>,
) -> WebResult<Response> {
    if which != "original" && which != "corrected" {
        return Err(WebError::not_found("Không có ảnh này."));
    }
    let jpeg = state
        .blocking(move |s| {
            let (dir, draft) = load(s, &session, &id)?;
            let page = draft
                .pages
                .get(index)
                .ok_or_else(|| WebError::not_found("Không có trang này."))?;
            dir.read(&format!("{}-{which}.jpg", page.key))
        })
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "private, max-age=600"),
        ],
        jpeg,
    )
        .into_response())
}

/// `POST /drafts/{id}/pages/{page}/{action}`: corners, reset, rotate-left, rotate-right,
/// up, down, remove; then back to the draft.
pub async fn page_action(
    State(state): State<WebState>,
    UrlPath((id, index, action)): UrlPath<(String, usize, String)>,
    CsrfForm(session, form): CsrfForm<HashMap<String, String>>,
) -> WebResult<Response> {
    let draft_id = id.clone();
    let mut check = TurnCheck::new(&state.config.digitize);
    let _slot = state
        .image_slots
        .acquire()
        .await
        .map_err(WebError::internal)?;
    state
        .blocking(move |s| {
            let (dir, mut draft) = load(s, &session, &draft_id)?;
            if index >= draft.pages.len() {
                return Err(WebError::not_found("Không có trang này."));
            }
            apply(&dir, &mut draft, index, &action, &form, &mut check)?;
            save(&dir, &draft)
        })
        .await?;
    Ok(Redirect::to(&format!("/drafts/{id}")).into_response())
}

fn apply(
    dir: &DraftFiles,
    draft: &mut Draft,
    index: usize,
    action: &str,
    form: &HashMap<String, String>,
    check: &mut TurnCheck,
) -> WebResult<()> {
    let pages = &mut draft.pages;
    let corrects = matches!(action, "rotate-left" | "rotate-right" | "reset" | "corners");
    if corrects && pages[index].kept.is_some() {
        return Err(WebError::bad_request(
            "Trang này được giữ nguyên như tệp gốc: không xoay hay cắt được.",
        ));
    }
    match action {
        "up" if index > 0 => pages.swap(index, index - 1),
        "down" if index + 1 < pages.len() => pages.swap(index, index + 1),
        "remove" if pages.len() > 1 => {
            pages.remove(index);
        }
        "rotate-left" | "rotate-right" => {
            let step = if action == "rotate-left" { 270 } else { 90 };
            pages[index].turn = (pages[index].turn + step) % 360;
            recapture(dir, &mut pages[index], check)?;
        }
        "reset" => {
            pages[index].outline = None;
            recapture(dir, &mut pages[index], check)?;
        }
        "corners" => {
            let page = &mut pages[index];
            page.outline = Some(outline_from(form, page.width, page.height)?);
            recapture(dir, page, check)?;
        }
        _ => return Err(WebError::bad_request("Thao tác không hợp lệ.")),
    }
    Ok(())
}

/// The outline in a corners form: eight numbers inside the image, a convex
/// quadrilateral covering at least 5 % of it.
pub fn outline_from(form: &HashMap<String, String>, width: u32, height: u32) -> WebResult<Quad> {
    let mut quad = [[0.0f32; 2]; 4];
    for (i, corner) in quad.iter_mut().enumerate() {
        for (axis, limit) in [(0, width), (1, height)] {
            let name = format!("c{i}{}", if axis == 0 { 'x' } else { 'y' });
            let value: f32 = form
                .get(&name)
                .and_then(|v| v.trim().parse().ok())
                .filter(|v: &f32| v.is_finite())
                .ok_or_else(|| WebError::bad_request(format!("Thiếu hoặc sai toạ độ {name}.")))?;
            corner[axis] = value.clamp(0.0, limit as f32);
        }
    }
    if !is_convex(&quad) || area(&quad) < 0.05 * width as f32 * height as f32 {
        return Err(WebError::bad_request(
            "Khung trang không hợp lệ: bốn góc phải tạo thành tứ giác lồi đủ lớn, theo thứ tự \
             trên-trái, trên-phải, dưới-phải, dưới-trái.",
        ));
    }
    Ok(quad)
}

fn is_convex(q: &Quad) -> bool {
    let cross = |i: usize| {
        let (a, b, c) = (q[i], q[(i + 1) % 4], q[(i + 2) % 4]);
        (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0])
    };
    (0..4).all(|i| cross(i) > 0.0)
}

fn area(q: &Quad) -> f32 {
    let twice: f32 = (0..4)
        .map(|i| q[i][0] * q[(i + 1) % 4][1] - q[(i + 1) % 4][0] * q[i][1])
        .sum();
    twice.abs() / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(values: [f32; 8]) -> HashMap<String, String> {
        let names = ["c0x", "c0y", "c1x", "c1y", "c2x", "c2y", "c3x", "c3y"];
        names
            .iter()
            .zip(values)
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn outlines_must_be_convex_clockwise_and_large() {
        let good = outline_from(
            &form([10., 10., 900., 30., 880., 1200., 20., 1180.]),
            1000,
            1300,
        );
        assert!(good.is_ok());
        // Clamped into the image.
        let clamped = outline_from(
            &form([-50., -5., 1100., 0., 1000., 1300., 0., 1300.]),
            1000,
            1300,
        );
        assert_eq!(clamped.unwrap()[0], [0.0, 0.0]);
        // Crossed (TR and BR swapped), tiny, or not numbers: refused.
        assert!(outline_from(
            &form([10., 10., 880., 1200., 900., 30., 20., 1180.]),
            1000,
            1300
        )
        .is_err());
        assert!(outline_from(&form([10., 10., 20., 10., 20., 20., 10., 20.]), 1000, 1300).is_err());
        let mut nan = form([10., 10., 900., 30., 880., 1200., 20., 1180.]);
        nan.insert("c2x".into(), "NaN".into());
        assert!(outline_from(&nan, 1000, 1300).is_err());
    }
}
