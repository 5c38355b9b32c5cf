//! Full-text search: Vietnamese folding and safe FTS5 queries.
//!
//! Indexed text and queries are folded the same way ([`fold`]), so "chung thuc", "CHỨNG
//! THỰC" and "chứng thực" are one word to the index. The user's query never reaches FTS5
//! syntax: every term becomes a quoted string (optionally a prefix with a trailing `*`).

use super::sql::{args, Engine, Sql, ToValue, Value};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use super::{Document, SearchQuery, StoreError};
use crate::values::check_code;

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

/// The terms of the user's `text`: folded, split at white space (control characters
/// count as space), those with a letter or digit, at most [`MAX_TERMS`]; each with
/// whether it ends in `*` (a prefix), that `*` removed.
fn terms(text: &str) -> Vec<(String, bool)> {
    let folded: String = fold(text)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    folded
        .split_whitespace()
        .filter(|t| t.chars().any(char::is_alphanumeric))
        .take(MAX_TERMS)
        .map(|t| match t.strip_suffix('*') {
            Some(body) => (body.to_string(), true),
            None => (t.to_string(), false),
        })
        .collect()
}

/// The FTS5 query for the user's `text`: each term folded and quoted, all required;
/// `None` when no term has a letter or digit.
pub fn fts_query(text: &str) -> Option<String> {
    let terms: Vec<String> = terms(text)
        .into_iter()
        .map(|(body, prefix)| {
            let star = if prefix { "*" } else { "" };
            format!("\"{}\"{star}", body.replace('"', "\"\""))
        })
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

/// What goes into the index for a document: its metadata and its text, folded.
pub fn index_text(kind: &str, title: &str, dossier: &str, procedure: &str) -> String {
    fold(&format!("{title} {kind} {dossier} {procedure}"))
}

/// The terms of the user's `text` for PostgreSQL's `to_tsquery('simple', …)`: each
/// term's words (letters and digits only, so no query syntax gets through) as a phrase
/// (`<->`), a trailing `*` as a prefix match (`:*`), all terms required (`&`); `None` when
/// no term has a letter or digit. The same terms as [`fts_query`] gives SQLite.
pub fn ts_query(text: &str) -> Option<String> {
    let terms: Vec<String> = terms(text)
        .into_iter()
        .map(|(body, prefix)| {
            let words: Vec<&str> = words(&body).collect();
            format!(
                "({}{})",
                words.join(" <-> "),
                if prefix { ":*" } else { "" }
            )
        })
        .collect();
    (!terms.is_empty()).then(|| terms.join(" & "))
}

/// The words of folded text as SQLite's `unicode61` tokenizer splits them: runs of
/// letters and digits.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// Adds document `rowid`'s folded metadata and text to the search index.
pub fn insert(tx: &mut dyn Sql, rowid: i64, meta: &str, body: &str) -> Result<(), StoreError> {
    match tx.engine() {
        Engine::Sqlite => tx.execute(
            "INSERT INTO search (rowid, meta, body) VALUES (?1, ?2, ?3)",
            args![rowid, meta, body],
        )?,
        Engine::Postgres => {
            // PostgreSQL's parser would read "h35.12-0001" as one host name or number: it
            // gets the words as SQLite sees them instead, one by one.
            let terms: Vec<&str> = words(meta).chain(words(body)).collect();
            tx.execute(
                "INSERT INTO search (rowid, meta, body, terms)
                 VALUES (?1, ?2, ?3, to_tsvector('simple', ?4))",
                args![rowid, meta, body, terms.join(" ")],
            )?
        }
    };
    Ok(())
}

/// Current documents matching every filter of `query`, best text matches first.
pub fn search(conn: &mut dyn Sql, query: &SearchQuery) -> Result<Vec<Document>, StoreError> {
    let mut sql = String::new();
    let mut params: Vec<Value> = Vec::new();
    let text = query.text.as_deref().filter(|t| !t.trim().is_empty());
    let engine = conn.engine();
    if let Some(text) = text {
        let (query, clause) = match engine {
            Engine::Sqlite => (
                fts_query(text),
                "JOIN search ON search.rowid = v.rowid WHERE search MATCH ? AND ",
            ),
            Engine::Postgres => (
                ts_query(text),
                "JOIN search ON search.rowid = v.rowid \
                 WHERE search.terms @@ to_tsquery('simple', ?) AND ",
            ),
        };
        let Some(query) = query else {
            return Ok(Vec::new());
        };
        sql.push_str(clause);
        params.push(Value::Text(query));
    } else {
        sql.push_str("WHERE ");
    }
    sql.push_str("v.superseded_by IS NULL");
    filters(query, &mut sql, &mut params)?;
    let order = match (text.is_some(), engine) {
        (true, Engine::Sqlite) => " ORDER BY search.rank, v.rowid",
        (true, Engine::Postgres) => {
            params.push(params[0].clone());
            " ORDER BY ts_rank(search.terms, to_tsquery('simple', ?)) DESC, v.rowid"
        }
        (false, _) => " ORDER BY v.rowid DESC",
    };
    sql.push_str(order);
    sql.push_str(" LIMIT ?");
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    params.push(Value::Int(limit.into()));
    let refs: Vec<&dyn ToValue> = params.iter().map(|p| p as &dyn ToValue).collect();
    super::rows::query_documents(conn, &sql, &refs)
}

/// Appends the metadata filters (checked) to `sql`.
fn filters(
    query: &SearchQuery,
    sql: &mut String,
    params: &mut Vec<Value>,
) -> Result<(), StoreError> {
    let mut add = |clause: &str, value: String| {
        sql.push_str(clause);
        params.push(Value::Text(value));
    };
    if let Some(id) = &query.citizen_id {
        add(" AND v.citizen_id = ?", id.to_string());
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
        add(" AND substr(v.created_at, 1, 10) >= ?", from.to_string());
    }
    if let Some(to) = &query.to {
        add(" AND substr(v.created_at, 1, 10) <= ?", to.to_string());
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
    fn tsqueries_are_words_only() {
        assert_eq!(ts_query("Đăng ký").unwrap(), "(dang) & (ky)");
        assert_eq!(
            ts_query("H35.12-0001 a\"b* (x)|!y").unwrap(),
            "(h35 <-> 12 <-> 0001) & (a <-> b:*) & (x <-> y)"
        );
        assert_eq!(ts_query("( ) \" * -"), None);
    }

    #[test]
    fn no_query_string_breaks_fts5() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
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
