//! CMS SignedData (RFC 5652) for PAdES baseline B-B signatures (ETSI EN 319 142-1):
//! detached, one SignerInfo identified by issuer and serial number, signed attributes
//! content-type, message-digest and signingCertificateV2 (RFC 5035), no signing-time (the
//! time goes in the PDF signature dictionary's `/M`).
//!
//! The structures are the RustCrypto `cms`/`x509-cert` types, DER-encoded with `der`; the
//! signature itself comes from a [`SigningKey`], so the private key never passes through
//! here. Verification checks the bytes as they were signed: the signed attributes are
//! taken from the input (re-tagged as a SET), not re-encoded.

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::db::{rfc5280, rfc5911};
use const_oid::ObjectIdentifier;
use der::asn1::{AnyRef, BitString, OctetString, SetOfVec};
use der::{
    Any, Decode, Encode, EncodeValue, Header, Reader, Sequence, SliceReader, Tag, TagNumber, Tagged,
};
use spki::{AlgorithmIdentifierOwned, AlgorithmIdentifierRef};
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::{GeneralName, GeneralNames};
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::serial_number::SerialNumber;
use x509_cert::Certificate;

use super::alg::{Hash, SigAlg};
use super::certificate::{self, CertError};
use super::key::{KeyError, SignatureScheme, SigningKey};

/// The digest algorithm a scheme uses (so the PDF side hashes the byte range with the
/// right one): SHA-256 for RSA and P-256, SHA-384 for P-384.
pub fn digest_for(scheme: SignatureScheme) -> Hash {
    match scheme {
        SignatureScheme::EcdsaP384Sha384 => Hash::Sha384,
        _ => Hash::Sha256,
    }
}

/// Why a CMS signature could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum CmsError {
    /// The input is not a well-formed DER CMS SignedData.
    #[error("malformed CMS signature: {0}")]
    Malformed(String),
    /// Well-formed, but not something sohoa verifies (several signers, no signed
    /// attributes, encapsulated content type other than signedData).
    #[error("unsupported CMS signature: {0}")]
    Unsupported(String),
    /// None of the embedded certificates matches the SignerInfo's identifier.
    #[error("the signer's certificate is not in the signature (looked for {0})")]
    SignerNotFound(String),
    /// The caller's input is wrong (e.g. a digest of the wrong length).
    #[error("invalid input: {0}")]
    Input(String),
    /// A certificate could not be read or used.
    #[error(transparent)]
    Certificate(#[from] CertError),
    /// The key failed to sign.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The key's signature does not verify with its certificate.
    #[error("the signature made by the key does not verify with its certificate: {0}")]
    KeyMismatch(String),
    /// DER encoding failed (should not happen with valid certificates).
    #[error("DER encoding failed: {0}")]
    Encode(String),
}

/// What [`verify_detached`] found. The signature is intact and made by
/// `signer_certificate` when `digest_matches`, `signature_valid` and
/// `signing_certificate_matches` are all true and `errors` is empty. Whether the signer
/// certificate is trusted is a separate question (see `certificate::verify_chain`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmsReport {
    /// The signer's certificate (DER, as embedded).
    pub signer_certificate: Vec<u8>,
    /// All certificates in the SignedData (DER, as embedded, in their order there).
    pub certificates: Vec<Vec<u8>>,
    /// The signature algorithm, e.g. `RSASSA-PSS with SHA-256`; empty if unreadable.
    pub algorithm: String,
    /// The message-digest attribute equals the digest of the signed bytes.
    pub digest_matches: bool,
    /// The signature over the signed attributes verifies with the signer's key.
    pub signature_valid: bool,
    /// A signingCertificateV2 attribute is present.
    pub has_signing_certificate_v2: bool,
    /// The signingCertificateV2 (or legacy signingCertificate) attribute names the signer
    /// certificate (hash, and issuer/serial when given).
    pub signing_certificate_matches: bool,
    /// A signing-time attribute is present (PAdES baseline forbids it; reported, not an
    /// error, since it does not affect integrity).
    pub has_signing_time: bool,
    /// Every failed check, in English, one sentence each.
    pub errors: Vec<String>,
    /// SHA-1 was used (digest or signature): the report may say the signature is
    /// intact, but it cannot make it valid (SHA-1 collisions are practical).
    pub weak: bool,
    /// A digest or signature algorithm sohoa does not verify: nothing is known about
    /// the signed bytes (never reported as tampering).
    pub unsupported: bool,
    /// Weaknesses that do not make the signature invalid (a SHA-1 digest).
    pub warnings: Vec<String>,
}

/// Builds a detached CMS SignedData (DER ContentInfo) for PAdES baseline B-B over content
/// whose digest is `content_digest`, computed with [`digest_for`]`(key.scheme())`.
///
/// The signature is checked against the certificate before the SignedData is returned,
/// so a key that does not belong to its certificate fails here, not at the verifier.
pub fn sign_detached(key: &dyn SigningKey, content_digest: &[u8]) -> Result<Vec<u8>, CmsError> {
    let scheme = key.scheme();
    let digest = digest_for(scheme);
    if content_digest.len() != digest.len() {
        return Err(CmsError::Input(format!(
            "the content digest has {} bytes, a {} digest has {}",
            content_digest.len(),
            digest.name(),
            digest.len()
        )));
    }
    let signer = embeddable(key.certificate())?;
    let signed_attrs = signed_attributes(&signer, key.certificate(), content_digest)?;
    let to_sign = signed_attrs.to_der().map_err(encode_error)?;
    let signature = key.sign(&to_sign)?;
    check_own_signature(key, &to_sign, &signature)?;
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: signer.tbs_certificate.issuer.clone(),
            serial_number: signer.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: digest_identifier(digest),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: SigAlg::from_scheme(scheme)
            .identifier()
            .map_err(encode_error)?,
        signature: OctetString::new(signature).map_err(encode_error)?,
        unsigned_attrs: None,
    };
    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![digest_identifier(digest)])
            .map_err(encode_error)?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: rfc5911::ID_DATA,
            econtent: None,
        },
        certificates: Some(certificate_set(signer, key)?),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info]).map_err(encode_error)?),
    };
    let content = Any::encode_from(&signed_data).map_err(encode_error)?;
    let content_info = ContentInfo {
        content_type: rfc5911::ID_SIGNED_DATA,
        content,
    };
    content_info.to_der().map_err(encode_error)
}

fn encode_error(e: der::Error) -> CmsError {
    CmsError::Encode(e.to_string())
}

/// A digest AlgorithmIdentifier, parameters absent (RFC 5754).
fn digest_identifier(hash: Hash) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: hash.oid(),
        parameters: None,
    }
}

/// Decodes a certificate to embed, refusing one that would not re-encode to the same
/// bytes (a non-DER certificate would be altered, breaking its signature and our hash).
fn embeddable(der: &[u8]) -> Result<Certificate, CmsError> {
    let cert = Certificate::from_der(der)
        .map_err(|e| CertError::Malformed(format!("cannot embed certificate: {e}")))?;
    if cert.to_der().map_err(encode_error)? != der {
        return Err(CertError::Malformed(
            "the certificate is not DER-canonical and cannot be embedded unchanged".into(),
        )
        .into());
    }
    Ok(cert)
}

/// The signer certificate and its chain, duplicates dropped (a SET OF may not repeat).
fn certificate_set(signer: Certificate, key: &dyn SigningKey) -> Result<CertificateSet, CmsError> {
    let mut ders: Vec<&[u8]> = vec![key.certificate()];
    let mut certs = vec![CertificateChoices::Certificate(signer)];
    for der in key.chain() {
        if !ders.contains(&der.as_slice()) {
            ders.push(der);
            certs.push(CertificateChoices::Certificate(embeddable(der)?));
        }
    }
    Ok(CertificateSet(
        SetOfVec::try_from(certs).map_err(encode_error)?,
    ))
}

/// content-type (id-data), message-digest and signingCertificateV2, as a DER SET OF.
fn signed_attributes(
    signer: &Certificate,
    signer_der: &[u8],
    content_digest: &[u8],
) -> Result<SetOfVec<Attribute>, CmsError> {
    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: None, // DEFAULT sha256
            cert_hash: OctetString::new(Hash::Sha256.digest(&[signer_der]))
                .map_err(encode_error)?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(
                    signer.tbs_certificate.issuer.clone(),
                )],
                serial_number: signer.tbs_certificate.serial_number.clone(),
                issuer_uid: None,
            }),
        }],
        policies: None,
    };
    let digest = OctetString::new(content_digest).map_err(encode_error)?;
    let attrs = vec![
        attribute(rfc5911::ID_CONTENT_TYPE, &rfc5911::ID_DATA)?,
        attribute(rfc5911::ID_MESSAGE_DIGEST, &digest)?,
        attribute(rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2, &ess)?,
    ];
    SetOfVec::try_from(attrs).map_err(encode_error)
}

fn attribute(
    oid: ObjectIdentifier,
    value: &(impl Tagged + EncodeValue),
) -> Result<Attribute, CmsError> {
    let value = Any::encode_from(value).map_err(encode_error)?;
    let values = SetOfVec::try_from(vec![value]).map_err(encode_error)?;
    Ok(Attribute { oid, values })
}

fn check_own_signature(
    key: &dyn SigningKey,
    message: &[u8],
    signature: &[u8],
) -> Result<(), CmsError> {
    match certificate::verify_with_certificate(key.certificate(), key.scheme(), message, signature)? {
        true => Ok(()),
        false => Err(CmsError::KeyMismatch(
            "the private key does not belong to the certificate, or the key signed with other parameters than announced"
                .into(),
        )),
    }
}

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies SEQUENCE
/// OF PolicyInformation OPTIONAL }` (RFC 5035).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
    #[asn1(optional = "true")]
    policies: Option<Any>,
}

/// `ESSCertIDv2 ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier DEFAULT {algorithm
/// id-sha256}, certHash OCTET STRING, issuerSerial IssuerSerial OPTIONAL }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV2 {
    #[asn1(optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

/// `SigningCertificate ::= SEQUENCE { certs SEQUENCE OF ESSCertID, policies ... OPTIONAL }`
/// (RFC 2634, SHA-1 cert hashes; read only).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV1 {
    certs: Vec<EssCertId>,
    #[asn1(optional = "true")]
    policies: Option<Any>,
}

/// `ESSCertID ::= SEQUENCE { certHash OCTET STRING, issuerSerial IssuerSerial OPTIONAL }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertId {
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

/// `IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber,
/// issuerUID UniqueIdentifier OPTIONAL }` (RFC 5755).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct IssuerSerial {
    issuer: GeneralNames,
    serial_number: SerialNumber,
    #[asn1(optional = "true")]
    issuer_uid: Option<BitString>,
}

// ---------------------------------------------------------------------------------------
// Verification.

/// Parses and checks a detached SignedData against the digest of the signed bytes (the
/// concatenation of `signed_parts`, e.g. a PDF's two byte ranges). Trailing zero bytes
/// after the DER object (the padding of a PDF `/Contents` string) are ignored.
///
/// `Err` when there is nothing to report on: malformed DER, not a SignedData, not exactly
/// one SignerInfo, no signed attributes, or no embedded signer certificate. Every other
/// problem is a `false` field plus a sentence in [`CmsReport::errors`].
pub fn verify_detached(der: &[u8], signed_parts: &[&[u8]]) -> Result<CmsReport, CmsError> {
    verify(der, Content::Detached(signed_parts), Profile::Cades)
}

/// The rules a detached signature is held to, from the PDF's `/SubFilter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `ETSI.CAdES.detached` (PAdES): signed attributes with signingCertificateV2
    /// required, SHA-2 digests only.
    Cades,
    /// `adbe.pkcs7.detached` (Adobe Reader, CA plug-ins): signed attributes and
    /// signingCertificate optional; SHA-1 accepted and reported as weak.
    Pkcs7,
}

/// [`verify_detached`] under `profile`.
pub fn verify_detached_as(
    der: &[u8],
    signed_parts: &[&[u8]],
    profile: Profile,
) -> Result<CmsReport, CmsError> {
    verify(der, Content::Detached(signed_parts), profile)
}

/// Parses and checks a SignedData that carries its content (an RFC 3161 timestamp token,
/// whose content is a TSTInfo of type `content_type`); returns the report and the
/// content's bytes.
pub fn verify_encapsulated(
    der: &[u8],
    content_type: ObjectIdentifier,
) -> Result<(CmsReport, Vec<u8>), CmsError> {
    verify_encapsulated_as(der, content_type, Profile::Cades)
}

/// [`verify_encapsulated`] under `profile` (an `adbe.pkcs7.sha1` PDF signature carries
/// the SHA-1 digest of the byte range as id-data content, PKCS #7 rules).
pub fn verify_encapsulated_as(
    der: &[u8],
    content_type: ObjectIdentifier,
    profile: Profile,
) -> Result<(CmsReport, Vec<u8>), CmsError> {
    let signed_data = decode_signed_data(without_padding(der)?)?;
    let content = signed_data
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| missing("encapsulated content"))?
        .decode_as::<OctetString>()
        .map_err(malformed("encapsulated content"))?
        .as_bytes()
        .to_vec();
    let report = verify(der, Content::Encapsulated(content_type, &content), profile)?;
    Ok((report, content))
}

/// What a SignedData signs: bytes kept elsewhere, or its own content.
enum Content<'a> {
    Detached(&'a [&'a [u8]]),
    Encapsulated(ObjectIdentifier, &'a [u8]),
}

fn verify(der: &[u8], content: Content<'_>, profile: Profile) -> Result<CmsReport, CmsError> {
    let der = without_padding(der)?;
    let signed_data = decode_signed_data(der)?;
    let signer_info = single_signer(&signed_data)?;
    let raw = RawParts::read(der)?;
    let (signer_der, signer) = find_signer(&raw.certificates, &signer_info.sid)?;
    let mut report = CmsReport {
        signer_certificate: signer_der.to_vec(),
        certificates: raw.certificates.clone(),
        algorithm: String::new(),
        digest_matches: false,
        signature_valid: false,
        has_signing_certificate_v2: false,
        signing_certificate_matches: false,
        has_signing_time: false,
        errors: Vec::new(),
        warnings: Vec::new(),
        weak: false,
        unsupported: false,
    };
    let parts: Vec<&[u8]> = match content {
        Content::Detached(parts) => parts.to_vec(),
        Content::Encapsulated(_, bytes) => vec![bytes],
    };
    let Some(attrs) = signer_info.signed_attrs.as_ref() else {
        if profile == Profile::Cades {
            return Err(CmsError::Unsupported(
                "the SignerInfo has no signed attributes (PAdES requires them)".into(),
            ));
        }
        // PKCS #7 without signed attributes: the signature is over the content itself.
        check_content_type_unsigned(&signed_data, &content, &mut report);
        check_digest_algorithm(signer_info, profile, &mut report);
        check_signature(signer_info, &parts.concat(), profile, &mut report);
        report.digest_matches = report.signature_valid;
        report.signing_certificate_matches = true;
        return Ok(report);
    };
    check_content_type(&signed_data, attrs, &content, &mut report);
    check_digest(signer_info, attrs, &parts, profile, &mut report);
    check_signature(signer_info, &raw.signed_attrs, profile, &mut report);
    check_signing_certificate(attrs, &signer, profile, &mut report);
    report.has_signing_time = attrs.iter().any(|a| a.oid == rfc5911::ID_SIGNING_TIME);
    Ok(report)
}

/// A SignerInfo without signed attributes cannot claim a content type: the content must
/// be detached id-data.
fn check_content_type_unsigned(
    signed_data: &SignedData,
    content: &Content<'_>,
    report: &mut CmsReport,
) {
    let encap = &signed_data.encap_content_info;
    if matches!(content, Content::Detached(_))
        && (encap.econtent.is_some() || encap.econtent_type != rfc5911::ID_DATA)
    {
        report
            .errors
            .push("a PDF signature must be detached id-data".into());
    }
}

/// A digest algorithm's name, for messages: the common ones sohoa does not verify by
/// name, others by OID.
fn digest_name(oid: &ObjectIdentifier) -> String {
    let name = match oid.to_string().as_str() {
        "2.16.840.1.101.3.4.2.4" => "SHA-224",
        "2.16.840.1.101.3.4.2.8" => "SHA3-256",
        "2.16.840.1.101.3.4.2.9" => "SHA3-384",
        "2.16.840.1.101.3.4.2.10" => "SHA3-512",
        "2.16.840.1.101.3.4.2.11" => "SHAKE128",
        "2.16.840.1.101.3.4.2.12" => "SHAKE256",
        "2.16.840.1.101.3.4.2.17" => "SHAKE128 with output length",
        "2.16.840.1.101.3.4.2.18" => "SHAKE256 with output length",
        "1.2.840.113549.2.5" => "MD5",
        "1.3.14.3.2.26" => "SHA-1",
        _ => return oid.to_string(),
    };
    format!("{name} ({oid})")
}

/// The digest algorithm, when it is one the profile accepts; SHA-1 is weak.
fn check_digest_algorithm(
    signer_info: &SignerInfo,
    profile: Profile,
    report: &mut CmsReport,
) -> Option<Hash> {
    let oid = signer_info.digest_alg.oid;
    match Hash::from_oid(&oid) {
        Some(Hash::Sha1) if profile == Profile::Pkcs7 => {
            report.weak = true;
            Some(Hash::Sha1)
        }
        Some(Hash::Sha1) | None => {
            report.unsupported = true;
            report.errors.push(format!(
                "unsupported digest algorithm {} (SHA-256/384/512 are supported{})",
                digest_name(&oid),
                if profile == Profile::Pkcs7 {
                    ", SHA-1 as weak"
                } else {
                    ""
                }
            ));
            None
        }
        Some(hash) => Some(hash),
    }
}

/// The signature value of the single SignerInfo of a SignedData.
pub fn signature_value(der: &[u8]) -> Result<Vec<u8>, CmsError> {
    let signed_data = decode_signed_data(without_padding(der)?)?;
    Ok(single_signer(&signed_data)?.signature.as_bytes().to_vec())
}

/// The values (DER) of the single SignerInfo's unsigned attribute `oid`.
pub fn unsigned_attribute(der: &[u8], oid: ObjectIdentifier) -> Result<Vec<Vec<u8>>, CmsError> {
    let signed_data = decode_signed_data(without_padding(der)?)?;
    let signer = single_signer(&signed_data)?;
    let mut values = Vec::new();
    for attribute in signer.unsigned_attrs.iter().flat_map(|a| a.iter()) {
        if attribute.oid == oid {
            for value in attribute.values.iter() {
                values.push(value.to_der().map_err(encode_error)?);
            }
        }
    }
    Ok(values)
}

/// Adds the unsigned attribute `oid` with the DER `value` to the single SignerInfo of a
/// SignedData we made (DER throughout, so re-encoding keeps the signed bytes; checked).
pub fn with_unsigned_attribute(
    der: &[u8],
    oid: ObjectIdentifier,
    value: &[u8],
) -> Result<Vec<u8>, CmsError> {
    let der = without_padding(der)?;
    let signed_attrs = RawParts::read(der)?.signed_attrs;
    let mut signed_data = decode_signed_data(der)?;
    let mut signer = single_signer(&signed_data)?.clone();
    let value = Any::from_der(value).map_err(malformed("attribute value"))?;
    let attribute = Attribute {
        oid,
        values: SetOfVec::try_from(vec![value]).map_err(encode_error)?,
    };
    let mut unsigned: Vec<Attribute> = signer
        .unsigned_attrs
        .take()
        .map(|a| a.into_vec())
        .unwrap_or_default();
    unsigned.push(attribute);
    signer.unsigned_attrs = Some(SetOfVec::try_from(unsigned).map_err(encode_error)?);
    signed_data.signer_infos = SignerInfos(SetOfVec::try_from(vec![signer]).map_err(encode_error)?);
    let content = Any::encode_from(&signed_data).map_err(encode_error)?;
    let out = ContentInfo {
        content_type: rfc5911::ID_SIGNED_DATA,
        content,
    }
    .to_der()
    .map_err(encode_error)?;
    if RawParts::read(&out)?.signed_attrs != signed_attrs {
        return Err(CmsError::Malformed(
            "re-encoding changed the signed attributes".into(),
        ));
    }
    Ok(out)
}

fn malformed(context: &'static str) -> impl Fn(der::Error) -> CmsError {
    move |e| CmsError::Malformed(format!("{context}: {e}"))
}

/// The DER object at the start of `der`; anything after it must be zero padding.
fn without_padding(der: &[u8]) -> Result<&[u8], CmsError> {
    let mut reader = SliceReader::new(der).map_err(malformed("unreadable input"))?;
    let header = Header::decode(&mut reader).map_err(malformed("not a DER object"))?;
    let total = (reader.position() + header.length)
        .and_then(usize::try_from)
        .map_err(malformed("length out of range"))?;
    if total > der.len() {
        return Err(CmsError::Malformed(format!(
            "truncated: the object announces {total} bytes, {} are present",
            der.len()
        )));
    }
    let (object, rest) = der.split_at(total);
    if rest.iter().any(|b| *b != 0) {
        return Err(CmsError::Malformed(format!(
            "{} bytes that are not zero padding follow the CMS object",
            rest.len()
        )));
    }
    Ok(object)
}

fn decode_signed_data(der: &[u8]) -> Result<SignedData, CmsError> {
    let content_info = ContentInfo::from_der(der).map_err(malformed("not a CMS ContentInfo"))?;
    if content_info.content_type != rfc5911::ID_SIGNED_DATA {
        return Err(CmsError::Unsupported(format!(
            "content type {} is not signedData",
            content_info.content_type
        )));
    }
    content_info
        .content
        .decode_as::<SignedData>()
        .map_err(malformed("invalid SignedData"))
}

fn single_signer(signed_data: &SignedData) -> Result<&SignerInfo, CmsError> {
    match signed_data.signer_infos.0.as_slice() {
        [one] => Ok(one),
        many => Err(CmsError::Unsupported(format!(
            "a PAdES signature has exactly one SignerInfo, this one has {}",
            many.len()
        ))),
    }
}

/// The parts of a SignedData whose exact bytes matter, read without re-encoding: the
/// embedded certificates and the signed attributes (as the SET that was signed). The
/// typed decoding sorts SET OF elements, which would change bytes that were not in DER
/// order.
struct RawParts {
    certificates: Vec<Vec<u8>>,
    signed_attrs: Vec<u8>,
}

const CONTEXT_0: Tag = Tag::ContextSpecific {
    constructed: true,
    number: TagNumber::N0,
};

impl RawParts {
    /// Walks ContentInfo → [0] → SignedData → certificates [0] and signerInfos → the
    /// single SignerInfo → signedAttrs [0]. The typed decoding has already validated the
    /// structure, so the walk only needs to find the elements.
    fn read(der: &[u8]) -> Result<Self, CmsError> {
        let walk = malformed("unexpected SignedData layout");
        let content_info =
            elements(AnyRef::from_der(der).map_err(&walk)?.value()).map_err(&walk)?;
        let explicit = content_info.get(1).ok_or_else(|| missing("content"))?;
        let signed_data = AnyRef::from_der(explicit.value()).map_err(&walk)?;
        let fields = elements(signed_data.value()).map_err(&walk)?;
        let mut certificates = Vec::new();
        if let Some(set) = fields.iter().find(|f| f.tag() == CONTEXT_0) {
            for cert in elements(set.value()).map_err(&walk)? {
                if cert.tag() == Tag::Sequence {
                    certificates.push(cert.to_der().map_err(&walk)?);
                }
            }
        }
        let signer_infos = fields.last().ok_or_else(|| missing("signerInfos"))?;
        let signer_info = elements(signer_infos.value()).map_err(&walk)?;
        let signer_info = signer_info.first().ok_or_else(|| missing("SignerInfo"))?;
        let signer_fields = elements(signer_info.value()).map_err(&walk)?;
        let signed_attrs = match signer_fields.get(3).filter(|f| f.tag() == CONTEXT_0) {
            Some(attrs) => AnyRef::new(Tag::Set, attrs.value())
                .and_then(|set| set.to_der())
                .map_err(&walk)?,
            None => Vec::new(),
        };
        Ok(RawParts {
            certificates,
            signed_attrs,
        })
    }
}

fn missing(what: &str) -> CmsError {
    CmsError::Malformed(format!("{what} not found"))
}

/// The consecutive TLVs inside a constructed value.
fn elements(value: &[u8]) -> der::Result<Vec<AnyRef<'_>>> {
    let mut reader = SliceReader::new(value)?;
    let mut out = Vec::new();
    while !reader.is_finished() {
        out.push(AnyRef::decode(&mut reader)?);
    }
    Ok(out)
}

/// The embedded certificate the SignerInfo's `sid` names, as bytes and decoded.
fn find_signer<'c>(
    certificates: &'c [Vec<u8>],
    sid: &SignerIdentifier,
) -> Result<(&'c [u8], Certificate), CmsError> {
    for der in certificates {
        if let Ok(cert) = Certificate::from_der(der) {
            if identifies(sid, &cert) {
                return Ok((der, cert));
            }
        }
    }
    Err(CmsError::SignerNotFound(match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => format!(
            "issuer {} serial {}",
            ias.issuer,
            hex::encode_upper(ias.serial_number.as_bytes())
        ),
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            format!(
                "subject key identifier {}",
                hex::encode_upper(ski.0.as_bytes())
            )
        }
    }))
}

fn identifies(sid: &SignerIdentifier, cert: &Certificate) -> bool {
    let tbs = &cert.tbs_certificate;
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            tbs.issuer == ias.issuer && tbs.serial_number == ias.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => tbs
            .extensions
            .iter()
            .flatten()
            .filter(|e| e.extn_id == rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER)
            .any(|e| SubjectKeyIdentifier::from_der(e.extn_value.as_bytes()).as_ref() == Ok(ski)),
    }
}

/// The single value of the attribute `oid`: `Ok(None)` if absent, `Err` if repeated or
/// not single-valued (RFC 5652 §11).
fn single_value<'a>(
    attrs: &'a [Attribute],
    oid: ObjectIdentifier,
    name: &str,
) -> Result<Option<&'a Any>, String> {
    let mut found = attrs.iter().filter(|a| a.oid == oid);
    let Some(attr) = found.next() else {
        return Ok(None);
    };
    if found.next().is_some() {
        return Err(format!("the {name} attribute appears more than once"));
    }
    match attr.values.as_slice() {
        [value] => Ok(Some(value)),
        values => Err(format!(
            "the {name} attribute has {} values instead of one",
            values.len()
        )),
    }
}

fn check_content_type(
    signed_data: &SignedData,
    attrs: &SetOfVec<Attribute>,
    content: &Content<'_>,
    report: &mut CmsReport,
) {
    let encap = &signed_data.encap_content_info;
    let expected = match content {
        Content::Detached(_) => {
            if encap.econtent.is_some() {
                report.errors.push(
                    "the SignedData encapsulates its content; a PDF signature must be detached"
                        .into(),
                );
            }
            rfc5911::ID_DATA
        }
        Content::Encapsulated(content_type, _) => *content_type,
    };
    if encap.econtent_type != expected {
        report.errors.push(format!(
            "the encapsulated content type is {}, not {expected}",
            encap.econtent_type
        ));
    }
    match single_value(attrs.as_slice(), rfc5911::ID_CONTENT_TYPE, "content-type") {
        Ok(Some(value)) => match value.decode_as::<ObjectIdentifier>() {
            Ok(oid) if oid == encap.econtent_type => {}
            Ok(oid) => report.errors.push(format!(
                "the content-type attribute is {oid}, the encapsulated content type {}",
                encap.econtent_type
            )),
            Err(e) => report
                .errors
                .push(format!("the content-type attribute is malformed: {e}")),
        },
        Ok(None) => report
            .errors
            .push("the content-type signed attribute is missing".into()),
        Err(e) => report.errors.push(e),
    }
}

fn check_digest(
    signer_info: &SignerInfo,
    attrs: &SetOfVec<Attribute>,
    parts: &[&[u8]],
    profile: Profile,
    report: &mut CmsReport,
) {
    let Some(hash) = check_digest_algorithm(signer_info, profile, report) else {
        return;
    };
    let claimed = match single_value(
        attrs.as_slice(),
        rfc5911::ID_MESSAGE_DIGEST,
        "message-digest",
    ) {
        Ok(Some(value)) => match value.decode_as::<OctetString>() {
            Ok(octets) => octets,
            Err(e) => {
                return report
                    .errors
                    .push(format!("the message-digest attribute is malformed: {e}"))
            }
        },
        Ok(None) => {
            return report
                .errors
                .push("the message-digest signed attribute is missing".into())
        }
        Err(e) => return report.errors.push(e),
    };
    report.digest_matches = claimed.as_bytes() == hash.digest(parts).as_slice();
    if !report.digest_matches {
        report.errors.push(format!(
            "the {} digest of the signed bytes differs from the message-digest attribute: the document was changed after signing",
            hash.name()
        ));
    }
}

/// Checks the SignerInfo's signature over `signed_attrs`. An Adobe-style (PKCS #7)
/// signature with RSA and SHA-1 is checked too, so that intact and tampered can be told
/// apart, and marked weak.
fn check_signature(
    signer_info: &SignerInfo,
    signed_attrs: &[u8],
    profile: Profile,
    report: &mut CmsReport,
) {
    let alg = &signer_info.signature_algorithm;
    let alg = AlgorithmIdentifierRef {
        oid: alg.oid,
        parameters: alg.parameters.as_ref().map(AnyRef::from),
    };
    let digest = Hash::from_oid(&signer_info.digest_alg.oid);
    let result = SigAlg::from_identifier(&alg, digest).and_then(|alg| {
        report.algorithm = alg.describe();
        let key = certificate::public_key(&report.signer_certificate).map_err(|e| e.to_string())?;
        let signature = signer_info.signature.as_bytes();
        if profile == Profile::Pkcs7 && alg.hash() == Hash::Sha1 {
            report.weak = true;
            return key.verify_legacy_sha1(alg, signed_attrs, signature);
        }
        key.verify(alg, signed_attrs, signature)
    });
    match result {
        Ok(true) => report.signature_valid = true,
        Ok(false) => report
            .errors
            .push("the signature does not verify with the signer certificate's key".into()),
        Err(e) => {
            report.unsupported = true;
            report
                .errors
                .push(format!("the signature cannot be checked: {e}"))
        }
    }
}

/// Checks signingCertificateV2 (or the legacy SHA-1 signingCertificate) against the
/// signer certificate: the first ESSCertID must carry its hash, and its issuer and serial
/// when given (RFC 5035 §5.4).
fn check_signing_certificate(
    attrs: &SetOfVec<Attribute>,
    signer: &Certificate,
    profile: Profile,
    report: &mut CmsReport,
) {
    let v2 = single_value(
        attrs.as_slice(),
        rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2,
        "signingCertificateV2",
    );
    let v1 = single_value(
        attrs.as_slice(),
        rfc5911::ID_AA_SIGNING_CERTIFICATE,
        "signingCertificate",
    );
    report.has_signing_certificate_v2 = matches!(v2, Ok(Some(_)));
    let checked = match (v2, v1) {
        (Err(e), _) | (_, Err(e)) => Err(e),
        (Ok(Some(value)), _) => ess_v2_matches(value, &report.signer_certificate, signer),
        (Ok(None), Ok(Some(value))) => ess_v1_matches(value, &report.signer_certificate, signer),
        (Ok(None), Ok(None)) if profile == Profile::Pkcs7 => Ok(()),
        (Ok(None), Ok(None)) => {
            Err("the signingCertificateV2 signed attribute is missing (PAdES requires it)".into())
        }
    };
    match checked {
        Ok(()) => report.signing_certificate_matches = true,
        Err(e) => report.errors.push(e),
    }
}

fn ess_v2_matches(value: &Any, signer_der: &[u8], signer: &Certificate) -> Result<(), String> {
    let ess: SigningCertificateV2 = value
        .decode_as()
        .map_err(|e| format!("the signingCertificateV2 attribute is malformed: {e}"))?;
    let id = ess
        .certs
        .first()
        .ok_or("the signingCertificateV2 attribute lists no certificate")?;
    let oid = id
        .hash_algorithm
        .as_ref()
        .map_or(Hash::Sha256.oid(), |a| a.oid);
    let hash = Hash::from_oid(&oid)
        .ok_or_else(|| format!("the signingCertificateV2 hash algorithm {oid} is not supported"))?;
    ess_matches(
        hash,
        id.cert_hash.as_bytes(),
        id.issuer_serial.as_ref(),
        signer_der,
        signer,
    )
}

fn ess_v1_matches(value: &Any, signer_der: &[u8], signer: &Certificate) -> Result<(), String> {
    let ess: SigningCertificateV1 = value
        .decode_as()
        .map_err(|e| format!("the signingCertificate attribute is malformed: {e}"))?;
    let id = ess
        .certs
        .first()
        .ok_or("the signingCertificate attribute lists no certificate")?;
    ess_matches(
        Hash::Sha1,
        id.cert_hash.as_bytes(),
        id.issuer_serial.as_ref(),
        signer_der,
        signer,
    )
}

fn ess_matches(
    hash: Hash,
    cert_hash: &[u8],
    issuer_serial: Option<&IssuerSerial>,
    signer_der: &[u8],
    signer: &Certificate,
) -> Result<(), String> {
    if hash.digest(&[signer_der]) != cert_hash {
        return Err(format!(
            "the signing certificate attribute's {} hash does not match the signer certificate",
            hash.name()
        ));
    }
    let Some(issuer_serial) = issuer_serial else {
        return Ok(());
    };
    let tbs = &signer.tbs_certificate;
    let names_issuer = issuer_serial
        .issuer
        .iter()
        .any(|n| matches!(n, GeneralName::DirectoryName(name) if *name == tbs.issuer));
    if !names_issuer || issuer_serial.serial_number != tbs.serial_number {
        return Err("the signing certificate attribute's issuer and serial number do not match the signer certificate".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certify::certificate::testing::{openssl, pki, Issued, TestKey};
    use std::path::Path;

    const DATA: &[u8] = b"%PDF-1.7 pretend byte range one\n... and byte range two %%EOF\n";

    fn cases() -> Vec<(&'static Issued, SignatureScheme, &'static str)> {
        let pki = pki();
        vec![
            (
                &pki.rsa,
                SignatureScheme::RsaPssSha256,
                "RSASSA-PSS with SHA-256",
            ),
            (
                &pki.rsa,
                SignatureScheme::RsaPkcs1Sha256,
                "RSA PKCS#1 v1.5 with SHA-256",
            ),
            (
                &pki.ec256,
                SignatureScheme::EcdsaP256Sha256,
                "ECDSA with SHA-256",
            ),
            (
                &pki.ec384,
                SignatureScheme::EcdsaP384Sha384,
                "ECDSA with SHA-384",
            ),
        ]
    }

    fn sign(issued: &Issued, scheme: SignatureScheme, data: &[u8]) -> Vec<u8> {
        let key = TestKey::new(issued, scheme);
        sign_detached(&key, &digest_for(scheme).digest(&[data])).unwrap()
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) {
        std::fs::write(dir.join(name), bytes).unwrap();
    }

    #[test]
    fn digest_follows_the_scheme() {
        assert_eq!(digest_for(SignatureScheme::RsaPssSha256), Hash::Sha256);
        assert_eq!(digest_for(SignatureScheme::EcdsaP384Sha384), Hash::Sha384);
        let split = Hash::Sha384.digest(&[&DATA[..10], &DATA[10..]]);
        assert_eq!(split, Hash::Sha384.digest(&[DATA]));
        assert_eq!(split.len(), 48);
    }

    #[test]
    fn sign_then_verify_all_schemes() {
        for (issued, scheme, name) in cases() {
            let der = sign(issued, scheme, DATA);
            let report = verify_detached(&der, &[&DATA[..20], &DATA[20..]]).unwrap();
            assert!(report.errors.is_empty(), "{scheme:?}: {:?}", report.errors);
            assert!(
                report.digest_matches && report.signature_valid,
                "{scheme:?}"
            );
            assert!(report.has_signing_certificate_v2 && report.signing_certificate_matches);
            assert!(!report.has_signing_time);
            assert_eq!(report.algorithm, name);
            assert_eq!(report.signer_certificate, issued.cert);
            assert_eq!(report.certificates.len(), 1 + issued.chain.len());
        }
    }

    #[test]
    fn changed_content_is_reported() {
        for (issued, scheme, _) in cases() {
            let der = sign(issued, scheme, DATA);
            let report = verify_detached(&der, &[b"%PDF-1.7 other bytes"]).unwrap();
            assert!(
                !report.digest_matches && report.signature_valid,
                "{scheme:?}"
            );
            assert!(
                report.errors[0].contains("changed after signing"),
                "{:?}",
                report.errors
            );
        }
    }

    #[test]
    fn tampered_signature_is_reported() {
        let der = sign(&pki().rsa, SignatureScheme::RsaPssSha256, DATA);
        let mut tampered = der.clone();
        let last = tampered.len() - 1; // the signature OCTET STRING ends the object
        tampered[last] ^= 1;
        let report = verify_detached(&tampered, &[DATA]).unwrap();
        assert!(report.digest_matches && !report.signature_valid);
        assert_eq!(
            report.errors,
            ["the signature does not verify with the signer certificate's key"]
        );
    }

    /// Another signer may put the signed attributes in non-DER order; the signature covers
    /// those bytes, so verification must not re-sort them.
    #[test]
    fn unsorted_signed_attributes_verify_as_signed() {
        let key = TestKey::new(&pki().rsa, SignatureScheme::RsaPkcs1Sha256);
        let mut der = sign_detached(&key, &Hash::Sha256.digest(&[DATA])).unwrap();
        let set = RawParts::read(&der).unwrap().signed_attrs;
        let set = AnyRef::from_der(&set).unwrap();
        let mut attrs = elements(set.value()).unwrap();
        attrs.reverse();
        let reversed: Vec<u8> = attrs.iter().flat_map(|a| a.to_der().unwrap()).collect();
        let at = der
            .windows(reversed.len())
            .position(|w| w == set.value())
            .unwrap();
        der[at..at + reversed.len()].copy_from_slice(&reversed);
        let unsorted = AnyRef::new(Tag::Set, &reversed).unwrap().to_der().unwrap();
        let signature = key.sign(&unsorted).unwrap();
        let end = der.len();
        der[end - signature.len()..].copy_from_slice(&signature);
        let report = verify_detached(&der, &[DATA]).unwrap();
        assert!(
            report.signature_valid && report.errors.is_empty(),
            "{report:?}"
        );
    }

    #[test]
    fn padding_is_ignored_and_garbage_is_not() {
        let mut der = sign(&pki().ec256, SignatureScheme::EcdsaP256Sha256, DATA);
        der.extend_from_slice(&[0; 300]);
        assert!(verify_detached(&der, &[DATA]).unwrap().signature_valid);
        der.push(1);
        let err = verify_detached(&der, &[DATA]).unwrap_err();
        assert!(err.to_string().contains("not zero padding"), "{err}");
    }

    #[test]
    fn malformed_input_never_panics() {
        let der = sign(&pki().ec256, SignatureScheme::EcdsaP256Sha256, DATA);
        assert!(matches!(
            verify_detached(&[], &[DATA]),
            Err(CmsError::Malformed(_))
        ));
        let err = verify_detached(&der[..der.len() - 1], &[DATA]).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
        for len in (0..der.len()).step_by(13) {
            assert!(
                verify_detached(&der[..len], &[DATA]).is_err(),
                "prefix {len}"
            );
        }
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..2000 {
            let mut mutated = der.clone();
            for _ in 0..1 + next() % 4 {
                let i = (next() % mutated.len() as u64) as usize;
                mutated[i] = next() as u8;
            }
            let _ = verify_detached(&mutated, &[DATA]);
            let random: Vec<u8> = (0..next() % 200).map(|_| next() as u8).collect();
            let _ = verify_detached(&random, &[DATA]);
        }
    }

    #[test]
    fn wrong_inputs_to_sign_are_refused() {
        let pki = pki();
        let key = TestKey::new(&pki.rsa, SignatureScheme::RsaPssSha256);
        let err = sign_detached(&key, &[0; 48]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid input: the content digest has 48 bytes, a SHA-256 digest has 32"
        );
        let stranger =
            TestKey::new(&pki.rsa, SignatureScheme::RsaPssSha256).with_certificate(&pki.expired);
        assert!(matches!(
            sign_detached(&stranger, &[0; 32]),
            Err(CmsError::KeyMismatch(_))
        ));
        let garbage =
            TestKey::new(&pki.rsa, SignatureScheme::RsaPssSha256).with_certificate(b"junk");
        assert!(matches!(
            sign_detached(&garbage, &[0; 32]),
            Err(CmsError::Certificate(_))
        ));
    }

    #[test]
    fn openssl_verifies_our_signatures() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        write(dir, "root.pem", pki().root_pem.as_bytes());
        write(dir, "data.bin", DATA);
        for (i, (issued, scheme, _)) in cases().into_iter().enumerate() {
            let sig = format!("sig{i}.der");
            write(dir, &sig, &sign(issued, scheme, DATA));
            openssl(
                dir,
                &[
                    "cms",
                    "-verify",
                    "-binary",
                    "-inform",
                    "DER",
                    "-in",
                    &sig,
                    "-content",
                    "data.bin",
                    "-CAfile",
                    "root.pem",
                    "-purpose",
                    "any",
                    "-out",
                    "/dev/null",
                ],
            );
            let parsed = openssl(dir, &["asn1parse", "-inform", "DER", "-in", &sig]);
            let text = String::from_utf8_lossy(&parsed.stdout);
            assert!(!text.contains("signingTime"), "{text}");
            assert!(
                text.contains(":messageDigest") && text.contains(":contentType"),
                "{text}"
            );
            assert!(text.contains("signingCertificateV2"), "{text}");
            write(dir, "other.bin", b"changed");
            let out = std::process::Command::new("openssl")
                .args([
                    "cms",
                    "-verify",
                    "-binary",
                    "-inform",
                    "DER",
                    "-in",
                    &sig,
                    "-content",
                    "other.bin",
                ])
                .args([
                    "-CAfile",
                    "root.pem",
                    "-purpose",
                    "any",
                    "-out",
                    "/dev/null",
                ])
                .current_dir(dir)
                .output()
                .unwrap();
            assert!(!out.status.success(), "openssl accepted changed content");
        }
    }

    /// The RSASSA-PSS parameters are the RFC 4055 rSASSA-PSS-SHA256-Params, byte for byte
    /// the DER that Go's crypto/x509 hard-codes (hash identifiers with NULL parameters).
    #[test]
    fn pss_parameters_are_canonical() {
        const GO_PSS_SHA256: [u8; 54] = [
            48, 52, 160, 15, 48, 13, 6, 9, 96, 134, 72, 1, 101, 3, 4, 2, 1, 5, 0, 161, 28, 48, 26,
            6, 9, 42, 134, 72, 134, 247, 13, 1, 1, 8, 48, 13, 6, 9, 96, 134, 72, 1, 101, 3, 4, 2,
            1, 5, 0, 162, 3, 2, 1, 32,
        ];
        let der = sign(&pki().rsa, SignatureScheme::RsaPssSha256, DATA);
        let signed_data = decode_signed_data(&der).unwrap();
        let alg = &single_signer(&signed_data).unwrap().signature_algorithm;
        assert_eq!(alg.oid, const_oid::db::rfc5912::ID_RSASSA_PSS);
        assert_eq!(
            alg.parameters.as_ref().unwrap().to_der().unwrap(),
            GO_PSS_SHA256
        );
        let pkcs1 = sign(&pki().rsa, SignatureScheme::RsaPkcs1Sha256, DATA);
        let signed_data = decode_signed_data(&pkcs1).unwrap();
        let alg = &single_signer(&signed_data).unwrap().signature_algorithm;
        assert_eq!(alg.oid, const_oid::db::rfc5912::SHA_256_WITH_RSA_ENCRYPTION);
        assert_eq!(alg.parameters.as_ref().unwrap().to_der().unwrap(), [5, 0]);
    }

    /// Signatures made by OpenSSL (CAdES mode, PSS, subject key identifier, signing time)
    /// verify here too.
    #[test]
    fn we_verify_openssl_signatures() {
        let pki = pki();
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        write(dir, "data.bin", DATA);
        write(dir, "office.der", &pki.rsa.cert);
        write(dir, "office.p8", &pki.rsa.pkcs8);
        openssl(
            dir,
            &[
                "x509",
                "-inform",
                "DER",
                "-in",
                "office.der",
                "-out",
                "office.pem",
            ],
        );
        let variants: [&[&str]; 3] = [
            &[
                "-cades",
                "-keyopt",
                "rsa_padding_mode:pss",
                "-keyopt",
                "rsa_pss_saltlen:32",
            ],
            &["-cades", "-keyid"],
            &["-md", "sha512"],
        ];
        for extra in variants {
            let mut args = vec![
                "cms",
                "-sign",
                "-binary",
                "-in",
                "data.bin",
                "-signer",
                "office.pem",
                "-inkey",
                "office.p8",
                "-keyform",
                "DER",
                "-outform",
                "DER",
                "-out",
                "theirs.der",
                "-nosmimecap",
            ];
            args.extend_from_slice(extra);
            openssl(dir, &args);
            let der = std::fs::read(dir.join("theirs.der")).unwrap();
            let report = verify_detached(&der, &[DATA]).unwrap();
            assert!(
                report.digest_matches && report.signature_valid,
                "{extra:?}: {report:?}"
            );
            assert!(report.has_signing_time, "{extra:?}");
            let cades = extra.contains(&"-cades");
            assert_eq!(
                report.signing_certificate_matches, cades,
                "{extra:?}: {:?}",
                report.errors
            );
            assert_eq!(
                report.errors.is_empty(),
                cades,
                "{extra:?}: {:?}",
                report.errors
            );
        }
    }
}
