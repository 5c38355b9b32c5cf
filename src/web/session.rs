//! Sessions and CSRF tokens.
//!
//! A session is a random 256-bit token in an HttpOnly, SameSite=Strict cookie, mapped in
//! the store (its SHA-256, so any service instance sharing the store knows it) to the
//! user and a second random token that every form must send back (CSRF).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use data_encoding::BASE64URL_NOPAD;
use ring::rand::{SecureRandom, SystemRandom};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::{WebError, WebResult, WebState};
use crate::store::{User, UserRole};

/// A session lasts this long after sign-in.
pub(super) const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
pub(super) const SESSION_COOKIE: &str = "sohoa_session";
pub(super) const LOGIN_COOKIE: &str = "sohoa_login";

/// A signed-in clerk, as the handlers see them.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who.
    pub user: User,
    /// The token every form must carry.
    pub csrf: String,
    pub(super) token: String,
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

pub(super) fn csrf_refused() -> WebError {
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

    pub(super) fn cookie(&self, name: &str, value: &str, path: &str, max_age: u64) -> HeaderValue {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        let text = format!(
            "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
        );
        HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static(""))
    }
}

pub(super) fn random_token() -> WebResult<String> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| WebError::internal("the system random generator failed"))?;
    Ok(BASE64URL_NOPAD.encode(&bytes))
}

pub(super) fn same(a: &str, b: &str) -> bool {
    !a.is_empty() && a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The value of cookie `name`.
pub(super) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
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

pub(super) async fn find_session(state: &WebState, token: &str) -> Option<Session> {
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
pub(super) async fn start_session(state: &WebState, user: User) -> WebResult<Session> {
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

/// A signed-in clerk's form whose CSRF token has been checked: the session and the
/// form's other fields. Refused with 403 before its fields are read when the token is
/// not the session's.
pub struct CsrfForm<T>(pub Session, pub T);

/// The token field of every form.
#[derive(Deserialize)]
struct Token {
    #[serde(default)]
    csrf: String,
}

/// A form with no field but its token.
#[derive(Deserialize)]
pub struct NoFields {}

impl<T: DeserializeOwned> FromRequest<WebState> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &WebState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let session = Session::from_request_parts(&mut parts, state).await?;
        let (method, content_type) = (
            parts.method.clone(),
            parts.headers.get(header::CONTENT_TYPE).cloned(),
        );
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let sent = serde_urlencoded::from_bytes::<Token>(&bytes).map_or(String::new(), |t| t.csrf);
        session
            .check_csrf(&sent)
            .map_err(IntoResponse::into_response)?;
        // The fields as `axum::Form` reads them (content type checked, same rejections).
        let mut again = Request::new(Body::from(bytes));
        *again.method_mut() = method;
        if let Some(value) = content_type {
            again.headers_mut().insert(header::CONTENT_TYPE, value);
        }
        let Form(fields) = Form::<T>::from_request(again, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(CsrfForm(session, fields))
    }
}

/// `POST /logout`.
pub async fn logout(
    State(state): State<WebState>,
    CsrfForm(session, NoFields {}): CsrfForm<NoFields>,
) -> WebResult<Response> {
    let token = session.token.clone();
    state
        .blocking(move |s| Ok(s.app.store.end_session(&token)?))
        .await?;
    let clear = state.sessions.cookie(SESSION_COOKIE, "", "/", 0);
    Ok(([(header::SET_COOKIE, clear)], Redirect::to("/login")).into_response())
}
