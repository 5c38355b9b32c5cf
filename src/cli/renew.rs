//! `sohoa renew`: keep a certified copy verifiable past its timestamp authority's
//! certificate — fresh revocation evidence and a new document timestamp (PAdES B-LTA).

use std::path::PathBuf;
use std::sync::Arc;

use sohoa::certify::longterm;
use sohoa::certify::online::{Fetch, HttpTsa};

use super::files::{read, write_atomically};

/// Arguments of `sohoa renew`.
#[derive(clap::Args)]
pub struct Args {
    /// The certified copy (B-T or above).
    file: PathBuf,
    /// Where to write the renewed copy.
    #[arg(short, long)]
    output: PathBuf,
    /// Address of the time-stamping authority (RFC 3161 over HTTP or HTTPS).
    #[arg(long)]
    tsa: String,
    /// Issuer certificates (PEM) of the timestamp authorities, when the file lacks them.
    #[arg(long)]
    chain: Option<PathBuf>,
    /// Time allowed for one request, in seconds.
    #[arg(long, default_value_t = 15)]
    timeout_secs: u64,
}

/// Runs the command.
pub fn run(args: Args) -> Result<(), String> {
    let pdf = read(&args.file)?;
    let issuers = match &args.chain {
        Some(path) => sohoa::certify::pem::certificates(&read(path)?, "--chain")
            .map_err(|e| format!("{}: {e}", path.display()))?,
        None => Vec::new(),
    };
    let fetch = Fetch {
        timeout: std::time::Duration::from_secs(args.timeout_secs.max(1)),
        ..Fetch::default()
    };
    let tsa = Arc::new(HttpTsa {
        url: args.tsa.clone(),
        fetch: fetch.clone(),
    });
    let (renewed, token) = longterm::renew(&pdf, tsa.as_ref(), &fetch, &issuers)
        .map_err(|e| format!("{}: {e}", args.file.display()))?;
    write_atomically(&args.output, &renewed)?;
    let time = token
        .time
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    println!(
        "Dấu thời gian mới / new document timestamp: {time} ({})",
        token.tsa
    );
    println!("{}", args.output.display());
    Ok(())
}
