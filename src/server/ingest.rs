//! Ingest over HTTP: check the PDF, read its pages, text and reference
//! ([`inspect_pdf`]), and build the store request. The document is stored by the key's agency, created by the key.

use super::errors::{ApiError, ApiResult};
use super::params::{self, IngestMeta};
use crate::store::{
    file_pdf, inspect_pdf, CopyTrust, Document, KeyInfo, NewDocument, NewFile, Store, StoreError,
};

/// A checked document, ready to be stored.
pub struct Prepared {
    new: NewDocument,
    files: Vec<NewFile>,
    text: String,
    reference: Option<String>,
    pages: u32,
}

/// Checks `meta` and `pdf` for `key`; a signed PDF is verified against `trust` (see
/// [`file_pdf`]): what does not verify is stored as an ordinary PDF with its report.
pub fn prepare(
    key: &KeyInfo,
    meta: IngestMeta,
    pdf: Vec<u8>,
    trust: &CopyTrust,
) -> ApiResult<Prepared> {
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
    let claimed = meta
        .reference
        .as_deref()
        .map(|r| params::text("reference", r))
        .transpose()?;
    let filing = file_pdf(&pdf, &facts, trust, claimed.as_deref())?;
    let mut files = vec![NewFile {
        role: filing.role,
        name,
        bytes: pdf,
    }];
    files.extend(filing.verification);
    Ok(Prepared {
        new,
        files,
        text: facts.text,
        reference: filing.reference,
        pages: facts.page_count,
    })
}

impl Prepared {
    /// The document this one supersedes, if any.
    pub fn supersedes(&self) -> Option<&str> {
        self.new.supersedes.as_deref()
    }

    /// Stores the document (blobs first, then the metadata in one transaction).
    pub fn store(self, store: &Store) -> Result<Document, StoreError> {
        store.add_document(
            &self.new,
            &self.files,
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
