//! The loopback services the signing tests talk to over real sockets: an RFC 3161
//! time-stamping authority, an OCSP responder and a CRL repository (`tests/services/*.py`, Python's
//! standard library around the `openssl` command). Each runs as a child process that
//! exits when the test process ends (its stdin is a pipe we hold) or on drop.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running service and its address.
pub struct Service {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    child: Child,
}

impl Service {
    /// Starts `tests/services/SCRIPT` with `args`; waits for its `listening on URL` line.
    pub fn start(script: &str, args: &[&std::ffi::OsStr]) -> Service {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/services")
            .join(script);
        let mut child = Command::new("python3")
            .arg(&path)
            .args(args)
            .arg("--exit-on-stdin-eof")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("{script} did not start: {line:?}"))
            .to_string();
        Service { url, child }
    }

    /// A time-stamping authority signing with `cert`/`key` (chain: `chain`).
    pub fn tsa(cert: &Path, key: &Path, chain: &Path, extra: &[&str]) -> Service {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "--cert".as_ref(),
            cert.as_os_str(),
            "--key".as_ref(),
            key.as_os_str(),
            "--chain".as_ref(),
            chain.as_os_str(),
        ];
        args.extend(extra.iter().map(|a| std::ffi::OsStr::new(*a)));
        Service::start("tsa.py", &args)
    }
}

impl Service {
    /// An OCSP responder answering from `index` (an `openssl ca` database) for `ca`,
    /// signing with the delegated `responder`.
    pub fn ocsp(index: &Path, ca: &Path, responder: &Path, key: &Path) -> Service {
        let args: Vec<&std::ffi::OsStr> = vec![
            "--index".as_ref(),
            index.as_os_str(),
            "--ca".as_ref(),
            ca.as_os_str(),
            "--rsigner".as_ref(),
            responder.as_os_str(),
            "--rkey".as_ref(),
            key.as_os_str(),
        ];
        Service::start("ocsp.py", &args)
    }
}

impl Service {
    /// A CRL repository issuing, on every GET, a fresh CRL from `index` (an `openssl ca`
    /// database) signed by `ca` with `key`.
    pub fn crl(index: &Path, ca: &Path, key: &Path) -> Service {
        let args: Vec<&std::ffi::OsStr> = vec![
            "--index".as_ref(),
            index.as_os_str(),
            "--ca".as_ref(),
            ca.as_os_str(),
            "--key".as_ref(),
            key.as_os_str(),
        ];
        Service::start("crl.py", &args)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
