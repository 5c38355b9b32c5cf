//! `sohoa batch`: a folder of scans to stored documents (see `sohoa::batch`).
//!
//! Exit code: 0 when every document was stored (or had been stored before), 3 when the
//! batch ran to its end but some documents failed or were stored with missing pages (see
//! the summary and `--report`), 1 when it could not run or had to stop.

use anyhow::{anyhow, bail, Context, Result};
use std::path::PathBuf;
use std::sync::Arc;

use sohoa::batch::plan::{self, Defaults, OnPageError};
use sohoa::batch::{self, progress, BatchOptions, Certify};
use sohoa::certify::copy::CertifyRequest;
use sohoa::certify::issuer::Issuer;
use sohoa::certify::key::SigningKey;
use sohoa::certify::pades::Placement;
use sohoa::certify::placement::KnownInk;
use sohoa::digitize::{DigitizeOptions, OcrMode};
use sohoa::pdf::Quality;
use sohoa::store::Role;

use super::certify::{load_key, SignerArgs};
use super::files::{read, write_atomically};
use super::store::{choose_agency, user, StoreDir};

/// Exit code when the batch completed with failed files or documents.
pub const EXIT_SOME_FAILED: u8 = 3;

/// Arguments of `sohoa batch`.
#[derive(clap::Args)]
pub struct Args {
    /// Folder of scans: each sub-folder is a document (images in natural name order), each
    /// image at the top level a document of its own.
    #[arg(required_unless_present = "status")]
    input: Option<PathBuf>,
    /// Queue the documents for `sohoa worker` on any machine sharing the store (their
    /// originals go to the blob storage) instead of digitizing them here.
    #[arg(long, conflicts_with = "status")]
    enqueue: bool,
    /// Show the queue of `--enqueue`d documents: queued, running, done, failed with reasons.
    #[arg(long)]
    status: bool,
    #[command(flatten)]
    store: StoreDir,
    /// CSV or JSON manifest naming each document's files (relative to INPUT) and metadata,
    /// instead of the folder layout.
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
    /// Pages processed in parallel (default: number of cores).
    #[arg(long, short)]
    jobs: Option<usize>,
    /// The scans' resolution in dots per inch, when the files state none or a wrong one
    /// (else: the file's, or A4 for a page-shaped image, or estimated from a strip's text).
    #[arg(long, value_parser = super::digitize::parse_dpi)]
    dpi: Option<f32>,
    /// Write a JSON report: per-document status, id, timings and errors, totals, peak memory.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// When a file or page fails: store nothing for its document, or store the rest and
    /// flag the document (per document, `on_page_error` in sohoa.json or the manifest wins).
    #[arg(long, value_enum, default_value = "skip-document")]
    on_page_error: PageErrorArg,
    /// Handling agency code (default: the store's only agency, or LOCAL, created).
    #[arg(long)]
    agency: Option<String>,
    /// Procedure code (mã TTHC) of documents that do not state one.
    #[arg(long)]
    procedure: Option<String>,
    /// Kind of documents that do not state one, e.g. giay-khai-sinh.
    #[arg(long)]
    kind: Option<String>,
    /// Title of documents that do not state one (default: the folder or file name).
    #[arg(long)]
    title: Option<String>,
    /// Documents are results of the procedure (default: dossier components).
    #[arg(long)]
    result: bool,
    /// Who stores them (default: $USER).
    #[arg(long)]
    created_by: Option<String>,
    /// Folder searched first for OCR models (default: ./models).
    #[arg(long)]
    models: Option<PathBuf>,
    /// Pages of PDF inputs that already have text: `skip-text` keeps them as they are,
    /// `redo` reads earlier OCR layers again, `force` renders and reads every page.
    #[arg(long, default_value = "skip-text")]
    ocr: OcrMode,
    /// How page images are kept: `archive` (as scanned) or `compact` (text on white
    /// stored bitonal, CCITT G4; other pages of text, seals and signatures included, as
    /// a G4 ink mask over 75-dpi colour layers; pictures stay as scanned).
    #[arg(long, default_value = "archive")]
    quality: Quality,
    /// No progress bar or log lines (the summary is still printed).
    #[arg(long, short)]
    quiet: bool,
    /// Certify each document before storing it: the key source (as for `sohoa certify`).
    #[command(flatten, next_help_heading = "Certify in batch (optional)")]
    signer: SignerArgs,
    /// The certifying official (người chứng thực); with a key source.
    #[arg(long, help_heading = "Certify in batch (optional)")]
    certifier: Option<String>,
    /// The certifying agency as printed on the statement, e.g. "UBND xã …".
    #[arg(long, help_heading = "Certify in batch (optional)")]
    certifying_agency: Option<String>,
    /// Register folder (sổ chứng thực).
    #[arg(
        long,
        default_value = "register",
        help_heading = "Certify in batch (optional)"
    )]
    register: PathBuf,
    /// Register book number.
    #[arg(
        long,
        default_value_t = 1,
        help_heading = "Certify in batch (optional)"
    )]
    book: u32,
}

/// Certifies with a key and numbers the copies in the register, as `sohoa certify` does.
struct RegisterSigner {
    key: Box<dyn SigningKey>,
    long_term: Option<std::sync::Arc<sohoa::certify::longterm::LongTerm>>,
    register: PathBuf,
    certifier: String,
    agency: String,
    book: String,
}

impl Certify for RegisterSigner {
    fn certify(
        &mut self,
        pdf: &[u8],
        ink: Arc<KnownInk>,
    ) -> std::result::Result<(Vec<u8>, String), String> {
        let request = CertifyRequest {
            certifier: self.certifier.clone(),
            agency: self.agency.clone(),
            book: self.book.clone(),
            time: time::OffsetDateTime::now_utc(),
            placement: Placement {
                known_ink: Some(ink),
                ..Placement::default()
            },
            details: Default::default(),
            long_term: self.long_term.clone(),
            verify_url: None,
        };
        let mut issuer =
            Issuer::open(&self.register, self.key.as_ref()).map_err(|e| e.to_string())?;
        let issued = issuer
            .issue(pdf, &request, |_, _| Ok::<_, String>(()))
            .map_err(|e| e.to_string())?;
        Ok((issued.copy.pdf, issued.copy.reference))
    }
}

fn signer(args: &Args) -> Result<Option<RegisterSigner>> {
    if !args.signer.given() {
        return Ok(None);
    }
    let need = |v: &Option<String>, flag: &str| {
        v.clone()
            .ok_or_else(|| anyhow!("certifying in batch needs --{flag}"))
    };
    Ok(Some(RegisterSigner {
        certifier: need(&args.certifier, "certifier")?,
        agency: need(&args.certifying_agency, "certifying-agency")?,
        key: load_key(&args.signer)?,
        long_term: args.signer.long_term()?,
        register: args.register.clone(),
        book: format!("{:02}", args.book),
    }))
}

/// `--enqueue`: queues the documents and prints what it did.
fn enqueue(
    plans: &[plan::DocumentPlan],
    store: &sohoa::store::Store,
    options: &BatchOptions,
) -> Result<u8> {
    let report = batch::queue::enqueue(plans, store, options)?;
    for (name, why) in &report.failed {
        eprintln!("{name}: not queued: {why}");
    }
    println!(
        "{} documents queued, {} queued or stored before, {} not queued",
        report.queued,
        report.already,
        report.failed.len()
    );
    Ok(if report.failed.is_empty() {
        0
    } else {
        EXIT_SOME_FAILED
    })
}

/// `--status`: the queue's counts and failures; exit 3 when some failed.
fn queue_status(store: &sohoa::store::Store) -> Result<u8> {
    let status = store.queue_status()?;
    println!(
        "queued {}, running {}, done {}, failed {}",
        status.queued,
        status.running,
        status.done,
        status.failed.len()
    );
    for (name, why) in &status.failed {
        println!("failed: {name}: {why}");
    }
    Ok(if status.failed.is_empty() {
        0
    } else {
        EXIT_SOME_FAILED
    })
}

/// `--on-page-error` values.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum PageErrorArg {
    /// Store nothing for the document (it is retried on the next run).
    SkipDocument,
    /// Store the pages that worked; the report names the missing ones.
    StoreFlagged,
}

/// Runs the command; returns the exit code.
pub fn run(args: Args) -> Result<u8> {
    let dir = args.store.resolve()?;
    let store = args.store.open()?;
    if args.status {
        return queue_status(&store);
    }
    let input = args.input.clone().context("give the folder of scans")?;
    if !input.is_dir() {
        bail!("{}: not a folder", input.display());
    }
    let defaults = Defaults {
        agency: choose_agency(&store, args.agency.clone())?,
        procedure_code: args.procedure.clone(),
        kind: args.kind.clone(),
        title: args.title.clone(),
        role: if args.result {
            Role::Result
        } else {
            Role::Component
        },
        created_by: args.created_by.clone().unwrap_or_else(user),
        on_page_error: match args.on_page_error {
            PageErrorArg::SkipDocument => OnPageError::SkipDocument,
            PageErrorArg::StoreFlagged => OnPageError::StoreFlagged,
        },
    };
    let plans = match &args.manifest {
        Some(path) => {
            plan::plan_manifest(path, &read(path)?, &defaults).map_err(anyhow::Error::msg)?
        }
        None => plan::plan_folder(&input, &defaults).map_err(anyhow::Error::msg)?,
    };
    let mut digitize = DigitizeOptions {
        models_dir: args.models.clone(),
        dpi: args.dpi,
        ocr: args.ocr,
        quality: args.quality,
        ..DigitizeOptions::default()
    };
    if let Some(jobs) = args.jobs {
        digitize.jobs = jobs.max(1);
    }
    let options = BatchOptions {
        in_flight: 2 * digitize.jobs + 1,
        digitize,
        register: Some(args.register.clone()),
        ..BatchOptions::new(input)
    };
    if args.enqueue {
        return enqueue(&plans, &store, &options);
    }
    let mut signer = signer(&args)?;
    let certify = signer.as_mut().map(|s| s as &mut (dyn Certify + Send));
    let mut progress = progress::for_stderr(args.quiet);
    let mut report = batch::run(&plans, &store, &options, progress.as_mut(), certify)?;
    report.store = dir.display().to_string();
    if let Some(path) = &args.report {
        let json = serde_json::to_vec_pretty(&report)?;
        write_atomically(path, &json)?;
    }
    print!("{}", report.summary());
    Ok(if report.has_errors() {
        EXIT_SOME_FAILED
    } else {
        0
    })
}
