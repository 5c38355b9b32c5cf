//! Signing keys from PEM files: a certificate (plus chain) and an unencrypted private key.
//!
//! Accepted key forms: "PRIVATE KEY" (PKCS#8), "RSA PRIVATE KEY" (PKCS#1) and
//! "EC PRIVATE KEY" (SEC1, wrapped into PKCS#8 here), or the same in DER. Encrypted keys
//! ("ENCRYPTED PRIVATE KEY", or traditional keys with a `Proc-Type: 4,ENCRYPTED` header)
//! are refused with a message saying how to decrypt them; a PKCS#12 file is the usual
//! way to keep a protected key ([`load_pkcs12`](super::pkcs12::load_pkcs12)).
//!
//! Signing is done by `ring`: RSA 2048–4096 bits (PSS or PKCS#1 v1.5 with SHA-256),
//! ECDSA P-256/SHA-256 and P-384/SHA-384 (DER signatures).

use std::fmt;

use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, KeyPair, RsaEncoding, RsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING,
    ECDSA_P384_SHA384_ASN1_SIGNING, RSA_PKCS1_SHA256, RSA_PSS_SHA256,
};

use super::alg::KeyType;
use super::key::{KeyError, RsaPadding, SignatureScheme, SigningKey};
use super::keycheck;

/// A private key held in memory (from a PEM or PKCS#12 file), with its certificates.
pub(crate) struct SoftKey {
    cert: Vec<u8>,
    chain: Vec<Vec<u8>>,
    scheme: SignatureScheme,
    pair: Pair,
    rng: SystemRandom,
}

enum Pair {
    Rsa(RsaKeyPair, &'static dyn RsaEncoding),
    Ecdsa(EcdsaKeyPair),
}

/// The private key's encoding, as found in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyDer<'a> {
    /// PKCS#8 `PrivateKeyInfo`.
    Pkcs8(&'a [u8]),
    /// PKCS#1 `RSAPrivateKey`.
    Pkcs1(&'a [u8]),
    /// SEC1 `ECPrivateKey`.
    Sec1(&'a [u8]),
}

fn rejected(what: &str, e: ring::error::KeyRejected) -> KeyError {
    match e.to_string().as_str() {
        "TooSmall" => KeyError::Unsuitable(format!("{what} is too short (at least 2048 bits)")),
        "TooLarge" => KeyError::Unsuitable(format!(
            "{what} is longer than 4096 bits, which sohoa cannot sign with from a file"
        )),
        other => KeyError::Invalid(format!("{what} cannot be used: {other}")),
    }
}

impl SoftKey {
    /// Loads `key` for the certificate `cert` (DER) and checks that they belong together.
    /// `chain` is put in order (issuer first) and kept whole.
    pub(crate) fn new(
        key: KeyDer<'_>,
        cert: Vec<u8>,
        chain: Vec<Vec<u8>>,
        padding: RsaPadding,
    ) -> Result<SoftKey, KeyError> {
        // Refuse unsuitable certificates (RSA < 2048, other curves) before touching the key.
        let cert_key = keycheck::cert_key(&cert)?;
        let wrapped;
        let (kind, der, pkcs1) = match key {
            KeyDer::Pkcs1(der) => (KeyType::Rsa, der, true),
            KeyDer::Sec1(der) => {
                wrapped = keycheck::sec1_to_pkcs8(der)?;
                (keycheck::pkcs8_kind(&wrapped)?, &wrapped[..], false)
            }
            KeyDer::Pkcs8(der) => (keycheck::pkcs8_kind(der)?, der, false),
        };
        let (pair, scheme) = match kind {
            KeyType::Rsa => {
                let pair = if pkcs1 {
                    RsaKeyPair::from_der(der)
                } else {
                    RsaKeyPair::from_pkcs8(der)
                }
                .map_err(|e| rejected("the RSA private key", e))?;
                let (encoding, scheme): (&'static dyn RsaEncoding, _) = match padding {
                    RsaPadding::Pss => (&RSA_PSS_SHA256, SignatureScheme::RsaPssSha256),
                    RsaPadding::Pkcs1 => (&RSA_PKCS1_SHA256, SignatureScheme::RsaPkcs1Sha256),
                };
                (Pair::Rsa(pair, encoding), scheme)
            }
            KeyType::EcP256 | KeyType::EcP384 => {
                let (alg, scheme) = if kind == KeyType::EcP256 {
                    (
                        &ECDSA_P256_SHA256_ASN1_SIGNING,
                        SignatureScheme::EcdsaP256Sha256,
                    )
                } else {
                    (
                        &ECDSA_P384_SHA384_ASN1_SIGNING,
                        SignatureScheme::EcdsaP384Sha384,
                    )
                };
                let pair = EcdsaKeyPair::from_pkcs8(alg, der, &SystemRandom::new())
                    .map_err(|e| rejected("the EC private key", e))?;
                (Pair::Ecdsa(pair), scheme)
            }
        };
        // A key of another type or curve than the certificate's cannot be its key.
        if cert_key.scheme(padding) != scheme {
            return Err(KeyError::Mismatch);
        }
        let chain = keycheck::order_chain(&cert, chain, true);
        let key = SoftKey {
            cert,
            chain,
            scheme,
            pair,
            rng: SystemRandom::new(),
        };
        keycheck::check_key_matches(&key)?;
        Ok(key)
    }
}

impl SigningKey for SoftKey {
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
        match &self.pair {
            Pair::Rsa(pair, encoding) => {
                let mut signature = vec![0; pair.public().modulus_len()];
                pair.sign(*encoding, &self.rng, message, &mut signature)
                    .map_err(|_| KeyError::Sign("RSA signing failed".into()))?;
                Ok(signature)
            }
            Pair::Ecdsa(pair) => pair
                .sign(&self.rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError::Sign("ECDSA signing failed".into())),
        }
    }
}

impl fmt::Debug for SoftKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let public = match &self.pair {
            Pair::Rsa(pair, _) => hex::encode(&pair.public_key().as_ref()[..16]),
            Pair::Ecdsa(pair) => hex::encode(&pair.public_key().as_ref()[..16]),
        };
        f.debug_struct("SoftKey")
            .field("scheme", &self.scheme)
            .field("chain_len", &self.chain.len())
            .field("public_key_start", &public)
            .finish_non_exhaustive()
    }
}

/// A signing key loaded from PEM files by [`load_pem`]; the key is kept in memory.
#[derive(Debug)]
pub struct PemKey(SoftKey);

impl SigningKey for PemKey {
    fn certificate(&self) -> &[u8] {
        self.0.certificate()
    }

    fn chain(&self) -> &[Vec<u8>] {
        self.0.chain()
    }

    fn scheme(&self) -> SignatureScheme {
        self.0.scheme()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.0.sign(message)
    }
}

/// The CERTIFICATE blocks of a PEM file, or the file itself when it is one DER certificate;
/// `what` names the file in errors.
pub fn certificates(bytes: &[u8], what: &str) -> Result<Vec<Vec<u8>>, KeyError> {
    if bytes.first() == Some(&keycheck::TAG_SEQUENCE) {
        return Ok(vec![bytes.to_vec()]);
    }
    let blocks = ::pem::parse_many(bytes)
        .map_err(|e| KeyError::Invalid(format!("{what} is not valid PEM: {e}")))?;
    let certs: Vec<Vec<u8>> = blocks
        .into_iter()
        .filter(|b| matches!(b.tag(), "CERTIFICATE" | "X509 CERTIFICATE"))
        .map(|b| b.into_contents())
        .collect();
    for cert in &certs {
        keycheck::cert_parses(cert).map_err(|e| KeyError::Invalid(format!("{what}: {e}")))?;
    }
    Ok(certs)
}

/// Loads a signing key from PEM: `cert_pem` holds the signer's certificate (the first
/// CERTIFICATE block; any further blocks go to the chain), `key_pem` its private key
/// (PKCS#8 "PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY" or SEC1 "EC PRIVATE KEY", unencrypted;
/// other blocks in the file, such as a certificate or "EC PARAMETERS", are skipped),
/// `chain_pem` optional further certificates. A DER certificate or DER PKCS#8 key is
/// accepted in place of PEM.
///
/// The chain is ordered issuer first. RSA keys sign with `padding` (PSS by default), EC
/// keys with ECDSA. Errors: [`KeyError::Unsuitable`] for RSA keys under 2048 bits or
/// other key types, [`KeyError::Mismatch`] when the key is not the certificate's (checked
/// by signing a test message and verifying it with the certificate's public key),
/// [`KeyError::Invalid`] for unreadable or encrypted files.
pub fn load_pem(
    cert_pem: &[u8],
    key_pem: &[u8],
    chain_pem: Option<&[u8]>,
    padding: RsaPadding,
) -> Result<PemKey, KeyError> {
    let mut certs = certificates(cert_pem, "the certificate file")?.into_iter();
    let cert = certs
        .next()
        .ok_or_else(|| KeyError::Invalid("the certificate file holds no CERTIFICATE".into()))?;
    let mut chain: Vec<Vec<u8>> = certs.collect();
    if let Some(chain_pem) = chain_pem {
        chain.extend(certificates(chain_pem, "the chain file")?);
    }

    if key_pem.first() == Some(&keycheck::TAG_SEQUENCE) {
        return SoftKey::new(KeyDer::Pkcs8(key_pem), cert, chain, padding).map(PemKey);
    }
    let blocks = ::pem::parse_many(key_pem)
        .map_err(|e| KeyError::Invalid(format!("the key file is not valid PEM: {e}")))?;
    for block in &blocks {
        let key = match block.tag() {
            "PRIVATE KEY" => KeyDer::Pkcs8(block.contents()),
            "RSA PRIVATE KEY" => KeyDer::Pkcs1(block.contents()),
            "EC PRIVATE KEY" => KeyDer::Sec1(block.contents()),
            "ENCRYPTED PRIVATE KEY" => {
                return Err(KeyError::Invalid(
                    "the private key is encrypted (ENCRYPTED PRIVATE KEY); decrypt it with \
                     `openssl pkcs8 -in key.pem -out key-plain.pem` (keep that file \
                     protected), or use the PKCS#12 (.p12/.pfx) file"
                        .into(),
                ))
            }
            _ => continue,
        };
        if block.headers().get("Proc-Type").is_some() {
            return Err(KeyError::Invalid(format!(
                "the {} is encrypted (Proc-Type header); decrypt it with \
                 `openssl pkcs8 -topk8 -nocrypt -in key.pem -out key-plain.pem`",
                block.tag()
            )));
        }
        return SoftKey::new(key, cert, chain, padding).map(PemKey);
    }
    Err(KeyError::Invalid(
        "the key file holds no PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY".into(),
    ))
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;

    use super::*;
    use crate::certify::keycheck::test_pki::Identity;
    use crate::certify::keycheck::testing::{pki, sign_and_verify};

    fn read(p: &Path) -> Vec<u8> {
        std::fs::read(p).unwrap()
    }

    fn load(id: &Identity, traditional: bool, padding: RsaPadding) -> Result<PemKey, KeyError> {
        let key = if traditional {
            &id.key_traditional_pem
        } else {
            &id.key_pem
        };
        load_pem(&read(&id.cert_pem), &read(key), None, padding)
    }

    #[test]
    fn rsa_pkcs8_pss_and_pkcs1() {
        let pki = pki();
        let key = load(&pki.office_rsa, false, RsaPadding::Pss).unwrap();
        assert_eq!(key.scheme(), SignatureScheme::RsaPssSha256);
        assert_eq!(key.certificate(), read(&pki.office_rsa.cert_der));
        assert!(key.chain().is_empty());
        sign_and_verify(&key);
        let key = load(&pki.office_rsa, false, RsaPadding::Pkcs1).unwrap();
        assert_eq!(key.scheme(), SignatureScheme::RsaPkcs1Sha256);
        sign_and_verify(&key);
    }

    #[test]
    fn rsa_pkcs1_key_file() {
        let pki = pki();
        let text = read(&pki.office_rsa.key_traditional_pem);
        assert!(String::from_utf8_lossy(&text).contains("BEGIN RSA PRIVATE KEY"));
        let key = load(&pki.office_rsa, true, RsaPadding::Pss).unwrap();
        sign_and_verify(&key);
    }

    #[test]
    fn ecdsa_p256_and_p384_pkcs8_and_sec1() {
        let pki = pki();
        for (id, scheme) in [
            (&pki.office_ec, SignatureScheme::EcdsaP256Sha256),
            (&pki.office_p384, SignatureScheme::EcdsaP384Sha384),
        ] {
            let text = read(&id.key_traditional_pem);
            assert!(String::from_utf8_lossy(&text).contains("BEGIN EC PRIVATE KEY"));
            for traditional in [false, true] {
                // The padding choice does not matter for EC keys.
                let key = load(id, traditional, RsaPadding::Pkcs1).unwrap();
                assert_eq!(key.scheme(), scheme);
                sign_and_verify(&key);
                let sig = key.sign(b"x").unwrap();
                assert_eq!(sig[0], 0x30, "ECDSA signatures are DER");
            }
        }
    }

    #[test]
    fn chain_from_cert_file_and_chain_file() {
        let pki = pki();
        let mut cert_file = read(&pki.office_rsa.cert_pem);
        cert_file.extend_from_slice(&read(&pki.root_pem));
        let key = load_pem(
            &cert_file,
            &read(&pki.office_rsa.key_pem),
            None,
            RsaPadding::Pss,
        )
        .unwrap();
        assert_eq!(key.certificate(), read(&pki.office_rsa.cert_der));
        assert_eq!(key.chain(), &[read(&pki.root_der)]);
        // chain.pem: root, then an unrelated certificate; the root stays first.
        let key = load_pem(
            &read(&pki.office_rsa.cert_der), // DER certificate accepted too
            &read(&pki.office_rsa.key_pem),
            Some(&read(&pki.chain_pem)),
            RsaPadding::Pss,
        )
        .unwrap();
        assert_eq!(key.chain().len(), 2);
        assert_eq!(key.chain()[0], read(&pki.root_der));
        assert_eq!(key.chain()[1], read(&pki.office_ec.cert_der));
    }

    #[test]
    fn key_file_with_extra_blocks_and_der_key() {
        let pki = pki();
        // Certificate first, then "EC PARAMETERS" style noise, then the key.
        let mut key_file = read(&pki.office_ec.cert_pem);
        key_file.extend_from_slice(b"Bag Attributes\n    friendlyName: office\n");
        key_file.extend_from_slice(&read(&pki.office_ec.key_traditional_pem));
        let key = load_pem(
            &read(&pki.office_ec.cert_pem),
            &key_file,
            None,
            RsaPadding::Pss,
        )
        .unwrap();
        sign_and_verify(&key);
        let der = ::pem::parse(read(&pki.office_rsa.key_pem))
            .unwrap()
            .into_contents();
        let key = load_pem(&read(&pki.office_rsa.cert_pem), &der, None, RsaPadding::Pss).unwrap();
        sign_and_verify(&key);
    }

    #[test]
    fn rsa_1024_refused() {
        let pki = pki();
        let err = load(&pki.rsa1024, false, RsaPadding::Pss).unwrap_err();
        assert!(matches!(err, KeyError::Unsuitable(_)), "{err:?}");
        assert!(err.to_string().contains("2048"), "{err}");
        // The key alone (with a 2048-bit certificate) is refused as well.
        let err = load_pem(
            &read(&pki.office_rsa.cert_pem),
            &read(&pki.rsa1024.key_pem),
            None,
            RsaPadding::Pss,
        )
        .unwrap_err();
        assert!(matches!(err, KeyError::Unsuitable(_)), "{err:?}");
    }

    #[test]
    fn mismatched_key_refused() {
        let pki = pki();
        for padding in [RsaPadding::Pss, RsaPadding::Pkcs1] {
            let err = load(&pki.mismatch, false, padding).unwrap_err();
            assert!(matches!(err, KeyError::Mismatch), "{err:?}");
        }
        // EC key with the RSA certificate, and the other way round.
        let err = load_pem(
            &read(&pki.office_rsa.cert_pem),
            &read(&pki.office_ec.key_pem),
            None,
            RsaPadding::Pss,
        )
        .unwrap_err();
        assert!(matches!(err, KeyError::Mismatch), "{err:?}");
        let err = load_pem(
            &read(&pki.office_ec.cert_pem),
            &read(&pki.office_p384.key_pem),
            None,
            RsaPadding::Pss,
        )
        .unwrap_err();
        assert!(matches!(err, KeyError::Mismatch), "{err:?}");
    }

    #[test]
    fn encrypted_and_garbage_keys_explained() {
        let pki = pki();
        let dir = tempfile::tempdir().unwrap();
        let enc = dir.path().join("enc.pem");
        let status = Command::new("openssl")
            .args(["pkcs8", "-topk8", "-in"])
            .arg(&pki.office_rsa.key_pem)
            .args(["-passout", "pass:x", "-out"])
            .arg(&enc)
            .status()
            .unwrap();
        assert!(status.success());
        let err = load_pem(
            &read(&pki.office_rsa.cert_pem),
            &read(&enc),
            None,
            RsaPadding::Pss,
        )
        .unwrap_err();
        assert!(err.to_string().contains("encrypted"), "{err}");
        let trad = dir.path().join("trad-enc.pem");
        let status = Command::new("openssl")
            .args([
                "rsa",
                "-traditional",
                "-aes256",
                "-passout",
                "pass:x",
                "-in",
            ])
            .arg(&pki.office_rsa.key_pem)
            .arg("-out")
            .arg(&trad)
            .status()
            .unwrap();
        assert!(status.success());
        let err = load_pem(
            &read(&pki.office_rsa.cert_pem),
            &read(&trad),
            None,
            RsaPadding::Pss,
        )
        .unwrap_err();
        assert!(err.to_string().contains("encrypted"), "{err}");
        let err = load_pem(
            &read(&pki.office_rsa.cert_pem),
            &read(&pki.office_rsa.cert_pem),
            None,
            RsaPadding::Pss,
        )
        .unwrap_err();
        assert!(matches!(err, KeyError::Invalid(_)), "{err:?}");
        let err = load_pem(
            b"nothing",
            &read(&pki.office_rsa.key_pem),
            None,
            RsaPadding::Pss,
        )
        .unwrap_err();
        assert!(matches!(err, KeyError::Invalid(_)), "{err:?}");
    }

    #[test]
    fn pem_key_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<PemKey>();
    }
}
