//! Reading documents: the columns of `document_view` and their files, turned into
//! [`Document`]s; the text forms of roles as the index stores them.

use super::sql::{Row, Sql, ToValue};
use super::{Document, FileRole, Role, StoreError, StoredFile};

/// The columns of `document_view v` that make a [`Document`], in [`row_document`] order.
const DOC_COLUMNS: &str = "v.rowid, v.id, v.sha256, v.kind, v.title, v.role, v.dossier_code, \
    v.procedure_code, v.citizen_id, v.agency, v.page_count, v.created_by, v.created_at, \
    v.valid_until, v.supersedes, v.superseded_by, v.reference";

/// Documents of `document_view v` selected by `tail` (joins, `WHERE`, `ORDER`, `LIMIT`).
pub fn query_documents(
    conn: &mut dyn Sql,
    tail: &str,
    params: &[&dyn ToValue],
) -> Result<Vec<Document>, StoreError> {
    let sql = format!("SELECT {DOC_COLUMNS} FROM document_view v {tail}");
    let rows = conn.query_map(&sql, params, row_document)?;
    let rowids: Vec<i64> = rows.iter().map(|(rowid, _)| *rowid).collect();
    let mut files = files_of(conn, &rowids)?;
    Ok(rows
        .into_iter()
        .map(|(rowid, mut doc)| {
            doc.files = files.remove(&rowid).unwrap_or_default();
            doc
        })
        .collect())
}

/// Documents whose files are read in one query.
const FILES_PER_QUERY: usize = 64;

/// The files of the documents `rowids`, in order, a few queries in all (not one per
/// document: each is a round trip to PostgreSQL).
fn files_of(
    conn: &mut dyn Sql,
    rowids: &[i64],
) -> Result<std::collections::HashMap<i64, Vec<StoredFile>>, StoreError> {
    let mut files: std::collections::HashMap<i64, Vec<StoredFile>> = Default::default();
    for chunk in rowids.chunks(FILES_PER_QUERY) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "SELECT doc, role, sha256, size, name FROM files WHERE doc IN ({}) ORDER BY doc, ord",
            marks.join(", ")
        );
        let args: Vec<&dyn ToValue> = chunk.iter().map(|r| r as &dyn ToValue).collect();
        conn.each(&sql, &args, &mut |r| {
            let file = StoredFile {
                role: parse_file_role(r.text(1)?),
                sha256: r.get(2)?,
                size: r.get(3)?,
                name: r.get(4)?,
            };
            files.entry(r.get(0)?).or_default().push(file);
            Ok(())
        })?;
    }
    Ok(files)
}

fn row_document(r: &Row) -> Result<(i64, Document), StoreError> {
    let role: String = r.get(5)?;
    let doc = Document {
        id: r.get(1)?,
        sha256: r.get(2)?,
        kind: r.get(3)?,
        title: r.get(4)?,
        role: if role == "result" {
            Role::Result
        } else {
            Role::Component
        },
        dossier_code: r.get(6)?,
        procedure_code: r.get(7)?,
        citizen_id: r.get(8)?,
        agency: r.get(9)?,
        page_count: r.get(10)?,
        created_by: r.get(11)?,
        created_at: r.get(12)?,
        valid_until: r.get(13)?,
        supersedes: r.get(14)?,
        superseded_by: r.get(15)?,
        reference: r.get(16)?,
        files: Vec::new(),
    };
    Ok((r.get(0)?, doc))
}

pub fn role_text(role: Role) -> &'static str {
    match role {
        Role::Component => "component",
        Role::Result => "result",
    }
}

pub fn file_role_text(role: FileRole) -> &'static str {
    match role {
        FileRole::Pdf => "pdf",
        FileRole::Certified => "certified",
        FileRole::Original => "original",
        FileRole::Text => "text",
        FileRole::Report => "report",
        FileRole::Renewed => "renewed",
    }
}

pub fn parse_file_role(text: &str) -> FileRole {
    match text {
        "certified" => FileRole::Certified,
        "renewed" => FileRole::Renewed,
        "original" => FileRole::Original,
        "text" => FileRole::Text,
        "report" => FileRole::Report,
        _ => FileRole::Pdf,
    }
}
