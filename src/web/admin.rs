//! Administration on the web page: clerk accounts, agencies and their API keys.
//! Admins only; a new key's secret is shown once.

use std::collections::HashMap;

use axum::extract::{Path as UrlPath, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};

use super::html::{csrf_input, layout, text_field};
use super::session::{CsrfForm, Session};
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
    let (users, agencies, keys) = (store.users()?, store.agencies()?, store.keys()?);
    let csrf = csrf_input(session);
    let body = html! {
        h1 { "Quản trị" }
        @if let Some(secret) = secret {
            p.ok id="new-key" { "Khoá API mới (chỉ hiện một lần, hãy chép lại): " code { (secret) } }
        }
        h2 { "Người dùng" }
        table id="users" {
            thead { tr { th { "Tên đăng nhập" } th { "Họ tên" } th { "Vai trò" } th { "Trạng thái" } th {} } }
            tbody { @for u in &users { (user_row(u, &csrf)) } }
        }
        form method="post" action="/admin/users" class="card" id="add-user" {
            (csrf)
            (text_field("username", "Tên đăng nhập", "", true))
            (text_field("display_name", "Họ tên", "", true))
            fieldset {
                legend { "Vai trò" }
                label.check { input type="checkbox" name="role_clerk"; " cán bộ số hoá (clerk)" }
                label.check { input type="checkbox" name="role_certifier"; " người chứng thực (certifier)" }
                label.check { input type="checkbox" name="role_admin"; " quản trị (admin)" }
            }
            label for="password" { "Mật khẩu (ít nhất " (users::MIN_PASSWORD_CHARS) " ký tự)" }
            input id="password" name="password" type="password" required;
            button { "Thêm người dùng" }
        }
        h2 { "Cơ quan" }
        ul { @for a in &agencies { li { code { (a.code) } " " (a.name) } } }
        form method="post" action="/admin/agencies" class="card" {
            (csrf)
            (text_field("code", "Mã cơ quan", "", true))
            (text_field("name", "Tên cơ quan", "", true))
            button { "Thêm cơ quan" }
        }
        h2 { "Khoá API" }
        table {
            thead { tr { th { "Mã khoá" } th { "Cơ quan" } th { "Phạm vi" } th {} } }
            tbody {
                @for k in &keys {
                    tr {
                        td { code { (k.id) } }
                        td { (k.agency) }
                        td { (k.scopes.iter().map(Scope::to_string).collect::<Vec<_>>().join(" ")) }
                        td {
                            @if k.revoked { "đã thu hồi" } @else {
                                form method="post" action="/admin/revoke" {
                                    (csrf)
                                    input type="hidden" name="key" value=(k.id);
                                    button { "Thu hồi" }
                                }
                            }
                        }
                    }
                }
            }
        }
        form method="post" action="/admin/keys" class="card" {
            (csrf)
            (text_field("agency", "Mã cơ quan", "", true))
            (text_field(
                "scopes",
                "Phạm vi (cách nhau bởi dấu cách: read:* read:KIND read:procedure:CODE write)",
                "read:*",
                true,
            ))
            button { "Tạo khoá" }
        }
    };
    Ok(layout("Quản trị", Some(session), body).into_response())
}

fn user_row(u: &User, csrf: &Markup) -> Markup {
    let roles: Vec<&str> = u.roles.iter().map(|r| r.name()).collect();
    let (status, toggle, label) = if u.disabled {
        ("đã khoá", "enable", "Mở khoá")
    } else {
        ("đang dùng", "disable", "Khoá")
    };
    html! {
        tr {
            td { (u.username) }
            td { (u.display_name) }
            td { (roles.join(", ")) }
            td { (status) }
            td {
                form method="post" action={ "/admin/" (toggle) } {
                    (csrf)
                    input type="hidden" name="username" value=(u.username);
                    button { (label) }
                }
                form method="post" action="/admin/remove" {
                    (csrf)
                    input type="hidden" name="username" value=(u.username);
                    button { "Xoá" }
                }
            }
        }
    }
}

/// `POST /admin/{users|agencies|keys|revoke|disable|enable|remove}`.
pub async fn admin_action(
    State(state): State<WebState>,
    UrlPath(action): UrlPath<String>,
    CsrfForm(session, form): CsrfForm<HashMap<String, String>>,
) -> WebResult<Response> {
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
