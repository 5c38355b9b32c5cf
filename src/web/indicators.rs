//! The indicators page: the province's digitization and reuse rates for a period, as a
//! table and an inline SVG chart (no external assets; prints on one page).

use std::fmt::Write;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::html::{esc, layout, local_today};
use super::session::Session;
use super::{WebError, WebResult, WebState};
use crate::store::{GroupBy, IndicatorQuery, Indicators};

/// The period form.
#[derive(Deserialize)]
pub struct Period {
    from: Option<String>,
    to: Option<String>,
    #[serde(default)]
    by: String,
}

/// The three rates charted, with their labels and colours.
const SERIES: [(&str, &str); 3] = [
    ("Hồ sơ số hoá đầy đủ", "#2b6cb0"),
    ("Kết quả được số hoá", "#2f855a"),
    ("Hồ sơ tái sử dụng dữ liệu", "#c05621"),
];

/// `GET /indicators?from=&to=&by=`: defaults to this year up to today.
pub async fn indicators_page(
    State(state): State<WebState>,
    session: Session,
    Query(period): Query<Period>,
) -> WebResult<Response> {
    let today = local_today();
    let query = IndicatorQuery {
        from: period
            .from
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| format!("{}-01-01", &today[..4])),
        to: period.to.filter(|t| !t.is_empty()).unwrap_or(today),
        agency: None,
        by: period
            .by
            .parse::<GroupBy>()
            .map_err(WebError::bad_request)?,
    };
    let asked = query.clone();
    let rows = state
        .blocking(move |s| Ok(s.app.store.indicators(&asked)?))
        .await?;
    let body = format!(
        "<h1>Chỉ số số hoá và tái sử dụng</h1>{}<p class=\"hint\">Từ {} đến {}. Tỷ lệ tính trên số hồ sơ \
         tiếp nhận trong kỳ (kết quả: trên số hồ sơ trả kết quả trong kỳ).</p>{}{}",
        period_form(&query),
        esc(&query.from),
        esc(&query.to),
        chart(&rows),
        table(&rows)
    );
    Ok(layout("Chỉ số", Some(&session), &body).into_response())
}

fn period_form(query: &IndicatorQuery) -> String {
    let option = |value: &str, label: &str, by: GroupBy| {
        let selected = if query.by == by { " selected" } else { "" };
        format!("<option value=\"{value}\"{selected}>{label}</option>")
    };
    format!(
        "<form method=\"get\" action=\"/indicators\" class=\"card period no-print\" id=\"period\">\
         <label for=\"from\">Từ ngày</label><input id=\"from\" name=\"from\" type=\"date\" value=\"{}\">\
         <label for=\"to\">Đến ngày</label><input id=\"to\" name=\"to\" type=\"date\" value=\"{}\">\
         <label for=\"by\">Theo</label><select id=\"by\" name=\"by\">{}{}{}{}</select>\
         <button>Xem</button> <button type=\"button\" onclick=\"window.print()\">In</button></form>",
        esc(&query.from),
        esc(&query.to),
        option("", "cả kỳ", GroupBy::None),
        option("month", "tháng", GroupBy::Month),
        option("agency", "cơ quan", GroupBy::Agency),
        option("procedure", "thủ tục", GroupBy::Procedure),
    )
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".into(), |r| format!("{:.1} %", r * 100.0))
}

fn table(rows: &[Indicators]) -> String {
    let mut s = String::from(
        "<table class=\"indicators\" id=\"indicators\"><thead><tr><th>Nhóm</th>\
         <th>Hồ sơ tiếp nhận</th><th>Số hoá đầy đủ</th><th>Tỷ lệ</th>\
         <th>Hồ sơ trả kết quả</th><th>Kết quả số hoá</th><th>Tỷ lệ</th>\
         <th>Tái sử dụng</th><th>Tỷ lệ</th><th>Bản sao chứng thực</th></tr></thead><tbody>",
    );
    for r in rows {
        let _ = write!(
            s,
            "<tr data-group=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td class=\"reuse-rate\">{}</td><td>{}</td></tr>",
            esc(&r.group),
            esc(group_label(&r.group)),
            r.dossiers,
            r.dossiers_fully_digitized,
            percent(r.digitization_rate),
            r.results,
            r.results_digitized,
            percent(r.results_digitization_rate),
            r.dossiers_with_reuse,
            percent(r.reuse_rate),
            r.certified_copies
        );
    }
    s.push_str("</tbody></table>");
    s
}

fn group_label(group: &str) -> &str {
    if group == "all" {
        "Cả kỳ"
    } else {
        group
    }
}

/// Horizontal bars, one group per block of three bars (0–100 %).
fn chart(rows: &[Indicators]) -> String {
    const LABEL: f64 = 150.0;
    const WIDTH: f64 = 460.0;
    const BAR: f64 = 12.0;
    let block = BAR * 3.0 + 14.0;
    let height = 40.0 + block * rows.len() as f64;
    let mut s = format!(
        "<svg class=\"chart\" id=\"chart\" role=\"img\" aria-label=\"Biểu đồ tỷ lệ\" \
         viewBox=\"0 0 {} {height}\" width=\"100%\" xmlns=\"http://www.w3.org/2000/svg\">",
        LABEL + WIDTH + 60.0
    );
    for (i, (label, colour)) in SERIES.iter().enumerate() {
        let x = LABEL + i as f64 * 160.0;
        let _ = write!(
            s,
            "<rect x=\"{x}\" y=\"4\" width=\"10\" height=\"10\" fill=\"{colour}\"/>\
             <text x=\"{}\" y=\"13\" font-size=\"11\">{label}</text>",
            x + 14.0
        );
    }
    for (row, r) in rows.iter().enumerate() {
        let top = 30.0 + row as f64 * block;
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{}\" font-size=\"12\">{}</text>",
            top + BAR * 1.5 + 4.0,
            esc(group_label(&r.group))
        );
        let rates = [
            r.digitization_rate,
            r.results_digitization_rate,
            r.reuse_rate,
        ];
        for (i, rate) in rates.iter().enumerate() {
            let y = top + i as f64 * BAR;
            let width = rate.unwrap_or(0.0).clamp(0.0, 1.0) * WIDTH;
            let _ = write!(
                s,
                "<rect x=\"{LABEL}\" y=\"{y}\" width=\"{width:.1}\" height=\"{}\" fill=\"{}\"/>\
                 <text x=\"{:.1}\" y=\"{}\" font-size=\"10\">{}</text>",
                BAR - 2.0,
                SERIES[i].1,
                LABEL + width + 4.0,
                y + BAR - 3.0,
                percent(*rate)
            );
        }
    }
    s.push_str("</svg>");
    s
}
