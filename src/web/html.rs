//! HTML pieces: the page frame and small form helpers. Pages are `maud` templates, which
//! escape every interpolated value unless it is explicitly marked as markup.

use axum::response::Html;
use maud::{html, Markup, DOCTYPE};

use super::session::Session;
pub use crate::calendar::{local_date, local_time, local_today};
use crate::store::UserRole;

/// A whole page: head, navigation for a signed-in clerk (with the CSRF token in a meta
/// tag for scripts), `body`.
pub fn layout(title: &str, session: Option<&Session>, body: Markup) -> Html<String> {
    let page = html! {
        (DOCTYPE)
        html lang="vi" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · sohoa" }
                link rel="stylesheet" href="/static/app.css";
                @if let Some(s) = session {
                    meta name="csrf-token" content=(s.csrf);
                }
                script src="/static/app.js" defer {}
            }
            body {
                (nav(session))
                main { (body) }
            }
        }
    };
    Html(page.into_string())
}

fn nav(session: Option<&Session>) -> Markup {
    let Some(s) = session else {
        return html! { header { a.brand href="/" { "sohoa" } } };
    };
    let mut links = vec![
        ("nav-home", "/", "Trang chính"),
        ("nav-receive", "/dossiers/new", "Tiếp nhận"),
        ("nav-capture", "/capture", "Số hoá"),
        ("nav-search", "/search", "Tìm kiếm"),
        ("nav-register", "/register", "Sổ chứng thực"),
        ("nav-indicators", "/indicators", "Chỉ số"),
    ];
    if s.user.has(UserRole::Admin) {
        links.push(("nav-admin", "/admin", "Quản trị"));
    }
    html! {
        header {
            a.brand href="/" { "sohoa" }
            nav {
                @for (id, href, label) in links {
                    a id=(id) href=(href) { (label) }
                }
            }
            form method="post" action="/logout" id="logout" {
                (csrf_input(s))
                span.who { (s.user.display_name) }
                " "
                button id="logout-submit" { "Đăng xuất" }
            }
        }
    }
}

/// The hidden CSRF field every form of a signed-in page carries.
pub fn csrf_input(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// A labelled text input; `required` marks it so.
pub fn text_field(id: &str, label: &str, value: &str, required: bool) -> Markup {
    html! {
        label for=(id) { (label) }
        input id=(id) name=(id) value=(value) required[required];
    }
}

/// Vietnamese thousands grouping: `2000` → `2.000`.
pub fn vnd(amount: u64) -> String {
    let digits = amount.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('.');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_in_content_and_attributes() {
        let hostile = "<a href=\"x\">Đ&'</a>";
        let markup = html! { p title=(hostile) { (hostile) } }.into_string();
        assert!(!markup.contains("<a "), "{markup}");
        assert!(
            markup.contains("&lt;a href=&quot;x&quot;&gt;Đ&amp;"),
            "{markup}"
        );
    }

    #[test]
    fn groups_thousands_the_vietnamese_way() {
        assert_eq!(vnd(0), "0");
        assert_eq!(vnd(2000), "2.000");
        assert_eq!(vnd(200000), "200.000");
        assert_eq!(vnd(1234567), "1.234.567");
    }
}
