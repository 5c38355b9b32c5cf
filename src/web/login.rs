//! The sign-in page. Before any session exists, its form is protected by a double-submit
//! token in a short-lived cookie of its own.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;
use serde::Deserialize;

use super::html::layout;
use super::session::{
    cookie, csrf_refused, find_session, random_token, same, start_session, ClientAddress,
    LOGIN_COOKIE, SESSION_COOKIE, SESSION_LIFETIME,
};
use super::{WebResult, WebState};
use crate::store::Login;

/// `GET /login`.
pub async fn login_page(State(state): State<WebState>, headers: HeaderMap) -> WebResult<Response> {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        if find_session(&state, token).await.is_some() {
            return Ok(Redirect::to("/").into_response());
        }
    }
    login_form(&state, StatusCode::OK, "")
}

fn login_form(state: &WebState, status: StatusCode, message: &str) -> WebResult<Response> {
    let token = random_token()?;
    let body = html! {
        h1 { "Đăng nhập" }
        @if !message.is_empty() {
            p.error id="login-error" { (message) }
        }
        form method="post" action="/login" id="login" class="card" {
            input type="hidden" name="csrf" value=(token);
            label for="username" { "Tên đăng nhập" }
            input id="username" name="username" autocomplete="username" autocapitalize="none" required;
            label for="password" { "Mật khẩu" }
            input id="password" name="password" type="password" autocomplete="current-password" required;
            button id="login-submit" { "Đăng nhập" }
        }
    };
    let cookie = state.sessions.cookie(LOGIN_COOKIE, &token, "/login", 3600);
    Ok((
        status,
        [(header::SET_COOKIE, cookie)],
        layout("Đăng nhập", None, body),
    )
        .into_response())
}

/// The sign-in form.
#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /login`: 303 to `/` with a session cookie, 401 for a wrong name or password
/// (or a disabled user), 429 after repeated failures from the same address (see
/// [`super::throttle`]), alike for known and unknown names; 403 without the form's
/// CSRF token.
pub async fn login(
    State(state): State<WebState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> WebResult<Response> {
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if !same(&form.csrf, expected) {
        return Err(csrf_refused());
    }
    let username = form.username.trim().to_lowercase();
    if state.throttle.blocked(address, &username) {
        return login_form(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "Đăng nhập sai quá nhiều lần từ máy này. Hãy thử lại sau {} phút.",
                super::throttle::WINDOW.as_secs() / 60
            ),
        );
    }
    let name = username.clone();
    let outcome = state
        .blocking(move |s| Ok(s.app.store.login(&name, &form.password)?))
        .await?;
    match outcome {
        Login::Ok(user) => {
            state.throttle.succeeded(address, &username);
            let session = start_session(&state, user).await?;
            let cookie = state.sessions.cookie(
                SESSION_COOKIE,
                &session.token,
                "/",
                SESSION_LIFETIME.as_secs(),
            );
            let clear = state.sessions.cookie(LOGIN_COOKIE, "", "/login", 0);
            let mut response = Redirect::to("/").into_response();
            response.headers_mut().append(header::SET_COOKIE, cookie);
            response.headers_mut().append(header::SET_COOKIE, clear);
            Ok(response)
        }
        Login::Refused => {
            state.throttle.failed(address, &username);
            login_form(
                &state,
                StatusCode::UNAUTHORIZED,
                "Sai tên đăng nhập hoặc mật khẩu.",
            )
        }
    }
}
