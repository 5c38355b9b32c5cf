//! Ingest over HTTP: check the PDF, read its pages, text and reference
//! ([`inspect_pdf`]), and build the store request. The document is stored by the key's agency, created by the key.

use super::errors::{ApiError, ApiResult};
use super::params::{self, IngestMeta};
use crate::store::{
    inspect_pdf, Document, FileRole, KeyInfo, NewDocument, NewFile, Store, StoreError,
};

/// A checked document, ready to be stored.
pub struct Prepared {
    new: NewDocument,
    file: NewFile,
    text: String,
    reference: Option<String>,
    pages: u32,
}

/// Checks `meta` and `pdf` for `key`.
pub fn prepare(key: &KeyInfo, meta: IngestMeta, pdf: Vec<u8>) -> ApiResult<Prepared> {
    let facts = inspect_pdf(&pdf)?;
    let name = match &meta.file_name {
        Some(n) => file_name(n)?,
        None => "document.pdf".to_string(),
    };
    let new = NewDocument {
        dossier_code: params::text("dossier_code", &meta.dossier_code)?,
        procedure_code: params::text("procedure_code", &meta.procedure_code)?,
        citizen_id: params::citizen_id(&meta.citizen_id)?,
        agency: key.agency.clone(),
        kind: params::text("kind", &meta.kind)?,
        title: params::text("title", &meta.title)?,
        role: params::role(meta.role.as_deref())?,
        created_by: key.id.clone(),
        valid_until: meta
            .valid_until
            .as_deref()
            .map(|d| params::date("valid_until", d))
            .transpose()?,
        supersedes: meta
            .supersedes
            .as_deref()
            .map(|s| params::document_id(s).map(str::to_string))
            .transpose()?,
    };
    let role = if facts.signed {
        FileRole::Certified
    } else {
        FileRole::Pdf
    };
    let reference = match meta.reference.as_deref() {
        Some(r) => Some(params::text("reference", r)?),
        None => facts.reference,
    };
    Ok(Prepared {
        new,
        file: NewFile {
            role,
            name,
            bytes: pdf,
        },
        text: facts.text,
        reference,
        pages: facts.page_count,
    })
}

impl Prepared {
    /// Stores the document (blobs first, then the metadata in one transaction).
    pub fn store(self, store: &Store) -> Result<Document, StoreError> {
        store.add_document(
            &self.new,
            std::slice::from_ref(&self.file),
            &self.text,
            self.reference.as_deref(),
            self.pages,
        )
    }
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
