//! The batch queue in the index: `sohoa batch --enqueue` adds one job per document (its
//! originals already in the blob storage), `sohoa worker` processes on any machine take
//! them. A job is taken under a lease (a worker id and an expiry) inside the index's
//! write transaction, so two workers never hold the same job; the worker renews the
//! lease while it works, and a job whose worker died (its lease expired) is taken again.
//! Storing stays exactly-once through the work journal ([`super::Store::ingest_once`]):
//! a job redone after a lost lease finds its document already stored.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::clock::{after, now};
use super::sql::{args, Row, Sql};
use super::{NewDocument, StoreError};

/// Attempts after which a job that keeps failing or losing its worker stays failed.
pub const MAX_ATTEMPTS: u32 = 3;

/// One file of a queued document: its name in the batch and its blob.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobFile {
    /// Relative path in the input folder (`/` separators).
    pub path: String,
    /// SHA-256 of its content (the blob).
    pub sha256: String,
}

/// A queued document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    /// Work key (see `sohoa::batch::journal`).
    pub key: String,
    /// Shown in reports: the folder or file name.
    pub name: String,
    /// Metadata of the document to store.
    pub new: NewDocument,
    /// Its files, in page order.
    pub files: Vec<JobFile>,
    /// Times it was taken so far (this time included, once taken).
    pub attempts: u32,
}

/// What [`enqueue`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enqueued {
    /// Added to the queue.
    Queued,
    /// Already in the queue (in this state).
    AlreadyQueued(String),
}

/// Counts by state, and the failed jobs with their reasons.
#[derive(Debug, Clone, Default, Serialize)]
pub struct QueueStatus {
    /// Waiting for a worker.
    pub queued: u64,
    /// Held by a worker now (lease not expired).
    pub running: u64,
    /// Stored.
    pub done: u64,
    /// Given up: `(name, reason)`.
    pub failed: Vec<(String, String)>,
}

/// Adds `job` unless a job with its key exists.
pub fn enqueue(tx: &mut dyn Sql, job: &Job) -> Result<Enqueued, StoreError> {
    let state: Option<String> = tx.query_opt(
        "SELECT state FROM batch_jobs WHERE work_key = ?1",
        args![job.key],
        |r| r.get(0),
    )?;
    if let Some(state) = state {
        return Ok(Enqueued::AlreadyQueued(state));
    }
    let at = now();
    tx.execute(
        "INSERT INTO batch_jobs (work_key, name, metadata, files, state, attempts, enqueued_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, 'queued', 0, ?5, ?5)",
        args![job.key, job.name, to_json(&job.new)?, to_json(&job.files)?, at],
    )?;
    Ok(Enqueued::Queued)
}

/// Takes the oldest job that is queued or whose lease expired, for `worker` until
/// `lease` from now; `None` when there is none.
pub fn take(tx: &mut dyn Sql, worker: &str, lease: Duration) -> Result<Option<Job>, StoreError> {
    let at = now();
    let job = tx.query_opt(
        "SELECT work_key, name, metadata, files, attempts FROM batch_jobs
         WHERE state = 'queued' OR (state = 'running' AND lease_until < ?1)
         ORDER BY enqueued_at, work_key LIMIT 1",
        args![at],
        read_job,
    )?;
    let Some(mut job) = job else {
        return Ok(None);
    };
    job.attempts += 1;
    tx.execute(
        "UPDATE batch_jobs SET state = 'running', worker = ?2, lease_until = ?3,
             attempts = ?4, updated_at = ?5 WHERE work_key = ?1",
        args![job.key, worker, after(lease), job.attempts, at],
    )?;
    Ok(Some(job))
}

fn read_job(r: &Row) -> Result<Job, StoreError> {
    let parse = |i: usize| -> Result<serde_json::Value, StoreError> {
        serde_json::from_str(r.text(i)?)
            .map_err(|e| StoreError::Storage(format!("batch queue: column {i}: {e}")))
    };
    let invalid = |e: serde_json::Error| StoreError::Storage(format!("batch queue: {e}"));
    Ok(Job {
        key: r.get(0)?,
        name: r.get(1)?,
        new: serde_json::from_value(parse(2)?).map_err(invalid)?,
        files: serde_json::from_value(parse(3)?).map_err(invalid)?,
        attempts: r.get(4)?,
    })
}

/// Extends `worker`'s lease on job `key`; `false` when the lease was lost (it expired
/// and another worker took the job).
pub fn renew(
    tx: &mut dyn Sql,
    key: &str,
    worker: &str,
    lease: Duration,
) -> Result<bool, StoreError> {
    let n = tx.execute(
        "UPDATE batch_jobs SET lease_until = ?3 WHERE work_key = ?1 AND worker = ?2
             AND state = 'running'",
        args![key, worker, after(lease)],
    )?;
    Ok(n == 1)
}

/// Records the end of `worker`'s job `key`: stored as document `Ok(id)`, or `Err(why)`
/// (queued again unless it has had [`MAX_ATTEMPTS`], or `retry` is false).
pub fn finish(
    tx: &mut dyn Sql,
    key: &str,
    worker: &str,
    outcome: Result<&str, (&str, bool)>,
) -> Result<(), StoreError> {
    let at = now();
    match outcome {
        Ok(id) => tx.execute(
            "UPDATE batch_jobs SET state = 'done', document_id = ?3, error = NULL,
                 lease_until = NULL, updated_at = ?4 WHERE work_key = ?1 AND worker = ?2",
            args![key, worker, id, at],
        )?,
        Err((why, retry)) => tx.execute(
            "UPDATE batch_jobs SET state = CASE WHEN ?4 <> 0 AND attempts < ?5
                 THEN 'queued' ELSE 'failed' END,
                 error = ?3, lease_until = NULL, updated_at = ?6
             WHERE work_key = ?1 AND worker = ?2",
            args![key, worker, why, retry, MAX_ATTEMPTS, at],
        )?,
    };
    Ok(())
}

/// The queue's counts and failures.
pub fn status(conn: &mut dyn Sql) -> Result<QueueStatus, StoreError> {
    let mut status = QueueStatus::default();
    let counts: Vec<(String, u64)> = conn.query_map(
        "SELECT CASE WHEN state = 'running' AND lease_until < ?1 THEN 'queued' ELSE state END,
             COUNT(*) FROM batch_jobs GROUP BY 1",
        args![now()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    for (state, n) in counts {
        match state.as_str() {
            "queued" => status.queued += n,
            "running" => status.running += n,
            "done" => status.done += n,
            _ => {}
        }
    }
    status.failed = conn.query_map(
        "SELECT name, coalesce(error, '') FROM batch_jobs WHERE state = 'failed' ORDER BY name",
        args![],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(status)
}

/// JSON for the queue's text columns.
fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Storage(format!("batch queue: {e}")))
}
