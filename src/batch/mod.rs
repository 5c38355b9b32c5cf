//! Backlog batch digitization: folders of scans to stored documents, pages in parallel,
//! resumable after a crash, with progress and a report.
//!
//! ```text
//! plan (plan.rs)        folders or a manifest → documents: files in order + metadata
//! schedule (schedule.rs) planner → page workers (one OCR engine each) → collector → writer
//! journal (journal.rs)  work keys, recorded by the store with each document it stores
//! queue (queue.rs)      the same work across machines: --enqueue, then `sohoa worker`
//! progress.rs, report.rs what the operator sees while it runs and afterwards
//! ```
//!
//! Re-running the same batch after a crash, kill or power loss stores what is missing and
//! nothing twice: each document's work key is stored in the transaction that stores the
//! document, and work whose key is in the store is skipped before its files are OCRed.
//!
//! ```no_run
//! use sohoa::batch::{self, plan, BatchOptions};
//! use sohoa::store::{Role, Store};
//!
//! let store = Store::open("store".as_ref()).unwrap();
//! let defaults = plan::Defaults {
//!     agency: "UBND-XA-TN".into(), procedure_code: Some("1.001193".into()),
//!     kind: Some("giay-khai-sinh".into()), title: None, role: Role::Component,
//!     created_by: "clerk".into(), on_page_error: plan::OnPageError::SkipDocument,
//! };
//! let plans = plan::plan_folder("scans".as_ref(), &defaults).unwrap();
//! let options = BatchOptions::new("scans".into());
//! let mut progress = batch::progress::Silent;
//! let report = batch::run(&plans, &store, &options, &mut progress, None).unwrap();
//! println!("{}", report.summary());
//! ```

pub mod journal;
pub mod plan;
pub mod progress;
pub mod queue;
pub mod report;
mod schedule;

use std::path::PathBuf;
use std::sync::Arc;

use crate::certify::placement::KnownInk;
use crate::digitize::DigitizeOptions;

pub use schedule::run;

/// Largest input file read, in bytes (checked before reading): 512 MiB.
pub const MAX_FILE_BYTES: u64 = 512 << 20;

/// Settings of a batch run.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// The input folder; documents' files are relative to it.
    pub input: PathBuf,
    /// OCR settings; `jobs` is the number of page workers.
    pub digitize: DigitizeOptions,
    /// Documents read but not yet stored, at most (bounds memory; default 2 × jobs + 1).
    pub in_flight: usize,
    /// Input files larger than this are reported as errors, unread.
    pub max_file_bytes: u64,
    /// This office's certification register: a signed PDF in the input that it issued is
    /// stored as a certified copy.
    pub register: Option<PathBuf>,
}

impl BatchOptions {
    /// Defaults for the folder `input`.
    pub fn new(input: PathBuf) -> BatchOptions {
        let digitize = DigitizeOptions::default();
        BatchOptions {
            input,
            in_flight: 2 * digitize.jobs + 1,
            digitize,
            max_file_bytes: MAX_FILE_BYTES,
            register: None,
        }
    }
}

/// Certifies each document before it is stored (`sohoa batch` with a signer).
pub trait Certify {
    /// The certified copy of `pdf` and its verification reference; `ink` is where its
    /// page images have ink (known from digitizing, so the stamp is placed without
    /// decoding them again).
    fn certify(&mut self, pdf: &[u8], ink: Arc<KnownInk>) -> Result<(Vec<u8>, String), String>;
}

/// Why a batch stopped before its end (per-document problems go in the report instead).
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// The OCR engine, the store or the batch's own threads failed.
    #[error("{0}")]
    Fatal(String),
}
