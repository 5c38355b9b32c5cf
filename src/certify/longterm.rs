//! Long-term signatures (PAdES baseline levels above B-B, ETSI EN 319 142-1): the
//! services a level needs and the evidence it adds.
//!
//! - B-T: a signature timestamp from a time-stamping authority ([`super::timestamp`]);
//! - B-LT: the signer's status checked online before signing (**a revoked certificate is
//!   refused**), and the certificates, OCSP answers and CRLs — for the signer, every
//!   intermediate CA and the timestamp authority — kept in the document security store,
//!   so the copy can be validated when the responders are gone.

use std::sync::Arc;

use time::OffsetDateTime;

use sha2::{Digest, Sha256};

use super::pades::{self, PadesError, Validation};
use super::revocation::{self, Evidence, Online, RevocationError, Source, Status};
use super::timestamp::{self, TimestampError, Timestamper, Token};

/// A PAdES baseline level above B-B.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Signature timestamp.
    Bt,
    /// Plus validation data (certificates, revocation answers) in the DSS.
    Blt,
    /// Plus a document timestamp over it all (renewed before its TSA certificate
    /// expires).
    Blta,
}

impl Level {
    /// The level's name: `B-T`, `B-LT` or `B-LTA`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Bt => "B-T",
            Level::Blt => "B-LT",
            Level::Blta => "B-LTA",
        }
    }
}

/// What signing at a level above B-B uses.
#[derive(Debug, Clone)]
pub struct LongTerm {
    /// The level.
    pub level: Level,
    /// The time-stamping authority.
    pub tsa: Arc<dyn Timestamper>,
    /// HTTP for OCSP (B-LT).
    pub online: Arc<dyn Online>,
    /// Issuer certificates (DER) beyond those the key source carries, e.g. the CA's.
    pub issuers: Vec<Vec<u8>>,
}

/// Why the evidence could not be gathered; the copy is not made.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// The signer's certificate is revoked.
    #[error("the signing certificate was revoked on {0}: it may not sign")]
    Revoked(String),
    /// A CA certificate above the signer's is revoked.
    #[error(
        "the certificate of the CA {0} in the signer's chain was revoked on {1}: it may not sign"
    )]
    IssuerRevoked(String, String),
    /// The responder does not know the certificate.
    #[error("the OCSP responder does not know the signing certificate")]
    Unknown,
    /// No issuer certificate to ask about the signer with.
    #[error("B-LT needs the certificate of the signer's issuer: give it with --chain")]
    NoIssuer,
    /// The status could not be had.
    #[error(transparent)]
    Revocation(#[from] RevocationError),
    /// No timestamp could be had.
    #[error(transparent)]
    Timestamp(#[from] TimestampError),
    /// The document could not take the update.
    #[error(transparent)]
    Pdf(#[from] PadesError),
}

/// Adds a document timestamp from `tsa` over the whole of `pdf` (an incremental update
/// with an invisible `/DocTimeStamp` field, PAdES B-LTA).
pub fn add_document_timestamp(
    pdf: &[u8],
    tsa: &dyn Timestamper,
) -> Result<(Vec<u8>, Token), EvidenceError> {
    let field = format!(
        "DocTimeStamp-{}",
        OffsetDateTime::now_utc().unix_timestamp_nanos()
    );
    let unsigned = pades::prepare_document_timestamp(pdf, &field)?;
    let mut hash = Sha256::new();
    for part in unsigned.signed_parts() {
        hash.update(part);
    }
    let imprint: [u8; 32] = hash.finalize().into();
    let token = timestamp::stamp(tsa, &imprint)?;
    Ok((unsigned.embed(&token.der)?, token))
}

/// The issuer of `cert` among `candidates`: the one whose subject is its issuer and
/// whose key verifies its signature.
fn issuer_of<'a>(cert: &[u8], candidates: &'a [Vec<u8>]) -> Option<&'a Vec<u8>> {
    candidates.iter().find(|c| {
        *c != cert
            && super::certificate::verify_chain(cert, &[], &[c.to_vec()], OffsetDateTime::now_utc())
                .is_ok()
    })
}

/// Whether `cert` says where its status is published (OCSP or CRL).
fn names_status_source(cert: &[u8]) -> bool {
    revocation::ocsp::responder_url(cert).is_some()
        || revocation::crl::distribution_point(cert).is_some()
}

/// Keeps a checked answer, and its delegated responder's certificate, for the DSS.
fn keep(validation: &mut Validation, evidence: Evidence) {
    validation.certs.extend(evidence.responder);
    match evidence.source {
        Source::Ocsp => validation.ocsps.push(evidence.response),
        Source::Crl => validation.crls.push(evidence.response),
    }
}

/// The status of every CA certificate from `cert`'s issuer up, among `candidates`, that
/// says where its status is published; a revoked one signs nothing.
fn chain_evidence(
    online: &dyn Online,
    cert: &[u8],
    candidates: &[Vec<u8>],
    validation: &mut Validation,
) -> Result<(), EvidenceError> {
    let mut current = issuer_of(cert, candidates);
    for _ in 0..MAX_CHAIN {
        let Some(ca) = current else { break };
        let parent = issuer_of(ca, candidates);
        if let Some(parent) = parent.filter(|_| names_status_source(ca)) {
            let evidence = revocation::status(online, ca, parent)?;
            if let Status::Revoked(at) = evidence.status {
                let name =
                    super::certificate::inspect(ca).map_or_else(|_| "?".into(), |i| i.subject);
                return Err(EvidenceError::IssuerRevoked(name, at.date().to_string()));
            }
            keep(validation, evidence);
        }
        current = parent;
    }
    Ok(())
}

/// Longest chain followed above a signer.
const MAX_CHAIN: usize = 8;

impl LongTerm {
    /// Checks the signer's status now, before anything is signed: a revoked or unknown
    /// certificate, or a revoked CA above it, signs nothing.
    pub fn check_signer(&self, signer: &[u8], chain: &[Vec<u8>]) -> Result<(), EvidenceError> {
        if self.level >= Level::Blt {
            self.signer_evidence(signer, chain)?;
        }
        Ok(())
    }

    /// The status of the signer and of the CAs above it, and the certificates to keep,
    /// fetched after signing: a validator wants answers issued after the signature's time.
    pub fn signer_evidence(
        &self,
        signer: &[u8],
        chain: &[Vec<u8>],
    ) -> Result<Validation, EvidenceError> {
        let mut validation = Validation::default();
        let candidates: Vec<Vec<u8>> = chain.iter().chain(&self.issuers).cloned().collect();
        let issuer = issuer_of(signer, &candidates).ok_or(EvidenceError::NoIssuer)?;
        let evidence = revocation::status(self.online.as_ref(), signer, issuer)?;
        match evidence.status {
            Status::Good => {}
            Status::Revoked(at) => return Err(EvidenceError::Revoked(at.date().to_string())),
            Status::Unknown => return Err(EvidenceError::Unknown),
        }
        validation.certs.push(signer.to_vec());
        validation.certs.extend(candidates.iter().cloned());
        keep(&mut validation, evidence);
        chain_evidence(self.online.as_ref(), signer, &candidates, &mut validation)?;
        Ok(validation)
    }

    /// Adds the timestamp authority's certificates and, when its certificate says where
    /// its status is published, its status and its CAs'.
    pub fn add_tsa(&self, validation: &mut Validation, token: &Token) -> Result<(), EvidenceError> {
        if self.level < Level::Blt {
            return Ok(());
        }
        tsa_evidence(self.online.as_ref(), token, &self.issuers, validation)
    }
}

/// The certificates of a timestamp's authority and, when published, its status and its
/// CAs'.
fn tsa_evidence(
    online: &dyn Online,
    token: &Token,
    issuers: &[Vec<u8>],
    validation: &mut Validation,
) -> Result<(), EvidenceError> {
    validation.certs.extend(token.certificates.iter().cloned());
    let candidates: Vec<Vec<u8>> = token.certificates.iter().chain(issuers).cloned().collect();
    let tsa = &token.tsa_certificate;
    if names_status_source(tsa) {
        if let Some(issuer) = issuer_of(tsa, &candidates) {
            keep(validation, revocation::status(online, tsa, issuer)?);
        }
    }
    chain_evidence(online, tsa, &candidates, validation)
}

/// Renews a copy's evidence before the last timestamp's authority certificate expires
/// (PAdES B-LTA, ETSI EN 319 142-1 §5.5): the status of the timestamp authorities'
/// certificates goes into the DSS, then a new document timestamp covers everything.
pub fn renew(
    pdf: &[u8],
    tsa: &dyn Timestamper,
    online: &dyn Online,
    issuers: &[Vec<u8>],
) -> Result<(Vec<u8>, Token), EvidenceError> {
    let tokens = timestamp_tokens(pdf)?;
    if tokens.is_empty() {
        return Err(EvidenceError::Pdf(PadesError::Malformed(
            "the file has no timestamp to renew (certify it at b-t or above first)".into(),
        )));
    }
    let mut validation = Validation::default();
    for token in &tokens {
        tsa_evidence(online, token, issuers, &mut validation)?;
    }
    let pdf = if validation.is_empty() {
        pdf.to_vec()
    } else {
        pades::append_dss(pdf, &validation)?
    };
    add_document_timestamp(&pdf, tsa)
}

/// When the copy's newest timestamp (signature or document timestamp) stops proving
/// anything: its authority's certificate's end of validity. `None` for a copy with no
/// timestamp (B-B), which cannot be renewed.
pub fn renewal_due(pdf: &[u8]) -> Result<Option<OffsetDateTime>, EvidenceError> {
    let tokens = timestamp_tokens(pdf)?;
    let Some(newest) = tokens.iter().max_by_key(|t| t.time) else {
        return Ok(None);
    };
    let info = super::certificate::inspect(&newest.tsa_certificate).map_err(|e| {
        EvidenceError::Pdf(PadesError::Malformed(format!(
            "the timestamp authority's certificate: {e}"
        )))
    })?;
    Ok(Some(info.not_after))
}

/// The timestamp tokens of a file — signatures' timestamps and document timestamps —
/// parsed (not checked against what they stamp: verification does that).
fn timestamp_tokens(pdf: &[u8]) -> Result<Vec<Token>, EvidenceError> {
    let doc = lopdf::Document::load_mem(pdf)
        .map_err(|e| EvidenceError::Pdf(PadesError::Unreadable(e.to_string())))?;
    let mut tokens = Vec::new();
    for object in doc.objects.values() {
        let Ok(dict) = object.as_dict() else { continue };
        if dict.get(b"Type").and_then(lopdf::Object::as_name).ok() != Some(b"Sig")
            && dict.get(b"Type").and_then(lopdf::Object::as_name).ok() != Some(b"DocTimeStamp")
        {
            continue;
        }
        let Ok(contents) = dict.get(b"Contents").and_then(lopdf::Object::as_str) else {
            continue;
        };
        let document_timestamp =
            dict.get(b"SubFilter").and_then(lopdf::Object::as_name).ok() == Some(b"ETSI.RFC3161");
        let found: Vec<Vec<u8>> = if document_timestamp {
            vec![contents.to_vec()]
        } else {
            super::cms::unsigned_attribute(contents, timestamp::SIGNATURE_TIME_STAMP_TOKEN)
                .unwrap_or_default()
        };
        for der in found {
            if let Ok(token) = timestamp::parse(&der) {
                tokens.push(token);
            }
        }
    }
    Ok(tokens)
}
