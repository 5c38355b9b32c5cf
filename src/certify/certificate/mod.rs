//! X.509 certificate checks: what a certificate says (names, validity, key usage, key),
//! whether it may sign, whether a signature was made by its key ([`alg`](super::alg)),
//! and whether it chains to a trusted root ([`chain`]).
//!
//! Certificates are read with the RustCrypto `x509-cert` types, the same ones CMS
//! signatures, OCSP answers and CRLs are read with; signatures are verified with `ring`.
//! Supported signatures: RSA PKCS#1 v1.5 and RSASSA-PSS with SHA-256/384/512 (RSA 2048 to
//! 8192 bits), ECDSA on P-256 and P-384 with SHA-256/384.

mod chain;
mod names;
#[cfg(test)]
pub(crate) mod testing;

use der::asn1::{AnyRef, BitStringRef};
use der::{Decode, Encode, Sequence};
use time::macros::format_description;
use time::OffsetDateTime;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};
use x509_cert::Certificate;

pub use chain::verify_chain;
pub(crate) use names::name_to_string;

use super::alg::{PublicKey, SigAlg};
use super::key::SignatureScheme;

/// Facts about a certificate needed for signing and verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// Subject name, RFC 4514 style (most specific first), e.g. `CN=Nguyễn Văn A, O=UBND xã Tân Phú, C=VN`.
    pub subject: String,
    /// Issuer name, formatted like `subject`.
    pub issuer: String,
    /// Serial number in upper-case hex, without sign padding.
    pub serial_hex: String,
    /// Start of the validity period.
    pub not_before: OffsetDateTime,
    /// End of the validity period.
    pub not_after: OffsetDateTime,
    /// Whether the key may sign documents: keyUsage has digitalSignature or
    /// nonRepudiation, or there is no keyUsage extension (RFC 5280: no restriction).
    pub key_usage_ok: bool,
    /// Whether basicConstraints says this is a CA certificate.
    pub is_ca: bool,
    /// The public key, e.g. `RSA 2048` or `EC P-256`.
    pub public_key_description: String,
}

/// Why a certificate was refused or could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// The bytes are not a DER X.509 certificate.
    #[error("not a valid X.509 certificate: {0}")]
    Malformed(String),
    /// The certificate is not valid yet at the time asked about.
    #[error("certificate of {subject} is not valid before {}", utc(*from))]
    NotYetValid {
        /// Subject of the certificate.
        subject: String,
        /// Start of its validity.
        from: OffsetDateTime,
    },
    /// The certificate expired before the time asked about.
    #[error("certificate of {subject} expired on {}", utc(*on))]
    Expired {
        /// Subject of the certificate.
        subject: String,
        /// End of its validity.
        on: OffsetDateTime,
    },
    /// The key usage extension forbids document signatures.
    #[error("certificate of {subject} may not sign documents: {reason}")]
    KeyUsage {
        /// Subject of the certificate.
        subject: String,
        /// What the key usage allows instead.
        reason: String,
    },
    /// The key is too weak or of a kind sohoa does not sign with.
    #[error("certificate of {subject} has an unsuitable key: {reason}")]
    Key {
        /// Subject of the certificate.
        subject: String,
        /// What is wrong with the key.
        reason: String,
    },
    /// The algorithm or key cannot be checked by sohoa.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// No valid path to a trust anchor.
    #[error("certificate chain: {0}")]
    Chain(String),
}

/// Reads the facts sohoa needs from a DER certificate.
pub fn inspect(der: &[u8]) -> Result<CertificateInfo, CertError> {
    Parsed::new(der)?.info()
}

/// Refuses a certificate that cannot sign at `at`: not yet valid, expired, key usage
/// without digitalSignature/nonRepudiation, RSA under 2048 bits, EC curve other than
/// P-256/P-384, or another key type.
pub fn check_signing(der: &[u8], at: OffsetDateTime) -> Result<CertificateInfo, CertError> {
    let parsed = Parsed::new(der)?;
    let info = parsed.info()?;
    check_validity(&info, at)?;
    if !info.key_usage_ok {
        return Err(CertError::KeyUsage {
            subject: info.subject.clone(),
            reason: format!(
                "its key usage allows only {}, neither digitalSignature nor nonRepudiation",
                parsed.key_usage_names()?.join(", ")
            ),
        });
    }
    if let Some(reason) = parsed.key.weakness() {
        return Err(CertError::Key {
            subject: info.subject,
            reason,
        });
    }
    Ok(info)
}

/// Verifies that `signature` over `message` was made by the key in certificate `der` with
/// `scheme` (used to prove a private key matches its certificate). `Ok(false)`: the
/// signature does not verify; `Err`: the certificate cannot be read or its key does not
/// fit `scheme`.
pub fn verify_with_certificate(
    der: &[u8],
    scheme: SignatureScheme,
    message: &[u8],
    signature: &[u8],
) -> Result<bool, CertError> {
    let parsed = Parsed::new(der)?;
    parsed
        .key
        .verify(SigAlg::from_scheme(scheme), message, signature)
        .map_err(CertError::Unsupported)
}

/// The public key of a DER certificate, ready for signature checks (used by `cms`).
pub(crate) fn public_key(der: &[u8]) -> Result<PublicKey, CertError> {
    Ok(Parsed::new(der)?.key)
}

fn check_validity(info: &CertificateInfo, at: OffsetDateTime) -> Result<(), CertError> {
    if at < info.not_before {
        return Err(CertError::NotYetValid {
            subject: info.subject.clone(),
            from: info.not_before,
        });
    }
    if at > info.not_after {
        return Err(CertError::Expired {
            subject: info.subject.clone(),
            on: info.not_after,
        });
    }
    Ok(())
}

/// `2025-01-31 23:59:59 UTC`.
fn utc(t: OffsetDateTime) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    t.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| t.to_string())
}

fn malformed(e: impl std::fmt::Display) -> CertError {
    CertError::Malformed(e.to_string())
}

/// `Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }`, with
/// the parts a signature check needs kept as they are in the DER.
#[derive(Sequence)]
struct SignedCertificate<'a> {
    tbs: AnyRef<'a>,
    algorithm: spki::AlgorithmIdentifierRef<'a>,
    signature: BitStringRef<'a>,
}

/// A certificate parsed once: its fields, its signed parts as they are in the DER, its key.
struct Parsed<'a> {
    der: &'a [u8],
    cert: Certificate,
    outer: SignedCertificate<'a>,
    key: PublicKey,
}

impl<'a> Parsed<'a> {
    fn new(der: &'a [u8]) -> Result<Self, CertError> {
        let cert = Certificate::from_der(der).map_err(malformed)?;
        if cert.tbs_certificate.signature != cert.signature_algorithm {
            return Err(malformed("the inner and outer signature algorithms differ"));
        }
        let outer = SignedCertificate::from_der(der).map_err(malformed)?;
        let spki = cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(malformed)?;
        let key = PublicKey::from_spki(&spki).map_err(CertError::Malformed)?;
        Ok(Parsed {
            der,
            cert,
            outer,
            key,
        })
    }

    fn subject(&self) -> String {
        name_to_string(&self.cert.tbs_certificate.subject)
    }

    fn issuer(&self) -> String {
        name_to_string(&self.cert.tbs_certificate.issuer)
    }

    /// Whether this certificate's subject is `child`'s issuer, byte for byte (as chain
    /// builders commonly compare; CAs copy the issuer name).
    fn issued(&self, child: &Parsed<'_>) -> bool {
        self.cert.tbs_certificate.subject == child.cert.tbs_certificate.issuer
    }

    /// The keyUsage extension, if any.
    fn key_usage(&self) -> Result<Option<KeyUsage>, CertError> {
        self.extension::<KeyUsage>()
    }

    /// The basicConstraints extension, if any.
    fn basic_constraints(&self) -> Result<Option<BasicConstraints>, CertError> {
        self.extension::<BasicConstraints>()
    }

    fn extension<T>(&self) -> Result<Option<T>, CertError>
    where
        T: for<'d> Decode<'d> + const_oid::AssociatedOid,
    {
        let found = self.cert.tbs_certificate.get::<T>();
        Ok(found.map_err(malformed)?.map(|(_, value)| value))
    }

    fn info(&self) -> Result<CertificateInfo, CertError> {
        let key_usage = self.key_usage()?;
        let constraints = self.basic_constraints()?;
        let validity = &self.cert.tbs_certificate.validity;
        Ok(CertificateInfo {
            subject: self.subject(),
            issuer: self.issuer(),
            serial_hex: serial_hex(self.cert.tbs_certificate.serial_number.as_bytes()),
            not_before: date_time(validity.not_before)?,
            not_after: date_time(validity.not_after)?,
            key_usage_ok: key_usage.is_none_or(|ku| ku.digital_signature() || ku.non_repudiation()),
            is_ca: constraints.is_some_and(|bc| bc.ca),
            public_key_description: self.key.describe(),
        })
    }

    /// The keyUsage bits that are set, by their RFC 5280 names.
    fn key_usage_names(&self) -> Result<Vec<&'static str>, CertError> {
        let Some(ku) = self.key_usage()? else {
            return Ok(vec!["anything"]);
        };
        let bits = [
            (ku.digital_signature(), "digitalSignature"),
            (ku.non_repudiation(), "nonRepudiation"),
            (ku.key_encipherment(), "keyEncipherment"),
            (ku.data_encipherment(), "dataEncipherment"),
            (ku.key_agreement(), "keyAgreement"),
            (ku.key_cert_sign(), "keyCertSign"),
            (ku.crl_sign(), "cRLSign"),
            (ku.encipher_only(), "encipherOnly"),
            (ku.decipher_only(), "decipherOnly"),
        ];
        let names: Vec<_> = bits
            .iter()
            .filter(|(set, _)| *set)
            .map(|(_, n)| *n)
            .collect();
        Ok(if names.is_empty() {
            vec!["nothing"]
        } else {
            names
        })
    }

    /// Checks that this certificate's key made `child`'s signature.
    fn verifies(&self, child: &Parsed<'_>) -> Result<(), String> {
        let alg = SigAlg::from_identifier(&child.outer.algorithm, None)?;
        let signature = child
            .outer
            .signature
            .as_bytes()
            .ok_or("the signature BIT STRING has unused bits")?;
        let tbs = child.outer.tbs.to_der().map_err(|e| e.to_string())?;
        match self.key.verify(alg, &tbs, signature)? {
            true => Ok(()),
            false => Err(format!("{} signature is invalid", alg.describe())),
        }
    }
}

/// A certificate time as `time` has it.
fn date_time(t: x509_cert::time::Time) -> Result<OffsetDateTime, CertError> {
    let seconds = i64::try_from(t.to_unix_duration().as_secs()).map_err(malformed)?;
    OffsetDateTime::from_unix_timestamp(seconds).map_err(malformed)
}

/// Upper-case hex of a serial number's content octets, leading zero octets dropped.
fn serial_hex(raw: &[u8]) -> String {
    let start = raw
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(raw.len().saturating_sub(1));
    hex::encode_upper(&raw[start.min(raw.len())..])
}

#[cfg(test)]
mod tests {
    use super::names::{decode_string, escape_rfc4514};
    use super::testing::{pki, TestKey};
    use super::*;
    use crate::certify::alg::Hash;
    use spki::AlgorithmIdentifierRef;
    use time::macros::datetime;

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    #[test]
    fn inspect_reads_vietnamese_names_and_keys() {
        let pki = pki();
        let info = inspect(&pki.rsa.cert).unwrap();
        // The fixture writes its names CN first: RFC 4514 text reverses the RDNs.
        assert_eq!(info.subject, "O=UBND xã Thử Nghiệm, CN=Nguyễn Văn An");
        assert_eq!(
            info.issuer,
            "O=Thử nghiệm, CN=Test Root CA sohoa (TEST ONLY)"
        );
        assert_eq!(info.public_key_description, "RSA 2048");
        assert!(info.key_usage_ok && !info.is_ca);
        assert!(
            !info.serial_hex.is_empty() && info.serial_hex.chars().all(|c| c.is_ascii_hexdigit())
        );
        assert_eq!(
            inspect(&pki.ec256.cert).unwrap().public_key_description,
            "EC P-256"
        );
        assert_eq!(
            inspect(&pki.ec384.cert).unwrap().public_key_description,
            "EC P-384"
        );
        let root = inspect(&pki.root).unwrap();
        assert!(root.is_ca && !root.key_usage_ok);
    }

    #[test]
    fn pss_with_the_longest_salt_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let (key, message, signature) = (
            dir.path().join("key.der"),
            dir.path().join("message"),
            dir.path().join("signature"),
        );
        std::fs::write(&key, &pki().rsa.pkcs8).unwrap();
        std::fs::write(&message, "Chứng thực bản sao").unwrap();
        let out = std::process::Command::new("openssl")
            .args(["dgst", "-sha256", "-keyform", "DER", "-sign"])
            .arg(&key)
            .args([
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:max",
                "-out",
            ])
            .arg(&signature)
            .arg(&message)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (message, mut signature) = (
            std::fs::read(&message).unwrap(),
            std::fs::read(&signature).unwrap(),
        );
        // RSA-2048 with SHA-256: 256 − 32 − 2 bytes of salt.
        let alg = SigAlg::RsaPssSalt(Hash::Sha256, 222);
        let identifier = alg.identifier().unwrap();
        let read = SigAlg::from_identifier(
            &AlgorithmIdentifierRef {
                oid: identifier.oid,
                parameters: identifier.parameters.as_ref().map(AnyRef::from),
            },
            None,
        )
        .unwrap();
        assert_eq!(read, alg);
        let key = public_key(&pki().rsa.cert).unwrap();
        assert_eq!(key.verify(alg, &message, &signature), Ok(true));
        assert_eq!(
            key.verify(SigAlg::RsaPss(Hash::Sha256), &message, &signature),
            Ok(false)
        );
        signature[10] ^= 1;
        assert_eq!(key.verify(alg, &message, &signature), Ok(false));
    }

    #[test]
    fn malformed_certificates_are_errors() {
        let cert = &pki().rsa.cert;
        for bad in [
            &b""[..],
            b"not a certificate",
            &cert[..cert.len() / 2],
            &cert[1..],
        ] {
            assert!(matches!(inspect(bad), Err(CertError::Malformed(_))));
        }
        let mut trailing = cert.clone();
        trailing.push(0);
        assert!(inspect(&trailing).is_err());
    }

    #[test]
    fn check_signing_accepts_office_certificates() {
        let pki = pki();
        for cert in [&pki.rsa.cert, &pki.ec256.cert, &pki.ec384.cert] {
            check_signing(cert, now()).unwrap();
        }
    }

    #[test]
    fn check_signing_refuses_expired_with_the_date() {
        let err = check_signing(&pki().expired, now()).unwrap_err();
        assert!(matches!(err, CertError::Expired { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            "certificate of O=UBND xã Thử Nghiệm, CN=Phạm Văn Hết Hạn expired on 2021-01-01 00:00:00 UTC"
        );
        let early = check_signing(&pki().expired, datetime!(2019-06-01 0:00 UTC)).unwrap_err();
        assert!(
            early.to_string().contains("is not valid before 2020-01-01"),
            "{early}"
        );
        check_signing(&pki().expired, datetime!(2020-06-01 0:00 UTC)).unwrap();
    }

    #[test]
    fn check_signing_refuses_wrong_key_usage_and_weak_keys() {
        let err = check_signing(&pki().encipher, now()).unwrap_err();
        assert!(matches!(err, CertError::KeyUsage { .. }), "{err}");
        assert!(
            err.to_string().contains("allows only keyEncipherment"),
            "{err}"
        );
        let err = check_signing(&pki().weak, now()).unwrap_err();
        assert!(err.to_string().contains("RSA key of 1024 bits"), "{err}");
        let err = check_signing(&pki().root, now()).unwrap_err();
        assert!(err.to_string().contains("keyCertSign, cRLSign"), "{err}");
    }

    #[test]
    fn verify_with_certificate_matches_keys() {
        let pki = pki();
        let cases = [
            (&pki.rsa, SignatureScheme::RsaPssSha256),
            (&pki.rsa, SignatureScheme::RsaPkcs1Sha256),
            (&pki.ec256, SignatureScheme::EcdsaP256Sha256),
            (&pki.ec384, SignatureScheme::EcdsaP384Sha384),
        ];
        for (issued, scheme) in cases {
            let key = TestKey::new(issued, scheme);
            let signature = crate::certify::key::SigningKey::sign(&key, b"message").unwrap();
            assert!(verify_with_certificate(&issued.cert, scheme, b"message", &signature).unwrap());
            assert!(
                !verify_with_certificate(&issued.cert, scheme, b"massage", &signature).unwrap()
            );
            assert!(
                !verify_with_certificate(&pki.expired, scheme, b"message", &signature)
                    .unwrap_or(false)
            );
        }
        let err =
            verify_with_certificate(&pki.ec256.cert, SignatureScheme::RsaPssSha256, b"m", b"s");
        assert!(err
            .unwrap_err()
            .to_string()
            .contains("EC P-256 key cannot check a RSASSA-PSS"));
    }

    #[test]
    fn verify_chain_reaches_the_root() {
        let pki = pki();
        let anchors = [pki.other_root.clone(), pki.root.clone()];
        let path = verify_chain(&pki.rsa.cert, &[], &anchors, now()).unwrap();
        assert_eq!(path.len(), 2);
        assert_eq!(
            path[1].subject,
            "O=Thử nghiệm, CN=Test Root CA sohoa (TEST ONLY)"
        );
        let path = verify_chain(
            &pki.ec256.cert,
            &[pki.sub.clone(), pki.rsa.cert.clone()],
            &anchors,
            now(),
        )
        .unwrap();
        let subjects: Vec<_> = path.iter().map(|i| i.subject.as_str()).collect();
        assert_eq!(
            subjects,
            [
                "O=UBND xã Thử Nghiệm, CN=Đỗ Thị Hoa",
                "O=Thử nghiệm, CN=Test Sub CA sohoa (TEST ONLY)",
                "O=Thử nghiệm, CN=Test Root CA sohoa (TEST ONLY)"
            ]
        );
        let path = verify_chain(&pki.root, &[], &anchors, now()).unwrap();
        assert_eq!(path.len(), 1);
    }

    #[test]
    fn verify_chain_errors_are_precise() {
        let pki = pki();
        let err = verify_chain(
            &pki.rsa.cert,
            &[],
            std::slice::from_ref(&pki.other_root),
            now(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "certificate chain: O=UBND xã Thử Nghiệm, CN=Nguyễn Văn An does not lead to a trusted root: its issuer O=Thử nghiệm, CN=Test Root CA sohoa (TEST ONLY) is neither a trust anchor nor among the intermediate certificates"
        );
        let err = verify_chain(
            &pki.rsa.cert,
            &[],
            std::slice::from_ref(&pki.twin_root),
            now(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains(
                "does not verify with the key of trust anchor O=Thử nghiệm, CN=Test Root CA"
            ),
            "{err}"
        );
        let err =
            verify_chain(&pki.ec256.cert, &[], std::slice::from_ref(&pki.root), now()).unwrap_err();
        assert!(
            err.to_string()
                .contains("its issuer O=Thử nghiệm, CN=Test Sub CA"),
            "{err}"
        );
        let err =
            verify_chain(&pki.expired, &[], std::slice::from_ref(&pki.root), now()).unwrap_err();
        assert!(matches!(err, CertError::Expired { .. }), "{err}");
        let err = verify_chain(
            &pki.ec256.cert,
            std::slice::from_ref(&pki.sub),
            std::slice::from_ref(&pki.root),
            datetime!(2100-01-01 0:00 UTC),
        )
        .unwrap_err();
        assert!(err.to_string().contains("expired on"), "{err}");
    }

    #[test]
    fn rfc4514_escaping_and_string_types() {
        assert_eq!(escape_rfc4514(" a,b+c "), r"\ a\,b\+c\ ");
        assert_eq!(escape_rfc4514("#x"), r"\#x");
        use der::Tag;
        let bmp: Vec<u8> = "Nguyễn".encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(
            decode_string(Tag::BmpString, &bmp).as_deref(),
            Some("Nguyễn")
        );
        assert_eq!(serial_hex(&[0, 0x9a, 0x01]), "9A01");
    }
}
