//! The batch report: per-document status, timings and errors, totals, and the process's
//! resource use (written as JSON by `--report`, summarised on the terminal).

use serde::Serialize;

/// What became of one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Stored by this run.
    Stored,
    /// Stored by this run without the pages that failed (policy `store-flagged`).
    StoredWithMissingPages,
    /// Its work was journaled by an earlier run: skipped before any OCR.
    SkippedAlreadyStored,
    /// Nothing stored (bad metadata, failed files under `skip-document`, store error).
    Failed,
}

/// A file or page that could not be digitized, or a document-level error (`file` empty).
#[derive(Debug, Clone, Serialize)]
pub struct FileError {
    /// The file, relative to the input folder (empty for a document-level error).
    pub file: String,
    /// Frame index within a multi-page TIFF.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame: Option<usize>,
    /// What went wrong.
    pub error: String,
}

/// One document's entry in the report.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentReport {
    /// Folder, file or manifest name.
    pub name: String,
    /// What became of it.
    pub status: Status,
    /// The stored document's id (for stored and skipped documents).
    pub document_id: Option<String>,
    /// Dossier code, when the metadata was complete.
    pub dossier_code: Option<String>,
    /// The work key journaled in the store (see `batch::journal`).
    pub work_key: Option<String>,
    /// Pages in the stored PDF.
    pub pages: usize,
    /// Pages that failed in capture or OCR (1-based positions among the pages of its
    /// readable files); files that could not be read or opened at all are in `errors`.
    pub missing_pages: Vec<usize>,
    /// Errors, per file.
    pub errors: Vec<FileError>,
    /// Seconds from reading its files to storing it.
    pub seconds: f64,
    /// Of which, seconds spent in OCR (summed over its pages and workers).
    pub ocr_seconds: f64,
}

/// Counts over the batch.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    /// Documents planned.
    pub documents: usize,
    /// Stored by this run (complete).
    pub stored: usize,
    /// Stored by this run with missing pages.
    pub stored_with_missing_pages: usize,
    /// Skipped: stored by an earlier run.
    pub skipped_already_stored: usize,
    /// Failed.
    pub failed: usize,
    /// Pages digitized by this run.
    pub pages_done: usize,
    /// Pages (or whole files) that failed.
    pub page_errors: usize,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct BatchReport {
    /// Input folder.
    pub input: String,
    /// Store folder.
    pub store: String,
    /// OCR workers.
    pub jobs: usize,
    /// Wall-clock seconds.
    pub elapsed_seconds: f64,
    /// Pages digitized per minute of wall-clock time.
    pub pages_per_minute: f64,
    /// CPU seconds (user + system) of the process.
    pub cpu_seconds: f64,
    /// Peak resident memory of the process (VmHWM), in KiB.
    pub peak_rss_kib: u64,
    /// Counts.
    pub totals: Totals,
    /// One entry per document, in plan order.
    pub documents: Vec<DocumentReport>,
}

impl BatchReport {
    /// Whether anything failed (a failed document, or a stored one with missing pages).
    pub fn has_errors(&self) -> bool {
        self.totals.failed > 0 || self.totals.stored_with_missing_pages > 0
    }

    /// A plain-text summary table and the failures, for the terminal.
    pub fn summary(&self) -> String {
        let t = &self.totals;
        let mut out = String::new();
        let rows = [
            ("documents", t.documents),
            ("stored", t.stored),
            ("stored with missing pages", t.stored_with_missing_pages),
            ("skipped (already stored)", t.skipped_already_stored),
            ("failed", t.failed),
            ("pages digitized", t.pages_done),
            ("page errors", t.page_errors),
        ];
        for (what, n) in rows {
            out.push_str(&format!("  {what:<27} {n:>8}\n"));
        }
        out.push_str(&format!(
            "  {:<27} {:>8.1}\n  {:<27} {:>8.1}\n  {:<27} {:>8.0}\n",
            "seconds",
            self.elapsed_seconds,
            "pages per minute",
            self.pages_per_minute,
            "peak memory (MiB)",
            self.peak_rss_kib as f64 / 1024.0
        ));
        for d in self.documents.iter().filter(|d| !d.errors.is_empty()) {
            let status = match d.status {
                Status::Failed => "failed",
                _ => "stored with missing pages",
            };
            out.push_str(&format!("{}: {status}\n", d.name));
            for e in &d.errors {
                let frame = e.frame.map(|f| format!(" (frame {f})")).unwrap_or_default();
                match e.file.as_str() {
                    "" => out.push_str(&format!("  {}\n", e.error)),
                    file => out.push_str(&format!("  {file}{frame}: {}\n", e.error)),
                }
            }
        }
        out
    }
}

/// Peak resident memory of this process in KiB (`VmHWM` of /proc/self/status), 0 when
/// unknown.
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// CPU seconds (user + system) of this process so far, from /proc/self/stat (clock ticks
/// of 1/100 s, Linux's USER_HZ); 0 when unknown.
pub fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) as f64 / 100.0
}
