//! `sohoa serve`: the HTTP lookup service over a store.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use std::sync::Arc;

use sohoa::digitize::DigitizeOptions;
use sohoa::server::{self, Config};
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
    /// Trust anchor certificates for POST /api/v1/verify (PEM or DER); repeatable.
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
    web: WebArgs,
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
    /// Certification register folder (default: STORE/register).
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
pub fn run(args: Args) -> Result<(), String> {
    let mut trust_anchors = Vec::new();
    for path in &args.trust {
        trust_anchors
            .extend(certificates(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))?);
    }
    let config = Config {
        trust_anchors,
        max_body_bytes: args.max_body_mb.saturating_mul(1 << 20),
        key_cache: Duration::from_millis(args.key_cache_ms),
        db_slots: args.db_slots,
        web: None,
    };
    let dir = args.store.resolve()?;
    let store = Store::open(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let config = Config {
        web: web_config(&args.web, &store, &dir)?,
        ..config
    };
    let app = server::router(store, &config).map_err(|e| e.to_string())?;
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        runtime.worker_threads(n.max(1));
    }
    let runtime = runtime.enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| format!("{}: cannot listen: {e}", args.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        println!("listening on http://{addr}");
        use std::io::Write;
        let _ = std::io::stdout().flush();
        server::serve(listener, app)
            .await
            .map_err(|e| e.to_string())
    })
}

/// The web page's settings, when `--web` is given: the signing key is loaded (and its
/// certificate checked) now, so a wrong password stops the server at start.
fn web_config(
    args: &WebArgs,
    store: &Store,
    dir: &std::path::Path,
) -> Result<Option<WebConfig>, String> {
    if !args.web {
        return Ok(None);
    }
    let agency = choose_agency(store, args.agency.clone())?;
    let agency_name = match &args.agency_name {
        Some(name) => name.clone(),
        None => store
            .agencies()
            .map_err(|e| e.to_string())?
            .into_iter()
            .find(|a| a.code == agency)
            .map_or_else(|| agency.clone(), |a| a.name),
    };
    let signer = if args.signer.given() {
        Some(Arc::new(Signer {
            key: load_key(&args.signer)?,
            agency_name,
            book: format!("{:02}", args.book),
        }))
    } else {
        eprintln!("sohoa: warning: no signing key (--p12, --cert/--key or --pkcs11): the web page cannot certify");
        None
    };
    Ok(Some(WebConfig {
        work_dir: dir.join("web"),
        register_dir: args
            .register
            .clone()
            .unwrap_or_else(|| dir.join("register")),
        agency,
        signer,
        public_url: args.public_url.clone(),
        digitize: DigitizeOptions {
            models_dir: args.models.clone(),
            ..DigitizeOptions::default()
        },
    }))
}
