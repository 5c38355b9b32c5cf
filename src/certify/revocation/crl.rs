//! Revocation evidence from a certificate revocation list (RFC 5280 §5), for
//! certificates whose issuer runs no OCSP responder: the list named by the certificate's
//! CRL distribution point, checked before it is trusted or kept — issued and signed by
//! the certificate's issuer, current — and searched for the certificate's serial number.
//! A PAdES B-LT copy keeps the checked list in its DSS (`/CRLs`).
//!
//! Sans-I/O except for [`fetch`], which asks [`Online`] for the list.

use der::asn1::{AnyRef, BitStringRef};
use der::{Decode, Encode};
use spki::AlgorithmIdentifierRef;
use time::OffsetDateTime;

use super::{Evidence, Online, RevocationError, Source, Status};
use crate::certify::alg::{Hash, SigAlg};
use crate::certify::certificate;

/// The largest list fetched: a big CA's list runs to a few MiB.
pub const MAX_CRL_BYTES: u64 = 16 << 20;

fn invalid(message: impl Into<String>) -> RevocationError {
    RevocationError::Invalid(format!("CRL: {}", message.into()))
}

/// The first HTTP(S) address among the certificate's CRL distribution points.
pub fn distribution_point(cert: &[u8]) -> Option<String> {
    use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
    let (_, cert) = x509_parser::parse_x509_certificate(cert).ok()?;
    cert.extensions()
        .iter()
        .find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::CRLDistributionPoints(points) => {
                points
                    .iter()
                    .find_map(|point| match &point.distribution_point {
                        Some(DistributionPointName::FullName(names)) => {
                            names.iter().find_map(|name| match name {
                                GeneralName::URI(uri)
                                    if uri.starts_with("http://")
                                        || uri.starts_with("https://") =>
                                {
                                    Some(uri.to_string())
                                }
                                _ => None,
                            })
                        }
                        _ => None,
                    })
            }
            _ => None,
        })
}

/// Fetches the list at the certificate's distribution point and checks it now: it must
/// not be past its next update.
pub fn fetch(online: &dyn Online, cert: &[u8], issuer: &[u8]) -> Result<Evidence, RevocationError> {
    let url = distribution_point(cert).ok_or(RevocationError::NoResponder)?;
    let list = online
        .get(&url, MAX_CRL_BYTES)
        .map_err(RevocationError::Transport)?;
    let now = OffsetDateTime::now_utc();
    let (evidence, next_update) = check(&list, cert, issuer)?;
    if next_update.is_some_and(|next| next < now) {
        return Err(invalid(format!("the list from {url} is out of date")));
    }
    Ok(evidence)
}

/// Checks a DER CertificateList (v1 or v2) against `cert` and its `issuer` (both DER):
/// issued and signed by the issuer; the certificate's status in it, and the list's next
/// update.
pub fn check(
    list: &[u8],
    cert: &[u8],
    issuer: &[u8],
) -> Result<(Evidence, Option<OffsetDateTime>), RevocationError> {
    // x509-parser reads v1 lists too (x509-cert 0.2 requires the version field).
    let (_, parsed) = x509_parser::parse_x509_crl(list).map_err(|e| invalid(e.to_string()))?;
    let (_, cert) =
        x509_parser::parse_x509_certificate(cert).map_err(|e| invalid(e.to_string()))?;
    let (_, issuer_cert) =
        x509_parser::parse_x509_certificate(issuer).map_err(|e| invalid(e.to_string()))?;
    let authority = issuer_cert.subject().as_raw();
    if parsed.issuer().as_raw() != authority || cert.issuer().as_raw() != authority {
        return Err(invalid("the list is not from the certificate's issuer"));
    }
    check_signature(list, issuer)?;
    let serial = cert.raw_serial();
    let status = match parsed
        .iter_revoked_certificates()
        .find(|r| r.raw_serial() == serial)
    {
        Some(entry) => Status::Revoked(unix(entry.revocation_date.timestamp())?),
        None => Status::Good,
    };
    let evidence = Evidence {
        response: list.to_vec(),
        status,
        produced_at: unix(parsed.last_update().timestamp())?,
        responder: None,
        source: Source::Crl,
    };
    let next = parsed
        .next_update()
        .map(|t| unix(t.timestamp()))
        .transpose()?;
    Ok((evidence, next))
}

/// A signed list's three parts, the first kept as its exact bytes.
#[derive(der::Sequence)]
struct SignedList<'a> {
    tbs: AnyRef<'a>,
    algorithm: AlgorithmIdentifierRef<'a>,
    signature: BitStringRef<'a>,
}

fn check_signature(list: &[u8], issuer: &[u8]) -> Result<(), RevocationError> {
    let signed = SignedList::from_der(list).map_err(|e| invalid(e.to_string()))?;
    let tbs = signed.tbs.to_der().map_err(|e| invalid(e.to_string()))?;
    let alg = SigAlg::from_identifier(&signed.algorithm, None::<Hash>).map_err(invalid)?;
    let verified = certificate::public_key(issuer)
        .ok()
        .and_then(|key| key.verify(alg, &tbs, signed.signature.raw_bytes()).ok())
        .unwrap_or(false);
    if verified {
        Ok(())
    } else {
        Err(invalid("its signature is not the issuer's"))
    }
}

fn unix(seconds: i64) -> Result<OffsetDateTime, RevocationError> {
    OffsetDateTime::from_unix_timestamp(seconds).map_err(|e| invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_refused_and_a_certificate_without_a_point_names_none() {
        let pki = crate::certify::keycheck::testing::pki();
        let der = |p: &std::path::Path| std::fs::read(p).unwrap();
        let (office, root) = (der(&pki.office_rsa.cert_der), der(&pki.root_der));
        assert!(matches!(
            check(b"junk", &office, &root),
            Err(RevocationError::Invalid(_))
        ));
        assert_eq!(distribution_point(&office), None);
    }
}
