//! Moving up: an embedded store copied into shared backends (PostgreSQL + S3), every
//! blob re-hashed on the way, every row kept as it is (document row ids included, so the
//! files and search entries still point at their documents), the audit chain checked at
//! the end. Each table is copied in chunks that skip rows already there, so an
//! interrupted migration is simply run again.

use super::index;
use super::sql::{args, Engine, Row, Sql, ToValue};
use super::{Store, StoreError};

/// Tables copied as they are, parents before children (foreign keys), with their columns.
const TABLES: &[(&str, &str)] = &[
    ("agencies", "code, name, created_at"),
    (
        "api_keys",
        "id, agency, secret_sha256, scopes, created_at, revoked_at",
    ),
    (
        "dossiers",
        "code, procedure_code, citizen_id, agency, received_on, returned_on, created_at",
    ),
    (
        "documents",
        "rowid, id, dossier_code, role, kind, title, page_count, sha256, created_by, created_at, \
         valid_until, supersedes, reference",
    ),
    ("files", "doc, ord, role, sha256, size, name"),
    ("batch_work", "work_key, document_id, stored_at, note"),
    (
        "users",
        "username, display_name, roles, password_hash, failures, locked_until, created_at, \
         disabled, epoch",
    ),
    (
        "dossier_links",
        "dossier_code, document_id, attached_by, attached_at",
    ),
    ("procedures", "code, name, agency_level, folded, updated_at"),
    (
        "procedure_items",
        "procedure_code, role, ord, kind, name, required, valid_days",
    ),
    ("kinds", "code, name"),
    (
        "batch_jobs",
        "work_key, name, metadata, files, state, worker, lease_until, attempts, error, \
         document_id, enqueued_at, updated_at",
    ),
    (
        "audit",
        "seq, time, agency, key_id, purpose, action, returned, prev_hash, hash, mac",
    ),
];

/// Rows written per transaction.
const CHUNK: usize = 1000;

/// What a migration copied.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Migrated {
    /// Blobs copied or found already there (each re-hashed).
    pub blobs: u64,
    /// Rows per table in the source, in copying order.
    pub rows: Vec<(String, u64)>,
}

impl Store {
    /// Copies `source` (an embedded store) into this store (see the module documentation);
    /// `progress` hears each step. Refused when this store is the embedded one itself.
    pub fn migrate_from(
        &self,
        source: &Store,
        mut progress: impl FnMut(&str),
    ) -> Result<Migrated, StoreError> {
        if self.engine() == Engine::Sqlite && source.engine() == Engine::Sqlite {
            return Err(StoreError::Invalid(
                "migrate copies an embedded store into PostgreSQL (--index postgres://…)".into(),
            ));
        }
        let mut migrated = Migrated::default();
        let names = index::referenced_blobs(&mut *source.db()?)?;
        for (i, name) in names.iter().enumerate() {
            let bytes = source.read_blob(name)?;
            if self.put_blob(&bytes)? != *name {
                return Err(StoreError::Storage(format!(
                    "blob {name} changed while copied"
                )));
            }
            migrated.blobs += 1;
            if (i + 1) % 1000 == 0 {
                progress(&format!("blobs: {} of {}", i + 1, names.len()));
            }
        }
        progress(&format!("blobs: {} copied and checked", names.len()));
        for (table, columns) in TABLES {
            let n = self.copy_table(source, table, columns)?;
            progress(&format!("{table}: {n} rows"));
            migrated.rows.push((table.to_string(), n));
        }
        let n = self.copy_search(source)?;
        progress(&format!("search: {n} entries"));
        self.after_copy()?;
        Ok(migrated)
    }

    /// Copies one table's rows that are not here yet; returns the source's row count.
    fn copy_table(&self, source: &Store, table: &str, columns: &str) -> Result<u64, StoreError> {
        let placeholders: Vec<String> = (1..=columns.split(',').count())
            .map(|i| format!("?{i}"))
            .collect();
        let insert = format!(
            "INSERT INTO {table} ({columns}) VALUES ({}) ON CONFLICT DO NOTHING",
            placeholders.join(", ")
        );
        let select = format!("SELECT {columns} FROM {table}");
        self.copy_rows(source, &select, |tx, row| {
            let values: Vec<&dyn ToValue> =
                row.values().iter().map(|v| v as &dyn ToValue).collect();
            tx.execute(&insert, &values).map(|_| ())
        })
    }

    /// Copies the search entries that are not here yet, indexed the target's way.
    fn copy_search(&self, source: &Store) -> Result<u64, StoreError> {
        let select = "SELECT rowid, meta, body FROM search ORDER BY rowid";
        self.copy_rows(source, select, |tx, entry| {
            let rowid: i64 = entry.get(0)?;
            let present: bool = tx.one(
                "SELECT COUNT(*) > 0 FROM search WHERE rowid = ?1",
                args![rowid],
            )?;
            if present {
                return Ok(());
            }
            super::search::insert(tx, rowid, entry.text(1)?, entry.text(2)?)
        })
    }

    /// Streams the rows of `select` from `source` and writes each here with `write`, in
    /// transactions of [`CHUNK`] rows; returns the number of rows read.
    fn copy_rows(
        &self,
        source: &Store,
        select: &str,
        write: impl Fn(&mut dyn Sql, &Row) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let mut rows: Vec<Row> = Vec::with_capacity(CHUNK);
        let mut count = 0;
        let flush = |rows: &mut Vec<Row>| -> Result<(), StoreError> {
            index::write_durably(&mut self.db()?, |tx| {
                rows.iter().try_for_each(|row| write(tx, row))
            })?;
            rows.clear();
            Ok(())
        };
        source.db()?.each(select, args![], &mut |r| {
            count += 1;
            rows.push(r.clone());
            if rows.len() >= CHUNK {
                flush(&mut rows)?;
            }
            Ok(())
        })?;
        flush(&mut rows)?;
        Ok(count)
    }

    /// After explicit row ids: the next document gets an id above them.
    fn after_copy(&self) -> Result<(), StoreError> {
        if self.engine() == Engine::Postgres {
            self.db()?.execute(
                "SELECT setval(pg_get_serial_sequence('documents', 'rowid'),
                     (SELECT COALESCE(MAX(rowid), 0) + 1 FROM documents), false)",
                args![],
            )?;
        }
        Ok(())
    }
}
