//! A test PKI made with the `openssl` command: roots, a sub CA, office certificates
//! with RSA and EC keys, and the wrong kinds (expired, encipherment-only, weak).

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, RsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING,
    RSA_PKCS1_SHA256, RSA_PSS_SHA256,
};

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

const CONFIG: &str = "\
[ca]
default_ca = test_ca
[test_ca]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
copy_extensions = none
[policy_any]
countryName = optional
organizationName = optional
commonName = supplied
[req]
distinguished_name = dn
string_mask = utf8only
utf8 = yes
[dn]
[root]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[sub]
basicConstraints = critical,CA:true,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[office]
basicConstraints = CA:false
keyUsage = critical,digitalSignature,nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[encipher]
basicConstraints = CA:false
keyUsage = critical,keyEncipherment
subjectKeyIdentifier = hash
";

/// Runs `openssl` in `dir`, panicking with its stderr on failure.
pub(crate) fn openssl(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new("openssl")
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

fn der_of(dir: &Path, pem: &str) -> Vec<u8> {
    let der = format!("{pem}.der");
    openssl(dir, &["x509", "-in", pem, "-outform", "DER", "-out", &der]);
    std::fs::read(dir.join(der)).unwrap()
}

fn pkcs8_of(dir: &Path, key: &str) -> Vec<u8> {
    let out = format!("{key}.p8");
    openssl(
        dir,
        &[
            "pkcs8", "-topk8", "-nocrypt", "-in", key, "-outform", "DER", "-out", &out,
        ],
    );
    std::fs::read(dir.join(out)).unwrap()
}

fn self_signed(dir: &Path, name: &str, subject: &str) -> Vec<u8> {
    let (key, pem) = (format!("{name}.key"), format!("{name}.pem"));
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-config",
            "ca.cnf",
            "-extensions",
            "root",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &pem,
            "-days",
            "3650",
            "-subj",
            subject,
        ],
    );
    der_of(dir, &pem)
}

/// Issues `name` for a new key (`newkey` as for `openssl req -newkey`, with options).
fn issue(
    dir: &Path,
    name: &str,
    newkey: &[&str],
    subject: &str,
    by: &str,
    ext: &str,
    dates: &[&str],
) -> (Vec<u8>, Vec<u8>) {
    let (key, csr, pem) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
    );
    let mut req = vec![
        "req", "-new", "-config", "ca.cnf", "-nodes", "-keyout", &key, "-out", &csr, "-subj",
        subject,
    ];
    req.extend_from_slice(newkey);
    openssl(dir, &req);
    let (cert, ca_key) = (format!("{by}.pem"), format!("{by}.key"));
    let mut ca = vec![
        "ca",
        "-batch",
        "-config",
        "ca.cnf",
        "-cert",
        &cert,
        "-keyfile",
        &ca_key,
        "-extensions",
        ext,
        "-in",
        &csr,
        "-out",
        &pem,
        "-notext",
        "-utf8",
    ];
    ca.extend_from_slice(if dates.is_empty() {
        &["-days", "365"]
    } else {
        dates
    });
    openssl(dir, &ca);
    (der_of(dir, &pem), pkcs8_of(dir, &key))
}

fn make() -> Pki {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("ca.cnf"), CONFIG).unwrap();
    std::fs::write(dir.join("index.txt"), "").unwrap();
    std::fs::write(dir.join("serial"), "1000\n").unwrap();
    let rsa = ["-newkey", "rsa:2048"];
    let p256 = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
    let p384 = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"];
    let root_subject = "/C=VN/O=Sohoa Test/CN=Sohoa Test Root";
    let root = self_signed(dir, "root", root_subject);
    let office = "/C=VN/O=UBND xã Tân Phú, huyện Định Quán/CN=Nguyễn Văn A";
    let (rsa_cert, rsa_key) = issue(dir, "office", &rsa, office, "root", "office", &[]);
    let (sub, _) = issue(
        dir,
        "sub",
        &rsa,
        "/C=VN/O=Sohoa Test/CN=Sohoa Test Sub CA",
        "root",
        "sub",
        &[],
    );
    let (ec256, ec256_key) = issue(
        dir,
        "ec256",
        &p256,
        "/C=VN/CN=Trần Thị Bình",
        "sub",
        "office",
        &[],
    );
    let (ec384, ec384_key) = issue(
        dir,
        "ec384",
        &p384,
        "/C=VN/CN=Lê Văn Cường",
        "root",
        "office",
        &[],
    );
    let old = [
        "-startdate",
        "20200101000000Z",
        "-enddate",
        "20210101000000Z",
    ];
    let (expired, _) = issue(
        dir,
        "expired",
        &rsa,
        "/C=VN/CN=Phạm Văn Hết Hạn",
        "root",
        "office",
        &old,
    );
    let (encipher, _) = issue(
        dir,
        "encipher",
        &rsa,
        "/C=VN/CN=Mã Hóa",
        "root",
        "encipher",
        &[],
    );
    let (weak, _) = issue(
        dir,
        "weak",
        &["-newkey", "rsa:1024"],
        "/C=VN/CN=Yếu",
        "root",
        "office",
        &[],
    );
    Pki {
        root_pem: std::fs::read_to_string(dir.join("root.pem")).unwrap(),
        root,
        sub: sub.clone(),
        other_root: self_signed(dir, "other", "/C=VN/CN=Another Root"),
        twin_root: self_signed(dir, "twin", root_subject),
        rsa: Issued {
            cert: rsa_cert,
            pkcs8: rsa_key,
            chain: vec![],
        },
        ec256: Issued {
            cert: ec256,
            pkcs8: ec256_key,
            chain: vec![sub],
        },
        ec384: Issued {
            cert: ec384,
            pkcs8: ec384_key,
            chain: vec![],
        },
        expired,
        encipher,
        weak,
    }
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
