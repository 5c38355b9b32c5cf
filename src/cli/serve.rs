//! `sohoa serve`: the HTTP lookup service over a store.

use anyhow::{bail, Context, Result};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use std::sync::Arc;

use axum::Router;
use sohoa::digitize::DigitizeOptions;
use sohoa::server::listener::Limits;
use sohoa::server::{self, AppState, Config};
use sohoa::store::Store;
use sohoa::web::{Signer, WebConfig};

use super::certify::{load_key, SignerArgs};
use super::files::read;
use super::store::{choose_agency, StoreDir};
use super::verify::certificates;

/// Arguments of `sohoa serve`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    store: StoreDir,
    /// Address to listen on (port 0: any free port; the address is printed when ready).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Address for the operator's `GET /metrics` (Prometheus text) and `/healthz`, kept
    /// off the public address; none by default.
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<SocketAddr>,
    /// Trust anchor certificates for POST /api/v1/verify (PEM or DER); repeatable. Also
    /// `trust = ["…"]` under `[verify]` in ./sohoa.toml.
    #[arg(long)]
    trust: Vec<PathBuf>,
    /// Largest request body, in MiB (larger: 413).
    #[arg(long, default_value_t = 64)]
    max_body_mb: usize,
    /// How long a checked API key is remembered, in milliseconds (a revoked key stops
    /// working within this time; 0: check every request against the store).
    #[arg(long, default_value_t = 1000)]
    key_cache_ms: u64,
    /// Store calls run at once (the store pools 16 connections).
    #[arg(long, default_value_t = 8)]
    db_slots: usize,
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    #[command(flatten)]
    connections: ConnectionArgs,
    #[command(flatten)]
    web: WebArgs,
}

/// Connection limits and TLS (like every flag of `serve`, also settable under `[serve]`
/// in sohoa.toml: `header_timeout_secs = 10`, `tls_cert = "…"`).
#[derive(clap::Args, Default)]
struct ConnectionArgs {
    /// Seconds allowed for a request's header and a TLS handshake [default: 10].
    #[arg(long)]
    header_timeout_secs: Option<u64>,
    /// Seconds after which a connection with no request in flight is closed [default: 60].
    #[arg(long)]
    idle_timeout_secs: Option<u64>,
    /// Longest wait, in seconds, between two chunks of a request body [default: 30].
    #[arg(long)]
    body_timeout_secs: Option<u64>,
    /// Connections open at once; at the cap the longest-idle one is closed [default: 512].
    #[arg(long)]
    max_connections: Option<usize>,
    /// Serve HTTPS with this certificate chain (PEM), with --tls-key; adds HSTS and
    /// Secure cookies.
    #[arg(long, requires = "tls_key", value_name = "CERT.pem")]
    tls_cert: Option<PathBuf>,
    /// The TLS private key (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, requires = "tls_cert", value_name = "KEY.pem")]
    tls_key: Option<PathBuf>,
}

impl ConnectionArgs {
    /// The limits given, else the defaults.
    fn limits(&self) -> Result<Limits> {
        let default = Limits::default();
        let secs =
            |value: Option<u64>, default: Duration| value.map_or(default, Duration::from_secs);
        let limits = Limits {
            header_read: secs(self.header_timeout_secs, default.header_read),
            idle: secs(self.idle_timeout_secs, default.idle),
            body: secs(self.body_timeout_secs, default.body),
            max_connections: self.max_connections.unwrap_or(default.max_connections),
        };
        if limits.header_read.is_zero() || limits.idle.is_zero() || limits.body.is_zero() {
            bail!("timeouts must be at least 1 second");
        }
        if limits.max_connections == 0 {
            bail!("max_connections (--max-connections) must be at least 1");
        }
        Ok(limits)
    }
}

/// The clerks' web page (`--web`) and its certification set-up.
#[derive(clap::Args)]
struct WebArgs {
    /// Also serve the clerks' web page: sign-in, capture, review, store, certify, search,
    /// register (users: `sohoa user add`).
    #[arg(long)]
    web: bool,
    /// Agency code of documents stored from the web page (default: the store's only one).
    #[arg(long)]
    agency: Option<String>,
    /// The certifying agency's name printed on stamps (default: the agency's name).
    #[arg(long)]
    agency_name: Option<String>,
    /// Certification register folder (default: STORE/register): the web page numbers
    /// copies in it, ingested copies it issued keep their reference, /verify reads it.
    #[arg(long)]
    register: Option<PathBuf>,
    /// Register book number.
    #[arg(long, default_value_t = 1)]
    book: u32,
    /// The address clients reach this server at, e.g. https://motcua.xa.gov.vn: QR codes
    /// on certified copies open its /verify page; https marks cookies Secure.
    #[arg(long)]
    public_url: Option<String>,
    /// Folder searched first for OCR models.
    #[arg(long)]
    models: Option<PathBuf>,
    #[command(flatten)]
    signer: SignerArgs,
}

/// Runs the service until SIGINT or SIGTERM.
pub fn run(args: Args) -> Result<()> {
    let mut trust_anchors = Vec::new();
    let mut paths = args.trust.clone();
    paths.extend(super::verify::configured_anchors()?);
    for path in &paths {
        trust_anchors
            .extend(certificates(&read(path)?).with_context(|| path.display().to_string())?);
    }
    let dir = args.store.resolve()?;
    let store = args.store.open()?;
    let register_dir = register_dir(&args.web, &dir);
    let https = args.connections.tls_cert.is_some();
    let web = web_config(&args.web, &store, &dir, https)?;
    if trust_anchors.is_empty() {
        // Without --trust, the key this server certifies with is the one anchor: its own
        // copies verify, nobody else's signer is called trusted.
        if let Some(signer) = web.as_ref().and_then(|w| w.signer.as_ref()) {
            trust_anchors.push(signer.key.certificate().to_vec());
        } else {
            eprintln!(
                "sohoa: warning: no trust anchor (--trust): signed PDFs are not filed as \
                 certified copies and the public verification page says verification is unavailable"
            );
        }
    }
    let config = Config {
        trust_anchors,
        register_dir: Some(register_dir),
        max_body_bytes: args.max_body_mb.saturating_mul(1 << 20),
        key_cache: Duration::from_millis(args.key_cache_ms),
        db_slots: args.db_slots,
    };
    let limits = args.connections.limits()?;
    let tls = match (&args.connections.tls_cert, &args.connections.tls_key) {
        (Some(cert), Some(key)) => {
            Some(server::listener::tls_acceptor(cert, key).map_err(anyhow::Error::msg)?)
        }
        _ => None,
    };
    let (app, state) = app(store, &config, web)?;
    let app = if tls.is_some() {
        server::with_hsts(app)
    } else {
        app
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        runtime.worker_threads(n.max(1));
    }
    let runtime = runtime.enable_all().build()?;
    runtime.block_on(async {
        let stop = server::shutdown_signal();
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("{}: cannot listen", args.listen))?;
        let addr = listener.local_addr()?;
        println!("listening on {scheme}://{addr}");
        use std::io::Write;
        if let Some(metrics) = args.metrics_listen {
            let listener = tokio::net::TcpListener::bind(metrics)
                .await
                .with_context(|| format!("{metrics}: cannot listen"))?;
            let addr = listener.local_addr()?;
            // Not println!: a closed stdout must not stop the service.
            let _ = writeln!(std::io::stdout(), "metrics on http://{addr}/metrics");
            let router = server::metrics::router(state);
            tokio::spawn(async move { axum::serve(listener, router).await });
        }
        let _ = std::io::stdout().flush();
        server::listener::serve(listener, app, limits, tls, stop).await?;
        Ok(())
    })
}

/// The API, with the web page's routes when it is served, and its state.
fn app(
    store: Store,
    config: &Config,
    web: Option<WebConfig>,
) -> std::io::Result<(Router, AppState)> {
    let state = AppState::new(store, config)?;
    let mut app = server::router(state.clone());
    if let Some(web) = web {
        app = app.merge(sohoa::web::router(state.clone(), web));
    }
    Ok((server::with_limits(app, config), state))
}

/// The certification register: `--register`, else STORE/register.
fn register_dir(args: &WebArgs, store_dir: &std::path::Path) -> PathBuf {
    args.register
        .clone()
        .unwrap_or_else(|| store_dir.join("register"))
}

/// The web page's settings, when `--web` is given: the signing key is loaded (and its
/// certificate checked) now, so a wrong password stops the server at start.
fn web_config(
    args: &WebArgs,
    store: &Store,
    dir: &std::path::Path,
    https: bool,
) -> Result<Option<WebConfig>> {
    if !args.web {
        return Ok(None);
    }
    let agency = choose_agency(store, args.agency.clone())?;
    let agency_name = match &args.agency_name {
        Some(name) => name.clone(),
        None => store
            .agencies()?
            .into_iter()
            .find(|a| a.code == agency)
            .map_or_else(|| agency.clone(), |a| a.name),
    };
    let signer = if args.signer.given() {
        Some(Arc::new(Signer {
            key: load_key(&args.signer)?,
            long_term: args.signer.long_term()?,
            agency_name,
            book: format!("{:02}", args.book),
        }))
    } else {
        eprintln!("sohoa: warning: no signing key (--p12, --cert/--key or --pkcs11): the web page cannot certify");
        None
    };
    Ok(Some(WebConfig {
        register_dir: register_dir(args, dir),
        agency,
        signer,
        public_url: args.public_url.clone(),
        secure_cookies: https
            || args
                .public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://")),
        digitize: DigitizeOptions {
            models_dir: args.models.clone(),
            ..DigitizeOptions::default()
        },
    }))
}
