//! The audit writer: one thread appends entries to the store's hash-chained log, in the
//! order they arrive, those queued together in one transaction; a request is answered
//! only once its entry is written.
//!
//! One writer keeps SQLite from contending with itself over the write lock and keeps
//! the chain's order the order of arrival.

use std::sync::mpsc;

use tokio::sync::oneshot;

use super::errors::ApiError;
use crate::store::{AuditEntry, Store, StoreError};

type Job = (AuditEntry, oneshot::Sender<Result<(), StoreError>>);

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
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(ApiError::internal("audit writer stopped")),
        }
    }
}

/// Entries appended in one transaction at most.
const MAX_GROUP: usize = 256;

/// Appends what is queued, up to [`MAX_GROUP`] entries per transaction: under load the
/// entries that arrived during one commit share the next (group commit), so the log's
/// cost per lookup falls as the rate rises, on SQLite and on PostgreSQL alike.
fn write_loop(store: &Store, queue: &mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        super::metrics::metrics().audit_queued(-(group.len() as i64));
        let (entries, waiting): (Vec<AuditEntry>, Vec<_>) = group.into_iter().unzip();
        let result = store.audit_many(&entries);
        for _ in 0..entries.len() {
            if result.is_ok() {
                super::metrics::metrics().audit_append();
            }
        }
        for done in waiting {
            let _ = done.send(result.as_ref().map(|&()| ()).map_err(StoreError::duplicate));
        }
    }
}
