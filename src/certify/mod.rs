//! Certify: the certification statement stamp, the register, the PAdES signature and
//! its verification.
//!
//! ```text
//! PDF ─ stamp (statement, number, QR) ─ pades::prepare ─ cms::sign_detached(key) ─ embed ─▶ certified copy
//! ```
//! Keys come from PEM/PKCS#8 files ([`pem`]), PKCS#12 files ([`pkcs12`]) or PKCS#11 tokens
//! ([`pkcs11`]) behind one trait ([`key::SigningKey`]).

pub mod alg;
pub mod certificate;
pub mod cms;
pub mod copy;
pub mod issuer;
pub mod key;
pub mod keycheck;
pub mod longterm;
pub mod online;
pub mod pades;
pub mod pem;
pub mod pkcs11;
pub mod pkcs12;
pub mod placement;
pub mod register;
pub mod revisions;
pub mod revocation;
pub mod stamp;
pub mod timestamp;
pub mod verify;
