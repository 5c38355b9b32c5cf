//! What an operator watches: request counts by route and status, latency histograms,
//! OCR pages, certified copies by level, audit appends and queue, free database slots, in the
//! Prometheus text format (`GET /metrics` on the separate `--metrics-listen` address,
//! never on the public one). Every request also gets an id (`x-request-id`, kept when
//! the proxy sent one) and one log line with it, its route, status and duration.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use super::AppState;

/// A request's route (the pattern, never the raw path), method and status class.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

/// A route.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

/// A PAdES level.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LevelLabels {
    level: String,
}

/// The process's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    ocr_pages: Counter,
    certified: Family<LevelLabels, Counter>,
    audit_appends: Counter,
    audit_queue: Gauge,
    db_slots_free: Gauge,
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("sohoa");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let (ocr_pages, audit_appends) = (Counter::default(), Counter::default());
        let certified = Family::<LevelLabels, Counter>::default();
        let (db_slots_free, audit_queue) = (Gauge::default(), Gauge::default());
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request duration by route",
            latency.clone(),
        );
        registry.register(
            "ocr_pages",
            "Pages read by OCR (web uploads)",
            ocr_pages.clone(),
        );
        registry.register(
            "certified_copies",
            "Certified copies issued, by PAdES level",
            certified.clone(),
        );
        registry.register(
            "audit_appends",
            "Entries appended to the audit log",
            audit_appends.clone(),
        );
        registry.register(
            "audit_queue",
            "Audit entries waiting for the writer (answers wait for their entry)",
            audit_queue.clone(),
        );
        registry.register(
            "db_slots_free",
            "Free slots for blocking store work",
            db_slots_free.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            ocr_pages,
            certified,
            audit_appends,
            audit_queue,
            db_slots_free,
        }
    }

    /// Counts `pages` pages read by OCR.
    pub fn ocr_pages(&self, pages: usize) {
        self.ocr_pages.inc_by(pages as u64);
    }

    /// Counts a certified copy at `level` (`B-B` … `B-LTA`).
    pub fn certified(&self, level: &str) {
        self.certified
            .get_or_create(&LevelLabels {
                level: level.to_string(),
            })
            .inc();
    }

    /// Counts an audit entry appended.
    pub fn audit_append(&self) {
        self.audit_appends.inc();
    }

    /// `delta` entries more (or fewer) wait for the audit writer.
    pub fn audit_queued(&self, delta: i64) {
        self.audit_queue.inc_by(delta);
    }

    /// The text exposition.
    fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// The process-wide metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

/// The `/metrics` router, for the operator's own listen address.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(render))
        .route("/healthz", get(|| async { "ok\n" }))
        .with_state(state)
}

async fn render(State(state): State<AppState>) -> Response {
    let m = metrics();
    m.db_slots_free
        .set(state.db_slots.available_permits() as i64);
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        m.render(),
    )
        .into_response()
}

/// Middleware: gives the request an id, counts and times it, logs one line.
pub async fn track(mut request: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("(unmatched)", |p| p.as_str())
        .to_string();
    let method = request.method().to_string();
    let id = request_id(&request);
    if let Ok(value) = HeaderValue::from_str(&id) {
        request.headers_mut().insert("x-request-id", value);
    }
    let mut response = next.run(request).await;
    let status = response.status();
    let seconds = start.elapsed().as_secs_f64();
    let m = metrics();
    m.requests
        .get_or_create(&RequestLabels {
            route: route.clone(),
            method: method.clone(),
            status: status.as_u16(),
        })
        .inc();
    m.latency
        .get_or_create(&RouteLabels {
            route: route.clone(),
        })
        .observe(seconds);
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    log(&id, &method, &route, status, seconds);
    response
}

fn log(id: &str, method: &str, route: &str, status: StatusCode, seconds: f64) {
    let ms = (seconds * 1000.0 * 10.0).round() / 10.0;
    if status.is_server_error() {
        tracing::warn!(
            request_id = id,
            method,
            route,
            status = status.as_u16(),
            ms,
            "request"
        );
    } else {
        tracing::info!(
            request_id = id,
            method,
            route,
            status = status.as_u16(),
            ms,
            "request"
        );
    }
}

/// The proxy's `x-request-id` when it is short and printable, else a new random one.
fn request_id(request: &Request) -> String {
    request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| {
            let mut bytes = [0u8; 8];
            // A failing system RNG leaves a zero id: logs lose correlation, nothing else.
            let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes);
            hex::encode(bytes)
        })
}
