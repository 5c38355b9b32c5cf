//! Documents on the web page: storing a reviewed draft (OCR, PDF/A), the document page
//! (OCR text and confidence, files, versions, certified copies, reuse), dossiers, search.
//! Every look at personal data is written to the audit log.

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

use super::drafts;
use super::html::{csrf_input, layout, local_time, text_field, vnd};
use super::session::{CsrfForm, Session};
use super::{WebError, WebResult, WebState};
use crate::capture::pdf_input::PdfPages;
use crate::capture::CaptureMode;
use crate::digitize::{digitize_frames, Source, LOW_CONFIDENCE};
use crate::pdf::KeptPage;
use crate::server::routes::disposition;
use crate::store::{
    has_active_content, AuditEntry, CitizenId, Date, Document, Dossier, FileRole, Ingest,
    NewDocument, NewFile, Role, SearchQuery, Title, UserRole,
};

impl WebState {
    /// Writes an audit entry for a clerk's action (waits until it is written).
    pub(super) async fn audit(
        &self,
        session: &Session,
        action: String,
        returned: Vec<String>,
    ) -> WebResult<()> {
        let entry = AuditEntry {
            agency: self.config.agency.clone(),
            key_id: session.actor(),
            purpose: "web".into(),
            action,
            returned,
        };
        Ok(self.app.audit.record(entry).await?)
    }

    /// Document `id`, or 404.
    pub(super) async fn document(&self, id: String) -> WebResult<Document> {
        self.blocking(move |s| {
            s.app
                .store
                .document(&id)?
                .ok_or_else(|| WebError::not_found("Không có tài liệu này."))
        })
        .await
    }
}

/// `GET /`: the newest documents and a search box.
pub async fn home(State(state): State<WebState>, session: Session) -> WebResult<Response> {
    let recent = state
        .blocking(|s| {
            let query = SearchQuery {
                limit: Some(20),
                ..Default::default()
            };
            Ok(s.app.store.search(&query)?)
        })
        .await?;
    state
        .audit(&session, "GET / (recent documents)".into(), ids(&recent))
        .await?;
    let body = html! {
        h1 { "Xin chào, " (session.user.display_name) }
        p.buttons { a.button href="/capture" { "Số hoá tài liệu mới" } }
        (search_form(""))
        h2 { "Tài liệu mới lưu" }
        (document_table(&recent))
    };
    Ok(layout("Trang chính", Some(&session), body).into_response())
}

fn ids(docs: &[Document]) -> Vec<String> {
    docs.iter().map(|d| d.id.clone()).collect()
}

fn search_form(q: &str) -> Markup {
    html! {
        form method="get" action="/search" id="search" class="inline" {
            input id="q" name="q" value=(q)
                placeholder="Số định danh, mã hồ sơ hoặc nội dung (có dấu hay không dấu)";
            button id="search-submit" { "Tìm" }
        }
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Component => "Thành phần hồ sơ",
        Role::Result => "Kết quả giải quyết",
    }
}

/// A table of documents linking to their pages.
pub(super) fn document_table(docs: &[Document]) -> Markup {
    if docs.is_empty() {
        return html! { p id="no-results" { "Không có tài liệu nào." } };
    }
    html! {
        table.documents {
            thead { tr {
                th { "Tài liệu" } th { "Hồ sơ" } th { "Số định danh" } th { "Trang" } th { "Lưu lúc" }
            } }
            tbody {
                @for d in docs {
                    tr {
                        td {
                            a.result href={ "/documents/" (d.id) } { (d.title) }
                            @if d.reference.is_some() { " " span.badge { "Bản sao chứng thực" } }
                            br;
                            small { (d.kind) " · " (role_name(d.role)) }
                        }
                        td { a href={ "/dossiers/" (d.dossier_code) } { (d.dossier_code) } }
                        td { (d.citizen_id) }
                        td { (d.page_count) }
                        td { (local_time(&d.created_at)) }
                    }
                }
            }
        }
    }
}

/// The dossier form of a draft.
#[derive(Clone, Deserialize)]
pub struct StoreForm {
    dossier_code: String,
    procedure_code: String,
    citizen_id: String,
    kind: String,
    title: String,
    role: String,
    #[serde(default)]
    valid_until: String,
    /// Set when the draft captures a dossier's missing component: go back to the dossier.
    #[serde(default)]
    back_to_dossier: String,
}

/// `POST /drafts/{id}/store`: checks the metadata, recognises the pages (one OCR job at
/// a time on the server), stores PDF/A, originals, text and report, drops the draft.
pub async fn store_draft(
    State(state): State<WebState>,
    UrlPath(id): UrlPath<String>,
    CsrfForm(session, form): CsrfForm<StoreForm>,
) -> WebResult<Response> {
    session.require(UserRole::Clerk, "lưu tài liệu")?;
    let (draft_id, owner, fields) = (id.clone(), session.clone(), form.clone());
    let (dir, draft, new) = state
        .blocking(move |s| {
            let (dir, draft) = drafts::load(s, &owner, &draft_id)?;
            let new = new_document(s, &owner, &fields)?;
            s.app.store.check_document(&new)?;
            Ok((dir, draft, new))
        })
        .await?;
    let _slots = state
        .image_slots
        .acquire_many(drafts::IMAGE_SLOTS)
        .await
        .map_err(WebError::internal)?;
    let doc = state
        .blocking(move |s| {
            let doc = digitize_and_store(s, &dir, &draft, new)?;
            if let Err(e) = dir.remove() {
                tracing::warn!("a stored draft was not removed: {e:?}");
            }
            Ok(doc)
        })
        .await?;
    state
        .audit(
            &session,
            format!("POST /drafts/{id}/store"),
            vec![doc.id.clone()],
        )
        .await?;
    if form.back_to_dossier.is_empty() {
        Ok(Redirect::to(&format!("/documents/{}", doc.id)).into_response())
    } else {
        Ok(Redirect::to(&format!("/dossiers/{}", doc.dossier_code)).into_response())
    }
}

/// The document the form describes. A blank procedure code or personal ID is the
/// dossier's, when the dossier exists.
fn new_document(state: &WebState, session: &Session, form: &StoreForm) -> WebResult<NewDocument> {
    let role = match form.role.as_str() {
        "component" => Role::Component,
        "result" => Role::Result,
        _ => return Err(WebError::bad_request("Loại tài liệu không hợp lệ.")),
    };
    let dossier_code = form.dossier_code.trim();
    let mut procedure_code = form.procedure_code.trim().to_string();
    let mut citizen_id = form.citizen_id.trim().to_string();
    if procedure_code.is_empty() || citizen_id.is_empty() {
        if let Some(dossier) = state.app.store.dossier(dossier_code)? {
            if procedure_code.is_empty() {
                procedure_code = dossier.procedure_code;
            }
            if citizen_id.is_empty() {
                citizen_id = dossier.citizen_id;
            }
        }
    }
    let valid_until = Some(form.valid_until.trim()).filter(|v| !v.is_empty());
    Ok(NewDocument {
        dossier_code: dossier_code.into(),
        procedure_code,
        citizen_id: CitizenId::parse(&citizen_id)?,
        agency: state.config.agency.clone(),
        kind: form.kind.trim().into(),
        title: Title::parse(&form.title)?,
        role,
        created_by: session.user.username.clone(),
        valid_until: valid_until.map(Date::parse).transpose()?,
        supersedes: None,
    })
}

fn digitize_and_store(
    state: &WebState,
    dir: &drafts::DraftFiles,
    draft: &drafts::Draft,
    new: NewDocument,
) -> WebResult<Document> {
    let mut sources = Vec::with_capacity(draft.pages.len());
    let mut originals: Vec<NewFile> = Vec::new();
    for page in &draft.pages {
        let bytes = dir.read(&page.file)?;
        // A PDF whose pages are kept is one original, whatever its pages' names.
        if !originals
            .iter()
            .any(|f| f.bytes == bytes && (f.name == page.name || page.kept.is_some()))
        {
            originals.push(NewFile {
                role: FileRole::Original,
                name: page.name.clone(),
                bytes: bytes.clone(),
            });
        }
        let mut source = match page.kept {
            Some(index) => {
                let text = PdfPages::open(&bytes)
                    .and_then(|pages| pages.text(index))
                    .map_err(|e| WebError::bad_request(format!("Tệp {}: {e}", page.name)))?;
                let mut kept = Source::new(page.name.clone(), Vec::new());
                kept.kept = Some(KeptPage {
                    pdf: std::sync::Arc::new(bytes),
                    index,
                    text,
                });
                kept
            }
            None => Source::new(page.name.clone(), bytes),
        };
        source.adjust = page.adjustment();
        // The page as its preview shows it, unless the settings capture differently.
        let options = &state.config.digitize;
        if options.dpi.is_none() && options.mode == CaptureMode::Auto {
            source.captured = dir.take_captured(page);
        }
        sources.push(source);
    }
    let frames: Vec<(usize, usize)> = draft
        .pages
        .iter()
        .enumerate()
        .map(|(i, p)| (i, p.frame))
        .collect();
    let done = digitize_frames(&sources, &frames, &state.config.digitize)
        .map_err(|e| WebError::bad_request(format!("Không số hoá được: {e}")))?;
    crate::server::metrics::metrics().ocr_pages(done.pages.len());
    let name = format!("{}-{}.pdf", new.dossier_code.replace('/', "-"), new.kind);
    let ingest = Ingest::from_pages(new, name, &done, originals, true)?;
    Ok(state.app.store.ingest(&ingest)?)
}

/// `GET /documents/{id}`.
pub async fn document_page(
    State(state): State<WebState>,
    session: Session,
    UrlPath(id): UrlPath<String>,
) -> WebResult<Response> {
    let doc = state.document(id.clone()).await?;
    state
        .audit(&session, format!("GET /documents/{id}"), vec![id.clone()])
        .await?;
    let view = state.blocking(move |s| DocumentView::load(s, doc)).await?;
    let body = view.render(&state, &session);
    Ok(layout(&view.doc.title, Some(&session), body).into_response())
}

/// What the document page shows, read from the store.
struct DocumentView {
    doc: Document,
    text: String,
    reports: Vec<PageFacts>,
    copies: Vec<Document>,
    sources: Vec<Document>,
    attached: Vec<String>,
}

impl DocumentView {
    fn load(state: &WebState, doc: Document) -> WebResult<DocumentView> {
        let store = &state.app.store;
        let blob = |role: FileRole| -> WebResult<Option<Vec<u8>>> {
            match doc.files.iter().find(|f| f.role == role) {
                Some(f) => Ok(Some(store.read_blob(&f.sha256)?)),
                None => Ok(None),
            }
        };
        let text = blob(FileRole::Text)?
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        // A certified copy made here keeps its source's report among its files.
        let reports = blob(FileRole::Report)?
            .and_then(|b| serde_json::from_slice::<Vec<PageFacts>>(&b).ok())
            .unwrap_or_default();
        let copies = match doc.files.iter().find(|f| f.role == FileRole::Pdf) {
            Some(pdf) => store
                .documents_by_sha256(&pdf.sha256)?
                .into_iter()
                .filter(|d| d.id != doc.id && d.reference.is_some())
                .collect(),
            None => Vec::new(),
        };
        // A certified copy keeps the PDF it was made from as an original file.
        let sources = match doc.files.iter().find(|f| f.role == FileRole::Original) {
            Some(original) if doc.reference.is_some() => store
                .documents_by_sha256(&original.sha256)?
                .into_iter()
                .filter(|d| d.id != doc.id && d.reference.is_none())
                .collect(),
            _ => Vec::new(),
        };
        let attached = store.attached_dossiers(&doc.id)?;
        Ok(DocumentView {
            doc,
            text,
            reports,
            copies,
            sources,
            attached,
        })
    }

    fn render(&self, state: &WebState, session: &Session) -> Markup {
        let d = &self.doc;
        html! {
            h1 { (d.title) }
            dl.facts {
                dt { "Loại" } dd { (d.kind) " · " (role_name(d.role)) }
                dt { "Hồ sơ" }
                dd {
                    a href={ "/dossiers/" (d.dossier_code) } { (d.dossier_code) }
                    " (thủ tục " (d.procedure_code) ")"
                }
                dt { "Số định danh" } dd { (d.citizen_id) }
                dt { "Số trang" } dd { (d.page_count) }
                dt { "Lưu bởi" } dd { (d.created_by) " lúc " (local_time(&d.created_at)) }
                @if let Some(until) = &d.valid_until {
                    dt { "Hiệu lực đến" } dd { (until) }
                }
                @if !self.attached.is_empty() {
                    dt { "Dùng lại trong hồ sơ" }
                    dd {
                        @for (i, code) in self.attached.iter().enumerate() {
                            @if i > 0 { ", " }
                            a href={ "/dossiers/" (code) } { (code) }
                        }
                    }
                }
            }
            (self.files(state))
            (self.versions())
            (self.ocr())
            @if self.can_be_certified() && session.user.has(UserRole::Certifier) {
                (certify_form(state, session, d))
            }
            @if session.user.has(UserRole::Clerk) && reusable(d) {
                (attach_form(session, d))
            }
        }
    }

    fn can_be_certified(&self) -> bool {
        let files = &self.doc.files;
        self.doc.superseded_by.is_none()
            && files.iter().any(|f| f.role == FileRole::Pdf)
            && !files.iter().any(|f| f.role == FileRole::Certified)
    }

    fn files(&self, state: &WebState) -> Markup {
        let d = &self.doc;
        let link = d.reference.as_ref().map(|reference| {
            let base = state.config.public_url.as_deref();
            crate::certify::copy::verify_link(Some(base.unwrap_or("")), reference)
        });
        html! {
            h2 { "Tệp" }
            ul.files {
                @for f in &d.files {
                    @let href = format!("/documents/{}/download/{}", d.id, f.sha256);
                    @let main = f.sha256 == d.sha256 && matches!(f.role, FileRole::Certified | FileRole::Pdf);
                    li {
                        a id=[main.then_some("download")] href=(href) { (f.name) }
                        @if matches!(f.role, FileRole::Pdf | FileRole::Certified | FileRole::Renewed) {
                            " · " a href={ (href) "?inline=1" } target="_blank" { "xem / in" }
                        }
                        " " small { (file_role_name(f.role)) " · " (f.size.div_ceil(1024)) " KB" }
                    }
                }
            }
            @if let (Some(reference), Some(link)) = (&d.reference, &link) {
                p {
                    "Mã xác minh: " code { (reference) } " — "
                    a id="verify-link" href=(link) { "trang xác minh công khai" }
                }
            }
        }
    }

    fn versions(&self) -> Markup {
        let d = &self.doc;
        let empty = d.supersedes.is_none()
            && d.superseded_by.is_none()
            && self.sources.is_empty()
            && self.copies.is_empty();
        if empty {
            return html! {};
        }
        html! {
            h2 { "Phiên bản và bản sao" }
            ul {
                @if let Some(old) = &d.supersedes {
                    li { "Thay thế bản " a href={ "/documents/" (old) } { (old) } }
                }
                @if let Some(new) = &d.superseded_by {
                    li.warning { "Đã có bản mới thay thế: " a href={ "/documents/" (new) } { (new) } }
                }
                @for source in &self.sources {
                    li {
                        "Chứng thực từ tài liệu "
                        a.source href={ "/documents/" (source.id) } { (source.title) }
                    }
                }
                @for copy in &self.copies {
                    li {
                        a.copy href={ "/documents/" (copy.id) } {
                            "Bản sao chứng thực " (copy.reference.as_deref().unwrap_or(""))
                        }
                        " lúc " (local_time(&copy.created_at))
                    }
                }
            }
        }
    }

    fn ocr(&self) -> Markup {
        html! {
            h2 { "Nội dung nhận dạng (OCR)" }
            @if !self.reports.is_empty() {
                ul.pages {
                    @for (i, r) in self.reports.iter().enumerate() {
                        @let low = r.confidence < LOW_CONFIDENCE || !r.warnings.is_empty();
                        li class=(if low { "low-confidence" } else { "ok" }) {
                            "Trang " (i + 1) ": độ tin cậy "
                            span.confidence { (format!("{:.0}", r.confidence)) }
                            "/100, " (r.words) " từ"
                            @for w in &r.warnings {
                                " — " span.warning { (w) }
                            }
                            @if let Some(timings) = stage_timings(&r.timings_ms) {
                                br;
                                small.timings { "Thời gian xử lý: " (timings) }
                            }
                        }
                    }
                }
            }
            pre id="ocr-text" { (self.text.trim()) }
        }
    }
}

/// The parts of a stored page report (`digitize::PageReport`) the document page shows.
#[derive(Deserialize)]
struct PageFacts {
    #[serde(rename = "mean_confidence")]
    confidence: f32,
    words: u64,
    #[serde(default)]
    warnings: Vec<String>,
    /// Milliseconds per stage (`digitize::Timings`).
    #[serde(default)]
    timings_ms: std::collections::BTreeMap<String, u64>,
}

/// The stages of `digitize::Timings` in pipeline order, with their names on the page.
const STAGES: [(&str, &str); 8] = [
    ("decode", "giải mã ảnh"),
    ("detect", "tìm trang"),
    ("warp", "nắn phối cảnh"),
    ("normalize", "cân bằng sáng"),
    ("orientation", "xoay chiều"),
    ("deskew", "chỉnh nghiêng"),
    ("ocr", "nhận dạng chữ"),
    ("encode", "nén ảnh"),
];

/// How long each stage took on a page, e.g. `giải mã ảnh 12 ms · … (tổng 950 ms)`.
fn stage_timings(timings: &std::collections::BTreeMap<String, u64>) -> Option<String> {
    let parts: Vec<String> = STAGES
        .iter()
        .filter_map(|(key, name)| timings.get(*key).map(|ms| format!("{name} {ms} ms")))
        .collect();
    if parts.is_empty() {
        return None;
    }
    let total: u64 = timings.values().sum();
    Some(format!("{} (tổng {total} ms)", parts.join(" · ")))
}

fn file_role_name(role: FileRole) -> &'static str {
    match role {
        FileRole::Pdf => "PDF/A có lớp chữ",
        FileRole::Certified => "bản sao điện tử có chứng thực (đã ký số)",
        FileRole::Original => "tệp gốc",
        FileRole::Text => "văn bản nhận dạng",
        FileRole::Report => "báo cáo số hoá",
        FileRole::Renewed => {
            "bản sao có chứng thực, đã gia hạn chứng cứ (dấu thời gian lưu trữ mới)"
        }
    }
}

/// Fee for certifying a copy (Thông tư 226/2016/TT-BTC): 2,000 VND per page for the
/// first two pages, 1,000 VND per page from the third, at most 200,000 VND per copy.
pub fn certification_fee(pages: u32) -> u64 {
    let pages = u64::from(pages);
    (2_000 * pages.min(2) + 1_000 * pages.saturating_sub(2)).min(200_000)
}

fn certify_form(state: &WebState, session: &Session, d: &Document) -> Markup {
    if state.config.signer.is_none() {
        return html! {
            p.warning id="no-signer" {
                "Máy chủ chưa được cấu hình khóa ký số (sohoa serve --p12/--pkcs11): chưa chứng thực được."
            }
        };
    }
    html! {
        form method="post" action={ "/documents/" (d.id) "/certify" } id="certify" class="card" {
            h2 { "Chứng thực bản sao điện tử" }
            (csrf_input(session))
            p {
                "Số trang: " (d.page_count) " — Lệ phí: "
                strong id="fee" { (vnd(certification_fee(d.page_count))) " đồng" }
                " mỗi bản"
            }
            label { "Người yêu cầu chứng thực " input name="requester" id="requester" maxlength="200"; }
            label {
                "Tên giấy tờ, văn bản "
                input name="original_title" id="original-title" maxlength="300" value=(d.title);
            }
            label { "Số bản " input name="copies" id="copies" type="number" min="1" max="100" value="1"; }
            label.check {
                input type="checkbox" id="compared" name="compared" required;
                " Tôi đã đối chiếu bản sao với bản chính và xác nhận đúng với bản chính"
            }
            button id="certify-submit" { "Chứng thực và ký số" }
        }
    }
}

/// Whether `d` may be offered for reuse: current and not past its validity.
fn reusable(d: &Document) -> bool {
    let today = super::html::local_today();
    d.superseded_by.is_none() && d.valid_until.as_deref().is_none_or(|u| u >= today.as_str())
}

fn attach_form(session: &Session, d: &Document) -> Markup {
    html! {
        form method="post" action={ "/documents/" (d.id) "/attach" } id="attach" class="card" {
            h2 { "Dùng lại cho hồ sơ khác" }
            p.hint { "Gắn tài liệu này vào một hồ sơ mới của cùng công dân thay vì scan lại." }
            (csrf_input(session))
            (text_field("attach_dossier", "Mã hồ sơ mới", "", true))
            (text_field("attach_procedure", "Mã thủ tục", &d.procedure_code, true))
            button id="attach-submit" { "Gắn vào hồ sơ" }
        }
    }
}

/// `?inline=1`: show the file in the browser (to read or print) instead of saving it.
#[derive(Deserialize)]
pub struct DownloadParams {
    #[serde(default)]
    inline: Option<String>,
}

/// `GET /documents/{id}/download/{sha256}[?inline=1]`: one of the document's files.
pub async fn download(
    State(state): State<WebState>,
    session: Session,
    UrlPath((id, sha256)): UrlPath<(String, String)>,
    Query(params): Query<DownloadParams>,
) -> WebResult<Response> {
    let doc = state.document(id.clone()).await?;
    let file = doc
        .files
        .into_iter()
        .find(|f| f.sha256 == sha256)
        .ok_or_else(|| WebError::not_found("Tài liệu không có tệp này."))?;
    state
        .audit(
            &session,
            format!("GET /documents/{id}/download/{sha256}"),
            vec![id],
        )
        .await?;
    let content_type = match file.role {
        FileRole::Pdf | FileRole::Certified | FileRole::Renewed => "application/pdf",
        FileRole::Text => "text/plain; charset=utf-8",
        FileRole::Report => "application/json",
        FileRole::Original => "application/octet-stream",
    };
    let wants_inline = params.inline.is_some() && content_type == "application/pdf";
    let sha256 = file.sha256.clone();
    let (bytes, inline) = state
        .blocking(move |s| {
            let bytes = s.app.store.read_blob(&sha256)?;
            // A PDF with scripts, actions or embedded files is never opened in the
            // browser from here: it is saved instead.
            let inline = wants_inline && !has_active_content(&bytes);
            Ok((bytes, inline))
        })
        .await?;
    let kind = if inline { "inline" } else { "attachment" };
    let disposition = disposition(kind, &file.name);
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// The reuse form.
#[derive(Deserialize)]
pub struct AttachForm {
    attach_dossier: String,
    attach_procedure: String,
}

/// `POST /documents/{id}/attach`: reuse the document in another dossier of the same
/// person (created when new).
pub async fn attach(
    State(state): State<WebState>,
    UrlPath(id): UrlPath<String>,
    CsrfForm(session, form): CsrfForm<AttachForm>,
) -> WebResult<Response> {
    session.require(UserRole::Clerk, "gắn tài liệu vào hồ sơ")?;
    let doc = state.document(id.clone()).await?;
    let dossier = Dossier {
        code: form.attach_dossier.trim().into(),
        procedure_code: form.attach_procedure.trim().into(),
        citizen_id: doc.citizen_id.clone(),
        agency: state.config.agency.clone(),
        received_on: None,
        returned_on: None,
    };
    let code = dossier.code.clone();
    let by = session.user.username.clone();
    state
        .blocking(move |s| Ok(s.app.store.attach(&id, &dossier, &by)?))
        .await?;
    state
        .audit(
            &session,
            format!("POST /documents/{}/attach {code}", doc.id),
            vec![doc.id.clone()],
        )
        .await?;
    Ok(Redirect::to(&format!("/dossiers/{code}")).into_response())
}

/// Longest search accepted from the search box.
const MAX_QUERY_CHARS: usize = 200;

/// The search box.
#[derive(Deserialize)]
pub struct SearchParams {
    #[serde(default)]
    q: String,
}

/// `GET /search?q=`: a 12-digit personal ID, a dossier code, or words (diacritics
/// optional).
pub async fn search_page(
    State(state): State<WebState>,
    session: Session,
    Query(params): Query<SearchParams>,
) -> WebResult<Response> {
    let q = params.q.trim().to_string();
    if q.chars().count() > MAX_QUERY_CHARS || q.chars().any(char::is_control) {
        return Err(WebError::bad_request(format!(
            "Từ khoá tìm kiếm dài tối đa {MAX_QUERY_CHARS} ký tự, trên một dòng."
        )));
    }
    let docs = if q.is_empty() {
        None
    } else {
        let lookup = q.clone();
        let docs = state.blocking(move |s| find(s, &lookup)).await?;
        state
            .audit(&session, format!("GET /search?q={q}"), ids(&docs))
            .await?;
        Some(docs)
    };
    let body = html! {
        h1 { "Tìm kiếm" }
        (search_form(&q))
        @if let Some(docs) = &docs {
            p { (docs.len()) " kết quả" }
            (document_table(docs))
        }
    };
    Ok(layout("Tìm kiếm", Some(&session), body).into_response())
}

fn find(state: &WebState, q: &str) -> WebResult<Vec<Document>> {
    let store = &state.app.store;
    let mut docs = if q.len() == 12 && q.bytes().all(|b| b.is_ascii_digit()) {
        store.documents_by_citizen(q, None)?
    } else if store.dossier(q).ok().flatten().is_some() {
        store.documents_by_dossier(q)?
    } else {
        Vec::new()
    };
    let text = SearchQuery {
        text: Some(q.to_string()),
        limit: Some(100),
        ..Default::default()
    };
    for d in store.search(&text)? {
        if !docs.iter().any(|x| x.id == d.id) {
            docs.push(d);
        }
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_follows_the_circular() {
        assert_eq!(certification_fee(1), 2_000);
        assert_eq!(certification_fee(2), 4_000);
        assert_eq!(certification_fee(3), 5_000);
        assert_eq!(certification_fee(10), 12_000);
        assert_eq!(certification_fee(500), 200_000);
    }

    #[test]
    fn download_names_survive_vietnamese() {
        let header = disposition("attachment", "Giấy khai sinh.pdf");
        assert!(
            header.starts_with("attachment; filename=\"Giay_khai_sinh.pdf\""),
            "{header}"
        );
        assert!(header.contains("filename*=UTF-8''Gi%E1%BA%A5y%20khai%20sinh.pdf"));
    }
}
