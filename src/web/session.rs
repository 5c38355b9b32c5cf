//! Sign-in, sessions and CSRF tokens.
//!
//! A session is a random 256-bit token in an HttpOnly, SameSite=Strict cookie, mapped in
//! the store (its SHA-256, so any service instance sharing the store knows it) to the
//! user and a second random token that every form must send back (CSRF).
//! The sign-in form, before any session exists, is protected the same way by a
//! double-submit token in its own short-lived cookie.

use std::time::Duration;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use data_encoding::BASE64URL_NOPAD;
use ring::rand::{SecureRandom, SystemRandom};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::html::{esc, layout};
use super::{WebError, WebResult, WebState};
use crate::store::{Login, User, UserRole};

/// A session lasts this long after sign-in.
const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
const SESSION_COOKIE: &str = "sohoa_session";
const LOGIN_COOKIE: &str = "sohoa_login";

/// A signed-in clerk, as the handlers see them.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who.
    pub user: User,
    /// The token every form must carry.
    pub csrf: String,
    token: String,
}

impl Session {
    /// Refuses a form whose CSRF token is not this session's (403).
    pub fn check_csrf(&self, sent: &str) -> WebResult<()> {
        if same(sent, &self.csrf) {
            Ok(())
        } else {
            Err(csrf_refused())
        }
    }

    /// Refuses users without `role` (403).
    pub fn require(&self, role: UserRole, what: &str) -> WebResult<()> {
        if self.user.has(role) {
            Ok(())
        } else {
            Err(WebError::forbidden(format!(
                "Tài khoản {} không có quyền {what}.",
                self.user.username
            )))
        }
    }

    /// The name written in audit entries and as `created_by`.
    pub fn actor(&self) -> String {
        format!("user:{}", self.user.username)
    }
}

fn csrf_refused() -> WebError {
    WebError::forbidden(
        "Biểu mẫu không hợp lệ hoặc đã hết hạn (thiếu mã chống giả mạo CSRF). Hãy tải lại trang.",
    )
}

/// Signed-in sessions: kept in the store, so that every instance of the service
/// sharing it knows them; here only how their cookies are written.
pub struct Sessions {
    secure_cookies: bool,
}

impl Sessions {
    /// Sessions whose cookies are `Secure` when served over HTTPS.
    pub fn new(secure_cookies: bool) -> Sessions {
        Sessions { secure_cookies }
    }

    fn cookie(&self, name: &str, value: &str, path: &str, max_age: u64) -> HeaderValue {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        let text = format!(
            "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
        );
        HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static(""))
    }
}

fn random_token() -> WebResult<String> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| WebError::internal("the system random generator failed"))?;
    Ok(BASE64URL_NOPAD.encode(&bytes))
}

fn same(a: &str, b: &str) -> bool {
    !a.is_empty() && a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The value of cookie `name`.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The live session of the request's cookie whose user still exists, is enabled and has
/// not changed password since it started (one query to the store).
async fn current_session(parts: &Parts, state: &WebState) -> Option<Session> {
    find_session(state, cookie(&parts.headers, SESSION_COOKIE)?).await
}

async fn find_session(state: &WebState, token: &str) -> Option<Session> {
    let token = token.to_string();
    let lookup = token.clone();
    let stored = state
        .blocking(move |s| Ok(s.app.store.session(&lookup)?))
        .await
        .ok()
        .flatten()?;
    Some(Session {
        user: stored.user,
        csrf: stored.csrf,
        token,
    })
}

/// Starts and stores a session of `user`.
async fn start_session(state: &WebState, user: User) -> WebResult<Session> {
    let session = Session {
        user,
        csrf: random_token()?,
        token: random_token()?,
    };
    let stored = session.clone();
    state
        .blocking(move |s| {
            Ok(s.app.store.start_session(
                &stored.token,
                &stored.user,
                &stored.csrf,
                SESSION_LIFETIME,
            )?)
        })
        .await?;
    Ok(session)
}

impl FromRequestParts<WebState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Response> {
        match current_session(parts, state).await {
            Some(session) => Ok(session),
            None if parts.method == Method::GET => Err(Redirect::to("/login").into_response()),
            None => Err(WebError::new(
                StatusCode::UNAUTHORIZED,
                "Chưa đăng nhập hoặc phiên đã hết hạn.",
            )
            .into_response()),
        }
    }
}

/// The client's address: the connection's peer (unspecified when the server did not
/// record it).
pub struct ClientAddress(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip()),
        ))
    }
}

/// A session when there is one (for pages open to all, like verification).
pub struct MaybeSession(pub Option<Session>);

impl FromRequestParts<WebState> for MaybeSession {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        Ok(MaybeSession(current_session(parts, state).await))
    }
}

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
    let notice = if message.is_empty() {
        String::new()
    } else {
        format!("<p class=\"error\" id=\"login-error\">{}</p>", esc(message))
    };
    let body = format!(
        "<h1>Đăng nhập</h1>{notice}<form method=\"post\" action=\"/login\" id=\"login\" class=\"card\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{token}\">\
         <label for=\"username\">Tên đăng nhập</label>\
         <input id=\"username\" name=\"username\" autocomplete=\"username\" autocapitalize=\"none\" required>\
         <label for=\"password\">Mật khẩu</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button id=\"login-submit\">Đăng nhập</button></form>"
    );
    let cookie = state.sessions.cookie(LOGIN_COOKIE, &token, "/login", 3600);
    Ok((
        status,
        [(header::SET_COOKIE, cookie)],
        layout("Đăng nhập", None, &body),
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

/// A form that only carries the CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    /// The token.
    #[serde(default)]
    pub csrf: String,
}

/// `POST /logout`.
pub async fn logout(
    State(state): State<WebState>,
    session: Session,
    Form(form): Form<CsrfForm>,
) -> WebResult<Response> {
    session.check_csrf(&form.csrf)?;
    let token = session.token.clone();
    state
        .blocking(move |s| Ok(s.app.store.end_session(&token)?))
        .await?;
    let clear = state.sessions.cookie(SESSION_COOKIE, "", "/", 0);
    Ok(([(header::SET_COOKIE, clear)], Redirect::to("/login")).into_response())
}
