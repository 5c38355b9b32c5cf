//! Signing keys from PKCS#12 files (.p12/.pfx), as Vietnamese CAs issue them to people
//! who sign without a USB token.
//!
//! Decoding is done by the `p12-keystore` crate (0.4), chosen because it reads both
//! encodings found in the wild:
//! - OpenSSL 3's default: PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, SHA-256 MAC;
//! - the legacy one (`openssl pkcs12 -legacy`, Windows and Java exports, most CA-issued
//!   files): PBE-SHA1-3DES for the key, PBE-SHA1-RC2-40 or 3DES for the certificates,
//!   SHA-1 MAC.
//!
//! It also gives the raw bags (`Pkcs12Archive`), so the signer is picked here: the
//! certificate whose `localKeyId` is the key's, else the one whose public key matches,
//! and it bounds KDF iteration counts (no CPU exhaustion from a hostile file). The `p12`
//! crate, by contrast, only reads the legacy PBES1 encodings, and `p12-keystore` 0.2
//! drops unmatched certificates and loops on issuer cycles.

use std::fmt;

use p12_keystore::error::Error as P12Error;
use p12_keystore::Pkcs12Archive;

use super::key::{KeyError, RsaPadding, SignatureScheme, SigningKey};
use super::pem::{KeyDer, SoftKey};

/// A signing key loaded from a PKCS#12 file by [`load_pkcs12`]; the key is kept in memory.
pub struct Pkcs12Key(SoftKey);

impl fmt::Debug for Pkcs12Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pkcs12Key").field(&self.0).finish()
    }
}

impl SigningKey for Pkcs12Key {
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

fn p12_error(e: P12Error) -> KeyError {
    const WHAT: &str = "the PKCS#12 file";
    match e {
        // The MAC is checked first: a wrong password fails there.
        P12Error::MacError(_) => KeyError::WrongPassword(WHAT.into()),
        // Files without a MAC: a wrong password shows as bad padding after decryption.
        P12Error::UnpadError => KeyError::WrongPassword(WHAT.into()),
        P12Error::Pkcs5Error(m) if m.to_lowercase().contains("decrypt") => {
            KeyError::WrongPassword(WHAT.into())
        }
        P12Error::UnsupportedEncryptionScheme | P12Error::UnsupportedMacAlgorithm => {
            KeyError::Invalid(format!(
                "{WHAT} uses an encryption or MAC algorithm sohoa cannot read ({e}); \
                 re-export it with `openssl pkcs12` (default or -legacy encoding)"
            ))
        }
        P12Error::InvalidParameters => KeyError::Invalid(format!(
            "{WHAT} has invalid or excessive parameters (iteration count over 1,000,000?)"
        )),
        P12Error::DerError(_) | P12Error::InvalidVersion | P12Error::UnsupportedContentType => {
            KeyError::Invalid(format!("not a PKCS#12 file ({e})"))
        }
        other => KeyError::Invalid(format!("cannot read {WHAT}: {other}")),
    }
}

/// Loads a signing key from a PKCS#12 file (`bytes`) protected by `password`.
///
/// The private key's certificate is the signer: the certificate bag with the same
/// `localKeyId` as the key bag, else the certificate whose public key the key matches.
/// Every other certificate goes to the chain, the signer's issuer first. RSA keys sign
/// with `padding`. With several keys in the file, the first that has a certificate is used.
///
/// Errors: [`KeyError::WrongPassword`] for a wrong password, [`KeyError::Mismatch`] when no
/// certificate in the file belongs to the key, [`KeyError::Unsuitable`] for RSA under 2048
/// bits or other key types, [`KeyError::Invalid`] for unreadable files.
pub fn load_pkcs12(
    bytes: &[u8],
    password: &str,
    padding: RsaPadding,
) -> Result<Pkcs12Key, KeyError> {
    let archive = Pkcs12Archive::from_pkcs12(bytes, password).map_err(p12_error)?;
    if archive.keys.is_empty() {
        return Err(KeyError::Invalid(
            "the PKCS#12 file holds no private key (only certificates?)".into(),
        ));
    }
    if archive.certs.is_empty() {
        return Err(KeyError::Invalid(
            "the PKCS#12 file holds no certificate".into(),
        ));
    }
    let certs: Vec<Vec<u8>> = archive
        .certs
        .iter()
        .map(|c| c.cert.as_der().to_vec())
        .collect();

    // The error for the key's own certificate (same localKeyId) is the one worth
    // reporting; failures against the other certificates are expected.
    let mut own_cert_error = None;
    for key in &archive.keys {
        let same_id = |i: usize| match (&key.local_key_id, &archive.certs[i].local_key_id) {
            (Some(k), Some(c)) => k.0 == *c,
            _ => false,
        };
        // Certificates with this key's localKeyId first, then the others (stable sort).
        let mut order: Vec<usize> = (0..certs.len()).collect();
        order.sort_by_key(|&i| !same_id(i));
        for i in order {
            let chain: Vec<Vec<u8>> = certs
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, c)| c.clone())
                .collect();
            let key_der = KeyDer::Pkcs8(key.key.as_der());
            match SoftKey::new(key_der, certs[i].clone(), chain, padding) {
                Ok(soft) => return Ok(Pkcs12Key(soft)),
                Err(e) if same_id(i) && own_cert_error.is_none() => own_cert_error = Some(e),
                Err(_) => {}
            }
        }
    }
    Err(own_cert_error.unwrap_or(KeyError::Mismatch))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::certify::keycheck::test_pki::P12_PASSWORD;
    use crate::certify::keycheck::testing::{pki, sign_and_verify};

    fn read(p: &Path) -> Vec<u8> {
        std::fs::read(p).unwrap()
    }

    #[test]
    fn modern_pkcs12_pss_and_pkcs1() {
        let pki = pki();
        let key = load_pkcs12(&read(&pki.p12_modern), P12_PASSWORD, RsaPadding::Pss).unwrap();
        assert_eq!(key.scheme(), SignatureScheme::RsaPssSha256);
        assert_eq!(key.certificate(), read(&pki.office_rsa.cert_der));
        assert_eq!(key.chain(), &[read(&pki.root_der)]);
        sign_and_verify(&key);
        let key = load_pkcs12(&read(&pki.p12_modern), P12_PASSWORD, RsaPadding::Pkcs1).unwrap();
        assert_eq!(key.scheme(), SignatureScheme::RsaPkcs1Sha256);
        sign_and_verify(&key);
    }

    #[test]
    fn legacy_pkcs12() {
        let pki = pki();
        for file in [&pki.p12_legacy, &pki.p12_legacy_3des] {
            let key = load_pkcs12(&read(file), P12_PASSWORD, RsaPadding::Pss).unwrap();
            assert_eq!(key.certificate(), read(&pki.office_rsa.cert_der));
            assert_eq!(key.chain(), &[read(&pki.root_der)]);
            sign_and_verify(&key);
        }
    }

    #[test]
    fn ecdsa_pkcs12() {
        let pki = pki();
        let key = load_pkcs12(&read(&pki.p12_ec), P12_PASSWORD, RsaPadding::Pss).unwrap();
        assert_eq!(key.scheme(), SignatureScheme::EcdsaP256Sha256);
        assert_eq!(key.certificate(), read(&pki.office_ec.cert_der));
        sign_and_verify(&key);
    }

    #[test]
    fn wrong_password() {
        let pki = pki();
        for file in [&pki.p12_modern, &pki.p12_legacy] {
            let err = load_pkcs12(&read(file), "sai mật khẩu", RsaPadding::Pss).unwrap_err();
            assert!(matches!(err, KeyError::WrongPassword(_)), "{err:?}");
        }
    }

    #[test]
    fn not_pkcs12() {
        let pki = pki();
        let err = load_pkcs12(
            &read(&pki.office_rsa.cert_der),
            P12_PASSWORD,
            RsaPadding::Pss,
        )
        .unwrap_err();
        assert!(matches!(err, KeyError::Invalid(_)), "{err:?}");
        let err = load_pkcs12(b"", P12_PASSWORD, RsaPadding::Pss).unwrap_err();
        assert!(matches!(err, KeyError::Invalid(_)), "{err:?}");
    }

    #[test]
    fn pkcs12_key_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Pkcs12Key>();
    }
}
