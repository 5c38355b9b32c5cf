//! Renewed certified copies: the same copy with fresh validation data and a new
//! document timestamp appended (PAdES B-LTA renewal). A renewal is kept as a further
//! `renewed` file of the document — never a replacement: every earlier version stays,
//! and each renewal must extend the previous version byte for byte (an incremental
//! update), so the signed revision is untouched.

use super::sql::{args, Sql};

use super::{FileRole, StoreError, StoredFile};

/// The current version of every certified copy: per document (by id), its newest
/// `renewed` file, else its `certified` one; in storing order.
pub fn current_copies(conn: &mut dyn Sql) -> Result<Vec<(String, StoredFile)>, StoreError> {
    let rows = conn.query_map(
        "SELECT d.id, f.role, f.sha256, f.size, f.name FROM files f \
         JOIN documents d ON d.rowid = f.doc \
         WHERE f.role IN ('certified', 'renewed') ORDER BY f.doc, f.ord",
        args![],
        |r| {
            Ok((
                r.get::<String>(0)?,
                StoredFile {
                    role: super::rows::parse_file_role(&r.get::<String>(1)?),
                    sha256: r.get(2)?,
                    size: r.get(3)?,
                    name: r.get(4)?,
                },
            ))
        },
    )?;
    let mut copies: Vec<(String, StoredFile)> = Vec::new();
    for (id, file) in rows {
        match copies.last_mut() {
            Some(last) if last.0 == id => last.1 = file,
            _ => copies.push((id, file)),
        }
    }
    Ok(copies)
}

/// Adds `renewed` as the newest version of document `id`'s copy, provided the current
/// version is still `previous` (another renewal did not come first).
pub fn insert(
    tx: &mut dyn Sql,
    id: &str,
    previous: &str,
    renewed: &StoredFile,
) -> Result<(), StoreError> {
    let current: Option<(i64, String, i64)> = tx.query_opt(
        "SELECT f.doc, f.sha256, (SELECT MAX(ord) FROM files WHERE doc = f.doc) \
             FROM files f JOIN documents d ON d.rowid = f.doc \
             WHERE d.id = ?1 AND f.role IN ('certified', 'renewed') \
             ORDER BY f.ord DESC LIMIT 1",
        args![id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let Some((doc, current, last_ord)) = current else {
        return Err(StoreError::NotFound(format!(
            "document {id} has no certified copy"
        )));
    };
    if current != previous {
        return Err(StoreError::Invalid(format!(
            "the copy of document {id} was renewed meanwhile"
        )));
    }
    tx.execute(
        "INSERT INTO files (doc, ord, role, sha256, size, name) VALUES (?1, ?2, 'renewed', ?3, ?4, ?5)",
        args![doc, last_ord + 1, renewed.sha256, renewed.size, renewed.name],
    )?;
    Ok(())
}

/// Whether `renewed` may follow `previous`: it extends it (an incremental update).
pub fn check_extends(previous: &[u8], renewed: &[u8]) -> Result<(), StoreError> {
    if renewed.len() > previous.len() && renewed.starts_with(previous) {
        Ok(())
    } else {
        Err(StoreError::Invalid(
            "a renewal must extend the stored copy (an incremental update of it)".into(),
        ))
    }
}

/// The role a renewal is stored under.
pub const ROLE: FileRole = FileRole::Renewed;
