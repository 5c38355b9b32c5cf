//! RFC 3161 timestamps: the request for a digest, the authority's answer checked before
//! it is used (status, token signature, imprint, nonce, the TSA certificate's
//! timeStamping purpose), and the signature timestamp of PAdES B-T — a token over the
//! CMS signature value, kept as the SignerInfo's unsigned attribute
//! signatureTimeStampToken (RFC 5652 §11.4 numbering: id-aa 14).
//!
//! Sans-I/O: the exchange with the authority goes through a [`Timestamper`]
//! (`certify::online::HttpTsa` for a real one over HTTP).

use const_oid::db::rfc5912;
use const_oid::ObjectIdentifier;
use der::asn1::{Int, OctetString};
use der::{Any, Decode, Encode};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifier;
use time::OffsetDateTime;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

use super::cms::{self, CmsError};

/// The unsigned attribute holding a signature's timestamp token.
pub const SIGNATURE_TIME_STAMP_TOKEN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");
/// The content type of a timestamp token's content.
pub const TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// The extended key usage a TSA certificate must carry (RFC 3161 §2.3).
const TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");

/// A time-stamping authority: takes a DER TimeStampReq, answers a DER TimeStampResp.
pub trait Timestamper: Send + Sync + std::fmt::Debug {
    /// One request and its answer.
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TimestampError>;
}

/// Why no usable timestamp was obtained or found.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TimestampError {
    /// The authority could not be reached or answered with an HTTP error.
    #[error("time-stamping authority: {0}")]
    Transport(String),
    /// The authority refused the request.
    #[error("the time-stamping authority refused the request: {0}")]
    Refused(String),
    /// The answer or the token is malformed or does not check out.
    #[error("invalid timestamp: {0}")]
    Invalid(String),
}

/// A checked timestamp token.
#[derive(Debug, Clone)]
pub struct Token {
    /// The token (a CMS ContentInfo), DER.
    pub der: Vec<u8>,
    /// The authority's time.
    pub time: OffsetDateTime,
    /// The TSA's certificate (DER).
    pub tsa_certificate: Vec<u8>,
    /// Every certificate in the token (DER).
    pub certificates: Vec<Vec<u8>>,
    /// The TSA certificate's subject.
    pub tsa: String,
}

/// A TimeStampReq for a SHA-256 `imprint`, with `nonce` and asking for the TSA's
/// certificate.
pub fn request(imprint: &[u8; 32], nonce: &[u8]) -> Result<Vec<u8>, TimestampError> {
    let invalid = |e: der::Error| TimestampError::Invalid(e.to_string());
    TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifier {
                oid: rfc5912::ID_SHA_256,
                parameters: Some(Any::null()),
            },
            hashed_message: OctetString::new(imprint.to_vec()).map_err(invalid)?,
        },
        req_policy: None,
        nonce: Some(Int::new(nonce).map_err(invalid)?),
        cert_req: true,
        extensions: None,
    }
    .to_der()
    .map_err(invalid)
}

/// Asks `tsa` for a token over the SHA-256 `imprint` and checks it.
pub fn stamp(tsa: &dyn Timestamper, imprint: &[u8; 32]) -> Result<Token, TimestampError> {
    let mut nonce = [0u8; 8];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut nonce)
        .map_err(|_| TimestampError::Invalid("no random source for the nonce".into()))?;
    nonce[0] = (nonce[0] & 0x7f) | 0x01; // a positive INTEGER in minimal form
    let response = tsa.exchange(&request(imprint, &nonce)?)?;
    let token = token_of(&response)?;
    check(&token, imprint, Some(&nonce))
}

/// The token of a TimeStampResp, when its status grants one.
fn token_of(response: &[u8]) -> Result<Vec<u8>, TimestampError> {
    let response = TimeStampResp::from_der(response)
        .map_err(|e| TimestampError::Invalid(format!("unreadable TimeStampResp: {e}")))?;
    let status = response.status.status as u8;
    if status > 1 {
        let text = response
            .status
            .status_string
            .as_ref()
            .map(|s| format!("{s:?}"))
            .unwrap_or_default();
        return Err(TimestampError::Refused(format!("status {status} {text}")));
    }
    response
        .time_stamp_token
        .ok_or_else(|| TimestampError::Invalid("a granted response without a token".into()))?
        .to_der()
        .map_err(|e| TimestampError::Invalid(e.to_string()))
}

/// Checks a token: its CMS signature, that it stamps `imprint` (SHA-256), the nonce when
/// one was sent, and that its signer is a TSA certificate (critical timeStamping EKU).
pub fn check(token: &[u8], imprint: &[u8], nonce: Option<&[u8]>) -> Result<Token, TimestampError> {
    checked(token, Some(imprint), nonce)
}

/// A token checked on its own (signature, authority) without knowing what it stamps.
pub fn parse(token: &[u8]) -> Result<Token, TimestampError> {
    checked(token, None, None)
}

/// [`check`], with the imprint compared only when one is expected.
fn checked(
    token: &[u8],
    imprint: Option<&[u8]>,
    nonce: Option<&[u8]>,
) -> Result<Token, TimestampError> {
    let invalid = |m: String| TimestampError::Invalid(m);
    let (report, content) = cms::verify_encapsulated(token, TST_INFO)
        .map_err(|e: CmsError| invalid(format!("token: {e}")))?;
    if !(report.digest_matches && report.signature_valid && report.signing_certificate_matches) {
        return Err(invalid(format!(
            "the token's signature does not verify: {}",
            report.errors.join("; ")
        )));
    }
    let info = TstInfo::from_der(&content).map_err(|e| invalid(format!("TSTInfo: {e}")))?;
    let imprinted = &info.message_imprint;
    if imprinted.hash_algorithm.oid != rfc5912::ID_SHA_256
        || imprint.is_some_and(|i| imprinted.hashed_message.as_bytes() != i)
    {
        return Err(invalid(
            "the token stamps other data than the signature".into(),
        ));
    }
    if let Some(nonce) = nonce {
        if info.nonce.as_ref().map(|n| n.as_bytes()) != Some(nonce) {
            return Err(invalid(
                "the token's nonce differs from the request's".into(),
            ));
        }
    }
    let seconds = info.gen_time.to_unix_duration().as_secs();
    let time =
        OffsetDateTime::from_unix_timestamp(seconds as i64).map_err(|e| invalid(e.to_string()))?;
    let tsa = tsa_subject(&report.signer_certificate)?;
    Ok(Token {
        der: token.to_vec(),
        time,
        tsa_certificate: report.signer_certificate,
        certificates: report.certificates,
        tsa,
    })
}

/// The subject of a certificate that may sign timestamps: its extended key usage is
/// critical and names timeStamping only.
fn tsa_subject(der: &[u8]) -> Result<String, TimestampError> {
    let invalid = |m: &str| TimestampError::Invalid(m.to_string());
    let unreadable = |e: der::Error| TimestampError::Invalid(format!("TSA certificate: {e}"));
    let cert = x509_cert::Certificate::from_der(der).map_err(unreadable)?;
    let (critical, eku) = cert
        .tbs_certificate
        .get::<x509_cert::ext::pkix::ExtendedKeyUsage>()
        .map_err(unreadable)?
        .ok_or_else(|| invalid("the TSA certificate has no extended key usage"))?;
    if !eku.0.contains(&TIME_STAMPING) || !critical {
        return Err(invalid(
            "the TSA certificate is not for timestamps (critical timeStamping EKU required)",
        ));
    }
    Ok(super::certificate::name_to_string(
        &cert.tbs_certificate.subject,
    ))
}

/// Adds a signature timestamp from `tsa` to a CMS signature (PAdES B-T).
pub fn add_signature_timestamp(
    cms_der: &[u8],
    tsa: &dyn Timestamper,
) -> Result<(Vec<u8>, Token), TimestampError> {
    let signature =
        cms::signature_value(cms_der).map_err(|e| TimestampError::Invalid(e.to_string()))?;
    let imprint: [u8; 32] = Sha256::digest(&signature).into();
    let token = stamp(tsa, &imprint)?;
    let der = cms::with_unsigned_attribute(cms_der, SIGNATURE_TIME_STAMP_TOKEN, &token.der)
        .map_err(|e| TimestampError::Invalid(e.to_string()))?;
    Ok((der, token))
}

/// The signature timestamp of a CMS signature, checked against its signature value;
/// `None` when it has none.
pub fn signature_timestamp(cms_der: &[u8]) -> Option<Result<Token, TimestampError>> {
    let tokens = cms::unsigned_attribute(cms_der, SIGNATURE_TIME_STAMP_TOKEN).ok()?;
    let token = tokens.first()?;
    Some(
        cms::signature_value(cms_der)
            .map_err(|e| TimestampError::Invalid(e.to_string()))
            .and_then(|signature| check(token, &Sha256::digest(&signature), None)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_carries_the_imprint_nonce_and_cert_request() {
        let der = request(&[7u8; 32], &[0x12, 0x34]).unwrap();
        let parsed = TimeStampReq::from_der(&der).unwrap();
        assert_eq!(parsed.message_imprint.hashed_message.as_bytes(), &[7u8; 32]);
        assert_eq!(parsed.nonce.unwrap().as_bytes(), &[0x12, 0x34]);
        assert!(parsed.cert_req);
    }

    #[test]
    fn only_a_certificate_for_timestamps_may_sign_them() {
        let pki = crate::certify::keycheck::testing::pki();
        let der = |p: &std::path::Path| std::fs::read(p).unwrap();
        assert!(tsa_subject(&der(&pki.tsa.cert_der))
            .unwrap()
            .contains("TSA"));
        let refused = tsa_subject(&der(&pki.office_rsa.cert_der)).unwrap_err();
        assert!(
            refused.to_string().contains("extended key usage"),
            "{refused}"
        );
    }

    #[test]
    fn garbage_is_not_a_token() {
        assert!(matches!(
            token_of(b"\x30\x03\x02\x01\x05"),
            Err(TimestampError::Invalid(_))
        ));
        assert!(matches!(
            check(b"junk", &[0; 32], None),
            Err(TimestampError::Invalid(_))
        ));
    }
}
