//! The clerks' web page, served by `sohoa serve --web` beside the agencies' API:
//! server-rendered Vietnamese pages with a little script, every asset served from here
//! (offices may be offline).
//!
//! ```text
//! sign in (login.rs, session.rs) ─ capture: upload, review outline/turns (drafts.rs)
//!   ─ store: OCR + PDF/A (documents.rs) ─ certify: stamp, register, sign (certify.rs)
//!   ─ find and reuse (documents.rs) ─ register view and CSV (register.rs)
//! public: verification page the QR code opens (verify.rs)
//! admin: users, agencies, API keys (admin.rs)
//! ```
//!
//! Pages are `maud` templates (html.rs: frame and form pieces), escaped by default.
//! Sessions live in the store; every form carries the session's CSRF token, checked by
//! the `CsrfForm` extractor before the form is read; cookies are HttpOnly and
//! SameSite=Strict (and Secure behind HTTPS).

mod admin;
mod captured;
mod certify;
mod documents;
mod dossiers;
mod drafts;
mod html;
mod indicators;
mod login;
mod register;
mod session;
mod throttle;
mod verify;

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::Semaphore;

use crate::certify::key::SigningKey;
use crate::digitize::DigitizeOptions;
use crate::server::AppState;
use crate::store::StoreError;

pub use session::Sessions;

/// Largest body of a form that uploads nothing (sign-in, store, certify, admin).
pub const FORM_BODY_LIMIT: usize = 64 << 10;

/// The office's signing set-up for certification from the web page.
pub struct Signer {
    /// The office's key and certificate.
    pub key: Box<dyn SigningKey>,
    /// The certifying agency's name, printed on the stamp.
    pub agency_name: String,
    /// Register book (quyển số), e.g. `01`.
    pub book: String,
    /// The level above B-B and its services (B-B without).
    pub long_term: Option<Arc<crate::certify::longterm::LongTerm>>,
}

/// Settings of the web page.
#[derive(Clone)]
pub struct WebConfig {
    /// The certification register folder.
    pub register_dir: PathBuf,
    /// The agency code documents are stored under.
    pub agency: String,
    /// The signing key; without it certification is refused with a clear message.
    pub signer: Option<Arc<Signer>>,
    /// The address clients reach this server at (QR codes link to its `/verify`);
    /// `https://…` also marks cookies Secure.
    pub public_url: Option<String>,
    /// Cookies only over HTTPS (served with TLS, or `public_url` is `https://…`).
    pub secure_cookies: bool,
    /// OCR settings for storing.
    pub digitize: DigitizeOptions,
}

/// What every web handler shares.
#[derive(Clone)]
pub struct WebState {
    /// The API's state: store, audit log, trust anchors.
    pub app: AppState,
    /// Settings.
    pub config: Arc<WebConfig>,
    /// Signed-in clerks.
    pub sessions: Arc<Sessions>,
    /// Image work running at once ([`drafts::IMAGE_SLOTS`]): an upload or re-capture
    /// takes one, storing a draft (OCR on every core) takes all. Bounds memory and CPU.
    pub image_slots: Arc<Semaphore>,
    /// Failed sign-ins per client address and name.
    pub throttle: Arc<throttle::Throttle>,
    /// Pages captured for drafts' previews, read again when a draft is stored.
    pub captured: Arc<captured::CapturedPages>,
}

/// The web page's routes, ready to merge into the API router.
pub fn router(app: AppState, config: WebConfig) -> Router {
    let store = app.store.clone();
    std::thread::spawn(move || drafts::remove_stale(&store));
    let state = WebState {
        app,
        sessions: Arc::new(Sessions::new(config.secure_cookies)),
        config: Arc::new(config),
        image_slots: Arc::new(Semaphore::new(drafts::IMAGE_SLOTS as usize)),
        throttle: Arc::default(),
        captured: Arc::default(),
    };
    Router::new()
        .route("/", get(documents::home))
        .route("/login", get(login::login_page).post(login::login))
        .route("/logout", post(session::logout))
        .route("/drafts/{id}", get(drafts::draft_page))
        .route(
            "/drafts/{id}/pages/{page}/{action}",
            post(drafts::page_action),
        )
        .route(
            "/drafts/{id}/pages/{page}/image/{which}",
            get(drafts::page_image),
        )
        .route("/drafts/{id}/store", post(documents::store_draft))
        .route("/documents/{id}", get(documents::document_page))
        .route(
            "/documents/{id}/download/{sha256}",
            get(documents::download),
        )
        .route("/documents/{id}/certify", post(certify::certify))
        .route("/documents/{id}/attach", post(documents::attach))
        .route("/dossiers", post(dossiers::create_dossier))
        .route("/dossiers/new", get(dossiers::new_dossier_page))
        .route("/dossiers/{code}", get(dossiers::dossier_page))
        .route("/dossiers/{code}/attach", post(dossiers::attach))
        .route("/search", get(documents::search_page))
        .route("/indicators", get(indicators::indicators_page))
        .route("/register", get(register::register_page))
        .route("/register.csv", get(register::register_csv))
        .route("/verify", get(verify::verify_page))
        .route("/admin", get(admin::admin_page))
        .route("/admin/{action}", post(admin::admin_action))
        .route("/static/app.css", get(css))
        .route("/static/app.js", get(js))
        // Forms are small: a form body is read whole before its CSRF token is checked.
        .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT))
        // Uploads (after the session and, field by field, the CSRF token are checked)
        // keep the server's body limit.
        .route("/capture", get(drafts::capture_page).post(drafts::upload))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// Pages may load only this server's own script, style and images, may not be framed,
/// and post forms only here; no MIME sniffing, no referrer outside.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let html = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if html {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; \
                 form-action 'self'; base-uri 'none'; object-src 'none'",
            ),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", include_str!("assets/app.css"))
}

async fn js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    )
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// A page that cannot be shown: status and a message in Vietnamese.
#[derive(Debug)]
pub struct WebError {
    status: StatusCode,
    message: String,
}

impl WebError {
    fn new(status: StatusCode, message: impl Into<String>) -> WebError {
        WebError {
            status,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> WebError {
        WebError::new(StatusCode::BAD_REQUEST, message)
    }

    fn forbidden(message: impl Into<String>) -> WebError {
        WebError::new(StatusCode::FORBIDDEN, message)
    }

    fn not_found(message: impl Into<String>) -> WebError {
        WebError::new(StatusCode::NOT_FOUND, message)
    }

    fn internal(detail: impl std::fmt::Display) -> WebError {
        tracing::error!("web: {detail}");
        WebError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Lỗi máy chủ. Hãy thử lại hoặc báo quản trị viên.",
        )
    }
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> WebError {
        match e {
            StoreError::Invalid(m) => WebError::bad_request(format!("Dữ liệu không hợp lệ: {m}")),
            StoreError::NotFound(m) => WebError::not_found(format!("Không tìm thấy: {m}")),
            StoreError::Unavailable(m) => {
                tracing::error!("web: backend unavailable: {m}");
                WebError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Kho lưu trữ tạm thời không truy cập được. Hãy thử lại sau ít phút.",
                )
            }
            internal => WebError::internal(internal),
        }
    }
}

impl From<crate::values::Invalid> for WebError {
    fn from(e: crate::values::Invalid) -> WebError {
        WebError::bad_request(format!("Dữ liệu không hợp lệ: {e}"))
    }
}

impl From<crate::server::errors::ApiError> for WebError {
    fn from(e: crate::server::errors::ApiError) -> WebError {
        WebError::new(e.status, e.message)
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let body = html::layout(
            "Lỗi",
            None,
            maud::html! {
                h1 { "Không thực hiện được" }
                p.error id="error" { (self.message) }
                p { a href="/" { "Về trang chính" } }
            },
        );
        (self.status, body).into_response()
    }
}

/// Result of a page handler.
pub type WebResult<T> = Result<T, WebError>;

impl WebState {
    /// Runs a blocking job (store, files, signing) off the async threads, sharing the
    /// API's limit on blocking jobs at once ([`AppState::run_blocking`]).
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&WebState) -> WebResult<T> + Send + 'static,
    ) -> WebResult<T> {
        let state = self.clone();
        self.app.run_blocking(move || f(&state)).await?
    }
}
