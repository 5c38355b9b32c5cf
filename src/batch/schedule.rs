//! The threads of a batch and how work flows between them.
//!
//! ```text
//! planner ──page tasks (bounded)──▶ N workers ──pages──▶ collector ──documents──▶ writer
//!    ▲   (reads a document's files,   (one OCR engine   (main thread:          (assembles,
//!    │    hashes them, skips work      each, any page   puts pages in order,    certifies,
//!    │    already journaled)           of any document) decides per document)   stores)
//!    └──────────── a token per document in flight, returned when it is finished ◀─┘
//! ```
//!
//! Pages, not documents, are the unit of parallel work, so both cores stay busy across
//! document boundaries; each worker decodes and captures its next page while the other
//! runs OCR. At most `in_flight` documents are between "files read" and "stored", which
//! bounds memory whatever the size of the batch. One writer thread stores documents, so
//! the workers never wait for the disk.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::journal::{content_hash, work_key};
use super::plan::{DocumentPlan, OnPageError};
use super::progress::Progress;
use super::report::{self, BatchReport, DocumentReport, FileError, Status, Totals};
use super::{BatchError, BatchOptions, Certify};
use crate::capture;
use crate::digitize::{self, DigitizeOptions, DonePage, PageWorker, Source};
use crate::store::{
    CopyTrust, FileRole, Ingest, NewDocument, NewFile, Once, Store, StoreError, Work,
};

/// A document whose files have been read and whose pages are queued.
struct Planned {
    doc: usize,
    key: String,
    new: NewDocument,
    policy: OnPageError,
    sources: Arc<Vec<Source>>,
    /// `(source index, frame)` of each page, in order.
    pages: Vec<(usize, usize)>,
    /// The document's files as read (a PDF whole, not its pages), stored as originals.
    originals: Vec<NewFile>,
    errors: Vec<FileError>,
    started: Instant,
}

/// One page to digitize.
struct PageTask {
    doc: usize,
    page: usize,
    frame: usize,
    multi_frame: bool,
    source: usize,
    sources: Arc<Vec<Source>>,
}

/// A document ready to be stored.
struct WriteJob {
    doc: usize,
    key: String,
    new: NewDocument,
    note: Option<String>,
    pages: Vec<DonePage>,
    originals: Vec<NewFile>,
    started: Instant,
}

enum Event {
    /// Files read and pages queued.
    Planned(Box<Planned>),
    /// Finished without OCR (skipped or failed while planning).
    Finished(usize, Box<DocumentReport>),
    /// A page is done.
    Page {
        doc: usize,
        page: usize,
        result: Result<Box<DonePage>, FileError>,
    },
    /// The writer is done with a document.
    Written {
        doc: usize,
        result: Result<(Once, usize), StoreError>,
        seconds: f64,
    },
    /// No more documents will be planned.
    PlannerDone,
    /// The batch cannot go on.
    Fatal(String),
}

/// A planned document waiting for its pages.
struct Pending {
    planned: Box<Planned>,
    slots: Vec<Option<Result<Box<DonePage>, FileError>>>,
    left: usize,
}

/// Runs the batch (see the module documentation).
pub fn run(
    plans: &[DocumentPlan],
    store: &Store,
    options: &BatchOptions,
    progress: &mut dyn Progress,
    certify: Option<&mut (dyn Certify + Send)>,
) -> Result<BatchReport, BatchError> {
    let started = Instant::now();
    let jobs = options.digitize.jobs.max(1);
    let in_flight = options.in_flight.max(1);
    let abort = AtomicBool::new(false);
    let (events_tx, events_rx) = mpsc::channel::<Event>();
    let (tokens_tx, tokens_rx) = mpsc::sync_channel::<()>(in_flight);
    let (tasks_tx, tasks_rx) = mpsc::sync_channel::<PageTask>(jobs * 2);
    let tasks_rx = Mutex::new(tasks_rx);
    let (write_tx, write_rx) = mpsc::channel::<WriteJob>();

    let mut collector = Collector {
        plans,
        reports: vec![None; plans.len()],
        pending: HashMap::new(),
        progress,
        total: plans.iter().map(|p| p.files.len()).sum(),
    };
    collector.progress.set_total(collector.total);

    let outcome = std::thread::scope(|scope| {
        let events = events_tx.clone();
        let abort_ref = &abort;
        scope.spawn(move || {
            plan_documents(
                plans, store, options, tokens_tx, tasks_tx, events, abort_ref,
            )
        });
        for _ in 0..jobs {
            let events = events_tx.clone();
            let (tasks, options, abort) = (&tasks_rx, &options.digitize, &abort);
            scope.spawn(move || work(tasks, options, events, abort));
        }
        let events = events_tx.clone();
        scope.spawn(move || write_documents(write_rx, store, certify, events));
        drop(events_tx);
        let result = collector.collect(&events_rx, &tokens_rx, &write_tx);
        if result.is_err() {
            abort.store(true, Ordering::Relaxed);
        }
        drop(write_tx);
        drop(tokens_rx);
        drop(events_rx);
        result
    });
    collector.progress.finish();
    outcome?;

    let documents: Vec<DocumentReport> = collector.reports.into_iter().flatten().collect();
    let mut totals = Totals {
        documents: plans.len(),
        ..Totals::default()
    };
    for d in &documents {
        match d.status {
            Status::Stored => totals.stored += 1,
            Status::StoredWithMissingPages => totals.stored_with_missing_pages += 1,
            Status::SkippedAlreadyStored => totals.skipped_already_stored += 1,
            Status::Failed => totals.failed += 1,
        }
        if d.status != Status::SkippedAlreadyStored {
            totals.pages_done += d.pages;
        }
        totals.page_errors += d.errors.iter().filter(|e| !e.file.is_empty()).count();
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(BatchReport {
        input: options.input.display().to_string(),
        store: String::new(),
        jobs,
        elapsed_seconds: elapsed,
        pages_per_minute: if elapsed > 0.0 {
            totals.pages_done as f64 * 60.0 / elapsed
        } else {
            0.0
        },
        cpu_seconds: report::cpu_seconds(),
        peak_rss_kib: report::peak_rss_kib(),
        totals,
        documents,
    })
}

/// A report for a document that ends before OCR.
fn early(plan: &DocumentPlan, status: Status, errors: Vec<FileError>) -> Box<DocumentReport> {
    Box::new(DocumentReport {
        name: plan.name.clone(),
        status,
        document_id: None,
        dossier_code: plan.metadata.as_ref().ok().map(|m| m.dossier_code.clone()),
        work_key: None,
        pages: 0,
        missing_pages: Vec::new(),
        errors,
        seconds: 0.0,
        ocr_seconds: 0.0,
    })
}

fn document_error(error: impl ToString) -> FileError {
    FileError {
        file: String::new(),
        frame: None,
        error: error.to_string(),
    }
}

/// The planner thread: one document at a time, each holding a token until finished.
fn plan_documents(
    plans: &[DocumentPlan],
    store: &Store,
    options: &BatchOptions,
    tokens: SyncSender<()>,
    tasks: SyncSender<PageTask>,
    events: Sender<Event>,
    abort: &AtomicBool,
) {
    for (doc, plan) in plans.iter().enumerate() {
        if abort.load(Ordering::Relaxed) || tokens.send(()).is_err() {
            return;
        }
        match prepare(doc, plan, store, options) {
            Ok(Intake::Done(report)) => {
                if events.send(Event::Finished(doc, report)).is_err() {
                    return;
                }
            }
            Ok(Intake::Queued(planned)) => {
                let queued: Vec<PageTask> = planned
                    .pages
                    .iter()
                    .enumerate()
                    .map(|(page, &(source, frame))| PageTask {
                        doc,
                        page,
                        frame,
                        multi_frame: planned.pages.iter().filter(|p| p.0 == source).count() > 1,
                        source,
                        sources: planned.sources.clone(),
                    })
                    .collect();
                if events.send(Event::Planned(planned)).is_err() {
                    return;
                }
                for task in queued {
                    if abort.load(Ordering::Relaxed) || tasks.send(task).is_err() {
                        return;
                    }
                }
            }
            Err(fatal) => {
                let _ = events.send(Event::Fatal(fatal));
                return;
            }
        }
    }
    let _ = events.send(Event::PlannerDone);
}

/// A document after its files were read: already done (journaled) or queued for its pages.
enum Intake {
    Done(Box<DocumentReport>),
    Queued(Box<Planned>),
}

/// Reads and hashes a document's files, skips journaled work, counts pages.
fn prepare(
    doc: usize,
    plan: &DocumentPlan,
    store: &Store,
    options: &BatchOptions,
) -> Result<Intake, String> {
    let started = Instant::now();
    let new = match &plan.metadata {
        Ok(new) => new.clone(),
        Err(e) => {
            let errors = vec![document_error(e)];
            return Ok(Intake::Done(early(plan, Status::Failed, errors)));
        }
    };
    match store.check_document(&new) {
        Ok(()) => {}
        Err(StoreError::Invalid(e)) => {
            let errors = vec![document_error(e)];
            return Ok(Intake::Done(early(plan, Status::Failed, errors)));
        }
        Err(e) => return Err(e.to_string()),
    }
    let mut errors = Vec::new();
    let mut hashed = Vec::with_capacity(plan.files.len());
    let mut sources = Vec::with_capacity(plan.files.len());
    for file in &plan.files {
        let name = relative_name(file);
        let bytes = read_bounded(&options.input.join(file), options.max_file_bytes)
            .map_err(|e| errors.push(file_error(&name, None, e)))
            .ok();
        hashed.push((name.clone(), content_hash(bytes.as_deref().unwrap_or(&[]))));
        if let Some(bytes) = bytes {
            sources.push(Source::new(name, bytes));
        }
    }
    let key = work_key(&hashed, &new);
    if let Some(id) = store.work_document(&key).map_err(|e| e.to_string())? {
        let mut report = early(plan, Status::SkippedAlreadyStored, Vec::new());
        report.document_id = Some(id);
        report.work_key = Some(key);
        return Ok(Intake::Done(report));
    }
    if let [source] = sources.as_slice() {
        if capture::pdf_input::is_signed_pdf(&source.bytes) {
            let register = options.register.as_deref();
            return keep_signed(plan, store, register, new, source, key, started).map(Intake::Done);
        }
    }
    let originals = sources
        .iter()
        .map(|s| NewFile {
            role: FileRole::Original,
            name: s.name.clone(),
            bytes: s.bytes.clone(),
        })
        .collect();
    let mut pages = Vec::new();
    let mut readable = Vec::with_capacity(sources.len());
    for source in with_pdf_pages(sources, &options.digitize, &mut errors) {
        let frames = match source.kept {
            Some(_) => Ok(1),
            None => capture::frame_count(&source.bytes),
        };
        match frames {
            Ok(frames) => {
                pages.extend((0..frames).map(|f| (readable.len(), f)));
                readable.push(source);
            }
            Err(e) => errors.push(file_error(&source.name, None, e)),
        }
    }
    let give_up =
        pages.is_empty() || (!errors.is_empty() && plan.on_page_error == OnPageError::SkipDocument);
    if give_up {
        if errors.is_empty() {
            errors.push(document_error("no page images"));
        }
        let mut report = early(plan, Status::Failed, errors);
        report.work_key = Some(key);
        return Ok(Intake::Done(report));
    }
    Ok(Intake::Queued(Box::new(Planned {
        doc,
        key,
        new,
        policy: plan.on_page_error,
        sources: Arc::new(readable),
        pages,
        originals,
        errors,
        started,
    })))
}

/// The sources with every PDF replaced by its pages, as digitize takes them (scanned
/// pages' images, born-digital pages kept); a PDF that cannot be taken apart is an error
/// of its file.
fn with_pdf_pages(
    sources: Vec<Source>,
    options: &DigitizeOptions,
    errors: &mut Vec<FileError>,
) -> Vec<Source> {
    let mut out = Vec::with_capacity(sources.len());
    for source in sources {
        let name = source.name.clone();
        match digitize::pages_of(source, options) {
            Ok(pages) => out.extend(pages),
            Err(e) => errors.push(file_error(&name, None, e)),
        }
    }
    out
}

/// Stores a document that is one signed PDF (an issued result, a certified copy) as it
/// is: digitizing would rewrite it and break its signatures. It is verified and indexed
/// with its own text, like `sohoa store add` (a certified copy when it verifies against
/// this office's register).
fn keep_signed(
    plan: &DocumentPlan,
    store: &Store,
    register: Option<&Path>,
    new: NewDocument,
    source: &Source,
    key: String,
    started: Instant,
) -> Result<Box<DocumentReport>, String> {
    let trust = CopyTrust {
        anchors: &[],
        register,
    };
    let fail = |e: StoreError| {
        let mut report = early(
            plan,
            Status::Failed,
            vec![file_error(&source.name, None, e)],
        );
        report.work_key = Some(key.clone());
        report
    };
    let ingest =
        match Ingest::from_pdf(new, source.name.clone(), source.bytes.clone(), &trust, None) {
            Ok((ingest, _)) => ingest,
            Err(e @ StoreError::Invalid(_)) => return Ok(fail(e)),
            Err(e) => return Err(e.to_string()),
        };
    let pages = ingest.page_count as usize;
    let verified = ingest.files[0].role == FileRole::Certified;
    let work = Work {
        key: key.clone(),
        note: Some(format!(
            "signed PDF kept as it is ({})",
            if verified {
                "verified"
            } else {
                "signature not verified"
            }
        )),
    };
    let mut report = early(plan, Status::Stored, Vec::new());
    report.work_key = Some(key.clone());
    match store.ingest_once(&work, &ingest) {
        Ok(Once::Stored(doc)) => report.document_id = Some(doc.id),
        Ok(Once::AlreadyStored(id)) => {
            report.status = Status::SkippedAlreadyStored;
            report.document_id = Some(id);
        }
        Err(e @ StoreError::Invalid(_)) => return Ok(fail(e)),
        Err(e) => return Err(e.to_string()),
    }
    report.pages = pages;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// A path relative to the input folder, with `/` separators.
pub(super) fn relative_name(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn file_error(file: &str, frame: Option<usize>, error: impl ToString) -> FileError {
    FileError {
        file: file.to_string(),
        frame,
        error: error.to_string(),
    }
}

/// Reads a file of at most `max` bytes (checked before reading).
pub(super) fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    let size = std::fs::metadata(path)
        .map_err(|e| format!("cannot read: {e}"))?
        .len();
    if size > max {
        return Err(format!(
            "{size} bytes: larger than the limit of {max} bytes per file"
        ));
    }
    std::fs::read(path).map_err(|e| format!("cannot read: {e}"))
}

/// A worker thread: one OCR engine, pages from any document.
fn work(
    tasks: &Mutex<Receiver<PageTask>>,
    options: &DigitizeOptions,
    events: Sender<Event>,
    abort: &AtomicBool,
) {
    let mut worker = match PageWorker::new(options) {
        Ok(worker) => worker,
        Err(e) => {
            let _ = events.send(Event::Fatal(format!("OCR engine: {e}")));
            return;
        }
    };
    loop {
        let task = match tasks.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(task) = task else { return };
        if abort.load(Ordering::Relaxed) {
            return;
        }
        let source = &task.sources[task.source];
        let result = worker
            .digitize_page(source, task.frame, task.multi_frame, options)
            .map(Box::new)
            .map_err(|e| {
                let frame = task.multi_frame.then_some(task.frame);
                match e {
                    digitize::DigitizeError::Input { error, .. } => {
                        file_error(&source.name, frame, error)
                    }
                    other => file_error(&source.name, frame, other),
                }
            });
        let event = Event::Page {
            doc: task.doc,
            page: task.page,
            result,
        };
        if events.send(event).is_err() {
            return;
        }
    }
}

/// The writer thread: assembles, certifies when asked, stores with the work key.
fn write_documents(
    jobs: Receiver<WriteJob>,
    store: &Store,
    mut certify: Option<&mut (dyn Certify + Send)>,
    events: Sender<Event>,
) {
    for job in jobs {
        let (doc, started) = (job.doc, job.started);
        let result = write_one(job, store, certify.as_deref_mut());
        let seconds = started.elapsed().as_secs_f64();
        if events
            .send(Event::Written {
                doc,
                result,
                seconds,
            })
            .is_err()
        {
            return;
        }
    }
}

fn write_one<'c>(
    job: WriteJob,
    store: &Store,
    certify: Option<&mut (dyn Certify + Send + 'c)>,
) -> Result<(Once, usize), StoreError> {
    let pages = job.pages.len();
    let digitized = digitize::assemble(job.pages)
        .map_err(|e| StoreError::Invalid(format!("assembling the PDF: {e}")))?;
    let stem = job.new.dossier_code.replace('/', "-");
    let mut ingest = Ingest::from_pages(
        job.new,
        format!("{stem}.pdf"),
        &digitized,
        job.originals,
        false,
    )?;
    if let Some(c) = certify {
        let (pdf, reference) = c
            .certify(&digitized.pdf, digitized.ink.clone())
            .map_err(StoreError::Invalid)?;
        let copy = NewFile {
            role: FileRole::Certified,
            name: format!("{stem}-certified.pdf"),
            bytes: pdf,
        };
        ingest = ingest.with_certified_copy(copy, reference);
    }
    let work = Work {
        key: job.key,
        note: job.note,
    };
    let once = store.ingest_once(&work, &ingest)?;
    Ok((once, pages))
}

/// The main thread's part: gathers pages into documents and documents into the report.
struct Collector<'a> {
    plans: &'a [DocumentPlan],
    reports: Vec<Option<DocumentReport>>,
    pending: HashMap<usize, Pending>,
    progress: &'a mut dyn Progress,
    total: usize,
}

impl Collector<'_> {
    fn collect(
        &mut self,
        events: &Receiver<Event>,
        tokens: &Receiver<()>,
        writer: &Sender<WriteJob>,
    ) -> Result<(), BatchError> {
        let mut planner_done = false;
        let mut writing = 0usize;
        loop {
            if planner_done && self.pending.is_empty() && writing == 0 {
                return Ok(());
            }
            let event = match events.recv_timeout(Duration::from_secs(1)) {
                Ok(event) => event,
                Err(RecvTimeoutError::Timeout) => {
                    self.progress.tick();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(BatchError::Fatal(
                        "the batch's threads stopped early".into(),
                    ))
                }
            };
            match event {
                Event::Planned(planned) => {
                    let files = self.plans[planned.doc].files.len();
                    self.total = self.total + planned.pages.len() - files.min(self.total);
                    self.progress.set_total(self.total);
                    let failed_files = planned.errors.len();
                    if failed_files > 0 {
                        self.progress.pages_done(0, failed_files);
                    }
                    let n = planned.pages.len();
                    let doc = planned.doc;
                    let pending = Pending {
                        planned,
                        slots: (0..n).map(|_| None).collect(),
                        left: n,
                    };
                    self.pending.insert(doc, pending);
                }
                Event::Finished(doc, report) => {
                    let files = self.plans[doc].files.len();
                    self.total -= files.min(self.total);
                    self.progress.set_total(self.total);
                    let failed_files = report.errors.iter().filter(|e| !e.file.is_empty());
                    self.progress.pages_done(0, failed_files.count());
                    self.finish(doc, *report, tokens);
                }
                Event::Page { doc, page, result } => {
                    self.progress.pages_done(1, usize::from(result.is_err()));
                    let Some(pending) = self.pending.get_mut(&doc) else {
                        continue;
                    };
                    if let Some(slot) = pending.slots.get_mut(page) {
                        if slot.is_none() {
                            pending.left -= 1;
                        }
                        *slot = Some(result);
                    }
                    if pending.left == 0 {
                        if let Some(pending) = self.pending.remove(&doc) {
                            writing += self.complete(pending, tokens, writer)?;
                        }
                    }
                }
                Event::Written {
                    doc,
                    result,
                    seconds,
                } => {
                    writing -= 1;
                    self.written(doc, result, seconds, tokens)?;
                }
                Event::PlannerDone => planner_done = true,
                Event::Fatal(e) => return Err(BatchError::Fatal(e)),
            }
        }
    }

    /// Records a finished document and returns its token.
    fn finish(&mut self, doc: usize, report: DocumentReport, tokens: &Receiver<()>) {
        if report.status == Status::Failed || report.status == Status::StoredWithMissingPages {
            let status = match report.status {
                Status::Failed => "failed",
                _ => "stored with missing pages",
            };
            let first = report.errors.first().map(|e| {
                let file = if e.file.is_empty() {
                    String::new()
                } else {
                    format!("{}: ", e.file)
                };
                format!(" ({file}{})", e.error)
            });
            let line = format!("{}: {status}{}", report.name, first.unwrap_or_default());
            self.progress.document_done(&line);
        }
        self.reports[doc] = Some(report);
        let _ = tokens.try_recv();
    }

    /// All pages of a document are in: hands it to the writer (returns 1) or fails it.
    fn complete(
        &mut self,
        pending: Pending,
        tokens: &Receiver<()>,
        writer: &Sender<WriteJob>,
    ) -> Result<usize, BatchError> {
        let Pending {
            mut planned, slots, ..
        } = pending;
        let mut errors = planned.errors.clone();
        let mut pages = Vec::new();
        let mut missing = Vec::new();
        for (i, slot) in slots.into_iter().enumerate() {
            match slot {
                Some(Ok(page)) => pages.push(*page),
                Some(Err(e)) => {
                    errors.push(e);
                    missing.push(i + 1);
                }
                None => missing.push(i + 1),
            }
        }
        let ocr_seconds = pages
            .iter()
            .map(|p| p.report.timings_ms.ocr as f64 / 1000.0)
            .sum();
        let plan = &self.plans[planned.doc];
        let failed_files: Vec<&str> = planned.errors.iter().map(|e| e.file.as_str()).collect();
        let mut report = DocumentReport {
            name: plan.name.clone(),
            status: Status::Failed,
            document_id: None,
            dossier_code: Some(planned.new.dossier_code.clone()),
            work_key: Some(planned.key.clone()),
            pages: 0,
            missing_pages: missing.clone(),
            errors,
            seconds: planned.started.elapsed().as_secs_f64(),
            ocr_seconds,
        };
        let skip = planned.policy == OnPageError::SkipDocument && !report.errors.is_empty();
        if pages.is_empty() || skip {
            self.finish(planned.doc, report, tokens);
            return Ok(0);
        }
        let note = (!report.errors.is_empty()).then(|| {
            let mut note = String::new();
            if !missing.is_empty() {
                note.push_str(&format!("missing pages {missing:?}"));
            }
            if !failed_files.is_empty() {
                note.push_str(&format!("; unreadable files {failed_files:?}"));
            }
            note.trim_start_matches("; ").to_string()
        });
        let originals = std::mem::take(&mut planned.originals);
        let job = WriteJob {
            doc: planned.doc,
            key: planned.key.clone(),
            new: planned.new.clone(),
            note,
            pages,
            originals,
            started: planned.started,
        };
        report.status = if report.errors.is_empty() {
            Status::Stored
        } else {
            Status::StoredWithMissingPages
        };
        self.reports[planned.doc] = Some(report);
        writer
            .send(job)
            .map_err(|_| BatchError::Fatal("the store writer stopped".into()))?;
        Ok(1)
    }

    /// The writer's answer for a document.
    fn written(
        &mut self,
        doc: usize,
        result: Result<(Once, usize), StoreError>,
        seconds: f64,
        tokens: &Receiver<()>,
    ) -> Result<(), BatchError> {
        let Some(mut report) = self.reports[doc].take() else {
            return Ok(());
        };
        match result {
            Ok((Once::Stored(stored), pages)) => {
                report.document_id = Some(stored.id);
                report.pages = pages;
            }
            Ok((Once::AlreadyStored(id), _)) => {
                report.status = Status::SkippedAlreadyStored;
                report.document_id = Some(id);
            }
            Err(StoreError::Invalid(e)) => {
                report.status = Status::Failed;
                report.errors.push(document_error(e));
            }
            Err(e) => return Err(BatchError::Fatal(e.to_string())),
        }
        report.seconds = seconds;
        self.finish(doc, report, tokens);
        Ok(())
    }
}
