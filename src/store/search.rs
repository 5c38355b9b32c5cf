//! Full-text search: Vietnamese folding and safe FTS5 queries.
//!
//! Indexed text and queries are folded the same way ([`fold`]), so "chung thuc", "CHỨNG
//! THỰC" and "chứng thực" are one word to the index. The user's query never reaches FTS5
//! syntax: every term becomes a quoted string (optionally a prefix with a trailing `*`).

use rusqlite::types::ToSql;
use rusqlite::Connection;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use super::index::{self, check_code, check_date};
use super::{Document, SearchQuery, StoreError};

/// At most this many terms of a query are used.
const MAX_TERMS: usize = 32;
/// Results returned when the query does not say.
const DEFAULT_LIMIT: u32 = 100;
/// Results returned at most.
const MAX_LIMIT: u32 = 1000;

/// Folds Vietnamese for search: lowercase, strip diacritics (NFD + drop combining marks),
/// đ/Đ → d (which Unicode decomposition leaves alone).
pub fn fold(text: &str) -> String {
    strip_marks(text).flat_map(char::to_lowercase).collect()
}

/// `text` without Vietnamese marks, case kept: NFD, combining marks dropped, and `đ/Đ →
/// d/D` (which Unicode does not decompose). The one place sohoa strips diacritics
/// (search folding, ASCII download names).
pub fn strip_marks(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars()
        .map(|c| match c {
            'đ' => 'd',
            'Đ' => 'D',
            c => c,
        })
        .nfd()
        .filter(|&c| !is_combining_mark(c))
}

/// The FTS5 query for the user's `text`: each term folded and quoted, all required;
/// `None` when no term has a letter or digit.
pub fn fts_query(text: &str) -> Option<String> {
    let folded: String = fold(text)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let terms: Vec<String> = folded
        .split_whitespace()
        .filter(|t| t.chars().any(char::is_alphanumeric))
        .take(MAX_TERMS)
        .map(|t| {
            let (body, prefix) = match t.strip_suffix('*') {
                Some(body) => (body, "*"),
                None => (t, ""),
            };
            format!("\"{}\"{prefix}", body.replace('"', "\"\""))
        })
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

/// What goes into the index for a document: its metadata and its text, folded.
pub fn index_text(kind: &str, title: &str, dossier: &str, procedure: &str) -> String {
    fold(&format!("{title} {kind} {dossier} {procedure}"))
}

/// Current documents matching every filter of `query`, best text matches first.
pub fn search(conn: &Connection, query: &SearchQuery) -> Result<Vec<Document>, StoreError> {
    let mut sql = String::new();
    let mut params: Vec<Box<dyn ToSql>> = Vec::new();
    let text = query.text.as_deref().filter(|t| !t.trim().is_empty());
    if let Some(text) = text {
        let Some(fts) = fts_query(text) else {
            return Ok(Vec::new());
        };
        sql.push_str("JOIN search ON search.rowid = v.rowid WHERE search MATCH ? AND ");
        params.push(Box::new(fts));
    } else {
        sql.push_str("WHERE ");
    }
    sql.push_str("v.superseded_by IS NULL");
    filters(query, &mut sql, &mut params)?;
    let order = if text.is_some() {
        " ORDER BY search.rank, v.rowid"
    } else {
        " ORDER BY v.rowid DESC"
    };
    sql.push_str(order);
    sql.push_str(" LIMIT ?");
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    params.push(Box::new(limit));
    let refs: Vec<&dyn ToSql> = params.iter().map(|p| p.as_ref()).collect();
    index::query_documents(conn, &sql, &refs)
}

/// Appends the metadata filters (checked) to `sql`.
fn filters(
    query: &SearchQuery,
    sql: &mut String,
    params: &mut Vec<Box<dyn ToSql>>,
) -> Result<(), StoreError> {
    let mut add = |clause: &str, value: String| {
        sql.push_str(clause);
        params.push(Box::new(value));
    };
    if let Some(id) = &query.citizen_id {
        index::check_citizen_id(id)?;
        add(" AND v.citizen_id = ?", id.clone());
    }
    let codes = [
        (
            &query.dossier_code,
            "dossier code",
            " AND v.dossier_code = ?",
        ),
        (
            &query.procedure_code,
            "procedure code",
            " AND v.procedure_code = ?",
        ),
        (&query.kind, "kind", " AND v.kind = ?"),
        (&query.agency, "agency code", " AND v.agency = ?"),
    ];
    for (value, what, clause) in codes {
        if let Some(value) = value {
            check_code(what, value)?;
            add(clause, value.clone());
        }
    }
    if let Some(from) = &query.from {
        check_date("from", from)?;
        add(" AND substr(v.created_at, 1, 10) >= ?", from.clone());
    }
    if let Some(to) = &query.to {
        check_date("to", to)?;
        add(" AND substr(v.created_at, 1, 10) <= ?", to.clone());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_diacritics_case_and_d_stroke() {
        assert_eq!(fold("Chứng THỰC"), "chung thuc");
        assert_eq!(fold("ĐĂNG KÝ đăng ký"), "dang ky dang ky");
        assert_eq!(fold("Giấy khai sinh ươ"), "giay khai sinh uo");
    }

    #[test]
    fn queries_are_quoted_terms() {
        assert_eq!(fts_query("Đăng ký").unwrap(), "\"dang\" \"ky\"");
        assert_eq!(fts_query("a\"b OR c*").unwrap(), "\"a\"\"b\" \"or\" \"c\"*");
        assert_eq!(fts_query("( ) \" * -"), None);
    }

    #[test]
    fn no_query_string_breaks_fts5() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE VIRTUAL TABLE t USING fts5(x); INSERT INTO t VALUES ('dang ky');",
        )
        .unwrap();
        let nasty = [
            "\"",
            "*",
            "NEAR(",
            "a AND",
            "x:y",
            "^a",
            "a'b",
            "(a) OR -b",
            "a\"*",
            "ký*",
            "\u{0}",
            "a\u{0}b",
            "dang ky",
        ];
        for q in nasty {
            if let Some(fts) = fts_query(q) {
                let n: i64 = conn
                    .query_row("SELECT count(*) FROM t WHERE t MATCH ?", [&fts], |r| {
                        r.get(0)
                    })
                    .unwrap_or_else(|e| panic!("{q:?} → {fts:?}: {e}"));
                assert!(n <= 1);
            }
        }
    }
}
