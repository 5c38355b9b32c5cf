//! `sohoa batch`: a folder of scans to stored documents (see `sohoa::batch`).
//!
//! Exit code: 0 when every document was stored (or had been stored before), 3 when the
//! batch ran to its end but some documents failed or were stored with missing pages (see
//! the summary and `--report`), 1 when it could not run or had to stop.

use std::path::PathBuf;

use sohoa::batch::plan::{self, Defaults, OnPageError};
use sohoa::batch::{self, progress, BatchOptions};
use sohoa::digitize::DigitizeOptions;
use sohoa::store::{Role, Store};

use super::files::{read, write_atomically};
use super::store::{choose_agency, user, StoreDir};

/// Exit code when the batch completed with failed files or documents.
pub const EXIT_SOME_FAILED: u8 = 3;

/// Arguments of `sohoa batch`.
#[derive(clap::Args)]
pub struct Args {
    /// Folder of scans: each sub-folder is a document (images in natural name order), each
    /// image at the top level a document of its own.
    input: PathBuf,
    #[command(flatten)]
    store: StoreDir,
    /// CSV or JSON manifest naming each document's files (relative to INPUT) and metadata,
    /// instead of the folder layout.
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
    /// Pages processed in parallel (default: number of cores).
    #[arg(long, short)]
    jobs: Option<usize>,
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
    /// No progress bar or log lines (the summary is still printed).
    #[arg(long, short)]
    quiet: bool,
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
pub fn run(args: Args) -> Result<u8, String> {
    let dir = args.store.resolve()?;
    let store = Store::open(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if !args.input.is_dir() {
        return Err(format!("{}: not a folder", args.input.display()));
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
        Some(path) => plan::plan_manifest(path, &read(path)?, &defaults)?,
        None => plan::plan_folder(&args.input, &defaults)?,
    };
    let mut digitize = DigitizeOptions {
        models_dir: args.models.clone(),
        ..DigitizeOptions::default()
    };
    if let Some(jobs) = args.jobs {
        digitize.jobs = jobs.max(1);
    }
    let options = BatchOptions {
        in_flight: 2 * digitize.jobs + 1,
        digitize,
        ..BatchOptions::new(args.input.clone())
    };
    let mut progress = progress::for_stderr(args.quiet);
    let mut report =
        batch::run(&plans, &store, &options, progress.as_mut(), None).map_err(|e| e.to_string())?;
    report.store = dir.display().to_string();
    if let Some(path) = &args.report {
        let json = serde_json::to_vec_pretty(&report).map_err(|e| e.to_string())?;
        write_atomically(path, &json)?;
    }
    print!("{}", report.summary());
    Ok(if report.has_errors() {
        EXIT_SOME_FAILED
    } else {
        0
    })
}
