//! Checks shared by the key sources ([`pem`](super::pem), [`pkcs12`](super::pkcs12),
//! [`pkcs11`](super::pkcs11)): is the certificate's key one sohoa signs with, does the
//! private key belong to the certificate, and in which order do the other certificates go.
//!
//! Certificate validity and key usage are checked elsewhere (`certificate.rs`); this module
//! only looks at the public key.
//!
//! It also holds the few DER helpers the key sources need (reading a PKCS#8/SEC1 header,
//! wrapping a SEC1 key in PKCS#8, turning a token's raw ECDSA `r‖s` into DER). They are
//! written by hand because they are a few lines each and need no general ASN.1 library.

use ring::signature::{self, UnparsedPublicKey};
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_PKCS1_RSAENCRYPTION,
};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

use super::key::{KeyError, RsaPadding, SignatureScheme, SigningKey};

/// The message every loader signs once to prove that its private key belongs to its
/// certificate.
const TEST_MESSAGE: &[u8] = b"sohoa key check: this private key belongs to this certificate";

/// The public key of a certificate, as far as signing is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CertKey {
    /// RSA with a modulus of `bits` bits (always ≥ 2048 once returned by [`cert_key`]).
    Rsa {
        /// Modulus length in bits.
        bits: usize,
    },
    /// ECDSA on P-256.
    EcP256,
    /// ECDSA on P-384.
    EcP384,
}

impl CertKey {
    /// The scheme sohoa signs with for this key and the user's RSA padding choice.
    pub(crate) fn scheme(self, padding: RsaPadding) -> SignatureScheme {
        match (self, padding) {
            (CertKey::Rsa { .. }, RsaPadding::Pss) => SignatureScheme::RsaPssSha256,
            (CertKey::Rsa { .. }, RsaPadding::Pkcs1) => SignatureScheme::RsaPkcs1Sha256,
            (CertKey::EcP256, _) => SignatureScheme::EcdsaP256Sha256,
            (CertKey::EcP384, _) => SignatureScheme::EcdsaP384Sha384,
        }
    }
}

fn parse_cert(cert_der: &[u8]) -> Result<X509Certificate<'_>, KeyError> {
    match X509Certificate::from_der(cert_der) {
        Ok((_, cert)) => Ok(cert),
        Err(e) => Err(KeyError::Invalid(format!(
            "the certificate is not a valid DER X.509 certificate: {e}"
        ))),
    }
}

/// Checks that `cert_der` is a DER X.509 certificate.
pub(crate) fn cert_parses(cert_der: &[u8]) -> Result<(), KeyError> {
    parse_cert(cert_der).map(|_| ())
}

/// Reads the certificate's public key and refuses the ones sohoa does not sign with
/// (Decree 23/2025: RSA ≥ 2048 bits, ECDSA ≥ 256 bits; we support P-256 and P-384).
pub(crate) fn cert_key(cert_der: &[u8]) -> Result<CertKey, KeyError> {
    let cert = parse_cert(cert_der)?;
    let spki = cert.public_key();
    let alg = &spki.algorithm.algorithm;
    if *alg == OID_PKCS1_RSAENCRYPTION {
        let bits = match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => rsa.key_size(),
            _ => {
                return Err(KeyError::Invalid(
                    "the certificate's RSA public key cannot be read".into(),
                ))
            }
        };
        if bits < 2048 {
            return Err(KeyError::Unsuitable(format!(
                "RSA key of {bits} bits; at least 2048 bits are required"
            )));
        }
        Ok(CertKey::Rsa { bits })
    } else if *alg == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok());
        match curve {
            Some(c) if c == OID_EC_P256 => Ok(CertKey::EcP256),
            Some(c) if c == OID_NIST_EC_P384 => Ok(CertKey::EcP384),
            Some(c) => Err(KeyError::Unsuitable(format!(
                "elliptic curve {c}; only P-256 and P-384 are supported"
            ))),
            None => Err(KeyError::Unsuitable(
                "EC key without a named curve; only P-256 and P-384 are supported".into(),
            )),
        }
    } else {
        Err(KeyError::Unsuitable(format!(
            "public key algorithm {alg}; only RSA and ECDSA (P-256, P-384) are supported"
        )))
    }
}

/// Verifies `signature` over `message` with the public key of `cert_der` (DER X.509), as
/// `scheme` says. Returns [`KeyError::Mismatch`] when the signature does not verify or the
/// scheme does not fit the certificate's key type.
///
/// The loaders use it to check that a private key belongs to its certificate; tests can
/// use it to check a [`SigningKey`]'s signatures independently of the key source.
pub fn verify_with_certificate(
    cert_der: &[u8],
    scheme: SignatureScheme,
    message: &[u8],
    signature: &[u8],
) -> Result<(), KeyError> {
    let cert = parse_cert(cert_der)?;
    let spki = cert.public_key();
    let alg: &dyn signature::VerificationAlgorithm = match scheme {
        SignatureScheme::RsaPssSha256 => &signature::RSA_PSS_2048_8192_SHA256,
        SignatureScheme::RsaPkcs1Sha256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        SignatureScheme::EcdsaP256Sha256 => &signature::ECDSA_P256_SHA256_ASN1,
        SignatureScheme::EcdsaP384Sha384 => &signature::ECDSA_P384_SHA384_ASN1,
    };
    // ring takes the contents of the SubjectPublicKeyInfo BIT STRING: an RSAPublicKey for
    // RSA, the uncompressed point for ECDSA; a key of the wrong type simply fails to verify.
    UnparsedPublicKey::new(alg, spki.subject_public_key.data.as_ref())
        .verify(message, signature)
        .map_err(|_| KeyError::Mismatch)
}

/// Signs a fixed message with `key` and verifies it against `key.certificate()`:
/// [`KeyError::Mismatch`] when the private key is not the certificate's.
pub(crate) fn check_key_matches(key: &dyn SigningKey) -> Result<(), KeyError> {
    let signature = key.sign(TEST_MESSAGE)?;
    verify_with_certificate(key.certificate(), key.scheme(), TEST_MESSAGE, &signature)
}

/// Subject and issuer of a certificate as raw DER `Name`s (compared byte for byte, as
/// chain builders commonly do; CAs issue certificates with the issuer name copied).
fn names(cert_der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (_, cert) = X509Certificate::from_der(cert_der).ok()?;
    Some((
        cert.subject().as_raw().to_vec(),
        cert.issuer().as_raw().to_vec(),
    ))
}

/// Orders the certificates that come with a signer's certificate: its issuer first, then
/// the issuer's issuer, and so on (matching issuer and subject names). Copies of the
/// signer's certificate and duplicates are dropped. Certificates off that path are kept
/// after it, in their original order, when `keep_unrelated` is set, and dropped otherwise.
pub(crate) fn order_chain(
    signer: &[u8],
    others: Vec<Vec<u8>>,
    keep_unrelated: bool,
) -> Vec<Vec<u8>> {
    let mut rest: Vec<Vec<u8>> = Vec::new();
    for cert in others {
        if cert.as_slice() != signer && !rest.contains(&cert) {
            rest.push(cert);
        }
    }
    let rest_names: Vec<Option<(Vec<u8>, Vec<u8>)>> = rest.iter().map(|c| names(c)).collect();
    let mut used = vec![false; rest.len()];
    let mut path = Vec::new();
    let mut current = names(signer);
    while let Some((subject, issuer)) = current.take() {
        if subject == issuer {
            break; // self-signed: the top of the chain
        }
        let next = rest_names
            .iter()
            .enumerate()
            .position(|(i, n)| !used[i] && n.as_ref().is_some_and(|(s, _)| *s == issuer));
        if let Some(i) = next {
            used[i] = true;
            path.push(rest[i].clone());
            current = rest_names[i].clone();
        }
    }
    if keep_unrelated {
        for (i, cert) in rest.into_iter().enumerate() {
            if !used[i] {
                path.push(cert);
            }
        }
    }
    path
}

// ---- Minimal DER -----------------------------------------------------------------------

/// DER tag of SEQUENCE.
pub(crate) const TAG_SEQUENCE: u8 = 0x30;
const TAG_INTEGER: u8 = 0x02;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_OID: u8 = 0x06;

/// The DER of OID 1.2.840.113549.1.1.1 (rsaEncryption), contents only.
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// The DER of OID 1.2.840.10045.2.1 (id-ecPublicKey), contents only.
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// The DER of OID 1.2.840.10045.3.1.7 (P-256), contents only.
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// The DER of OID 1.3.132.0.34 (P-384), contents only.
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];

/// Reads one DER TLV: `(tag, contents, rest)`. Only definite lengths (DER).
pub(crate) fn read_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, input) = input.split_first()?;
    let (&first, mut input) = input.split_first()?;
    let len = if first < 0x80 {
        first as usize
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || input.len() < n {
            return None;
        }
        let len = input[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | b as usize);
        input = &input[n..];
        len
    };
    if input.len() < len {
        return None;
    }
    Some((tag, &input[..len], &input[len..]))
}

/// Writes one DER TLV.
pub(crate) fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let len = contents.len();
    let mut out = Vec::with_capacity(contents.len() + 6);
    out.push(tag);
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(contents);
    out
}

/// A DER INTEGER holding the unsigned big-endian number `magnitude`.
fn der_unsigned_integer(magnitude: &[u8]) -> Vec<u8> {
    let skip = magnitude.iter().take_while(|&&b| b == 0).count();
    let trimmed = &magnitude[skip..];
    let mut contents = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.is_empty() || trimmed[0] & 0x80 != 0 {
        contents.push(0); // zero, or a positive number whose top bit is set
    }
    contents.extend_from_slice(trimmed);
    tlv(TAG_INTEGER, &contents)
}

/// Turns a raw ECDSA signature `r‖s` (what PKCS#11 `CKM_ECDSA` returns: two big-endian
/// numbers of the curve's size) into the DER `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER,
/// s INTEGER }` that CMS wants. Hand-written: two INTEGERs in a SEQUENCE do not justify
/// pulling an EC library in.
pub(crate) fn ecdsa_raw_to_der(raw: &[u8]) -> Result<Vec<u8>, KeyError> {
    if raw.is_empty() || raw.len() % 2 != 0 {
        return Err(KeyError::Sign(format!(
            "the token returned an ECDSA signature of odd length {}",
            raw.len()
        )));
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let mut seq = der_unsigned_integer(r);
    seq.extend_from_slice(&der_unsigned_integer(s));
    Ok(tlv(TAG_SEQUENCE, &seq))
}

/// The key type named in a PKCS#8 `PrivateKeyInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pkcs8Kind {
    /// rsaEncryption.
    Rsa,
    /// id-ecPublicKey on P-256.
    EcP256,
    /// id-ecPublicKey on P-384.
    EcP384,
}

/// Reads the algorithm of a PKCS#8 `PrivateKeyInfo` (`SEQUENCE { version, AlgorithmIdentifier,
/// OCTET STRING, … }`).
pub(crate) fn pkcs8_kind(der: &[u8]) -> Result<Pkcs8Kind, KeyError> {
    let bad = || KeyError::Invalid("the private key is not a valid PKCS#8 PrivateKeyInfo".into());
    let (tag, body, _) = read_tlv(der).ok_or_else(bad)?;
    if tag != TAG_SEQUENCE {
        return Err(bad());
    }
    let (tag, _version, body) = read_tlv(body).ok_or_else(bad)?;
    if tag != TAG_INTEGER {
        return Err(bad());
    }
    let (tag, alg_id, _) = read_tlv(body).ok_or_else(bad)?;
    if tag != TAG_SEQUENCE {
        return Err(bad());
    }
    let (tag, oid, params) = read_tlv(alg_id).ok_or_else(bad)?;
    if tag != TAG_OID {
        return Err(bad());
    }
    if oid == OID_RSA {
        return Ok(Pkcs8Kind::Rsa);
    }
    if oid == OID_EC {
        return match read_tlv(params) {
            Some((TAG_OID, c, _)) if c == OID_P256 => Ok(Pkcs8Kind::EcP256),
            Some((TAG_OID, c, _)) if c == OID_P384 => Ok(Pkcs8Kind::EcP384),
            _ => Err(KeyError::Unsuitable(
                "EC private key on a curve other than P-256 or P-384".into(),
            )),
        };
    }
    Err(KeyError::Unsuitable(
        "private key algorithm other than RSA or ECDSA (P-256, P-384)".into(),
    ))
}

/// Wraps a SEC1 `ECPrivateKey` ("EC PRIVATE KEY" PEM, what `openssl ecparam -genkey`
/// writes) into a PKCS#8 `PrivateKeyInfo`, which is what ring reads. The curve comes from
/// the key's `[0] parameters`; keys without it are refused.
pub(crate) fn sec1_to_pkcs8(sec1: &[u8]) -> Result<Vec<u8>, KeyError> {
    let bad = |why: &str| {
        KeyError::Invalid(format!(
            "cannot read the EC PRIVATE KEY ({why}); convert it with \
             `openssl pkcs8 -topk8 -nocrypt -in key.pem -out key.pk8.pem`"
        ))
    };
    let (tag, body, _) = read_tlv(sec1).ok_or_else(|| bad("not DER"))?;
    if tag != TAG_SEQUENCE {
        return Err(bad("not a SEQUENCE"));
    }
    let (_, _version, mut rest) = read_tlv(body).ok_or_else(|| bad("no version"))?;
    let (_, _private, after) = read_tlv(rest).ok_or_else(|| bad("no private key"))?;
    rest = after;
    let mut curve = None;
    while let Some((tag, contents, after)) = read_tlv(rest) {
        if tag == 0xa0 {
            if let Some((TAG_OID, oid, _)) = read_tlv(contents) {
                curve = Some(oid);
            }
        }
        rest = after;
    }
    let curve = match curve {
        Some(c) if c == OID_P256 || c == OID_P384 => c,
        Some(_) => {
            return Err(KeyError::Unsuitable(
                "EC private key on a curve other than P-256 or P-384".into(),
            ))
        }
        None => return Err(bad("no named curve in the key")),
    };
    let mut alg_id = tlv(TAG_OID, OID_EC);
    alg_id.extend_from_slice(&tlv(TAG_OID, curve));
    let mut body = tlv(TAG_INTEGER, &[0]);
    body.extend_from_slice(&tlv(TAG_SEQUENCE, &alg_id));
    body.extend_from_slice(&tlv(TAG_OCTET_STRING, sec1));
    Ok(tlv(TAG_SEQUENCE, &body))
}

#[cfg(test)]
#[path = "../../tests/it/common/pki.rs"]
pub(crate) mod test_pki;

/// One test PKI (and at most one SoftHSM token) per test process, shared by the unit tests
/// of all key sources: generating RSA keys and tokens takes a while, and the SoftHSM
/// configuration is read once per process anyway.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::PathBuf;
    use std::sync::OnceLock;

    use super::test_pki::{Pki, Token};
    use super::verify_with_certificate;
    use crate::certify::key::{KeyError, SignatureScheme, SigningKey};

    fn base_dir() -> &'static PathBuf {
        static DIR: OnceLock<PathBuf> = OnceLock::new();
        DIR.get_or_init(|| {
            // Kept for the life of the process (statics are never dropped): remove what
            // earlier runs left (older than an hour, so never a running process's).
            if let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) {
                for entry in entries.flatten() {
                    let old = entry
                        .metadata()
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age.as_secs() > 3600);
                    if old
                        && entry
                            .file_name()
                            .to_string_lossy()
                            .starts_with("sohoa-keytest-")
                    {
                        let _ = std::fs::remove_dir_all(entry.path());
                    }
                }
            }
            tempfile::Builder::new()
                .prefix("sohoa-keytest-")
                .tempdir()
                .expect("temp dir")
                .keep()
        })
    }

    /// The shared test PKI.
    pub(crate) fn pki() -> &'static Pki {
        static PKI: OnceLock<Pki> = OnceLock::new();
        PKI.get_or_init(|| Pki::create(&base_dir().join("pki")))
    }

    /// The shared SoftHSM2 token, `None` when SoftHSM2 or pkcs11-tool is not installed.
    /// Sets `SOFTHSM2_CONF` for this process before anything loads the module.
    pub(crate) fn token() -> Option<&'static Token> {
        static TOKEN: OnceLock<Option<Token>> = OnceLock::new();
        TOKEN
            .get_or_init(|| {
                let token = pki().softhsm_token(&base_dir().join("softhsm"))?;
                // Set once, inside the OnceLock, before any test can load libsofthsm2
                // (they all get the token from here first).
                std::env::set_var("SOFTHSM2_CONF", &token.conf);
                Some(token)
            })
            .as_ref()
    }

    /// Signs, verifies with ring against the certificate, and with `openssl dgst` too.
    pub(crate) fn sign_and_verify(key: &dyn SigningKey) {
        let message = "biên bản chứng thực số 12/2025".as_bytes();
        let sig = key.sign(message).unwrap();
        verify_with_certificate(key.certificate(), key.scheme(), message, &sig).unwrap();
        let mut tampered = message.to_vec();
        tampered[0] ^= 1;
        assert!(matches!(
            verify_with_certificate(key.certificate(), key.scheme(), &tampered, &sig),
            Err(KeyError::Mismatch)
        ));
        openssl_verify(key.certificate(), key.scheme(), message, &sig);
    }

    /// Independent check with the openssl CLI.
    pub(crate) fn openssl_verify(cert: &[u8], scheme: SignatureScheme, msg: &[u8], sig: &[u8]) {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        std::fs::write(p("cert.der"), cert).unwrap();
        std::fs::write(p("msg"), msg).unwrap();
        std::fs::write(p("sig"), sig).unwrap();
        let out = std::process::Command::new("openssl")
            .current_dir(dir.path())
            .args([
                "x509", "-inform", "DER", "-in", "cert.der", "-pubkey", "-noout", "-out", "pub.pem",
            ])
            .status()
            .unwrap();
        assert!(out.success());
        let digest = match scheme {
            SignatureScheme::EcdsaP384Sha384 => "-sha384",
            _ => "-sha256",
        };
        let mut cmd = std::process::Command::new("openssl");
        cmd.current_dir(dir.path()).args([
            "dgst",
            digest,
            "-verify",
            "pub.pem",
            "-signature",
            "sig",
        ]);
        if scheme == SignatureScheme::RsaPssSha256 {
            cmd.args([
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:32",
            ]);
        }
        let out = cmd.arg("msg").output().unwrap();
        assert!(
            out.status.success(),
            "openssl dgst -verify: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_integer_encoding() {
        assert_eq!(der_unsigned_integer(&[0, 0, 1]), vec![2, 1, 1]);
        assert_eq!(der_unsigned_integer(&[0x80]), vec![2, 2, 0, 0x80]);
        assert_eq!(der_unsigned_integer(&[0, 0]), vec![2, 1, 0]);
        assert_eq!(der_unsigned_integer(&[0x7f, 0xff]), vec![2, 2, 0x7f, 0xff]);
    }

    #[test]
    fn raw_ecdsa_to_der() {
        let mut raw = vec![0u8; 64];
        raw[0] = 0x80; // r has its top bit set: needs a 0 byte
        raw[63] = 5; // s = 5
        let der = ecdsa_raw_to_der(&raw).unwrap();
        let (tag, body, rest) = read_tlv(&der).unwrap();
        assert_eq!((tag, rest.len()), (TAG_SEQUENCE, 0));
        let (tag, r, body) = read_tlv(body).unwrap();
        assert_eq!((tag, r.len(), r[0], r[1]), (TAG_INTEGER, 33, 0, 0x80));
        let (tag, s, body) = read_tlv(body).unwrap();
        assert_eq!((tag, s), (TAG_INTEGER, &[5u8][..]));
        assert!(body.is_empty());
        assert!(ecdsa_raw_to_der(&[1, 2, 3]).is_err());
    }

    #[test]
    fn long_tlv_lengths_roundtrip() {
        let contents = vec![7u8; 300];
        let encoded = tlv(TAG_OCTET_STRING, &contents);
        assert_eq!(&encoded[..4], &[0x04, 0x82, 0x01, 0x2c]);
        let (tag, body, rest) = read_tlv(&encoded).unwrap();
        assert_eq!(
            (tag, body, rest.len()),
            (TAG_OCTET_STRING, &contents[..], 0)
        );
    }

    #[test]
    fn chain_is_ordered_issuer_first() {
        let pki = testing::pki();
        let office = std::fs::read(&pki.office_rsa.cert_der).unwrap();
        let root = std::fs::read(&pki.root_der).unwrap();
        let ec = std::fs::read(&pki.office_ec.cert_der).unwrap();
        // Unrelated first, then the root, plus a copy of the signer: the root comes first.
        let chain = order_chain(
            &office,
            vec![ec.clone(), root.clone(), office.clone()],
            true,
        );
        assert_eq!(chain, vec![root.clone(), ec.clone()]);
        let chain = order_chain(&office, vec![ec, root.clone()], false);
        assert_eq!(chain, vec![root]);
    }

    #[test]
    fn cert_key_types() {
        let pki = testing::pki();
        let read = |p: &std::path::Path| std::fs::read(p).unwrap();
        assert_eq!(
            cert_key(&read(&pki.office_rsa.cert_der)).unwrap(),
            CertKey::Rsa { bits: 2048 }
        );
        assert_eq!(
            cert_key(&read(&pki.office_ec.cert_der)).unwrap(),
            CertKey::EcP256
        );
        assert_eq!(
            cert_key(&read(&pki.office_p384.cert_der)).unwrap(),
            CertKey::EcP384
        );
        assert!(matches!(
            cert_key(&read(&pki.rsa1024.cert_der)),
            Err(KeyError::Unsuitable(_))
        ));
        assert!(matches!(
            cert_key(b"not a certificate"),
            Err(KeyError::Invalid(_))
        ));
    }
}
