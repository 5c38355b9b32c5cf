//! Making one electronic certified copy: check the certificate, stamp the statement with
//! its register number and QR reference, sign as PAdES B-B. Pure: bytes in, bytes out.

use time::OffsetDateTime;

use super::certificate::{self, CertError};
use super::cms::{self, CmsError};
use super::key::{KeyError, SigningKey};
use super::longterm::{self, EvidenceError, Level, LongTerm};
use super::pades::Validation;
use super::pades::{self, PadesError, Placement, SignatureInfo, StampPlace};
use super::register::{Details, Entry};
use super::stamp::{self, StampText, STATEMENT};
use super::timestamp::{self, TimestampError};
use std::sync::Arc;

/// Why a copy could not be certified.
#[derive(Debug, thiserror::Error)]
pub enum CertifyError {
    /// The signing certificate cannot sign now.
    #[error(transparent)]
    Certificate(#[from] CertError),
    /// The key failed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The input PDF cannot take a signature.
    #[error(transparent)]
    Pdf(#[from] PadesError),
    /// The CMS signature could not be built.
    #[error(transparent)]
    Cms(#[from] CmsError),
    /// No valid timestamp was obtained (B-T and above).
    #[error(transparent)]
    Timestamp(#[from] TimestampError),
    /// The signer's status could not be established, or it is revoked (B-LT).
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
}

/// Who certifies what, when, in which register book.
#[derive(Debug, Clone)]
pub struct CertifyRequest {
    /// The certifying official (người chứng thực).
    pub certifier: String,
    /// The certifying agency.
    pub agency: String,
    /// Register book (quyển số), e.g. `01`.
    pub book: String,
    /// Certification time (signature `/M` and the stamp's date).
    pub time: OffsetDateTime,
    /// Where the stamp goes.
    pub placement: Placement,
    /// The register form's request columns (requester, original's title, copies, fee).
    pub details: Details,
    /// The level above B-B and its services (time-stamping authority, OCSP); `None`
    /// for B-B.
    pub long_term: Option<Arc<LongTerm>>,
    /// Address of the office's public verification page (`sohoa serve --public-url`):
    /// the QR code then opens `{verify_url}/verify?ref=…`; without it the QR code holds
    /// the bare reference.
    pub verify_url: Option<String>,
}

/// A signed certified copy.
#[derive(Debug, Clone)]
pub struct CertifiedCopy {
    /// The signed PDF.
    pub pdf: Vec<u8>,
    /// SHA-256 of `pdf`, hex.
    pub sha256: String,
    /// SHA-256 of the input, hex.
    pub input_sha256: String,
    /// The verification reference in the QR code.
    pub reference: String,
    /// Subject of the signing certificate.
    pub signer: String,
    /// Where the stamp went (a certification page may have been added).
    pub stamp: StampPlace,
    /// The PAdES baseline level: `B-B`, `B-T` or `B-LT`.
    pub level: &'static str,
    /// The time-stamping authority's time (B-T), RFC 3339.
    pub timestamp: Option<String>,
}

/// The verification reference printed in the QR code: register entry and a prefix of
/// the certified document's SHA-256, e.g. `SOHOA1:2026-01-42:0123456789abcdef`.
pub fn reference(year: i32, book: &str, number: u64, input_sha256: &str) -> String {
    format!("SOHOA1:{year}-{book}-{number}:{}", &input_sha256[..16])
}

/// The register entry (year, book, number) a reference made by [`reference`] names.
pub fn parse_reference(reference: &str) -> Option<(i32, String, u64)> {
    let entry = reference.strip_prefix("SOHOA1:")?.split(':').next()?;
    let mut parts = entry.splitn(3, '-');
    let year = parts.next()?.parse().ok()?;
    let book = parts.next()?.to_string();
    let number = parts.next()?.parse().ok()?;
    Some((year, book, number))
}

/// Certifies `input` under register `number` with `key`.
pub fn certify_copy(
    input: &[u8],
    request: &CertifyRequest,
    number: u64,
    key: &dyn SigningKey,
) -> Result<CertifiedCopy, CertifyError> {
    let info = certificate::check_signing(key.certificate(), request.time)?;
    let input_hash = InputHash::new(input);
    let input_sha256 = hex::encode(input_hash.extended(&[]));
    let year = request.time.year();
    let reference = reference(year, &request.book, number, &input_sha256);
    let text = StampText {
        number,
        book: format!("{}/{year}", request.book),
        date: format!(
            "{:02}/{:02}/{year}",
            request.time.day(),
            request.time.month() as u8
        ),
        certifier: request.certifier.clone(),
        agency: request.agency.clone(),
        signer: common_name(&info.subject),
        qr: verify_link(request.verify_url.as_deref(), &reference),
        reference: reference.clone(),
    };
    let signature = SignatureInfo {
        time: request.time,
        name: text.signer.clone(),
        reason: STATEMENT.to_string(),
        location: request.agency.clone(),
        field_name: format!("ChungThuc-{year}-{}-{number}", request.book),
        docmdp: Some(2),
    };
    let prepared = pades::prepare(input, &request.placement, &signature, |doc| {
        stamp::stamp_appearance(doc, &text).map_err(|e| PadesError::Malformed(e.to_string()))
    })?;
    let stamp = prepared.stamp;
    let signed = sign(
        prepared,
        key,
        request.long_term.as_deref(),
        Some(&input_hash),
    )?;
    let pdf = signed.pdf;
    Ok(CertifiedCopy {
        stamp,
        level: signed.level,
        timestamp: signed.timestamp,
        sha256: hex::encode(input_hash.of(&[&pdf])),
        pdf,
        input_sha256,
        reference,
        signer: info.subject,
    })
}

/// A signed PDF and its PAdES level.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The signed file.
    pub pdf: Vec<u8>,
    /// `B-B`, `B-T`, `B-LT` or `B-LTA`.
    pub level: &'static str,
    /// The signature timestamp's time, RFC 3339.
    pub timestamp: Option<String>,
}

/// The input's SHA-256 state, hashed once: the byte range and the output both start
/// with the input, so their SHA-256 digests continue from it instead of hashing the
/// input again.
struct InputHash<'a> {
    context: ring::digest::Context,
    input: &'a [u8],
}

impl<'a> InputHash<'a> {
    fn new(input: &'a [u8]) -> InputHash<'a> {
        let mut context = ring::digest::Context::new(&ring::digest::SHA256);
        context.update(input);
        InputHash { context, input }
    }

    /// SHA-256 of the input followed by `more`.
    fn extended(&self, more: &[&[u8]]) -> Vec<u8> {
        let mut context = self.context.clone();
        for part in more {
            context.update(part);
        }
        context.finish().as_ref().to_vec()
    }

    /// SHA-256 of the concatenation of `parts`; continued from the input's state when
    /// the first part begins with the input (compared: far cheaper than hashing).
    fn of(&self, parts: &[&[u8]]) -> Vec<u8> {
        match parts.split_first() {
            Some((first, rest)) if first.starts_with(self.input) => {
                let mut more = vec![&first[self.input.len()..]];
                more.extend_from_slice(rest);
                self.extended(&more)
            }
            _ => crate::certify::alg::Hash::Sha256.digest(parts),
        }
    }
}

/// Signs a prepared file with `key` at the level of `long_term` (B-B without): the CMS
/// signature, its timestamp, the validation data and the document timestamp.
pub fn sign_prepared(
    prepared: pades::Unsigned,
    key: &dyn SigningKey,
    long_term: Option<&LongTerm>,
) -> Result<Signed, CertifyError> {
    sign(prepared, key, long_term, None)
}

/// [`sign_prepared`], continuing from the input's hash when the prepared file extends
/// it and the key signs SHA-256.
fn sign(
    prepared: pades::Unsigned,
    key: &dyn SigningKey,
    long_term: Option<&LongTerm>,
    input: Option<&InputHash>,
) -> Result<Signed, CertifyError> {
    if let Some(long_term) = long_term {
        long_term.check_signer(key.certificate(), key.chain())?;
    }
    let parts = prepared.signed_parts();
    let algorithm = cms::digest_for(key.scheme());
    let digest = match input {
        Some(input) if algorithm == crate::certify::alg::Hash::Sha256 => input.of(&parts),
        _ => algorithm.digest(&parts),
    };
    let der = cms::sign_detached(key, &digest)?;
    let mut validation = Validation::default();
    let (der, timestamp) = match long_term {
        Some(long_term) => {
            let (der, token) = timestamp::add_signature_timestamp(&der, long_term.tsa.as_ref())?;
            if long_term.level >= Level::Blt {
                validation = long_term.signer_evidence(key.certificate(), key.chain())?;
            }
            long_term.add_tsa(&mut validation, &token)?;
            (der, Some(token.time))
        }
        None => (der, None),
    };
    let mut pdf = prepared.embed(&der)?;
    if !validation.is_empty() {
        validation.signature = Some(der);
        pdf = pades::append_dss(&pdf, &validation)?;
    }
    if let Some(long_term) = long_term.filter(|l| l.level >= Level::Blta) {
        pdf = longterm::add_document_timestamp(&pdf, long_term.tsa.as_ref())?.0;
    }
    Ok(Signed {
        pdf,
        level: long_term.map_or("B-B", |l| l.level.name()),
        timestamp: timestamp.and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        }),
    })
}

/// Adds an approval signature by `key` to an already signed (or any) PDF, in a new
/// invisible field so that a certification signature before it stays valid (a visible
/// field could cover certified content).
pub fn sign_pdf(
    input: &[u8],
    key: &dyn SigningKey,
    info: &SignatureInfo,
    long_term: Option<&LongTerm>,
) -> Result<Signed, CertifyError> {
    certificate::check_signing(key.certificate(), info.time)?;
    let prepared = pades::prepare_invisible(input, info)?;
    sign_prepared(prepared, key, long_term)
}

/// The register entry of an issued copy.
pub fn register_entry(request: &CertifyRequest, number: u64, copy: &CertifiedCopy) -> Entry {
    Entry {
        year: request.time.year(),
        book: request.book.clone(),
        number,
        status: "issued".into(),
        certified_at: request
            .time
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        certifier: request.certifier.clone(),
        agency: request.agency.clone(),
        signer: copy.signer.clone(),
        input_sha256: copy.input_sha256.clone(),
        output_sha256: copy.sha256.clone(),
        reference: copy.reference.clone(),
        note: None,
        details: request.details.clone(),
    }
}

/// What the QR code holds: the verification page for `reference` under `base`, or the
/// bare reference.
pub fn verify_link(base: Option<&str>, reference: &str) -> String {
    match base {
        Some(base) => format!("{}/verify?ref={reference}", base.trim_end_matches('/')),
        None => reference.to_string(),
    }
}

/// The `CN=` part of a subject, or the whole subject when it has none.
fn common_name(subject: &str) -> String {
    subject
        .split(',')
        .map(str::trim)
        .find_map(|part| part.strip_prefix("CN="))
        .unwrap_or(subject)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_name_is_taken_from_the_subject() {
        assert_eq!(
            common_name("CN=Nguyễn Văn An, O=UBND xã Thử Nghiệm"),
            "Nguyễn Văn An"
        );
        assert_eq!(common_name("O=Only"), "O=Only");
    }

    #[test]
    fn reference_names_the_entry_and_the_document() {
        assert_eq!(
            reference(2026, "01", 7, &"ab".repeat(32)),
            "SOHOA1:2026-01-7:abababababababab"
        );
        assert_eq!(
            parse_reference("SOHOA1:2026-01-7:abababababababab"),
            Some((2026, "01".to_string(), 7))
        );
        assert_eq!(parse_reference("SOHOA1:2026-01:ab"), None);
    }
}
