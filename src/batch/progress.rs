//! Progress display: an indicatif bar on a terminal, plain log lines every few seconds
//! otherwise, or nothing.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often plain log lines are written.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// Receives the batch's progress; called from one thread.
pub trait Progress {
    /// The number of pages expected (an estimate until every document is planned).
    fn set_total(&mut self, total: usize);
    /// `n` pages finished (`failed` of them with an error), or were skipped.
    fn pages_done(&mut self, n: usize, failed: usize);
    /// A document finished; `line` says how (shown above the bar or logged).
    fn document_done(&mut self, line: &str);
    /// Called about once a second, so that periodic output needs no thread of its own.
    fn tick(&mut self);
    /// The batch is over.
    fn finish(&mut self);
}

/// Chooses the display: a bar when stderr is a terminal, log lines otherwise.
pub fn for_stderr(quiet: bool) -> Box<dyn Progress> {
    if quiet {
        Box::new(Silent)
    } else if std::io::stderr().is_terminal() {
        Box::new(Bar::new())
    } else {
        Box::new(Log::new())
    }
}

/// No output.
pub struct Silent;

impl Progress for Silent {
    fn set_total(&mut self, _: usize) {}
    fn pages_done(&mut self, _: usize, _: usize) {}
    fn document_done(&mut self, _: &str) {}
    fn tick(&mut self) {}
    fn finish(&mut self) {}
}

/// Counters shared by both displays.
#[derive(Default)]
struct Counts {
    total: usize,
    done: usize,
    errors: usize,
}

/// An indicatif bar: pages done/total, pages per minute, ETA, errors so far.
pub struct Bar {
    bar: ProgressBar,
    counts: Counts,
    start: Instant,
}

impl Bar {
    /// A bar drawn on stderr.
    pub fn new() -> Bar {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} pages  {msg}  ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        Bar {
            bar,
            counts: Counts::default(),
            start: Instant::now(),
        }
    }

    fn message(&self) {
        let minutes = self.start.elapsed().as_secs_f64() / 60.0;
        let rate = if minutes > 0.0 {
            self.counts.done as f64 / minutes
        } else {
            0.0
        };
        self.bar.set_message(format!(
            "{rate:.1} pages/min  {} errors",
            self.counts.errors
        ));
    }
}

impl Default for Bar {
    fn default() -> Self {
        Bar::new()
    }
}

impl Progress for Bar {
    fn set_total(&mut self, total: usize) {
        self.counts.total = total;
        self.bar.set_length(total as u64);
    }
    fn pages_done(&mut self, n: usize, failed: usize) {
        self.counts.done += n;
        self.counts.errors += failed;
        self.bar.inc(n as u64);
        self.message();
    }
    fn document_done(&mut self, line: &str) {
        self.bar.println(line);
    }
    fn tick(&mut self) {
        self.message();
    }
    fn finish(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// Plain lines on stderr every few seconds, for logs and pipes.
pub struct Log {
    counts: Counts,
    start: Instant,
    last: Instant,
}

impl Log {
    /// A logger writing to stderr.
    pub fn new() -> Log {
        Log {
            counts: Counts::default(),
            start: Instant::now(),
            last: Instant::now(),
        }
    }

    fn line(&mut self) {
        self.last = Instant::now();
        let seconds = self.start.elapsed().as_secs_f64();
        let rate = if seconds > 0.0 {
            self.counts.done as f64 * 60.0 / seconds
        } else {
            0.0
        };
        let left = self.counts.total.saturating_sub(self.counts.done);
        let eta = if rate > 0.0 {
            format!("{:.0} s", left as f64 * 60.0 / rate)
        } else {
            "?".into()
        };
        eprintln!(
            "batch: {}/{} pages, {rate:.1} pages/min, {} errors, ETA {eta}",
            self.counts.done, self.counts.total, self.counts.errors
        );
    }
}

impl Default for Log {
    fn default() -> Self {
        Log::new()
    }
}

impl Progress for Log {
    fn set_total(&mut self, total: usize) {
        self.counts.total = total;
    }
    fn pages_done(&mut self, n: usize, failed: usize) {
        self.counts.done += n;
        self.counts.errors += failed;
    }
    fn document_done(&mut self, line: &str) {
        eprintln!("batch: {line}");
    }
    fn tick(&mut self) {
        if self.last.elapsed() >= LOG_EVERY {
            self.line();
        }
    }
    fn finish(&mut self) {
        self.line();
    }
}
