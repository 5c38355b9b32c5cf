//! The certification register on the web page: one day's entries of a book, and the
//! same as CSV for the office's paper register or a spreadsheet.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;

use super::html::{layout, local_date, local_time, local_today, vnd};
use super::session::Session;
use super::{WebError, WebResult, WebState};
use crate::certify::register::{Entry, Register};

/// Which day and book.
#[derive(Deserialize)]
pub struct RegisterParams {
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    book: Option<String>,
}

/// The day (`YYYY-MM-DD`, default today in UTC) and book (default the office's).
fn day_and_book(state: &WebState, params: &RegisterParams) -> WebResult<(String, String)> {
    let date = match params.date.as_deref().filter(|d| !d.is_empty()) {
        Some(d) => {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(d, &format)
                .map_err(|_| WebError::bad_request("Ngày không hợp lệ (YYYY-MM-DD)."))?
                .to_string()
        }
        None => local_today(),
    };
    let book = params
        .book
        .clone()
        .filter(|b| !b.is_empty())
        .or_else(|| state.config.signer.as_ref().map(|s| s.book.clone()))
        .unwrap_or_else(|| "01".into());
    if book.len() > 20 || !book.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(WebError::bad_request("Quyển số không hợp lệ."));
    }
    Ok((date, book))
}

async fn entries(state: &WebState, date: &str, book: &str) -> WebResult<Vec<Entry>> {
    let (date, book) = (date.to_string(), book.to_string());
    state
        .blocking(move |s| {
            let year: i32 = date[..4].parse().map_err(WebError::internal)?;
            let mut register =
                Register::open(&s.config.register_dir).map_err(WebError::internal)?;
            let all = register.entries(year, &book).map_err(WebError::internal)?;
            Ok(all
                .into_iter()
                .filter(|e| local_date(&e.certified_at).as_deref() == Some(date.as_str()))
                .collect())
        })
        .await
}

/// `GET /register?date=&book=`.
pub async fn register_page(
    State(state): State<WebState>,
    session: Session,
    Query(params): Query<RegisterParams>,
) -> WebResult<Response> {
    let (date, book) = day_and_book(&state, &params)?;
    let list = entries(&state, &date, &book).await?;
    let csv = format!("/register.csv?date={date}&book={book}");
    let body = html! {
        h1 { "Sổ chứng thực" }
        form method="get" action="/register" class="inline" {
            label for="date" { "Ngày" }
            input id="date" name="date" type="date" value=(date);
            label for="book" { "Quyển số" }
            input id="book" name="book" value=(book) size="4";
            button { "Xem" }
        }
        p { (list.len()) " lượt chứng thực. " a id="register-csv" href=(csv) { "Tải CSV" } }
        table id="register" {
            thead { tr {
                th { "Số" } th { "Thời điểm" } th { "Người yêu cầu" } th { "Tên giấy tờ" }
                th { "Số bản" } th { "Lệ phí" } th { "Người chứng thực" } th { "Mã xác minh" }
                th { "Trạng thái" }
            } }
            tbody { @for e in &list { (entry_row(e)) } }
        }
    };
    Ok(layout("Sổ chứng thực", Some(&session), body).into_response())
}

fn entry_row(e: &Entry) -> Markup {
    html! {
        tr {
            td { (e.number) }
            td { (local_time(&e.certified_at)) }
            td { (e.details.requester.as_deref().unwrap_or("")) }
            td { (e.details.original_title.as_deref().unwrap_or("")) }
            td { (e.details.copies) }
            td { (e.details.fee_vnd.map(vnd).unwrap_or_default()) }
            td { (e.certifier) }
            td { a href={ "/verify?ref=" (e.reference) } { (e.reference) } }
            td {
                @if e.status == "issued" { "đã cấp" }
                @else { "huỷ: " (e.note.as_deref().unwrap_or("")) }
            }
        }
    }
}

/// A cell a spreadsheet shows as text: one starting like a formula (`=`, `+`, `-`, `@`,
/// tab, carriage return) gets a leading apostrophe (OWASP "CSV injection").
fn spreadsheet_safe(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

/// `GET /register.csv?date=&book=`: the same entries as CSV (UTF-8 with BOM, for
/// spreadsheets).
pub async fn register_csv(
    State(state): State<WebState>,
    _session: Session,
    Query(params): Query<RegisterParams>,
) -> WebResult<Response> {
    let (date, book) = day_and_book(&state, &params)?;
    let list = entries(&state, &date, &book).await?;
    let mut writer = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let header_row = [
        "so",
        "quyen",
        "nam",
        "thoi_diem",
        "nguoi_chung_thuc",
        "co_quan",
        "nguoi_ky",
        "ma_xac_minh",
        "sha256_ban_goc",
        "sha256_ban_sao",
        "trang_thai",
        "ghi_chu",
        "nguoi_yeu_cau",
        "ten_giay_to",
        "so_ban",
        "le_phi_dong",
    ];
    writer
        .write_record(header_row)
        .map_err(WebError::internal)?;
    for e in &list {
        let row = [
            e.number.to_string().as_str(),
            &e.book,
            &e.year.to_string(),
            &local_time(&e.certified_at),
            &e.certifier,
            &e.agency,
            &e.signer,
            &e.reference,
            &e.input_sha256,
            &e.output_sha256,
            &e.status,
            e.note.as_deref().unwrap_or(""),
            e.details.requester.as_deref().unwrap_or(""),
            e.details.original_title.as_deref().unwrap_or(""),
            &e.details.copies.to_string(),
            &e.details.fee_vnd.map(|f| f.to_string()).unwrap_or_default(),
        ]
        .map(spreadsheet_safe);
        writer.write_record(&row).map_err(WebError::internal)?;
    }
    let bytes = writer.into_inner().map_err(WebError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"so-chung-thuc-{book}-{date}.csv\""),
            ),
        ],
        bytes,
    )
        .into_response())
}
