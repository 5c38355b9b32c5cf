//! The SQLite metadata index: schema, a small connection pool, document rows, and the
//! checks of every value that comes from a caller.
//!
//! The database runs in WAL mode with `synchronous = NORMAL`: a process crash (kill -9)
//! loses nothing that was committed, and a power loss can lose only the last commits,
//! never consistency. Commits that store documents, agencies and keys switch to
//! `synchronous = FULL` (the WAL is fsynced before the commit returns); audit appends stay
//! NORMAL so that logging every lookup costs no fsync.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::clock::now;
use super::rows::{file_role_text, query_documents, role_text};
use super::sql::{args, Engine, PgConn, Sql};

use super::{NewDocument, StoreError, StoredFile};
use crate::values::{check_code, check_date, check_text, shorten, CitizenId};

/// Connections kept open for reuse.
const MAX_IDLE: usize = 16;
/// How long a writer waits for another one.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '1');
CREATE TABLE IF NOT EXISTS agencies (
    code TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY, agency TEXT NOT NULL REFERENCES agencies(code),
    secret_sha256 BLOB NOT NULL UNIQUE, scopes TEXT NOT NULL,
    created_at TEXT NOT NULL, revoked_at TEXT);
CREATE TABLE IF NOT EXISTS dossiers (
    code TEXT PRIMARY KEY, procedure_code TEXT NOT NULL, citizen_id TEXT NOT NULL,
    agency TEXT NOT NULL REFERENCES agencies(code),
    received_on TEXT, returned_on TEXT, created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS dossiers_citizen ON dossiers (citizen_id);
CREATE INDEX IF NOT EXISTS dossiers_procedure ON dossiers (procedure_code);
CREATE TABLE IF NOT EXISTS documents (
    rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,
    dossier_code TEXT NOT NULL REFERENCES dossiers(code),
    role TEXT NOT NULL CHECK (role IN ('component', 'result')),
    kind TEXT NOT NULL, title TEXT NOT NULL, page_count INTEGER NOT NULL,
    sha256 TEXT NOT NULL, created_by TEXT NOT NULL, created_at TEXT NOT NULL,
    valid_until TEXT, supersedes TEXT UNIQUE REFERENCES documents(id), reference TEXT);
CREATE INDEX IF NOT EXISTS documents_dossier ON documents (dossier_code);
CREATE INDEX IF NOT EXISTS documents_sha256 ON documents (sha256);
CREATE INDEX IF NOT EXISTS documents_reference ON documents (reference) WHERE reference IS NOT NULL;
CREATE TABLE IF NOT EXISTS files (
    doc INTEGER NOT NULL REFERENCES documents(rowid), ord INTEGER NOT NULL,
    role TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL, name TEXT NOT NULL,
    PRIMARY KEY (doc, ord)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS files_sha256 ON files (sha256);
CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5 (
    meta, body, tokenize = 'unicode61 remove_diacritics 2');
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY, time TEXT NOT NULL, agency TEXT NOT NULL, key_id TEXT NOT NULL,
    purpose TEXT NOT NULL, action TEXT NOT NULL, returned TEXT NOT NULL,
    prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batch_work (
    work_key TEXT PRIMARY KEY, document_id TEXT NOT NULL REFERENCES documents(id),
    stored_at TEXT NOT NULL, note TEXT);
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY, display_name TEXT NOT NULL, roles TEXT NOT NULL,
    password_hash TEXT NOT NULL, failures INTEGER NOT NULL DEFAULT 0, locked_until TEXT,
    created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dossier_links (
    dossier_code TEXT NOT NULL REFERENCES dossiers(code),
    document_id TEXT NOT NULL REFERENCES documents(id),
    attached_by TEXT NOT NULL, attached_at TEXT NOT NULL,
    PRIMARY KEY (dossier_code, document_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 TEXT PRIMARY KEY, username TEXT NOT NULL, csrf TEXT NOT NULL,
    epoch INTEGER NOT NULL, expires_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batch_jobs (
    work_key TEXT PRIMARY KEY, name TEXT NOT NULL, metadata TEXT NOT NULL, files TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    worker TEXT, lease_until TEXT, attempts INTEGER NOT NULL, error TEXT, document_id TEXT,
    enqueued_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS batch_jobs_waiting ON batch_jobs (state, enqueued_at);
CREATE VIEW IF NOT EXISTS document_view AS
    SELECT d.rowid AS rowid, d.id AS id, d.sha256 AS sha256, d.kind AS kind, d.title AS title,
        d.role AS role, d.dossier_code AS dossier_code, s.procedure_code AS procedure_code,
        s.citizen_id AS citizen_id, s.agency AS agency, d.page_count AS page_count,
        d.created_by AS created_by, d.created_at AS created_at, d.valid_until AS valid_until,
        d.supersedes AS supersedes, n.id AS superseded_by, d.reference AS reference
    FROM documents d JOIN dossiers s ON s.code = d.dossier_code
    LEFT JOIN documents n ON n.supersedes = d.id;
";

/// Columns added after the first schema, for stores made before them.
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("users", "disabled", "INTEGER NOT NULL DEFAULT 0"),
    ("users", "epoch", "INTEGER NOT NULL DEFAULT 0"),
    ("audit", "mac", "TEXT"),
];

fn add_missing_columns(tx: &mut dyn Sql) -> Result<(), StoreError> {
    for (table, column, declaration) in ADDED_COLUMNS {
        let present: bool = tx.one(
            &format!("SELECT COUNT(*) > 0 FROM pragma_table_info('{table}') WHERE name = ?1"),
            args![column],
        )?;
        if !present {
            tx.batch(&format!(
                "ALTER TABLE {table} ADD COLUMN {column} {declaration}"
            ))?;
        }
    }
    Ok(())
}

/// Where the index lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite file (the embedded default).
    Sqlite(PathBuf),
    /// A PostgreSQL database (`postgres://…`).
    Postgres(String),
}

impl Location {
    /// Reads `sqlite:PATH`, `postgres://…` or `postgresql://…`.
    pub fn parse(url: &str) -> Result<Location, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite:") {
            if path.is_empty() {
                return Err(StoreError::Invalid("sqlite: needs a file path".into()));
            }
            return Ok(Location::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Location::Postgres(url.to_string()));
        }
        Err(StoreError::Invalid(format!(
            "unknown index {:?}: expected sqlite:PATH or postgres://USER@HOST:PORT/DB",
            shorten(&super::sql::redact(url))
        )))
    }
}

/// One open connection of either engine.
enum Handle {
    Sqlite(Connection),
    Postgres(Box<PgConn>),
}

impl Handle {
    fn sql(&mut self) -> &mut (dyn Sql + 'static) {
        match self {
            Handle::Sqlite(c) => c,
            Handle::Postgres(c) => &mut **c,
        }
    }

    fn reusable(&self) -> bool {
        match self {
            Handle::Sqlite(c) => c.is_autocommit(),
            Handle::Postgres(c) => !c.is_closed(),
        }
    }
}

/// Open connections to the index, handed out one per user at a time.
pub struct Pool {
    location: Location,
    idle: Mutex<Vec<Handle>>,
    /// Writers of this process take turns here rather than in SQLite's busy handler,
    /// which sleeps (1 ms and more) between retries; other processes still wait there
    /// (SQLite) or on the database's write lock (PostgreSQL, see [`write`]).
    writer: Mutex<()>,
}

/// A connection borrowed from the [`Pool`]; goes back when dropped.
pub struct Conn<'a> {
    pool: &'a Pool,
    handle: Option<Handle>,
    /// Inside a transaction that neither committed nor rolled back (a panic): the
    /// connection is closed rather than reused.
    in_transaction: bool,
}

impl std::ops::Deref for Conn<'_> {
    type Target = dyn Sql;
    fn deref(&self) -> &(dyn Sql + 'static) {
        match self.handle.as_ref() {
            Some(Handle::Sqlite(c)) => c,
            Some(Handle::Postgres(c)) => &**c,
            None => unreachable!("a pooled connection is present until dropped"),
        }
    }
}

impl std::ops::DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut (dyn Sql + 'static) {
        self.handle
            .as_mut()
            .expect("a pooled connection is present until dropped")
            .sql()
    }
}

impl Conn<'_> {
    /// The SQLite connection, for the embedded store's own maintenance (backup).
    pub fn sqlite(&self) -> Option<&Connection> {
        match self.handle.as_ref() {
            Some(Handle::Sqlite(c)) => Some(c),
            _ => None,
        }
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        let Some(handle) = self.handle.take() else {
            return;
        };
        let Ok(mut idle) = self.pool.idle.lock() else {
            return;
        };
        if !handle.reusable() {
            // The server went away (restarted, network cut): the idle connections went
            // with it, so they are dropped too rather than failing one request each.
            idle.clear();
            return;
        }
        if !self.in_transaction && idle.len() < MAX_IDLE {
            idle.push(handle);
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        if let Ok(conn) = self.get() {
            if let Some(sqlite) = conn.sqlite() {
                let _ = sqlite.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            }
        }
    }
}

impl Pool {
    /// Opens (creating when missing) the index at `location`, bringing its schema up to date.
    pub fn open(location: &Location) -> Result<Pool, StoreError> {
        if let Location::Sqlite(path) = location {
            crate::private_files::create_file(path).map_err(|e| StoreError::io(path, e))?;
        }
        let pool = Pool {
            location: location.clone(),
            idle: Mutex::new(Vec::new()),
            writer: Mutex::new(()),
        };
        let mut conn = pool.get()?;
        match location {
            Location::Sqlite(_) => write(&mut conn, |tx| {
                tx.batch(SCHEMA)?;
                tx.batch(super::catalog::SCHEMA)?;
                add_missing_columns(tx)
            })?,
            Location::Postgres(_) => write(&mut conn, super::postgres::migrate)?,
        }
        drop(conn);
        Ok(pool)
    }

    /// The engine behind this pool.
    pub fn engine(&self) -> Engine {
        match self.location {
            Location::Sqlite(_) => Engine::Sqlite,
            Location::Postgres(_) => Engine::Postgres,
        }
    }

    /// A connection, reused or new.
    pub fn get(&self) -> Result<Conn<'_>, StoreError> {
        let reused = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let handle = match (reused, &self.location) {
            (Some(handle), _) => handle,
            (None, Location::Sqlite(path)) => Handle::Sqlite(connect(path)?),
            (None, Location::Postgres(url)) => Handle::Postgres(Box::new(PgConn::connect(url)?)),
        };
        Ok(Conn {
            pool: self,
            handle: Some(handle),
            in_transaction: false,
        })
    }
}

fn connect(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| StoreError::Storage(format!("{}: {e}", path.display())))?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    use_wal(&conn, BUSY_TIMEOUT)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Checkpoints fsync the database: [`checkpoint`] does them off the request path; a
    // commit does one only when the WAL has grown past 10,000 pages (40 MiB) anyway.
    conn.pragma_update(None, "wal_autocheckpoint", 10_000)?;
    conn.pragma_update(None, "journal_size_limit", 64 << 20)?;
    Ok(conn)
}

/// Puts the database in WAL mode. Switching a new database needs it to itself, and
/// SQLite answers "database is locked" at once, without its busy handler, when another
/// process is switching it too (clerks opening a new register together): so this waits
/// and tries again, up to `patience`.
pub fn use_wal(conn: &Connection, patience: Duration) -> rusqlite::Result<()> {
    let deadline = std::time::Instant::now() + patience;
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            done => return done,
        }
    }
}

/// How often the WAL is copied back into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// Checkpoints the WAL in the background while `alive` says so, without blocking readers
/// or writers; [`Pool`] checkpoints once more when dropped.
pub fn checkpoint(path: &Path, alive: impl Fn() -> bool + Send + 'static) {
    let Ok(conn) = connect(path) else {
        return;
    };
    let spawned = std::thread::Builder::new()
        .name("sohoa-checkpoint".into())
        .spawn(move || {
            while alive() {
                std::thread::sleep(CHECKPOINT_EVERY);
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!("WAL checkpoint failed: {e}");
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("no background checkpoint thread: {e}");
    }
}

/// The lock every PostgreSQL write transaction takes first: writes to one index take
/// turns across all machines, as they do in SQLite, so the audit chain and the batch
/// journal see one order. (Reads never wait for it.)
const WRITE_LOCK: i64 = 0x736f_686f_6100;

/// Runs `f` in one write transaction: `BEGIN IMMEDIATE` in SQLite, and in PostgreSQL a
/// transaction that first takes the index's write lock (see [`WRITE_LOCK`]).
pub fn write<T>(
    conn: &mut Conn,
    f: impl FnOnce(&mut dyn Sql) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let pool = conn.pool;
    let _turn = pool.writer.lock().unwrap_or_else(|e| e.into_inner());
    match pool.engine() {
        Engine::Sqlite => conn.batch("BEGIN IMMEDIATE")?,
        Engine::Postgres => {
            conn.batch("BEGIN")?;
            conn.in_transaction = true;
            conn.execute("SELECT pg_advisory_xact_lock(?1)", args![WRITE_LOCK])?;
        }
    }
    conn.in_transaction = true;
    let result = f(&mut **conn).and_then(|value| conn.batch("COMMIT").map(|()| value));
    if result.is_err() {
        let _ = conn.batch("ROLLBACK");
    }
    conn.in_transaction = false;
    result
}

/// Like [`write`], with the commit made durable before it returns (SQLite: the WAL
/// fsynced; PostgreSQL commits durably anyway).
pub fn write_durably<T>(
    conn: &mut Conn,
    f: impl FnOnce(&mut dyn Sql) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let Some(sqlite) = conn.sqlite() else {
        return write(conn, f);
    };
    sqlite.pragma_update(None, "synchronous", "FULL")?;
    let result = write(conn, f);
    if let Some(sqlite) = conn.sqlite() {
        sqlite.pragma_update(None, "synchronous", "NORMAL")?;
    }
    result
}

/// Checks the metadata of a new document (not yet against the database).
pub fn check_new(new: &NewDocument) -> Result<(), StoreError> {
    // The personal ID, title, validity date and superseded id are checked by their types.
    check_code("dossier code", &new.dossier_code)?;
    check_code("procedure code", &new.procedure_code)?;
    check_code("agency code", &new.agency)?;
    check_code("kind", &new.kind)?;
    check_text("created_by", &new.created_by, 200)?;
    Ok(())
}

/// Checks a new document against the database: its agency exists, the document it
/// supersedes exists and is current, its dossier (if it exists) matches.
pub fn check_against(conn: &mut dyn Sql, new: &NewDocument) -> Result<(), StoreError> {
    super::keys::check_agency(conn, &new.agency)?;
    if let Some(old) = &new.supersedes {
        check_supersedable(conn, old, new)?;
    }
    check_dossier(conn, new)
}

/// Checks that no current document carries `reference` (unless it is the one `new`
/// supersedes): a verification reference names one certified copy.
pub fn check_reference_free(
    conn: &mut dyn Sql,
    reference: &str,
    new: &NewDocument,
) -> Result<(), StoreError> {
    let tail = "WHERE v.reference = ?1 AND v.superseded_by IS NULL";
    let holders = query_documents(conn, tail, args![reference])?;
    match holders
        .iter()
        .find(|d| new.supersedes.as_ref().is_none_or(|old| *old != d.id))
    {
        Some(d) => Err(StoreError::Invalid(format!(
            "the certified copy {reference} is already stored as document {}: attach that \
             document to the dossier instead of storing it again",
            d.id
        ))),
        None => Ok(()),
    }
}

/// Creates the dossier on its first document.
pub fn ensure_dossier(tx: &mut dyn Sql, new: &NewDocument, now: &str) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO dossiers (code, procedure_code, citizen_id, agency, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (code) DO NOTHING",
        args![
            new.dossier_code,
            new.procedure_code,
            new.citizen_id,
            new.agency,
            now
        ],
    )?;
    Ok(())
}

/// Checks that an existing dossier has the new document's procedure, person and agency.
fn check_dossier(conn: &mut dyn Sql, new: &NewDocument) -> Result<(), StoreError> {
    let Some(d) = dossier(conn, &new.dossier_code)? else {
        return Ok(());
    };
    let clash = [
        (d.procedure_code != new.procedure_code, "procedure code"),
        (d.citizen_id != new.citizen_id, "personal ID number"),
        (d.agency != new.agency, "handling agency"),
    ];
    match clash.iter().find(|(differs, _)| *differs) {
        Some((_, what)) => Err(StoreError::Invalid(format!(
            "dossier {} already exists with another {what}",
            new.dossier_code
        ))),
        None => Ok(()),
    }
}

/// Checks that `id` exists, has not been superseded yet, belongs to the new document's
/// agency, and is a document of the same dossier, or of the same person and kind: a
/// correction replaces the agency's own document, never another agency's or person's.
fn check_supersedable(conn: &mut dyn Sql, id: &str, new: &NewDocument) -> Result<(), StoreError> {
    let doc = query_documents(conn, "WHERE v.id = ?1", args![id])?;
    let refuse = |why: &str| Err(StoreError::Invalid(format!("cannot supersede {id}: {why}")));
    match doc.first() {
        None => refuse("no such document"),
        Some(d) if d.superseded_by.is_some() => refuse(&format!(
            "already superseded by {}",
            d.superseded_by.as_deref().unwrap_or("")
        )),
        Some(d) if d.agency != new.agency => refuse("it belongs to another agency"),
        Some(d)
            if d.dossier_code != new.dossier_code
                && (d.citizen_id != new.citizen_id || d.kind != new.kind) =>
        {
            refuse("a correction must be in the same dossier, or for the same person and kind")
        }
        Some(_) => Ok(()),
    }
}

/// A document row to insert.
pub struct DocumentRow<'a> {
    /// New id.
    pub id: &'a str,
    /// Metadata.
    pub new: &'a NewDocument,
    /// Its files, already stored as blobs.
    pub files: &'a [StoredFile],
    /// SHA-256 of the main file.
    pub sha256: &'a str,
    /// OCR text.
    pub text: &'a str,
    /// Verification reference.
    pub reference: Option<&'a str>,
    /// Pages.
    pub page_count: u32,
    /// Creation time.
    pub created_at: &'a str,
}

/// Inserts a document, its files and its search entry.
pub fn insert_document(tx: &mut dyn Sql, row: &DocumentRow) -> Result<(), StoreError> {
    let new = row.new;
    let rowid: i64 = tx.one(
        "INSERT INTO documents (id, dossier_code, role, kind, title, page_count, sha256,
             created_by, created_at, valid_until, supersedes, reference)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) RETURNING rowid",
        args![
            row.id,
            new.dossier_code,
            role_text(new.role),
            new.kind,
            new.title,
            row.page_count,
            row.sha256,
            new.created_by,
            row.created_at,
            new.valid_until,
            new.supersedes,
            row.reference,
        ],
    )?;
    for (ord, f) in row.files.iter().enumerate() {
        tx.execute(
            "INSERT INTO files (doc, ord, role, sha256, size, name) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            args![rowid, ord, file_role_text(f.role), f.sha256, f.size, f.name],
        )?;
    }
    let meta = super::search::index_text(
        &new.kind,
        &new.title,
        &new.dossier_code,
        &new.procedure_code,
    );
    super::search::insert(tx, rowid, &meta, &super::search::fold(row.text))
}

/// Every distinct blob name the index refers to.
pub fn referenced_blobs(conn: &mut dyn Sql) -> Result<Vec<String>, StoreError> {
    conn.query_map(
        "SELECT DISTINCT sha256 FROM files ORDER BY sha256",
        args![],
        |r| r.get(0),
    )
}

/// Problems of the index itself: SQLite's own check, search rows that match no document
/// and documents missing from search, main files that are not among a document's files.
pub fn check_index(conn: &mut dyn Sql) -> Result<Vec<String>, StoreError> {
    let mut problems = Vec::new();
    if conn.engine() == Engine::Sqlite {
        let status: String = conn.one("PRAGMA quick_check", args![])?;
        if status != "ok" {
            problems.push(format!("index: SQLite quick_check: {status}"));
        }
    }
    let checks = [
        ("SELECT count(*) FROM documents d WHERE d.rowid NOT IN (SELECT rowid FROM search)",
         "documents missing from the search index"),
        ("SELECT count(*) FROM search s WHERE s.rowid NOT IN (SELECT rowid FROM documents)",
         "search entries without a document"),
        ("SELECT count(*) FROM documents d WHERE NOT EXISTS
             (SELECT 1 FROM files f WHERE f.doc = d.rowid AND f.sha256 = d.sha256)",
         "documents whose main file is not among their files"),
        ("SELECT count(*) FROM documents d WHERE d.dossier_code NOT IN (SELECT code FROM dossiers)",
         "documents without their dossier"),
        ("SELECT count(*) FROM batch_work w WHERE w.document_id NOT IN (SELECT id FROM documents)",
         "batch journal entries without their document"),
    ];
    for (sql, what) in checks {
        let n: i64 = conn.one(sql, args![])?;
        if n > 0 {
            problems.push(format!("index: {n} {what}"));
        }
    }
    Ok(problems)
}

/// The document stored for batch work `work_key`, if any.
pub fn work_document(conn: &mut dyn Sql, work_key: &str) -> Result<Option<String>, StoreError> {
    conn.query_opt(
        "SELECT document_id FROM batch_work WHERE work_key = ?1",
        args![work_key],
        |r| r.get(0),
    )
}

/// Journals batch work `work_key` as done by document `id` (in the document's transaction).
pub fn insert_work(
    tx: &mut dyn Sql,
    work_key: &str,
    id: &str,
    note: Option<&str>,
    now: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO batch_work (work_key, document_id, stored_at, note) VALUES (?1, ?2, ?3, ?4)",
        args![work_key, id, now, note],
    )?;
    Ok(())
}

/// A dossier by code.
pub fn dossier(conn: &mut dyn Sql, code: &str) -> Result<Option<super::Dossier>, StoreError> {
    conn.query_opt(
        "SELECT code, procedure_code, citizen_id, agency, received_on, returned_on
         FROM dossiers WHERE code = ?1",
        args![code],
        |r| {
            Ok(super::Dossier {
                code: r.get(0)?,
                procedure_code: r.get(1)?,
                citizen_id: r.get(2)?,
                agency: r.get(3)?,
                received_on: r.get(4)?,
                returned_on: r.get(5)?,
            })
        },
    )
}

/// Attaches existing document `id` to dossier `dossier.code` (created when new; when it
/// exists, its person must be the document's). Attaching twice is fine.
/// Creates `dossier`, or checks that the stored one with its code is the same person's;
/// returns the stored dossier.
pub fn open_dossier(
    tx: &mut dyn Sql,
    dossier: &super::Dossier,
) -> Result<super::Dossier, StoreError> {
    check_code("dossier code", &dossier.code)?;
    check_code("procedure code", &dossier.procedure_code)?;
    CitizenId::parse(&dossier.citizen_id)?;
    super::keys::check_agency(tx, &dossier.agency)?;
    for (what, date) in [
        ("received", &dossier.received_on),
        ("returned", &dossier.returned_on),
    ] {
        if let Some(date) = date {
            check_date(what, date)?;
        }
    }
    match self::dossier(tx, &dossier.code)? {
        Some(existing) if existing.citizen_id != dossier.citizen_id => Err(StoreError::Invalid(
            format!("dossier {} already exists for another person", dossier.code),
        )),
        Some(existing) => Ok(existing),
        None => {
            tx.execute(
                "INSERT INTO dossiers
                 (code, procedure_code, citizen_id, agency, received_on, returned_on, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                args![
                    dossier.code,
                    dossier.procedure_code,
                    dossier.citizen_id,
                    dossier.agency,
                    dossier.received_on,
                    dossier.returned_on,
                    now()
                ],
            )?;
            Ok(dossier.clone())
        }
    }
}

/// Links document `id` into `dossier` (opened when new) for reuse: same person, current,
/// not expired.
pub fn attach(
    tx: &mut dyn Sql,
    id: &str,
    dossier: &super::Dossier,
    by: &str,
) -> Result<(), StoreError> {
    let doc = query_documents(tx, "WHERE v.id = ?1", args![id])?
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::NotFound(format!("document {id}")))?;
    if doc.citizen_id != dossier.citizen_id {
        return Err(StoreError::Invalid(format!(
            "document {id} belongs to another person than the one of dossier {}",
            dossier.code
        )));
    }
    if let Some(newer) = &doc.superseded_by {
        return Err(StoreError::Invalid(format!(
            "document {id} was corrected by document {newer}: attach that one"
        )));
    }
    let today = crate::calendar::local_today();
    if let Some(until) = doc.valid_until.as_deref().filter(|u| *u < today.as_str()) {
        return Err(StoreError::Invalid(format!(
            "document {id} expired on {until} and cannot be reused"
        )));
    }
    open_dossier(tx, dossier)?;
    let at = now();
    if doc.dossier_code != dossier.code {
        tx.execute(
            "INSERT INTO dossier_links (dossier_code, document_id, attached_by, attached_at)
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            args![dossier.code, id, by, at],
        )?;
    }
    Ok(())
}

/// Codes of the dossiers document `id` was attached to (besides its own).
pub fn attached_dossiers(conn: &mut dyn Sql, id: &str) -> Result<Vec<String>, StoreError> {
    conn.query_map(
        "SELECT dossier_code FROM dossier_links WHERE document_id = ?1 ORDER BY attached_at",
        args![id],
        |r| r.get(0),
    )
}

/// Sets the received/returned dates of a dossier.
pub fn set_dossier_dates(
    conn: &mut dyn Sql,
    code: &str,
    received: Option<&str>,
    returned: Option<&str>,
) -> Result<(), StoreError> {
    check_code("dossier code", code)?;
    for (what, date) in [("received", received), ("returned", returned)] {
        if let Some(date) = date {
            check_date(what, date)?;
        }
    }
    let n = conn.execute(
        "UPDATE dossiers SET received_on = coalesce(?2, received_on),
             returned_on = coalesce(?3, returned_on) WHERE code = ?1",
        args![code, received, returned],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("dossier {code}")));
    }
    Ok(())
}
