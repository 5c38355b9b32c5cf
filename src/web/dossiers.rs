//! Receiving a dossier: the clerk picks the procedure from the catalogue (searched
//! without diacritics) and types the personal ID; the dossier page then lists each
//! component of the procedure — already in the dossier, on file from another dossier
//! (attach with one click), out of date, or missing (capture it, its kind carried along).

use axum::extract::{Path as UrlPath, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

use super::html::{csrf_input, layout, local_today, text_field};
use super::session::{CsrfForm, Session};
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
    let body = html! {
        h1 { "Tiếp nhận hồ sơ mới" }
        form method="get" action="/dossiers/new" class="card search" id="procedure-search" {
            label for="q" { "Tìm thủ tục (gõ không dấu cũng được)" }
            input id="q" name="q" value=(q) autocomplete="off";
            button { "Tìm" }
        }
        (new_dossier_form(&session, &procedures))
    };
    Ok(layout("Tiếp nhận hồ sơ", Some(&session), body).into_response())
}

fn new_dossier_form(session: &Session, procedures: &[Procedure]) -> Markup {
    if procedures.is_empty() {
        return html! {
            p id="no-procedure" {
                "Không có thủ tục nào khớp. Danh mục thủ tục do quản trị nhập bằng "
                code { "sohoa catalog import" } "."
            }
        };
    }
    html! {
        form method="post" action="/dossiers" id="new-dossier" class="card" {
            (csrf_input(session))
            label for="procedure_code" { "Thủ tục hành chính (" (procedures.len()) " thủ tục)" }
            select id="procedure_code" name="procedure_code" size=(procedures.len().clamp(2, 8)) required {
                @for p in procedures {
                    option value=(p.code) data-folded=(fold(&format!("{} {}", p.code, p.name))) {
                        (p.name) " — " (p.code)
                    }
                }
            }
            label for="citizen_id" { "Số định danh cá nhân (12 số)" }
            input id="citizen_id" name="citizen_id" value="" required inputmode="numeric" pattern="[0-9]{12}";
            (text_field("dossier_code", "Mã hồ sơ", "", true))
            button id="new-dossier-submit" { "Tiếp nhận và xem giấy tờ đã có" }
        }
    }
}

/// The new-dossier form.
#[derive(Deserialize)]
pub struct NewDossierForm {
    procedure_code: String,
    citizen_id: String,
    dossier_code: String,
}

/// `POST /dossiers`: opens the dossier (received today) and shows what is on file.
pub async fn create_dossier(
    State(state): State<WebState>,
    CsrfForm(session, form): CsrfForm<NewDossierForm>,
) -> WebResult<Response> {
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
    let procedure = on_file
        .as_ref()
        .map_or(&dossier.procedure_code, |f| &f.procedure_name);
    let body = html! {
        h1 { "Hồ sơ " (dossier.code) }
        dl.facts {
            dt { "Thủ tục" } dd { (procedure) }
            dt { "Số định danh" } dd { (dossier.citizen_id) }
            @if let Some(day) = &dossier.received_on {
                dt { "Ngày tiếp nhận" } dd { (vietnamese_day(day)) }
            }
        }
        @if let Some(found) = &on_file {
            (checklist(&session, &dossier, found, &docs))
        }
        h2 { "Tài liệu trong hồ sơ" }
        (super::documents::document_table(&docs))
    };
    Ok(layout(&format!("Hồ sơ {code}"), Some(&session), body).into_response())
}

/// One row per component: in the dossier, on file (attach), out of date, or missing.
fn checklist(session: &Session, dossier: &Dossier, found: &OnFile, docs: &[Document]) -> Markup {
    html! {
        h2 { "Thành phần hồ sơ" }
        table.checklist id="checklist" {
            thead { tr { th { "Giấy tờ" } th { "Tình trạng" } th {} } }
            tbody {
                @for c in &found.components {
                    (component_row(session, dossier, c, docs))
                }
            }
        }
    }
}

fn component_row(session: &Session, dossier: &Dossier, c: &Component, docs: &[Document]) -> Markup {
    let held: Vec<&Document> = docs.iter().filter(|d| d.kind == c.kind).collect();
    let (state, cells) = if !held.is_empty() {
        ("held", held_cells(&held))
    } else {
        match c.status {
            Status::Available => ("available", reuse_cells(session, dossier, c)),
            Status::Expired => ("expired", expired_cells(dossier, c)),
            Status::Missing => ("missing", capture_cells(dossier, c, "Còn thiếu")),
        }
    };
    html! {
        tr class={ "component " (state) } data-kind=(c.kind) data-state=(state) {
            td {
                (c.name)
                @if !c.required { " " small { "(không bắt buộc)" } }
            }
            (cells)
        }
    }
}

fn held_cells(held: &[&Document]) -> Markup {
    html! {
        td { span class="badge ok" { "Đã có" } }
        td {
            @for (i, d) in held.iter().enumerate() {
                @if i > 0 { br; }
                a href={ "/documents/" (d.id) } { (d.title) }
            }
        }
    }
}

fn reuse_cells(session: &Session, dossier: &Dossier, c: &Component) -> Markup {
    html! {
        td { span.badge { "Đã có trong kho — dùng lại" } }
        td {
            @for d in &c.candidates {
                form method="post" action={ "/dossiers/" (dossier.code) "/attach" } class="reuse" {
                    (csrf_input(session))
                    input type="hidden" name="document_id" value=(d.id);
                    a href={ "/documents/" (d.id) } { (d.title) }
                    " " small { (candidate_facts(d)) } " "
                    button.attach data-document=(d.id) { "Dùng lại" }
                }
            }
        }
    }
}

fn candidate_facts(d: &Candidate) -> String {
    let mut facts = format!(
        "hồ sơ {}, lưu {}",
        d.dossier_code,
        vietnamese_day(&d.stored_on)
    );
    if let Some(until) = &d.valid_until {
        facts.push_str(&format!(", dùng được đến {}", vietnamese_day(until)));
    }
    if d.certified {
        facts.push_str(", bản sao chứng thực");
    }
    facts
}

fn expired_cells(dossier: &Dossier, c: &Component) -> Markup {
    let last = c
        .expired
        .first()
        .and_then(|d| d.valid_until.clone())
        .unwrap_or_default();
    capture_cells(
        dossier,
        c,
        &format!("Bản đã có hết hiệu lực ({last}) — cần bản mới"),
    )
}

fn capture_cells(dossier: &Dossier, c: &Component, status: &str) -> Markup {
    let href = format!(
        "/capture?dossier={}&kind={}",
        urlencoding(&dossier.code),
        urlencoding(&c.kind)
    );
    html! {
        td { span class="badge warn" { (status) } }
        td { a.capture href=(href) { "Số hoá giấy tờ này" } }
    }
}

/// Percent-encodes a code for a query string (codes are ASCII letters, digits, `._/-`).
fn urlencoding(code: &str) -> String {
    code.replace('/', "%2F")
}

/// The attach button's form.
#[derive(Deserialize)]
pub struct AttachForm {
    document_id: String,
}

/// `POST /dossiers/{code}/attach`: reuses a stored document of the same person in this
/// dossier.
pub async fn attach(
    State(state): State<WebState>,
    UrlPath(code): UrlPath<String>,
    CsrfForm(session, form): CsrfForm<AttachForm>,
) -> WebResult<Response> {
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
