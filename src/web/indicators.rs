//! The indicators page: the province's digitization and reuse rates for a period, as a
//! table and an inline SVG chart (no external assets; prints on one page).

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;

use super::html::{layout, local_today};
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
    let body = html! {
        h1 { "Chỉ số số hoá và tái sử dụng" }
        (period_form(&query))
        p.hint {
            "Từ " (query.from) " đến " (query.to) ". Tỷ lệ tính trên số hồ sơ tiếp nhận trong kỳ \
             (kết quả: trên số hồ sơ trả kết quả trong kỳ)."
        }
        (chart(&rows))
        (table(&rows))
    };
    Ok(layout("Chỉ số", Some(&session), body).into_response())
}

fn period_form(query: &IndicatorQuery) -> Markup {
    let groupings = [
        ("", "cả kỳ", GroupBy::None),
        ("month", "tháng", GroupBy::Month),
        ("agency", "cơ quan", GroupBy::Agency),
        ("procedure", "thủ tục", GroupBy::Procedure),
    ];
    html! {
        form method="get" action="/indicators" class="card period no-print" id="period" {
            label for="from" { "Từ ngày" }
            input id="from" name="from" type="date" value=(query.from);
            label for="to" { "Đến ngày" }
            input id="to" name="to" type="date" value=(query.to);
            label for="by" { "Theo" }
            select id="by" name="by" {
                @for (value, label, by) in groupings {
                    option value=(value) selected[query.by == by] { (label) }
                }
            }
            button { "Xem" }
            " "
            button type="button" onclick="window.print()" { "In" }
        }
    }
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".into(), |r| format!("{:.1} %", r * 100.0))
}

fn table(rows: &[Indicators]) -> Markup {
    html! {
        table.indicators id="indicators" {
            thead { tr {
                th { "Nhóm" } th { "Hồ sơ tiếp nhận" } th { "Số hoá đầy đủ" } th { "Tỷ lệ" }
                th { "Hồ sơ trả kết quả" } th { "Kết quả số hoá" } th { "Tỷ lệ" }
                th { "Tái sử dụng" } th { "Tỷ lệ" } th { "Bản sao chứng thực" }
            } }
            tbody {
                @for r in rows {
                    tr data-group=(r.group) {
                        td { (group_label(&r.group)) }
                        td { (r.dossiers) }
                        td { (r.dossiers_fully_digitized) }
                        td { (percent(r.digitization_rate)) }
                        td { (r.results) }
                        td { (r.results_digitized) }
                        td { (percent(r.results_digitization_rate)) }
                        td { (r.dossiers_with_reuse) }
                        td.reuse-rate { (percent(r.reuse_rate)) }
                        td { (r.certified_copies) }
                    }
                }
            }
        }
    }
}

fn group_label(group: &str) -> &str {
    if group == "all" {
        "Cả kỳ"
    } else {
        group
    }
}

/// Horizontal bars, one group per block of three bars (0–100 %). SVG elements are
/// written with closing tags: inside HTML, `<rect>` is not a void element.
fn chart(rows: &[Indicators]) -> Markup {
    const LABEL: f64 = 150.0;
    const WIDTH: f64 = 460.0;
    const BAR: f64 = 12.0;
    let block = BAR * 3.0 + 14.0;
    let height = 40.0 + block * rows.len() as f64;
    let view_box = format!("0 0 {} {height}", LABEL + WIDTH + 60.0);
    html! {
        svg.chart id="chart" role="img" aria-label="Biểu đồ tỷ lệ" viewBox=(view_box)
            width="100%" xmlns="http://www.w3.org/2000/svg" {
            @for (i, (label, colour)) in SERIES.iter().enumerate() {
                @let x = LABEL + i as f64 * 160.0;
                rect x=(x) y="4" width="10" height="10" fill=(colour) {}
                text x=(x + 14.0) y="13" font-size="11" { (label) }
            }
            @for (row, r) in rows.iter().enumerate() {
                @let top = 30.0 + row as f64 * block;
                text x="0" y=(top + BAR * 1.5 + 4.0) font-size="12" { (group_label(&r.group)) }
                @for (i, rate) in [r.digitization_rate, r.results_digitization_rate, r.reuse_rate].iter().enumerate() {
                    @let y = top + i as f64 * BAR;
                    @let width = rate.unwrap_or(0.0).clamp(0.0, 1.0) * WIDTH;
                    rect x=(LABEL) y=(y) width=(format!("{width:.1}")) height=(BAR - 2.0) fill=(SERIES[i].1) {}
                    text x=(format!("{:.1}", LABEL + width + 4.0)) y=(y + BAR - 3.0) font-size="10" { (percent(*rate)) }
                }
            }
        }
    }
}
