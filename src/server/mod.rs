//! The HTTP service (`sohoa serve`): reuse lookups, downloads, verification and ingest
//! for other agencies, over the store, with API keys, scopes and the audit log.
//!
//! ```text
//! request ─ auth (bearer key → scopes) ─ params (checked) ─ store (blocking pool)
//!         ─ audit (one writer thread) ─ JSON answer
//! ```
//! Routes and access rules are in [`routes`] and in the OpenAPI document ([`openapi`]).

pub mod audit;
pub mod auth;
pub mod errors;
pub mod ingest;
pub mod listener;
pub mod metrics;
pub mod openapi;
pub mod params;
pub mod routes;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use tokio::sync::Semaphore;

use crate::store::{Store, StoreError};

/// Settings of the service.
#[derive(Clone)]
pub struct Config {
    /// Trust anchors (DER certificates) for `POST /api/v1/verify`, ingest and the
    /// public verification page.
    pub trust_anchors: Vec<Vec<u8>>,
    /// This office's certification register: ingested copies it issued keep its
    /// verification reference; the public verification page reads it.
    pub register_dir: Option<std::path::PathBuf>,
    /// Largest request body accepted, in bytes (larger: 413).
    pub max_body_bytes: usize,
    /// How long a good key is remembered before the store is asked again.
    pub key_cache: Duration,
    /// Store calls that may run at once.
    pub db_slots: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            trust_anchors: Vec::new(),
            register_dir: None,
            max_body_bytes: 64 << 20,
            key_cache: Duration::from_secs(1),
            db_slots: 8,
        }
    }
}

/// What every handler shares (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Store,
    /// Key checks.
    pub auth: Arc<auth::Authenticator>,
    /// The audit writer.
    pub audit: audit::AuditLog,
    /// Trust anchors for verification.
    pub trust: Arc<Vec<Vec<u8>>>,
    /// The certification register folder, if any.
    pub register_dir: Option<Arc<std::path::PathBuf>>,
    /// Store calls running at once ([`Config::db_slots`]): no more than the store keeps
    /// pooled connections for; more would only make the cores switch between threads.
    pub db_slots: Arc<Semaphore>,
}

impl AppState {
    /// Runs a blocking store call on the blocking pool, at most `db_slots` at a time.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, errors::ApiError> {
        let store = self.store.clone();
        Ok(self.run_blocking(move || f(&store)).await??)
    }

    /// Runs blocking work (store calls, files, signing) on the blocking pool, at most
    /// `db_slots` jobs at a time: the API and the web page share the slots.
    pub async fn run_blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, errors::ApiError> {
        let _slot = self
            .db_slots
            .acquire()
            .await
            .map_err(errors::ApiError::internal)?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(errors::ApiError::internal)
    }
}

impl AppState {
    /// The state of a service over `store`: starts the audit writer.
    pub fn new(store: Store, config: &Config) -> std::io::Result<AppState> {
        Ok(AppState {
            audit: audit::AuditLog::start(store.clone())?,
            store,
            auth: Arc::new(auth::Authenticator::new(config.key_cache)),
            trust: Arc::new(config.trust_anchors.clone()),
            register_dir: config.register_dir.clone().map(Arc::new),
            db_slots: Arc::new(Semaphore::new(config.db_slots.max(1))),
        })
    }
}

/// The agencies' API routes (merge other routers, such as the web page's, then
/// finish with [`with_limits`]).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/api/v1/documents",
            get(routes::list_documents).post(routes::ingest),
        )
        .route("/api/v1/documents/{id}", get(routes::get_document))
        .route("/api/v1/documents/{id}/file", get(routes::get_main_file))
        .route(
            "/api/v1/documents/{id}/files/{sha256}",
            get(routes::get_file),
        )
        .route("/api/v1/search", get(routes::search))
        .route("/api/v1/reuse", get(routes::reuse))
        .route("/api/v1/dossiers/{code}/documents", post(routes::attach))
        .route("/api/v1/verify", post(routes::verify))
        .route("/openapi.json", get(routes::openapi))
        .route("/healthz", get(routes::health))
        .route("/readyz", get(routes::ready))
        .with_state(state)
}

/// The whole application's JSON fallbacks, `Cache-Control: no-store` and body limit.
pub fn with_limits(app: Router, config: &Config) -> Router {
    app.fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(middleware::map_response(no_store))
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            config.max_body_bytes,
            refuse_large_bodies,
        ))
        .layer(middleware::from_fn(metrics::track))
}

/// Answers are personal data unless they say otherwise: no cache may keep them.
async fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .entry(axum::http::header::CACHE_CONTROL)
        .or_insert(axum::http::HeaderValue::from_static("no-store"));
    response
}

/// Answers 413 at once when the declared `Content-Length` is over the limit (bodies
/// without one are cut off at the limit while they are read, also with 413).
async fn refuse_large_bodies(State(limit): State<usize>, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > limit as u64 => errors::ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body of {n} bytes is over the limit of {limit} bytes"),
        )
        .into_response(),
        _ => next.run(request).await,
    }
}

/// Adds `Strict-Transport-Security` to every answer (when served over TLS).
pub fn with_hsts(app: Router) -> Router {
    app.layer(middleware::map_response(
        |mut response: Response| async move {
            response.headers_mut().insert(
                axum::http::header::STRICT_TRANSPORT_SECURITY,
                axum::http::HeaderValue::from_static("max-age=31536000"),
            );
            response
        },
    ))
}

/// Resolves on SIGINT or SIGTERM; call it inside the runtime before serving.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    // Registered now, not when first polled: a SIGTERM that arrives between the
    // "listening" line and the accept loop must stop the server cleanly, not kill it.
    let term = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
    async move {
        match (term, interrupt) {
            (Ok(mut term), Ok(mut interrupt)) => {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = term.recv() => {}
                }
            }
            (term, interrupt) => {
                if let Err(e) = term.and(interrupt) {
                    tracing::warn!("cannot listen for SIGTERM/SIGINT: {e}");
                }
                std::future::pending::<()>().await;
            }
        }
        tracing::info!("shutting down");
    }
}
