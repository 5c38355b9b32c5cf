//! Revocation evidence from OCSP (RFC 6960): the request for a certificate, found at the
//! address in its Authority Information Access, and the answer checked before it is
//! trusted or kept — signed by the issuer or by a responder the issuer delegated
//! (id-kp-OCSPSigning), about this very certificate, and current. The checked answer is
//! what a PAdES B-LT copy keeps in its DSS.
//!
//! Sans-I/O except for [`fetch`], which asks [`Online`] for the answer.

use const_oid::db::rfc5280;
use const_oid::db::rfc5912;
use der::asn1::{AnyRef, OctetString};
use der::{Decode, Encode};
use spki::AlgorithmIdentifierRef;
use time::OffsetDateTime;
use x509_cert::ext::pkix::{AuthorityInfoAccessSyntax, ExtendedKeyUsage};
use x509_cert::Certificate;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus, Request,
    TbsRequest, Version,
};

use super::{Evidence, Online, RevocationError, Source, Status};
use crate::certify::alg::{Hash, SigAlg};
use crate::certify::certificate;

/// The OCSP basic response type.
const ID_PKIX_OCSP_BASIC: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
/// How old an answer may be when it is fetched for signing.
const FRESH_SECONDS: i64 = 7 * 24 * 3600;

fn invalid(message: impl Into<String>) -> RevocationError {
    RevocationError::Invalid(message.into())
}

/// The OCSP responder address in a certificate's Authority Information Access.
pub fn responder_url(cert: &[u8]) -> Option<String> {
    let cert = Certificate::from_der(cert).ok()?;
    let (_, access) = cert
        .tbs_certificate
        .get::<AuthorityInfoAccessSyntax>()
        .ok()??;
    access
        .0
        .iter()
        .filter(|d| d.access_method == rfc5280::ID_AD_OCSP)
        .find_map(|d| super::crl::http_uri(&d.access_location))
}

/// The CertID (SHA-1, as every responder understands; it only names the certificate).
fn cert_id(cert: &Certificate, issuer: &Certificate) -> Result<CertId, RevocationError> {
    let sha1 = |bytes: &[u8]| {
        ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, bytes)
            .as_ref()
            .to_vec()
    };
    let name = issuer
        .tbs_certificate
        .subject
        .to_der()
        .map_err(|e| invalid(e.to_string()))?;
    let key = issuer
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    Ok(CertId {
        hash_algorithm: spki::AlgorithmIdentifierOwned {
            oid: rfc5912::ID_SHA_1,
            parameters: Some(der::Any::null()),
        },
        issuer_name_hash: OctetString::new(sha1(&name)).map_err(|e| invalid(e.to_string()))?,
        issuer_key_hash: OctetString::new(sha1(key)).map_err(|e| invalid(e.to_string()))?,
        serial_number: cert.tbs_certificate.serial_number.clone(),
    })
}

/// An OCSP request for `cert` (DER) issued by `issuer` (DER).
pub fn request(cert: &[u8], issuer: &[u8]) -> Result<Vec<u8>, RevocationError> {
    let (cert, issuer) = parse_pair(cert, issuer)?;
    OcspRequest {
        tbs_request: TbsRequest {
            version: Version::V1,
            requestor_name: None,
            request_list: vec![Request {
                req_cert: cert_id(&cert, &issuer)?,
                single_request_extensions: None,
            }],
            request_extensions: None,
        },
        optional_signature: None,
    }
    .to_der()
    .map_err(|e| invalid(e.to_string()))
}

fn parse_pair(cert: &[u8], issuer: &[u8]) -> Result<(Certificate, Certificate), RevocationError> {
    let parse = |der: &[u8]| Certificate::from_der(der).map_err(|e| invalid(e.to_string()));
    Ok((parse(cert)?, parse(issuer)?))
}

/// Asks the certificate's responder for its status now.
pub fn fetch(online: &dyn Online, cert: &[u8], issuer: &[u8]) -> Result<Evidence, RevocationError> {
    let url = responder_url(cert).ok_or(RevocationError::NoResponder)?;
    let answer = online
        .post(&url, "application/ocsp-request", &request(cert, issuer)?)
        .map_err(RevocationError::Transport)?;
    let evidence = check(&answer, cert, issuer)?;
    let age = (OffsetDateTime::now_utc() - evidence.produced_at).whole_seconds();
    if age > FRESH_SECONDS {
        return Err(invalid(format!("the answer is {age} s old")));
    }
    Ok(evidence)
}

/// Checks an OCSPResponse about `cert` from `issuer`: status, signer, signature, and the
/// single response naming this certificate.
pub fn check(response: &[u8], cert: &[u8], issuer_der: &[u8]) -> Result<Evidence, RevocationError> {
    let (cert, issuer) = parse_pair(cert, issuer_der)?;
    let parsed = OcspResponse::from_der(response).map_err(|e| invalid(e.to_string()))?;
    if parsed.response_status != OcspResponseStatus::Successful {
        return Err(invalid(format!(
            "responder status {:?}",
            parsed.response_status
        )));
    }
    let bytes = parsed
        .response_bytes
        .ok_or_else(|| invalid("a successful answer without a response"))?;
    if bytes.response_type != ID_PKIX_OCSP_BASIC {
        return Err(invalid(format!("response type {}", bytes.response_type)));
    }
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes())
        .map_err(|e| invalid(e.to_string()))?;
    let produced_at = time_of(&basic.tbs_response_data.produced_at.0)?;
    let responder = check_signature(&basic, issuer_der, produced_at)?;
    let wanted = cert_id(&cert, &issuer)?;
    let single = basic
        .tbs_response_data
        .responses
        .iter()
        .find(|r| {
            r.cert_id.serial_number == wanted.serial_number
                && r.cert_id.issuer_key_hash == wanted.issuer_key_hash
        })
        .ok_or_else(|| invalid("the answer is about another certificate"))?;
    let status = match &single.cert_status {
        CertStatus::Good(_) => Status::Good,
        CertStatus::Revoked(info) => Status::Revoked(time_of(&info.revocation_time.0)?),
        CertStatus::Unknown(_) => Status::Unknown,
    };
    Ok(Evidence {
        response: response.to_vec(),
        status,
        produced_at,
        responder,
        source: Source::Ocsp,
    })
}

fn time_of(t: &der::asn1::GeneralizedTime) -> Result<OffsetDateTime, RevocationError> {
    OffsetDateTime::from_unix_timestamp(t.to_unix_duration().as_secs() as i64)
        .map_err(|e| invalid(e.to_string()))
}

/// Verifies the answer's signature: by the issuer itself, or by a certificate in the
/// answer that the issuer signed for OCSP (returned) and that was valid when it answered.
fn check_signature(
    basic: &BasicOcspResponse,
    issuer: &[u8],
    produced_at: OffsetDateTime,
) -> Result<Option<Vec<u8>>, RevocationError> {
    let tbs = basic
        .tbs_response_data
        .to_der()
        .map_err(|e| invalid(e.to_string()))?;
    let alg = &basic.signature_algorithm;
    let alg = AlgorithmIdentifierRef {
        oid: alg.oid,
        parameters: alg.parameters.as_ref().map(AnyRef::from),
    };
    let alg = SigAlg::from_identifier(&alg, None::<Hash>).map_err(invalid)?;
    let signature = basic.signature.raw_bytes();
    let verifies = |signer: &[u8]| -> bool {
        certificate::public_key(signer)
            .ok()
            .and_then(|key| key.verify(alg, &tbs, signature).ok())
            .unwrap_or(false)
    };
    if verifies(issuer) {
        return Ok(None);
    }
    for cert in basic.certs.iter().flatten() {
        let der = cert.to_der().map_err(|e| invalid(e.to_string()))?;
        if verifies(&der) {
            delegated(&der, issuer, produced_at)?;
            return Ok(Some(der));
        }
    }
    Err(invalid(
        "the answer's signature is neither the issuer's nor a delegated responder's",
    ))
}

/// A delegated responder: issued by `issuer`, valid when it answered (`at`: an answer
/// kept in a copy is judged years later, after the responder's certificate expired), for
/// OCSP signing.
fn delegated(responder: &[u8], issuer: &[u8], at: OffsetDateTime) -> Result<(), RevocationError> {
    certificate::verify_chain(responder, &[], &[issuer.to_vec()], at)
        .map_err(|e| invalid(format!("responder certificate: {e}")))?;
    let cert = Certificate::from_der(responder).map_err(|e| invalid(e.to_string()))?;
    let purpose = cert
        .tbs_certificate
        .get::<ExtendedKeyUsage>()
        .ok()
        .flatten()
        .is_some_and(|(_, eku)| eku.0.contains(&rfc5280::ID_KP_OCSP_SIGNING));
    if !purpose {
        return Err(invalid("the responder certificate is not for OCSP signing"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_name_the_certificate_and_garbage_is_refused() {
        let pki = crate::certify::keycheck::testing::pki();
        let der = |p: &std::path::Path| std::fs::read(p).unwrap();
        let (office, root) = (der(&pki.office_rsa.cert_der), der(&pki.root_der));
        let request = OcspRequest::from_der(&super::request(&office, &root).unwrap()).unwrap();
        let cert = Certificate::from_der(&office).unwrap();
        assert_eq!(
            request.tbs_request.request_list[0].req_cert.serial_number,
            cert.tbs_certificate.serial_number
        );
        assert!(matches!(
            check(b"junk", &office, &root),
            Err(RevocationError::Invalid(_))
        ));
        assert_eq!(responder_url(&office), None);
    }
}
