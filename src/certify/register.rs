//! The certification register (sổ chứng thực): numbers per book and year, unique and
//! gapless across processes, in SQLite (WAL mode) or, shared by several machines, in
//! PostgreSQL.
//!
//! A number is taken inside an immediate (write-locking) transaction that stays open
//! while the copy is stamped and signed; the entry is inserted and committed only when
//! that work succeeded, so a failed signing burns no number, and two clerks (two
//! processes) never get the same one. If the signed file then cannot be put in place,
//! the entry is marked void with the reason: the gap is recorded, never silent.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;
use serde::Serialize;

use crate::store::sql::{args, Engine, PgConn, Row, Sql};
use crate::store::StoreError;

/// File name of the register database inside the register folder.
pub const REGISTER_FILE: &str = "register.sqlite";

/// Why the register could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// The database failed (locked for too long, disk full, corrupt file, PostgreSQL
    /// unreachable…).
    #[error("register: {0}")]
    Database(#[from] StoreError),
    /// The register folder could not be created.
    #[error("register folder {0}: {1}")]
    Folder(String, std::io::Error),
}

impl From<rusqlite::Error> for RegisterError {
    fn from(e: rusqlite::Error) -> RegisterError {
        RegisterError::Database(e.into())
    }
}

/// One certification as recorded.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Year of the book.
    pub year: i32,
    /// Book (quyển số).
    pub book: String,
    /// Number in the book.
    pub number: u64,
    /// `issued` or `void`.
    pub status: String,
    /// When it was certified (RFC 3339).
    pub certified_at: String,
    /// The certifying official.
    pub certifier: String,
    /// The agency.
    pub agency: String,
    /// Subject of the signing certificate.
    pub signer: String,
    /// SHA-256 of the document that was certified.
    pub input_sha256: String,
    /// SHA-256 of the certified copy.
    pub output_sha256: String,
    /// Verification reference printed in the QR code.
    pub reference: String,
    /// Why an entry is void.
    pub note: Option<String>,
    /// What the legal certification register records besides (who asked, for what).
    pub details: Details,
}

/// The legal register form's columns about the request: requester, the original's
/// title, copies issued and the fee.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Details {
    /// The person who asked for the copy (người yêu cầu chứng thực).
    pub requester: Option<String>,
    /// Title of the original document (tên giấy tờ, văn bản).
    pub original_title: Option<String>,
    /// Copies certified under this entry (số bản).
    pub copies: u32,
    /// Fee charged, in đồng (lệ phí).
    pub fee_vnd: Option<u64>,
}

/// The register database: SQLite in the register folder, or a PostgreSQL database
/// shared by several machines (`postgres://…` given instead of a folder).
pub struct Register {
    conn: Box<dyn Sql + Send>,
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS certification (
    year INTEGER NOT NULL,
    book TEXT NOT NULL,
    number BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('issued', 'void')),
    certified_at TEXT NOT NULL,
    certifier TEXT NOT NULL,
    agency TEXT NOT NULL,
    signer TEXT NOT NULL,
    input_sha256 TEXT NOT NULL,
    output_sha256 TEXT NOT NULL,
    reference TEXT NOT NULL,
    note TEXT,
    requester TEXT,
    original_title TEXT,
    copies BIGINT NOT NULL DEFAULT 1,
    fee_vnd BIGINT,
    PRIMARY KEY (year, book, number)
);
CREATE INDEX IF NOT EXISTS certification_output ON certification (output_sha256);";

/// Whether `target` names a PostgreSQL register rather than a folder.
fn postgres_url(target: &Path) -> Option<&str> {
    target
        .to_str()
        .filter(|t| t.starts_with("postgres://") || t.starts_with("postgresql://"))
}

impl Register {
    /// Opens (creating when needed) the register in folder `target`, or in the
    /// PostgreSQL database `target` names (`postgres://…`).
    pub fn open(target: &Path) -> Result<Register, RegisterError> {
        if let Some(url) = postgres_url(target) {
            let mut conn = PgConn::connect(url)?;
            // Two machines creating the table at once take turns.
            let sql: &mut dyn Sql = &mut conn;
            sql.batch("BEGIN")?;
            sql.execute(
                "SELECT pg_advisory_xact_lock(?1)",
                args![lock_key("schema", "")],
            )?;
            sql.batch(SCHEMA)?;
            sql.batch("COMMIT")?;
            return Ok(Register {
                conn: Box::new(conn),
            });
        }
        crate::private_files::create_dir(target)
            .map_err(|e| RegisterError::Folder(target.display().to_string(), e))?;
        let path = target.join(REGISTER_FILE);
        crate::private_files::create_file(&path)
            .map_err(|e| RegisterError::Folder(path.display().to_string(), e))?;
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(60))?;
        crate::store::use_wal(&conn, Duration::from_secs(60))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        create_schema(&mut conn)?;
        Ok(Register {
            conn: Box::new(conn),
        })
    }

    /// Takes the next number of `book` in `year` and runs `issue` with it while holding
    /// the book's write lock (SQLite: the database's; PostgreSQL: an advisory lock of that
    /// year and book, so other books go on). The entry `issue` returns is recorded only
    /// when it succeeds (its year, book and number are set to the ones taken); on error
    /// nothing is recorded and the number stays free.
    pub fn issue_next<T, E>(
        &mut self,
        year: i32,
        book: &str,
        issue: impl FnOnce(u64) -> Result<(T, Entry), E>,
    ) -> Result<Result<T, E>, RegisterError> {
        let sql = self.conn.as_mut() as &mut dyn Sql;
        match sql.engine() {
            Engine::Sqlite => sql.batch("BEGIN IMMEDIATE")?,
            Engine::Postgres => {
                sql.batch("BEGIN")?;
                let key = lock_key(&year.to_string(), book);
                if let Err(e) = sql.execute("SELECT pg_advisory_xact_lock(?1)", args![key]) {
                    let _ = sql.batch("ROLLBACK");
                    return Err(e.into());
                }
            }
        }
        let result = next_number(sql, year, book).and_then(|number| match issue(number) {
            Ok((value, mut entry)) => {
                (entry.year, entry.book, entry.number) = (year, book.to_string(), number);
                insert(sql, &entry)?;
                sql.batch("COMMIT")?;
                Ok(Ok(value))
            }
            Err(e) => Ok(Err(e)),
        });
        if !matches!(result, Ok(Ok(_))) {
            let _ = sql.batch("ROLLBACK");
        }
        result
    }

    /// Marks an issued entry void, keeping it in the register with the reason.
    pub fn void(
        &mut self,
        year: i32,
        book: &str,
        number: u64,
        reason: &str,
    ) -> Result<(), RegisterError> {
        self.sql().execute(
            "UPDATE certification SET status = 'void', note = ?4 WHERE year = ?1 AND book = ?2 AND number = ?3",
            args![year, book, number, reason],
        )?;
        Ok(())
    }

    /// All entries of a book in a year, by number.
    pub fn entries(&mut self, year: i32, book: &str) -> Result<Vec<Entry>, RegisterError> {
        let sql = format!("{SELECT_ENTRY} WHERE year = ?1 AND book = ?2 ORDER BY number");
        Ok(self.sql().query_map(&sql, args![year, book], row_entry)?)
    }

    /// Opens the register in `target` only when one exists there (for look-ups); a
    /// PostgreSQL register always does.
    pub fn open_existing(target: &Path) -> Result<Option<Register>, RegisterError> {
        if postgres_url(target).is_none() && !target.join(REGISTER_FILE).exists() {
            return Ok(None);
        }
        Register::open(target).map(Some)
    }

    /// The issued (not void) entry whose certified copy has this SHA-256 (hex, lowercase).
    pub fn issued_copy(&mut self, output_sha256: &str) -> Result<Option<Entry>, RegisterError> {
        let sql = format!(
            "{SELECT_ENTRY} WHERE output_sha256 = ?1 AND status = 'issued' ORDER BY year, book, number LIMIT 1"
        );
        Ok(self
            .sql()
            .query_opt(&sql, args![output_sha256], row_entry)?)
    }

    /// Entry `number` of a book in a year, if it exists.
    pub fn entry(
        &mut self,
        year: i32,
        book: &str,
        number: u64,
    ) -> Result<Option<Entry>, RegisterError> {
        let sql = format!("{SELECT_ENTRY} WHERE year = ?1 AND book = ?2 AND number = ?3");
        Ok(self
            .sql()
            .query_opt(&sql, args![year, book, number], row_entry)?)
    }

    fn sql(&mut self) -> &mut dyn Sql {
        self.conn.as_mut()
    }
}

/// The PostgreSQL advisory lock of a register book (and of the schema, when created).
fn lock_key(year: &str, book: &str) -> i64 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("sohoa-register/{year}/{book}").as_bytes());
    i64::from_be_bytes(digest[..8].try_into().unwrap_or_default())
}

/// The number after the book's last one (1 for a new book).
fn next_number(sql: &mut dyn Sql, year: i32, book: &str) -> Result<u64, RegisterError> {
    let last: Option<u64> = sql.one(
        "SELECT MAX(number) FROM certification WHERE year = ?1 AND book = ?2",
        args![year, book],
    )?;
    Ok(last.map_or(1, |n| n + 1))
}

/// The legal form's columns, added to registers made before them.
const DETAIL_COLUMNS: [(&str, &str); 4] = [
    ("requester", "TEXT"),
    ("original_title", "TEXT"),
    ("copies", "INTEGER NOT NULL DEFAULT 1"),
    ("fee_vnd", "INTEGER"),
];

/// Adds the missing columns under the write lock, so that clerks opening an old
/// register at the same moment do not both add them.
/// Creates the tables and adds the detail columns older registers lack, in one write
/// transaction taken up front: clerks opening a new register at the same moment then
/// wait their turn (a statement that reads before it writes would fail as "database is
/// locked" when another clerk wrote in between, without waiting).
fn create_schema(conn: &mut Connection) -> Result<(), RegisterError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute_batch(SCHEMA)?;
    let names: Vec<String> = tx
        .prepare("SELECT name FROM pragma_table_info('certification')")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for (name, kind) in DETAIL_COLUMNS {
        if !names.iter().any(|n| n == name) {
            tx.execute_batch(&format!(
                "ALTER TABLE certification ADD COLUMN {name} {kind}"
            ))?;
        }
    }
    tx.commit()?;
    Ok(())
}

const SELECT_ENTRY: &str = "SELECT year, book, number, status, certified_at, certifier, agency,
    signer, input_sha256, output_sha256, reference, note, requester, original_title, copies,
    fee_vnd FROM certification";

fn row_entry(r: &Row) -> Result<Entry, StoreError> {
    Ok(Entry {
        year: r.get(0)?,
        book: r.get(1)?,
        number: r.get(2)?,
        status: r.get(3)?,
        certified_at: r.get(4)?,
        certifier: r.get(5)?,
        agency: r.get(6)?,
        signer: r.get(7)?,
        input_sha256: r.get(8)?,
        output_sha256: r.get(9)?,
        reference: r.get(10)?,
        note: r.get(11)?,
        details: Details {
            requester: r.get(12)?,
            original_title: r.get(13)?,
            copies: r.get::<i64>(14)?.clamp(0, i64::from(u32::MAX)) as u32,
            fee_vnd: r.get::<Option<i64>>(15)?.map(|f| f.max(0) as u64),
        },
    })
}

fn insert(sql: &mut dyn Sql, e: &Entry) -> Result<(), RegisterError> {
    sql.execute(
        "INSERT INTO certification (year, book, number, status, certified_at, certifier, agency, signer,
                                    input_sha256, output_sha256, reference, note, requester,
                                    original_title, copies, fee_vnd)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        args![
            e.year,
            e.book,
            e.number,
            e.status,
            e.certified_at,
            e.certifier,
            e.agency,
            e.signer,
            e.input_sha256,
            e.output_sha256,
            e.reference,
            e.note,
            e.details.requester,
            e.details.original_title,
            e.details.copies.max(1),
            e.details.fee_vnd.map(|f| f.min(i64::MAX as u64))
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(number: u64) -> Entry {
        Entry {
            year: 2026,
            book: "01".into(),
            number,
            status: "issued".into(),
            certified_at: "2026-11-26T10:00:00Z".into(),
            certifier: "Nguyễn Văn An".into(),
            agency: "UBND xã Thử Nghiệm".into(),
            signer: "CN=Nguyễn Văn An".into(),
            input_sha256: "00".repeat(32),
            output_sha256: "11".repeat(32),
            reference: format!("SOHOA1:2026-01-{number}"),
            note: None,
            details: Details {
                requester: Some("Lò Thị Mai".into()),
                original_title: Some("Giấy khai sinh".into()),
                copies: 2,
                fee_vnd: Some(4000),
            },
        }
    }

    /// The test register of `dir`: the folder, or a PostgreSQL schema of its own when
    /// `SOHOA_TEST_POSTGRES` is set.
    fn test_register(dir: &Path) -> Register {
        match crate::store::test_backends(dir).index {
            Some(url) => Register::open(Path::new(&url)).unwrap(),
            None => Register::open(dir).unwrap(),
        }
    }

    #[test]
    fn numbers_are_gapless_and_a_failure_burns_none() {
        let dir = tempfile::tempdir().unwrap();
        let mut register = test_register(dir.path());
        let first = register
            .issue_next(2026, "01", |n| Ok::<_, String>((n, entry(n))))
            .unwrap()
            .unwrap();
        let failed = register
            .issue_next(2026, "01", |_| {
                Err::<(u64, Entry), _>("signing failed".to_string())
            })
            .unwrap();
        let second = register
            .issue_next(2026, "01", |n| Ok::<_, String>((n, entry(n))))
            .unwrap()
            .unwrap();
        assert_eq!((first, second), (1, 2));
        assert!(failed.is_err());
        let other_book = register
            .issue_next(2026, "02", |n| Ok::<_, String>((n, entry(n))))
            .unwrap()
            .unwrap();
        assert_eq!(other_book, 1);
        register
            .void(2026, "01", 2, "file could not be written")
            .unwrap();
        let entries = register.entries(2026, "01").unwrap();
        assert_eq!(
            entries
                .iter()
                .map(|e| (e.number, e.status.as_str()))
                .collect::<Vec<_>>(),
            vec![(1, "issued"), (2, "void")]
        );
        assert_eq!(entries[0].details, entry(1).details);
    }

    #[test]
    fn a_register_from_before_the_detail_columns_gains_them() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join(REGISTER_FILE)).unwrap();
        conn.execute_batch(
            "CREATE TABLE certification (year INTEGER NOT NULL, book TEXT NOT NULL,
                number INTEGER NOT NULL, status TEXT NOT NULL, certified_at TEXT NOT NULL,
                certifier TEXT NOT NULL, agency TEXT NOT NULL, signer TEXT NOT NULL,
                input_sha256 TEXT NOT NULL, output_sha256 TEXT NOT NULL, reference TEXT NOT NULL,
                note TEXT, PRIMARY KEY (year, book, number));
             INSERT INTO certification VALUES (2026, '01', 1, 'issued', '2026-01-01T00:00:00Z',
                'A', 'B', 'C', 'x', 'y', 'SOHOA1:2026-01-1:00', NULL);",
        )
        .unwrap();
        drop(conn);
        let mut register = Register::open(dir.path()).unwrap();
        let old = &register.entries(2026, "01").unwrap()[0];
        assert_eq!(old.details.copies, 1);
        assert_eq!(old.details.requester, None);
    }
}
