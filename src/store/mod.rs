//! Store: dossiers, documents and their files (content-addressed blobs), agencies and
//! their API keys, full-text search and the hash-chained audit log.
//!
//! ```text
//! DIR/blobs/ab/abcdef…   file contents, named by SHA-256 (blob.rs, behind BlobStore)
//! DIR/index.sqlite       metadata, search (FTS5), keys, audit (index.rs, search.rs,
//!                        keys.rs, audit.rs)
//! ```
//!
//! [`Store`] is the facade every caller uses (CLI, server): a document is stored blobs
//! first (each fsynced), then its metadata in one SQLite transaction, so a crash leaves
//! the whole document or none of it. Documents are immutable; a correction is a new
//! document that supersedes the old one, and both stay retrievable. Every id, hash and
//! code from a caller is checked by format before use: no path is built from input.
//!
//! ```no_run
//! use sohoa::store::{NewDocument, NewFile, FileRole, Role, SearchQuery, Store};
//!
//! let store = Store::open("store".as_ref()).unwrap();
//! store.add_agency("UBND-XA-TN", "UBND xã Tân Nguyên").unwrap();
//! let new = NewDocument {
//!     dossier_code: "H35.12-240101-0001".into(), procedure_code: "1.001193".into(),
//!     citizen_id: "001234567890".parse().unwrap(), agency: "UBND-XA-TN".into(),
//!     kind: "giay-khai-sinh".into(), title: "Giấy khai sinh".parse().unwrap(), role: Role::Result,
//!     created_by: "clerk".into(), valid_until: None, supersedes: None,
//! };
//! let pdf = std::fs::read("doc.pdf").unwrap();
//! let files = [NewFile { role: FileRole::Pdf, name: "doc.pdf".into(), bytes: pdf }];
//! let doc = store.add_document(&new, &files, "Đăng ký khai sinh", None, 1).unwrap();
//! let found = store.search(&SearchQuery { text: Some("dang ky".into()), ..Default::default() });
//! assert_eq!(found.unwrap()[0].id, doc.id);
//! ```

mod audit;
pub mod backup;
mod blob;
pub mod catalog;
mod clock;
mod index;
pub mod indicators;
mod ingest;
mod keys;
pub mod migrate;
mod postgres;
pub mod queue;
mod renewal;
pub mod reuse;
mod rows;
mod s3;
mod search;
mod sessions;
pub mod sql;
pub mod users;

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use crate::values::{CitizenId, Date, DocumentId, Title};
pub use blob::{is_sha256, BlobStore, FsBlobStore};
pub use catalog::{Kind, Procedure, Requirement};
pub use indicators::{GroupBy, IndicatorQuery, Indicators};
pub use ingest::{file_pdf, has_active_content, inspect_pdf, CopyTrust, Filing, PdfFacts};
pub use keys::{is_id, new_id};
pub use reuse::OnFile;
pub use s3::S3BlobStore;
pub use search::{fold, strip_marks};
pub use sessions::StoredSession;
pub use users::{Login, User, UserRole};

pub(crate) use index::use_wal;
pub use index::Location;
use index::{write_durably, Pool};

/// The embedded store: `DIR/blobs/ab/<64 hex>` (see [`FsBlobStore`]) and
/// `DIR/index.sqlite` (SQLite in WAL mode with FTS5). Cheap to clone (shared inside);
/// usable from many threads at once: each call borrows a pooled connection; writes take
/// turns (a mutex in this process, SQLite's lock across processes); a background thread
/// checkpoints the WAL.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    blobs: Box<dyn BlobStore>,
    db: Pool,
    /// The audit key (see [`Store::set_audit_key`]).
    audit_key: std::sync::OnceLock<Vec<u8>>,
}

/// Where a store keeps its index and its file contents, when not in its folder.
#[derive(Debug, Clone, Default)]
pub struct Backends {
    /// `sqlite:PATH` or `postgres://USER@HOST:PORT/DB`.
    pub index: Option<String>,
    /// `file:DIR` or `s3://BUCKET/PREFIX`.
    pub blobs: Option<String>,
    /// The S3-compatible server for `s3://` blobs (default: AWS's).
    pub s3_endpoint: Option<String>,
}

/// The backends the tests of store `dir` run on: the folder's own, or, when
/// `SOHOA_TEST_POSTGRES` is set (`./dev services env`), a schema of its own in that
/// PostgreSQL database and (with `SOHOA_TEST_S3`) a prefix of its own in that bucket.
#[cfg(test)]
pub(crate) fn test_backends(dir: &Path) -> Backends {
    let Ok(database) = std::env::var("SOHOA_TEST_POSTGRES") else {
        return Backends::default();
    };
    let schema = format!(
        "t_{}",
        &blob::sha256_hex(dir.to_string_lossy().as_bytes())[..20]
    );
    let mut client = ::postgres::Client::connect(&database, ::postgres::NoTls)
        .unwrap_or_else(|e| panic!("SOHOA_TEST_POSTGRES={database}: {e}"));
    client
        .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .unwrap();
    Backends {
        index: Some(Backends::postgres_schema(&database, &schema)),
        blobs: std::env::var("SOHOA_TEST_S3")
            .ok()
            .map(|s3| format!("{}/{schema}", s3.trim_end_matches('/'))),
        s3_endpoint: std::env::var("SOHOA_TEST_S3_ENDPOINT").ok(),
    }
}

/// A store for a test in `dir`, on the backends [`test_backends`] chooses.
#[cfg(test)]
pub(crate) fn test_store(dir: &Path) -> Store {
    Store::open_with(dir, &test_backends(dir)).unwrap()
}

impl Backends {
    /// The index URL of a store kept in schema `schema` (which must exist) of the
    /// PostgreSQL database at `database`: several stores may share one database.
    pub fn postgres_schema(database: &str, schema: &str) -> String {
        let separator = if database.contains('?') { '&' } else { '?' };
        format!("{database}{separator}options=-csearch_path%3D{schema}")
    }
}

fn create_store_dir(dir: &Path) -> Result<(), StoreError> {
    crate::private_files::create_dir(dir).map_err(|e| StoreError::io(dir, e))
}

/// A dossier: filled in by its first document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Dossier {
    /// Dossier code.
    pub code: String,
    /// Procedure code.
    pub procedure_code: String,
    /// Applicant's personal ID number.
    pub citizen_id: String,
    /// Handling agency code.
    pub agency: String,
    /// Date received (YYYY-MM-DD).
    pub received_on: Option<String>,
    /// Date the result was returned (YYYY-MM-DD).
    pub returned_on: Option<String>,
}

impl Store {
    /// Opens the store in `dir`, creating it when missing.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        create_store_dir(dir)?;
        let blobs = FsBlobStore::open(&dir.join("blobs"))?;
        Store::with_blobs(&dir.join("index.sqlite"), Box::new(blobs))
    }

    /// Opens the store of folder `dir` with the index and blob storage `backends` name
    /// (each defaulting to the folder's own: `DIR/index.sqlite`, `DIR/blobs`).
    pub fn open_with(dir: &Path, backends: &Backends) -> Result<Store, StoreError> {
        if backends.index.is_none() && backends.blobs.is_none() {
            return Store::open(dir);
        }
        let location = match &backends.index {
            Some(url) => Location::parse(url)?,
            None => {
                create_store_dir(dir)?;
                Location::Sqlite(dir.join("index.sqlite"))
            }
        };
        let blobs: Box<dyn BlobStore> = match backends.blobs.as_deref() {
            Some(url) if url.starts_with("s3://") => {
                Box::new(S3BlobStore::open(url, backends.s3_endpoint.as_deref())?)
            }
            Some(url) => match url.strip_prefix("file:").filter(|p| !p.is_empty()) {
                Some(path) => Box::new(FsBlobStore::open(Path::new(path))?),
                None => {
                    return Err(StoreError::Invalid(format!(
                        "unknown blob storage {:?}: expected file:DIR or s3://BUCKET/PREFIX",
                        crate::values::shorten(url)
                    )))
                }
            },
            None => {
                create_store_dir(dir)?;
                Box::new(FsBlobStore::open(&dir.join("blobs"))?)
            }
        };
        Store::at(&location, blobs)
    }

    /// A store with its SQLite index at `index` and its contents in `blobs`.
    pub fn with_blobs(index: &Path, blobs: Box<dyn BlobStore>) -> Result<Store, StoreError> {
        Store::at(&Location::Sqlite(index.to_path_buf()), blobs)
    }

    /// A store with its index at `location` (SQLite or PostgreSQL; the schema is brought
    /// up to date) and its contents in `blobs`.
    pub fn at(location: &Location, blobs: Box<dyn BlobStore>) -> Result<Store, StoreError> {
        let db = Pool::open(location)?;
        let inner = Arc::new(Inner {
            blobs,
            db,
            audit_key: std::sync::OnceLock::new(),
        });
        if let Location::Sqlite(path) = location {
            let weak = Arc::downgrade(&inner);
            index::checkpoint(path, move || weak.strong_count() > 0);
        }
        Ok(Store { inner })
    }

    /// Records a web session of `user` (token and CSRF token made by the caller) for
    /// `lifetime`.
    pub fn start_session(
        &self,
        token: &str,
        user: &User,
        csrf: &str,
        lifetime: std::time::Duration,
    ) -> Result<(), StoreError> {
        index::write(&mut self.db()?, |tx| {
            sessions::start(tx, token, user, csrf, lifetime)
        })
    }

    /// The live session of `token`, with its user as stored now (`None` once it expired,
    /// ended, or its user was disabled or changed password).
    pub fn session(&self, token: &str) -> Result<Option<StoredSession>, StoreError> {
        sessions::find(&mut *self.db()?, token)
    }

    /// Ends the session of `token`.
    pub fn end_session(&self, token: &str) -> Result<(), StoreError> {
        index::write(&mut self.db()?, |tx| sessions::end(tx, token))
    }

    /// Queues `job` for `sohoa worker` (its files must already be stored as blobs, see
    /// [`Store::put_blob`]); a job with the same key is left as it is.
    pub fn enqueue(&self, job: &queue::Job) -> Result<queue::Enqueued, StoreError> {
        blob::check_sha256(&job.key)?;
        index::check_new(&job.new)?;
        for file in &job.files {
            blob::check_sha256(&file.sha256)?;
        }
        write_durably(&mut self.db()?, |tx| queue::enqueue(tx, job))
    }

    /// Takes the next job for `worker` for `lease` (see [`queue`]).
    pub fn take_job(
        &self,
        worker: &str,
        lease: std::time::Duration,
    ) -> Result<Option<queue::Job>, StoreError> {
        write_durably(&mut self.db()?, |tx| queue::take(tx, worker, lease))
    }

    /// Extends `worker`'s lease on job `key`; `false` when it was lost.
    pub fn renew_lease(
        &self,
        key: &str,
        worker: &str,
        lease: std::time::Duration,
    ) -> Result<bool, StoreError> {
        index::write(&mut self.db()?, |tx| queue::renew(tx, key, worker, lease))
    }

    /// Records how `worker`'s job `key` ended (see [`queue::finish`]).
    pub fn finish_job(
        &self,
        key: &str,
        worker: &str,
        outcome: Result<&str, (&str, bool)>,
    ) -> Result<(), StoreError> {
        write_durably(&mut self.db()?, |tx| {
            queue::finish(tx, key, worker, outcome)
        })
    }

    /// The batch queue's counts and failures.
    pub fn queue_status(&self) -> Result<queue::QueueStatus, StoreError> {
        queue::status(&mut *self.db()?)
    }

    /// Stores a working file under `key` in the blob storage, shared by every instance
    /// (see [`BlobStore::put_scratch`]).
    pub fn put_scratch(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.inner.blobs.put_scratch(key, bytes)
    }

    /// The working file `key`.
    pub fn get_scratch(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        self.inner.blobs.get_scratch(key)
    }

    /// Removes the working files under `prefix`.
    pub fn remove_scratch(&self, prefix: &str) -> Result<(), StoreError> {
        self.inner.blobs.remove_scratch(prefix)
    }

    /// The working files under `prefix`, with their last modification.
    pub fn scratch_list(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, std::time::SystemTime)>, StoreError> {
        self.inner.blobs.scratch_list(prefix)
    }

    /// Stores `bytes` as a blob (content-addressed); returns its SHA-256.
    pub fn put_blob(&self, bytes: &[u8]) -> Result<String, StoreError> {
        self.inner.blobs.put(bytes)
    }

    /// Whether the store can serve now: the index answers a query and the blob storage a
    /// lookup (for a load balancer's readiness check). The error says which is down.
    pub fn ready(&self) -> Result<(), StoreError> {
        let _: i64 = self.db()?.one("SELECT 1", sql::args![])?;
        self.inner.blobs.exists(&blob::sha256_hex(b""))?;
        Ok(())
    }

    /// Which engine holds the index.
    pub fn engine(&self) -> sql::Engine {
        self.inner.db.engine()
    }

    fn db(&self) -> Result<index::Conn<'_>, StoreError> {
        self.inner.db.get()
    }

    /// Adds an agency (its code must be new).
    pub fn add_agency(&self, code: &str, name: &str) -> Result<Agency, StoreError> {
        write_durably(&mut self.db()?, |tx| keys::add_agency(tx, code, name))
    }

    /// All agencies, by code.
    pub fn agencies(&self) -> Result<Vec<Agency>, StoreError> {
        keys::agencies(&mut *self.db()?)
    }

    /// Creates an API key; returns it and its secret (`sohoa_` + 43 base64url characters),
    /// shown once: only its SHA-256 is stored.
    pub fn create_key(
        &self,
        agency: &str,
        scopes: &[Scope],
    ) -> Result<(KeyInfo, String), StoreError> {
        write_durably(&mut self.db()?, |tx| keys::create_key(tx, agency, scopes))
    }

    /// Revokes a key; it authenticates no more.
    pub fn revoke_key(&self, key_id: &str) -> Result<(), StoreError> {
        write_durably(&mut self.db()?, |tx| keys::revoke_key(tx, key_id))
    }

    /// All keys (never their secrets).
    pub fn keys(&self) -> Result<Vec<KeyInfo>, StoreError> {
        keys::keys(&mut *self.db()?)
    }

    /// The key whose secret is `secret` (compared in constant time); `None` for unknown or
    /// revoked keys.
    pub fn authenticate(&self, secret: &str) -> Result<Option<KeyInfo>, StoreError> {
        keys::authenticate(&mut *self.db()?, secret)
    }

    /// Stores a document: blobs first (fsynced), then the metadata in one transaction.
    /// Checks the personal ID (12 digits), codes, dates, that the agency exists, that
    /// `supersedes` exists and is current, and that the dossier (created by its first
    /// document) has the same procedure, personal ID and agency. The main file is the
    /// certified copy when there is one, else the PDF. Non-empty `text` (the OCR text) is
    /// indexed for search and stored as a `text` file unless `files` has one.
    pub fn add_document(
        &self,
        new: &NewDocument,
        files: &[NewFile],
        text: &str,
        reference: Option<&str>,
        page_count: u32,
    ) -> Result<Document, StoreError> {
        self.store_one(Parts {
            new,
            files,
            text,
            reference,
            page_count,
            work: None,
        })
    }

    fn store_one(&self, parts: Parts) -> Result<Document, StoreError> {
        let id = self.store_all(&[parts])?.remove(0);
        self.document(&id)?
            .ok_or_else(|| StoreError::Storage(format!("document {id} vanished after storing")))
    }

    /// Checks a new document's metadata as [`Store::add_document`] would, without storing
    /// anything: lets a caller refuse bad metadata before costly work.
    pub fn check_document(&self, new: &NewDocument) -> Result<(), StoreError> {
        index::check_new(new)?;
        index::check_against(&mut *self.db()?, new)
    }

    /// The id of the document stored for batch work `work_key` (see
    /// [`Store::add_document_once`]), or `None` when that work is not done.
    pub fn work_document(&self, work_key: &str) -> Result<Option<String>, StoreError> {
        blob::check_sha256(work_key)?;
        index::work_document(&mut *self.db()?, work_key)
    }

    /// Stores a document as [`Store::add_document`] does, journaling `work.key` (a SHA-256
    /// in hex naming the work that produced it) in the same transaction: the document is
    /// stored and its work journaled together or not at all, and work already journaled
    /// is not stored again ([`Once::AlreadyStored`]).
    pub fn add_document_once(
        &self,
        work: &Work,
        new: &NewDocument,
        files: &[NewFile],
        text: &str,
        reference: Option<&str>,
        page_count: u32,
    ) -> Result<Once, StoreError> {
        blob::check_sha256(&work.key)?;
        if let Some(id) = self.work_document(&work.key)? {
            return Ok(Once::AlreadyStored(id));
        }
        let parts = Parts {
            new,
            files,
            text,
            reference,
            page_count,
            work: Some(work),
        };
        match self.store_all(&[parts]) {
            Ok(mut ids) => {
                let id = ids.remove(0);
                let doc = self.document(&id)?.ok_or_else(|| {
                    StoreError::Storage(format!("document {id} vanished after storing"))
                })?;
                Ok(Once::Stored(Box::new(doc)))
            }
            Err(e) => match self.work_document(&work.key)? {
                // Another process finished the same work meanwhile.
                Some(id) => Ok(Once::AlreadyStored(id)),
                None => Err(e),
            },
        }
    }

    /// Stores `ingest` (see [`Store::add_document`] for the checks).
    pub fn ingest(&self, ingest: &Ingest) -> Result<Document, StoreError> {
        self.store_one(ingest.parts())
    }

    /// Stores `ingest` once for batch work `work` (see [`Store::add_document_once`]).
    pub fn ingest_once(&self, work: &Work, ingest: &Ingest) -> Result<Once, StoreError> {
        self.add_document_once(
            work,
            &ingest.new,
            &ingest.files,
            &ingest.text,
            ingest.reference.as_deref(),
            ingest.page_count,
        )
    }

    /// Stores many documents at once, all or none (one transaction: for imports and
    /// benchmarks); checks as [`Store::add_document`]. Returns their ids, in order.
    pub fn add_documents(&self, batch: &[Ingest]) -> Result<Vec<String>, StoreError> {
        let parts: Vec<Parts> = batch.iter().map(Ingest::parts).collect();
        self.store_all(&parts)
    }

    fn store_all(&self, batch: &[Parts]) -> Result<Vec<String>, StoreError> {
        {
            let mut conn = self.db()?;
            for p in batch {
                p.check(&mut *conn)?;
            }
        }
        let mut rows = Vec::with_capacity(batch.len());
        for p in batch {
            let files = self.put_files(p.files, p.text)?;
            let sha256 = main_file(&files)?;
            rows.push((keys::new_id()?, files, sha256));
        }
        let created_at = clock::now();
        write_durably(&mut self.db()?, |tx| {
            for (p, (id, files, sha256)) in batch.iter().zip(&rows) {
                p.check_in(tx)?;
                index::ensure_dossier(tx, p.new, &created_at)?;
                let row = index::DocumentRow {
                    id,
                    new: p.new,
                    files,
                    sha256,
                    text: p.text,
                    reference: p.reference,
                    page_count: p.page_count,
                    created_at: &created_at,
                };
                index::insert_document(tx, &row)?;
                if let Some(work) = p.work {
                    index::insert_work(tx, &work.key, id, work.note.as_deref(), &created_at)?;
                }
            }
            Ok(())
        })?;
        Ok(rows.into_iter().map(|(id, _, _)| id).collect())
    }

    /// Writes the blobs of `files` (and of `text` as `text.txt` when not among them).
    fn put_files(&self, files: &[NewFile], text: &str) -> Result<Vec<StoredFile>, StoreError> {
        let mut stored = Vec::with_capacity(files.len() + 1);
        for f in files {
            stored.push(StoredFile {
                role: f.role,
                sha256: self.inner.blobs.put(&f.bytes)?,
                size: f.bytes.len() as u64,
                name: file_name(&f.name),
            });
        }
        if !text.is_empty() && !files.iter().any(|f| f.role == FileRole::Text) {
            stored.push(StoredFile {
                role: FileRole::Text,
                sha256: self.inner.blobs.put(text.as_bytes())?,
                size: text.len() as u64,
                name: "text.txt".into(),
            });
        }
        Ok(stored)
    }

    /// Sets the received/returned dates (YYYY-MM-DD) of an existing dossier.
    pub fn set_dossier_dates(
        &self,
        code: &str,
        received: Option<&str>,
        returned: Option<&str>,
    ) -> Result<(), StoreError> {
        write_durably(&mut self.db()?, |tx| {
            index::set_dossier_dates(tx, code, received, returned)
        })
    }

    /// A dossier by code.
    pub fn dossier(&self, code: &str) -> Result<Option<Dossier>, StoreError> {
        crate::values::check_code("dossier code", code)?;
        index::dossier(&mut *self.db()?, code)
    }

    /// A document by id, current or superseded.
    pub fn document(&self, id: &str) -> Result<Option<Document>, StoreError> {
        keys::check_id(id)?;
        let docs = rows::query_documents(&mut *self.db()?, "WHERE v.id = ?", &[&id])?;
        Ok(docs.into_iter().next())
    }

    /// Current documents of a person, optionally of one kind, oldest first.
    pub fn documents_by_citizen(
        &self,
        citizen_id: &str,
        kind: Option<&str>,
    ) -> Result<Vec<Document>, StoreError> {
        crate::values::CitizenId::parse(citizen_id)?;
        let mut conn = self.db()?;
        let current = "v.superseded_by IS NULL ORDER BY v.rowid";
        match kind {
            Some(kind) => {
                crate::values::check_code("kind", kind)?;
                let tail = format!("WHERE v.citizen_id = ? AND v.kind = ? AND {current}");
                rows::query_documents(&mut *conn, &tail, &[&citizen_id, &kind])
            }
            None => {
                let tail = format!("WHERE v.citizen_id = ? AND {current}");
                rows::query_documents(&mut *conn, &tail, &[&citizen_id])
            }
        }
    }

    /// Current documents of a dossier, its own and those attached to it for reuse
    /// ([`Store::attach`]), oldest first.
    pub fn documents_by_dossier(&self, dossier_code: &str) -> Result<Vec<Document>, StoreError> {
        crate::values::check_code("dossier code", dossier_code)?;
        let tail = "WHERE (v.dossier_code = ?1 OR v.id IN \
            (SELECT document_id FROM dossier_links WHERE dossier_code = ?1)) \
            AND v.superseded_by IS NULL ORDER BY v.rowid";
        rows::query_documents(&mut *self.db()?, tail, &[&dossier_code])
    }

    /// Attaches stored document `id` to another dossier (created when new) so that it is
    /// reused instead of scanned again; the person must be the same.
    pub fn attach(&self, id: &str, dossier: &Dossier, by: &str) -> Result<(), StoreError> {
        keys::check_id(id)?;
        crate::values::check_text("attached_by", by, 200)?;
        write_durably(&mut self.db()?, |tx| index::attach(tx, id, dossier, by))
    }

    /// Codes of the dossiers document `id` was attached to, besides its own.
    pub fn attached_dossiers(&self, id: &str) -> Result<Vec<String>, StoreError> {
        keys::check_id(id)?;
        index::attached_dossiers(&mut *self.db()?, id)
    }

    /// Imports procedures into the catalogue (all or none), replacing those with the same
    /// code; returns how many were imported.
    pub fn import_catalog(&self, procedures: &[Procedure]) -> Result<usize, StoreError> {
        catalog::check(procedures)?;
        write_durably(&mut self.db()?, |tx| catalog::import(tx, procedures))?;
        Ok(procedures.len())
    }

    /// Every procedure of the catalogue, by code.
    pub fn procedures(&self) -> Result<Vec<Procedure>, StoreError> {
        catalog::procedures(&mut *self.db()?)
    }

    /// Procedures whose code or name has every word of `text` (diacritics optional).
    pub fn find_procedures(&self, text: &str) -> Result<Vec<Procedure>, StoreError> {
        crate::values::check_text("query", &format!("{text}."), 200)?;
        catalog::find_procedures(&mut *self.db()?, text)
    }

    /// A procedure of the catalogue.
    pub fn procedure(&self, code: &str) -> Result<Option<Procedure>, StoreError> {
        crate::values::check_code("procedure code", code)?;
        catalog::procedure(&mut *self.db()?, code)
    }

    /// Document kinds named by the catalogue.
    pub fn kinds(&self) -> Result<Vec<Kind>, StoreError> {
        catalog::kinds(&mut *self.db()?)
    }

    /// What `citizen_id` has on file for each component of `procedure` on day `at`
    /// (default: today in Vietnam), among the documents `visible` lets the caller see.
    pub fn reuse(
        &self,
        citizen_id: &str,
        procedure: &str,
        at: Option<&str>,
        visible: impl Fn(&Document) -> bool,
    ) -> Result<OnFile, StoreError> {
        let today = crate::calendar::local_today();
        let at = at.unwrap_or(&today);
        crate::values::check_date("at", at)?;
        let day = crate::calendar::parse_day(at)
            .ok_or_else(|| StoreError::Invalid(format!("invalid at date {at:?}")))?;
        let procedure = self.procedure(procedure)?.ok_or_else(|| {
            StoreError::NotFound(format!("procedure {procedure} in the catalogue"))
        })?;
        let mut docs = self.documents_by_citizen(citizen_id, None)?;
        docs.retain(|d| visible(d));
        Ok(reuse::on_file(&procedure, citizen_id, day, &docs))
    }

    /// Creates a dossier, or checks that the one with its code is the same person's.
    pub fn open_dossier(&self, dossier: &Dossier) -> Result<Dossier, StoreError> {
        write_durably(&mut self.db()?, |tx| index::open_dossier(tx, dossier))
    }

    /// Sets the received/returned dates of many dossiers in one transaction.
    pub fn set_dossier_dates_many(
        &self,
        dates: &[(String, Option<String>, Option<String>)],
    ) -> Result<(), StoreError> {
        write_durably(&mut self.db()?, |tx| {
            for (code, received, returned) in dates {
                index::set_dossier_dates(tx, code, received.as_deref(), returned.as_deref())?;
            }
            Ok(())
        })
    }

    /// The digitization and reuse indicators of a period (see [`indicators`]).
    pub fn indicators(&self, query: &IndicatorQuery) -> Result<Vec<Indicators>, StoreError> {
        indicators::indicators(&mut *self.db()?, query)
    }

    /// Adds a web user with a password (at least [`users::MIN_PASSWORD_CHARS`] characters).
    pub fn add_user(&self, user: &User, password: &str) -> Result<(), StoreError> {
        users::check_username(&user.username)?;
        let hash = users::hash_password(password)?;
        write_durably(&mut self.db()?, |tx| users::add_user(tx, user, &hash))
    }

    /// Sets a user's password; the user's sessions end.
    pub fn set_password(&self, username: &str, password: &str) -> Result<(), StoreError> {
        let hash = users::hash_password(password)?;
        write_durably(&mut self.db()?, |tx| {
            users::set_password(tx, username, &hash)
        })
    }

    /// Disables or enables a user; disabling ends the user's sessions.
    pub fn set_user_disabled(&self, username: &str, disabled: bool) -> Result<(), StoreError> {
        write_durably(&mut self.db()?, |tx| {
            users::set_disabled(tx, username, disabled)
        })
    }

    /// Removes a user.
    pub fn remove_user(&self, username: &str) -> Result<(), StoreError> {
        write_durably(&mut self.db()?, |tx| users::remove(tx, username))
    }

    /// All web users.
    pub fn users(&self) -> Result<Vec<User>, StoreError> {
        users::users(&mut *self.db()?)
    }

    /// A web user by name, if there is one.
    pub fn user(&self, username: &str) -> Result<Option<User>, StoreError> {
        users::user(&mut *self.db()?, username)
    }

    /// Checks a sign-in. Unknown names and disabled users cost as much as wrong
    /// passwords and are answered alike. Repeated failures are throttled by the caller
    /// (the web page, per client address and name), never by locking the account.
    pub fn login(&self, username: &str, password: &str) -> Result<Login, StoreError> {
        let found = match users::check_username(username) {
            Ok(()) => users::credentials(&mut *self.db()?, username)?,
            Err(_) => None,
        };
        let Some(found) = found else {
            users::password_matches(password, users::decoy_hash());
            return Ok(Login::Refused);
        };
        if users::password_matches(password, &found.hash) && !found.user.disabled {
            return Ok(Login::Ok(found.user));
        }
        Ok(Login::Refused)
    }

    /// Documents (current or superseded) having a file with this SHA-256 (hex, any case).
    pub fn documents_by_sha256(&self, sha256: &str) -> Result<Vec<Document>, StoreError> {
        let sha256 = sha256.to_ascii_lowercase();
        blob::check_sha256(&sha256)?;
        let tail = "WHERE v.rowid IN (SELECT doc FROM files WHERE sha256 = ?) ORDER BY v.rowid";
        rows::query_documents(&mut *self.db()?, tail, &[&sha256])
    }

    /// The document with this verification reference (the current one when several).
    pub fn document_by_reference(&self, reference: &str) -> Result<Option<Document>, StoreError> {
        crate::values::Reference::parse(reference)?;
        let tail =
            "WHERE v.reference = ? ORDER BY v.superseded_by IS NULL DESC, v.rowid DESC LIMIT 1";
        let docs = rows::query_documents(&mut *self.db()?, tail, &[&reference])?;
        Ok(docs.into_iter().next())
    }

    /// All current documents, oldest first.
    pub fn list(&self) -> Result<Vec<Document>, StoreError> {
        let tail = "WHERE v.superseded_by IS NULL ORDER BY v.rowid";
        rows::query_documents(&mut *self.db()?, tail, &[])
    }

    /// Current documents matching every filter; with text, best matches first, else newest
    /// first. The text is folded ([`fold`]) and each term quoted: any string is safe.
    pub fn search(&self, query: &SearchQuery) -> Result<Vec<Document>, StoreError> {
        search::search(&mut *self.db()?, query)
    }

    /// The content of blob `sha256` (checked: 64 lowercase hex digits, and the content
    /// against its name).
    pub fn read_blob(&self, sha256: &str) -> Result<Vec<u8>, StoreError> {
        blob::check_sha256(sha256)?;
        self.inner.blobs.get(sha256)
    }

    /// The current version of every certified copy, per document id: its newest renewal,
    /// else the copy as certified.
    pub fn certified_copies(&self) -> Result<Vec<(String, StoredFile)>, StoreError> {
        renewal::current_copies(&mut *self.db()?)
    }

    /// Stores `renewed` as the newest version of document `id`'s certified copy. It must
    /// extend `previous` (the current version, as read) byte for byte; refused when
    /// another renewal came first. Earlier versions stay.
    pub fn add_renewal(
        &self,
        id: &str,
        previous: &StoredFile,
        renewed: &[u8],
    ) -> Result<StoredFile, StoreError> {
        keys::check_id(id)?;
        renewal::check_extends(&self.read_blob(&previous.sha256)?, renewed)?;
        let stem = previous.name.trim_end_matches(".pdf");
        let stem = stem.split("-renewed-").next().unwrap_or(stem);
        let file = StoredFile {
            role: renewal::ROLE,
            sha256: self.inner.blobs.put(renewed)?,
            size: renewed.len() as u64,
            name: format!("{stem}-renewed-{}.pdf", &clock::now()[..10]),
        };
        write_durably(&mut self.db()?, |tx| {
            renewal::insert(tx, id, &previous.sha256, &file)
        })?;
        Ok(file)
    }

    /// Checks everything: every blob re-hashed against its name, every indexed file has
    /// its blob, the index's own consistency. Orphan blobs and stray files are notes.
    pub fn fsck(&self) -> Result<FsckReport, StoreError> {
        let mut report = FsckReport::default();
        let blobs = self.inner.blobs.list()?;
        for name in &blobs {
            report.blobs_checked += 1;
            match self.inner.blobs.get(name) {
                Ok(_) => {}
                Err(StoreError::Storage(e)) => report.problems.push(e),
                Err(StoreError::Io { path, source }) => report
                    .problems
                    .push(format!("{}: {source}", path.display())),
                Err(e) => report.problems.push(format!("blob {name}: {e}")),
            }
        }
        let mut conn = self.db()?;
        let referenced = index::referenced_blobs(&mut *conn)?;
        let present: std::collections::HashSet<&str> = blobs.iter().map(String::as_str).collect();
        for name in &referenced {
            if !present.contains(name.as_str()) {
                report.problems.push(format!("blob {name} is missing"));
            }
        }
        report.problems.extend(index::check_index(&mut *conn)?);
        let referenced: std::collections::HashSet<&str> =
            referenced.iter().map(String::as_str).collect();
        for name in blobs.iter().filter(|b| !referenced.contains(b.as_str())) {
            report
                .notes
                .push(format!("blob {name} belongs to no document (orphan)"));
        }
        for stray in self.inner.blobs.strays()? {
            report
                .notes
                .push(format!("stray file {stray} in the blob folder"));
        }
        Ok(report)
    }

    /// Sets the audit key (kept outside the store): every entry appended from now on
    /// carries its MAC. Set once; a second call is refused.
    pub fn set_audit_key(&self, key: &[u8]) -> Result<(), StoreError> {
        if key.len() < 16 {
            return Err(StoreError::Invalid(
                "the audit key is too short (at least 16 bytes)".into(),
            ));
        }
        self.inner
            .audit_key
            .set(key.to_vec())
            .map_err(|_| StoreError::Invalid("the audit key is already set".into()))
    }

    /// Appends an entry to the audit log (hash-chained; see [`Store::verify_audit`]).
    pub fn audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.audit_many(std::slice::from_ref(entry))
    }

    /// Appends entries in order, in one transaction (one commit for all: a busy service
    /// appends what arrived meanwhile together).
    pub fn audit_many(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        let key = self.inner.audit_key.get().map(Vec::as_slice);
        audit::append(&mut self.db()?, entries, key)
    }

    /// Recomputes the audit chain; the problem names the first broken entry. With the
    /// audit key set, every entry's MAC is checked too; with `head`, that recorded head
    /// hash must still be in the chain. `blobs_checked` counts the entries that hold; a
    /// note gives the head hash.
    pub fn verify_audit(&self, head: Option<&str>) -> Result<FsckReport, StoreError> {
        let check = audit::AuditCheck {
            key: self.inner.audit_key.get().map(Vec::as_slice),
            head,
        };
        audit::verify(&mut *self.db()?, &check)
    }

    /// The newest `limit` audit entries, newest first.
    pub fn audit_entries(&self, limit: u32) -> Result<Vec<serde_json::Value>, StoreError> {
        audit::entries(&mut *self.db()?, limit)
    }
}

/// A document ready to store: every entry point (command line, API, web page, batch)
/// builds one with [`Ingest::from_pdf`] or [`Ingest::from_pages`] and hands it to
/// [`Store::ingest`], [`Store::ingest_once`] or [`Store::add_documents`].
#[derive(Debug, Clone)]
pub struct Ingest {
    /// Metadata.
    pub new: NewDocument,
    /// Files.
    pub files: Vec<NewFile>,
    /// OCR text (may be empty).
    pub text: String,
    /// Verification reference of a certified copy.
    pub reference: Option<String>,
    /// Pages.
    pub page_count: u32,
}

impl Ingest {
    /// A PDF stored as it is, named `name`: its pages and text are read, and a signed
    /// PDF is verified and filed as [`file_pdf`] says (its report kept beside it). The
    /// facts read are returned too, for the caller's warnings.
    pub fn from_pdf(
        new: NewDocument,
        name: String,
        pdf: Vec<u8>,
        trust: &CopyTrust,
        claimed_reference: Option<&str>,
    ) -> Result<(Ingest, PdfFacts), StoreError> {
        let facts = inspect_pdf(&pdf)?;
        let filing = file_pdf(&pdf, &facts, trust, claimed_reference)?;
        let mut files = vec![NewFile {
            role: filing.role,
            name,
            bytes: pdf,
        }];
        files.extend(filing.verification);
        let ingest = Ingest {
            new,
            files,
            text: facts.text.clone(),
            reference: filing.reference,
            page_count: facts.page_count,
        };
        Ok((ingest, facts))
    }

    /// Digitized pages: the PDF/A named `name`, then the `originals` (scans, photos),
    /// then the per-page report (`report.json`) when `with_report`; the recognised text
    /// is indexed.
    pub fn from_pages(
        new: NewDocument,
        name: String,
        digitized: &crate::digitize::Digitized,
        originals: Vec<NewFile>,
        with_report: bool,
    ) -> Result<Ingest, StoreError> {
        let mut files = vec![NewFile {
            role: FileRole::Pdf,
            name,
            bytes: digitized.pdf.clone(),
        }];
        files.extend(originals);
        if with_report {
            let report = serde_json::to_vec_pretty(&digitized.pages)
                .map_err(|e| StoreError::Storage(format!("page report: {e}")))?;
            files.push(NewFile {
                role: FileRole::Report,
                name: "report.json".into(),
                bytes: report,
            });
        }
        Ok(Ingest {
            new,
            files,
            text: digitized.text(),
            reference: None,
            page_count: digitized.pages.len() as u32,
        })
    }

    /// The same document with a certified copy of its PDF as its main file (first), and
    /// the copy's verification reference.
    pub fn with_certified_copy(mut self, copy: NewFile, reference: String) -> Ingest {
        self.files.insert(0, copy);
        self.reference = Some(reference);
        self
    }

    fn parts(&self) -> Parts<'_> {
        Parts {
            new: &self.new,
            files: &self.files,
            text: &self.text,
            reference: self.reference.as_deref(),
            page_count: self.page_count,
            work: None,
        }
    }
}

/// A unit of batch work whose result is stored once (see [`Store::add_document_once`]).
#[derive(Debug, Clone)]
pub struct Work {
    /// SHA-256 (lowercase hex) of what identifies the work: its inputs and metadata.
    pub key: String,
    /// A note kept with it, e.g. which pages are missing.
    pub note: Option<String>,
}

/// What [`Store::add_document_once`] did.
#[derive(Debug, Clone)]
pub enum Once {
    /// The document was stored now.
    Stored(Box<Document>),
    /// The work had been stored before, as the document with this id.
    AlreadyStored(String),
}

/// A document to store, borrowed.
struct Parts<'a> {
    new: &'a NewDocument,
    files: &'a [NewFile],
    text: &'a str,
    reference: Option<&'a str>,
    page_count: u32,
    work: Option<&'a Work>,
}

impl Parts<'_> {
    /// Every check that can be made before writing blobs (repeated in the transaction).
    fn check(&self, conn: &mut dyn sql::Sql) -> Result<(), StoreError> {
        index::check_new(self.new)?;
        if let Some(r) = self.reference {
            crate::values::Reference::parse(r)?;
        }
        if !self
            .files
            .iter()
            .any(|f| matches!(f.role, FileRole::Pdf | FileRole::Certified))
        {
            return Err(StoreError::Invalid(
                "a document needs a PDF or a certified copy".into(),
            ));
        }
        self.check_in(conn)
    }

    /// The checks against the database (made again inside the storing transaction).
    fn check_in(&self, conn: &mut dyn sql::Sql) -> Result<(), StoreError> {
        index::check_against(conn, self.new)?;
        match self.reference {
            Some(r) => index::check_reference_free(conn, r, self.new),
            None => Ok(()),
        }
    }
}

/// The SHA-256 of the main file: the certified copy, else the PDF.
fn main_file(files: &[StoredFile]) -> Result<String, StoreError> {
    [FileRole::Certified, FileRole::Pdf]
        .iter()
        .find_map(|role| files.iter().find(|f| f.role == *role))
        .map(|f| f.sha256.clone())
        .ok_or_else(|| StoreError::Invalid("a document needs a PDF or a certified copy".into()))
}

/// A file name safe to show and to offer for download: its last component, without
/// control characters or quotes, at most 200 characters.
fn file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = last
        .chars()
        .filter(|c| {
            !c.is_control() && !crate::values::is_bidi_control(*c) && !"\"<>|:*?".contains(*c)
        })
        .take(200)
        .collect();
    match clean.trim() {
        "" | "." | ".." => "file".into(),
        t => t.to_string(),
    }
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Invalid input from a caller (bad personal ID, unknown agency, malformed id…): a 4xx.
    #[error("{0}")]
    Invalid(String),
    /// The thing asked for does not exist: a 404.
    #[error("not found: {0}")]
    NotFound(String),
    /// The store is inconsistent (a broken row, a blob that is not what its name says): a
    /// 5xx.
    #[error("store: {0}")]
    Storage(String),
    /// The embedded index (SQLite) failed: a 5xx.
    #[error("store: index: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The shared index (PostgreSQL) refused or failed a statement: a 5xx.
    #[error("store: index: {message}")]
    Postgres {
        /// The server's message.
        message: String,
        /// The client's error.
        #[source]
        source: ::postgres::Error,
    },
    /// A file or folder of the store could not be read or written: a 5xx.
    #[error("store: {}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: std::path::PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// A shared backend (PostgreSQL, S3) cannot be reached right now: a 503; retrying
    /// later may succeed.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The same error for another receiver (an audit group's writers): a database error
    /// is kept as its message, an I/O error as its kind and message.
    pub fn duplicate(&self) -> StoreError {
        match self {
            StoreError::Invalid(m) => StoreError::Invalid(m.clone()),
            StoreError::NotFound(m) => StoreError::NotFound(m.clone()),
            StoreError::Storage(m) => StoreError::Storage(m.clone()),
            StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
            StoreError::Sqlite(e) => StoreError::Storage(format!("index: {e}")),
            StoreError::Postgres { message, .. } => {
                StoreError::Storage(format!("index: {message}"))
            }
            StoreError::Io { path, source } => StoreError::Io {
                path: path.clone(),
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
        }
    }

    /// A failure of the store itself (not of the request, not an outage): worth a retry
    /// by a batch, a 500 for a client.
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            StoreError::Storage(_)
                | StoreError::Sqlite(_)
                | StoreError::Postgres { .. }
                | StoreError::Io { .. }
        )
    }
}

impl From<crate::values::Invalid> for StoreError {
    fn from(e: crate::values::Invalid) -> StoreError {
        StoreError::Invalid(e.0)
    }
}

/// Whether a document was submitted with the dossier or is the result of the procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Thành phần hồ sơ: a document the citizen submitted.
    Component,
    /// Kết quả giải quyết TTHC: the result of the procedure.
    Result,
}

/// What a stored file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileRole {
    /// The searchable PDF/A (the document's main file).
    Pdf,
    /// The electronic certified copy.
    Certified,
    /// An original input (scan or photo).
    Original,
    /// The OCR text.
    Text,
    /// The digitization report: per-page geometry, OCR confidence and warnings (JSON).
    Report,
    /// The certified copy renewed: fresh validation data and a document timestamp
    /// appended to the previous version (the newest one is current).
    Renewed,
}

/// One file of a document, stored once by content.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredFile {
    /// What it is.
    pub role: FileRole,
    /// SHA-256 of the content, lowercase hex (the blob's name).
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Original file name, for downloads.
    pub name: String,
}

/// A stored document (immutable; a correction is a new document that supersedes it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Document {
    /// Opaque id (e.g. 26 lowercase base32 chars); safe in URLs and never a path.
    pub id: String,
    /// SHA-256 of the main file (the certified copy when there is one, else the PDF).
    pub sha256: String,
    /// Kind, e.g. `giay-khai-sinh`.
    pub kind: String,
    /// Title.
    pub title: String,
    /// Component or result.
    pub role: Role,
    /// Dossier code.
    pub dossier_code: String,
    /// Procedure code (mã TTHC).
    pub procedure_code: String,
    /// Applicant's 12-digit personal ID number.
    pub citizen_id: String,
    /// Agency code of the handling agency.
    pub agency: String,
    /// Pages in the PDF.
    pub page_count: u32,
    /// Who stored it (user name or API key id).
    pub created_by: String,
    /// When it was stored (RFC 3339).
    pub created_at: String,
    /// End of validity, when the document expires (YYYY-MM-DD).
    pub valid_until: Option<String>,
    /// The document this one corrects.
    pub supersedes: Option<String>,
    /// The document that corrects this one.
    pub superseded_by: Option<String>,
    /// Verification reference of the certified copy (its QR content), if certified.
    pub reference: Option<String>,
    /// All files.
    pub files: Vec<StoredFile>,
}

/// Metadata of a document to store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewDocument {
    /// Dossier code.
    pub dossier_code: String,
    /// Procedure code.
    pub procedure_code: String,
    /// 12-digit personal ID.
    pub citizen_id: CitizenId,
    /// Agency code (must exist).
    pub agency: String,
    /// Kind.
    pub kind: String,
    /// Title.
    pub title: Title,
    /// Component or result.
    pub role: Role,
    /// Who stores it.
    pub created_by: String,
    /// End of validity (YYYY-MM-DD).
    pub valid_until: Option<Date>,
    /// The document this one corrects.
    pub supersedes: Option<DocumentId>,
}

/// A file to store with a document.
#[derive(Debug, Clone)]
pub struct NewFile {
    /// What it is.
    pub role: FileRole,
    /// File name.
    pub name: String,
    /// Content.
    pub bytes: Vec<u8>,
}

/// An agency that may hold API keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Agency {
    /// Short code, e.g. `UBND-XA-TN`.
    pub code: String,
    /// Name.
    pub name: String,
}

/// What an API key may do: `read:*`, `read:KIND`, `read:procedure:CODE`, `write`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    /// Read every document.
    ReadAll,
    /// Read documents of one kind.
    ReadKind(String),
    /// Read documents of one procedure.
    ReadProcedure(String),
    /// Store documents.
    Write,
}

/// An API key as stored (never the secret).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyInfo {
    /// Public key id.
    pub id: String,
    /// Owning agency code.
    pub agency: String,
    /// Scopes.
    pub scopes: Vec<Scope>,
    /// Revoked keys authenticate no more.
    pub revoked: bool,
}

/// Search filters; all optional, combined with AND.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SearchQuery {
    /// Full-text query, insensitive to case and Vietnamese diacritics (đ → d).
    pub text: Option<String>,
    /// Personal ID.
    pub citizen_id: Option<CitizenId>,
    /// Dossier code.
    pub dossier_code: Option<String>,
    /// Procedure code.
    pub procedure_code: Option<String>,
    /// Kind.
    pub kind: Option<String>,
    /// Agency code.
    pub agency: Option<String>,
    /// Stored on or after (YYYY-MM-DD).
    pub from: Option<Date>,
    /// Stored on or before (YYYY-MM-DD).
    pub to: Option<Date>,
    /// At most this many results (default 100).
    pub limit: Option<u32>,
}

/// One audit log entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Agency code.
    pub agency: String,
    /// API key id (or the local user).
    pub key_id: String,
    /// Purpose given with the request.
    pub purpose: String,
    /// What was done, e.g. `GET /api/v1/documents?citizen_id=…`.
    pub action: String,
    /// Ids of the documents returned.
    pub returned: Vec<String>,
}

/// Result of a consistency check.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FsckReport {
    /// Blobs checked.
    pub blobs_checked: u64,
    /// Problems found (empty when consistent).
    pub problems: Vec<String>,
    /// Harmless findings (orphan blobs, leftover temporary files).
    pub notes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = test_store(dir.path());
        store.add_agency("UBND-A", "Ủy ban A").unwrap();
        (dir, store)
    }

    fn new(dossier: &str, citizen: &str, kind: &str, title: &str) -> NewDocument {
        NewDocument {
            dossier_code: dossier.into(),
            procedure_code: "1.001193".into(),
            citizen_id: citizen.parse().unwrap(),
            agency: "UBND-A".into(),
            kind: kind.into(),
            title: title.parse().unwrap(),
            role: Role::Component,
            created_by: "test".into(),
            valid_until: None,
            supersedes: None,
        }
    }

    fn pdf(content: &str) -> Vec<NewFile> {
        vec![NewFile {
            role: FileRole::Pdf,
            name: "../x/doc.pdf".into(),
            bytes: format!("%PDF-1.7 {content}").into_bytes(),
        }]
    }

    #[test]
    fn documents_are_reused_only_for_the_same_person() {
        let (_dir, store) = store();
        let doc = store
            .add_document(
                &new("D1", "001234567890", "cccd", "Căn cước"),
                &pdf("r"),
                "",
                None,
                1,
            )
            .unwrap();
        let dossier = |code: &str, citizen: &str| Dossier {
            code: code.into(),
            procedure_code: "2.000001".into(),
            citizen_id: citizen.into(),
            agency: "UBND-A".into(),
            received_on: None,
            returned_on: None,
        };
        store
            .attach(&doc.id, &dossier("D2", "001234567890"), "clerk")
            .unwrap();
        store
            .attach(&doc.id, &dossier("D2", "001234567890"), "clerk")
            .unwrap();
        let in_d2 = store.documents_by_dossier("D2").unwrap();
        assert_eq!(in_d2.len(), 1);
        assert_eq!(in_d2[0].id, doc.id);
        assert_eq!(store.attached_dossiers(&doc.id).unwrap(), ["D2"]);
        // Another person's new dossier, or an existing one of another person: refused.
        assert!(store
            .attach(&doc.id, &dossier("D3", "079912345678"), "clerk")
            .is_err());
        store
            .add_document(&new("D4", "079912345678", "k", "t"), &pdf("s"), "", None, 1)
            .unwrap();
        assert!(store
            .attach(&doc.id, &dossier("D4", "001234567890"), "clerk")
            .is_err());
        assert!(store.dossier("D3").unwrap().is_none(), "nothing half-made");
    }

    #[test]
    fn wrong_passwords_never_lock_and_password_changes_or_disabling_end_sessions() {
        let (_dir, store) = store();
        let user = User {
            username: "an".into(),
            display_name: "Nguyễn Văn An".into(),
            roles: vec![UserRole::Clerk],
            disabled: false,
            epoch: 0,
        };
        assert!(store.add_user(&user, "short").is_err());
        store.add_user(&user, "mat-khau-dai-du").unwrap();
        assert!(
            store.add_user(&user, "mat-khau-dai-du").is_err(),
            "names are unique"
        );
        for _ in 0..10 {
            assert!(matches!(store.login("an", "sai").unwrap(), Login::Refused));
        }
        let Login::Ok(signed_in) = store.login("an", "mat-khau-dai-du").unwrap() else {
            panic!("a guesser elsewhere must not lock the account");
        };
        store.set_password("an", "mat-khau-moi-dai").unwrap();
        let after = store.user("an").unwrap().unwrap();
        assert_ne!(
            after.epoch, signed_in.epoch,
            "sessions end on a new password"
        );
        assert!(matches!(
            store.login("an", "mat-khau-moi-dai").unwrap(),
            Login::Ok(_)
        ));
        store.set_user_disabled("an", true).unwrap();
        assert!(matches!(
            store.login("an", "mat-khau-moi-dai").unwrap(),
            Login::Refused
        ));
        assert_ne!(store.user("an").unwrap().unwrap().epoch, after.epoch);
        store.remove_user("an").unwrap();
        assert!(store.user("an").unwrap().is_none());
        assert!(matches!(store.login("ai-do", "x").unwrap(), Login::Refused));
    }

    #[test]
    fn documents_are_found_by_every_key() {
        let (_dir, store) = store();
        let n = new("D1", "001234567890", "giay-khai-sinh", "Giấy khai sinh");
        let doc = store
            .add_document(&n, &pdf("a"), "Đăng ký", Some("SOHOA1:2026-01-1:00"), 2)
            .unwrap();
        assert_eq!(doc.files[0].name, "doc.pdf");
        assert_eq!(doc.files[1].role, FileRole::Text);
        let by_id = store.document(&doc.id).unwrap().unwrap();
        assert_eq!(
            (by_id.sha256.as_str(), by_id.page_count),
            (doc.sha256.as_str(), 2)
        );
        let ids = |docs: Vec<Document>| docs.into_iter().map(|d| d.id).collect::<Vec<_>>();
        assert_eq!(
            ids(store.documents_by_citizen("001234567890", None).unwrap()),
            [doc.id.as_str()]
        );
        assert!(store
            .documents_by_citizen("001234567890", Some("other"))
            .unwrap()
            .is_empty());
        assert_eq!(
            ids(store.documents_by_dossier("D1").unwrap()),
            [doc.id.as_str()]
        );
        assert_eq!(
            ids(store.documents_by_sha256(&doc.sha256).unwrap()),
            [doc.id.as_str()]
        );
        let by_ref = store
            .document_by_reference("SOHOA1:2026-01-1:00")
            .unwrap()
            .unwrap();
        assert_eq!(by_ref.id, doc.id);
        assert_eq!(store.read_blob(&doc.sha256).unwrap(), b"%PDF-1.7 a");
        assert!(store.fsck().unwrap().problems.is_empty());
    }

    #[test]
    fn a_correction_supersedes_and_both_stay_retrievable() {
        let (_dir, store) = store();
        let n = new("D1", "001234567890", "giay-khai-sinh", "Giấy khai sinh");
        let old = store.add_document(&n, &pdf("a"), "", None, 1).unwrap();
        let fix = NewDocument {
            supersedes: Some(old.id.parse().unwrap()),
            ..n.clone()
        };
        let new = store.add_document(&fix, &pdf("b"), "", None, 1).unwrap();
        let old_now = store.document(&old.id).unwrap().unwrap();
        assert_eq!(old_now.superseded_by.as_deref(), Some(new.id.as_str()));
        assert_eq!(new.supersedes.as_deref(), Some(old.id.as_str()));
        let current: Vec<String> = store.list().unwrap().into_iter().map(|d| d.id).collect();
        assert_eq!(current, [new.id.as_str()]);
        assert!(matches!(
            store.add_document(&fix, &pdf("c"), "", None, 1),
            Err(StoreError::Invalid(_))
        ));
    }

    #[test]
    fn bad_metadata_is_refused_before_anything_is_stored() {
        let (dir, store) = store();
        let good = new("D1", "001234567890", "k", "t");
        // Personal IDs, titles, dates and ids are checked by their types (values.rs);
        // what is left to the store: codes, the agency, the document superseded.
        let bad = [
            new("../D1", "001234567890", "k", "t"),
            new("D1", "001234567890", "k k", "t"),
            NewDocument {
                agency: "NOPE".into(),
                ..good.clone()
            },
            NewDocument {
                supersedes: Some(keys::new_id().unwrap().parse().unwrap()),
                ..good.clone()
            },
        ];
        for n in &bad {
            let e = store.add_document(n, &pdf("x"), "", None, 1).unwrap_err();
            assert!(matches!(e, StoreError::Invalid(_)), "{e}");
        }
        assert!(store.list().unwrap().is_empty());
        store.add_document(&good, &pdf("x"), "", None, 1).unwrap();
        let other_citizen = new("D1", "009999999999", "k", "t");
        let e = store
            .add_document(&other_citizen, &pdf("x"), "", None, 1)
            .unwrap_err();
        assert!(e.to_string().contains("personal ID"), "{e}");
        drop(dir);
    }

    #[test]
    fn work_is_stored_once_and_older_stores_gain_the_journal() {
        // An embedded store made before the journal existed: the table is created on open.
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.add_agency("UBND-A", "Ủy ban A").unwrap();
        store.db().unwrap().batch("DROP TABLE batch_work").unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        let work = Work {
            key: "ab".repeat(32),
            note: Some("missing pages [2]".into()),
        };
        assert!(store.work_document(&work.key).unwrap().is_none());
        let n = new("D1", "001234567890", "k", "t");
        let Once::Stored(doc) = store
            .add_document_once(&work, &n, &pdf("a"), "", None, 1)
            .unwrap()
        else {
            panic!("stored before")
        };
        assert_eq!(
            store.work_document(&work.key).unwrap(),
            Some(doc.id.clone())
        );
        let again = store
            .add_document_once(&work, &n, &pdf("b"), "", None, 1)
            .unwrap();
        assert!(matches!(again, Once::AlreadyStored(id) if id == doc.id));
        assert_eq!(store.list().unwrap().len(), 1);
        assert!(store.work_document("../x").is_err());
        assert!(store.fsck().unwrap().problems.is_empty());
    }

    #[test]
    fn a_batch_is_stored_whole_or_not_at_all() {
        let (_dir, store) = store();
        let ingest = |dossier: &str, citizen: &str| Ingest {
            new: new(dossier, citizen, "k", "Đăng ký"),
            files: pdf(dossier),
            text: String::new(),
            reference: None,
            page_count: 1,
        };
        let clash = [ingest("D1", "001234567890"), ingest("D1", "009999999999")];
        assert!(matches!(
            store.add_documents(&clash),
            Err(StoreError::Invalid(_))
        ));
        assert!(store.list().unwrap().is_empty());
        let good = [ingest("D1", "001234567890"), ingest("D2", "009999999999")];
        let ids = store.add_documents(&good).unwrap();
        let listed: Vec<String> = store.list().unwrap().into_iter().map(|d| d.id).collect();
        assert_eq!(listed, ids);
    }

    #[test]
    fn many_threads_store_search_and_audit_at_once() {
        let (_dir, store) = store();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for i in 0..10 {
                        let citizen = format!("{:012}", t * 100 + i);
                        let n = new(&format!("D{t}-{i}"), &citizen, "k", "Đăng ký");
                        let doc = store.add_document(&n, &pdf(&citizen), "", None, 1).unwrap();
                        let found = store.documents_by_citizen(&citizen, None).unwrap();
                        assert_eq!(found[0].id, doc.id);
                        let entry = AuditEntry {
                            agency: "UBND-A".into(),
                            key_id: "k".into(),
                            purpose: "test".into(),
                            action: format!("lookup {citizen}"),
                            returned: vec![doc.id],
                        };
                        store.audit(&entry).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(store.list().unwrap().len(), 80);
        let query = SearchQuery {
            text: Some("dang ky".into()),
            limit: Some(1000),
            ..Default::default()
        };
        assert_eq!(store.search(&query).unwrap().len(), 80);
        let audit = store.verify_audit(None).unwrap();
        assert!(audit.problems.is_empty(), "{:?}", audit.problems);
        assert_eq!(audit.blobs_checked, 80);
        assert!(store.fsck().unwrap().problems.is_empty());
    }
}
