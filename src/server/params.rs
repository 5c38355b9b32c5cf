//! Query parameters and their checks. Every value from a request is checked here before
//! it reaches the store; ids and hashes are checked against a strict alphabet, so
//! nothing path-like ever gets near the filesystem.

use axum::http::HeaderMap;
use serde::Deserialize;

use super::errors::ApiError;
use crate::store::{Role, SearchQuery};

/// Longest free-text value accepted (codes, kinds, titles, references, purposes).
const MAX_TEXT: usize = 512;
/// Most results a search may ask for.
pub const MAX_LIMIT: u32 = 1000;

/// `GET /api/v1/documents`: exactly one of the keys, `kind` only with `citizen_id`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    /// Personal ID (12 digits).
    pub citizen_id: Option<String>,
    /// Kind, with `citizen_id`.
    pub kind: Option<String>,
    /// Dossier code.
    pub dossier_code: Option<String>,
    /// SHA-256 of a stored file.
    pub sha256: Option<String>,
    /// Verification reference (QR content) of a certified copy.
    pub reference: Option<String>,
    /// Purpose of the access (or the `X-Purpose` header).
    pub purpose: Option<String>,
}

/// `GET /api/v1/search`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Search {
    /// Full text.
    pub q: Option<String>,
    /// Personal ID.
    pub citizen_id: Option<String>,
    /// Kind.
    pub kind: Option<String>,
    /// Procedure code.
    pub procedure: Option<String>,
    /// Dossier code.
    pub dossier_code: Option<String>,
    /// Agency code.
    pub agency: Option<String>,
    /// Stored on or after (YYYY-MM-DD).
    pub from: Option<String>,
    /// Stored on or before (YYYY-MM-DD).
    pub to: Option<String>,
    /// At most this many results (default 100, at most 1000).
    pub limit: Option<u32>,
    /// Purpose of the access.
    pub purpose: Option<String>,
}

/// Only a purpose (document and file reads).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurposeOnly {
    /// Purpose of the access.
    pub purpose: Option<String>,
}

/// `GET /api/v1/reuse` parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reuse {
    /// The person's personal ID.
    pub citizen_id: String,
    /// Procedure code.
    pub procedure: String,
    /// The day the documents must be usable on (default: today).
    pub at: Option<String>,
    /// Purpose of the access.
    pub purpose: Option<String>,
}

/// `POST /api/v1/dossiers/{code}/documents` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attach {
    /// The stored document to reuse.
    pub document_id: String,
    /// Procedure of the dossier, when it is new.
    pub procedure_code: Option<String>,
    /// Purpose recorded in the audit log (default "reuse").
    pub purpose: Option<String>,
}

/// Metadata of an ingested document (query parameters with a PDF body, or JSON fields).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestMeta {
    /// Dossier code.
    pub dossier_code: String,
    /// Procedure code.
    pub procedure_code: String,
    /// Personal ID.
    pub citizen_id: String,
    /// Kind.
    pub kind: String,
    /// Title.
    pub title: String,
    /// `component` (default) or `result`.
    pub role: Option<String>,
    /// End of validity (YYYY-MM-DD).
    pub valid_until: Option<String>,
    /// Id of the document this one corrects.
    pub supersedes: Option<String>,
    /// File name for downloads (default `document.pdf`).
    pub file_name: Option<String>,
    /// Verification reference, when the PDF is a certified copy and it cannot be read from it.
    pub reference: Option<String>,
    /// Purpose (recorded in the audit log; default `ingest`).
    pub purpose: Option<String>,
}

/// A JSON ingest body: `{"metadata": {...}, "pdf_base64": "..."}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestJson {
    /// Metadata.
    pub metadata: IngestMeta,
    /// The PDF, standard base64.
    pub pdf_base64: String,
}

/// A 12-digit personal ID.
pub fn citizen_id(value: &str) -> Result<String, ApiError> {
    if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(value.to_string())
    } else {
        Err(ApiError::bad_request(
            "citizen_id must be exactly 12 digits (số định danh cá nhân)",
        ))
    }
}

/// A SHA-256 in hex (either case), returned in lowercase.
pub fn sha256(value: &str) -> Result<String, ApiError> {
    if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(ApiError::bad_request(
            "sha256 must be 64 hexadecimal digits",
        ))
    }
}

/// A document id as the store makes them (26 characters a-z, 2-7).
pub fn document_id(value: &str) -> Result<&str, ApiError> {
    if crate::store::is_id(value) {
        Ok(value)
    } else {
        Err(ApiError::bad_request("malformed document id"))
    }
}

/// A free-text value: not blank, at most 512 characters, no control characters.
pub fn text(name: &str, value: &str) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > MAX_TEXT || value.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "{name} must be 1 to {MAX_TEXT} characters without control characters"
        )));
    }
    Ok(value.to_string())
}

/// A calendar date, `YYYY-MM-DD`.
pub fn date(name: &str, value: &str) -> Result<String, ApiError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(value, &format)
        .map(|_| value.to_string())
        .map_err(|_| ApiError::bad_request(format!("{name} must be a date YYYY-MM-DD")))
}

/// `component` or `result`.
pub fn role(value: Option<&str>) -> Result<Role, ApiError> {
    match value {
        None | Some("component") => Ok(Role::Component),
        Some("result") => Ok(Role::Result),
        Some(_) => Err(ApiError::bad_request("role must be component or result")),
    }
}

fn opt(
    value: Option<&str>,
    check: impl Fn(&str) -> Result<String, ApiError>,
) -> Result<Option<String>, ApiError> {
    value.map(check).transpose()
}

/// The store query for a search request.
pub fn search_query(s: &Search) -> Result<SearchQuery, ApiError> {
    let limit = s.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad_request(format!(
            "limit must be 1 to {MAX_LIMIT}"
        )));
    }
    let query = SearchQuery {
        text: opt(s.q.as_deref(), |v| text("q", v))?,
        citizen_id: opt(s.citizen_id.as_deref(), citizen_id)?,
        dossier_code: opt(s.dossier_code.as_deref(), |v| text("dossier_code", v))?,
        procedure_code: opt(s.procedure.as_deref(), |v| text("procedure", v))?,
        kind: opt(s.kind.as_deref(), |v| text("kind", v))?,
        agency: opt(s.agency.as_deref(), |v| text("agency", v))?,
        from: opt(s.from.as_deref(), |v| date("from", v))?,
        to: opt(s.to.as_deref(), |v| date("to", v))?,
        limit: Some(limit),
    };
    let filtered = query.text.is_some()
        || query.citizen_id.is_some()
        || query.dossier_code.is_some()
        || query.procedure_code.is_some()
        || query.kind.is_some()
        || query.agency.is_some();
    if !filtered {
        return Err(ApiError::bad_request(
            "give q or at least one of citizen_id, dossier_code, procedure, kind, agency",
        ));
    }
    Ok(query)
}

/// The purpose of a personal-data read: the `X-Purpose` header (UTF-8) or the
/// `purpose` query parameter; 400 when neither is given.
pub fn purpose(headers: &HeaderMap, query: Option<&str>) -> Result<String, ApiError> {
    let header = headers
        .get("x-purpose")
        .map(|v| std::str::from_utf8(v.as_bytes()))
        .transpose()
        .map_err(|_| ApiError::bad_request("X-Purpose must be UTF-8"))?;
    match header.or(query) {
        Some(p) => text("purpose", p),
        None => Err(ApiError::bad_request(
            "a purpose is required: give the X-Purpose header or the purpose parameter",
        )),
    }
}
