//! Receiving a dossier: the clerk picks the procedure from the catalogue (searched
//! without diacritics) and types the personal ID; the dossier page then lists each
//! component of the procedure — already in the dossier, on file from another dossier
//! (attach with one click), out of date, or missing (capture it, its kind carried along).

use std::fmt::Write;

use axum::extract::{Path as UrlPath, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::html::{csrf_input, esc, layout, local_today, text_field};
use super::session::Session;
use super::{WebError, WebResult, WebState};
use crate::calendar::vietnamese_day;
use crate::store::reuse::{Candidate, Component, Status};
use crate::store::{fold, Document, Dossier, OnFile, Procedure, StoreError, UserRole};

/// The procedure search of the new-dossier page.
#[derive(Deserialize)]
pub struct NewParams {
    #[serde(default)]
    q: String,
}

/// `GET /dossiers/new?q=`: the procedure (filtered by `q`, diacritics optional), the
/// personal ID and the dossier code.
pub async fn new_dossier_page(
    State(state): State<WebState>,
    session: Session,
    Query(params): Query<NewParams>,
) -> WebResult<Response> {
    session.require(UserRole::Clerk, "tiếp nhận hồ sơ")?;
    let q = params.q.trim().to_string();
    if q.chars().count() > 200 || q.chars().any(char::is_control) {
        return Err(WebError::bad_request(
            "Từ khoá dài tối đa 200 ký tự, trên một dòng.",
        ));
    }
    let lookup = q.clone();
    let procedures = state
        .blocking(move |s| Ok(s.app.store.find_procedures(&lookup)?))
        .await?;
    let body = format!(
        "<h1>Tiếp nhận hồ sơ mới</h1>\
         <form method=\"get\" action=\"/dossiers/new\" class=\"card search\" id=\"procedure-search\">\
         <label for=\"q\">Tìm thủ tục (gõ không dấu cũng được)</label>\
         <input id=\"q\" name=\"q\" value=\"{}\" autocomplete=\"off\"><button>Tìm</button></form>{}",
        esc(&q),
        new_dossier_form(&session, &procedures)
    );
    Ok(layout("Tiếp nhận hồ sơ", Some(&session), &body).into_response())
}

fn new_dossier_form(session: &Session, procedures: &[Procedure]) -> String {
    if procedures.is_empty() {
        return "<p id=\"no-procedure\">Không có thủ tục nào khớp. Danh mục thủ tục do quản trị \
                nhập bằng <code>sohoa catalog import</code>.</p>"
            .into();
    }
    let mut options = String::new();
    for p in procedures {
        let _ = write!(
            options,
            "<option value=\"{}\" data-folded=\"{}\">{} — {}</option>",
            esc(&p.code),
            esc(&fold(&format!("{} {}", p.code, p.name))),
            esc(&p.name),
            esc(&p.code)
        );
    }
    format!(
        "<form method=\"post\" action=\"/dossiers\" id=\"new-dossier\" class=\"card\">{}\
         <label for=\"procedure_code\">Thủ tục hành chính ({} thủ tục)</label>\
         <select id=\"procedure_code\" name=\"procedure_code\" size=\"{}\" required>{options}</select>\
         {}{}<button id=\"new-dossier-submit\">Tiếp nhận và xem giấy tờ đã có</button></form>",
        csrf_input(session),
        procedures.len(),
        procedures.len().clamp(2, 8),
        text_field(
            "citizen_id",
            "Số định danh cá nhân (12 số)",
            "",
            "required inputmode=\"numeric\" pattern=\"[0-9]{12}\""
        ),
        text_field("dossier_code", "Mã hồ sơ", "", "required"),
    )
}

/// The new-dossier form.
#[derive(Deserialize)]
pub struct NewDossierForm {
    #[serde(default)]
    csrf: String,
    procedure_code: String,
    citizen_id: String,
    dossier_code: String,
}

/// `POST /dossiers`: opens the dossier (received today) and shows what is on file.
pub async fn create_dossier(
    State(state): State<WebState>,
    session: Session,
    Form(form): Form<NewDossierForm>,
) -> WebResult<Response> {
    session.check_csrf(&form.csrf)?;
    session.require(UserRole::Clerk, "tiếp nhận hồ sơ")?;
    let dossier = Dossier {
        code: form.dossier_code.trim().into(),
        procedure_code: form.procedure_code.trim().into(),
        citizen_id: form.citizen_id.trim().into(),
        agency: state.config.agency.clone(),
        received_on: Some(local_today()),
        returned_on: None,
    };
    let code = dossier.code.clone();
    state
        .blocking(move |s| {
            if s.app.store.procedure(&dossier.procedure_code)?.is_none() {
                return Err(WebError::bad_request(
                    "Thủ tục này không có trong danh mục.",
                ));
            }
            if let Some(existing) = s.app.store.dossier(&dossier.code)? {
                if existing.procedure_code != dossier.procedure_code {
                    return Err(WebError::bad_request(format!(
                        "Mã hồ sơ {} đã được dùng cho thủ tục khác.",
                        dossier.code
                    )));
                }
            }
            Ok(s.app.store.open_dossier(&dossier)?)
        })
        .await?;
    Ok(Redirect::to(&format!("/dossiers/{code}")).into_response())
}

/// `GET /dossiers/{code}`: the dossier, its documents (own and reused), and — when its
/// procedure is in the catalogue — what each component has on file.
pub async fn dossier_page(
    State(state): State<WebState>,
    session: Session,
    UrlPath(code): UrlPath<String>,
) -> WebResult<Response> {
    let lookup = code.clone();
    let (dossier, docs, on_file) = state
        .blocking(move |s| {
            let store = &s.app.store;
            let dossier = store
                .dossier(&lookup)?
                .ok_or_else(|| WebError::not_found("Không có hồ sơ này."))?;
            let docs = store.documents_by_dossier(&lookup)?;
            // A procedure missing from the catalogue has no checklist.
            let on_file =
                match store.reuse(&dossier.citizen_id, &dossier.procedure_code, None, |_| true) {
                    Ok(found) => Some(found),
                    Err(StoreError::NotFound(_)) => None,
                    Err(e) => return Err(e.into()),
                };
            Ok((dossier, docs, on_file))
        })
        .await?;
    let mut shown: Vec<String> = docs.iter().map(|d| d.id.clone()).collect();
    if let Some(found) = &on_file {
        shown.extend(
            found
                .components
                .iter()
                .flat_map(|c| c.candidates.iter().map(|d| d.id.clone())),
        );
    }
    state
        .audit(&session, format!("GET /dossiers/{code}"), shown)
        .await?;
    let mut body = format!(
        "<h1>Hồ sơ {}</h1><dl class=\"facts\"><dt>Thủ tục</dt><dd>{}</dd><dt>Số định danh</dt><dd>{}</dd>{}</dl>",
        esc(&dossier.code),
        esc(on_file.as_ref().map_or(&dossier.procedure_code, |f| &f.procedure_name)),
        esc(&dossier.citizen_id),
        dossier
            .received_on
            .as_deref()
            .map(|d| format!("<dt>Ngày tiếp nhận</dt><dd>{}</dd>", esc(&vietnamese_day(d))))
            .unwrap_or_default()
    );
    if let Some(found) = &on_file {
        body.push_str(&checklist(&session, &dossier, found, &docs));
    }
    body.push_str("<h2>Tài liệu trong hồ sơ</h2>");
    body.push_str(&super::documents::document_table(&docs));
    Ok(layout(&format!("Hồ sơ {code}"), Some(&session), &body).into_response())
}

/// One row per component: in the dossier, on file (attach), out of date, or missing.
fn checklist(session: &Session, dossier: &Dossier, found: &OnFile, docs: &[Document]) -> String {
    let mut s = String::from(
        "<h2>Thành phần hồ sơ</h2><table class=\"checklist\" id=\"checklist\"><thead><tr>\
         <th>Giấy tờ</th><th>Tình trạng</th><th></th></tr></thead><tbody>",
    );
    for c in &found.components {
        let held: Vec<&Document> = docs.iter().filter(|d| d.kind == c.kind).collect();
        let need = if c.required {
            ""
        } else {
            " <small>(không bắt buộc)</small>"
        };
        let (state, cell) = if !held.is_empty() {
            ("held", held_cell(&held))
        } else {
            match c.status {
                Status::Available => ("available", reuse_cell(session, dossier, c)),
                Status::Expired => ("expired", expired_cell(dossier, c)),
                Status::Missing => ("missing", capture_link(dossier, c, "Còn thiếu")),
            }
        };
        let _ = write!(
            s,
            "<tr class=\"component {state}\" data-kind=\"{}\" data-state=\"{state}\"><td>{}{need}</td>{cell}</tr>",
            esc(&c.kind),
            esc(&c.name)
        );
    }
    s.push_str("</tbody></table>");
    s
}

fn held_cell(held: &[&Document]) -> String {
    let links: Vec<String> = held
        .iter()
        .map(|d| format!("<a href=\"/documents/{}\">{}</a>", d.id, esc(&d.title)))
        .collect();
    format!(
        "<td><span class=\"badge ok\">Đã có</span></td><td>{}</td>",
        links.join("<br>")
    )
}

fn reuse_cell(session: &Session, dossier: &Dossier, c: &Component) -> String {
    let mut s =
        String::from("<td><span class=\"badge\">Đã có trong kho — dùng lại</span></td><td>");
    for d in &c.candidates {
        let _ = write!(
            s,
            "<form method=\"post\" action=\"/dossiers/{}/attach\" class=\"reuse\">{}\
             <input type=\"hidden\" name=\"document_id\" value=\"{}\">\
             <a href=\"/documents/{}\">{}</a> <small>{}</small> \
             <button class=\"attach\" data-document=\"{}\">Dùng lại</button></form>",
            esc(&dossier.code),
            csrf_input(session),
            d.id,
            d.id,
            esc(&d.title),
            esc(&candidate_facts(d)),
            d.id
        );
    }
    s.push_str("</td>");
    s
}

fn candidate_facts(d: &Candidate) -> String {
    let mut facts = format!(
        "hồ sơ {}, lưu {}",
        d.dossier_code,
        vietnamese_day(&d.stored_on)
    );
    if let Some(until) = &d.valid_until {
        let _ = write!(facts, ", dùng được đến {}", vietnamese_day(until));
    }
    if d.certified {
        facts.push_str(", bản sao chứng thực");
    }
    facts
}

fn expired_cell(dossier: &Dossier, c: &Component) -> String {
    let last = c
        .expired
        .first()
        .and_then(|d| d.valid_until.clone())
        .unwrap_or_default();
    capture_link(
        dossier,
        c,
        &format!("Bản đã có hết hiệu lực ({last}) — cần bản mới"),
    )
}

fn capture_link(dossier: &Dossier, c: &Component, status: &str) -> String {
    format!(
        "<td><span class=\"badge warn\">{}</span></td><td><a class=\"capture\" href=\"/capture?dossier={}&amp;kind={}\">Số hoá giấy tờ này</a></td>",
        esc(status),
        urlencoding(&dossier.code),
        urlencoding(&c.kind)
    )
}

/// Percent-encodes a code for a query string (codes are ASCII letters, digits, `._/-`).
fn urlencoding(code: &str) -> String {
    code.replace('/', "%2F")
}

/// The attach button's form.
#[derive(Deserialize)]
pub struct AttachForm {
    #[serde(default)]
    csrf: String,
    document_id: String,
}

/// `POST /dossiers/{code}/attach`: reuses a stored document of the same person in this
/// dossier.
pub async fn attach(
    State(state): State<WebState>,
    session: Session,
    UrlPath(code): UrlPath<String>,
    Form(form): Form<AttachForm>,
) -> WebResult<Response> {
    session.check_csrf(&form.csrf)?;
    session.require(UserRole::Clerk, "gắn tài liệu vào hồ sơ")?;
    let doc = state.document(form.document_id.trim().to_string()).await?;
    let by = session.user.username.clone();
    let (lookup, id) = (code.clone(), doc.id.clone());
    state
        .blocking(move |s| {
            let dossier = s
                .app
                .store
                .dossier(&lookup)?
                .ok_or_else(|| WebError::not_found("Không có hồ sơ này."))?;
            Ok(s.app.store.attach(&id, &dossier, &by)?)
        })
        .await?;
    state
        .audit(
            &session,
            format!("POST /dossiers/{code}/attach {}", doc.id),
            vec![doc.id.clone()],
        )
        .await?;
    Ok(Redirect::to(&format!("/dossiers/{code}")).into_response())
}
