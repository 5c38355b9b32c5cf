//! Signing keys on PKCS#11 tokens (the USB tokens Vietnamese CAs issue, HSMs, SoftHSM2),
//! through the `cryptoki` crate. The private key never leaves the token: sohoa only asks
//! it for signatures.
//!
//! Mechanisms, by preference: `CKM_SHA256_RSA_PKCS_PSS` (SHA-256, MGF1-SHA-256, salt 32),
//! else `CKM_RSA_PKCS_PSS` over a SHA-256 digest computed here; `CKM_SHA256_RSA_PKCS`,
//! else `CKM_RSA_PKCS` over a DigestInfo computed here (many tokens only have the raw
//! mechanisms); `CKM_ECDSA` over a SHA-256 (P-256) or SHA-384 (P-384) digest computed
//! here, the token's raw `r‖s` turned into DER.
//!
//! A module is loaded and initialized once per process and kept (PKCS#11 modules are not
//! meant to be initialized twice). Login state is per process and token, as PKCS#11 says:
//! while one [`Pkcs11Key`] of this process is logged in to a token, opening another key
//! on the same token does not make the token check the PIN again.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use ring::digest;

use super::alg::KeyType;
use super::key::{KeyError, RsaPadding, SignatureScheme, SigningKey};
use super::keycheck;

/// How the token is asked to sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    /// `CKM_SHA256_RSA_PKCS_PSS`: the token hashes.
    Sha256RsaPss,
    /// `CKM_RSA_PKCS_PSS` over our SHA-256 digest.
    RsaPssOnDigest,
    /// `CKM_SHA256_RSA_PKCS`: the token hashes.
    Sha256RsaPkcs1,
    /// `CKM_RSA_PKCS` over our DigestInfo(SHA-256).
    RsaPkcs1OnDigestInfo,
    /// `CKM_ECDSA` over our SHA-256 or SHA-384 digest; raw `r‖s` back.
    Ecdsa,
}

/// DER prefix of a DigestInfo for SHA-256 (RFC 8017 §9.2 note 1).
const SHA256_DIGEST_INFO_PREFIX: &[u8] = &[
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

fn pss_params() -> PkcsPssParams {
    PkcsPssParams {
        hash_alg: MechanismType::SHA256,
        mgf: PkcsMgfType::MGF1_SHA256,
        s_len: 32.into(),
    }
}

/// A signing key on a PKCS#11 token, opened by [`open_pkcs11`]. Holds one logged-in
/// session (behind a mutex: a PKCS#11 session serves one operation at a time).
pub struct Pkcs11Key {
    cert: Vec<u8>,
    chain: Vec<Vec<u8>>,
    scheme: SignatureScheme,
    method: Method,
    key: ObjectHandle,
    session: Mutex<Session>,
    token_label: String,
    key_label: String,
}

impl fmt::Debug for Pkcs11Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Key")
            .field("token", &self.token_label)
            .field("key", &self.key_label)
            .field("scheme", &self.scheme)
            .field("method", &self.method)
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl Pkcs11Key {
    fn session(&self) -> MutexGuard<'_, Session> {
        // A panic while signing leaves the session usable: take it back.
        self.session.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl SigningKey for Pkcs11Key {
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
        let sha256 = || digest::digest(&digest::SHA256, message);
        let (mechanism, data): (Mechanism<'_>, Vec<u8>) = match self.method {
            Method::Sha256RsaPss => (Mechanism::Sha256RsaPkcsPss(pss_params()), message.to_vec()),
            Method::RsaPssOnDigest => (
                Mechanism::RsaPkcsPss(pss_params()),
                sha256().as_ref().to_vec(),
            ),
            Method::Sha256RsaPkcs1 => (Mechanism::Sha256RsaPkcs, message.to_vec()),
            Method::RsaPkcs1OnDigestInfo => {
                let mut info = SHA256_DIGEST_INFO_PREFIX.to_vec();
                info.extend_from_slice(sha256().as_ref());
                (Mechanism::RsaPkcs, info)
            }
            Method::Ecdsa => {
                let alg = match self.scheme {
                    SignatureScheme::EcdsaP384Sha384 => &digest::SHA384,
                    _ => &digest::SHA256,
                };
                (
                    Mechanism::Ecdsa,
                    digest::digest(alg, message).as_ref().to_vec(),
                )
            }
        };
        let signature = self
            .session()
            .sign(&mechanism, self.key, &data)
            .map_err(|e| match e {
                // The mechanism is chosen from the certificate's key type: a key of another
                // type (an EC key stored with an RSA certificate) is not the certificate's.
                CkError::Pkcs11(RvError::KeyTypeInconsistent, _) => KeyError::Mismatch,
                CkError::Pkcs11(RvError::KeyFunctionNotPermitted, _) => {
                    KeyError::Unsuitable(format!(
                        "key '{}' on token '{}' is not allowed to sign (CKA_SIGN false)",
                        self.key_label, self.token_label
                    ))
                }
                e => KeyError::Token(format!(
                    "token '{}' could not sign with key '{}': {e}",
                    self.token_label, self.key_label
                )),
            })?;
        if self.method == Method::Ecdsa {
            keycheck::ecdsa_raw_to_der(&signature)
        } else {
            Ok(signature)
        }
    }
}

fn token_error(what: &str, e: CkError) -> KeyError {
    KeyError::Token(format!("{what}: {e}"))
}

/// The process's loaded PKCS#11 modules, by path: each is loaded and initialized once.
fn module(path: &Path) -> Result<Pkcs11, KeyError> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let mut modules = MODULES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(pkcs11) = modules.get(path) {
        return Ok(pkcs11.clone());
    }
    let pkcs11 = Pkcs11::new(path).map_err(|e| {
        KeyError::Token(format!(
            "cannot load the PKCS#11 module {}: {e}",
            path.display()
        ))
    })?;
    match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) => {}
        // Someone else in this process (another library) initialized it: fine.
        Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => {
            return Err(token_error(
                &format!("cannot initialize the PKCS#11 module {}", path.display()),
                e,
            ))
        }
    }
    modules.insert(path.to_path_buf(), pkcs11.clone());
    Ok(pkcs11)
}

/// The slot whose token has label `label` (surrounding blanks ignored; PKCS#11 pads labels
/// with spaces). An empty `label` picks the only token there is.
fn find_slot(pkcs11: &Pkcs11, module: &Path, label: &str) -> Result<Slot, KeyError> {
    let slots = pkcs11
        .get_slots_with_token()
        .map_err(|e| token_error("cannot list the token slots", e))?;
    let wanted = label.trim();
    let mut labels = Vec::new();
    for slot in slots {
        let info = pkcs11
            .get_token_info(slot)
            .map_err(|e| token_error("cannot read a token's information", e))?;
        if !info.token_initialized() {
            continue; // SoftHSM always offers an empty slot to initialize
        }
        let found = info.label().trim();
        if !wanted.is_empty() && found == wanted {
            return Ok(slot);
        }
        labels.push((slot, found.to_string()));
    }
    if wanted.is_empty() && labels.len() == 1 {
        return Ok(labels[0].0);
    }
    let present = if labels.is_empty() {
        "no token is present (is it plugged in?)".to_string()
    } else {
        let names: Vec<String> = labels.iter().map(|(_, l)| format!("'{l}'")).collect();
        format!("tokens present: {}", names.join(", "))
    };
    let which = if wanted.is_empty() {
        "no token label given and not exactly one token".to_string()
    } else {
        format!("no token labelled '{wanted}'")
    };
    Err(KeyError::Token(format!(
        "{which} in {}; {present}",
        module.display()
    )))
}

fn login(
    pkcs11: &Pkcs11,
    slot: Slot,
    session: &Session,
    token: &str,
    pin: &str,
) -> Result<(), KeyError> {
    match session.login(UserType::User, Some(&AuthPin::from(pin))) {
        Ok(()) => Ok(()),
        // Another session of this process is logged in (PKCS#11 login is per application).
        Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
        Err(CkError::Pkcs11(RvError::PinIncorrect | RvError::PinLenRange, _)) => {
            let warning = match pkcs11.get_token_info(slot) {
                Ok(info) if info.user_pin_locked() => " (the PIN is now locked)",
                Ok(info) if info.user_pin_final_try() => {
                    " (one more wrong PIN will lock the token)"
                }
                Ok(info) if info.user_pin_count_low() => " (few tries left before the token locks)",
                _ => "",
            };
            Err(KeyError::WrongPassword(format!("token '{token}'{warning}")))
        }
        Err(CkError::Pkcs11(RvError::PinLocked, _)) => Err(KeyError::Token(format!(
            "the PIN of token '{token}' is locked after too many wrong tries; \
             unlock it with the CA's tool (SO PIN / PUK)"
        ))),
        Err(e) => Err(token_error(&format!("cannot log in to token '{token}'"), e)),
    }
}

/// The attribute `kind` of `object`, `None` when the token does not have it.
fn attribute(session: &Session, object: ObjectHandle, kind: AttributeType) -> Option<Attribute> {
    session
        .get_attributes(object, &[kind])
        .ok()?
        .into_iter()
        .next()
}

fn label_of(session: &Session, object: ObjectHandle) -> String {
    match attribute(session, object, AttributeType::Label) {
        Some(Attribute::Label(l)) => String::from_utf8_lossy(&l).into_owned(),
        _ => String::new(),
    }
}

fn value_of(session: &Session, object: ObjectHandle) -> Option<Vec<u8>> {
    match attribute(session, object, AttributeType::Value) {
        Some(Attribute::Value(v)) if !v.is_empty() => Some(v),
        _ => None,
    }
}

/// Opens the signing key labelled `key_label` on the token labelled `token_label` through
/// the PKCS#11 `module` (for example `/usr/lib/softhsm/libsofthsm2.so`, or the CA's
/// token driver), logging in as user with `pin`.
///
/// The certificate is the CKO_CERTIFICATE object with the same CKA_LABEL as the key, else
/// the one with the same CKA_ID; the token's other certificates on its issuer path go to
/// the chain, issuer first. An empty `token_label` picks the only token present, an empty
/// `key_label` the only private key on the token. RSA keys sign with `padding`.
///
/// Errors: [`KeyError::WrongPassword`] for a wrong PIN; [`KeyError::Token`] for a module
/// that does not load, an unknown token or key label (the message lists the labels
/// present), a locked PIN; [`KeyError::Unsuitable`] for keys sohoa does not sign with or a
/// token without the needed mechanism (for example no RSA-PSS: use PKCS#1 v1.5);
/// [`KeyError::Mismatch`] when the key does not belong to the certificate (checked by
/// signing a test message on the token).
pub fn open_pkcs11(
    module: &Path,
    token_label: &str,
    key_label: &str,
    pin: &str,
    padding: RsaPadding,
) -> Result<Pkcs11Key, KeyError> {
    let pkcs11 = self::module(module)?;
    let slot = find_slot(&pkcs11, module, token_label)?;
    let token = match pkcs11.get_token_info(slot) {
        Ok(info) => info.label().trim().to_string(),
        Err(_) => token_label.trim().to_string(),
    };
    let session = pkcs11
        .open_ro_session(slot)
        .map_err(|e| token_error(&format!("cannot open a session on token '{token}'"), e))?;
    login(&pkcs11, slot, &session, &token, pin)?;

    // The private key.
    let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
    if !key_label.is_empty() {
        template.push(Attribute::Label(key_label.as_bytes().to_vec()));
    }
    let keys = session
        .find_objects(&template)
        .map_err(|e| token_error(&format!("cannot search token '{token}'"), e))?;
    let key = match keys.as_slice() {
        [key] => *key,
        [key, ..] if !key_label.is_empty() => *key,
        _ => {
            let all = session
                .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY)])
                .unwrap_or_default();
            let labels: Vec<String> = all
                .iter()
                .map(|&k| format!("'{}'", label_of(&session, k)))
                .collect();
            let wanted = if key_label.is_empty() {
                "a single private key".to_string()
            } else {
                format!("a private key labelled '{key_label}'")
            };
            return Err(KeyError::Token(format!(
                "token '{token}' has no {wanted}; private keys there: {}",
                if labels.is_empty() {
                    "none".into()
                } else {
                    labels.join(", ")
                }
            )));
        }
    };
    let key_label = label_of(&session, key);
    let key_id = match attribute(&session, key, AttributeType::Id) {
        Some(Attribute::Id(id)) => id,
        _ => Vec::new(),
    };

    // Its certificate: same label, else same CKA_ID.
    let cert_class = Attribute::Class(ObjectClass::CERTIFICATE);
    let mut candidates = Vec::new();
    if !key_label.is_empty() {
        candidates.extend(
            session
                .find_objects(&[
                    cert_class.clone(),
                    Attribute::Label(key_label.as_bytes().to_vec()),
                ])
                .unwrap_or_default(),
        );
    }
    if !key_id.is_empty() {
        candidates.extend(
            session
                .find_objects(&[cert_class.clone(), Attribute::Id(key_id.clone())])
                .unwrap_or_default(),
        );
    }
    let cert = candidates
        .iter()
        .find_map(|&c| value_of(&session, c))
        .ok_or_else(|| {
            KeyError::Token(format!(
                "token '{token}' has no certificate for key '{key_label}' \
                 (none with the same label or CKA_ID {})",
                hex::encode(&key_id)
            ))
        })?;

    let cert_key = keycheck::cert_key(&cert)?;
    let scheme = cert_key.scheme(padding);
    let mechanisms = pkcs11.get_mechanism_list(slot).ok();
    let has = |m: MechanismType| mechanisms.as_ref().is_none_or(|list| list.contains(&m));
    let method = match (cert_key, padding) {
        (KeyType::Rsa, RsaPadding::Pss) if has(MechanismType::SHA256_RSA_PKCS_PSS) => {
            Method::Sha256RsaPss
        }
        (KeyType::Rsa, RsaPadding::Pss) if has(MechanismType::RSA_PKCS_PSS) => {
            Method::RsaPssOnDigest
        }
        (KeyType::Rsa, RsaPadding::Pss) => {
            return Err(KeyError::Unsuitable(format!(
                "token '{token}' cannot sign with RSA-PSS; choose PKCS#1 v1.5 padding \
                 (--rsa-padding pkcs1)"
            )))
        }
        (KeyType::Rsa, RsaPadding::Pkcs1) if has(MechanismType::SHA256_RSA_PKCS) => {
            Method::Sha256RsaPkcs1
        }
        (KeyType::Rsa, RsaPadding::Pkcs1) if has(MechanismType::RSA_PKCS) => {
            Method::RsaPkcs1OnDigestInfo
        }
        (KeyType::Rsa, RsaPadding::Pkcs1) => {
            return Err(KeyError::Unsuitable(format!(
                "token '{token}' cannot sign with RSA PKCS#1 v1.5"
            )))
        }
        (KeyType::EcP256 | KeyType::EcP384, _) if has(MechanismType::ECDSA) => Method::Ecdsa,
        (KeyType::EcP256 | KeyType::EcP384, _) => {
            return Err(KeyError::Unsuitable(format!(
                "token '{token}' cannot sign with ECDSA"
            )))
        }
    };

    // The other certificates on the token, those on the signer's issuer path.
    let others: Vec<Vec<u8>> = session
        .find_objects(&[cert_class])
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| value_of(&session, c))
        .collect();
    let chain = keycheck::order_chain(&cert, others, false);

    let key = Pkcs11Key {
        cert,
        chain,
        scheme,
        method,
        key,
        session: Mutex::new(session),
        token_label: token,
        key_label,
    };
    keycheck::check_key_matches(&key)?;
    Ok(key)
}

// Compile-time check: a Pkcs11Key can be shared between threads.
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Pkcs11Key>();
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certify::keycheck::testing::{pki, sign_and_verify, token};

    fn read(p: &Path) -> Vec<u8> {
        std::fs::read(p).unwrap()
    }

    macro_rules! token_or_skip {
        () => {
            match token() {
                Some(t) => t,
                None => {
                    eprintln!("SoftHSM2 or pkcs11-tool missing: PKCS#11 test skipped");
                    return;
                }
            }
        };
    }

    #[test]
    fn rsa_pss_and_pkcs1_on_softhsm() {
        let t = token_or_skip!();
        let pki = pki();
        let key = open_pkcs11(
            &t.module,
            &t.label,
            &t.rsa_key,
            &t.user_pin,
            RsaPadding::Pss,
        )
        .unwrap();
        assert_eq!(key.scheme(), SignatureScheme::RsaPssSha256);
        assert_eq!(key.certificate(), read(&pki.office_rsa.cert_der));
        assert_eq!(key.chain(), &[read(&pki.root_der)]);
        sign_and_verify(&key);
        let key = open_pkcs11(
            &t.module,
            &t.label,
            &t.rsa_key,
            &t.user_pin,
            RsaPadding::Pkcs1,
        )
        .unwrap();
        assert_eq!(key.scheme(), SignatureScheme::RsaPkcs1Sha256);
        sign_and_verify(&key);
    }

    #[test]
    fn raw_rsa_mechanisms() {
        let t = token_or_skip!();
        for (padding, method) in [
            (RsaPadding::Pss, Method::RsaPssOnDigest),
            (RsaPadding::Pkcs1, Method::RsaPkcs1OnDigestInfo),
        ] {
            let mut key =
                open_pkcs11(&t.module, &t.label, &t.rsa_key, &t.user_pin, padding).unwrap();
            key.method = method; // as on a token without the hashing mechanisms
            sign_and_verify(&key);
        }
    }

    #[test]
    fn ecdsa_on_softhsm() {
        let t = token_or_skip!();
        let key =
            open_pkcs11(&t.module, &t.label, &t.ec_key, &t.user_pin, RsaPadding::Pss).unwrap();
        assert_eq!(key.scheme(), SignatureScheme::EcdsaP256Sha256);
        sign_and_verify(&key);
        assert_eq!(key.sign(b"x").unwrap()[0], 0x30);
    }

    #[test]
    fn certificate_found_by_id() {
        let t = token_or_skip!();
        let pki = pki();
        let key = open_pkcs11(
            &t.module,
            &t.label,
            &t.by_id_key,
            &t.user_pin,
            RsaPadding::Pss,
        )
        .unwrap();
        assert_eq!(key.scheme(), SignatureScheme::EcdsaP384Sha384);
        assert_eq!(key.certificate(), read(&pki.office_p384.cert_der));
        sign_and_verify(&key);
    }

    #[test]
    fn mismatched_key_on_token() {
        let t = token_or_skip!();
        let err = open_pkcs11(
            &t.module,
            &t.label,
            &t.mismatch_key,
            &t.user_pin,
            RsaPadding::Pss,
        )
        .unwrap_err();
        assert!(matches!(err, KeyError::Mismatch), "{err:?}");
    }

    #[test]
    fn wrong_pin() {
        let t = token_or_skip!();
        // Token 2: no other test logs in to it, so the token really checks the PIN.
        let err =
            open_pkcs11(&t.module, &t.label2, &t.rsa_key, "000000", RsaPadding::Pss).unwrap_err();
        assert!(matches!(err, KeyError::WrongPassword(_)), "{err:?}");
        let key = open_pkcs11(
            &t.module,
            &t.label2,
            &t.rsa_key,
            &t.user_pin,
            RsaPadding::Pss,
        )
        .unwrap();
        sign_and_verify(&key);
        // The only private key on the token, picked without a key label.
        let key = open_pkcs11(&t.module, &t.label2, "", &t.user_pin, RsaPadding::Pkcs1).unwrap();
        sign_and_verify(&key);
    }

    #[test]
    fn unknown_token_key_and_module() {
        let t = token_or_skip!();
        let err = open_pkcs11(
            &t.module,
            "no-such-token",
            "office",
            &t.user_pin,
            RsaPadding::Pss,
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, KeyError::Token(_)), "{err:?}");
        assert!(
            msg.contains("no-such-token") && msg.contains("sohoa-test"),
            "{msg}"
        );
        // Two tokens: an empty label is ambiguous.
        let err = open_pkcs11(&t.module, "", "office", &t.user_pin, RsaPadding::Pss).unwrap_err();
        assert!(err.to_string().contains("'sohoa-pin'"), "{err}");
        let err = open_pkcs11(
            &t.module,
            &t.label,
            "no-such-key",
            &t.user_pin,
            RsaPadding::Pss,
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("no-such-key") && msg.contains("'office'"),
            "{msg}"
        );
        let err = open_pkcs11(
            Path::new("/nonexistent/libpkcs11.so"),
            &t.label,
            "office",
            &t.user_pin,
            RsaPadding::Pss,
        )
        .unwrap_err();
        assert!(err.to_string().contains("cannot load"), "{err}");
    }

    #[test]
    fn concurrent_signing() {
        let t = token_or_skip!();
        let key = open_pkcs11(
            &t.module,
            &t.label,
            &t.rsa_key,
            &t.user_pin,
            RsaPadding::Pss,
        )
        .unwrap();
        std::thread::scope(|s| {
            for i in 0..4u8 {
                let key = &key;
                s.spawn(move || {
                    let msg = [i; 100];
                    let sig = key.sign(&msg).unwrap();
                    keycheck::verify_with_certificate(key.certificate(), key.scheme(), &msg, &sig)
                        .unwrap();
                });
            }
        });
    }
}
