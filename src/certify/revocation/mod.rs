//! Revocation evidence for a certificate: an OCSP answer ([`ocsp`]) or, for a certificate
//! whose issuer runs no responder, its CRL ([`crl`]); [`status`] picks the source. Either
//! is checked before it is trusted or kept in a PAdES B-LT copy's DSS.
//!
//! Sans-I/O except for [`Online`], through which the caller does the HTTP exchange.

pub mod crl;
pub mod ocsp;

use time::OffsetDateTime;

/// An HTTP exchange (implemented by `certify::online::Fetch`).
pub trait Online: Send + Sync + std::fmt::Debug {
    /// POSTs `body` as `content_type` to `url`; the answer's body.
    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, String>;
    /// GETs `url`; the answer's body, refused when over `limit` bytes.
    fn get(&self, url: &str, limit: u64) -> Result<Vec<u8>, String>;
}

/// Where a status came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// An OCSP answer (DSS `/OCSPs`).
    Ocsp,
    /// A certificate revocation list (DSS `/CRLs`).
    Crl,
}

/// The status the evidence gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Not revoked.
    Good,
    /// Revoked at this time.
    Revoked(OffsetDateTime),
    /// The responder does not know the certificate.
    Unknown,
}

/// Checked revocation evidence: an OCSP answer or a CRL.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// The whole OCSPResponse or CertificateList, DER (what the DSS keeps).
    pub response: Vec<u8>,
    /// The status it gives.
    pub status: Status,
    /// When the responder produced it.
    pub produced_at: OffsetDateTime,
    /// The delegated responder's certificate, when it is not the issuer.
    pub responder: Option<Vec<u8>>,
    /// An OCSP answer or a CRL.
    pub source: Source,
}

/// Why no revocation status could be had.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RevocationError {
    /// The certificate names no OCSP responder and no CRL distribution point.
    #[error(
        "the certificate names neither an OCSP responder (Authority Information Access) \
         nor a CRL distribution point"
    )]
    NoResponder,
    /// The responder or the CRL could not be reached.
    #[error("revocation status: {0}")]
    Transport(String),
    /// The answer is not usable.
    #[error("invalid revocation evidence: {0}")]
    Invalid(String),
}

/// The certificate's status now: from its OCSP responder, or from its CRL when it names
/// no responder or the responder cannot be reached.
pub fn status(
    online: &dyn Online,
    cert: &[u8],
    issuer: &[u8],
) -> Result<Evidence, RevocationError> {
    let has_crl = crl::distribution_point(cert).is_some();
    if ocsp::responder_url(cert).is_none() {
        return crl::fetch(online, cert, issuer);
    }
    match ocsp::fetch(online, cert, issuer) {
        Err(RevocationError::Transport(_)) if has_crl => crl::fetch(online, cert, issuer),
        other => other,
    }
}
