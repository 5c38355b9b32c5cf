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

use x509_cert::crl::RevokedCert;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::CrlDistributionPoints;
use x509_cert::ext::Extensions;
use x509_cert::name::Name;
use x509_cert::time::Time;
use x509_cert::Certificate;

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
    let cert = Certificate::from_der(cert).ok()?;
    let (_, points) = cert.tbs_certificate.get::<CrlDistributionPoints>().ok()??;
    points
        .0
        .iter()
        .find_map(|point| match &point.distribution_point {
            Some(DistributionPointName::FullName(names)) => names.iter().find_map(http_uri),
            _ => None,
        })
}

/// The address a general name holds, when it is an HTTP(S) URI.
pub(super) fn http_uri(name: &GeneralName) -> Option<String> {
    match name {
        GeneralName::UniformResourceIdentifier(uri)
            if uri.as_str().starts_with("http://") || uri.as_str().starts_with("https://") =>
        {
            Some(uri.to_string())
        }
        _ => None,
    }
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
    let parsed = CertList::from_der(list).map_err(|e| invalid(e.to_string()))?;
    let cert = Certificate::from_der(cert).map_err(|e| invalid(e.to_string()))?;
    let issuer_cert = Certificate::from_der(issuer).map_err(|e| invalid(e.to_string()))?;
    let authority = &issuer_cert.tbs_certificate.subject;
    if parsed.tbs.issuer != *authority || cert.tbs_certificate.issuer != *authority {
        return Err(invalid("the list is not from the certificate's issuer"));
    }
    check_signature(list, issuer)?;
    let serial = &cert.tbs_certificate.serial_number;
    let revoked = parsed.tbs.revoked_certificates.as_deref().unwrap_or(&[]);
    let status = match revoked.iter().find(|r| r.serial_number == *serial) {
        Some(entry) => Status::Revoked(time_of(entry.revocation_date)?),
        None => Status::Good,
    };
    let evidence = Evidence {
        response: list.to_vec(),
        status,
        produced_at: time_of(parsed.tbs.this_update)?,
        responder: None,
        source: Source::Crl,
    };
    let next = parsed.tbs.next_update.map(time_of).transpose()?;
    Ok((evidence, next))
}

/// `CertificateList` (RFC 5280 §5.1), read with the version optional: version 1 lists
/// leave it out, and `x509-cert` 0.2's own type requires it.
#[derive(der::Sequence)]
struct CertList {
    tbs: TbsCertList,
    algorithm: spki::AlgorithmIdentifierOwned,
    signature: der::asn1::BitString,
}

/// `TBSCertList`, version optional.
#[derive(der::Sequence)]
struct TbsCertList {
    version: Option<x509_cert::Version>,
    signature: spki::AlgorithmIdentifierOwned,
    issuer: Name,
    this_update: Time,
    next_update: Option<Time>,
    revoked_certificates: Option<Vec<RevokedCert>>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    crl_extensions: Option<Extensions>,
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

fn time_of(t: Time) -> Result<OffsetDateTime, RevocationError> {
    let seconds =
        i64::try_from(t.to_unix_duration().as_secs()).map_err(|e| invalid(e.to_string()))?;
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
