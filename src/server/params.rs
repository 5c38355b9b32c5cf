//! Query parameters and their checks. Every value from a request is checked before it
//! reaches the store: ids, hashes, dates and references by their types in
//! [`crate::values`] as they are deserialized, codes and free text here by the same rules
//! the store applies. Nothing path-like ever gets near the filesystem.

use axum::http::HeaderMap;
use serde::Deserialize;

use super::errors::ApiError;
use crate::store::{Role, SearchQuery};
use crate::values::{self, CitizenId, Date, DocumentId, Invalid, Reference, Sha256, Title};

/// Longest free-text value accepted (search text, purposes, file names).
const MAX_TEXT: usize = 512;
/// Most results a search may ask for.
pub const MAX_LIMIT: u32 = 1000;

/// `GET /api/v1/documents`: exactly one of the keys, `kind` only with `citizen_id`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    /// Personal ID (12 digits).
    pub citizen_id: Option<CitizenId>,
    /// Kind, with `citizen_id`.
    pub kind: Option<String>,
    /// Dossier code.
    pub dossier_code: Option<String>,
    /// SHA-256 of a stored file.
    pub sha256: Option<Sha256>,
    /// Verification reference (QR content) of a certified copy.
    pub reference: Option<Reference>,
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
    pub citizen_id: Option<CitizenId>,
    /// Kind.
    pub kind: Option<String>,
    /// Procedure code.
    pub procedure: Option<String>,
    /// Dossier code.
    pub dossier_code: Option<String>,
    /// Agency code.
    pub agency: Option<String>,
    /// Stored on or after (YYYY-MM-DD).
    pub from: Option<Date>,
    /// Stored on or before (YYYY-MM-DD).
    pub to: Option<Date>,
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
    pub citizen_id: CitizenId,
    /// Procedure code.
    pub procedure: String,
    /// The day the documents must be usable on (default: today).
    pub at: Option<Date>,
    /// Purpose of the access.
    pub purpose: Option<String>,
}

/// `POST /api/v1/dossiers/{code}/documents` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attach {
    /// The stored document to reuse.
    pub document_id: DocumentId,
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
    pub citizen_id: CitizenId,
    /// Kind.
    pub kind: String,
    /// Title.
    pub title: Title,
    /// `component` (default) or `result`.
    pub role: Option<String>,
    /// End of validity (YYYY-MM-DD).
    pub valid_until: Option<Date>,
    /// Id of the document this one corrects.
    pub supersedes: Option<DocumentId>,
    /// File name for downloads (default `document.pdf`).
    pub file_name: Option<String>,
    /// Verification reference, when the PDF is a certified copy and it cannot be read from it.
    pub reference: Option<Reference>,
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

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> ApiError {
        ApiError::bad_request(e.0)
    }
}

/// A code (agency, dossier, procedure, kind), by the store's rule ([`values::check_code`]).
pub fn code(name: &str, value: &str) -> Result<String, ApiError> {
    let value = value.trim();
    values::check_code(name, value)?;
    Ok(value.to_string())
}

/// A free-text value: not blank, at most 512 characters, no control characters
/// ([`values::check_text`]).
pub fn text(name: &str, value: &str) -> Result<String, ApiError> {
    let value = value.trim();
    values::check_text(name, value, MAX_TEXT)?;
    Ok(value.to_string())
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
        citizen_id: s.citizen_id.clone(),
        dossier_code: opt(s.dossier_code.as_deref(), |v| code("dossier_code", v))?,
        procedure_code: opt(s.procedure.as_deref(), |v| code("procedure", v))?,
        kind: opt(s.kind.as_deref(), |v| code("kind", v))?,
        agency: opt(s.agency.as_deref(), |v| code("agency", v))?,
        from: s.from.clone(),
        to: s.to.clone(),
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
