//! `sohoa serve`: the HTTP lookup service over a store.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use sohoa::server::{self, Config};
use sohoa::store::Store;

use super::files::read;
use super::store::StoreDir;
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
    };
    let dir = args.store.resolve()?;
    let store = Store::open(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
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
