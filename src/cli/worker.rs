//! `sohoa worker`: takes documents queued by `sohoa batch --enqueue` from the shared
//! store and digitizes and stores them (see `sohoa::batch::queue`). Run one per core, on
//! as many machines as share the store.

use anyhow::{anyhow, Result};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use sohoa::batch::queue::{self, WorkerOptions};
use sohoa::digitize::DigitizeOptions;

use super::store::StoreDir;

/// Arguments of `sohoa worker`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    store: StoreDir,
    /// Jobs worked on at once, each on one core (default 1).
    #[arg(long, short, default_value_t = 1)]
    jobs: usize,
    /// Seconds a taken job stays this worker's without a renewal (renewed every third of
    /// it while the worker lives; after a crash, another worker takes the job then).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(3..=86_400))]
    lease: u64,
    /// Stop when no job is queued or held by another live worker (else wait for more).
    #[arg(long)]
    exit_when_empty: bool,
    /// The scans' resolution in dots per inch, when the files state none or a wrong one.
    #[arg(long, value_parser = super::digitize::parse_dpi)]
    dpi: Option<f32>,
    /// Folder searched first for OCR models (default: ./models).
    #[arg(long)]
    models: Option<PathBuf>,
}

/// Runs the workers until stopped (or the queue is empty, with --exit-when-empty).
pub fn run(args: Args) -> Result<()> {
    let store = args.store.open()?;
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let stop = AtomicBool::new(false);
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..args.jobs.max(1))
            .map(|i| {
                let options = WorkerOptions {
                    name: format!("{}-{}-{i}", host.trim(), std::process::id()),
                    lease: Duration::from_secs(args.lease),
                    digitize: DigitizeOptions {
                        jobs: 1,
                        models_dir: args.models.clone(),
                        dpi: args.dpi,
                        ..DigitizeOptions::default()
                    },
                    exit_when_empty: args.exit_when_empty,
                    poll: Duration::from_secs(2),
                };
                let (store, stop) = (&store, &stop);
                scope.spawn(move || queue::work(store, &options, stop))
            })
            .collect();
        handles.into_iter().map(|h| h.join()).collect()
    });
    let mut totals = queue::WorkerTotals::default();
    for result in results {
        let done = result.map_err(|_| anyhow!("a worker thread panicked"))??;
        totals.stored += done.stored;
        totals.already_stored += done.already_stored;
        totals.failed += done.failed;
        totals.pages += done.pages;
    }
    println!(
        "stored {} documents ({} pages), {} already stored, {} failed",
        totals.stored, totals.pages, totals.already_stored, totals.failed
    );
    Ok(())
}
