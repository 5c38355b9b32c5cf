//! The public verification page the QR code on a certified copy opens: is the copy
//! genuine, and what does the register say. No sign-in; nothing personal beyond what
//! is printed on the copy itself.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;

use super::html::{layout, local_time};
use super::session::MaybeSession;
use super::{WebError, WebResult, WebState};
use crate::certify::copy::parse_reference;
use crate::certify::register::{Entry, Register};
use crate::certify::verify::{verify_pdf, VerifyOptions, VerifyReport};
use crate::store::Document;

/// The reference from the QR code.
#[derive(Deserialize)]
pub struct VerifyParams {
    #[serde(default, rename = "ref")]
    reference: String,
}

/// What the page found: the register entry, the stored copy it names, the verdict.
struct Found {
    entry: Entry,
    doc: Option<Document>,
    report: Option<VerifyReport>,
}

/// `GET /verify?ref=SOHOA1:…`. The reference names a register entry; the entry names
/// the SHA-256 of the copy it signed; only those bytes are read and verified. Nothing a
/// stored document claims about itself is believed.
pub async fn verify_page(
    State(state): State<WebState>,
    MaybeSession(session): MaybeSession,
    Query(params): Query<VerifyParams>,
) -> WebResult<Response> {
    let reference = params.reference.trim().to_string();
    if reference.is_empty() {
        return Err(WebError::bad_request("Thiếu mã xác minh (ref)."));
    }
    if state.app.trust.is_empty() {
        let body = verdict_only(
            "unavailable",
            "Máy chủ này chưa được cấu hình chứng thư gốc tin cậy: không xác minh được bản sao. \
             Hãy liên hệ cơ quan đã chứng thực.",
        );
        return Ok((
            StatusCode::SERVICE_UNAVAILABLE,
            layout("Xác minh", session.as_ref(), body),
        )
            .into_response());
    }
    let found = state
        .blocking(move |s| {
            let Some(entry) = register_entry(s, &reference) else {
                return Ok(None);
            };
            let store = &s.app.store;
            let docs = store.documents_by_sha256(&entry.output_sha256)?;
            let doc = docs
                .iter()
                .find(|d| d.superseded_by.is_none())
                .or(docs.first())
                .cloned();
            let report = match doc {
                Some(_) => {
                    let pdf = store.read_blob(&entry.output_sha256)?;
                    let options = VerifyOptions {
                        trust_anchors: s.app.trust.as_ref().clone(),
                        at: None,
                    };
                    Some(verify_pdf(&pdf, &options))
                }
                None => None,
            };
            Ok(Some(Found { entry, doc, report }))
        })
        .await?;
    let Some(found) = found else {
        let body = verdict_only("false", "Không tìm thấy bản sao nào có mã xác minh này.");
        return Ok((
            StatusCode::NOT_FOUND,
            layout("Xác minh", session.as_ref(), body),
        )
            .into_response());
    };
    Ok(layout("Xác minh", session.as_ref(), render(&found)).into_response())
}

/// The register entry a reference names (`SOHOA1:YEAR-BOOK-NUMBER:HASH`), if it matches.
fn register_entry(state: &WebState, reference: &str) -> Option<Entry> {
    let (year, book, number) = parse_reference(reference)?;
    let mut register = Register::open_existing(&state.config.register_dir)
        .ok()
        .flatten()?;
    register
        .entry(year, &book, number)
        .ok()
        .flatten()
        .filter(|e| e.reference == reference)
}

/// Valid only when the register issued the copy, the copy is stored, and every
/// signature is intact and chains to a configured trust anchor.
fn is_valid(found: &Found) -> bool {
    found.entry.status == "issued"
        && found
            .report
            .as_ref()
            .is_some_and(|r| r.valid && r.signatures.iter().all(|s| s.valid && s.chain_trusted))
}

/// The page when there is nothing to show but the verdict.
fn verdict_only(valid: &str, message: &str) -> Markup {
    html! {
        h1 { "Xác minh bản sao điện tử" }
        p id="verdict" data-valid=(valid) class="error" { (message) }
    }
}

fn render(found: &Found) -> Markup {
    let valid = is_valid(found);
    // Intact, issued, but no configured trust anchor reaches the signer: its own verdict.
    let untrusted = !valid
        && found.entry.status == "issued"
        && found
            .report
            .as_ref()
            .is_some_and(|r| r.outcome == "untrusted");
    let verdict = if valid {
        "Bản sao hợp lệ: chữ ký số đúng, nội dung không bị sửa đổi, có trong sổ chứng thực."
    } else if untrusted {
        "Chữ ký số còn nguyên vẹn và bản sao có trong sổ chứng thực, nhưng CHƯA xác định được \
         người ký đáng tin cậy (máy chủ chưa có chứng thư gốc của người ký)."
    } else if found.doc.is_none() {
        "Không xác minh được: sổ chứng thực có mục này nhưng bản sao không được lưu ở đây."
    } else {
        "Bản sao KHÔNG hợp lệ hoặc không xác minh được."
    };
    let e = &found.entry;
    html! {
        h1 { "Xác minh bản sao điện tử" }
        p id="verdict"
            data-valid=(if untrusted { "untrusted".to_string() } else { valid.to_string() })
            class=(if valid { "ok" } else { "error" }) { (verdict) }
        dl.facts {
            @if let Some(doc) = &found.doc {
                dt { "Giấy tờ" } dd { (doc.title) }
                dt { "Số trang" } dd { (doc.page_count) }
            }
            dt { "Số chứng thực" } dd { (e.number) " — quyển " (e.book) "/" (e.year) }
            dt { "Ngày chứng thực" } dd { (local_time(&e.certified_at)) }
            dt { "Người chứng thực" } dd { (e.certifier) }
            dt { "Cơ quan" } dd { (e.agency) }
            dt { "Trạng thái trong sổ" } dd { (if e.status == "issued" { "đã cấp" } else { "đã huỷ" }) }
            @if let Some(report) = &found.report {
                @for sig in &report.signatures {
                    dt { "Chữ ký số" }
                    dd {
                        (sig.signer) " — " (local_time(sig.signed_at.as_deref().unwrap_or(""))) " "
                        (signature_verdict(sig.valid, sig.chain_trusted))
                    }
                }
            }
        }
        @if let Some(report) = &found.report {
            p.hint { (report.message_vi) }
        }
    }
}

fn signature_verdict(valid: bool, trusted: bool) -> &'static str {
    match (valid, trusted) {
        (true, true) => "(hợp lệ)",
        (true, false) => "(người ký không thuộc chứng thư gốc tin cậy)",
        _ => "(không hợp lệ)",
    }
}
