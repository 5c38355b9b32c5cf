//! A backlog worked off by several machines: `sohoa batch --enqueue` puts each
//! document's originals in the blob storage and queues one job per document in the index
//! (the same work keys as a local batch); `sohoa worker` on any number of machines takes
//! jobs under a lease, digitizes and stores each document exactly once (the work journal),
//! and renews its lease while it works. A worker killed with SIGKILL leaves its job to be
//! taken again when the lease expires.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::journal::{content_hash, work_key};
use super::plan::DocumentPlan;
use super::schedule::{read_bounded, relative_name};
use super::BatchOptions;
use crate::capture;
use crate::digitize::{self, DigitizeError, DigitizeOptions, Digitized, PageWorker, Source};
use crate::store::queue::{Enqueued, Job, JobFile};
use crate::store::{FileRole, Ingest, NewFile, Once, Store, StoreError, Work};

/// What `--enqueue` did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct EnqueueReport {
    /// Jobs added.
    pub queued: usize,
    /// Documents already queued or already stored.
    pub already: usize,
    /// Documents not queued: `(name, reason)`.
    pub failed: Vec<(String, String)>,
}

/// Queues every planned document (see the module documentation).
pub fn enqueue(
    plans: &[DocumentPlan],
    store: &Store,
    options: &BatchOptions,
) -> Result<EnqueueReport, StoreError> {
    let mut report = EnqueueReport::default();
    for plan in plans {
        match enqueue_one(plan, store, options) {
            Ok(true) => report.queued += 1,
            Ok(false) => report.already += 1,
            Err(StoreError::Invalid(why)) => report.failed.push((plan.name.clone(), why)),
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}

/// Queues one document; `false` when it was queued or stored before.
fn enqueue_one(
    plan: &DocumentPlan,
    store: &Store,
    options: &BatchOptions,
) -> Result<bool, StoreError> {
    let new = plan.metadata.clone().map_err(StoreError::Invalid)?;
    store.check_document(&new)?;
    let mut contents = Vec::with_capacity(plan.files.len());
    for file in &plan.files {
        let name = relative_name(file);
        let bytes = read_bounded(&options.input.join(file), options.max_file_bytes)
            .map_err(|e| StoreError::Invalid(format!("{name}: {e}")))?;
        contents.push((name, bytes));
    }
    if contents.is_empty() {
        return Err(StoreError::Invalid("no page images".into()));
    }
    let hashed: Vec<_> = contents
        .iter()
        .map(|(name, bytes)| (name.clone(), content_hash(bytes)))
        .collect();
    let key = work_key(&hashed, &new);
    if store.work_document(&key)?.is_some() {
        return Ok(false);
    }
    let mut files = Vec::with_capacity(contents.len());
    for (path, bytes) in contents {
        files.push(JobFile {
            sha256: store.put_blob(&bytes)?,
            path,
        });
    }
    let job = Job {
        key,
        name: plan.name.clone(),
        new,
        files,
        attempts: 0,
    };
    Ok(store.enqueue(&job)? == Enqueued::Queued)
}

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Names this worker in the queue (host and process).
    pub name: String,
    /// How long a taken job stays this worker's without a renewal.
    pub lease: Duration,
    /// OCR settings (one page at a time per job: run several workers for more).
    pub digitize: DigitizeOptions,
    /// Stop when no job is waiting or held by a live worker (else wait for more).
    pub exit_when_empty: bool,
    /// How long to wait before asking again when the queue is empty or the store is down.
    pub poll: Duration,
}

/// What a worker did.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct WorkerTotals {
    /// Documents stored by this worker.
    pub stored: usize,
    /// Jobs whose document was already stored (redone after a lost lease).
    pub already_stored: usize,
    /// Jobs that failed.
    pub failed: usize,
    /// Pages digitized.
    pub pages: usize,
}

/// Takes and processes jobs until `stop` is set (or the queue is empty, with
/// `exit_when_empty`). An unavailable store is waited for, not fatal.
pub fn work(
    store: &Store,
    options: &WorkerOptions,
    stop: &AtomicBool,
) -> Result<WorkerTotals, StoreError> {
    let mut totals = WorkerTotals::default();
    // One OCR engine for the worker's life: loading the model costs more than a page.
    let mut engine = PageWorker::new(&options.digitize)
        .map_err(|e| StoreError::Storage(format!("OCR engine: {e}")))?;
    while !stop.load(Ordering::Relaxed) {
        let job = match store.take_job(&options.name, options.lease) {
            Ok(job) => job,
            Err(StoreError::Unavailable(e)) => {
                tracing::warn!("worker {}: store unavailable, waiting: {e}", options.name);
                std::thread::sleep(options.poll);
                continue;
            }
            Err(e) => return Err(e),
        };
        let Some(job) = job else {
            // Done when nothing waits and no other worker holds a job that may come back.
            if options.exit_when_empty && store.queue_status()?.running == 0 {
                break;
            }
            std::thread::sleep(options.poll);
            continue;
        };
        process(store, &job, options, &mut engine, &mut totals)?;
    }
    Ok(totals)
}

/// Digitizes and stores one job's document, renewing the lease meanwhile.
fn process(
    store: &Store,
    job: &Job,
    options: &WorkerOptions,
    engine: &mut PageWorker,
    totals: &mut WorkerTotals,
) -> Result<(), StoreError> {
    let started = Instant::now();
    let done = Arc::new(AtomicBool::new(false));
    let renewer = renew_lease(store, job, options, done.clone());
    let outcome = store_document(store, job, options, engine);
    done.store(true, Ordering::Relaxed);
    let _ = renewer.join();
    let finished = match &outcome {
        Ok((Once::Stored(doc), pages)) => {
            totals.stored += 1;
            totals.pages += pages;
            tracing::info!(
                "{}: stored as {} in {:.1} s",
                job.name,
                doc.id,
                started.elapsed().as_secs_f64()
            );
            Ok(doc.id.as_str())
        }
        Ok((Once::AlreadyStored(id), _)) => {
            totals.already_stored += 1;
            Ok(id.as_str())
        }
        Err(e) => {
            tracing::warn!("{}: {e}", job.name);
            Err(e)
        }
    };
    let result = match finished {
        Ok(id) => store.finish_job(&job.key, &options.name, Ok(id)),
        Err(StoreError::Unavailable(_)) => Ok(()), // the lease expires; taken again later
        Err(e) => {
            totals.failed += 1;
            let retry = e.is_internal();
            store.finish_job(&job.key, &options.name, Err((&e.to_string(), retry)))
        }
    };
    match result {
        Err(StoreError::Unavailable(e)) => {
            tracing::warn!(
                "{}: cannot record the job's end now ({e}); its lease will expire",
                job.name
            );
            Ok(())
        }
        other => other,
    }
}

/// Renews the lease every third of its length until `done`.
fn renew_lease(
    store: &Store,
    job: &Job,
    options: &WorkerOptions,
    done: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let (store, key, name, lease) = (
        store.clone(),
        job.key.clone(),
        options.name.clone(),
        options.lease,
    );
    std::thread::spawn(move || {
        let step = Duration::from_millis(100);
        let mut waited = Duration::ZERO;
        while !done.load(Ordering::Relaxed) {
            std::thread::sleep(step);
            waited += step;
            if waited < lease / 3 {
                continue;
            }
            waited = Duration::ZERO;
            match store.renew_lease(&key, &name, lease) {
                Ok(true) => {}
                Ok(false) => tracing::warn!("job {key}: lease lost to another worker"),
                Err(e) => tracing::warn!("job {key}: cannot renew the lease: {e}"),
            }
        }
    })
}

/// The job's document, stored once: `(outcome, pages)`.
fn store_document(
    store: &Store,
    job: &Job,
    options: &WorkerOptions,
    engine: &mut PageWorker,
) -> Result<(Once, usize), StoreError> {
    if let Some(id) = store.work_document(&job.key)? {
        return Ok((Once::AlreadyStored(id), 0));
    }
    let mut sources = Vec::with_capacity(job.files.len());
    for file in &job.files {
        sources.push(Source::new(
            file.path.clone(),
            store.read_blob(&file.sha256)?,
        ));
    }
    let digitized = digitize_all(&sources, options, engine)
        .map_err(|e| StoreError::Invalid(format!("digitizing: {e}")))?;
    let originals = sources
        .into_iter()
        .map(|s| NewFile {
            role: FileRole::Original,
            name: s.name,
            bytes: s.bytes,
        })
        .collect();
    let stem = job.new.dossier_code.replace('/', "-");
    let pages = digitized.pages.len();
    let ingest = Ingest::from_pages(
        job.new.clone(),
        format!("{stem}.pdf"),
        &digitized,
        originals,
        false,
    )?;
    let work = Work {
        key: job.key.clone(),
        note: None,
    };
    Ok((store.ingest_once(&work, &ingest)?, pages))
}

/// Every frame of every source, in order, on the worker's engine, as one document.
fn digitize_all(
    sources: &[Source],
    options: &WorkerOptions,
    engine: &mut PageWorker,
) -> Result<Digitized, String> {
    let mut pages = Vec::new();
    let mut expanded = Vec::with_capacity(sources.len());
    for source in sources {
        let pages = digitize::pages_of(source.clone(), &options.digitize)
            .map_err(|e| format!("{}: {e}", source.name))?;
        expanded.extend(pages);
    }
    for source in &expanded {
        let frames = match source.kept {
            Some(_) => 1,
            None => {
                capture::frame_count(&source.bytes).map_err(|e| format!("{}: {e}", source.name))?
            }
        };
        for frame in 0..frames {
            let page = engine
                .digitize_page(source, frame, frames > 1, &options.digitize)
                .map_err(|e: DigitizeError| e.to_string())?;
            pages.push(page);
        }
    }
    digitize::assemble(pages).map_err(|e| e.to_string())
}
