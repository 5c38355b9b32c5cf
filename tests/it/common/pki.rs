//! A throwaway test PKI made with the `openssl` CLI (OpenSSL 3), for tests only: a root
//! CA and office certificates of every kind the signing code must accept or refuse, their
//! keys in PEM (PKCS#8 and the traditional PKCS#1/SEC1 forms), PKCS#12 files in OpenSSL 3's
//! default and `-legacy` encodings, and optionally a SoftHSM2 token holding office keys.
//!
//! Used by the integration tests (`tests/it/common/mod.rs`) and, through `#[path]`, by the
//! unit tests of `src/certify` — so it depends on nothing but `std`; each of the two uses
//! some of its files only.
//!
//! Every name with Vietnamese text is UTF-8 (`-utf8`, `string_mask = utf8only`). The expired
//! certificate is issued with `openssl ca -startdate … -enddate …`: OpenSSL 3.0's
//! `openssl x509 -req` has no `-not_before`/`-not_after` (3.4+), and `-days -1` gives a
//! notAfter *before* notBefore rather than an expired certificate.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Password of every PKCS#12 file in the test PKI.
pub const P12_PASSWORD: &str = "Mật khẩu-123";
/// SoftHSM2 token label.
pub const TOKEN_LABEL: &str = "sohoa-test";
/// A second token, for tests that must be the only ones logging in to it (PKCS#11 login
/// state is per process and token: a wrong-PIN test needs a token nobody else is logged in
/// to, or the token would not check the PIN at all).
/// Not "sohoa-test-2": `pkcs11-tool --token-label` matches label *prefixes* (OpenSC 0.23),
/// so the setup would write into whichever of the two tokens comes first.
pub const TOKEN2_LABEL: &str = "sohoa-pin";
/// User PIN of the SoftHSM2 tokens.
pub const USER_PIN: &str = "123456";
/// Security officer PIN of the SoftHSM2 tokens.
pub const SO_PIN: &str = "87654321";

/// A certificate and its private key, in the forms the loaders read.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Certificate, PEM.
    pub cert_pem: PathBuf,
    /// Certificate, DER.
    pub cert_der: PathBuf,
    /// Private key, PKCS#8 PEM ("PRIVATE KEY").
    pub key_pem: PathBuf,
    /// Private key in the traditional form: "RSA PRIVATE KEY" (PKCS#1) for RSA keys,
    /// "EC PRIVATE KEY" (SEC1) for EC keys.
    pub key_traditional_pem: PathBuf,
}

/// The test PKI, all files under `dir`.
#[derive(Debug, Clone)]
pub struct Pki {
    /// Folder holding every file.
    pub dir: PathBuf,
    /// Root CA certificate (RSA 2048, CA:true, keyCertSign+cRLSign), PEM.
    pub root_pem: PathBuf,
    /// Root CA certificate, DER.
    pub root_der: PathBuf,
    /// Root CA private key, PKCS#8 PEM.
    pub root_key_pem: PathBuf,
    /// Office certificate, RSA 2048, keyUsage critical digitalSignature+nonRepudiation,
    /// subject "CN=Nguyễn Văn An, O=UBND xã Thử Nghiệm", valid now.
    pub office_rsa: Identity,
    /// Office certificate, ECDSA P-256, same key usage, valid now.
    pub office_ec: Identity,
    /// Office certificate, ECDSA P-384, same key usage, valid now.
    pub office_p384: Identity,
    /// Office certificate (RSA 2048) valid 2020-01-01 to 2021-01-01: expired.
    pub expired: Identity,
    /// Certificate (RSA 2048) with keyUsage keyEncipherment only: not for signing.
    pub key_encipherment: Identity,
    /// Certificate with an RSA 1024 key: too short.
    pub rsa1024: Identity,
    /// The office RSA certificate with another RSA 2048 key: key and certificate do not match.
    pub mismatch: Identity,
    /// A time-stamping authority (RSA 2048, critical extendedKeyUsage timeStamping).
    pub tsa: Identity,
    /// The root's delegated OCSP responder (RSA 2048, extendedKeyUsage OCSPSigning).
    pub ocsp: Identity,
    /// The root certificate followed by an unrelated certificate (the P-256 office one), PEM:
    /// a chain file.
    pub chain_pem: PathBuf,
    /// PKCS#12 of the office RSA certificate, key and root, OpenSSL 3 default encoding
    /// (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC, SHA-256 MAC); password [`P12_PASSWORD`].
    pub p12_modern: PathBuf,
    /// The same content with `-legacy` (PBE-SHA1-3DES key, PBE-SHA1-RC2-40 certificates,
    /// SHA-1 MAC), as many CAs still issue; password [`P12_PASSWORD`].
    pub p12_legacy: PathBuf,
    /// PKCS#12 of the office P-256 certificate, key and root (default encoding).
    pub p12_ec: PathBuf,
    /// PKCS#12 of the office RSA certificate, root first and then the office certificate
    /// and key, in the legacy encoding with the 3DES certificate encryption.
    pub p12_legacy_3des: PathBuf,
}

/// A SoftHSM2 token set up by [`Pki::softhsm_token`].
#[derive(Debug, Clone)]
pub struct Token {
    /// The PKCS#11 module (libsofthsm2.so).
    pub module: PathBuf,
    /// The SoftHSM2 configuration file: `SOFTHSM2_CONF` must point to it in the process
    /// that loads the module (`Command::env`, or `std::env::set_var` before loading).
    pub conf: PathBuf,
    /// Token label ([`TOKEN_LABEL`]); holds every key below plus the root certificate.
    pub label: String,
    /// Label of a second token ([`TOKEN2_LABEL`]) holding only the office RSA key.
    pub label2: String,
    /// User PIN.
    pub user_pin: String,
    /// Security officer PIN.
    pub so_pin: String,
    /// Label of the office RSA key and certificate (CKA_ID 01).
    pub rsa_key: String,
    /// Label of the office P-256 key and certificate (CKA_ID 02).
    pub ec_key: String,
    /// Label of a key stored with the office RSA certificate that is not its key
    /// (CKA_ID 03).
    pub mismatch_key: String,
    /// Label of a key whose certificate carries another label and is found by CKA_ID
    /// (the office P-384 key, CKA_ID 04).
    pub by_id_key: String,
}

impl Token {
    /// Points `cmd` (for example the sohoa binary) at this token's SoftHSM2 configuration.
    pub fn env<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        cmd.env("SOFTHSM2_CONF", &self.conf)
    }
}

/// Runs a command, panicking with its output when it fails.
fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn openssl(dir: &Path) -> Command {
    let mut cmd = Command::new("openssl");
    cmd.current_dir(dir);
    cmd
}

/// The OpenSSL configuration for `req` (root CA) and `ca` (every other certificate).
const OPENSSL_CNF: &str = "\
[req]
distinguished_name = dn
string_mask = utf8only
utf8 = yes
prompt = no
[dn]
CN = unused
[ca]
default_ca = test_ca
[test_ca]
database = ca/index.txt
new_certs_dir = ca
serial = ca/serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
string_mask = utf8only
[policy_any]
commonName = supplied
organizationName = optional
[v3_root]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_sign]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_tsa]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_ocsp]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = OCSPSigning
noCheck = ignored
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_encipher]
basicConstraints = critical,CA:false
keyUsage = critical,keyEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
";

impl Pki {
    /// Issues an office signing certificate (RSA 2048) whose Authority Information Access
    /// names the OCSP responder at `url`; listed as valid in the CA's database (which
    /// [`Pki::ca_index`] names, for the responder).
    pub fn office_with_ocsp(&self, name: &str, subject: &str, url: &str) -> Identity {
        self.with_ocsp(
            name,
            subject,
            url,
            "keyUsage = critical,digitalSignature,nonRepudiation",
        )
    }

    /// A time-stamping authority's certificate whose AIA names the OCSP responder at `url`.
    pub fn tsa_with_ocsp(&self, name: &str, subject: &str, url: &str) -> Identity {
        let usage =
            "keyUsage = critical,digitalSignature\nextendedKeyUsage = critical,timeStamping";
        self.with_ocsp(name, subject, url, usage)
    }

    /// An office signing certificate (RSA 2048) whose issuer runs no OCSP responder: its
    /// CRL distribution point is `url` (the CRL repository of `tests/services/crl.py`).
    pub fn office_with_crl(&self, name: &str, subject: &str, url: &str) -> Identity {
        let usage = "keyUsage = critical,digitalSignature,nonRepudiation";
        let source = format!("crlDistributionPoints = URI:{url}/root.crl");
        self.with_status(name, subject, &source, usage, "365")
    }

    /// A time-stamping authority's certificate, valid `days`, whose status is in the CRL
    /// at `url`.
    pub fn tsa_with_crl(&self, name: &str, subject: &str, url: &str, days: u32) -> Identity {
        let usage =
            "keyUsage = critical,digitalSignature\nextendedKeyUsage = critical,timeStamping";
        let source = format!("crlDistributionPoints = URI:{url}/root.crl");
        self.with_status(name, subject, &source, usage, &days.to_string())
    }

    fn with_ocsp(&self, name: &str, subject: &str, url: &str, usage: &str) -> Identity {
        let source = format!("authorityInfoAccess = OCSP;URI:{url}");
        self.with_status(name, subject, &source, usage, "365")
    }

    fn with_status(
        &self,
        name: &str,
        subject: &str,
        source: &str,
        usage: &str,
        days: &str,
    ) -> Identity {
        gen_rsa(&self.dir, name, 2048);
        let ext = format!(
            "[v3]\nbasicConstraints = critical,CA:false\n{usage}\n\
             subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n\
             {source}\n"
        );
        fs::write(self.dir.join(format!("{name}.ext")), ext).unwrap();
        let extfile = format!("{name}.ext");
        issue_with(
            &self.dir,
            name,
            subject,
            &["-extfile", &extfile, "-extensions", "v3", "-days", days],
            Some(("", "")),
        );
        identity(&self.dir, name, name)
    }

    /// Marks `name`'s certificate revoked in the CA's database.
    pub fn revoke(&self, name: &str) {
        run(openssl(&self.dir).args([
            "ca",
            "-batch",
            "-config",
            "openssl.cnf",
            "-cert",
            "root.pem",
            "-keyfile",
            "root.key.pem",
            "-revoke",
            &format!("{name}.pem"),
        ]));
    }

    /// The CA's database (`openssl ca`'s index.txt): what the OCSP responder answers from.
    pub fn ca_index(&self) -> PathBuf {
        self.dir.join("ca/index.txt")
    }

    /// Creates the test PKI in `dir` (created if missing; files in it are overwritten).
    /// Needs the `openssl` command (OpenSSL 3). Takes a second or two (RSA key generation).
    pub fn create(dir: &Path) -> Pki {
        fs::create_dir_all(dir.join("ca")).expect("create PKI dir");
        let dir = dir.canonicalize().expect("canonical PKI dir");
        fs::write(dir.join("openssl.cnf"), OPENSSL_CNF).unwrap();
        fs::write(dir.join("ca/index.txt"), "").unwrap();
        fs::write(dir.join("ca/serial"), "1000\n").unwrap();
        let p = |name: &str| dir.join(name);

        // Root CA.
        gen_rsa(&dir, "root", 2048);
        run(openssl(&dir).args([
            "req",
            "-config",
            "openssl.cnf",
            "-new",
            "-x509",
            "-utf8",
            "-key",
            "root.key.pem",
            "-subj",
            "/CN=Test Root CA sohoa (TEST ONLY)/O=Thử nghiệm",
            "-days",
            "3650",
            "-sha256",
            "-extensions",
            "v3_root",
            "-out",
            "root.pem",
        ]));
        to_der(&dir, "root");

        let office_subject = "/CN=Nguyễn Văn An/O=UBND xã Thử Nghiệm";
        let office_rsa = {
            gen_rsa(&dir, "office-rsa", 2048);
            issue(&dir, "office-rsa", office_subject, "v3_sign", None);
            identity(&dir, "office-rsa", "office-rsa")
        };
        let office_ec = {
            gen_ec(&dir, "office-ec", "P-256");
            issue(
                &dir,
                "office-ec",
                "/CN=Trần Thị Bình/O=UBND xã Thử Nghiệm",
                "v3_sign",
                None,
            );
            identity(&dir, "office-ec", "office-ec")
        };
        let office_p384 = {
            gen_ec(&dir, "office-p384", "P-384");
            issue(
                &dir,
                "office-p384",
                "/CN=Lê Văn Cường/O=UBND xã Thử Nghiệm",
                "v3_sign",
                None,
            );
            identity(&dir, "office-p384", "office-p384")
        };
        let expired = {
            gen_rsa(&dir, "expired", 2048);
            issue(
                &dir,
                "expired",
                "/CN=Phạm Văn Hết Hạn/O=UBND xã Thử Nghiệm",
                "v3_sign",
                Some(("20200101000000Z", "20210101000000Z")),
            );
            identity(&dir, "expired", "expired")
        };
        let key_encipherment = {
            gen_rsa(&dir, "keyenc", 2048);
            issue(
                &dir,
                "keyenc",
                "/CN=Mã hoá Khoá/O=UBND xã Thử Nghiệm",
                "v3_encipher",
                None,
            );
            identity(&dir, "keyenc", "keyenc")
        };
        let rsa1024 = {
            gen_rsa(&dir, "rsa1024", 1024);
            issue(
                &dir,
                "rsa1024",
                "/CN=Khoá Ngắn/O=UBND xã Thử Nghiệm",
                "v3_sign",
                None,
            );
            identity(&dir, "rsa1024", "rsa1024")
        };
        let mismatch = {
            gen_rsa(&dir, "other", 2048);
            identity(&dir, "office-rsa", "other")
        };
        let ocsp = {
            gen_rsa(&dir, "ocsp", 2048);
            issue(
                &dir,
                "ocsp",
                "/CN=OCSP Thử Nghiệm sohoa (TEST ONLY)",
                "v3_ocsp",
                None,
            );
            identity(&dir, "ocsp", "ocsp")
        };
        let tsa = {
            gen_rsa(&dir, "tsa", 2048);
            issue(
                &dir,
                "tsa",
                "/CN=TSA Thử Nghiệm sohoa (TEST ONLY)",
                "v3_tsa",
                None,
            );
            identity(&dir, "tsa", "tsa")
        };

        let mut chain = fs::read(p("root.pem")).unwrap();
        chain.extend_from_slice(&fs::read(p("office-ec.pem")).unwrap());
        fs::write(p("chain.pem"), chain).unwrap();

        let pkcs12 = |out: &str, name: &str, extra: &[&str]| {
            let mut cmd = openssl(&dir);
            cmd.args([
                "pkcs12",
                "-export",
                "-inkey",
                &format!("{name}.key.pem"),
                "-in",
                &format!("{name}.pem"),
                "-certfile",
                "root.pem",
                "-name",
                name,
                "-passout",
                &format!("pass:{P12_PASSWORD}"),
                "-out",
                out,
            ]);
            cmd.args(extra);
            run(&mut cmd);
        };
        pkcs12("office.p12", "office-rsa", &[]);
        pkcs12("office-legacy.p12", "office-rsa", &["-legacy"]);
        pkcs12("office-ec.p12", "office-ec", &[]);
        // Root first in the file: the loader must still pick the certificate of the key.
        let mut both = fs::read(p("root.pem")).unwrap();
        both.extend_from_slice(&fs::read(p("office-rsa.pem")).unwrap());
        fs::write(p("root-then-office.pem"), both).unwrap();
        run(openssl(&dir).args([
            "pkcs12",
            "-export",
            "-legacy",
            "-certpbe",
            "PBE-SHA1-3DES",
            "-inkey",
            "office-rsa.key.pem",
            "-in",
            "root-then-office.pem",
            "-passout",
            &format!("pass:{P12_PASSWORD}"),
            "-out",
            "office-legacy-3des.p12",
        ]));

        Pki {
            root_pem: p("root.pem"),
            root_der: p("root.der"),
            root_key_pem: p("root.key.pem"),
            office_rsa,
            office_ec,
            office_p384,
            expired,
            key_encipherment,
            rsa1024,
            mismatch,
            tsa,
            ocsp,
            chain_pem: p("chain.pem"),
            p12_modern: p("office.p12"),
            p12_legacy: p("office-legacy.p12"),
            p12_ec: p("office-ec.p12"),
            p12_legacy_3des: p("office-legacy-3des.p12"),
            dir,
        }
    }

    /// Sets up SoftHSM2 tokens in `dir` (its own configuration file, tokens under
    /// `dir/tokens`): token [`TOKEN_LABEL`] with the office RSA key and certificate
    /// ("office", id 01), the P-256 ones ("office-ec", 02), the office certificate with the
    /// wrong key ("mismatch", 03), the P-384 key ("office-p384", 04) whose certificate is
    /// labelled differently, and the root certificate ("root", 10); token [`TOKEN2_LABEL`]
    /// with the office RSA key and certificate only. PINs [`USER_PIN`] / [`SO_PIN`].
    ///
    /// Returns `None` when `softhsm2-util`, `pkcs11-tool` (package `opensc`) or the module
    /// are missing (Debian: `apt-get install softhsm2 opensc`).
    pub fn softhsm_token(&self, dir: &Path) -> Option<Token> {
        let module = softhsm_module()?;
        let available = |tool: &str| {
            Command::new(tool)
                .arg("--help")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok()
        };
        if !available("softhsm2-util") || !available("pkcs11-tool") {
            return None;
        }
        fs::create_dir_all(dir.join("tokens")).expect("create token dir");
        let dir = dir.canonicalize().expect("canonical token dir");
        let conf = dir.join("softhsm2.conf");
        fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n\
                 slots.removable = false\n",
                dir.join("tokens").display()
            ),
        )
        .unwrap();
        let util = || {
            let mut cmd = Command::new("softhsm2-util");
            cmd.env("SOFTHSM2_CONF", &conf);
            cmd
        };
        let tool = |token: &str| {
            let mut cmd = Command::new("pkcs11-tool");
            cmd.env("SOFTHSM2_CONF", &conf)
                .arg("--module")
                .arg(&module)
                .args(["--token-label", token, "--login", "--pin", USER_PIN]);
            cmd
        };
        let import_key = |token: &str, key: &Path, label: &str, id: &str| {
            run(util().arg("--import").arg(key).args([
                "--token", token, "--label", label, "--id", id, "--pin", USER_PIN,
            ]));
        };
        let write_cert = |token: &str, cert_der: &Path, label: &str, id: &str| {
            run(tool(token)
                .arg("--write-object")
                .arg(cert_der)
                .args(["--type", "cert", "--label", label, "--id", id]));
        };

        for label in [TOKEN_LABEL, TOKEN2_LABEL] {
            run(util().args([
                "--init-token",
                "--free",
                "--label",
                label,
                "--so-pin",
                SO_PIN,
                "--pin",
                USER_PIN,
            ]));
        }
        let t = TOKEN_LABEL;
        import_key(t, &self.office_rsa.key_pem, "office", "01");
        write_cert(t, &self.office_rsa.cert_der, "office", "01");
        import_key(t, &self.office_ec.key_pem, "office-ec", "02");
        write_cert(t, &self.office_ec.cert_der, "office-ec", "02");
        import_key(t, &self.mismatch.key_pem, "mismatch", "03");
        write_cert(t, &self.mismatch.cert_der, "mismatch", "03");
        import_key(t, &self.office_p384.key_pem, "office-p384", "04");
        write_cert(t, &self.office_p384.cert_der, "Lê Văn Cường", "04");
        write_cert(t, &self.root_der, "root", "10");
        import_key(TOKEN2_LABEL, &self.office_rsa.key_pem, "office", "01");
        write_cert(TOKEN2_LABEL, &self.office_rsa.cert_der, "office", "01");

        Some(Token {
            module,
            conf,
            label: TOKEN_LABEL.into(),
            label2: TOKEN2_LABEL.into(),
            user_pin: USER_PIN.into(),
            so_pin: SO_PIN.into(),
            rsa_key: "office".into(),
            ec_key: "office-ec".into(),
            mismatch_key: "mismatch".into(),
            by_id_key: "office-p384".into(),
        })
    }
}

/// Where Debian and others install the SoftHSM2 module.
fn softhsm_module() -> Option<PathBuf> {
    [
        "/usr/lib/softhsm/libsofthsm2.so",
        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/local/lib/softhsm/libsofthsm2.so",
        "/usr/lib64/pkcs11/libsofthsm2.so",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// `NAME.key.pem` (PKCS#8) and `NAME.trad.pem` (PKCS#1) for a new RSA key.
fn gen_rsa(dir: &Path, name: &str, bits: u32) {
    run(openssl(dir).args([
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        &format!("rsa_keygen_bits:{bits}"),
        "-out",
        &format!("{name}.key.pem"),
    ]));
    run(openssl(dir).args([
        "rsa",
        "-in",
        &format!("{name}.key.pem"),
        "-traditional",
        "-out",
        &format!("{name}.trad.pem"),
    ]));
}

/// `NAME.key.pem` (PKCS#8) and `NAME.trad.pem` (SEC1) for a new EC key on `curve`.
fn gen_ec(dir: &Path, name: &str, curve: &str) {
    run(openssl(dir).args([
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        &format!("ec_paramgen_curve:{curve}"),
        "-pkeyopt",
        "ec_param_enc:named_curve",
        "-out",
        &format!("{name}.key.pem"),
    ]));
    run(openssl(dir).args([
        "ec",
        "-in",
        &format!("{name}.key.pem"),
        "-out",
        &format!("{name}.trad.pem"),
    ]));
}

/// Issues `NAME.pem` (and `NAME.der`) for `NAME.key.pem`, signed by the root, with the
/// extension section `ext`; validity one year from now, or `dates` (start, end) as
/// `YYYYMMDDHHMMSSZ`.
fn issue(dir: &Path, name: &str, subject: &str, ext: &str, dates: Option<(&str, &str)>) {
    issue_with(dir, name, subject, &["-extensions", ext], dates);
}

/// [`issue`] with extension arguments of `openssl ca` (`-extensions`, `-extfile`).
fn issue_with(
    dir: &Path,
    name: &str,
    subject: &str,
    extensions: &[&str],
    dates: Option<(&str, &str)>,
) {
    run(openssl(dir).args([
        "req",
        "-config",
        "openssl.cnf",
        "-new",
        "-utf8",
        "-key",
        &format!("{name}.key.pem"),
        "-subj",
        subject,
        "-out",
        &format!("{name}.csr"),
    ]));
    let mut cmd = openssl(dir);
    cmd.args([
        "ca",
        "-batch",
        "-config",
        "openssl.cnf",
        "-utf8",
        "-preserveDN",
        "-notext",
        "-cert",
        "root.pem",
        "-keyfile",
        "root.key.pem",
        "-in",
        &format!("{name}.csr"),
        "-out",
        &format!("{name}.pem"),
    ]);
    cmd.args(extensions);
    match dates {
        Some(("", "")) => &mut cmd, // the validity is among `extensions`
        Some((start, end)) => cmd.args(["-startdate", start, "-enddate", end]),
        None => cmd.args(["-days", "365"]),
    };
    run(&mut cmd);
    to_der(dir, name);
}

fn to_der(dir: &Path, name: &str) {
    run(openssl(dir).args([
        "x509",
        "-in",
        &format!("{name}.pem"),
        "-outform",
        "DER",
        "-out",
        &format!("{name}.der"),
    ]));
}

fn identity(dir: &Path, cert: &str, key: &str) -> Identity {
    Identity {
        cert_pem: dir.join(format!("{cert}.pem")),
        cert_der: dir.join(format!("{cert}.der")),
        key_pem: dir.join(format!("{key}.key.pem")),
        key_traditional_pem: dir.join(format!("{key}.trad.pem")),
    }
}
