//! Issuing certified copies: the one place where a register number is taken, the copy
//! stamped and signed, kept by the caller (written to a file, stored), and the register
//! entry recorded — used by `sohoa certify`, the web page and `sohoa batch`.
//!
//! The register stays locked from the number to the entry: two clerks never get the same
//! number, and a copy that could not be signed or kept burns no number.

use std::path::Path;

use super::copy::{certify_copy, register_entry, CertifiedCopy, CertifyError, CertifyRequest};
use super::key::SigningKey;
use super::register::{Register, RegisterError};

/// A register and the key that signs the copies it numbers.
pub struct Issuer<'k> {
    register: Register,
    key: &'k dyn SigningKey,
}

/// A copy issued under `number`, and what the caller's `keep` returned.
pub struct Issued<T> {
    /// The signed copy.
    pub copy: CertifiedCopy,
    /// Its register number.
    pub number: u64,
    /// What keeping it gave (a staged file, a stored document…).
    pub kept: T,
}

/// Why a copy was not issued; no number was used.
#[derive(Debug, thiserror::Error)]
pub enum IssueError<E> {
    /// The register could not be used.
    #[error(transparent)]
    Register(#[from] RegisterError),
    /// The copy could not be certified (certificate, key, PDF).
    #[error(transparent)]
    Certify(CertifyError),
    /// The caller could not keep the copy.
    #[error("{0}")]
    Keep(E),
}

impl<'k> Issuer<'k> {
    /// Opens the register in `register_dir` for copies signed with `key`.
    pub fn open(register_dir: &Path, key: &'k dyn SigningKey) -> Result<Self, RegisterError> {
        Ok(Issuer {
            register: Register::open(register_dir)?,
            key,
        })
    }

    /// Certifies `pdf` under the next number of `request.book` in the request's year and
    /// calls `keep` with the copy while the register is locked; the entry is recorded
    /// only when both succeed.
    pub fn issue<T, E>(
        &mut self,
        pdf: &[u8],
        request: &CertifyRequest,
        keep: impl FnOnce(&CertifiedCopy, u64) -> Result<T, E>,
    ) -> Result<Issued<T>, IssueError<E>> {
        let key = self.key;
        self.register
            .issue_next(request.time.year(), &request.book, |number| {
                let copy = certify_copy(pdf, request, number, key).map_err(IssueError::Certify)?;
                let kept = keep(&copy, number).map_err(IssueError::Keep)?;
                let entry = register_entry(request, number, &copy);
                Ok((Issued { copy, number, kept }, entry))
            })?
    }

    /// Marks an issued entry void, with the reason (the copy could not be put in place
    /// after the entry was recorded).
    pub fn void(&mut self, request: &CertifyRequest, number: u64, reason: &str) {
        let _ = self
            .register
            .void(request.time.year(), &request.book, number, reason);
    }
}
