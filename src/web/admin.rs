//! Administration on the web page: clerk accounts, agencies and their API keys.
//! Admins only; a new key's secret is shown once.

use std::collections::HashMap;
use std::fmt::Write;

use axum::extract::{Path as UrlPath, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;

use super::html::{csrf_input, esc, layout, text_field};
use super::session::Session;
use super::{WebError, WebResult, WebState};
use crate::store::{users, Scope, User, UserRole};

/// `GET /admin`.
pub async fn admin_page(State(state): State<WebState>, session: Session) -> WebResult<Response> {
    session.require(UserRole::Admin, "quản trị")?;
    let page = state.blocking(move |s| page(s, &session, None)).await?;
    Ok(page)
}

fn page(state: &WebState, session: &Session, secret: Option<&str>) -> WebResult<Response> {
    let store = &state.app.store;
    let mut body = String::from("<h1>Quản trị</h1>");
    if let Some(secret) = secret {
        let _ = write!(
            body,
            "<p class=\"ok\" id=\"new-key\">Khoá API mới (chỉ hiện một lần, hãy chép lại): <code>{}</code></p>",
            esc(secret)
        );
    }
    body.push_str("<h2>Người dùng</h2><table id=\"users\"><thead><tr><th>Tên đăng nhập</th><th>Họ tên</th><th>Vai trò</th><th>Trạng thái</th><th></th></tr></thead><tbody>");
    for u in store.users()? {
        let roles: Vec<&str> = u.roles.iter().map(|r| r.name()).collect();
        let (status, toggle, label) = if u.disabled {
            ("đã khoá", "enable", "Mở khoá")
        } else {
            ("đang dùng", "disable", "Khoá")
        };
        let _ = write!(
            body,
            "<tr><td>{name}</td><td>{}</td><td>{}</td><td>{status}</td><td>\
             <form method=\"post\" action=\"/admin/{toggle}\">{csrf}<input type=\"hidden\" name=\"username\" value=\"{name}\"><button>{label}</button></form>\
             <form method=\"post\" action=\"/admin/remove\">{csrf}<input type=\"hidden\" name=\"username\" value=\"{name}\"><button>Xoá</button></form></td></tr>",
            esc(&u.display_name),
            roles.join(", "),
            name = esc(&u.username),
            csrf = csrf_input(session),
        );
    }
    let _ = write!(
        body,
        "</tbody></table><form method=\"post\" action=\"/admin/users\" class=\"card\" id=\"add-user\">{}{}{}\
         <fieldset><legend>Vai trò</legend>\
         <label class=\"check\"><input type=\"checkbox\" name=\"role_clerk\"> cán bộ số hoá (clerk)</label>\
         <label class=\"check\"><input type=\"checkbox\" name=\"role_certifier\"> người chứng thực (certifier)</label>\
         <label class=\"check\"><input type=\"checkbox\" name=\"role_admin\"> quản trị (admin)</label></fieldset>\
         <label for=\"password\">Mật khẩu (ít nhất {} ký tự)</label><input id=\"password\" name=\"password\" type=\"password\" required>\
         <button>Thêm người dùng</button></form>",
        csrf_input(session),
        text_field("username", "Tên đăng nhập", "", "required"),
        text_field("display_name", "Họ tên", "", "required"),
        users::MIN_PASSWORD_CHARS
    );
    body.push_str("<h2>Cơ quan</h2><ul>");
    for a in store.agencies()? {
        let _ = write!(
            body,
            "<li><code>{}</code> {}</li>",
            esc(&a.code),
            esc(&a.name)
        );
    }
    let _ = write!(
        body,
        "</ul><form method=\"post\" action=\"/admin/agencies\" class=\"card\">{}{}{}<button>Thêm cơ quan</button></form>",
        csrf_input(session),
        text_field("code", "Mã cơ quan", "", "required"),
        text_field("name", "Tên cơ quan", "", "required"),
    );
    body.push_str("<h2>Khoá API</h2><table><thead><tr><th>Mã khoá</th><th>Cơ quan</th><th>Phạm vi</th><th></th></tr></thead><tbody>");
    for k in store.keys()? {
        let scopes: Vec<String> = k.scopes.iter().map(Scope::to_string).collect();
        let action = if k.revoked {
            "đã thu hồi".to_string()
        } else {
            format!(
                "<form method=\"post\" action=\"/admin/revoke\">{}<input type=\"hidden\" name=\"key\" value=\"{}\"><button>Thu hồi</button></form>",
                csrf_input(session),
                esc(&k.id)
            )
        };
        let _ = write!(
            body,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{action}</td></tr>",
            esc(&k.id),
            esc(&k.agency),
            esc(&scopes.join(" "))
        );
    }
    let _ = write!(
        body,
        "</tbody></table><form method=\"post\" action=\"/admin/keys\" class=\"card\">{}{}{}<button>Tạo khoá</button></form>",
        csrf_input(session),
        text_field("agency", "Mã cơ quan", "", "required"),
        text_field("scopes", "Phạm vi (cách nhau bởi dấu cách: read:* read:KIND read:procedure:CODE write)", "read:*", "required"),
    );
    Ok(layout("Quản trị", Some(session), &body).into_response())
}

/// `POST /admin/{users|agencies|keys|revoke|disable|enable|remove}`.
pub async fn admin_action(
    State(state): State<WebState>,
    session: Session,
    UrlPath(action): UrlPath<String>,
    Form(form): Form<HashMap<String, String>>,
) -> WebResult<Response> {
    session.check_csrf(form.get("csrf").map_or("", String::as_str))?;
    session.require(UserRole::Admin, "quản trị")?;
    state
        .blocking(move |s| {
            let field = |name: &str| form.get(name).map_or("", |v| v.trim()).to_string();
            let store = &s.app.store;
            match action.as_str() {
                "users" => {
                    let roles = ["clerk", "certifier", "admin"]
                        .iter()
                        .filter(|r| form.contains_key(&format!("role_{r}")))
                        .map(|r| UserRole::parse(r))
                        .collect::<Result<Vec<_>, _>>()?;
                    let user = User {
                        username: field("username"),
                        display_name: field("display_name"),
                        roles,
                        disabled: false,
                        epoch: 0,
                    };
                    store.add_user(&user, form.get("password").map_or("", String::as_str))?;
                }
                "agencies" => {
                    store.add_agency(&field("code"), &field("name"))?;
                }
                "keys" => {
                    let scopes = field("scopes")
                        .split_whitespace()
                        .map(Scope::parse)
                        .collect::<Result<Vec<_>, _>>()?;
                    let (_, secret) = store.create_key(&field("agency"), &scopes)?;
                    return page(s, &session, Some(&secret));
                }
                "revoke" => store.revoke_key(&field("key"))?,
                "disable" | "enable" => {
                    store.set_user_disabled(&field("username"), action == "disable")?
                }
                "remove" => store.remove_user(&field("username"))?,
                _ => return Err(WebError::not_found("Không có thao tác này.")),
            }
            Ok(Redirect::to("/admin").into_response())
        })
        .await
}
