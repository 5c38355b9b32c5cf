//! Verifying what other systems sign: a corpus of PDFs signed by independent tools
//! (pyHanko, and `openssl cms -sign` placed by `tests/tools/hand_sign.py`), never by
//! sohoa, each with its expected verdict written next to it; `sohoa verify --json` runs
//! on each and pyHanko's validator on the same files in the same run, and the agreement
//! table is printed.

use crate::common::pki::Pki;
use crate::common::run;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// A one-page PDF written by hand (classic xref; catalog 1, page 3), not by sohoa.
fn hand_written_pdf(path: &Path) {
    write_pdf(path, false);
}

/// The same page with a text field "Ten" (name) to fill in.
fn hand_written_form(path: &Path) {
    write_pdf(path, true);
}

fn write_pdf(path: &Path, form: bool) {
    let stream = b"BT /F1 24 Tf 72 720 Td (Giay khai sinh - ban chinh) Tj ET";
    let (acroform, annots) = if form {
        (" /AcroForm << /Fields [6 0 R] >>", " /Annots [6 0 R]")
    } else {
        ("", "")
    };
    let mut objects: Vec<Vec<u8>> = vec![
        format!("<< /Type /Catalog /Pages 2 0 R{acroform} >>").into_bytes(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
             /Resources << /Font << /F1 5 0 R >> >>{annots} >>"
        )
        .into_bytes(),
        [
            format!("<< /Length {} >>\nstream\n", stream.len()).as_bytes(),
            stream,
            b"\nendstream",
        ]
        .concat(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
    ];
    if form {
        objects.push(
            b"<< /FT /Tx /T (Ten) /Type /Annot /Subtype /Widget /Rect [72 600 300 620] /P 3 0 R >>"
                .to_vec(),
        );
    }
    let mut pdf = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend(format!("{} 0 obj\n", i + 1).as_bytes());
        pdf.extend(body);
        pdf.extend(b"\nendobj\n");
    }
    let xref = pdf.len();
    pdf.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        pdf.extend(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    std::fs::write(path, pdf).unwrap();
}

fn ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `tests/tools/hand_sign.py`: `openssl cms -sign` placed in an incremental update.
fn hand_sign(input: &Path, output: &Path, pki: &Pki, sub_filter: &str, attrs: &str, digest: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/hand_sign.py");
    ok(&run(Command::new("python3")
        .arg(script)
        .arg(input)
        .arg(output)
        .arg(&pki.office_rsa.cert_pem)
        .arg(&pki.office_rsa.key_pem)
        .args([sub_filter, attrs, digest])));
}

/// A signer certificate for a key of `algorithm` (`ed25519`, `ed448`), issued by the
/// test root with `openssl`: (certificate, key).
fn edwards_signer(pki: &Pki, algorithm: &str) -> (PathBuf, PathBuf) {
    let dir = pki.dir.join(algorithm);
    std::fs::create_dir_all(&dir).unwrap();
    let (key, csr, cert, ext) = (
        dir.join("key.pem"),
        dir.join("req.csr"),
        dir.join("cert.pem"),
        dir.join("ext.cnf"),
    );
    std::fs::write(&ext, "keyUsage=critical,digitalSignature,nonRepudiation\n").unwrap();
    ok(&run(Command::new("openssl")
        .args(["genpkey", "-algorithm", algorithm, "-out"])
        .arg(&key)));
    ok(&run(Command::new("openssl")
        .args([
            "req",
            "-new",
            "-subj",
            &format!("/CN=Other agency ({algorithm})"),
            "-key",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&csr)));
    ok(&run(Command::new("openssl")
        .args(["x509", "-req", "-days", "30", "-CAcreateserial", "-in"])
        .arg(&csr)
        .arg("-CA")
        .arg(&pki.root_pem)
        .arg("-CAkey")
        .arg(&pki.root_key_pem)
        .arg("-extfile")
        .arg(&ext)
        .arg("-out")
        .arg(&cert)));
    (cert, key)
}

fn pyhanko_sign(input: &Path, output: &Path, pki: &Pki, pades: bool) {
    pyhanko_sign_with(
        input,
        output,
        &pki.office_rsa.cert_pem,
        &pki.office_rsa.key_pem,
        pades,
    );
}

fn pyhanko_sign_with(input: &Path, output: &Path, cert: &Path, key: &Path, pades: bool) {
    let mut cmd = Command::new("pyhanko");
    cmd.args(["sign", "addsig", "--field", "Sig1"]);
    if pades {
        cmd.arg("--use-pades");
    }
    cmd.args(["pemder", "--key"])
        .arg(key)
        .arg("--cert")
        .arg(cert)
        .arg("--no-pass")
        .arg(input)
        .arg(output);
    ok(&run(&mut cmd));
}

/// `tests/tools/pyhanko_cases.py MODE ARGS…` (pyHanko's library, for modes its command line
/// lacks).
fn pyhanko_case(mode: &str, args: &[&std::ffi::OsStr]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/pyhanko_cases.py");
    ok(&run(Command::new("python3")
        .arg(script)
        .arg(mode)
        .args(args)));
}

/// sohoa's verdict: (outcome, exit status, report).
fn sohoa(pdf: &Path, trust: Option<&Path>) -> (String, i32, Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sohoa"));
    cmd.arg("verify").arg(pdf).arg("--json");
    if let Some(root) = trust {
        cmd.arg("--trust").arg(root);
    }
    let out = run(&mut cmd);
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("verify --json: {}", String::from_utf8_lossy(&out.stdout)));
    (
        report["outcome"].as_str().unwrap().to_string(),
        out.status.code().unwrap_or(-1),
        report,
    )
}

/// pyHanko's verdict: whether it judges every signature intact and trusted.
fn pyhanko_accepts(pdf: &Path, root: &Path) -> bool {
    let out = run(Command::new("pyhanko")
        .args(["sign", "validate", "--trust"])
        .arg(root)
        .arg(pdf));
    let text = String::from_utf8_lossy(&out.stdout);
    out.status.success() && text.contains("INTACT:TRUSTED")
}

/// One file of the corpus and what it must give.
struct Case {
    name: &'static str,
    file: PathBuf,
    /// sohoa's expected outcome with the root trusted.
    expected: &'static str,
    /// A word the report must contain (the reason), when it is not valid.
    reason: &'static str,
    /// Whether pyHanko is expected to agree with the verdict (a documented difference
    /// otherwise).
    pyhanko_agrees: bool,
}

#[test]
fn signatures_made_by_other_tools_get_the_verdict_pyhanko_gives() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pki = Pki::create(&dir.join("pki"));
    let root = pki.root_pem.clone();
    let plain = dir.join("plain.pdf");
    hand_written_pdf(&plain);
    let file = |name: &str| dir.join(format!("{name}.pdf"));

    pyhanko_sign(&plain, &file("pyhanko-adbe"), &pki, false);
    pyhanko_sign(&plain, &file("pyhanko-pades"), &pki, true);
    hand_sign(
        &plain,
        &file("pkcs7-noattr"),
        &pki,
        "adbe.pkcs7.detached",
        "noattr",
        "sha256",
    );
    hand_sign(
        &plain,
        &file("pkcs7-attrs"),
        &pki,
        "adbe.pkcs7.detached",
        "attrs",
        "sha256",
    );
    hand_sign(
        &plain,
        &file("pkcs7-sha1"),
        &pki,
        "adbe.pkcs7.detached",
        "attrs",
        "sha1",
    );
    hand_sign(
        &plain,
        &file("cades-no-ess"),
        &pki,
        "ETSI.CAdES.detached",
        "attrs",
        "sha256",
    );
    hand_sign(
        &plain,
        &file("unknown-subfilter"),
        &pki,
        "adbe.x509.rsa_sha1",
        "attrs",
        "sha256",
    );
    let (cert, key) = edwards_signer(&pki, "ed25519");
    pyhanko_sign_with(&plain, &file("pyhanko-ed25519"), &cert, &key, true);
    let (cert, key) = edwards_signer(&pki, "ed448");
    pyhanko_sign_with(&plain, &file("pyhanko-ed448"), &cert, &key, true);
    // A byte of the signed page content changed after signing (same length).
    let mut tampered = std::fs::read(file("pkcs7-noattr")).unwrap();
    let at = tampered.windows(6).position(|w| w == b"chinh)").unwrap();
    tampered[at] = b'C';
    std::fs::write(file("pkcs7-noattr-tampered"), tampered).unwrap();
    // pyHanko's library: a document timestamp after a PAdES signature, from a real TSA;
    // two signatures with a form field filled in between; a file encrypted with an empty
    // user password (readable by anyone), then signed.
    let tsa = crate::common::services::Service::tsa(
        &pki.tsa.cert_pem,
        &pki.tsa.key_pem,
        &pki.root_pem,
        &[],
    );
    let tsa_url = std::ffi::OsString::from(&tsa.url);
    pyhanko_case(
        "doc-timestamp",
        &[
            file("pyhanko-pades").as_os_str(),
            file("pyhanko-doc-timestamp").as_os_str(),
            &tsa_url,
        ],
    );
    let form = dir.join("form.pdf");
    hand_written_form(&form);
    let key_args = |input: &Path, output: &Path| -> Vec<std::ffi::OsString> {
        [
            input,
            output,
            &pki.office_rsa.cert_pem,
            &pki.office_rsa.key_pem,
            &pki.root_pem,
        ]
        .iter()
        .map(|p| p.as_os_str().to_owned())
        .collect()
    };
    let fill = key_args(&form, &file("pyhanko-fill-between"));
    pyhanko_case(
        "fill-between",
        &fill.iter().map(|a| a.as_os_str()).collect::<Vec<_>>(),
    );
    let open_encrypted = dir.join("open-encrypted.pdf");
    ok(&run(Command::new("qpdf")
        .args(["--encrypt", "", "owner-secret", "256", "--"])
        .arg(&plain)
        .arg(&open_encrypted)));
    let enc = key_args(&open_encrypted, &file("pyhanko-empty-password"));
    pyhanko_case(
        "sign-encrypted",
        &enc.iter().map(|a| a.as_os_str()).collect::<Vec<_>>(),
    );
    // The legacy adbe.pkcs7.sha1 form: the SHA-1 of the byte range as signed content.
    hand_sign(
        &plain,
        &file("adbe-sha1"),
        &pki,
        "adbe.pkcs7.sha1",
        "attrs",
        "sha1",
    );
    // Encrypted with a user password (qpdf).
    ok(&run(Command::new("qpdf")
        .args(["--encrypt", "mat-khau", "owner", "256", "--"])
        .arg(file("pyhanko-adbe"))
        .arg(file("encrypted"))));

    let cases = [
        Case {
            name: "pyhanko-adbe",
            file: file("pyhanko-adbe"),
            expected: "trusted",
            reason: "",
            pyhanko_agrees: true,
        },
        Case {
            name: "pyhanko-pades",
            file: file("pyhanko-pades"),
            expected: "trusted",
            reason: "",
            pyhanko_agrees: true,
        },
        Case {
            name: "pyhanko-ed25519",
            file: file("pyhanko-ed25519"),
            expected: "trusted",
            reason: "",
            pyhanko_agrees: true,
        },
        // ring has no Ed448: reported as unsupported, never as tampering.
        Case {
            name: "pyhanko-ed448",
            file: file("pyhanko-ed448"),
            expected: "invalid",
            reason: "unsupported signature algorithm Ed448",
            pyhanko_agrees: false,
        },
        Case {
            name: "pkcs7-noattr",
            file: file("pkcs7-noattr"),
            expected: "trusted",
            reason: "",
            pyhanko_agrees: true,
        },
        Case {
            name: "pkcs7-attrs",
            file: file("pkcs7-attrs"),
            expected: "trusted",
            reason: "",
            pyhanko_agrees: true,
        },
        Case {
            name: "pkcs7-sha1",
            file: file("pkcs7-sha1"),
            expected: "invalid",
            reason: "SHA-1",
            pyhanko_agrees: true,
        },
        Case {
            name: "pkcs7-noattr-tampered",
            file: file("pkcs7-noattr-tampered"),
            expected: "invalid",
            reason: "does not verify",
            pyhanko_agrees: true,
        },
        Case {
            name: "unknown-subfilter",
            file: file("unknown-subfilter"),
            expected: "invalid",
            reason: "unsupported signature format",
            pyhanko_agrees: true,
        },
        // PAdES (ETSI EN 319 142-1) requires signingCertificateV2; pyHanko does not.
        Case {
            name: "cades-no-ess",
            file: file("cades-no-ess"),
            expected: "invalid",
            reason: "signingCertificateV2",
            pyhanko_agrees: false,
        },
        Case {
            name: "pyhanko-doc-timestamp",
            file: file("pyhanko-doc-timestamp"),
            expected: "trusted",
            reason: "",
            pyhanko_agrees: true,
        },
        Case {
            name: "pyhanko-fill-between",
            file: file("pyhanko-fill-between"),
            expected: "trusted",
            reason: "",
            pyhanko_agrees: true,
        },
        Case {
            name: "pyhanko-empty-password",
            file: file("pyhanko-empty-password"),
            expected: "trusted",
            reason: "",
            pyhanko_agrees: true,
        },
        // Verified (intact), reported weak, never valid; pyHanko skips this sub-filter.
        Case {
            name: "adbe-sha1",
            file: file("adbe-sha1"),
            expected: "invalid",
            reason: "SHA-1 was used",
            pyhanko_agrees: true,
        },
        Case {
            name: "encrypted",
            file: file("encrypted"),
            expected: "invalid",
            reason: "encrypted",
            pyhanko_agrees: true,
        },
    ];
    let mut table = String::from("| file | sohoa | pyHanko | agree |\n|---|---|---|---|\n");
    for case in &cases {
        let (outcome, status, report) = sohoa(&case.file, Some(&root));
        assert_eq!(outcome, case.expected, "{}: {report:#}", case.name);
        assert_eq!(
            status,
            if case.expected == "trusted" { 0 } else { 1 },
            "{}: exit status",
            case.name
        );
        if !case.reason.is_empty() {
            assert!(
                report.to_string().contains(case.reason),
                "{}: {report:#}",
                case.name
            );
            assert!(
                !(report.to_string().contains("changed after signing")
                    || report.to_string().contains("do not match"))
                    || case.name.ends_with("tampered"),
                "{}: an unsupported or weak algorithm is not tampering: {report:#}",
                case.name
            );
        }
        let pyhanko = pyhanko_accepts(&case.file, &root);
        let agree = pyhanko == (case.expected == "trusted");
        assert_eq!(
            agree, case.pyhanko_agrees,
            "{}: pyHanko {pyhanko}, sohoa {outcome}",
            case.name
        );
        table.push_str(&format!(
            "| {} | {outcome} | {} | {} |\n",
            case.name,
            if pyhanko { "accepts" } else { "rejects" },
            if agree { "yes" } else { "no (documented)" }
        ));
    }
    eprintln!("{table}");

    // What the verdicts rest on: the form filling is an allowed change for the first
    // signature, the document timestamp is checked as a token, the SHA-1 one is intact.
    let (_, _, report) = sohoa(&file("pyhanko-fill-between"), Some(&root));
    assert_eq!(
        report["signatures"][0]["modifications"], "allowed",
        "{report:#}"
    );
    assert!(
        report.to_string().contains("a form field filled in"),
        "{report:#}"
    );
    let (_, _, report) = sohoa(&file("pyhanko-doc-timestamp"), Some(&root));
    let kinds: Vec<&str> = report["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["signature", "document_timestamp"], "{report:#}");
    let (_, _, report) = sohoa(&file("pyhanko-ed448"), Some(&root));
    assert!(report.to_string().contains("SHAKE256"), "{report:#}");
    let (_, _, report) = sohoa(&file("adbe-sha1"), Some(&root));
    assert_eq!(
        report["signatures"][0]["cryptographically_valid"], true,
        "{report:#}"
    );

    // Three outcomes: without a trust anchor an intact signature is "untrusted", exit 3,
    // with its own message; tampering stays invalid, exit 1.
    let (outcome, status, report) = sohoa(&file("pkcs7-attrs"), None);
    assert_eq!((outcome.as_str(), status), ("untrusted", 3), "{report:#}");
    assert_eq!(report["valid"], true);
    assert_eq!(report["trusted"], false);
    assert!(report["message_vi"]
        .as_str()
        .unwrap()
        .contains("CHƯA xác định"));
    let (outcome, status, _) = sohoa(&file("pkcs7-noattr-tampered"), None);
    assert_eq!((outcome.as_str(), status), ("invalid", 1));
    // Anchors from ./sohoa.toml count like --trust.
    std::fs::write(
        dir.join("sohoa.toml"),
        format!("[verify]\ntrust = [{:?}]\n", root.to_str().unwrap()),
    )
    .unwrap();
    let out = run(Command::new(env!("CARGO_BIN_EXE_sohoa"))
        .current_dir(dir)
        .arg("verify")
        .arg(file("pkcs7-attrs")));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Any flag of `sohoa NAME` may be set under [NAME]; a flag on the command line wins;
    // `sohoa config check` names unknown keys and bad values.
    let sohoa_in = |args: &[&str]| {
        run(Command::new(env!("CARGO_BIN_EXE_sohoa"))
            .current_dir(dir)
            .args(args))
    };
    std::fs::write(
        dir.join("sohoa.toml"),
        format!(
            "store = \"kho\"\n[verify]\ntrust = [{:?}]\njson = true\n[serve]\nmax_connections = 9\n",
            root.to_str().unwrap()
        ),
    )
    .unwrap();
    let pdf = file("pkcs7-attrs");
    let out = sohoa_in(&["verify", pdf.to_str().unwrap()]);
    let json: Value = serde_json::from_slice(&out.stdout).expect("json = true acts as --json");
    assert_eq!(json["outcome"], "trusted");
    let out = sohoa_in(&["config", "check"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK"));
    std::fs::write(
        dir.join("sohoa.toml"),
        "[verify]\njsn = true\n[serve]\nmax_connections = \"many\"\n[nothing]\nx = 1\n",
    )
    .unwrap();
    let out = sohoa_in(&["config", "check"]);
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}");
    for needle in [
        "[verify] jsn",
        "[serve] max_connections",
        "nothing: unknown",
    ] {
        assert!(report.contains(needle), "{needle} in {report}");
    }
    let out = sohoa_in(&["verify", pdf.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("jsn: no such setting"), "{stderr}");
}
