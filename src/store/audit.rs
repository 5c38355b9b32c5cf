//! The append-only audit log of reads, hash-chained.
//!
//! Row `seq` stores `hash = SHA-256(prev_hash ‖ "\n" ‖ canonical JSON of the row)`, where
//! the canonical JSON is `{"seq","time","agency","key_id","purpose","action","returned"}`
//! in that order (serde_json, no spaces) and `prev_hash` is the hash of row `seq − 1` (64
//! zeros for row 1). Editing a row breaks its hash; deleting one breaks the chain and the
//! numbering. Removing the newest rows is only detectable against a recorded head hash,
//! which [`verify`] reports and checks (`audit verify --head HASH`).
//!
//! A chain alone can be rebuilt by anyone who can write the database. With an audit key
//! (32 random bytes kept outside the store, `sohoa audit keygen`), every row also stores
//! `mac = HMAC-SHA256(key, hash)`: verifying with the key then fails on any row written
//! or rewritten without it.

use super::sql::{args, Row, Sql};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::clock::now;
use super::index::{write, Conn};
use super::{AuditEntry, FsckReport, StoreError};
use crate::values::check_text;

/// `prev_hash` of the first entry.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Ids listed in one entry at most.
const MAX_RETURNED: usize = 100_000;

/// The hashed form of an entry.
#[derive(Serialize)]
struct Canonical<'a> {
    seq: i64,
    time: &'a str,
    agency: &'a str,
    key_id: &'a str,
    purpose: &'a str,
    action: &'a str,
    returned: &'a [String],
}

impl Canonical<'_> {
    fn hash(&self, prev_hash: &str) -> Result<String, StoreError> {
        let json =
            serde_json::to_string(self).map_err(|e| StoreError::Storage(format!("audit: {e}")))?;
        let mut hasher = Sha256::new();
        hasher.update(prev_hash.as_bytes());
        hasher.update(b"\n");
        hasher.update(json.as_bytes());
        Ok(hex::encode(hasher.finalize()))
    }
}

/// The MAC of a row's hash under `key`, hex.
fn mac(key: &[u8], hash: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    hex::encode(ring::hmac::sign(&key, hash.as_bytes()).as_ref())
}

/// Appends `entries` in order, chained to the last one (atomically, across processes:
/// one write transaction for all of them), each with its MAC when a `key` is given.
pub fn append(
    conn: &mut Conn,
    entries: &[AuditEntry],
    key: Option<&[u8]>,
) -> Result<(), StoreError> {
    let mut returned = Vec::with_capacity(entries.len());
    for entry in entries {
        check(entry)?;
        returned.push(
            serde_json::to_string(&entry.returned)
                .map_err(|e| StoreError::Storage(format!("audit: {e}")))?,
        );
    }
    write(conn, |tx| {
        let last: Option<(i64, String)> = tx.query_opt(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            args![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let (mut seq, mut prev_hash) = last.unwrap_or((0, GENESIS.to_string()));
        let time = now();
        for (entry, returned) in entries.iter().zip(&returned) {
            seq += 1;
            let hash = canonical(seq, &time, entry).hash(&prev_hash)?;
            let mac = key.map(|k| mac(k, &hash));
            tx.execute(
                "INSERT INTO audit (seq, time, agency, key_id, purpose, action, returned, prev_hash, hash, mac)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                args![
                    seq,
                    time,
                    entry.agency,
                    entry.key_id,
                    entry.purpose,
                    entry.action,
                    returned,
                    prev_hash,
                    hash,
                    mac
                ],
            )?;
            prev_hash = hash;
        }
        Ok(())
    })
}

fn canonical<'a>(seq: i64, time: &'a str, e: &'a AuditEntry) -> Canonical<'a> {
    Canonical {
        seq,
        time,
        agency: &e.agency,
        key_id: &e.key_id,
        purpose: &e.purpose,
        action: &e.action,
        returned: &e.returned,
    }
}

fn check(entry: &AuditEntry) -> Result<(), StoreError> {
    check_text("audit agency", &entry.agency, 200)?;
    check_text("audit key id", &entry.key_id, 200)?;
    // The server decides whether a purpose is required; here it may be empty.
    if entry.purpose.chars().count() > 1000 || entry.purpose.chars().any(char::is_control) {
        return Err(StoreError::Invalid(
            "invalid purpose: at most 1000 characters and no control characters".into(),
        ));
    }
    check_text("audit action", &entry.action, 4000)?;
    if entry.returned.len() > MAX_RETURNED {
        return Err(StoreError::Invalid(
            "too many returned ids for one audit entry".into(),
        ));
    }
    Ok(())
}

/// One stored row.
struct StoredRow {
    seq: i64,
    time: String,
    entry: AuditEntry,
    returned_text: String,
    prev_hash: String,
    hash: String,
    mac: Option<String>,
}

const ROW_SQL: &str =
    "SELECT seq, time, agency, key_id, purpose, action, returned, prev_hash, hash, mac FROM audit";

fn read_row(r: &Row) -> Result<StoredRow, StoreError> {
    let returned_text: String = r.get(6)?;
    Ok(StoredRow {
        seq: r.get(0)?,
        time: r.get(1)?,
        entry: AuditEntry {
            agency: r.get(2)?,
            key_id: r.get(3)?,
            purpose: r.get(4)?,
            action: r.get(5)?,
            returned: serde_json::from_str(&returned_text).unwrap_or_default(),
        },
        returned_text,
        prev_hash: r.get(7)?,
        hash: r.get(8)?,
        mac: r.get(9)?,
    })
}

/// What [`verify`] checks besides the chain.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditCheck<'a> {
    /// The audit key: every entry must carry its MAC under it.
    pub key: Option<&'a [u8]>,
    /// A head hash recorded earlier: it must still be in the chain.
    pub head: Option<&'a str>,
}

/// Recomputes the whole chain; the first broken entry is the problem reported.
pub fn verify(conn: &mut dyn Sql, check: &AuditCheck) -> Result<FsckReport, StoreError> {
    let mut report = FsckReport::default();
    let mut prev = GENESIS.to_string();
    let (mut head_seen, mut keyed) = (false, 0u64);
    for row in pages(conn) {
        let row = row?;
        let seq = report.blobs_checked as i64 + 1;
        let problem = match check_row(&row, seq, &prev)? {
            Some(p) => Some(p),
            None => check_mac(&row, check.key),
        };
        if let Some(problem) = problem {
            report.problems.push(problem);
            return Ok(report);
        }
        report.blobs_checked += 1;
        keyed += u64::from(row.mac.is_some());
        head_seen |= check.head == Some(row.hash.as_str());
        prev = row.hash;
    }
    if let Some(head) = check.head {
        if !head_seen {
            report.problems.push(format!(
                "the recorded head {head} is not in the chain: newer entries were removed or the chain was rebuilt"
            ));
        }
    }
    if check.key.is_none() && keyed > 0 {
        report.notes.push(format!(
            "{keyed} entries carry a MAC: give the audit key (--audit-key) to check them"
        ));
    }
    report.notes.push(format!(
        "audit chain of {} entries holds; head hash {prev}",
        report.blobs_checked
    ));
    Ok(report)
}

/// Rows read at a time by [`verify`], which may walk millions.
const PAGE: i64 = 10_000;

/// Every row in `seq` order, read a page at a time.
fn pages(conn: &mut dyn Sql) -> impl Iterator<Item = Result<StoredRow, StoreError>> + '_ {
    let sql = format!("{ROW_SQL} WHERE seq > ?1 ORDER BY seq LIMIT ?2");
    let mut page = std::collections::VecDeque::new();
    let (mut after, mut done) = (0i64, false);
    std::iter::from_fn(move || {
        if page.is_empty() && !done {
            match conn.query_map(&sql, args![after, PAGE], read_row) {
                Ok(rows) => {
                    done = (rows.len() as i64) < PAGE;
                    page.extend(rows);
                }
                Err(e) => {
                    done = true;
                    return Some(Err(e));
                }
            }
        }
        let row = page.pop_front()?;
        after = row.seq;
        Some(Ok(row))
    })
}

/// What is wrong with `row`'s MAC under `key` (nothing to check without a key).
fn check_mac(row: &StoredRow, key: Option<&[u8]>) -> Option<String> {
    let key = key?;
    match &row.mac {
        None => Some(format!(
            "audit entry {} carries no MAC: it was written without the audit key, or forged",
            row.seq
        )),
        Some(m) if *m != mac(key, &row.hash) => Some(format!(
            "audit entry {}'s MAC does not match: the entry was rewritten without the audit key",
            row.seq
        )),
        Some(_) => None,
    }
}

/// What is wrong with `row`, expected at `seq` after an entry hashed `prev`.
fn check_row(row: &StoredRow, seq: i64, prev: &str) -> Result<Option<String>, StoreError> {
    if row.seq != seq {
        return Ok(Some(format!(
            "audit entry {seq} is missing (the next entry is {}): entries were deleted",
            row.seq
        )));
    }
    if row.prev_hash != prev {
        return Ok(Some(format!(
            "audit entry {seq} does not chain to entry {}: an entry was deleted or edited",
            seq - 1
        )));
    }
    let canonical_returned = serde_json::to_string(&row.entry.returned).unwrap_or_default();
    let hash = canonical(row.seq, &row.time, &row.entry).hash(prev)?;
    if hash != row.hash || canonical_returned != row.returned_text {
        return Ok(Some(format!(
            "audit entry {seq} was modified: its hash does not match its content"
        )));
    }
    Ok(None)
}

/// The newest `limit` entries, newest first, as JSON objects.
pub fn entries(conn: &mut dyn Sql, limit: u32) -> Result<Vec<serde_json::Value>, StoreError> {
    let sql = format!("{ROW_SQL} ORDER BY seq DESC LIMIT ?1");
    let rows = conn.query_map(&sql, args![limit], read_row)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(serde_json::json!({
            "seq": row.seq,
            "time": row.time,
            "agency": row.entry.agency,
            "key_id": row.entry.key_id,
            "purpose": row.entry.purpose,
            "action": row.entry.action,
            "returned": row.entry.returned,
            "prev_hash": row.prev_hash,
            "hash": row.hash,
        }));
    }
    Ok(out)
}
