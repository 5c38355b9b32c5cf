//! The signing key abstraction: a private key with its certificate chain, wherever the
//! key lives (PEM/PKCS#8 file, PKCS#12 file, PKCS#11 token). The private key never leaves
//! the implementation: callers only ask for signatures.

/// The signature algorithms sohoa signs with (Decree 23/2025: RSA ≥ 2048 with PSS or
/// PKCS#1 v1.5, ECDSA ≥ 256; SHA-256 or stronger).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureScheme {
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256, salt length 32 (the default for RSA keys).
    RsaPssSha256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (for tokens that cannot do PSS).
    RsaPkcs1Sha256,
    /// ECDSA on P-256 with SHA-256; signatures DER-encoded (ECDSA-Sig-Value).
    EcdsaP256Sha256,
    /// ECDSA on P-384 with SHA-384; signatures DER-encoded (ECDSA-Sig-Value).
    EcdsaP384Sha384,
}

/// Which RSA padding to use, chosen by the user (`--rsa-padding pss|pkcs1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RsaPadding {
    /// RSASSA-PSS (default).
    #[default]
    Pss,
    /// RSASSA-PKCS1-v1_5.
    Pkcs1,
}

/// Why a key could not be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Wrong password or PIN.
    #[error("wrong password or PIN for {0}")]
    WrongPassword(String),
    /// The file or token content is not what was expected.
    #[error("{0}")]
    Invalid(String),
    /// The key is of a type or size sohoa does not sign with.
    #[error("unsuitable key: {0}")]
    Unsuitable(String),
    /// The private key does not belong to the certificate.
    #[error("the private key does not match the certificate")]
    Mismatch,
    /// A token (PKCS#11) operation failed.
    #[error("PKCS#11: {0}")]
    Token(String),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Sign(String),
}

/// A private key with its certificate and chain.
pub trait SigningKey: Send + Sync {
    /// The signer's certificate, DER.
    fn certificate(&self) -> &[u8];
    /// Further certificates to embed (DER), the signer's issuer first; may be empty.
    fn chain(&self) -> &[Vec<u8>];
    /// The scheme `sign` uses.
    fn scheme(&self) -> SignatureScheme;
    /// Signs `message`, hashing it as the scheme says (the message is the DER of the
    /// CMS signed attributes). ECDSA signatures come DER-encoded.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError>;
}
