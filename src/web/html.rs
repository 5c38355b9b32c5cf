//! HTML pieces: escaping, the page frame, small form helpers. Pages are plain strings:
//! a handful of screens does not justify a template engine.

use std::fmt::Write;

use axum::response::Html;

use super::session::Session;
pub use crate::calendar::{local_date, local_time, local_today};
use crate::store::UserRole;

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page: head, navigation for a signed-in clerk (with the CSRF token in a meta
/// tag for scripts), `body`.
pub fn layout(title: &str, session: Option<&Session>, body: &str) -> Html<String> {
    let mut page = String::with_capacity(body.len() + 2048);
    let _ = write!(
        page,
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · sohoa</title><link rel=\"stylesheet\" href=\"/static/app.css\">",
        esc(title)
    );
    if let Some(s) = session {
        let _ = write!(
            page,
            "<meta name=\"csrf-token\" content=\"{}\">",
            esc(&s.csrf)
        );
    }
    page.push_str("<script src=\"/static/app.js\" defer></script></head><body>");
    page.push_str(&nav(session));
    page.push_str("<main>");
    page.push_str(body);
    page.push_str("</main></body></html>");
    Html(page)
}

fn nav(session: Option<&Session>) -> String {
    let Some(s) = session else {
        return "<header><a class=\"brand\" href=\"/\">sohoa</a></header>".into();
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
    let mut out = String::from("<header><a class=\"brand\" href=\"/\">sohoa</a><nav>");
    for (id, href, label) in links {
        let _ = write!(out, "<a id=\"{id}\" href=\"{href}\">{label}</a>");
    }
    let _ = write!(
        out,
        "</nav><form method=\"post\" action=\"/logout\" id=\"logout\">{}\
         <span class=\"who\">{}</span> <button id=\"logout-submit\">Đăng xuất</button></form></header>",
        csrf_input(s),
        esc(&s.user.display_name)
    );
    out
}

/// The hidden CSRF field every form of a signed-in page carries.
pub fn csrf_input(session: &Session) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(&session.csrf)
    )
}

/// A labelled text input.
pub fn text_field(id: &str, label: &str, value: &str, extra: &str) -> String {
    format!(
        "<label for=\"{id}\">{label}</label>\
         <input id=\"{id}\" name=\"{id}\" value=\"{}\" {extra}>",
        esc(value)
    )
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
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<a href=\"x\">Đ&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;Đ&amp;&#39;&lt;/a&gt;"
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
