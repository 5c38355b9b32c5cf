//! `sohoa renew`: keep certified copies verifiable past their timestamp authority's
//! certificate — fresh revocation evidence and a new document timestamp (PAdES B-LTA).
//! One file (`FILE -o OUT`), or every stored copy whose newest timestamp's authority
//! expires before a date (`--store DIR --due-before DATE`): each renewal is stored as it
//! is made, so a run stopped halfway is simply run again.

use anyhow::{anyhow, Context, Result};
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use sohoa::certify::longterm;
use sohoa::certify::online::{Fetch, HttpTsa};
use sohoa::store::{Store, StoredFile};

use super::files::{read, write_atomically};
use super::store::{audit_ids, StoreDir};

/// Arguments of `sohoa renew`.
#[derive(clap::Args)]
pub struct Args {
    /// The certified copy (B-T or above).
    #[arg(required_unless_present = "due_before", requires = "output")]
    file: Option<PathBuf>,
    /// Where to write the renewed copy.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Renew every stored copy whose newest timestamp's authority certificate expires
    /// before this date (YYYY-MM-DD); each renewal is kept as a new version of the copy.
    #[arg(long, value_name = "DATE", conflicts_with = "file", value_parser = parse_date)]
    due_before: Option<OffsetDateTime>,
    #[command(flatten)]
    store: StoreDir,
    /// Address of the time-stamping authority (RFC 3161 over HTTP or HTTPS).
    #[arg(long)]
    tsa: String,
    /// Issuer certificates (PEM) of the timestamp authorities, when the files lack them.
    #[arg(long)]
    chain: Option<PathBuf>,
    /// Time allowed for one request, in seconds.
    #[arg(long, default_value_t = 15)]
    timeout_secs: u64,
}

fn parse_date(text: &str) -> Result<OffsetDateTime> {
    sohoa::calendar::parse_day(text)
        .map(|day| day.midnight().assume_utc())
        .ok_or_else(|| anyhow!("{text}: not a date (expected YYYY-MM-DD)"))
}

/// What renewing needs: the TSA, HTTP for revocation evidence, issuer certificates.
struct Renewer {
    tsa: HttpTsa,
    fetch: Fetch,
    issuers: Vec<Vec<u8>>,
}

impl Renewer {
    fn new(args: &Args) -> Result<Renewer> {
        let issuers = match &args.chain {
            Some(path) => sohoa::certify::pem::certificates(&read(path)?, "--chain")
                .with_context(|| path.display().to_string())?,
            None => Vec::new(),
        };
        let fetch = Fetch {
            timeout: std::time::Duration::from_secs(args.timeout_secs.max(1)),
            ..Fetch::default()
        };
        let tsa = HttpTsa {
            url: args.tsa.clone(),
            fetch: fetch.clone(),
        };
        Ok(Renewer {
            tsa,
            fetch,
            issuers,
        })
    }

    fn renew(&self, pdf: &[u8]) -> Result<(Vec<u8>, sohoa::certify::timestamp::Token)> {
        Ok(longterm::renew(pdf, &self.tsa, &self.fetch, &self.issuers)?)
    }
}

/// Runs the command.
pub fn run(args: Args) -> Result<bool> {
    let renewer = Renewer::new(&args)?;
    match (&args.file, &args.output, args.due_before) {
        (Some(file), Some(output), _) => renew_file(&renewer, file, output).map(|()| true),
        (None, _, Some(due_before)) => renew_store(&renewer, &args.store.open()?, due_before),
        _ => Err(anyhow!(
            "give FILE -o OUT, or --due-before DATE (with --store DIR)"
        )),
    }
}

fn renew_file(renewer: &Renewer, file: &Path, output: &Path) -> Result<()> {
    let pdf = read(file)?;
    let (renewed, token) = renewer
        .renew(&pdf)
        .with_context(|| file.display().to_string())?;
    write_atomically(output, &renewed)?;
    println!(
        "Dấu thời gian mới / new document timestamp: {} ({})",
        rfc3339(token.time),
        token.tsa
    );
    println!("{}", output.display());
    Ok(())
}

fn rfc3339(time: OffsetDateTime) -> String {
    time.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// What a store run did.
#[derive(Default)]
struct Tally {
    renewed: Vec<String>,
    not_due: usize,
    without_timestamp: usize,
    failed: usize,
}

/// Renews every stored copy due before `due_before`; false when one failed.
fn renew_store(renewer: &Renewer, store: &Store, due_before: OffsetDateTime) -> Result<bool> {
    let copies = store.certified_copies()?;
    let mut tally = Tally::default();
    for (id, file) in &copies {
        match renew_stored(renewer, store, id, file, due_before) {
            Ok(Outcome::Renewed(name)) => {
                println!("{id}: renewed → {name}");
                tally.renewed.push(id.clone());
            }
            Ok(Outcome::NotDue) => tally.not_due += 1,
            Ok(Outcome::NoTimestamp) => tally.without_timestamp += 1,
            Err(Failure::Copy(e)) => {
                eprintln!("sohoa: {id}: {e}");
                tally.failed += 1;
            }
            Err(Failure::Run(e)) => {
                audit(store, &tally.renewed)?;
                return Err(e);
            }
        }
    }
    audit(store, &tally.renewed)?;
    println!(
        "Gia hạn / renewed: {}; chưa đến hạn / not due: {}; không có dấu thời gian (B-B) / \
         no timestamp (B-B): {}; lỗi / failed: {} — of {} certified copies",
        tally.renewed.len(),
        tally.not_due,
        tally.without_timestamp,
        tally.failed,
        copies.len()
    );
    Ok(tally.failed == 0)
}

fn audit(store: &Store, renewed: &[String]) -> Result<()> {
    if renewed.is_empty() {
        return Ok(());
    }
    audit_ids(store, "renew", "renew --due-before".into(), renewed)
}

enum Outcome {
    Renewed(String),
    NotDue,
    NoTimestamp,
}

enum Failure {
    /// This copy could not be renewed; the others may.
    Copy(String),
    /// Renewing cannot help any copy: stop.
    Run(anyhow::Error),
}

fn renew_stored(
    renewer: &Renewer,
    store: &Store,
    id: &str,
    file: &StoredFile,
    due_before: OffsetDateTime,
) -> Result<Outcome, Failure> {
    let pdf = store
        .read_blob(&file.sha256)
        .map_err(|e| Failure::Copy(e.to_string()))?;
    match longterm::renewal_due(&pdf).map_err(|e| Failure::Copy(e.to_string()))? {
        None => return Ok(Outcome::NoTimestamp),
        Some(expiry) if expiry >= due_before => return Ok(Outcome::NotDue),
        Some(_) => {}
    }
    let (renewed, token) = renewer
        .renew(&pdf)
        .map_err(|e| Failure::Copy(e.to_string()))?;
    // The new document timestamp is now the newest: its authority's end of validity.
    let expiry = sohoa::certify::certificate::inspect(&token.tsa_certificate)
        .map_or(token.time, |info| info.not_after);
    if expiry < due_before {
        return Err(Failure::Run(anyhow!(
            "the timestamp authority's certificate ({}) ends on {}, before --due-before: \
             renewing with it would not carry the copies past that date; nothing was stored",
            token.tsa,
            expiry.date()
        )));
    }
    let stored = store
        .add_renewal(id, file, &renewed)
        .map_err(|e| Failure::Copy(e.to_string()))?;
    Ok(Outcome::Renewed(stored.name))
}
