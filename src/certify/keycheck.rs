//! Checks shared by the key sources ([`pem`](super::pem), [`pkcs12`](super::pkcs12),
//! [`pkcs11`](super::pkcs11)): is the certificate's key one sohoa signs with, does the
//! private key belong to the certificate, and in which order do the other certificates go.
//!
//! Certificate validity and key usage are checked elsewhere (`certificate.rs`); this module
//! only looks at the public key.
//!
//! It also turns the encodings key sources hand over into the ones `ring` and CMS want
//! (a SEC1 key into PKCS#8, a token's raw ECDSA `r‖s` into DER), with the RustCrypto
//! `der`/`pkcs8` types.

use const_oid::db::rfc5912::{ID_EC_PUBLIC_KEY, RSA_ENCRYPTION, SECP_256_R_1, SECP_384_R_1};
use const_oid::ObjectIdentifier;
use der::asn1::{AnyRef, BitStringRef, OctetStringRef, UintRef};
use der::{Decode, Encode, Sequence};
use pkcs8::PrivateKeyInfo;
use spki::AlgorithmIdentifierRef;
use x509_cert::name::Name;
use x509_cert::Certificate;

use super::alg::{Curve, KeyKind, KeyType, PublicKey, SigAlg};
use super::certificate::{self, CertError};
use super::key::{KeyError, SignatureScheme, SigningKey};

/// The message every loader signs once to prove that its private key belongs to its
/// certificate.
const TEST_MESSAGE: &[u8] = b"sohoa key check: this private key belongs to this certificate";

fn parse_cert(cert_der: &[u8]) -> Result<Certificate, KeyError> {
    Certificate::from_der(cert_der).map_err(|e| {
        KeyError::Invalid(format!(
            "the certificate is not a valid DER X.509 certificate: {e}"
        ))
    })
}

/// Checks that `cert_der` is a DER X.509 certificate.
pub(crate) fn cert_parses(cert_der: &[u8]) -> Result<(), KeyError> {
    parse_cert(cert_der).map(|_| ())
}

/// The public key of the DER certificate `cert_der`.
fn cert_public_key(cert_der: &[u8]) -> Result<PublicKey, KeyError> {
    certificate::public_key(cert_der).map_err(|e| match e {
        CertError::Malformed(why) => KeyError::Invalid(format!(
            "the certificate is not a valid DER X.509 certificate: {why}"
        )),
        e => KeyError::Invalid(format!("the certificate's public key: {e}")),
    })
}

/// Reads the certificate's public key and refuses the ones sohoa does not sign with
/// (Decree 23/2025: RSA ≥ 2048 bits, ECDSA ≥ 256 bits; we support P-256 and P-384).
pub(crate) fn cert_key(cert_der: &[u8]) -> Result<KeyType, KeyError> {
    let key = cert_public_key(cert_der)?;
    match key.kind {
        KeyKind::Rsa(bits) if bits < 2048 => Err(KeyError::Unsuitable(format!(
            "RSA key of {bits} bits; at least 2048 bits are required"
        ))),
        KeyKind::Rsa(_) => Ok(KeyType::Rsa),
        KeyKind::Ec(Curve::P256) => Ok(KeyType::EcP256),
        KeyKind::Ec(Curve::P384) => Ok(KeyType::EcP384),
        KeyKind::Ec(Curve::Other(c)) => Err(KeyError::Unsuitable(format!(
            "elliptic curve {c}; only P-256 and P-384 are supported"
        ))),
        KeyKind::Ed25519 | KeyKind::Other(_) => Err(KeyError::Unsuitable(format!(
            "public key {}; only RSA and ECDSA (P-256, P-384) are supported",
            key.describe()
        ))),
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
    let key = cert_public_key(cert_der)?;
    match key.verify(SigAlg::from_scheme(scheme), message, signature) {
        Ok(true) => Ok(()),
        // A key of another type than the scheme's simply does not verify.
        Ok(false) | Err(_) => Err(KeyError::Mismatch),
    }
}

/// Signs a fixed message with `key` and verifies it against `key.certificate()`:
/// [`KeyError::Mismatch`] when the private key is not the certificate's.
pub(crate) fn check_key_matches(key: &dyn SigningKey) -> Result<(), KeyError> {
    let signature = key.sign(TEST_MESSAGE)?;
    verify_with_certificate(key.certificate(), key.scheme(), TEST_MESSAGE, &signature)
}

/// Subject and issuer of a certificate (compared as they are encoded, as chain builders
/// commonly do; CAs issue certificates with the issuer name copied).
fn names(cert_der: &[u8]) -> Option<(Name, Name)> {
    let cert = Certificate::from_der(cert_der).ok()?.tbs_certificate;
    Some((cert.subject, cert.issuer))
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
    let rest_names: Vec<Option<(Name, Name)>> = rest.iter().map(|c| names(c)).collect();
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

// ---- Key encodings ---------------------------------------------------------------------

/// DER tag of SEQUENCE: what a DER key or certificate starts with (PEM does not).
pub(crate) const TAG_SEQUENCE: u8 = 0x30;

/// `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` (RFC 3279).
#[derive(Sequence)]
struct EcdsaSigValue<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

/// Turns a raw ECDSA signature `r‖s` (what PKCS#11 `CKM_ECDSA` returns: two big-endian
/// numbers of the curve's size) into the DER `ECDSA-Sig-Value` that CMS wants.
pub(crate) fn ecdsa_raw_to_der(raw: &[u8]) -> Result<Vec<u8>, KeyError> {
    if raw.is_empty() || raw.len() % 2 != 0 {
        return Err(KeyError::Sign(format!(
            "the token returned an ECDSA signature of odd length {}",
            raw.len()
        )));
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let encode = || -> der::Result<Vec<u8>> {
        EcdsaSigValue {
            r: UintRef::new(r)?,
            s: UintRef::new(s)?,
        }
        .to_der()
    };
    encode().map_err(|e| KeyError::Sign(format!("the token's ECDSA signature: {e}")))
}

/// `ECPrivateKey` (RFC 5915), what an "EC PRIVATE KEY" PEM holds.
#[derive(Sequence)]
struct EcPrivateKey<'a> {
    version: u8,
    private_key: OctetStringRef<'a>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    curve: Option<ObjectIdentifier>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    public_key: Option<BitStringRef<'a>>,
}

/// Reads the algorithm of a PKCS#8 `PrivateKeyInfo`.
pub(crate) fn pkcs8_kind(der: &[u8]) -> Result<KeyType, KeyError> {
    let info = PrivateKeyInfo::from_der(der).map_err(|_| {
        KeyError::Invalid("the private key is not a valid PKCS#8 PrivateKeyInfo".into())
    })?;
    match info.algorithm.oid {
        RSA_ENCRYPTION => Ok(KeyType::Rsa),
        ID_EC_PUBLIC_KEY => match info.algorithm.parameters_oid() {
            Ok(SECP_256_R_1) => Ok(KeyType::EcP256),
            Ok(SECP_384_R_1) => Ok(KeyType::EcP384),
            _ => Err(KeyError::Unsuitable(
                "EC private key on a curve other than P-256 or P-384".into(),
            )),
        },
        _ => Err(KeyError::Unsuitable(
            "private key algorithm other than RSA or ECDSA (P-256, P-384)".into(),
        )),
    }
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
    let key = EcPrivateKey::from_der(sec1).map_err(|e| bad(&e.to_string()))?;
    let curve = match key.curve {
        Some(c) if c == SECP_256_R_1 || c == SECP_384_R_1 => c,
        Some(_) => {
            return Err(KeyError::Unsuitable(
                "EC private key on a curve other than P-256 or P-384".into(),
            ))
        }
        None => return Err(bad("no named curve in the key")),
    };
    let info = PrivateKeyInfo {
        algorithm: AlgorithmIdentifierRef {
            oid: ID_EC_PUBLIC_KEY,
            parameters: Some(AnyRef::from(&curve)),
        },
        private_key: sec1,
        public_key: None,
    };
    info.to_der().map_err(|e| bad(&e.to_string()))
}

#[cfg(test)]
pub(crate) use sohoa_fixtures::pki as test_pki;

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
    fn raw_ecdsa_to_der() {
        let mut raw = vec![0u8; 64];
        raw[0] = 0x80; // r has its top bit set: needs a 0 byte
        raw[63] = 5; // s = 5
        let der = ecdsa_raw_to_der(&raw).unwrap();
        let value = EcdsaSigValue::from_der(&der).unwrap();
        assert_eq!(value.r.as_bytes(), &raw[..32]);
        assert_eq!(value.s.as_bytes(), &[5]);
        assert_eq!(&der[..5], &[0x30, 0x26, 0x02, 0x21, 0x00]);
        assert!(ecdsa_raw_to_der(&[1, 2, 3]).is_err());
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
            KeyType::Rsa
        );
        assert_eq!(
            cert_key(&read(&pki.office_ec.cert_der)).unwrap(),
            KeyType::EcP256
        );
        assert_eq!(
            cert_key(&read(&pki.office_p384.cert_der)).unwrap(),
            KeyType::EcP384
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
