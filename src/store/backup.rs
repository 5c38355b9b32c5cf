//! Online backups of an embedded store, while it serves: the SQLite index is copied as
//! one consistent snapshot (`VACUUM INTO`, a read transaction that writers do not block),
//! then every blob the snapshot refers to is copied and re-hashed. Blobs are immutable and
//! written before the index commit that refers to them, so the snapshot's blobs all exist.
//! A manifest written last (`backup.json`) marks the backup complete and records what a
//! later check compares: the snapshot's SHA-256, the counts, the audit chain's head.
//!
//! ```text
//! BACKUP/index.sqlite    the index snapshot (documents, keys, users, audit, …)
//! BACKUP/blobs/ab/abcd…  the referenced blobs, as in the store
//! BACKUP/register/…     other SQLite databases of the store folder (the register), at
//!                        the same relative path
//! BACKUP/backup.json     the manifest, written last
//! ```

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::sql::{args, Sql};
use serde::{Deserialize, Serialize};

use super::audit::{self, AuditCheck};
use super::blob::{sha256_hex, BlobStore, FsBlobStore};
use super::{index, FsckReport, Store, StoreError};

/// The manifest's file name.
pub const MANIFEST: &str = "backup.json";
const INDEX: &str = "index.sqlite";

/// What a backup holds (its `backup.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Format of this manifest.
    pub format: u32,
    /// When the snapshot was taken (RFC 3339, UTC).
    pub created_at: String,
    /// SHA-256 of `index.sqlite`.
    pub index_sha256: String,
    /// Documents in the snapshot.
    pub documents: u64,
    /// Blobs copied, and their bytes.
    pub blobs: u64,
    /// Total size of the blobs.
    pub blob_bytes: u64,
    /// Audit entries, and the last one's hash (the chain's head).
    pub audit_entries: u64,
    /// The audit chain's head hash at the snapshot.
    pub audit_head: Option<String>,
    /// Other databases snapshotted with the store: path relative to the store folder
    /// → SHA-256.
    pub extra: Vec<(String, String)>,
}

fn io(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::io(path, e)
}

/// A new, empty folder at `out` (refused when it holds anything).
fn fresh_folder(out: &Path) -> Result<(), StoreError> {
    if out.exists()
        && std::fs::read_dir(out)
            .map_err(|e| io(out, e))?
            .next()
            .is_some()
    {
        return Err(StoreError::Invalid(format!(
            "{} is not empty: a backup or restore goes into a new folder",
            out.display()
        )));
    }
    std::fs::create_dir_all(out).map_err(|e| io(out, e))
}

/// A consistent copy of the SQLite database at `src` in `dst` (which must not exist).
pub fn snapshot_sqlite(src: &Path, dst: &Path) -> Result<String, StoreError> {
    let conn = Connection::open_with_flags(src, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    vacuum_into(&conn, dst)
}

/// Writes a consistent copy of `conn`'s database to `dst` (one read transaction, which
/// writers do not block); its SHA-256.
fn vacuum_into(conn: &Connection, dst: &Path) -> Result<String, StoreError> {
    let target = dst
        .to_str()
        .ok_or_else(|| StoreError::Invalid(format!("{}: not UTF-8", dst.display())))?;
    conn.execute("VACUUM INTO ?1", [target])?;
    file_sha256(dst)
}

fn file_sha256(path: &Path) -> Result<String, StoreError> {
    Ok(sha256_hex(&std::fs::read(path).map_err(|e| io(path, e))?))
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io(dir, e))
}

impl Store {
    /// Backs the store up into `out` (a new folder) while it stays in use; `extra` names
    /// other SQLite databases to snapshot with it (e.g. the certification register), by
    /// their path relative to the store folder and where they are now.
    pub fn backup(&self, out: &Path, extra: &[(String, PathBuf)]) -> Result<Manifest, StoreError> {
        fresh_folder(out)?;
        let created_at = super::clock::now();
        let snapshot = out.join(INDEX);
        let index_sha256 = {
            let db = self.db()?;
            let Some(sqlite) = db.sqlite() else {
                return Err(StoreError::Invalid(
                    "backup copies an embedded store; back a PostgreSQL index up with \
                     pg_dump and the S3 bucket with its own replication"
                        .into(),
                ));
            };
            vacuum_into(sqlite, &snapshot)?
        };
        let mut conn = Connection::open_with_flags(&snapshot, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let copy = FsBlobStore::open(&out.join("blobs"))?;
        let (mut blobs, mut blob_bytes) = (0, 0);
        for name in index::referenced_blobs(&mut conn)? {
            let bytes = self.inner.blobs.get(&name)?;
            if copy.put(&bytes)? != name {
                return Err(StoreError::Storage(format!(
                    "blob {name} changed while copied"
                )));
            }
            blobs += 1;
            blob_bytes += bytes.len() as u64;
        }
        let mut extras = Vec::new();
        for (relative, path) in extra {
            let target = out.join(checked_relative(relative)?);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
            }
            extras.push((relative.clone(), snapshot_sqlite(path, &target)?));
        }
        let (audit_entries, audit_head) = audit_head(&mut conn)?;
        let manifest = Manifest {
            format: 1,
            created_at,
            index_sha256,
            documents: (&mut conn as &mut dyn Sql)
                .one("SELECT COUNT(*) FROM documents", args![])?,
            blobs,
            blob_bytes,
            audit_entries,
            audit_head,
            extra: extras,
        };
        write_manifest(out, &manifest)?;
        Ok(manifest)
    }
}

/// A path inside the backup or store folder: relative, no `..`.
fn checked_relative(relative: &str) -> Result<&Path, StoreError> {
    let path = Path::new(relative);
    let inside = path
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    if inside && !relative.is_empty() {
        Ok(path)
    } else {
        Err(StoreError::Invalid(format!(
            "{relative}: not a path inside the store folder"
        )))
    }
}

/// The number of audit entries and the last one's hash.
fn audit_head(conn: &mut dyn Sql) -> Result<(u64, Option<String>), StoreError> {
    let count = conn.one("SELECT COUNT(*) FROM audit", args![])?;
    let head = conn.query_opt(
        "SELECT hash FROM audit ORDER BY seq DESC LIMIT 1",
        args![],
        |r| r.get(0),
    )?;
    Ok((count, head))
}

fn write_manifest(out: &Path, manifest: &Manifest) -> Result<(), StoreError> {
    let json = serde_json::to_vec_pretty(manifest)
        .map_err(|e| StoreError::Storage(format!("manifest: {e}")))?;
    let temp = out.join(format!("{MANIFEST}.tmp"));
    std::fs::write(&temp, json).map_err(|e| io(&temp, e))?;
    std::fs::File::open(&temp)
        .and_then(|f| f.sync_all())
        .map_err(|e| io(&temp, e))?;
    std::fs::rename(&temp, out.join(MANIFEST)).map_err(|e| io(out, e))?;
    sync_dir(out)
}

/// Checks a backup without changing it: the manifest, the snapshots' hashes, the
/// index's integrity, every referenced blob present and matching its name, and the audit
/// chain (with its MACs when `audit_key` is given) up to the recorded head.
pub fn verify(dir: &Path, audit_key: Option<&[u8]>) -> Result<(Manifest, FsckReport), StoreError> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read(&path).map_err(|e| {
        StoreError::Invalid(format!(
            "{}: not a complete backup (no {MANIFEST}: {e})",
            dir.display()
        ))
    })?;
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| StoreError::Invalid(format!("{}: {e}", path.display())))?;
    let mut report = FsckReport::default();
    let snapshot = dir.join(INDEX);
    if file_sha256(&snapshot)? != manifest.index_sha256 {
        report
            .problems
            .push("index.sqlite differs from the one backed up".into());
    }
    for (relative, sha) in &manifest.extra {
        if file_sha256(&dir.join(checked_relative(relative)?))? != *sha {
            report
                .problems
                .push(format!("{relative} differs from the one backed up"));
        }
    }
    let mut conn = Connection::open_with_flags(&snapshot, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if integrity != "ok" {
        report.problems.push(format!("index.sqlite: {integrity}"));
    }
    let blobs = FsBlobStore::open(&dir.join("blobs"))?;
    for name in index::referenced_blobs(&mut conn)? {
        report.blobs_checked += 1;
        if let Err(e) = blobs.get(&name) {
            report.problems.push(format!("blob {name}: {e}"));
        }
    }
    let check = AuditCheck {
        key: audit_key,
        head: manifest.audit_head.as_deref(),
    };
    let audit = audit::verify(&mut conn, &check)?;
    report.problems.extend(audit.problems);
    report.notes.extend(audit.notes);
    Ok((manifest, report))
}

/// Restores a verified backup into `into` (a new folder): the index, the blobs and the
/// extra databases at their relative paths (e.g. `register/register.sqlite`).
pub fn restore(
    backup: &Path,
    into: &Path,
    audit_key: Option<&[u8]>,
) -> Result<Manifest, StoreError> {
    let (manifest, report) = verify(backup, audit_key)?;
    if let Some(problem) = report.problems.first() {
        return Err(StoreError::Invalid(format!(
            "the backup does not check out ({} problems, first: {problem}); nothing restored",
            report.problems.len()
        )));
    }
    fresh_folder(into)?;
    let copy = |from: &Path, to: &Path| -> Result<(), StoreError> {
        std::fs::copy(from, to).map_err(|e| io(to, e))?;
        std::fs::File::open(to)
            .and_then(|f| f.sync_all())
            .map_err(|e| io(to, e))
    };
    copy(&backup.join(INDEX), &into.join(INDEX))?;
    let source = FsBlobStore::open(&backup.join("blobs"))?;
    let target = FsBlobStore::open(&into.join("blobs"))?;
    let mut conn =
        Connection::open_with_flags(backup.join(INDEX), OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    for name in index::referenced_blobs(&mut conn)? {
        target.put(&source.get(&name)?)?;
    }
    for (relative, _) in &manifest.extra {
        let relative = checked_relative(relative)?;
        let target = into.join(relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        copy(&backup.join(relative), &target)?;
    }
    sync_dir(into)?;
    Ok(manifest)
}
