//! Ingest over HTTP: check the metadata and build the store's [`Ingest`] from the PDF.
//! The document is stored by the key's agency, created by the key.

use super::errors::{ApiError, ApiResult};
use super::params::{self, IngestMeta};
use crate::store::{CopyTrust, Ingest, KeyInfo, NewDocument};

/// Checks `meta` and `pdf` for `key` and files the PDF ([`Ingest::from_pdf`]): a signed
/// PDF that does not verify against `trust` is stored as an ordinary PDF with its report.
pub fn prepare(
    key: &KeyInfo,
    meta: IngestMeta,
    pdf: Vec<u8>,
    trust: &CopyTrust,
) -> ApiResult<Ingest> {
    let name = match &meta.file_name {
        Some(n) => file_name(n)?,
        None => "document.pdf".to_string(),
    };
    let new = NewDocument {
        dossier_code: params::code("dossier_code", &meta.dossier_code)?,
        procedure_code: params::code("procedure_code", &meta.procedure_code)?,
        citizen_id: meta.citizen_id,
        agency: key.agency.clone(),
        kind: params::code("kind", &meta.kind)?,
        title: meta.title,
        role: params::role(meta.role.as_deref())?,
        created_by: key.id.clone(),
        valid_until: meta.valid_until,
        supersedes: meta.supersedes,
    };
    let claimed = meta.reference.as_deref();
    let (ingest, _) = Ingest::from_pdf(new, name, pdf, trust, claimed)?;
    Ok(ingest)
}

/// A download name: the last path component, without control characters, at most 200 chars.
fn file_name(name: &str) -> ApiResult<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    if base.is_empty() || base == "." || base == ".." {
        return Err(ApiError::bad_request("file_name is empty"));
    }
    params::text("file_name", base).and_then(|n| {
        if n.chars().count() > 200 {
            Err(ApiError::bad_request(
                "file_name is longer than 200 characters",
            ))
        } else {
            Ok(n)
        }
    })
}
