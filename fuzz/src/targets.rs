//! The bodies of sohoa's fuzz targets: one `pub fn NAME(data: &[u8])` per target, listed
//! in [`TARGETS`]. None may panic on any input; a panic (or, for the HTTP targets, a 5xx
//! answer) is a finding.
//!
//! This file is compiled twice: by the fuzz crate (`fuzz/src/lib.rs`, libFuzzer) and by
//! the main crate's `tests/it/fuzz_smoke.rs`, which runs every target over the seed corpora
//! in `fuzz/corpus/NAME/`. Both give it a sibling module `shim` with
//! `fn call(&Runtime, &Router, Request<Body>) -> Answer`: tower's `oneshot` in the fuzz
//! crate; a loopback socket in the test (the main crate has no tower).
//!
//! The HTTP targets share one process-wide server state, made on first use: a store in
//! a temporary folder with an agency, a read-all + write API key and a clerk, the web
//! page enabled, and a signed-in session (its cookie and CSRF token).

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use axum::body::Body;
pub use axum::http::StatusCode;
use axum::http::{header, HeaderMap, Request, Uri};
use axum::Router;

use sohoa::capture::{self, pdf_input, DecodeLimits, Frame, Raster};
use sohoa::certify::verify::VerifyOptions;

use super::shim;

/// A target's body.
pub type Target = fn(&[u8]);

/// Every target, by name (the name of its corpus folder and of its fuzz binary).
pub const TARGETS: &[(&str, Target)] = &[
    ("decode_image", decode_image),
    ("verify_pdf", verify_pdf),
    ("inspect_pdf", inspect_pdf),
    ("http_query", http_query),
    ("http_ingest", http_ingest),
    ("http_verify", http_verify),
    ("http_login", http_login),
    ("http_capture", http_capture),
];

/// Decode limits of the image target: the production checks with a smaller pixel budget,
/// so that the fuzzer spends its time on parsing rather than on filling huge rasters.
/// (The HTTP capture target goes through the web page with the production defaults.)
pub const FUZZ_LIMITS: DecodeLimits = DecodeLimits {
    max_pixels: 4_000_000,
    max_alloc: 256 << 20,
    min_side: 64,
};

/// Frames (TIFF pages, PDF pages) decoded per input at most.
const MAX_FRAMES: usize = 4;

/// Trust anchor given to the verifier: the test root that signed the seed copies.
const TRUST_ROOT: &[u8] = include_bytes!("../seeds/trust-root.der");

/// The sign-in form's double-submit token, sent as the `sohoa_login` cookie.
pub const LOGIN_TOKEN: &str = "fuzz-login-token";
/// Replaced in a multipart body by the session's CSRF token.
pub const CSRF_PLACEHOLDER: &[u8] = b"@CSRF@";
/// The multipart boundary of the capture target.
pub const BOUNDARY: &str = "FUZZBOUNDARY";
/// The clerk of the HTTP targets.
pub const USER: &str = "fuzz.clerk";
/// The clerk's password.
pub const PASSWORD: &str = "fuzz-mat-khau-01";
/// The agency of the store, the key and the web page.
pub const AGENCY: &str = "ubnd-fuzz";

/// An answer of the router, body collected.
pub struct Answer {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Vec<u8>,
}

// ---------------------------------------------------------------------------------------
// Library targets

/// The capture decoder as `sohoa digitize` and the web upload use it: a scanned PDF is
/// split into its page images first; then the frames are counted and each decoded. Every
/// decoded frame must respect the limits.
pub fn decode_image(data: &[u8]) {
    if pdf_input::is_pdf(data) {
        if let Ok(pages) = pdf_input::PdfPages::open(data) {
            for index in 0..pages.len().min(MAX_FRAMES) {
                if let Ok(page) = pages.image_file(index, &FUZZ_LIMITS) {
                    decode_frames(&page);
                }
            }
        }
        return;
    }
    decode_frames(data);
}

fn decode_frames(bytes: &[u8]) {
    let frames = match capture::frame_count(bytes) {
        Ok(n) => n,
        Err(_) => {
            // Refused up front by digitize and the web upload (a TIFF whose later IFD is
            // damaged may still have a readable first frame): the decoder still gets it.
            if let Ok(frame) = capture::decode_frame(bytes, 0, &FUZZ_LIMITS) {
                check_frame(&frame, &FUZZ_LIMITS);
            }
            return;
        }
    };
    assert!(frames >= 1, "frame_count returned 0");
    for index in 0..frames.min(MAX_FRAMES) {
        if let Ok(frame) = capture::decode_frame(bytes, index, &FUZZ_LIMITS) {
            check_frame(&frame, &FUZZ_LIMITS);
        }
    }
}

fn check_frame(frame: &Frame, limits: &DecodeLimits) {
    let (w, h) = frame.raster.dimensions();
    assert!(
        u64::from(w) * u64::from(h) <= limits.max_pixels,
        "decoded {w}×{h} px, over the limit of {} pixels",
        limits.max_pixels
    );
    assert!(
        w.min(h) >= limits.min_side,
        "decoded {w}×{h} px, under the minimum side of {}",
        limits.min_side
    );
    let (len, channels) = match &frame.raster {
        Raster::Bilevel(g) | Raster::Gray(g) => (g.as_raw().len(), 1),
        Raster::Rgb(c) => (c.as_raw().len(), 3),
    };
    assert_eq!(len, w as usize * h as usize * channels, "raster size");
    if let Some(dpi) = frame.stated_dpi {
        // Any value may be stated; it must at least be a number or the PDF writer suffers.
        let _ = capture::effective_dpi(Some(dpi), w, h);
    }
}

/// `verify_pdf` never fails and its verdict agrees with its signatures.
pub fn verify_pdf(data: &[u8]) {
    let report = sohoa::certify::verify::verify_pdf(
        data,
        &VerifyOptions {
            trust_anchors: vec![TRUST_ROOT.to_vec()],
            at: None,
        },
    );
    let all_valid = !report.signatures.is_empty() && report.signatures.iter().all(|s| s.valid);
    assert_eq!(
        report.valid, all_valid,
        "verdict disagrees with its signatures"
    );
    serde_json::to_string(&report).expect("the report serializes");
}

/// What the store reads from an ingested PDF.
pub fn inspect_pdf(data: &[u8]) {
    if let Ok(facts) = sohoa::store::inspect_pdf(data) {
        assert!(
            data.starts_with(b"%PDF-"),
            "accepted a file without a PDF header"
        );
        let _ = facts.text.len();
    }
}

// ---------------------------------------------------------------------------------------
// HTTP targets

/// `GET /api/v1/documents?DATA` and `GET /api/v1/search?DATA` (bytes a query may not
/// hold are percent-encoded, so every byte reaches the query decoder).
pub fn http_query(data: &[u8]) {
    send_query(data);
}

/// `POST /api/v1/documents`: input starting with `{` is a JSON body
/// (`application/json`); otherwise its first line is the query (the metadata) and the
/// rest the PDF (`application/pdf`).
pub fn http_ingest(data: &[u8]) {
    send_ingest(data);
}

/// `POST /api/v1/verify` with the input as the PDF body.
pub fn http_verify(data: &[u8]) {
    send_verify(data);
}

/// `POST /login` with the input as the `application/x-www-form-urlencoded` body and the
/// sign-in form's token cookie set to [`LOGIN_TOKEN`] (so `csrf=fuzz-login-token` passes).
pub fn http_login(data: &[u8]) {
    send_login(data);
}

/// `POST /capture` (the clerk's upload) as the signed-in clerk: the input is the
/// multipart body (boundary [`BOUNDARY`]), with every `@CSRF@` replaced by the session's
/// CSRF token. Drafts made are removed after each input.
pub fn http_capture(data: &[u8]) {
    send_capture(data);
}

/// What [`http_query`] sends; the statuses of the answers.
pub fn send_query(data: &[u8]) -> Vec<StatusCode> {
    let http = http();
    let query = query_escape(data);
    let mut statuses = Vec::new();
    for path in ["/api/v1/documents", "/api/v1/search"] {
        let Ok(uri) = format!("{path}?{query}").parse::<Uri>() else {
            continue;
        };
        let request = Request::get(uri)
            .header(header::AUTHORIZATION, &http.bearer)
            .body(Body::empty())
            .expect("request");
        statuses.push(http.send(request).status);
    }
    statuses
}

/// What [`http_ingest`] sends; the status of the answer.
pub fn send_ingest(data: &[u8]) -> Vec<StatusCode> {
    let http = http();
    let (uri, content_type, body) = if data.first() == Some(&b'{') {
        ("/api/v1/documents".to_string(), "application/json", data)
    } else {
        let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
        let body = data.get(split + 1..).unwrap_or_default();
        let uri = format!("/api/v1/documents?{}", query_escape(&data[..split]));
        (uri, "application/pdf", body)
    };
    let Ok(uri) = uri.parse::<Uri>() else {
        return Vec::new();
    };
    let request = Request::post(uri)
        .header(header::AUTHORIZATION, &http.bearer)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body.to_vec()))
        .expect("request");
    vec![http.send(request).status]
}

/// What [`http_verify`] sends; the status of the answer.
pub fn send_verify(data: &[u8]) -> Vec<StatusCode> {
    let http = http();
    let request = Request::post("/api/v1/verify")
        .header(header::AUTHORIZATION, &http.bearer)
        .header(header::CONTENT_TYPE, "application/pdf")
        .header("x-purpose", "fuzz")
        .body(Body::from(data.to_vec()))
        .expect("request");
    vec![http.send(request).status]
}

/// What [`http_login`] sends; the status of the answer.
pub fn send_login(data: &[u8]) -> Vec<StatusCode> {
    let http = http();
    let request = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("sohoa_login={LOGIN_TOKEN}"))
        .body(Body::from(data.to_vec()))
        .expect("request");
    vec![http.send(request).status]
}

/// What [`http_capture`] sends; the status of the answer.
pub fn send_capture(data: &[u8]) -> Vec<StatusCode> {
    let http = http();
    let body = replace_all(data, CSRF_PLACEHOLDER, http.csrf.as_bytes());
    let request = Request::post("/capture")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header(header::COOKIE, &http.session_cookie)
        .body(Body::from(body))
        .expect("request");
    let answer = http.send(request);
    if answer.status == StatusCode::SEE_OTHER {
        let _ = http.store.remove_scratch("drafts");
    }
    vec![answer.status]
}

/// The server state shared by the HTTP targets.
pub struct Http {
    rt: tokio::runtime::Runtime,
    app: Router,
    /// `Bearer sohoa_…` of a `read:*` + `write` key.
    pub bearer: String,
    /// `sohoa_session=…` of the signed-in clerk.
    pub session_cookie: String,
    /// The session's CSRF token.
    pub csrf: String,
    /// The temporary folder holding the store and the web page's work folders.
    pub dir: PathBuf,
    store: sohoa::store::Store,
}

/// The shared server state, made on first use.
pub fn http() -> &'static Http {
    static HTTP: OnceLock<Http> = OnceLock::new();
    HTTP.get_or_init(Http::start)
}

impl Http {
    fn start() -> Http {
        use sohoa::store::{Scope, Store, User, UserRole};

        let dir = tempfile::Builder::new()
            .prefix("sohoa-fuzz-")
            .tempdir()
            .expect("temporary folder")
            .keep();
        let store = Store::open(&dir.join("store")).expect("store");
        store
            .add_agency(AGENCY, "UBND xã Thử Nghiệm Fuzz")
            .expect("agency");
        let (_, secret) = store
            .create_key(AGENCY, &[Scope::ReadAll, Scope::Write])
            .expect("API key");
        let user = User {
            username: USER.into(),
            display_name: "Cán bộ Fuzz".into(),
            roles: vec![UserRole::Clerk],
            disabled: false,
            epoch: 0,
        };
        store.add_user(&user, PASSWORD).expect("clerk");
        let config = sohoa::server::Config {
            key_cache: Duration::from_secs(24 * 3600),
            ..Default::default()
        };
        let web = sohoa::web::WebConfig {
            register_dir: dir.join("register"),
            agency: AGENCY.into(),
            signer: None,
            public_url: None,
            secure_cookies: false,
            digitize: sohoa::digitize::DigitizeOptions {
                jobs: 1,
                ..Default::default()
            },
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let app = {
            let _entered = rt.enter();
            let state = sohoa::server::AppState::new(store.clone(), &config).expect("state");
            let app = sohoa::server::router(state.clone()).merge(sohoa::web::router(state, web));
            sohoa::server::with_limits(app, &config)
        };
        let mut http = Http {
            rt,
            app,
            bearer: format!("Bearer {secret}"),
            session_cookie: String::new(),
            csrf: String::new(),
            dir,
            store,
        };
        http.sign_in();
        http
    }

    /// Signs the clerk in and reads the session's cookie and CSRF token.
    fn sign_in(&mut self) {
        let form = format!("username={USER}&password={PASSWORD}&csrf={LOGIN_TOKEN}");
        let request = Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, format!("sohoa_login={LOGIN_TOKEN}"))
            .body(Body::from(form))
            .expect("request");
        let answer = self.send(request);
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "sign-in refused");
        let session = answer
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("sohoa_session="))
            .and_then(|v| v.split(';').next())
            .expect("session cookie")
            .to_string();
        self.session_cookie = format!("sohoa_session={session}");
        let request = Request::get("/capture")
            .header(header::COOKIE, &self.session_cookie)
            .body(Body::empty())
            .expect("request");
        let page = self.send(request);
        assert_eq!(page.status, StatusCode::OK, "capture page");
        let html = String::from_utf8_lossy(&page.body);
        let marker = "<meta name=\"csrf-token\" content=\"";
        let start = html.find(marker).expect("CSRF token on the page") + marker.len();
        let end = start + html[start..].find('"').expect("end of the CSRF token");
        self.csrf = html[start..end].to_string();
    }

    /// Sends `request`; a 5xx answer is a finding.
    pub fn send(&self, request: Request<Body>) -> Answer {
        let what = format!("{} {}", request.method(), request.uri());
        let answer = shim::call(&self.rt, &self.app, request);
        assert!(
            !answer.status.is_server_error(),
            "{what}: answered {}: {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
        answer
    }
}

/// Percent-encodes the bytes a URI query may not hold (`%` itself is kept, so that
/// malformed escapes reach the decoder too).
pub fn query_escape(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len());
    for &b in data {
        let keep = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b);
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn replace_all(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}
