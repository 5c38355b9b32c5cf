//! Signature algorithms, hashes and public keys, as certificates, CMS signatures, OCSP
//! answers, CRLs and timestamps name them: read from their algorithm identifiers with the
//! RustCrypto `der`/`spki` types and verified with `ring` (RSASSA-PSS with other salt
//! lengths with `rsa`).

use const_oid::db::rfc5912;
use const_oid::ObjectIdentifier;
use der::asn1::{AnyRef, UintRef};
use der::{Decode, Sequence};
use ring::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use spki::{AlgorithmIdentifierOwned, AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};

use super::key::{RsaPadding, SignatureScheme};

/// A hash function by its role in signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
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
    pub fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
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

/// A key sohoa signs with, by type: what a certificate's public key or a PKCS#8 private
/// key is, once checked (RSA of at least 2048 bits, ECDSA on P-256 or P-384).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyType {
    /// RSA.
    Rsa,
    /// ECDSA on P-256.
    EcP256,
    /// ECDSA on P-384.
    EcP384,
}

impl KeyType {
    /// The scheme sohoa signs with for this key and the user's RSA padding choice.
    pub(crate) fn scheme(self, padding: RsaPadding) -> SignatureScheme {
        match (self, padding) {
            (KeyType::Rsa, RsaPadding::Pss) => SignatureScheme::RsaPssSha256,
            (KeyType::Rsa, RsaPadding::Pkcs1) => SignatureScheme::RsaPkcs1Sha256,
            (KeyType::EcP256, _) => SignatureScheme::EcdsaP256Sha256,
            (KeyType::EcP384, _) => SignatureScheme::EcdsaP384Sha384,
        }
    }
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

#[cfg(test)]
mod tests {
    #[test]
    fn bit_lengths_skip_leading_zeros() {
        assert_eq!(super::bit_length(&[0, 0x80, 0]), 16);
        assert_eq!(super::bit_length(&[0, 0]), 0);
    }
}
