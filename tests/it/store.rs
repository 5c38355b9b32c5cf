//! The store through the real binary on a real store folder: add → list → get (byte
//! identical), identical content once, corrections, search with and without diacritics,
//! filters, fsck against damaged blobs, the audit chain against edits and deletions,
//! agencies and keys, certified copies, bad input.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use common::{run, sohoa};
use serde_json::Value;
use sha2::{Digest, Sha256};

const CITIZEN: &str = "001234567890";
const OTHER_CITIZEN: &str = "079300001234";

/// Two digitized one-page documents, made once for every test.
struct Pdfs {
    _dir: tempfile::TempDir,
    a: PathBuf,
    b: PathBuf,
    page: PathBuf,
}

fn pdfs() -> &'static Pdfs {
    static PDFS: OnceLock<Pdfs> = OnceLock::new();
    PDFS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        for (name, seed) in [("a", 31), ("b", 32)] {
            let page = common::page_png(dir.path(), &format!("{name}.png"), seed, 4, 0.0);
            let pdf = dir.path().join(format!("{name}.pdf"));
            let out = run(sohoa().args(["digitize", "-o"]).arg(&pdf).arg(&page.path));
            assert_ok(&out);
            paths.push(pdf);
        }
        Pdfs {
            page: dir.path().join("a.png"),
            _dir: dir,
            b: paths.pop().unwrap(),
            a: paths.pop().unwrap(),
        }
    })
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `sohoa ARGS --store DIR`.
fn cmd(store: &Path, args: &[&str]) -> Output {
    run(sohoa().args(args).args(common::store_args(store)))
}

/// Runs a command that must succeed and prints JSON.
fn json(store: &Path, args: &[&str]) -> Value {
    let out = cmd(store, args);
    assert_ok(&out);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stdout));
    })
}

/// Asserts a one-line error on stderr containing `needle`, exit 1, no panic.
fn assert_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("sohoa: error: "), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in {stderr}");
}

/// `store add` of `pdf` with the usual metadata and `extra` flags; returns the document.
fn add(
    store: &Path,
    dossier: &str,
    citizen: &str,
    title: &str,
    pdf: &Path,
    extra: &[&str],
) -> Value {
    json(store, &add_args(dossier, citizen, title, pdf, extra))
}

/// `store add` of `pdf` with the usual procedure and kind.
fn add_args<'a>(
    dossier: &'a str,
    citizen: &'a str,
    title: &'a str,
    pdf: &'a Path,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "store",
        "add",
        "--dossier",
        dossier,
        "--procedure",
        "1.001193",
        "--citizen-id",
        citizen,
        "--kind",
        "giay-khai-sinh",
        "--title",
        title,
    ];
    args.extend_from_slice(extra);
    args.push(pdf.to_str().unwrap());
    args
}

fn id(doc: &Value) -> &str {
    doc["id"].as_str().unwrap()
}

fn ids(docs: &Value) -> Vec<&str> {
    docs.as_array().unwrap().iter().map(id).collect()
}

/// Blobs in the store (on either backend), as fsck counts them.
fn blob_count(store: &Path) -> u64 {
    json(store, &["fsck", "--json"])["blobs_checked"]
        .as_u64()
        .unwrap()
}

fn blob_path(store: &Path, sha256: &str) -> PathBuf {
    store.join("blobs").join(&sha256[..2]).join(sha256)
}

#[test]
fn add_list_get_round_trip_and_identical_content_once() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let p = pdfs();
    let doc = add(&store, "D-1", CITIZEN, "Giấy khai sinh", &p.a, &[]);
    let bytes = std::fs::read(&p.a).unwrap();
    assert_eq!(doc["sha256"], hex::encode(Sha256::digest(&bytes)));
    assert_eq!(doc["files"][0]["role"], "pdf");
    assert_eq!(doc["page_count"], 1);
    assert_eq!(blob_count(&store), 2, "the PDF and its text");

    let list = json(&store, &["store", "list", "--json"]);
    assert_eq!(ids(&list), [id(&doc)]);
    for field in [
        "id",
        "sha256",
        "kind",
        "title",
        "dossier_code",
        "citizen_id",
    ] {
        assert_eq!(list[0][field], doc[field], "{field}");
    }
    let got = json(&store, &["store", "get", id(&doc)]);
    assert_eq!(got, doc);
    let out = tmp.path().join("out.pdf");
    assert_ok(&cmd(
        &store,
        &["store", "get", id(&doc), "-o", out.to_str().unwrap()],
    ));
    assert_eq!(
        std::fs::read(&out).unwrap(),
        bytes,
        "byte-identical download"
    );

    add(&store, "D-2", OTHER_CITIZEN, "Bản sao", &p.a, &[]);
    assert_eq!(blob_count(&store), 2, "identical content is stored once");
    add(&store, "D-3", OTHER_CITIZEN, "Khác", &p.b, &[]);
    assert_eq!(blob_count(&store), 4);
    assert_eq!(
        json(&store, &["store", "list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_ok(&cmd(&store, &["fsck"]));
}

#[test]
fn ocr_text_is_searchable_without_diacritics() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let doc = add(&store, "D-1", CITIZEN, "Tờ khai", &pdfs().a, &[]);
    let text = common::pdftotext(&pdfs().a, 1);
    let word = text
        .split_whitespace()
        .find(|w| w.chars().count() >= 4 && w.chars().all(char::is_alphabetic) && !w.is_ascii())
        .expect("a Vietnamese word with diacritics in the text layer");
    let folded = sohoa::store::fold(word);
    assert_ne!(folded, word);
    for q in [word.to_string(), folded, word.to_uppercase()] {
        assert_eq!(
            ids(&json(&store, &["search", &q, "--json"])),
            [id(&doc)],
            "{q}"
        );
    }
}

#[test]
fn a_correction_supersedes_and_both_stay_retrievable() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let p = pdfs();
    let old = add(&store, "D-1", CITIZEN, "Giấy khai sinh", &p.a, &[]);
    let new = add(
        &store,
        "D-1",
        CITIZEN,
        "Giấy khai sinh (sửa)",
        &p.b,
        &["--supersedes", id(&old)],
    );
    assert_eq!(new["supersedes"], old["id"]);
    let old_now = json(&store, &["store", "get", id(&old)]);
    assert_eq!(old_now["superseded_by"], new["id"]);
    assert_eq!(ids(&json(&store, &["store", "list", "--json"])), [id(&new)]);
    let out = tmp.path().join("old.pdf");
    assert_ok(&cmd(
        &store,
        &["store", "get", id(&old), "-o", out.to_str().unwrap()],
    ));
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&p.a).unwrap());

    let again = cmd(
        &store,
        &[
            "store",
            "add",
            "--dossier",
            "D-1",
            "--procedure",
            "1.001193",
            "--citizen-id",
            CITIZEN,
            "--kind",
            "giay-khai-sinh",
            "--title",
            "x",
            "--supersedes",
            id(&old),
            p.a.to_str().unwrap(),
        ],
    );
    assert_error(&again, "already superseded");
}

/// A store with two agencies and two documents that differ in every field.
fn search_store(dir: &Path) -> (PathBuf, Value, Value) {
    let store = dir.join("store");
    json(
        &store,
        &["agency", "add", "--code", "UBND-A", "--name", "UBND xã A"],
    );
    json(
        &store,
        &["agency", "add", "--code", "UBND-B", "--name", "UBND xã B"],
    );
    let p = pdfs();
    let one = add(
        &store,
        "D-100",
        CITIZEN,
        "Đăng ký khai sinh",
        &p.a,
        &["--agency", "UBND-A"],
    );
    let args = [
        "store",
        "add",
        "--dossier",
        "D-200",
        "--procedure",
        "2.000815",
        "--citizen-id",
        OTHER_CITIZEN,
        "--kind",
        "hop-dong",
        "--title",
        "Chứng thực hợp đồng",
        "--result",
        "--agency",
        "UBND-B",
        p.b.to_str().unwrap(),
    ];
    let two = json(&store, &args);
    (store, one, two)
}

#[test]
fn search_ignores_case_and_diacritics_including_d_stroke() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, one, two) = search_store(tmp.path());
    for q in ["dang ky", "ĐĂNG KÝ", "đăng ký", "Dang Ky Khai Sinh", "DANG"] {
        assert_eq!(
            ids(&json(&store, &["search", q, "--json"])),
            [id(&one)],
            "{q}"
        );
    }
    for q in ["chung thuc", "CHỨNG THỰC", "hop dong"] {
        assert_eq!(
            ids(&json(&store, &["search", q, "--json"])),
            [id(&two)],
            "{q}"
        );
    }
    assert!(json(&store, &["search", "dang ky chung thuc", "--json"])
        .as_array()
        .unwrap()
        .is_empty());
    let text = String::from_utf8(cmd(&store, &["search", "dang ky"]).stdout).unwrap();
    assert!(text.contains("Đăng ký khai sinh"), "{text}");
}

#[test]
fn search_filters_combine() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, one, two) = search_store(tmp.path());
    let today = json(&store, &["store", "get", id(&one)])["created_at"]
        .as_str()
        .unwrap()[..10]
        .to_string();
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (vec![], vec![id(&two), id(&one)]),
        (vec!["--citizen-id", OTHER_CITIZEN], vec![id(&two)]),
        (vec!["dang ky", "--citizen-id", OTHER_CITIZEN], vec![]),
        (vec!["--kind", "hop-dong"], vec![id(&two)]),
        (vec!["--dossier", "D-100"], vec![id(&one)]),
        (vec!["--procedure", "2.000815"], vec![id(&two)]),
        (vec!["--agency", "UBND-B"], vec![id(&two)]),
        (
            vec!["--agency", "UBND-B", "--kind", "giay-khai-sinh"],
            vec![],
        ),
        (
            vec!["--from", &today, "--to", &today],
            vec![id(&two), id(&one)],
        ),
        (vec!["--to", "2000-01-01"], vec![]),
        (vec!["--from", "2999-01-01"], vec![]),
        (vec!["--limit", "1"], vec![id(&two)]),
    ];
    for (filters, expected) in cases {
        let mut args = vec!["search", "--json"];
        args.extend_from_slice(&filters);
        assert_eq!(ids(&json(&store, &args)), expected, "{filters:?}");
    }
    assert_error(
        &cmd(&store, &["search", "--from", "yesterday"]),
        "expected YYYY-MM-DD",
    );
    assert_error(
        &cmd(&store, &["search", "--citizen-id", "123"]),
        "12 digits",
    );
}

#[test]
fn no_query_string_causes_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, _, _) = search_store(tmp.path());
    let nasty = [
        "\"",
        "'",
        "*",
        "AND",
        "OR NOT",
        "NEAR(a b",
        "a:b",
        "^x",
        "(",
        ")",
        "-x",
        "x\"y",
        "dang*",
        "'; DROP TABLE documents; --",
        "\u{1}",
        "ký\"*\"(",
        "{a b}",
        "🙂",
    ];
    for q in nasty {
        let out = run(sohoa()
            .args(["search", "--json"])
            .args(common::store_args(&store))
            .args(["--", q]));
        assert_ok(&out);
        let _: Value = serde_json::from_slice(&out.stdout).unwrap();
    }
    assert_eq!(
        json(&store, &["store", "list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn fsck_detects_a_flipped_byte_and_a_missing_blob() {
    if common::shared_backends() {
        // Tampers with the blob folder; S3 corruption is tested in store::s3.
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let doc = add(&store, "D-1", CITIZEN, "Giấy khai sinh", &pdfs().a, &[]);
    assert_ok(&cmd(&store, &["fsck"]));

    // An orphan blob (a crash between blob and index) is a note, not a problem.
    let orphan = hex::encode(Sha256::digest(b"orphan"));
    std::fs::create_dir_all(blob_path(&store, &orphan).parent().unwrap()).unwrap();
    std::fs::write(blob_path(&store, &orphan), b"orphan").unwrap();
    let out = cmd(&store, &["fsck"]);
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("orphan"));

    let pdf = doc["sha256"].as_str().unwrap();
    let path = blob_path(&store, pdf);
    let original = std::fs::read(&path).unwrap();
    let mut flipped = original.clone();
    flipped[original.len() / 2] ^= 0x01;
    std::fs::write(&path, &flipped).unwrap();
    let out = cmd(&store, &["fsck"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(pdf) && stdout.contains("corrupt"),
        "{stdout}"
    );
    let download = cmd(
        &store,
        &[
            "store",
            "get",
            id(&doc),
            "-o",
            tmp.path().join("x.pdf").to_str().unwrap(),
        ],
    );
    assert_error(&download, "corrupt");
    std::fs::write(&path, &original).unwrap();
    assert_ok(&cmd(&store, &["fsck"]));

    let text = doc["files"][1]["sha256"].as_str().unwrap();
    std::fs::remove_file(blob_path(&store, text)).unwrap();
    let out = cmd(&store, &["fsck", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let problems = report["problems"].to_string();
    assert!(
        problems.contains(text) && problems.contains("missing"),
        "{problems}"
    );
}

fn sql(store: &Path, statement: &str) {
    assert_eq!(common::index_sql(store, statement), 1, "{statement}");
}

#[test]
fn audit_chain_detects_an_edited_or_deleted_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let doc = add(&store, "D-1", CITIZEN, "Đăng ký khai sinh", &pdfs().a, &[]);
    json(
        &store,
        &["store", "get", id(&doc), "--purpose", "kiểm tra hồ sơ"],
    );
    json(&store, &["search", "dang ky", "--json"]);
    json(&store, &["store", "list", "--json"]);
    json(&store, &["store", "get", id(&doc)]);
    let entries = json(&store, &["audit", "list"]);
    assert_eq!(entries.as_array().unwrap().len(), 4);
    assert_eq!(entries[3]["purpose"], "kiểm tra hồ sơ");
    assert_eq!(entries[3]["returned"][0], doc["id"]);
    let out = cmd(&store, &["audit", "verify"]);
    assert_ok(&out);

    sql(
        &store,
        "UPDATE audit SET purpose = purpose || 'x' WHERE seq = 2",
    );
    let out = cmd(&store, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("entry 2 was modified"));
    sql(
        &store,
        "UPDATE audit SET purpose = rtrim(purpose, 'x') WHERE seq = 2",
    );
    assert_ok(&cmd(&store, &["audit", "verify"]));

    sql(&store, "DELETE FROM audit WHERE seq = 2");
    let out = cmd(&store, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("entry 2 is missing"));
}

#[test]
fn bad_input_gets_a_clear_error_and_no_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let pdf = pdfs().a.to_str().unwrap();
    let base = |citizen: &'static str| {
        vec![
            "store",
            "add",
            "--dossier",
            "D-1",
            "--procedure",
            "1.001193",
            "--citizen-id",
            citizen,
            "--kind",
            "giay-khai-sinh",
            "--title",
            "Giấy khai sinh",
        ]
    };
    for bad in [
        "00123456789",
        "00123456789a",
        "0012345678901",
        "abcdefghijkl",
        "",
    ] {
        let mut args = base(bad);
        args.push(pdf);
        assert_error(&cmd(&store, &args), "expected exactly 12 digits");
    }
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--supersedes", "../../etc/passwd"], "invalid id"),
        (vec!["--valid-until", "31/12/2030"], "expected YYYY-MM-DD"),
        (vec!["--agency", "NOPE"], "unknown agency NOPE"),
    ];
    for (extra, needle) in cases {
        let mut args = base(CITIZEN);
        args.extend_from_slice(&extra);
        args.push(pdf);
        assert_error(&cmd(&store, &args), needle);
    }
    let fake = tmp.path().join("fake.pdf");
    std::fs::write(&fake, b"not a pdf").unwrap();
    let mut args = base(CITIZEN);
    args.push(fake.to_str().unwrap());
    assert_error(&cmd(&store, &args), "not a PDF");

    for bad in [
        "../../etc/passwd",
        "/etc/passwd",
        "..",
        "%2e%2e%2f",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    ] {
        assert_error(&cmd(&store, &["store", "get", bad]), "invalid id");
        assert_error(&cmd(&store, &["key", "revoke", bad]), "invalid id");
    }
    assert_error(
        &cmd(&store, &["store", "get", "aaaaaaaaaaaaaaaaaaaaaaaaaa"]),
        "no document",
    );
    assert!(json(&store, &["store", "list", "--json"])
        .as_array()
        .unwrap()
        .is_empty());
    assert_ok(&cmd(&store, &["fsck"]));
}

#[test]
fn agencies_and_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let agency = json(
        &store,
        &["agency", "add", "--code", "SO-TP", "--name", "Sở Tư pháp"],
    );
    assert_eq!(agency["name"], "Sở Tư pháp");
    assert_error(
        &cmd(&store, &["agency", "add", "--code", "SO-TP", "--name", "x"]),
        "already exists",
    );
    let key = json(
        &store,
        &[
            "key", "create", "--agency", "SO-TP", "--scope", "read:*", "write",
        ],
    );
    let secret = key["key"].as_str().unwrap();
    assert!(
        secret.starts_with("sohoa_") && secret.len() == 49,
        "{secret}"
    );
    assert_eq!(key["scopes"], serde_json::json!(["read:*", "write"]));
    let keys = json(&store, &["key", "list"]);
    assert_eq!(keys[0]["id"], key["id"]);
    assert_eq!(keys[0]["revoked"], false);
    assert!(
        !keys.to_string().contains(secret),
        "secrets are never listed"
    );

    let opened = common::open_store(&store);
    assert_eq!(
        opened.authenticate(secret).unwrap().unwrap().id,
        key["id"].as_str().unwrap()
    );
    let out = cmd(&store, &["key", "revoke", key["id"].as_str().unwrap()]);
    assert_ok(&out);
    assert_eq!(json(&store, &["key", "list"])[0]["revoked"], true);
    assert!(opened.authenticate(secret).unwrap().is_none());

    assert_error(
        &cmd(
            &store,
            &["key", "create", "--agency", "NOPE", "--scope", "read:*"],
        ),
        "unknown agency",
    );
    assert_error(
        &cmd(
            &store,
            &["key", "create", "--agency", "SO-TP", "--scope", "admin"],
        ),
        "invalid scope",
    );
    assert_error(
        &cmd(&store, &["key", "revoke", "aaaaaaaaaaaaaaaaaaaaaaaaaa"]),
        "not found",
    );
}

#[test]
fn metadata_file_and_images_to_digitize() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let meta = tmp.path().join("meta.json");
    let metadata = serde_json::json!({
        "dossier_code": "H35-240101-0001", "procedure_code": "1.001193", "citizen_id": CITIZEN,
        "kind": "giay-khai-sinh", "title": "từ tệp", "role": "result", "valid_until": "2030-12-31",
        "received_on": "2024-01-01",
    });
    std::fs::write(&meta, metadata.to_string()).unwrap();
    let args = [
        "store",
        "add",
        "--metadata",
        meta.to_str().unwrap(),
        "--title",
        "Giấy khai sinh",
        pdfs().page.to_str().unwrap(),
    ];
    let doc = json(&store, &args);
    assert_eq!(doc["title"], "Giấy khai sinh", "flags win");
    assert_eq!(doc["role"], "result");
    assert_eq!(doc["valid_until"], "2030-12-31");
    let roles: Vec<&str> = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["pdf", "original", "text"]);
    let opened = common::open_store(&store);
    let dossier = opened.dossier("H35-240101-0001").unwrap().unwrap();
    assert_eq!(dossier.received_on.as_deref(), Some("2024-01-01"));
}

#[test]
fn a_certified_copy_is_stored_with_its_reference() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = common::pki::Pki::create(&tmp.path().join("pki"));
    let (copy, report) = (tmp.path().join("copy.pdf"), tmp.path().join("copy.json"));
    let out = run(sohoa()
        .arg("certify")
        .arg(&pdfs().a)
        .arg("-o")
        .arg(&copy)
        .args([
            "--certifier",
            "Nguyễn Văn An",
            "--agency",
            "UBND xã Thử Nghiệm",
            "--register",
        ])
        .arg(tmp.path().join("register"))
        .arg("--report")
        .arg(&report)
        .arg("--cert")
        .arg(&pki.office_ec.cert_pem)
        .arg("--key")
        .arg(&pki.office_ec.key_pem));
    assert_ok(&out);
    let report: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let store = tmp.path().join("store");
    // Without this office's register or a trust anchor, a signed PDF is only a PDF (with
    // its verification report); with the root as anchor it is certified, but only the
    // register that issued it gives it its reference.
    let unknown = add(&store, "D-0", CITIZEN, "Bản sao", &copy, &[]);
    assert_eq!(unknown["files"][0]["role"], "pdf");
    assert_eq!(unknown["files"][1]["name"], "verification.json");
    assert!(unknown["reference"].is_null());
    let root = pki.root_pem.to_str().unwrap();
    let trusted = add(&store, "D-2", CITIZEN, "Bản sao", &copy, &["--trust", root]);
    assert_eq!(trusted["files"][0]["role"], "certified");
    assert!(trusted["reference"].is_null());
    let register = tmp.path().join("register");
    let doc = add(
        &store,
        "D-1",
        CITIZEN,
        "Bản sao chứng thực",
        &copy,
        &["--result", "--register", register.to_str().unwrap()],
    );
    assert_eq!(doc["reference"], report["reference"]);
    assert_eq!(doc["files"][0]["role"], "certified");
    assert_eq!(doc["sha256"], report["sha256"]);
    let opened = common::open_store(&store);
    let found = opened
        .document_by_reference(report["reference"].as_str().unwrap())
        .unwrap();
    assert_eq!(found.unwrap().id, id(&doc));
    // The stamp's statement is searchable too.
    let found = json(&store, &["search", "chung thuc ban sao", "--json"]);
    let found = ids(&found);
    assert_eq!(found.len(), 3);
    assert!(found.iter().any(|f| *f == id(&doc)));
}

#[test]
fn concurrent_adds_from_several_processes_lose_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    json(
        &store,
        &["agency", "add", "--code", "UBND-A", "--name", "A"],
    );
    let pdf = pdfs().b.clone();
    let children: Vec<_> = (0..6)
        .map(|i| {
            sohoa()
                .args([
                    "store",
                    "add",
                    "--dossier",
                    &format!("D-{i}"),
                    "--procedure",
                    "1.001193",
                ])
                .args([
                    "--citizen-id",
                    &format!("{:012}", i),
                    "--kind",
                    "k",
                    "--title",
                    "Đăng ký",
                ])
                .args(common::store_args(&store))
                .arg(&pdf)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        assert_ok(&child.wait_with_output().unwrap());
    }
    assert_eq!(
        json(&store, &["search", "dang ky", "--json"])
            .as_array()
            .unwrap()
            .len(),
        6
    );
    assert_ok(&cmd(&store, &["fsck"]));
    assert_ok(&cmd(&store, &["audit", "verify"]));
}

#[test]
fn the_store_folder_comes_from_sohoa_toml() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("sohoa.toml"), "store = \"kho\"\n").unwrap();
    let out = run(sohoa()
        .args(["agency", "add", "--code", "A", "--name", "A"])
        .current_dir(tmp.path()));
    assert_ok(&out);
    assert!(tmp.path().join("kho/index.sqlite").exists());
    std::fs::write(tmp.path().join("sohoa.toml"), "store = [").unwrap();
    let out = run(sohoa().args(["agency", "list"]).current_dir(tmp.path()));
    assert_error(&out, "sohoa.toml");
}

#[test]
fn a_backup_taken_during_ingests_restores_whole_and_checks_out() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    if common::shared_backends() {
        add(&store, "D-0", CITIZEN, "Trước sao lưu", &pdfs().a, &[]);
        let out = cmd(
            &store,
            &["backup", "-o", tmp.path().join("b").to_str().unwrap()],
        );
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
        return;
    }
    for i in 0..3 {
        add(
            &store,
            &format!("D-{i}"),
            CITIZEN,
            "Trước sao lưu",
            &pdfs().a,
            &[],
        );
    }
    let before = json(&store, &["store", "list", "--json"]);
    // The certification register lives in the store folder (as `serve` keeps it).
    let pki = common::pki::Pki::create(&tmp.path().join("pki"));
    let out = run(sohoa()
        .arg("certify")
        .arg(&pdfs().a)
        .arg("-o")
        .arg(tmp.path().join("copy.pdf"))
        .args([
            "--certifier",
            "Nguyễn Văn An",
            "--agency",
            "UBND xã Thử Nghiệm",
        ])
        .arg("--register")
        .arg(store.join("register"))
        .arg("--cert")
        .arg(&pki.office_ec.cert_pem)
        .arg("--key")
        .arg(&pki.office_ec.key_pem));
    assert_ok(&out);

    // Ingests keep running while the backup is taken.
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || {
            for i in 0..8 {
                add(
                    &store,
                    &format!("W-{i}"),
                    CITIZEN,
                    "Trong khi sao lưu",
                    &pdfs().b,
                    &[],
                );
            }
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    let backup = tmp.path().join("backup");
    let out = cmd(
        &store,
        &["backup", "-o", backup.to_str().unwrap(), "--json"],
    );
    assert_ok(&out);
    let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
    writer.join().unwrap();
    assert!(manifest["documents"].as_u64().unwrap() >= 3, "{manifest:#}");
    assert_eq!(manifest["extra"][0][0], "register/register.sqlite");

    // The backup checks out; a second backup into the same folder is refused.
    let out = run(sohoa().args(["backup", "verify"]).arg(&backup));
    assert_ok(&out);
    assert_error(
        &cmd(&store, &["backup", "-o", backup.to_str().unwrap()]),
        "not empty",
    );

    // Restored into a new folder: consistent, the audit chain holds, every document of
    // the snapshot whole, the register back in its place.
    let restored = tmp.path().join("restored");
    let out = run(sohoa()
        .arg("restore")
        .arg(&backup)
        .args(common::store_args(&restored)));
    assert_ok(&out);
    let fsck = json(&restored, &["fsck", "--json"]);
    assert_eq!(fsck["problems"], serde_json::json!([]), "{fsck:#}");
    assert_ok(&cmd(&restored, &["audit", "verify"]));
    let listed = json(&restored, &["store", "list", "--json"]);
    assert_eq!(
        listed.as_array().unwrap().len() as u64,
        manifest["documents"].as_u64().unwrap()
    );
    for doc in before.as_array().unwrap() {
        assert!(ids(&listed).contains(&id(doc)), "{} lost", id(doc));
    }
    assert!(restored.join("register/register.sqlite").is_file());

    // A damaged backup is refused whole: nothing is restored.
    let blob = std::fs::read_dir(backup.join("blobs"))
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&blob).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&blob, bytes).unwrap();
    let out = run(sohoa().args(["backup", "verify"]).arg(&backup));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("corrupt"));
    let again = tmp.path().join("again");
    let out = run(sohoa()
        .arg("restore")
        .arg(&backup)
        .args(common::store_args(&again)));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing restored"));
    assert!(!again.join("index.sqlite").exists());
}

#[test]
fn an_embedded_store_moves_up_to_the_shared_backends_whole_and_resumably() {
    let tmp = tempfile::tempdir().unwrap();
    let embedded = tmp.path().join("embedded");
    // The office's embedded store: documents, a reading (audit), a dossier date.
    let plain = |args: &[&str]| run(sohoa().args(args).arg("--store").arg(&embedded));
    let mut stored = Vec::new();
    for (i, title) in ["Giấy khai sinh", "Đăng ký kết hôn"].iter().enumerate() {
        let dossier = format!("D-{i}");
        let out = plain(&add_args(&dossier, CITIZEN, title, &pdfs().a, &[]));
        assert_ok(&out);
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        stored.push(doc["id"].as_str().unwrap().to_string());
    }
    assert_ok(&plain(&[
        "store",
        "get",
        &stored[0],
        "--purpose",
        "kiểm tra",
    ]));

    let target = tmp.path().join("shared");
    let migrate = || {
        run(sohoa()
            .args(["store", "migrate", "--from"])
            .arg(&embedded)
            .args(common::store_args(&target)))
    };
    let out = migrate();
    if !common::shared_backends() {
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("postgres://"));
        return;
    }
    assert_ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("checks out"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Run again (as after an interruption): nothing doubles.
    assert_ok(&migrate());
    let listed = json(&target, &["store", "list", "--json"]);
    let mut moved: Vec<&str> = ids(&listed);
    moved.sort_unstable();
    let mut expected: Vec<&str> = stored.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(moved, expected, "the same documents, the same ids");
    let found = json(&target, &["search", "dang ky ket hon", "--json"]);
    assert_eq!(ids(&found), vec![stored[1].as_str()]);
    let (before, after) = (tmp.path().join("before.pdf"), tmp.path().join("after.pdf"));
    assert_ok(&plain(&[
        "store",
        "get",
        &stored[0],
        "-o",
        before.to_str().unwrap(),
    ]));
    assert_ok(&cmd(
        &target,
        &["store", "get", &stored[0], "-o", after.to_str().unwrap()],
    ));
    assert_eq!(
        std::fs::read(&before).unwrap(),
        std::fs::read(&after).unwrap(),
        "byte-identical after the move"
    );
    assert_ok(&cmd(&target, &["audit", "verify"]));
    // The shared store goes on: a new document gets a row of its own.
    add(&target, "D-9", CITIZEN, "Sau khi chuyển", &pdfs().b, &[]);
    assert_eq!(
        json(&target, &["store", "list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_ok(&cmd(&target, &["fsck"]));
}

#[test]
fn bad_backend_urls_and_a_missing_source_store_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let cases: [(&[&str], &str); 4] = [
        (
            &["--index", "mysql://db/sohoa"],
            "expected sqlite:PATH or postgres://",
        ),
        (
            &["--blobs", "ftp://host/x"],
            "expected file:DIR or s3://BUCKET/PREFIX",
        ),
        (&["--blobs", "s3://Bad_Bucket!/x"], "invalid S3 URL"),
        (&["--index", "sqlite:"], "sqlite: needs a file path"),
    ];
    for (flags, message) in cases {
        let out = run(sohoa()
            .args(["store", "list", "--store"])
            .arg(&store)
            .args(flags));
        assert_eq!(out.status.code(), Some(1), "{flags:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{flags:?}: {stderr}");
    }
    let out = run(sohoa()
        .args(["store", "migrate", "--from"])
        .arg(tmp.path().join("nothing-here"))
        .arg("--store")
        .arg(&store));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no embedded store here"));
}
