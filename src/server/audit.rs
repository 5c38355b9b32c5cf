//! The audit writer: one thread appends entries to the store's hash-chained log, in the
//! order they arrive; a request is answered only once its entry is written.
//!
//! One writer keeps SQLite from contending with itself over the write lock and keeps
//! the chain's order the order of arrival.

use std::sync::mpsc;

use tokio::sync::oneshot;

use super::errors::ApiError;
use crate::store::{AuditEntry, Store};

type Job = (AuditEntry, oneshot::Sender<Result<(), String>>);

/// Handle to the writer thread (cheap to clone).
#[derive(Clone)]
pub struct AuditLog {
    jobs: mpsc::Sender<Job>,
}

impl AuditLog {
    /// Starts the writer thread; it ends when the last handle is dropped.
    pub fn start(store: Store) -> std::io::Result<AuditLog> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("sohoa-audit".into())
            .spawn(move || write_loop(&store, &queue))?;
        Ok(AuditLog { jobs })
    }

    /// Appends `entry`; returns once it is in the log.
    pub async fn record(&self, entry: AuditEntry) -> Result<(), ApiError> {
        let (done, wait) = oneshot::channel();
        super::metrics::metrics().audit_queued(1);
        self.jobs.send((entry, done)).map_err(|_| {
            super::metrics::metrics().audit_queued(-1);
            ApiError::internal("audit writer stopped")
        })?;
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ApiError::internal(format!("audit log: {e}"))),
            Err(_) => Err(ApiError::internal("audit writer stopped")),
        }
    }
}

fn write_loop(store: &Store, queue: &mpsc::Receiver<Job>) {
    while let Ok((entry, done)) = queue.recv() {
        super::metrics::metrics().audit_queued(-1);
        let result = store.audit(&entry).map_err(|e| e.to_string());
        if result.is_ok() {
            super::metrics::metrics().audit_append();
        }
        let _ = done.send(result);
    }
}
