//! X.509 certificate checks: what a certificate says (names, validity, key usage, key),
//! whether it may sign, whether a signature was made by its key, and whether it chains to
//! a trusted root.
//!
//! Names, dates and extensions are read with `x509-parser`; everything that feeds a
//! signature check (algorithm identifiers, RSASSA-PSS parameters, public keys) is decoded
//! with the RustCrypto `der`/`spki` types, and signatures are verified with `ring`.
//! Supported signatures: RSA PKCS#1 v1.5 and RSASSA-PSS with SHA-256/384/512 (RSA 2048 to
//! 8192 bits; PSS only with MGF1 over the same hash and salt length = hash length, the
//! only PSS parameter sets `ring` verifies), ECDSA on P-256 and P-384 with SHA-256/384.

use const_oid::db::rfc5912;
use const_oid::ObjectIdentifier;
use der::asn1::{AnyRef, BitStringRef, UintRef};
use der::{Decode, Sequence};
use ring::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use spki::{AlgorithmIdentifierOwned, AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};
use time::macros::format_description;
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

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

/// Builds and checks a chain from `leaf` through `intermediates` to one of `anchors` (all
/// DER): names chain, each signature verifies with its issuer's key, every certificate
/// (the anchor too) is valid at `at`, issuers are CAs allowed to sign certificates, path
/// length constraints hold. Returns the path, leaf first and anchor last.
pub fn verify_chain(
    leaf: &[u8],
    intermediates: &[Vec<u8>],
    anchors: &[Vec<u8>],
    at: OffsetDateTime,
) -> Result<Vec<CertificateInfo>, CertError> {
    let leaf = Parsed::new(leaf)?;
    // An unreadable intermediate cannot be on any path: skip it rather than fail.
    let intermediates: Vec<_> = intermediates
        .iter()
        .filter_map(|d| Parsed::new(d).ok())
        .collect();
    let anchors = anchors
        .iter()
        .enumerate()
        .map(|(i, d)| {
            Parsed::new(d).map_err(|e| CertError::Chain(format!("trust anchor {}: {e}", i + 1)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let path = build_path(&leaf, &intermediates, &anchors)?;
    let infos = path
        .iter()
        .map(|c| c.info())
        .collect::<Result<Vec<_>, _>>()?;
    for info in &infos {
        check_validity(info, at)?;
    }
    check_issuers(&path, &infos)?;
    Ok(infos)
}

/// The public key of a DER certificate, ready for signature checks (used by `cms`).
pub(crate) fn public_key(der: &[u8]) -> Result<PublicKey, CertError> {
    Ok(Parsed::new(der)?.key)
}

/// Longest path `verify_chain` builds (leaf and anchor included).
const MAX_PATH: usize = 10;

/// Walks from `leaf` up by issuer name and signature until a trust anchor is reached.
/// Anchors are tried before intermediates; when no candidate verifies, the error names
/// the first certificate that had the right name but the wrong key, if any.
fn build_path<'p, 'a>(
    leaf: &'p Parsed<'a>,
    intermediates: &'p [Parsed<'a>],
    anchors: &'p [Parsed<'a>],
) -> Result<Vec<&'p Parsed<'a>>, CertError> {
    let mut path = vec![leaf];
    while path.len() < MAX_PATH {
        let current = path[path.len() - 1];
        if anchors.iter().any(|a| a.der == current.der) {
            return Ok(path);
        }
        let (anchor, anchor_failure) = find_issuer(current, anchors, &path, "trust anchor");
        if let Some(anchor) = anchor {
            path.push(anchor);
            return Ok(path);
        }
        let (issuer, issuer_failure) =
            find_issuer(current, intermediates, &path, "intermediate certificate");
        match (issuer, anchor_failure.or(issuer_failure)) {
            (Some(issuer), _) => path.push(issuer),
            (None, Some(failure)) => return Err(CertError::Chain(failure)),
            (None, None) => {
                return Err(CertError::Chain(format!(
                    "{} does not lead to a trusted root: its issuer {} is neither a trust anchor nor among the intermediate certificates",
                    current.subject(),
                    current.issuer()
                )))
            }
        }
    }
    Err(CertError::Chain(format!(
        "no trusted root within {MAX_PATH} certificates of {}",
        leaf.subject()
    )))
}

/// The certificate among `candidates` named as `child`'s issuer whose key verifies the
/// signature of `child` (and is not on the path yet), or why a name match failed.
fn find_issuer<'p, 'a>(
    child: &Parsed<'a>,
    candidates: &'p [Parsed<'a>],
    path: &[&Parsed<'a>],
    role: &str,
) -> (Option<&'p Parsed<'a>>, Option<String>) {
    let named = candidates.iter().filter(|c| {
        c.x509.subject().as_raw() == child.x509.issuer().as_raw()
            && !path.iter().any(|p| p.der == c.der)
    });
    let mut failure = None;
    for candidate in named {
        match candidate.verifies(child) {
            Ok(()) => return (Some(candidate), None),
            Err(reason) => {
                failure = failure.or(Some(format!(
                    "the signature of {} does not verify with the key of {role} {}: {reason}",
                    child.subject(),
                    candidate.subject()
                )))
            }
        }
    }
    (None, failure)
}

/// Every certificate above the leaf must be allowed to sign certificates, and each CA's
/// path length constraint must hold for the intermediates below it.
fn check_issuers(path: &[&Parsed<'_>], infos: &[CertificateInfo]) -> Result<(), CertError> {
    for (i, (cert, info)) in path.iter().zip(infos).enumerate().skip(1) {
        let is_anchor = i == path.len() - 1;
        if !is_anchor && !info.is_ca {
            return Err(CertError::Chain(format!(
                "intermediate certificate {} is not a CA certificate (basicConstraints cA is not set)",
                info.subject
            )));
        }
        let key_usage = cert.x509.key_usage().map_err(malformed)?;
        if key_usage.is_some_and(|ku| !ku.value.key_cert_sign()) {
            return Err(CertError::Chain(format!(
                "{} may not sign certificates (its key usage lacks keyCertSign)",
                info.subject
            )));
        }
        let constraint = cert.x509.basic_constraints().map_err(malformed)?;
        if let Some(max) = constraint.and_then(|bc| bc.value.path_len_constraint) {
            if i - 1 > max as usize {
                return Err(CertError::Chain(format!(
                    "{} allows at most {max} intermediate CA certificates below it, the path has {}",
                    info.subject,
                    i - 1
                )));
            }
        }
    }
    Ok(())
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
/// the parts a signature check needs kept as decoded by `der`.
#[derive(Sequence)]
struct SignedCertificate<'a> {
    tbs: AnyRef<'a>,
    algorithm: AlgorithmIdentifierRef<'a>,
    signature: BitStringRef<'a>,
}

/// A certificate parsed once for inspection (`x509-parser`) and signature checks (`der`).
struct Parsed<'a> {
    der: &'a [u8],
    x509: X509Certificate<'a>,
    outer: SignedCertificate<'a>,
    key: PublicKey,
}

impl<'a> Parsed<'a> {
    fn new(der: &'a [u8]) -> Result<Self, CertError> {
        let (rest, x509) = X509Certificate::from_der(der).map_err(malformed)?;
        if !rest.is_empty() {
            return Err(malformed(format!(
                "{} bytes after the certificate",
                rest.len()
            )));
        }
        if x509.tbs_certificate.signature != x509.signature_algorithm {
            return Err(malformed("the inner and outer signature algorithms differ"));
        }
        let outer = SignedCertificate::from_der(der).map_err(malformed)?;
        let key = PublicKey::from_spki(x509.public_key().raw).map_err(CertError::Malformed)?;
        Ok(Parsed {
            der,
            x509,
            outer,
            key,
        })
    }

    fn subject(&self) -> String {
        name_to_string(self.x509.subject())
    }

    fn issuer(&self) -> String {
        name_to_string(self.x509.issuer())
    }

    fn info(&self) -> Result<CertificateInfo, CertError> {
        let key_usage = self.x509.key_usage().map_err(malformed)?;
        let constraints = self.x509.basic_constraints().map_err(malformed)?;
        let validity = self.x509.validity();
        Ok(CertificateInfo {
            subject: self.subject(),
            issuer: self.issuer(),
            serial_hex: serial_hex(self.x509.raw_serial()),
            not_before: validity.not_before.to_datetime(),
            not_after: validity.not_after.to_datetime(),
            key_usage_ok: key_usage
                .is_none_or(|ku| ku.value.digital_signature() || ku.value.non_repudiation()),
            is_ca: constraints.is_some_and(|bc| bc.value.ca),
            public_key_description: self.key.describe(),
        })
    }

    /// The keyUsage bits that are set, by their RFC 5280 names.
    fn key_usage_names(&self) -> Result<Vec<&'static str>, CertError> {
        let Some(ku) = self.x509.key_usage().map_err(malformed)? else {
            return Ok(vec!["anything"]);
        };
        let ku = ku.value;
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
        let tbs = child.x509.tbs_certificate.as_ref();
        match self.key.verify(alg, tbs, signature)? {
            true => Ok(()),
            false => Err(format!("{} signature is invalid", alg.describe())),
        }
    }
}

/// Upper-case hex of a serial number's content octets, leading zero octets dropped.
fn serial_hex(raw: &[u8]) -> String {
    let start = raw
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(raw.len().saturating_sub(1));
    hex::encode_upper(&raw[start.min(raw.len())..])
}

/// Formats a distinguished name RFC 4514 style: RDNs in reverse order (most specific
/// first), `+` between values of one RDN, special characters escaped.
pub(crate) fn name_to_string(name: &X509Name<'_>) -> String {
    let rdns: Vec<String> = name
        .iter_rdn()
        .map(|rdn| {
            rdn.iter()
                .map(attribute_to_string)
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(", ")
}

fn attribute_to_string(attr: &AttributeTypeAndValue<'_>) -> String {
    let oid = attr.attr_type().to_id_string();
    let label = match oid.as_str() {
        "2.5.4.3" => "CN",
        "2.5.4.4" => "SN",
        "2.5.4.5" => "SERIALNUMBER",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "T",
        "2.5.4.42" => "GN",
        "2.5.4.97" => "organizationIdentifier",
        "1.2.840.113549.1.9.1" => "E",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        other => other,
    };
    let value = attr.attr_value();
    let text = match decode_string(value.tag(), value.data) {
        Some(s) => escape_rfc4514(&s),
        None => format!("#{}", hex::encode_upper(value.data)),
    };
    format!("{label}={text}")
}

/// Decodes the directory string types; `None` for anything else.
fn decode_string(tag: x509_parser::der_parser::asn1_rs::Tag, data: &[u8]) -> Option<String> {
    use x509_parser::der_parser::asn1_rs::Tag;
    match tag {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::NumericString
        | Tag::VisibleString => String::from_utf8(data.to_vec()).ok(),
        // Treated as Latin-1, which is what T.61 strings in certificates hold in practice.
        Tag::TeletexString => Some(data.iter().map(|b| char::from(*b)).collect()),
        Tag::BmpString if data.len() % 2 == 0 => {
            let units: Vec<u16> = data
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        Tag::UniversalString if data.len() % 4 == 0 => data
            .chunks_exact(4)
            .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        _ => None,
    }
}

fn escape_rfc4514(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let edge_space = c == ' ' && (i == 0 || i == last);
        if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || edge_space
            || (i == 0 && c == '#')
        {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------------------
// Algorithms and keys, shared with `cms`.

/// A hash function by its role in signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hash {
    /// SHA-1: only read (legacy ESS signingCertificate), never accepted for signatures.
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl Hash {
    /// The hash an algorithm identifier OID names, if supported.
    pub(crate) fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        match *oid {
            rfc5912::ID_SHA_1 => Some(Hash::Sha1),
            rfc5912::ID_SHA_256 => Some(Hash::Sha256),
            rfc5912::ID_SHA_384 => Some(Hash::Sha384),
            rfc5912::ID_SHA_512 => Some(Hash::Sha512),
            _ => None,
        }
    }

    /// The OID of this hash.
    pub(crate) fn oid(self) -> ObjectIdentifier {
        match self {
            Hash::Sha1 => rfc5912::ID_SHA_1,
            Hash::Sha256 => rfc5912::ID_SHA_256,
            Hash::Sha384 => rfc5912::ID_SHA_384,
            Hash::Sha512 => rfc5912::ID_SHA_512,
        }
    }

    /// The usual name, e.g. `SHA-256`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Hash::Sha1 => "SHA-1",
            Hash::Sha256 => "SHA-256",
            Hash::Sha384 => "SHA-384",
            Hash::Sha512 => "SHA-512",
        }
    }

    /// Output length in bytes.
    pub(crate) fn len(self) -> usize {
        self.ring().output_len()
    }

    /// The digest of the concatenation of `parts`.
    pub(crate) fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
        let mut context = ring::digest::Context::new(self.ring());
        for part in parts {
            context.update(part);
        }
        context.finish().as_ref().to_vec()
    }

    fn ring(self) -> &'static ring::digest::Algorithm {
        match self {
            Hash::Sha1 => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
            Hash::Sha256 => &ring::digest::SHA256,
            Hash::Sha384 => &ring::digest::SHA384,
            Hash::Sha512 => &ring::digest::SHA512,
        }
    }
}

/// A signature algorithm sohoa can verify (or sign with, through a `SigningKey`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SigAlg {
    /// RSASSA-PKCS1-v1_5.
    RsaPkcs1(Hash),
    /// RSASSA-PSS with MGF1 over the same hash and salt length = hash length.
    RsaPss(Hash),
    /// RSASSA-PSS with MGF1 over the same hash and another salt length (pyHanko and
    /// OpenSSL's `saltlen:max` sign with the longest salt the key allows).
    RsaPssSalt(Hash, u16),
    /// ECDSA, DER-encoded signature.
    Ecdsa(Hash),
    /// Ed25519 (RFC 8410/8419): verified only; sohoa does not sign with it.
    Ed25519,
}

/// `RSASSA-PSS-params` (RFC 8017 A.2.3); absent fields mean SHA-1, MGF1-SHA-1, salt 20,
/// trailer 1.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct RsaPssParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    mask_gen_algorithm: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    salt_length: Option<u32>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    trailer_field: Option<u32>,
}

impl SigAlg {
    /// The algorithm of a key scheme.
    pub(crate) fn from_scheme(scheme: SignatureScheme) -> Self {
        match scheme {
            SignatureScheme::RsaPssSha256 => SigAlg::RsaPss(Hash::Sha256),
            SignatureScheme::RsaPkcs1Sha256 => SigAlg::RsaPkcs1(Hash::Sha256),
            SignatureScheme::EcdsaP256Sha256 => SigAlg::Ecdsa(Hash::Sha256),
            SignatureScheme::EcdsaP384Sha384 => SigAlg::Ecdsa(Hash::Sha384),
        }
    }

    /// Reads a signature AlgorithmIdentifier. `digest` is the separately given digest
    /// algorithm (CMS), used when the identifier names only the key type (`rsaEncryption`,
    /// `id-ecPublicKey`).
    pub(crate) fn from_identifier(
        id: &AlgorithmIdentifierRef<'_>,
        digest: Option<Hash>,
    ) -> Result<Self, String> {
        let hash_of = |h: Option<Hash>| {
            h.ok_or_else(|| format!("algorithm {} needs a separate digest algorithm", id.oid))
        };
        let alg = match id.oid {
            rfc5912::SHA_256_WITH_RSA_ENCRYPTION => SigAlg::RsaPkcs1(Hash::Sha256),
            rfc5912::SHA_384_WITH_RSA_ENCRYPTION => SigAlg::RsaPkcs1(Hash::Sha384),
            rfc5912::SHA_512_WITH_RSA_ENCRYPTION => SigAlg::RsaPkcs1(Hash::Sha512),
            rfc5912::SHA_1_WITH_RSA_ENCRYPTION => SigAlg::RsaPkcs1(Hash::Sha1),
            rfc5912::RSA_ENCRYPTION => SigAlg::RsaPkcs1(hash_of(digest)?),
            rfc5912::ID_RSASSA_PSS => match pss_parameters(id.parameters)? {
                (hash, salt) if usize::from(salt) == hash.len() => SigAlg::RsaPss(hash),
                (hash, salt) => SigAlg::RsaPssSalt(hash, salt),
            },
            rfc5912::ECDSA_WITH_SHA_256 => SigAlg::Ecdsa(Hash::Sha256),
            rfc5912::ECDSA_WITH_SHA_384 => SigAlg::Ecdsa(Hash::Sha384),
            rfc5912::ECDSA_WITH_SHA_512 => SigAlg::Ecdsa(Hash::Sha512),
            ECDSA_WITH_SHA_1 => SigAlg::Ecdsa(Hash::Sha1),
            rfc5912::ID_EC_PUBLIC_KEY => SigAlg::Ecdsa(hash_of(digest)?),
            ID_ED25519 => SigAlg::Ed25519,
            ID_ED448 => return Err("unsupported signature algorithm Ed448".into()),
            other => return Err(format!("unsupported signature algorithm {other}")),
        };
        Ok(alg)
    }

    /// The AlgorithmIdentifier sohoa writes: `sha256WithRSAEncryption` (NULL parameters),
    /// `id-RSASSA-PSS` with explicit parameters (RFC 4055 form: hash identifiers with NULL
    /// parameters, MGF1 with the same hash, salt = hash length, trailer field omitted), or
    /// `ecdsa-with-SHA*` (no parameters).
    pub(crate) fn identifier(self) -> Result<AlgorithmIdentifierOwned, der::Error> {
        let null = || Some(der::Any::from(AnyRef::NULL));
        let (oid, parameters) = match self {
            SigAlg::RsaPkcs1(h) => (pkcs1_oid(h), null()),
            SigAlg::Ecdsa(h) => (ecdsa_oid(h), None),
            SigAlg::Ed25519 => (ID_ED25519, None),
            SigAlg::RsaPss(h) | SigAlg::RsaPssSalt(h, _) => {
                let salt = match self {
                    SigAlg::RsaPssSalt(_, salt) => u32::from(salt),
                    _ => h.len() as u32,
                };
                let hash = AlgorithmIdentifierOwned {
                    oid: h.oid(),
                    parameters: null(),
                };
                let mgf = AlgorithmIdentifierOwned {
                    oid: rfc5912::ID_MGF_1,
                    parameters: Some(der::Any::encode_from(&hash)?),
                };
                let params = RsaPssParams {
                    hash_algorithm: Some(hash),
                    mask_gen_algorithm: Some(mgf),
                    salt_length: Some(salt),
                    trailer_field: None,
                };
                (
                    rfc5912::ID_RSASSA_PSS,
                    Some(der::Any::encode_from(&params)?),
                )
            }
        };
        Ok(AlgorithmIdentifierOwned { oid, parameters })
    }

    /// The hash this algorithm signs with.
    pub(crate) fn hash(self) -> Hash {
        match self {
            SigAlg::RsaPkcs1(h)
            | SigAlg::RsaPss(h)
            | SigAlg::RsaPssSalt(h, _)
            | SigAlg::Ecdsa(h) => h,
            SigAlg::Ed25519 => Hash::Sha512,
        }
    }

    /// E.g. `RSASSA-PSS with SHA-256`.
    pub(crate) fn describe(self) -> String {
        match self {
            SigAlg::RsaPkcs1(h) => format!("RSA PKCS#1 v1.5 with {}", h.name()),
            SigAlg::RsaPss(h) => format!("RSASSA-PSS with {}", h.name()),
            SigAlg::RsaPssSalt(h, salt) => {
                format!("RSASSA-PSS with {} (salt {salt} bytes)", h.name())
            }
            SigAlg::Ecdsa(h) => format!("ECDSA with {}", h.name()),
            SigAlg::Ed25519 => "Ed25519".into(),
        }
    }
}

/// `id-Ed25519` and `id-Ed448` (RFC 8410).
const ID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const ID_ED448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.113");

/// `ecdsa-with-SHA1` (RFC 5758), absent from the `const-oid` database.
const ECDSA_WITH_SHA_1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.1");

fn pkcs1_oid(h: Hash) -> ObjectIdentifier {
    match h {
        Hash::Sha1 => rfc5912::SHA_1_WITH_RSA_ENCRYPTION,
        Hash::Sha256 => rfc5912::SHA_256_WITH_RSA_ENCRYPTION,
        Hash::Sha384 => rfc5912::SHA_384_WITH_RSA_ENCRYPTION,
        Hash::Sha512 => rfc5912::SHA_512_WITH_RSA_ENCRYPTION,
    }
}

fn ecdsa_oid(h: Hash) -> ObjectIdentifier {
    match h {
        Hash::Sha1 => ECDSA_WITH_SHA_1,
        Hash::Sha256 => rfc5912::ECDSA_WITH_SHA_256,
        Hash::Sha384 => rfc5912::ECDSA_WITH_SHA_384,
        Hash::Sha512 => rfc5912::ECDSA_WITH_SHA_512,
    }
}

/// Reads RSASSA-PSS parameters and returns their hash and salt length when sohoa can
/// verify them: SHA-256/384/512, MGF1 with the same hash, trailer field 1.
fn pss_parameters(parameters: Option<AnyRef<'_>>) -> Result<(Hash, u16), String> {
    let params: RsaPssParams = match parameters {
        Some(any) => any
            .decode_as()
            .map_err(|e| format!("malformed RSASSA-PSS parameters: {e}"))?,
        None => {
            return Err("RSASSA-PSS without parameters (SHA-1 defaults) is not supported".into())
        }
    };
    let hash_oid = params
        .hash_algorithm
        .as_ref()
        .map_or(rfc5912::ID_SHA_1, |a| a.oid);
    let hash = Hash::from_oid(&hash_oid)
        .filter(|h| *h != Hash::Sha1)
        .ok_or_else(|| format!("RSASSA-PSS with hash {hash_oid} is not supported"))?;
    let mgf_hash = match &params.mask_gen_algorithm {
        None => rfc5912::ID_SHA_1,
        Some(mgf) if mgf.oid == rfc5912::ID_MGF_1 => {
            mgf.parameters
                .as_ref()
                .ok_or("MGF1 without a hash algorithm")?
                .decode_as::<AlgorithmIdentifierOwned>()
                .map_err(|e| format!("malformed MGF1 parameters: {e}"))?
                .oid
        }
        Some(mgf) => {
            return Err(format!(
                "RSASSA-PSS mask generation {} is not supported",
                mgf.oid
            ))
        }
    };
    if mgf_hash != hash_oid {
        return Err(format!(
            "RSASSA-PSS with MGF1 hash {mgf_hash} differing from the {} message hash is not supported",
            hash.name()
        ));
    }
    let salt = params.salt_length.unwrap_or(20);
    let salt = u16::try_from(salt)
        .map_err(|_| format!("RSASSA-PSS salt length {salt} is larger than any key"))?;
    if params.trailer_field.unwrap_or(1) != 1 {
        return Err("RSASSA-PSS trailer field other than 1 is not supported".into());
    }
    Ok((hash, salt))
}

/// RSASSA-PSS with a salt length `ring` does not take (it accepts only salt = hash
/// length), through the RustCrypto `rsa` crate. Only verification happens here: the
/// crate's known timing weakness (RUSTSEC-2023-0071) concerns private-key operations.
fn verify_pss_with_salt(
    rsa_public_key: &[u8],
    hash: Hash,
    salt: u16,
    message: &[u8],
    signature: &[u8],
) -> Result<bool, String> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::signature::Verifier;
    let key = rsa::RsaPublicKey::from_pkcs1_der(rsa_public_key)
        .map_err(|e| format!("malformed RSA public key: {e}"))?;
    let Ok(signature) = rsa::pss::Signature::try_from(signature) else {
        return Ok(false);
    };
    let salt = usize::from(salt);
    let verified = match hash {
        Hash::Sha256 => rsa::pss::VerifyingKey::<sha2::Sha256>::new_with_salt_len(key, salt)
            .verify(message, &signature),
        Hash::Sha384 => rsa::pss::VerifyingKey::<sha2::Sha384>::new_with_salt_len(key, salt)
            .verify(message, &signature),
        Hash::Sha512 => rsa::pss::VerifyingKey::<sha2::Sha512>::new_with_salt_len(key, salt)
            .verify(message, &signature),
        Hash::Sha1 => return Err("SHA-1 signatures are not accepted (SHA-1 is broken)".into()),
    };
    Ok(verified.is_ok())
}

/// The curve of an EC key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Curve {
    /// NIST P-256 (secp256r1).
    P256,
    /// NIST P-384 (secp384r1).
    P384,
    /// Another named curve (OID) or explicit parameters.
    Other(String),
}

/// The kind of a public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// RSA with a modulus of this many bits.
    Rsa(usize),
    /// An EC key.
    Ec(Curve),
    /// An Ed25519 key.
    Ed25519,
    /// Anything else, by algorithm OID.
    Other(String),
}

/// A public key in the form `ring` verifies with.
#[derive(Debug, Clone)]
pub(crate) struct PublicKey {
    /// What key it is.
    pub(crate) kind: KeyKind,
    /// The subjectPublicKey bits: RSAPublicKey DER, or the EC point.
    bytes: Vec<u8>,
}

/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
#[derive(Sequence)]
struct RsaPublicKey<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

impl PublicKey {
    /// Reads a DER SubjectPublicKeyInfo.
    pub(crate) fn from_spki(spki_der: &[u8]) -> Result<Self, String> {
        let spki = SubjectPublicKeyInfoRef::from_der(spki_der)
            .map_err(|e| format!("malformed public key info: {e}"))?;
        let bytes = spki
            .subject_public_key
            .as_bytes()
            .ok_or("the public key BIT STRING has unused bits")?;
        let kind = match spki.algorithm.oid {
            rfc5912::RSA_ENCRYPTION => {
                let key = RsaPublicKey::from_der(bytes)
                    .map_err(|e| format!("malformed RSA public key: {e}"))?;
                KeyKind::Rsa(bit_length(key.modulus.as_bytes()))
            }
            rfc5912::ID_EC_PUBLIC_KEY => KeyKind::Ec(match spki.algorithm.parameters_oid() {
                Ok(rfc5912::SECP_256_R_1) => Curve::P256,
                Ok(rfc5912::SECP_384_R_1) => Curve::P384,
                Ok(rfc5912::SECP_521_R_1) => Curve::Other("P-521".into()),
                Ok(other) => Curve::Other(other.to_string()),
                Err(_) => Curve::Other("explicit parameters".into()),
            }),
            rfc5912::ID_RSASSA_PSS => KeyKind::Other("RSASSA-PSS-only RSA key".into()),
            ID_ED25519 => KeyKind::Ed25519,
            ID_ED448 => KeyKind::Other("Ed448".into()),
            other => KeyKind::Other(other.to_string()),
        };
        Ok(PublicKey {
            kind,
            bytes: bytes.to_vec(),
        })
    }

    /// E.g. `RSA 2048`, `EC P-256`.
    pub(crate) fn describe(&self) -> String {
        match &self.kind {
            KeyKind::Rsa(bits) => format!("RSA {bits}"),
            KeyKind::Ec(Curve::P256) => "EC P-256".into(),
            KeyKind::Ec(Curve::P384) => "EC P-384".into(),
            KeyKind::Ec(Curve::Other(c)) => format!("EC {c}"),
            KeyKind::Ed25519 => "Ed25519".into(),
            KeyKind::Other(what) => format!("unsupported key type {what}"),
        }
    }

    /// Why sohoa does not sign with this key (Decree 23/2025 minimums), if it does not.
    pub(crate) fn weakness(&self) -> Option<String> {
        match &self.kind {
            KeyKind::Rsa(bits) if *bits < 2048 => Some(format!(
                "RSA key of {bits} bits, at least 2048 are required"
            )),
            KeyKind::Rsa(_) | KeyKind::Ec(Curve::P256) | KeyKind::Ec(Curve::P384) => None,
            KeyKind::Ec(Curve::Other(c)) => Some(format!(
                "EC key on curve {c}, only P-256 and P-384 are accepted"
            )),
            KeyKind::Other(what) => Some(format!(
                "{what}, only RSA (2048 bits or more) and EC P-256/P-384 keys are accepted"
            )),
            // Strong; sohoa's own key sources never yield one (no Ed25519 signing scheme).
            KeyKind::Ed25519 => None,
        }
    }

    /// Verifies a legacy RSA PKCS #1 v1.5 signature with SHA-1 (old Adobe-style PDF
    /// signatures), only to tell intact from tampered: the caller must not treat it as
    /// valid. Any other algorithm goes to [`PublicKey::verify`].
    pub(crate) fn verify_legacy_sha1(
        &self,
        alg: SigAlg,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, String> {
        match (&self.kind, alg) {
            (KeyKind::Rsa(bits), SigAlg::RsaPkcs1(Hash::Sha1)) if (2048..=8192).contains(bits) => {
                let algorithm = &sig::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY;
                let key = UnparsedPublicKey::new(algorithm, &self.bytes);
                Ok(key.verify(message, signature).is_ok())
            }
            _ => self.verify(alg, message, signature),
        }
    }

    /// Verifies `signature` over `message`. `Ok(false)`: it does not verify; `Err`: this
    /// key and algorithm cannot be checked (wrong key type, SHA-1, RSA outside 2048–8192).
    pub(crate) fn verify(
        &self,
        alg: SigAlg,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, String> {
        if let (KeyKind::Rsa(bits), SigAlg::RsaPssSalt(hash, salt)) = (&self.kind, alg) {
            if !(2048..=8192).contains(bits) {
                return Err(format!(
                    "RSA keys of {bits} bits are not accepted (2048 to 8192 bits)"
                ));
            }
            return verify_pss_with_salt(&self.bytes, hash, salt, message, signature);
        }
        let algorithm = self.ring_algorithm(alg)?;
        let key = UnparsedPublicKey::new(algorithm, &self.bytes);
        Ok(key.verify(message, signature).is_ok())
    }

    fn ring_algorithm(&self, alg: SigAlg) -> Result<&'static dyn VerificationAlgorithm, String> {
        let mismatch = || {
            format!(
                "a {} key cannot check a {} signature",
                self.describe(),
                alg.describe()
            )
        };
        if alg.hash() == Hash::Sha1 {
            return Err(format!(
                "{} signatures are not accepted (SHA-1 is broken)",
                alg.describe()
            ));
        }
        match (&self.kind, alg) {
            (KeyKind::Rsa(bits), _) if !(2048..=8192).contains(bits) => Err(format!(
                "RSA keys of {bits} bits are not accepted (2048 to 8192 bits)"
            )),
            (KeyKind::Rsa(_), SigAlg::RsaPkcs1(h)) => Ok(match h {
                Hash::Sha384 => &sig::RSA_PKCS1_2048_8192_SHA384,
                Hash::Sha512 => &sig::RSA_PKCS1_2048_8192_SHA512,
                _ => &sig::RSA_PKCS1_2048_8192_SHA256,
            }),
            (KeyKind::Rsa(_), SigAlg::RsaPss(h)) => Ok(match h {
                Hash::Sha384 => &sig::RSA_PSS_2048_8192_SHA384,
                Hash::Sha512 => &sig::RSA_PSS_2048_8192_SHA512,
                _ => &sig::RSA_PSS_2048_8192_SHA256,
            }),
            (KeyKind::Ed25519, SigAlg::Ed25519) => Ok(&sig::ED25519),
            (KeyKind::Ec(curve), SigAlg::Ecdsa(h)) => match (curve, h) {
                (Curve::P256, Hash::Sha256) => Ok(&sig::ECDSA_P256_SHA256_ASN1),
                (Curve::P256, Hash::Sha384) => Ok(&sig::ECDSA_P256_SHA384_ASN1),
                (Curve::P384, Hash::Sha256) => Ok(&sig::ECDSA_P384_SHA256_ASN1),
                (Curve::P384, Hash::Sha384) => Ok(&sig::ECDSA_P384_SHA384_ASN1),
                _ => Err(format!(
                    "{} with a {} key is not supported",
                    alg.describe(),
                    self.describe()
                )),
            },
            _ => Err(mismatch()),
        }
    }
}

/// Bit length of an unsigned big-endian integer.
fn bit_length(bytes: &[u8]) -> usize {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    match bytes.get(start) {
        Some(first) => (bytes.len() - start - 1) * 8 + (8 - first.leading_zeros() as usize),
        None => 0,
    }
}

/// A throw-away PKI made with the `openssl` CLI, and a `SigningKey` over `ring` for it.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::Path;
    use std::process::Command;
    use std::sync::OnceLock;

    use ring::rand::SystemRandom;
    use ring::signature::{
        EcdsaKeyPair, RsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING,
        RSA_PKCS1_SHA256, RSA_PSS_SHA256,
    };

    use crate::certify::key::{KeyError, SignatureScheme, SigningKey};

    /// A certificate with its PKCS#8 key and the chain above it (root excluded).
    pub(crate) struct Issued {
        pub(crate) cert: Vec<u8>,
        pub(crate) pkcs8: Vec<u8>,
        pub(crate) chain: Vec<Vec<u8>>,
    }

    /// Root → office RSA, EC P-384, expired, keyEncipherment-only, RSA 1024;
    /// root → sub CA → EC P-256; plus an unrelated root and a root with the same name
    /// as the real one but another key.
    pub(crate) struct Pki {
        pub(crate) root: Vec<u8>,
        pub(crate) root_pem: String,
        pub(crate) sub: Vec<u8>,
        pub(crate) other_root: Vec<u8>,
        pub(crate) twin_root: Vec<u8>,
        pub(crate) rsa: Issued,
        pub(crate) ec256: Issued,
        pub(crate) ec384: Issued,
        pub(crate) expired: Vec<u8>,
        pub(crate) encipher: Vec<u8>,
        pub(crate) weak: Vec<u8>,
    }

    const CONFIG: &str = "\
[ca]
default_ca = test_ca
[test_ca]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
copy_extensions = none
[policy_any]
countryName = optional
organizationName = optional
commonName = supplied
[req]
distinguished_name = dn
string_mask = utf8only
utf8 = yes
[dn]
[root]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[sub]
basicConstraints = critical,CA:true,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[office]
basicConstraints = CA:false
keyUsage = critical,digitalSignature,nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[encipher]
basicConstraints = CA:false
keyUsage = critical,keyEncipherment
subjectKeyIdentifier = hash
";

    /// Runs `openssl` in `dir`, panicking with its stderr on failure.
    pub(crate) fn openssl(dir: &Path, args: &[&str]) -> std::process::Output {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("the openssl CLI is needed for these tests");
        assert!(
            out.status.success(),
            "openssl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn der_of(dir: &Path, pem: &str) -> Vec<u8> {
        let der = format!("{pem}.der");
        openssl(dir, &["x509", "-in", pem, "-outform", "DER", "-out", &der]);
        std::fs::read(dir.join(der)).unwrap()
    }

    fn pkcs8_of(dir: &Path, key: &str) -> Vec<u8> {
        let out = format!("{key}.p8");
        openssl(
            dir,
            &[
                "pkcs8", "-topk8", "-nocrypt", "-in", key, "-outform", "DER", "-out", &out,
            ],
        );
        std::fs::read(dir.join(out)).unwrap()
    }

    fn self_signed(dir: &Path, name: &str, subject: &str) -> Vec<u8> {
        let (key, pem) = (format!("{name}.key"), format!("{name}.pem"));
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-config",
                "ca.cnf",
                "-extensions",
                "root",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &pem,
                "-days",
                "3650",
                "-subj",
                subject,
            ],
        );
        der_of(dir, &pem)
    }

    /// Issues `name` for a new key (`newkey` as for `openssl req -newkey`, with options).
    fn issue(
        dir: &Path,
        name: &str,
        newkey: &[&str],
        subject: &str,
        by: &str,
        ext: &str,
        dates: &[&str],
    ) -> (Vec<u8>, Vec<u8>) {
        let (key, csr, pem) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
        );
        let mut req = vec![
            "req", "-new", "-config", "ca.cnf", "-nodes", "-keyout", &key, "-out", &csr, "-subj",
            subject,
        ];
        req.extend_from_slice(newkey);
        openssl(dir, &req);
        let (cert, ca_key) = (format!("{by}.pem"), format!("{by}.key"));
        let mut ca = vec![
            "ca",
            "-batch",
            "-config",
            "ca.cnf",
            "-cert",
            &cert,
            "-keyfile",
            &ca_key,
            "-extensions",
            ext,
            "-in",
            &csr,
            "-out",
            &pem,
            "-notext",
            "-utf8",
        ];
        ca.extend_from_slice(if dates.is_empty() {
            &["-days", "365"]
        } else {
            dates
        });
        openssl(dir, &ca);
        (der_of(dir, &pem), pkcs8_of(dir, &key))
    }

    fn make() -> Pki {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::write(dir.join("ca.cnf"), CONFIG).unwrap();
        std::fs::write(dir.join("index.txt"), "").unwrap();
        std::fs::write(dir.join("serial"), "1000\n").unwrap();
        let rsa = ["-newkey", "rsa:2048"];
        let p256 = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
        let p384 = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"];
        let root_subject = "/C=VN/O=Sohoa Test/CN=Sohoa Test Root";
        let root = self_signed(dir, "root", root_subject);
        let office = "/C=VN/O=UBND xã Tân Phú, huyện Định Quán/CN=Nguyễn Văn A";
        let (rsa_cert, rsa_key) = issue(dir, "office", &rsa, office, "root", "office", &[]);
        let (sub, _) = issue(
            dir,
            "sub",
            &rsa,
            "/C=VN/O=Sohoa Test/CN=Sohoa Test Sub CA",
            "root",
            "sub",
            &[],
        );
        let (ec256, ec256_key) = issue(
            dir,
            "ec256",
            &p256,
            "/C=VN/CN=Trần Thị Bình",
            "sub",
            "office",
            &[],
        );
        let (ec384, ec384_key) = issue(
            dir,
            "ec384",
            &p384,
            "/C=VN/CN=Lê Văn Cường",
            "root",
            "office",
            &[],
        );
        let old = [
            "-startdate",
            "20200101000000Z",
            "-enddate",
            "20210101000000Z",
        ];
        let (expired, _) = issue(
            dir,
            "expired",
            &rsa,
            "/C=VN/CN=Phạm Văn Hết Hạn",
            "root",
            "office",
            &old,
        );
        let (encipher, _) = issue(
            dir,
            "encipher",
            &rsa,
            "/C=VN/CN=Mã Hóa",
            "root",
            "encipher",
            &[],
        );
        let (weak, _) = issue(
            dir,
            "weak",
            &["-newkey", "rsa:1024"],
            "/C=VN/CN=Yếu",
            "root",
            "office",
            &[],
        );
        Pki {
            root_pem: std::fs::read_to_string(dir.join("root.pem")).unwrap(),
            root,
            sub: sub.clone(),
            other_root: self_signed(dir, "other", "/C=VN/CN=Another Root"),
            twin_root: self_signed(dir, "twin", root_subject),
            rsa: Issued {
                cert: rsa_cert,
                pkcs8: rsa_key,
                chain: vec![],
            },
            ec256: Issued {
                cert: ec256,
                pkcs8: ec256_key,
                chain: vec![sub],
            },
            ec384: Issued {
                cert: ec384,
                pkcs8: ec384_key,
                chain: vec![],
            },
            expired,
            encipher,
            weak,
        }
    }

    /// The test PKI, made once per test run.
    pub(crate) fn pki() -> &'static Pki {
        static PKI: OnceLock<Pki> = OnceLock::new();
        PKI.get_or_init(make)
    }

    enum Pair {
        Rsa(RsaKeyPair),
        Ec(EcdsaKeyPair),
    }

    /// A software key over `ring`, for tests only.
    pub(crate) struct TestKey {
        cert: Vec<u8>,
        chain: Vec<Vec<u8>>,
        scheme: SignatureScheme,
        pair: Pair,
        rng: SystemRandom,
    }

    impl TestKey {
        /// The key of `issued`, signing with `scheme`.
        pub(crate) fn new(issued: &Issued, scheme: SignatureScheme) -> Self {
            let rng = SystemRandom::new();
            let pair = match scheme {
                SignatureScheme::RsaPssSha256 | SignatureScheme::RsaPkcs1Sha256 => {
                    Pair::Rsa(RsaKeyPair::from_pkcs8(&issued.pkcs8).unwrap())
                }
                SignatureScheme::EcdsaP256Sha256 => Pair::Ec(
                    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &issued.pkcs8, &rng)
                        .unwrap(),
                ),
                SignatureScheme::EcdsaP384Sha384 => Pair::Ec(
                    EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_ASN1_SIGNING, &issued.pkcs8, &rng)
                        .unwrap(),
                ),
            };
            TestKey {
                cert: issued.cert.clone(),
                chain: issued.chain.clone(),
                scheme,
                pair,
                rng,
            }
        }

        /// The same key presenting another certificate (a mismatch).
        pub(crate) fn with_certificate(mut self, cert: &[u8]) -> Self {
            self.cert = cert.to_vec();
            self
        }
    }

    impl SigningKey for TestKey {
        fn certificate(&self) -> &[u8] {
            &self.cert
        }

        fn chain(&self) -> &[Vec<u8>] {
            &self.chain
        }

        fn scheme(&self) -> SignatureScheme {
            self.scheme
        }

        fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
            let fail = |e: ring::error::Unspecified| KeyError::Sign(e.to_string());
            match &self.pair {
                Pair::Rsa(pair) => {
                    let padding: &'static dyn ring::signature::RsaEncoding = match self.scheme {
                        SignatureScheme::RsaPssSha256 => &RSA_PSS_SHA256,
                        _ => &RSA_PKCS1_SHA256,
                    };
                    let mut signature = vec![0; pair.public().modulus_len()];
                    pair.sign(padding, &self.rng, message, &mut signature)
                        .map_err(fail)?;
                    Ok(signature)
                }
                Pair::Ec(pair) => Ok(pair
                    .sign(&self.rng, message)
                    .map_err(fail)?
                    .as_ref()
                    .to_vec()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{pki, TestKey};
    use super::*;
    use time::macros::datetime;

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    #[test]
    fn inspect_reads_vietnamese_names_and_keys() {
        let pki = pki();
        let info = inspect(&pki.rsa.cert).unwrap();
        assert_eq!(
            info.subject,
            r"CN=Nguyễn Văn A, O=UBND xã Tân Phú\, huyện Định Quán, C=VN"
        );
        assert_eq!(info.issuer, "CN=Sohoa Test Root, O=Sohoa Test, C=VN");
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
            "certificate of CN=Phạm Văn Hết Hạn, C=VN expired on 2021-01-01 00:00:00 UTC"
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
        assert_eq!(path[1].subject, "CN=Sohoa Test Root, O=Sohoa Test, C=VN");
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
                "CN=Trần Thị Bình, C=VN",
                "CN=Sohoa Test Sub CA, O=Sohoa Test, C=VN",
                "CN=Sohoa Test Root, O=Sohoa Test, C=VN"
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
            r"certificate chain: CN=Nguyễn Văn A, O=UBND xã Tân Phú\, huyện Định Quán, C=VN does not lead to a trusted root: its issuer CN=Sohoa Test Root, O=Sohoa Test, C=VN is neither a trust anchor nor among the intermediate certificates"
        );
        let err = verify_chain(
            &pki.rsa.cert,
            &[],
            std::slice::from_ref(&pki.twin_root),
            now(),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("does not verify with the key of trust anchor CN=Sohoa Test Root"),
            "{err}"
        );
        let err =
            verify_chain(&pki.ec256.cert, &[], std::slice::from_ref(&pki.root), now()).unwrap_err();
        assert!(
            err.to_string().contains("its issuer CN=Sohoa Test Sub CA"),
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
        use x509_parser::der_parser::asn1_rs::Tag;
        let bmp: Vec<u8> = "Nguyễn".encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(
            decode_string(Tag::BmpString, &bmp).as_deref(),
            Some("Nguyễn")
        );
        assert_eq!(bit_length(&[0, 0x80, 0]), 16);
        assert_eq!(serial_hex(&[0, 0x9a, 0x01]), "9A01");
    }
}
