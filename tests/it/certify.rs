//! Certified copies end to end: digitize → certify with each key source → checked by
//! `sohoa verify`, poppler's `pdfsig`, pyHanko and qpdf; tampering rejected; unsuitable
//! certificates refused with nothing written; concurrent clerks get gapless numbers.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::pki::{Pki, Token, P12_PASSWORD, USER_PIN};
use common::{pdftotext, run, sohoa};
use sha2::{Digest, Sha256};

struct Setup {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    pki: Pki,
    token: Token,
    /// A digitized one-page document and its ground truth.
    input: PathBuf,
    truth: String,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let pki = Pki::create(&dir.join("pki"));
        let token = pki
            .softhsm_token(&dir.join("hsm"))
            .expect("SoftHSM2 and OpenSC are installed (./dev test installs them)");
        let page = common::page_png(&dir, "page.png", 90, 8, 0.0);
        let input = dir.join("digitized.pdf");
        let out = run(sohoa().args(["digitize", "-o"]).arg(&input).arg(&page.path));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Setup {
            _dir: tmp,
            dir,
            pki,
            token,
            input,
            truth: page.truth,
        }
    })
}

/// `sohoa certify` of the shared input into `name`, with `key_args`, in register `register`.
fn certify(
    name: &str,
    register: &str,
    key_args: &[&std::ffi::OsStr],
) -> (Output, PathBuf, PathBuf) {
    let s = setup();
    let (out, report) = (s.dir.join(name), s.dir.join(format!("{name}.json")));
    let mut cmd = sohoa();
    cmd.arg("certify")
        .arg(&s.input)
        .arg("-o")
        .arg(&out)
        .args([
            "--certifier",
            "Nguyễn Văn An",
            "--agency",
            "UBND xã Thử Nghiệm, huyện Tam Đường, tỉnh Lai Châu",
        ])
        .arg("--register")
        .arg(common::register_arg(&s.dir.join(register)))
        .arg("--report")
        .arg(&report)
        .args(key_args)
        .env("P12_PASSWORD", P12_PASSWORD)
        .env("TOKEN_PIN", USER_PIN);
    s.token.env(&mut cmd);
    (run(&mut cmd), out, report)
}

fn pem_args(id: &common::pki::Identity) -> Vec<&std::ffi::OsStr> {
    vec![
        "--cert".as_ref(),
        id.cert_pem.as_os_str(),
        "--key".as_ref(),
        id.key_pem.as_os_str(),
    ]
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sohoa_verify(pdf: &Path) -> (bool, serde_json::Value) {
    let root = &setup().pki.root_pem;
    let out = run(sohoa()
        .arg("verify")
        .arg(pdf)
        .arg("--trust")
        .arg(root)
        .arg("--json"));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("verify --json: {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(
        out.status.success(),
        json["valid"].as_bool().unwrap(),
        "exit code and verdict disagree"
    );
    (out.status.success(), json)
}

fn pdfsig(pdf: &Path) -> String {
    String::from_utf8_lossy(&run(Command::new("pdfsig").arg(pdf)).stdout).into_owned()
}

fn pyhanko(pdf: &Path) -> (bool, String) {
    let out = run(Command::new("pyhanko")
        .args(["sign", "validate", "--pretty-print", "--trust"])
        .arg(&setup().pki.root_pem)
        .arg(pdf));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Every independent validator accepts `pdf`.
/// `pyhanko sign adesverify --trust ROOT PDF`: (success, stdout, stderr).
fn adesverify(pdf: &Path) -> (bool, String, String) {
    let out = run(Command::new("pyhanko")
        .args(["sign", "adesverify", "--trust"])
        .arg(&setup().pki.root_pem)
        .arg(pdf));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_valid_everywhere(pdf: &Path, with_pyhanko: bool) {
    let (valid, json) = sohoa_verify(pdf);
    assert!(valid, "sohoa verify: {json:#}");
    let sig = &json["signatures"][0];
    assert_eq!(sig["covers_whole_document"], true);
    assert_eq!(sig["chain_trusted"], true);
    assert_eq!(sig["modified_after_signing"], false);
    let poppler = pdfsig(pdf);
    assert!(
        poppler.contains("Signature is Valid") && poppler.contains("Total document signed"),
        "pdfsig: {poppler}"
    );
    assert!(poppler.contains("ETSI.CAdES.detached"), "pdfsig: {poppler}");
    if with_pyhanko {
        let (ok, text) = pyhanko(pdf);
        assert!(
            ok && text.contains("judged VALID") && text.contains("is trusted"),
            "pyHanko: {text}"
        );
    }
    common::assert_qpdf_check(pdf);
}

#[test]
fn pem_rsa_pss_copy_is_valid_for_every_validator_and_keeps_the_text() {
    let s = setup();
    let (out, pdf, report) = certify("pss.pdf", "reg-pss", &pem_args(&s.pki.office_rsa));
    assert_ok(&out);
    assert_valid_everywhere(&pdf, true);
    let (_, json) = sohoa_verify(&pdf);
    assert_eq!(
        json["signatures"][0]["algorithm"],
        "RSASSA-PSS with SHA-256"
    );
    assert!(json["message_vi"].as_str().unwrap().contains("hợp lệ"));

    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(report["number"], 1);
    assert!(report["book"].as_str().unwrap().starts_with("01/"));
    assert!(report["signer"].as_str().unwrap().contains("Nguyễn Văn An"));
    assert_eq!(
        report["sha256"].as_str().unwrap(),
        hex::encode(Sha256::digest(std::fs::read(&pdf).unwrap()))
    );
    assert!(report["date"].is_string());

    let text = pdftotext(&pdf, 1);
    let original = sohoa_fixtures::normalize(&pdftotext(&s.input, 1));
    assert!(common::cer(&original, &s.truth) < 0.02);
    assert!(
        sohoa_fixtures::normalize(&text).contains(&original),
        "OCR text changed by certification: {text}"
    );
    for expected in [
        "CHỨNG THỰC BẢN SAO ĐIỆN TỬ",
        "ĐÚNG VỚI BẢN CHÍNH",
        "Số chứng thực: 1",
        "Người chứng thực: Nguyễn Văn An",
    ] {
        assert!(
            text.contains(expected),
            "statement missing '{expected}': {text}"
        );
    }
    // Still PDF/A: the original's XMP identification is kept.
    let meta = String::from_utf8_lossy(&run(Command::new("pdfinfo").arg("-meta").arg(&pdf)).stdout)
        .into_owned();
    assert!(meta.contains("<pdfaid:part>2</pdfaid:part>"));
}

#[test]
fn every_key_source_and_scheme_produces_a_valid_copy() {
    let s = setup();
    let p12 = |file: &Path| -> Vec<std::ffi::OsString> {
        vec![
            "--p12".into(),
            file.as_os_str().to_owned(),
            "--password-env".into(),
            "P12_PASSWORD".into(),
        ]
    };
    let token = |key: &str| -> Vec<std::ffi::OsString> {
        vec![
            "--pkcs11".into(),
            s.token.module.as_os_str().to_owned(),
            "--token-label".into(),
            s.token.label.clone().into(),
            "--key-label".into(),
            key.into(),
            "--pin-env".into(),
            "TOKEN_PIN".into(),
        ]
    };
    let mut pkcs1 = pem_args(&s.pki.office_rsa)
        .into_iter()
        .map(|a| a.to_owned())
        .collect::<Vec<_>>();
    pkcs1.extend(["--rsa-padding".into(), "pkcs1".into()]);
    let cases: Vec<(&str, Vec<std::ffi::OsString>, &str)> = vec![
        ("pkcs1.pdf", pkcs1, "PKCS#1"),
        (
            "ec.pdf",
            pem_args(&s.pki.office_ec)
                .into_iter()
                .map(|a| a.to_owned())
                .collect(),
            "ECDSA",
        ),
        (
            "p384.pdf",
            pem_args(&s.pki.office_p384)
                .into_iter()
                .map(|a| a.to_owned())
                .collect(),
            "ECDSA",
        ),
        ("p12.pdf", p12(&s.pki.p12_modern), "PSS"),
        ("p12-legacy.pdf", p12(&s.pki.p12_legacy), "PSS"),
        ("token-rsa.pdf", token(&s.token.rsa_key), "PSS"),
        ("token-ec.pdf", token(&s.token.ec_key), "ECDSA"),
    ];
    for (i, (name, args, algorithm)) in cases.iter().enumerate() {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        let (out, pdf, _) = certify(name, "reg-sources", &args);
        assert_ok(&out);
        assert_valid_everywhere(&pdf, i % 3 == 0);
        let (_, json) = sohoa_verify(&pdf);
        assert!(
            json["signatures"][0]["algorithm"]
                .as_str()
                .unwrap()
                .contains(algorithm),
            "{name}: {json:#}"
        );
    }
}

/// Appends an incremental update that replaces the page's content with other text.
/// pyHanko adds a second PAdES signature (`field`: a name for an invisible field, or
/// `PAGE/X1,Y1,X2,Y2/NAME` for a visible one) to `input`.
fn pyhanko_second_signature(input: &Path, field: &str, output: &Path) {
    let office = &setup().pki.office_rsa;
    let out = run(Command::new("pyhanko")
        .args([
            "sign",
            "addsig",
            "--field",
            field,
            "--use-pades",
            "pemder",
            "--key",
        ])
        .arg(&office.key_pem)
        .arg("--cert")
        .arg(&office.cert_pem)
        .arg("--no-pass")
        .arg(input)
        .arg(output));
    assert_ok(&out);
}

#[test]
fn a_second_signature_keeps_the_certification_valid() {
    let s = setup();
    let (out, pdf, _) = certify("twice.pdf", "reg-twice", &pem_args(&s.pki.office_rsa));
    assert_ok(&out);
    assert_eq!(
        docmdp_permission(&pdf),
        Some(2),
        "a certification signature"
    );

    // An invisible second signature: allowed by the DocMDP permission (2).
    let second = s.dir.join("twice-signed.pdf");
    pyhanko_second_signature(&pdf, "Sig2", &second);
    let (valid, json) = sohoa_verify(&second);
    assert!(valid, "sohoa verify: {json:#}");
    let first = &json["signatures"][0];
    assert_eq!(first["modified_after_signing"], true);
    assert_eq!(first["modifications"], "allowed", "{json:#}");
    assert_eq!(json["signatures"][1]["modifications"], "none");
    assert_eq!(json["signatures"].as_array().unwrap().len(), 2);
    let poppler = pdfsig(&second);
    assert_eq!(
        poppler.matches("Signature is Valid").count(),
        2,
        "pdfsig: {poppler}"
    );
    let (ok, text) = pyhanko(&second);
    assert!(ok && !text.contains("INVALID"), "pyHanko: {text}");

    // sohoa's own `sign` adds the office's organisation signature the same way.
    let ours = s.dir.join("twice-sohoa.pdf");
    let ec = &s.pki.office_ec;
    let out = run(sohoa()
        .arg("sign")
        .arg(&pdf)
        .arg("-o")
        .arg(&ours)
        .arg("--cert")
        .arg(&ec.cert_pem)
        .arg("--key")
        .arg(&ec.key_pem)
        .args(["--location", "UBND xã Thử Nghiệm"]));
    assert_ok(&out);
    let (valid, json) = sohoa_verify(&ours);
    assert!(valid, "sohoa verify: {json:#}");
    assert_eq!(json["signatures"][0]["modifications"], "allowed");
    assert!(json["signatures"][1]["signer"]
        .as_str()
        .unwrap()
        .contains("Trần Thị Bình"));
    let poppler = pdfsig(&ours);
    assert_eq!(
        poppler.matches("Signature is Valid").count(),
        2,
        "pdfsig: {poppler}"
    );
    let (ok, text) = pyhanko(&ours);
    assert!(ok && !text.contains("INVALID"), "pyHanko: {text}");

    // A visible one could cover the certified page: sohoa and pyHanko both refuse it.
    let visible = s.dir.join("twice-visible.pdf");
    pyhanko_second_signature(&pdf, "1/40,40,200,90/Sig2", &visible);
    let (valid, json) = sohoa_verify(&visible);
    assert!(
        !valid,
        "visible field after certification accepted: {json:#}"
    );
    assert_eq!(json["signatures"][0]["modifications"], "disallowed");
    assert!(
        json["signatures"][0]["changes"][0]
            .as_str()
            .unwrap()
            .contains("visible signature field"),
        "{json:#}"
    );
    let (ok, text) = pyhanko(&visible);
    assert!(!ok || text.contains("INVALID"), "pyHanko: {text}");
}

/// The `/P` of the catalog's `/Perms /DocMDP` signature, read with lopdf.
fn docmdp_permission(pdf: &Path) -> Option<i64> {
    let doc = lopdf::Document::load(pdf).unwrap();
    let get = |d: &lopdf::Dictionary, k: &[u8]| -> Option<lopdf::Object> {
        let v = d.get(k).ok()?;
        Some(doc.dereference(v).ok()?.1.clone())
    };
    let perms = get(doc.catalog().ok()?, b"Perms")?;
    let signature = get(perms.as_dict().ok()?, b"DocMDP")?;
    let reference = get(signature.as_dict().ok()?, b"Reference")?;
    let reference = reference.as_array().ok()?.first()?.as_dict().ok()?.clone();
    let params = get(&reference, b"TransformParams")?;
    params.as_dict().ok()?.get(b"P").ok()?.as_i64().ok()
}

fn append_content_change(pdf: &[u8]) -> Vec<u8> {
    let doc = lopdf::Document::load_mem(pdf).unwrap();
    let page_id = doc.get_pages()[&1];
    let mut page = doc.get_dictionary(page_id).unwrap().clone();
    let content_id = doc.max_id + 1;
    page.set("Contents", lopdf::Object::Reference((content_id, 0)));
    let startxref = {
        let text = String::from_utf8_lossy(pdf);
        let at = text.rfind("startxref").unwrap();
        text[at + 9..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse::<usize>()
            .unwrap()
    };
    let mut out = pdf.to_vec();
    let content = b"BT /F0 12 Tf 100 700 Td (FORGED) Tj ET";
    let content_at = out.len();
    out.extend_from_slice(
        format!(
            "{content_id} 0 obj\n<< /Length {} >>\nstream\n",
            content.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(content);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    let page_at = out.len();
    out.extend_from_slice(format!("{} 0 obj\n", page_id.0).as_bytes());
    lopdf::Writer::write_object(&mut out, &lopdf::Object::Dictionary(page)).unwrap();
    out.extend_from_slice(b"\nendobj\n");
    let xref_at = out.len();
    let root = doc.trailer.get(b"Root").unwrap().as_reference().unwrap();
    out.extend_from_slice(
        format!(
            "xref\n{} 1\n{page_at:010} 00000 n\r\n{content_id} 1\n{content_at:010} 00000 n\r\ntrailer\n<< /Size {} /Root {} 0 R /Prev {startxref} >>\nstartxref\n{xref_at}\n%%EOF\n",
            page_id.0,
            content_id + 1,
            root.0
        )
        .as_bytes(),
    );
    out
}

#[test]
fn tampering_is_rejected() {
    let s = setup();
    let (out, pdf, _) = certify("original.pdf", "reg-tamper", &pem_args(&s.pki.office_rsa));
    assert_ok(&out);
    let bytes = std::fs::read(&pdf).unwrap();

    // One byte flipped inside the signed range (in the page image data).
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 3] ^= 0x01;
    let flipped_path = s.dir.join("flipped.pdf");
    std::fs::write(&flipped_path, &flipped).unwrap();
    let (valid, json) = sohoa_verify(&flipped_path);
    assert!(!valid, "flipped byte accepted: {json:#}");
    assert!(!pdfsig(&flipped_path).contains("Signature is Valid"));
    assert!(!pyhanko(&flipped_path).0, "pyHanko accepted a flipped byte");

    // An appended incremental update that changes the page content.
    let changed_path = s.dir.join("changed.pdf");
    std::fs::write(&changed_path, append_content_change(&bytes)).unwrap();
    common::assert_qpdf_check(&changed_path);
    let (valid, json) = sohoa_verify(&changed_path);
    assert!(!valid, "changed content accepted: {json:#}");
    assert_eq!(json["signatures"][0]["modified_after_signing"], true);
    assert_eq!(json["signatures"][0]["modifications"], "disallowed");
    assert!(json["message_vi"]
        .as_str()
        .unwrap()
        .contains("thay đổi sau khi ký"));
    assert!(pdfsig(&changed_path).contains("Not total document signed"));
    let (ok, text) = pyhanko(&changed_path);
    assert!(
        !ok || !text.contains("judged VALID"),
        "pyHanko accepted a content change: {text}"
    );

    // The signature of one copy pasted into another copy.
    let (out, other, _) = certify("other.pdf", "reg-tamper", &pem_args(&s.pki.office_rsa));
    assert_ok(&out);
    let mut other_bytes = std::fs::read(&other).unwrap();
    let contents = |b: &[u8]| {
        let at = b.windows(11).rposition(|w| w == b"/Contents <").unwrap() + 11;
        at..at + 2 * 16384
    };
    let (from, to) = (contents(&bytes), contents(&other_bytes));
    other_bytes[to].copy_from_slice(&bytes[from]);
    let pasted = s.dir.join("pasted.pdf");
    std::fs::write(&pasted, &other_bytes).unwrap();
    let (valid, json) = sohoa_verify(&pasted);
    assert!(
        !valid,
        "a signature from another document was accepted: {json:#}"
    );
    assert!(!pdfsig(&pasted).contains("Signature is Valid"));
}

#[test]
fn unsuitable_keys_are_refused_with_nothing_written_and_no_number_burned() {
    let s = setup();
    let register = "reg-refuse";
    let wrong_password: Vec<&std::ffi::OsStr> = vec![
        "--p12".as_ref(),
        s.pki.p12_modern.as_os_str(),
        "--password-env".as_ref(),
        "TOKEN_PIN".as_ref(),
    ];
    let mismatch = vec![
        "--cert".as_ref(),
        s.pki.mismatch.cert_pem.as_os_str(),
        "--key".as_ref(),
        s.pki.mismatch.key_pem.as_os_str(),
    ];
    let cases: Vec<(&str, Vec<&std::ffi::OsStr>, &str)> = vec![
        ("expired.pdf", pem_args(&s.pki.expired), "expired"),
        (
            "encipher.pdf",
            pem_args(&s.pki.key_encipherment),
            "key usage",
        ),
        ("mismatch.pdf", mismatch, "does not match"),
        ("password.pdf", wrong_password, "wrong password"),
    ];
    for (name, args, expected) in cases {
        let (out, pdf, report) = certify(name, register, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(
            stderr.to_lowercase().contains(expected),
            "{name}: expected '{expected}' in: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        assert!(!pdf.exists() && !report.exists(), "{name}: output written");
    }
    let (out, _, report) = certify("after.pdf", register, &pem_args(&s.pki.office_rsa));
    assert_ok(&out);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
    assert_eq!(
        report["number"], 1,
        "a refused certification burned a number"
    );
}

#[test]
fn concurrent_clerks_get_unique_gapless_numbers() {
    let s = setup();
    let register = s.dir.join("reg-concurrent");
    let clerks = 6;
    let children: Vec<_> = (0..clerks)
        .map(|i| {
            sohoa()
                .arg("certify")
                .arg(&s.input)
                .arg("-o")
                .arg(s.dir.join(format!("clerk{i}.pdf")))
                .args([
                    "--certifier",
                    &format!("Cán bộ {i}"),
                    "--agency",
                    "UBND xã Thử Nghiệm",
                ])
                .arg("--register")
                .arg(common::register_arg(&register))
                .arg("--report")
                .arg(s.dir.join(format!("clerk{i}.json")))
                .args(pem_args(&s.pki.office_ec))
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let mut numbers: Vec<u64> = (0..clerks)
        .map(|i| {
            let report: serde_json::Value = serde_json::from_slice(
                &std::fs::read(s.dir.join(format!("clerk{i}.json"))).unwrap(),
            )
            .unwrap();
            report["number"].as_u64().unwrap()
        })
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=clerks as u64).collect::<Vec<_>>());
    for i in 0..clerks {
        assert!(sohoa_verify(&s.dir.join(format!("clerk{i}.pdf"))).0);
    }
}

#[test]
fn verify_without_a_signature_or_with_garbage_fails_cleanly() {
    let s = setup();
    let (valid, json) = sohoa_verify(&s.input);
    assert!(!valid);
    assert!(json["signatures"].as_array().unwrap().is_empty());
    let junk = s.dir.join("junk.pdf");
    std::fs::write(&junk, b"%PDF-1.7 garbage").unwrap();
    let out = run(sohoa().arg("verify").arg(&junk));
    assert_eq!(out.status.code(), Some(1));
}

/// Word boxes of page `page` (1-based) as poppler's `pdftotext -bbox` finds them, in PDF
/// space (origin bottom left), and the page height.
fn word_boxes(pdf: &Path, page: usize) -> Vec<[f32; 4]> {
    let p = page.to_string();
    let out = run(Command::new("pdftotext")
        .args(["-bbox", "-f", &p, "-l", &p])
        .arg(pdf)
        .arg("-"));
    assert!(out.status.success());
    let html = String::from_utf8_lossy(&out.stdout);
    let attr = |tag: &str, name: &str| -> f32 {
        let at = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        tag[at..].split('"').next().unwrap().parse().unwrap()
    };
    let page_tag = html.split("<page ").nth(1).expect("a page");
    let height = attr(page_tag, "height");
    html.split("<word ")
        .skip(1)
        .map(|tag| {
            let (x0, y0) = (attr(tag, "xMin"), attr(tag, "yMin"));
            let (x1, y1) = (attr(tag, "xMax"), attr(tag, "yMax"));
            [x0, height - y1, x1, height - y0]
        })
        .collect()
}

/// The stamp widget's page (1-based) and rectangle, read with lopdf.
fn stamp_widget(pdf: &Path) -> (usize, [f32; 4], usize) {
    let doc = lopdf::Document::load(pdf).unwrap();
    let pages = doc.get_pages();
    for object in doc.objects.values() {
        let Ok(d) = object.as_dict() else { continue };
        if d.get(b"FT").and_then(|f| f.as_name()).ok() != Some(b"Sig") {
            continue;
        }
        let page_id = d.get(b"P").unwrap().as_reference().unwrap();
        let page = pages.iter().find(|(_, id)| **id == page_id).unwrap().0;
        let rect: Vec<f32> = d
            .get(b"Rect")
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_float().unwrap())
            .collect();
        return (*page as usize, rect.try_into().unwrap(), pages.len());
    }
    panic!("no signature widget in {}", pdf.display())
}

/// The `/Filter` names of the image XObjects in `pdf`.
fn image_filters(pdf: &Path) -> Vec<String> {
    let doc = lopdf::Document::load(pdf).unwrap();
    doc.objects
        .values()
        .filter_map(|o| o.as_stream().ok())
        .filter(|s| s.dict.get(b"Subtype").and_then(|t| t.as_name()).ok() == Some(b"Image"))
        .filter_map(|s| s.dict.get(b"Filter").and_then(|f| f.as_name()).ok())
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect()
}

/// A born-digital PDF of one `width`×`height` page with `lines` lines of Helvetica.
fn text_pdf(path: &Path, (width, height): (f32, f32), lines: usize) {
    use lopdf::{dictionary, Object, Stream};
    let mut doc = lopdf::Document::with_version("1.7");
    let pages = doc.new_object_id();
    let font = doc.add_object(
        dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica" },
    );
    let mut content = format!("BT /F1 10 Tf 13 TL 20 {} Td\n", height - 30.0);
    for i in 0..lines {
        content.push_str(&format!("(Line {i} of the original document text) Tj T*\n"));
    }
    content.push_str("ET");
    let contents = doc.add_object(Stream::new(dictionary! {}, content.into_bytes()));
    let page = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages, "Contents" => contents,
        "MediaBox" => vec![0.into(), 0.into(), Object::Real(width), Object::Real(height)],
        "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
    });
    doc.objects.insert(
        pages,
        Object::Dictionary(
            dictionary! { "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1 },
        ),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages });
    doc.trailer.set("Root", catalog);
    doc.save(path).unwrap();
}

/// Centre of the red seal of the `half-sealed` page, in 300-dpi pixels: low on the right,
/// where a half page's stamp would otherwise go.
const SEAL: (i64, i64) = (1900, 3150);

#[test]
fn the_stamp_never_covers_the_original() {
    let s = setup();
    let dir = s.dir.join("placement");
    std::fs::create_dir_all(&dir).unwrap();
    let digitized_as = |name: &str, lines: usize, quality: &str| {
        let page = common::page_png(&dir, &format!("{name}.png"), 11, lines, 0.0);
        let pdf = dir.join(format!("{name}.pdf"));
        assert_ok(&run(sohoa()
            .args(["digitize", "--quality", quality, "-o"])
            .arg(&pdf)
            .arg(&page.path)));
        pdf
    };
    let digitized = |name: &str, lines: usize| digitized_as(name, lines, "archive");
    // A bitonal page is stored as CCITT G4: its ink is read from the G4 data too.
    let bitonal = digitized_as("half-bitonal", 14, "compact");
    assert!(
        image_filters(&bitonal).contains(&"CCITTFaxDecode".to_string()),
        "{:?}",
        image_filters(&bitonal)
    );
    // A colour page (a red seal where a stamp would go) becomes mixed raster content:
    // its ink is read from the mask of the foreground layer, the seal included.
    let sealed = {
        let (image, _) = common::render(11, 14, 0.0);
        let mut page = image::DynamicImage::ImageLuma8(image).into_rgb8();
        for (x, y, p) in page.enumerate_pixels_mut() {
            let d = (x as i64 - SEAL.0).pow(2) + (y as i64 - SEAL.1).pow(2);
            if (170 * 170..200 * 200).contains(&d) {
                *p = image::Rgb([220, 30, 30]);
            }
        }
        page.save(dir.join("half-sealed.png")).unwrap();
        let pdf = dir.join("half-sealed.pdf");
        assert_ok(&run(sohoa()
            .args(["digitize", "--quality", "compact", "-o"])
            .arg(&pdf)
            .arg(dir.join("half-sealed.png"))));
        pdf
    };
    let mut filters = image_filters(&sealed);
    filters.sort();
    assert_eq!(filters, ["CCITTFaxDecode", "DCTDecode", "DCTDecode"]);
    let cases = [
        ("full", digitized("full", 44), true),
        ("half-sealed", sealed, false),
        ("half", digitized("half", 14), false),
        ("half-bitonal", bitonal, false),
        (
            "landscape",
            {
                let pdf = dir.join("landscape.pdf");
                text_pdf(&pdf, (842.0, 595.0), 20);
                pdf
            },
            false,
        ),
        (
            "tiny",
            {
                let pdf = dir.join("tiny.pdf");
                text_pdf(&pdf, (200.0, 120.0), 6);
                pdf
            },
            true,
        ),
    ];
    for (name, input, added) in cases {
        let out = dir.join(format!("{name}-certified.pdf"));
        let report = dir.join(format!("{name}.json"));
        let office = &s.pki.office_rsa;
        let result = run(sohoa()
            .arg("certify")
            .arg(&input)
            .arg("-o")
            .arg(&out)
            .args([
                "--certifier",
                "Nguyễn Văn An",
                "--agency",
                "UBND xã Thử Nghiệm",
            ])
            .arg("--register")
            .arg(dir.join("register"))
            .arg("--report")
            .arg(&report)
            .arg("--cert")
            .arg(&office.cert_pem)
            .arg("--key")
            .arg(&office.key_pem));
        assert_ok(&result);
        let (page, rect, pages) = stamp_widget(&out);
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        assert_eq!(json["stamp"]["added_page"], added, "{name}: {json:#}");
        assert_eq!(json["stamp"]["page"], page, "{name}");
        if added {
            assert_eq!(pages, 2, "{name}: a certification page is added");
            assert_eq!(page, 2);
            assert!(word_boxes(&input, 1).len() > 5);
        } else {
            assert_eq!(pages, 1);
            let words = word_boxes(&input, 1);
            assert!(words.len() > 20, "{name}: {} words", words.len());
            let covered: Vec<_> = words
                .iter()
                .filter(|w| w[0] < rect[2] && rect[0] < w[2] && w[1] < rect[3] && rect[1] < w[3])
                .collect();
            assert!(
                covered.is_empty(),
                "{name}: the stamp {rect:?} covers {covered:?}"
            );
            // The seal's ring, in points (300 dpi pixels × 0.24, y up from the bottom).
            let [cx, cy, r] = [SEAL.0 as f32 * 0.24, 842.0 - SEAL.1 as f32 * 0.24, 48.0];
            let on_seal =
                rect[0] < cx + r && cx - r < rect[2] && rect[1] < cy + r && cy - r < rect[3];
            assert!(
                name != "half-sealed" || !on_seal,
                "{name}: the stamp {rect:?} covers the seal"
            );
        }
        let (valid, json) = sohoa_verify(&out);
        assert!(valid, "{name}: {json:#}");
        assert!(pdfsig(&out).contains("Signature is Valid"), "{name}");
        common::assert_qpdf_check(&out);
    }

    // A fixed corner over the full page's text is refused, and nothing is numbered.
    let out = dir.join("corner.pdf");
    let office = &s.pki.office_rsa;
    let refused = run(sohoa()
        .arg("certify")
        .arg(dir.join("full.pdf"))
        .arg("-o")
        .arg(&out)
        .args([
            "--certifier",
            "A",
            "--agency",
            "B",
            "--stamp-corner",
            "bottom-left",
        ])
        .arg("--register")
        .arg(dir.join("register-corner"))
        .arg("--cert")
        .arg(&office.cert_pem)
        .arg("--key")
        .arg(&office.key_pem));
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("would cover"), "{message}");
    assert!(!out.exists());
}

/// `sohoa certify` of the setup's input with the office RSA key and `extra` arguments:
/// the command's output, the copy and its report.
fn certify_with(name: &str, register: &str, extra: &[&str]) -> (Output, PathBuf, PathBuf) {
    let s = setup();
    let mut args: Vec<&std::ffi::OsStr> = pem_args(&s.pki.office_rsa);
    args.extend(extra.iter().map(|a| std::ffi::OsStr::new(*a)));
    certify(name, register, &args)
}

#[test]
fn b_t_copies_carry_a_checked_timestamp_from_a_real_tsa() {
    let s = setup();
    let tsa = common::services::Service::tsa(
        &s.pki.tsa.cert_pem,
        &s.pki.tsa.key_pem,
        &s.pki.root_pem,
        &[],
    );
    let (out, pdf, report) =
        certify_with("bt.pdf", "reg-bt", &["--level", "b-t", "--tsa", &tsa.url]);
    assert_ok(&out);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(report["level"], "B-T", "{report:#}");
    assert!(report["timestamp"].is_string());

    let (valid, json) = sohoa_verify(&pdf);
    assert!(valid, "{json:#}");
    let sig = &json["signatures"][0];
    assert_eq!(sig["level"], "B-T");
    assert_eq!(sig["timestamp_trusted"], true);
    assert!(sig["timestamp_authority"]
        .as_str()
        .unwrap()
        .contains("TSA Thử Nghiệm"));
    assert!(pdfsig(&pdf).contains("Signature is Valid"));
    let (ok, text) = pyhanko(&pdf);
    assert!(ok && text.contains("judged VALID"), "pyHanko: {text}");
    assert!(
        text.contains("Signature timestamp token")
            && text.contains("The timestamp token is cryptographically sound")
            && text.contains("The TSA certificate is trusted"),
        "pyHanko does not accept the timestamp: {text}"
    );

    // The level and the TSA may come from sohoa.toml's [certify] table instead of flags.
    let office = tempfile::tempdir().unwrap();
    std::fs::write(
        office.path().join("sohoa.toml"),
        format!("[certify]\nlevel = \"b-t\"\ntsa = \"{}\"\n", tsa.url),
    )
    .unwrap();
    let configured = office.path().join("configured.pdf");
    let out = run(sohoa()
        .current_dir(office.path())
        .arg("certify")
        .arg(&s.input)
        .arg("-o")
        .arg(&configured)
        .args([
            "--certifier",
            "Nguyễn Văn An",
            "--agency",
            "UBND xã Thử Nghiệm",
        ])
        .arg("--register")
        .arg(office.path().join("register"))
        .args(pem_args(&s.pki.office_rsa)));
    assert_ok(&out);
    let (valid, json) = sohoa_verify(&configured);
    assert!(valid && json["signatures"][0]["level"] == "B-T", "{json:#}");

    // A TSA that fails: a clear error, no file, no number used.
    let failing = common::services::Service::tsa(
        &s.pki.tsa.cert_pem,
        &s.pki.tsa.key_pem,
        &s.pki.root_pem,
        &["--fail-status", "503"],
    );
    let (out, pdf, _) = certify_with(
        "bt-failed.pdf",
        "reg-bt-failed",
        &[
            "--level",
            "b-t",
            "--tsa",
            &failing.url,
            "--tsa-timeout-secs",
            "5",
        ],
    );
    assert!(!out.status.success());
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(
        message.contains("time-stamping authority") && message.contains("503"),
        "{message}"
    );
    assert!(!pdf.exists());
    let (out, _, _) = certify_with("bt-again.pdf", "reg-bt-failed", &[]);
    assert_ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("number: 1"),
        "the failed B-T copy burned a number: {}",
        String::from_utf8_lossy(&out.stdout)
    );

    // A TSA whose certificate is not for timestamps: refused (by openssl's responder
    // first; sohoa's own check of the timeStamping EKU stands behind it).
    let impostor = common::services::Service::tsa(
        &s.pki.office_rsa.cert_pem,
        &s.pki.office_rsa.key_pem,
        &s.pki.root_pem,
        &[],
    );
    let (out, _, _) = certify_with(
        "bt-impostor.pdf",
        "reg-bt-impostor",
        &["--level", "b-t", "--tsa", &impostor.url],
    );
    assert!(!out.status.success());
    // b-t without a TSA address is a usage error.
    let (out, _, _) = certify_with("bt-none.pdf", "reg-bt-none", &["--level", "b-t"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tsa"));
}

#[test]
fn b_lt_copies_keep_revocation_evidence_and_revoked_signers_are_refused() {
    fn as_refs(v: &[std::ffi::OsString]) -> Vec<&std::ffi::OsStr> {
        v.iter().map(|a| a.as_os_str()).collect()
    }
    use common::services::Service;
    let s = setup();
    let pki = &s.pki;
    let ocsp = Service::ocsp(
        &pki.ca_index(),
        &pki.root_pem,
        &pki.ocsp.cert_pem,
        &pki.ocsp.key_pem,
    );
    let good = pki.office_with_ocsp(
        "office-ltv",
        "/CN=Đỗ Thị Lưu/O=UBND xã Thử Nghiệm",
        &ocsp.url,
    );
    let revoked = pki.office_with_ocsp(
        "office-revoked",
        "/CN=Hồ Văn Thu/O=UBND xã Thử Nghiệm",
        &ocsp.url,
    );
    pki.revoke("office-revoked");
    let tsa_id = pki.tsa_with_ocsp("tsa-ltv", "/CN=TSA LTV sohoa (TEST ONLY)", &ocsp.url);
    let tsa = Service::tsa(&tsa_id.cert_pem, &tsa_id.key_pem, &pki.root_pem, &[]);
    let args = |id: &common::pki::Identity| -> Vec<std::ffi::OsString> {
        vec![
            "--cert".into(),
            id.cert_pem.clone().into(),
            "--key".into(),
            id.key_pem.clone().into(),
            "--chain".into(),
            pki.root_pem.clone().into(),
            "--level".into(),
            "b-lt".into(),
            "--tsa".into(),
            tsa.url.clone().into(),
        ]
    };

    let good_args = args(&good);
    let (out, pdf, report) = certify("blt.pdf", "reg-blt", &as_refs(&good_args));
    assert_ok(&out);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(report["level"], "B-LT", "{report:#}");
    // The evidence sits in the DSS of a later revision, which leaves the signature intact.
    let doc = lopdf::Document::load(&pdf).unwrap();
    let dss = doc.catalog().unwrap().get(b"DSS").expect("a DSS");
    let dss = doc.dereference(dss).unwrap().1.as_dict().unwrap().clone();
    assert!(dss.has(b"OCSPs") && dss.has(b"Certs"));
    let (valid, json) = sohoa_verify(&pdf);
    assert!(valid, "{json:#}");
    let sig = &json["signatures"][0];
    assert_eq!(sig["level"], "B-LT", "{json:#}");
    assert_eq!(sig["revocation"]["status"], "good");
    assert_eq!(sig["revocation"]["source"], "embedded");
    assert_eq!(sig["modifications"], "allowed");
    common::assert_qpdf_check(&pdf);
    assert!(pdfsig(&pdf).contains("Signature is Valid"));
    let (ok, text) = pyhanko(&pdf);
    assert!(ok && text.contains("judged VALID"), "pyHanko: {text}");
    // pyHanko's AdES validation (with the responder still up: without a document
    // timestamp it asks online) finds the signer and the TSA trusted and not revoked.
    let (ok, stdout, stderr) = adesverify(&pdf);
    assert!(
        ok && stdout.contains(":INTACT:TRUSTED,") && !stderr.contains("no revocation information"),
        "pyHanko adesverify: {stdout}{stderr}"
    );

    // Tampering with the page after the DSS update is caught by all three validators.
    let tampered = s.dir.join("blt-tampered.pdf");
    std::fs::write(
        &tampered,
        append_content_change(&std::fs::read(&pdf).unwrap()),
    )
    .unwrap();
    let (valid, json) = sohoa_verify(&tampered);
    assert!(!valid, "{json:#}");
    assert_eq!(json["signatures"][0]["modifications"], "disallowed");
    assert!(!pdfsig(&tampered).contains("Total document signed"));
    let (ok, text) = pyhanko(&tampered);
    assert!(!ok || !text.contains("judged VALID"), "pyHanko: {text}");

    // B-LTA: a document timestamp over the copy and its evidence.
    let mut lta_args = args(&good);
    *lta_args.iter_mut().find(|a| *a == "b-lt").unwrap() = "b-lta".into();
    let (out, lta, report) = certify("blta.pdf", "reg-blt", &as_refs(&lta_args));
    assert_ok(&out);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(report["level"], "B-LTA", "{report:#}");
    let (valid, json) = sohoa_verify(&lta);
    assert!(valid, "{json:#}");
    assert_eq!(json["signatures"][0]["level"], "B-LTA", "{json:#}");
    assert_eq!(json["signatures"][1]["kind"], "document_timestamp");
    assert_eq!(json["signatures"][1]["chain_trusted"], true);
    common::assert_qpdf_check(&lta);
    let (_, stdout, stderr) = adesverify(&lta);
    eprintln!("LTA {stdout} {stderr}");
    eprintln!("PDFSIG {}", pdfsig(&lta));

    // A revoked signer: one clear line, exit 1, no file, no number used.
    let revoked_args = args(&revoked);
    let (out, pdf, _) = certify(
        "blt-revoked.pdf",
        "reg-blt-revoked",
        &as_refs(&revoked_args),
    );
    assert!(!out.status.success());
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(message.contains("revoked"), "{message}");
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    assert!(!pdf.exists());
    let (out, _, _) = certify_with("blt-after.pdf", "reg-blt-revoked", &[]);
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("number: 1"));
}

/// `sohoa verify FILE --trust ROOT --json --at DATE`.
fn sohoa_verify_at(pdf: &Path, at: &str) -> (bool, serde_json::Value) {
    let out = run(sohoa()
        .arg("verify")
        .arg(pdf)
        .arg("--trust")
        .arg(&setup().pki.root_pem)
        .args(["--json", "--at", at]));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("verify --at: {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.success(), json)
}

/// The SHA-1 key of a signature's `/VRI` entry: its `/Contents` DER without padding.
fn vri_key_of_first_signature(pdf: &[u8]) -> String {
    let doc = lopdf::Document::load_mem(pdf).unwrap();
    let contents = doc
        .objects
        .values()
        .filter_map(|o| o.as_dict().ok())
        .find(|d| d.get(b"Type").and_then(lopdf::Object::as_name).ok() == Some(b"Sig"))
        .and_then(|d| d.get(b"Contents").ok()?.as_str().ok())
        .expect("a signature")
        .to_vec();
    let length = {
        let (first, rest) = (contents[1], &contents[2..]);
        if first < 0x80 {
            2 + first as usize
        } else {
            let n = (first & 0x7f) as usize;
            2 + n + rest[..n].iter().fold(0usize, |a, b| a << 8 | *b as usize)
        }
    };
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &contents[..length]);
    hex::encode_upper(digest.as_ref())
}

#[test]
fn a_ca_without_ocsp_is_checked_through_its_crl_and_copies_outlive_the_certificate() {
    use common::services::Service;
    let s = setup();
    let pki = &s.pki;
    let crl = Service::crl(&pki.ca_index(), &pki.root_pem, &pki.root_key_pem);
    let good = pki.office_with_crl(
        "office-crl",
        "/CN=Vũ Thị Hạnh/O=UBND xã Thử Nghiệm",
        &crl.url,
    );
    let revoked = pki.office_with_crl(
        "office-crl-revoked",
        "/CN=Phan Văn Khải/O=UBND xã Thử Nghiệm",
        &crl.url,
    );
    pki.revoke("office-crl-revoked");
    let tsa_id = pki.tsa_with_crl("tsa-crl", "/CN=TSA CRL sohoa (TEST ONLY)", &crl.url, 3000);
    let tsa = Service::tsa(&tsa_id.cert_pem, &tsa_id.key_pem, &pki.root_pem, &[]);
    let args = |id: &common::pki::Identity, level: &str| -> Vec<std::ffi::OsString> {
        let mut args: Vec<std::ffi::OsString> = pem_args(id).iter().map(|a| a.into()).collect();
        args.extend(["--chain".into(), pki.root_pem.clone().into()]);
        args.extend([
            "--level".into(),
            level.into(),
            "--tsa".into(),
            tsa.url.clone().into(),
        ]);
        args
    };

    // B-LTA with the signer's and the TSA's status from the CRL.
    let lta_args = args(&good, "b-lta");
    let lta_refs: Vec<&std::ffi::OsStr> = lta_args.iter().map(|a| a.as_os_str()).collect();
    let (out, lta, _) = certify("crl-lta.pdf", "reg-crl", &lta_refs);
    assert_ok(&out);
    let bytes = std::fs::read(&lta).unwrap();
    let doc = lopdf::Document::load_mem(&bytes).unwrap();
    let dss = doc.catalog().unwrap().get(b"DSS").expect("a DSS");
    let dss = doc.dereference(dss).unwrap().1.as_dict().unwrap().clone();
    let crls = dss
        .get(b"CRLs")
        .and_then(lopdf::Object::as_array)
        .expect("/CRLs");
    assert!(!crls.is_empty() && !dss.has(b"OCSPs"), "{dss:?}");
    let vri = dss.get(b"VRI").expect("/VRI");
    let vri = doc.dereference(vri).unwrap().1.as_dict().unwrap();
    let key = vri_key_of_first_signature(&bytes);
    let entry = vri
        .get(key.as_bytes())
        .expect("a /VRI entry for the signature");
    let entry = doc.dereference(entry).unwrap().1.as_dict().unwrap();
    assert!(entry.has(b"CRL") && entry.has(b"Cert"), "{entry:?}");

    let (valid, json) = sohoa_verify(&lta);
    assert!(valid, "{json:#}");
    let sig = &json["signatures"][0];
    assert_eq!(sig["level"], "B-LTA", "{json:#}");
    assert_eq!(sig["revocation"]["status"], "good", "{json:#}");
    assert_eq!(sig["revocation"]["source"], "embedded");
    assert!(pdfsig(&lta).contains("Signature is Valid"));
    common::assert_qpdf_check(&lta);
    let (ok, stdout, stderr) = adesverify(&lta);
    assert!(
        ok && stdout.contains(":INTACT:TRUSTED,")
            && stdout.contains("TIMESTAMP_TOKEN<INTACT:TRUSTED>")
            && stdout.contains("EXTENDED_WITH_LTA_UPDATES"),
        "pyHanko adesverify: {stdout}{stderr}"
    );

    // Two years after the signer's certificate (365 days) has expired, from the embedded
    // evidence only: the B-LTA copy stays valid, a B-B copy says why it cannot.
    let later = (time::OffsetDateTime::now_utc() + time::Duration::days(365 + 2 * 365 + 7))
        .date()
        .to_string();
    let (valid, json) = sohoa_verify_at(&lta, &later);
    assert!(valid, "B-LTA at {later}: {json:#}");
    let bb_args = pem_args(&good);
    let (out, bb, _) = certify("crl-bb.pdf", "reg-crl", &bb_args);
    assert_ok(&out);
    let (valid, json) = sohoa_verify_at(&bb, &later);
    assert!(!valid, "B-B at {later}: {json:#}");
    assert!(
        json.to_string()
            .contains("cannot be validated at this date"),
        "{json:#}"
    );

    // A signer listed on the CRL: one line, exit 1, no file, no number used.
    let revoked_args = args(&revoked, "b-lt");
    let revoked_refs: Vec<&std::ffi::OsStr> = revoked_args.iter().map(|a| a.as_os_str()).collect();
    let (out, pdf, _) = certify("crl-revoked.pdf", "reg-crl-revoked", &revoked_refs);
    assert!(!out.status.success());
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(message.contains("revoked"), "{message}");
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    assert!(!pdf.exists());
    let (out, _, _) = certify_with("crl-after.pdf", "reg-crl-revoked", &[]);
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("number: 1"));
}

/// `sohoa store …ARGS --store STORE`: its output, JSON.
fn store_json(store: &Path, args: &[&str]) -> serde_json::Value {
    let out = run(sohoa().args(args).args(common::store_args(store)));
    assert_ok(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn stored_copies_are_renewed_before_their_timestamp_authority_expires() {
    use common::services::Service;
    let s = setup();
    let pki = &s.pki;
    let crl = Service::crl(&pki.ca_index(), &pki.root_pem, &pki.root_key_pem);
    let signer = pki.office_with_crl(
        "office-renew",
        "/CN=Lò Thị Mai/O=UBND xã Thử Nghiệm",
        &crl.url,
    );
    let short = pki.tsa_with_crl("tsa-short", "/CN=TSA 30 ngày (TEST ONLY)", &crl.url, 30);
    let long = pki.tsa_with_crl("tsa-long", "/CN=TSA 8 năm (TEST ONLY)", &crl.url, 3000);
    let short_tsa = Service::tsa(&short.cert_pem, &short.key_pem, &pki.root_pem, &[]);
    let long_tsa = Service::tsa(&long.cert_pem, &long.key_pem, &pki.root_pem, &[]);

    // A B-LTA copy whose timestamps come from a TSA certificate that ends in 30 days, and
    // a B-B copy, both stored.
    let mut lta_args: Vec<&std::ffi::OsStr> = pem_args(&signer);
    lta_args.extend(["--chain".as_ref(), pki.root_pem.as_os_str()]);
    lta_args.extend(["--level", "b-lta", "--tsa", &short_tsa.url].map(std::ffi::OsStr::new));
    let (out, lta, _) = certify("renew-lta.pdf", "reg-renew", &lta_args);
    assert_ok(&out);
    let (out, bb, _) = certify_with("renew-bb.pdf", "reg-renew", &[]);
    assert_ok(&out);
    let store = s.dir.join("renew-store");
    let root = pki.root_pem.to_str().unwrap();
    let mut ids = Vec::new();
    for (dossier, copy) in [("R-1", &lta), ("R-2", &bb)] {
        let doc = store_json(
            &store,
            &[
                "store",
                "add",
                "--dossier",
                dossier,
                "--procedure",
                "1.001193",
                "--citizen-id",
                "001234567890",
                "--kind",
                "ban-sao",
                "--title",
                "Bản sao",
                "--result",
                "--trust",
                root,
                copy.to_str().unwrap(),
            ],
        );
        assert_eq!(doc["files"][0]["role"], "certified", "{doc:#}");
        ids.push(doc["id"].as_str().unwrap().to_string());
    }
    let due = (time::OffsetDateTime::now_utc() + time::Duration::days(60))
        .date()
        .to_string();
    let renew = |tsa: &str| {
        run(sohoa()
            .args(["renew", "--due-before", &due, "--tsa", tsa, "--chain", root])
            .args(common::store_args(&store)))
    };

    // The short-lived TSA cannot carry a copy past the date: refused, nothing stored.
    let out = renew(&short_tsa.url);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("would not carry the copies"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = store_json(&store, &["store", "get", &ids[0]]);
    assert!(!doc.to_string().contains("\"renewed\""), "{doc:#}");

    // The long-lived one renews the B-LTA copy, not the B-B one; a second run does nothing.
    let out = renew(&long_tsa.url);
    assert_ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("{}: renewed", ids[0])), "{stdout}");
    assert!(
        stdout.contains("renewed: 1;") && stdout.contains("(B-B): 1;"),
        "{stdout}"
    );
    let doc = store_json(&store, &["store", "get", &ids[0]]);
    let files = doc["files"].as_array().unwrap();
    let renewed = files
        .iter()
        .find(|f| f["role"] == "renewed")
        .expect("a renewal");
    assert_eq!(
        doc["sha256"], files[0]["sha256"],
        "the document keeps its identity"
    );
    let opened = common::open_store(&store);
    let bytes = opened
        .read_blob(renewed["sha256"].as_str().unwrap())
        .unwrap();
    assert!(bytes.starts_with(&std::fs::read(&lta).unwrap()));
    drop(opened);
    let path = s.dir.join("renewed.pdf");
    std::fs::write(&path, &bytes).unwrap();
    let (valid, json) = sohoa_verify(&path);
    assert!(valid, "{json:#}");
    let timestamps = json["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "document_timestamp")
        .count();
    assert_eq!(timestamps, 2, "{json:#}");
    assert_eq!(json["signatures"][0]["level"], "B-LTA", "{json:#}");
    common::assert_qpdf_check(&path);
    let (ok, stdout, stderr) = adesverify(&path);
    assert!(
        ok && stdout.contains("EXTENDED_WITH_LTA_UPDATES"),
        "pyHanko adesverify: {stdout}{stderr}"
    );
    let out = renew(&long_tsa.url);
    assert_ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("renewed: 0;") && stdout.contains("not due: 1;"),
        "{stdout}"
    );

    // One file: `renew FILE -o OUT`.
    let single = s.dir.join("renewed-single.pdf");
    let out = run(sohoa().arg("renew").arg(&lta).arg("-o").arg(&single).args([
        "--tsa",
        &long_tsa.url,
        "--chain",
        root,
    ]));
    assert_ok(&out);
    let (valid, json) = sohoa_verify(&single);
    assert!(valid, "{json:#}");
    // A B-B copy has no timestamp to renew: a clear error, no file.
    let nothing = s.dir.join("renewed-bb.pdf");
    let out = run(sohoa()
        .arg("renew")
        .arg(&bb)
        .arg("-o")
        .arg(&nothing)
        .args(["--tsa", &long_tsa.url]));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no timestamp to renew"));
    assert!(!nothing.exists());
}

#[test]
fn the_register_keeps_the_legal_form_columns() {
    let s = setup();
    let (out, _, _) = certify_with(
        "details.pdf",
        "reg-details",
        &[
            "--requester",
            "Lò Thị Mai",
            "--original-title",
            "Giấy khai sinh",
            "--copies",
            "3",
            "--fee",
            "6000",
        ],
    );
    assert_ok(&out);
    let target = common::register_arg(&s.dir.join("reg-details"));
    let mut register = sohoa::certify::register::Register::open(target.as_ref()).unwrap();
    let year = time::OffsetDateTime::now_utc().year();
    let entry = &register.entries(year, "01").unwrap()[0];
    assert_eq!(entry.details.requester.as_deref(), Some("Lò Thị Mai"));
    assert_eq!(
        entry.details.original_title.as_deref(),
        Some("Giấy khai sinh")
    );
    assert_eq!(
        (entry.details.copies, entry.details.fee_vnd),
        (3, Some(6000))
    );
    let (out, _, _) = certify_with("details-bad.pdf", "reg-details", &["--copies", "0"]);
    assert!(!out.status.success());
}
