//! The unit tests' view of the shared test PKI (`sohoa_fixtures::pki`, made once per
//! test process by `keycheck::testing`): certificates and PKCS#8 keys as DER, and a
//! `SigningKey` over `ring` for them.

use std::path::Path;
use std::sync::OnceLock;

use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, RsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING,
    RSA_PKCS1_SHA256, RSA_PSS_SHA256,
};
use sohoa_fixtures::pki::Identity;

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

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn issued(identity: &Identity, chain: Vec<Vec<u8>>) -> Issued {
    let key = pem::parse(read(&identity.key_pem)).expect("a PEM key");
    Issued {
        cert: read(&identity.cert_der),
        pkcs8: key.into_contents(),
        chain,
    }
}

fn make() -> Pki {
    let shared = crate::certify::keycheck::testing::pki();
    let set = shared.chain_set();
    let sub = read(&set.sub_ca.cert_der);
    Pki {
        root: read(&shared.root_der),
        root_pem: String::from_utf8(read(&shared.root_pem)).unwrap(),
        other_root: read(&set.other_root.cert_der),
        twin_root: read(&set.twin_root.cert_der),
        rsa: issued(&shared.office_rsa, vec![]),
        ec256: issued(&set.sub_office, vec![sub.clone()]),
        ec384: issued(&shared.office_p384, vec![]),
        expired: read(&shared.expired.cert_der),
        encipher: read(&shared.key_encipherment.cert_der),
        weak: read(&shared.rsa1024.cert_der),
        sub,
    }
}

/// Runs `openssl ARGS` in `dir` (cross-checks in the CMS tests); panics on failure.
pub(crate) fn openssl(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = std::process::Command::new("openssl")
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
