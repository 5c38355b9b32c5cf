//! Certification from the web page: the certifier confirms the comparison with the
//! original; the copy is stamped, numbered in the register and signed with the office's
//! key, and stored as a document of the same dossier (its source PDF kept with it).

use axum::extract::{Path as UrlPath, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use time::OffsetDateTime;

use super::session::CsrfForm;
use super::{WebError, WebResult, WebState};
use crate::certify::copy::CertifyRequest;
use crate::certify::issuer::{IssueError, Issuer};
use crate::certify::pades::Placement;
use crate::certify::register::Details;
use crate::store::{CitizenId, Date, Document, FileRole, NewDocument, NewFile, Title, UserRole};

/// The certification form.
#[derive(Deserialize)]
pub struct CertifyForm {
    #[serde(default)]
    compared: Option<String>,
    #[serde(default)]
    requester: String,
    #[serde(default)]
    original_title: String,
    #[serde(default)]
    copies: String,
}

impl CertifyForm {
    /// The register columns the clerk filled in, checked; the fee follows the pages.
    fn details(&self, pages: u32) -> WebResult<Details> {
        let text = |value: &str, what: &str| -> WebResult<Option<String>> {
            let value = value.trim();
            if value.chars().count() > 300 || value.chars().any(char::is_control) {
                return Err(WebError::bad_request(format!("{what} không hợp lệ.")));
            }
            Ok((!value.is_empty()).then(|| value.to_string()))
        };
        let copies = match self.copies.trim() {
            "" => 1,
            n => n
                .parse::<u32>()
                .ok()
                .filter(|c| (1..=100).contains(c))
                .ok_or_else(|| WebError::bad_request("Số bản phải từ 1 đến 100."))?,
        };
        Ok(Details {
            requester: text(&self.requester, "Người yêu cầu")?,
            original_title: text(&self.original_title, "Tên giấy tờ")?,
            copies,
            fee_vnd: Some(super::documents::certification_fee(pages) * u64::from(copies)),
        })
    }
}

/// `POST /documents/{id}/certify`: 403 without the certifier role or the CSRF token,
/// 400 without the comparison confirmed, 503 without a signing key.
pub async fn certify(
    State(state): State<WebState>,
    UrlPath(id): UrlPath<String>,
    CsrfForm(session, form): CsrfForm<CertifyForm>,
) -> WebResult<Response> {
    session.require(UserRole::Certifier, "chứng thực")?;
    if form.compared.is_none() {
        return Err(WebError::bad_request(
            "Phải xác nhận đã đối chiếu bản sao với bản chính trước khi chứng thực.",
        ));
    }
    if state.config.signer.is_none() {
        return Err(WebError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "Máy chủ chưa được cấu hình khóa ký số: chưa chứng thực được.",
        ));
    }
    let doc = state.document(id.clone()).await?;
    let details = form.details(doc.page_count)?;
    let certifier = session.user.display_name.clone();
    let by = session.user.username.clone();
    let copy = state
        .blocking(move |s| issue(s, &doc, &certifier, &by, details))
        .await?;
    state
        .audit(
            &session,
            format!("POST /documents/{id}/certify"),
            vec![id, copy.id.clone()],
        )
        .await?;
    Ok(Redirect::to(&format!("/documents/{}", copy.id)).into_response())
}

/// Signs and stores the copy while holding the register's lock: the number is taken
/// only when the copy is stored.
fn issue(
    state: &WebState,
    doc: &Document,
    certifier: &str,
    by: &str,
    details: Details,
) -> WebResult<Document> {
    let signer = state
        .config
        .signer
        .as_ref()
        .ok_or_else(|| WebError::internal("no signer"))?;
    if doc.superseded_by.is_some() || doc.files.iter().any(|f| f.role == FileRole::Certified) {
        return Err(WebError::bad_request(
            "Tài liệu này đã được thay thế hoặc đã là bản sao chứng thực.",
        ));
    }
    let source = doc
        .files
        .iter()
        .find(|f| f.role == FileRole::Pdf)
        .ok_or_else(|| WebError::bad_request("Tài liệu không có tệp PDF để chứng thực."))?;
    let store = &state.app.store;
    let pdf = store.read_blob(&source.sha256)?;
    let text = match doc.files.iter().find(|f| f.role == FileRole::Text) {
        Some(f) => String::from_utf8_lossy(&store.read_blob(&f.sha256)?).into_owned(),
        None => String::new(),
    };
    let request = CertifyRequest {
        certifier: certifier.to_string(),
        agency: signer.agency_name.clone(),
        book: signer.book.clone(),
        time: OffsetDateTime::now_utc(),
        placement: Placement::default(),
        long_term: signer.long_term.clone(),
        details,
        verify_url: state.config.public_url.clone(),
    };
    let mut issuer = Issuer::open(&state.config.register_dir, signer.key.as_ref())
        .map_err(WebError::internal)?;
    let issued = issuer.issue(&pdf, &request, |copy, number| {
        let new = copy_metadata(doc, by)?;
        let mut files = vec![
            NewFile {
                role: FileRole::Certified,
                name: format!("ban-sao-chung-thuc-{}-{number}.pdf", request.book),
                bytes: copy.pdf.clone(),
            },
            NewFile {
                role: FileRole::Original,
                name: source.name.clone(),
                bytes: pdf.clone(),
            },
        ];
        if let Some(report) = doc.files.iter().find(|f| f.role == FileRole::Report) {
            files.push(NewFile {
                role: FileRole::Report,
                name: report.name.clone(),
                bytes: store.read_blob(&report.sha256)?,
            });
        }
        Ok::<_, WebError>(store.add_document(
            &new,
            &files,
            &text,
            Some(&copy.reference),
            doc.page_count,
        )?)
    });
    match issued {
        Ok(issued) => {
            crate::server::metrics::metrics().certified(issued.copy.level);
            Ok(issued.kept)
        }
        Err(IssueError::Certify(e)) => Err(WebError::bad_request(format!("Không ký được: {e}"))),
        Err(IssueError::Keep(e)) => Err(e),
        Err(IssueError::Register(e)) => Err(WebError::internal(e)),
    }
}

/// The copy's metadata: the source document's, stored by `by`.
fn copy_metadata(doc: &Document, by: &str) -> WebResult<NewDocument> {
    Ok(NewDocument {
        dossier_code: doc.dossier_code.clone(),
        procedure_code: doc.procedure_code.clone(),
        citizen_id: CitizenId::parse(&doc.citizen_id)?,
        agency: doc.agency.clone(),
        kind: doc.kind.clone(),
        title: Title::parse(&doc.title)?,
        role: doc.role,
        created_by: by.to_string(),
        valid_until: doc.valid_until.as_deref().map(Date::parse).transpose()?,
        supersedes: None,
    })
}
