//! Moving up: an embedded store copied into shared backends (PostgreSQL + S3), every
//! blob re-hashed on the way, every row kept as it is (document row ids included, so the
//! files and search entries still point at their documents), the audit chain checked at
//! the end. Each table is copied in chunks that skip rows already there, so an
//! interrupted migration is simply run again.

use super::index;
use super::sql::{args, Engine, ToValue, Value};
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
        let mut rows: Vec<Vec<Value>> = Vec::new();
        let mut count = 0;
        let select = format!("SELECT {columns} FROM {table}");
        let placeholders: Vec<String> = (1..=columns.split(',').count())
            .map(|i| format!("?{i}"))
            .collect();
        let insert = format!(
            "INSERT INTO {table} ({columns}) VALUES ({}) ON CONFLICT DO NOTHING",
            placeholders.join(", ")
        );
        let flush = |rows: &mut Vec<Vec<Value>>| -> Result<(), StoreError> {
            index::write_durably(&mut self.db()?, |tx| {
                for row in rows.iter() {
                    let values: Vec<&dyn ToValue> = row.iter().map(|v| v as &dyn ToValue).collect();
                    tx.execute(&insert, &values)?;
                }
                Ok(())
            })?;
            rows.clear();
            Ok(())
        };
        let mut pending_error = None;
        source
            .db()?
            .each(&select, args![], &mut |r| {
                count += 1;
                rows.push(
                    (0..placeholders.len())
                        .map(|i| r.get::<Value>(i))
                        .collect::<Result<_, _>>()?,
                );
                if rows.len() >= CHUNK {
                    if let Err(e) = flush(&mut rows) {
                        pending_error = Some(e);
                        return Err(StoreError::Storage("stopped".into()));
                    }
                }
                Ok(())
            })
            .map_err(|e| pending_error.take().unwrap_or(e))?;
        flush(&mut rows)?;
        Ok(count)
    }

    /// Copies the search entries, indexed the target's way.
    fn copy_search(&self, source: &Store) -> Result<u64, StoreError> {
        let entries: Vec<(i64, String, String)> = source.db()?.query_map(
            "SELECT rowid, meta, body FROM search ORDER BY rowid",
            args![],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        for chunk in entries.chunks(CHUNK) {
            index::write_durably(&mut self.db()?, |tx| {
                for (rowid, meta, body) in chunk {
                    let present: bool = tx.one(
                        "SELECT COUNT(*) > 0 FROM search WHERE rowid = ?1",
                        args![rowid],
                    )?;
                    if !present {
                        super::search::insert(tx, *rowid, meta, body)?;
                    }
                }
                Ok(())
            })?;
        }
        Ok(entries.len() as u64)
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
