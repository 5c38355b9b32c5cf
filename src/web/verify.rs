//! The public verification page the QR code on a certified copy opens: is the copy
//! genuine, and what does the register say. No sign-in; nothing personal beyond what
//! is printed on the copy itself.

use std::fmt::Write;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::html::{esc, layout};
use super::session::MaybeSession;
use super::{PageError, PageResult, WebState};
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

/// `GET /verify?ref=SOHOA1:…`.
pub async fn verify_page(
    State(state): State<WebState>,
    MaybeSession(session): MaybeSession,
    Query(params): Query<VerifyParams>,
) -> PageResult<Response> {
    let reference = params.reference.trim().to_string();
    if reference.is_empty() {
        return Err(PageError::bad_request("Thiếu mã xác minh (ref)."));
    }
    let found = state
        .blocking(move |s| {
            let Some(doc) = s.app.store.document_by_reference(&reference)? else {
                return Ok(None);
            };
            let pdf = s.app.store.read_blob(&doc.sha256)?;
            let options = VerifyOptions {
                trust_anchors: s.app.trust.as_ref().clone(),
            };
            let report = verify_pdf(&pdf, &options);
            let entry = register_entry(s, &reference);
            Ok(Some((doc, report, entry)))
        })
        .await?;
    let Some((doc, report, entry)) = found else {
        let body = "<h1>Xác minh bản sao điện tử</h1><p id=\"verdict\" data-valid=\"false\" class=\"error\">\
                    Không tìm thấy bản sao nào có mã xác minh này.</p>";
        return Ok((
            StatusCode::NOT_FOUND,
            layout("Xác minh", session.as_ref(), body),
        )
            .into_response());
    };
    let body = render(&doc, &report, entry.as_ref());
    Ok(layout("Xác minh", session.as_ref(), &body).into_response())
}

/// The register entry a reference names (`SOHOA1:YEAR-BOOK-NUMBER:HASH`), if it matches.
fn register_entry(state: &WebState, reference: &str) -> Option<Entry> {
    let (year, book, number) = parse_reference(reference)?;
    let register = Register::open(&state.config.register_dir).ok()?;
    register
        .entry(year, &book, number)
        .ok()
        .flatten()
        .filter(|e| e.reference == reference)
}

fn render(doc: &Document, report: &VerifyReport, entry: Option<&Entry>) -> String {
    let valid = report.valid && entry.is_some_and(|e| e.status == "issued");
    let mut s = format!(
        "<h1>Xác minh bản sao điện tử</h1><p id=\"verdict\" data-valid=\"{valid}\" class=\"{}\">{}</p>\
         <dl class=\"facts\"><dt>Giấy tờ</dt><dd>{}</dd><dt>Số trang</dt><dd>{}</dd>",
        if valid { "ok" } else { "error" },
        if valid {
            "Bản sao hợp lệ: chữ ký số đúng, nội dung không bị sửa đổi, có trong sổ chứng thực."
        } else {
            "Bản sao KHÔNG hợp lệ hoặc không xác minh được."
        },
        esc(&doc.title),
        doc.page_count
    );
    if let Some(e) = entry {
        let _ = write!(
            s,
            "<dt>Số chứng thực</dt><dd>{} — quyển {}/{}</dd><dt>Ngày chứng thực</dt><dd>{}</dd>\
             <dt>Người chứng thực</dt><dd>{}</dd><dt>Cơ quan</dt><dd>{}</dd><dt>Trạng thái trong sổ</dt><dd>{}</dd>",
            e.number,
            esc(&e.book),
            e.year,
            esc(&e.certified_at),
            esc(&e.certifier),
            esc(&e.agency),
            if e.status == "issued" { "đã cấp" } else { "đã huỷ" }
        );
    } else {
        s.push_str("<dt>Sổ chứng thực</dt><dd class=\"error\">không có mục tương ứng</dd>");
    }
    for sig in &report.signatures {
        let _ = write!(
            s,
            "<dt>Chữ ký số</dt><dd>{} — {} {}</dd>",
            esc(&sig.signer),
            esc(sig.signed_at.as_deref().unwrap_or("")),
            if sig.valid {
                "(hợp lệ)"
            } else {
                "(không hợp lệ)"
            }
        );
    }
    let _ = write!(s, "</dl><p class=\"hint\">{}</p>", esc(&report.message_vi));
    s
}
