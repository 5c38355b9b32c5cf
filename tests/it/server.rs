//! The HTTP service end to end: the real `sohoa serve` binary over a real store, real
//! HTTP over loopback. Stores are set up with the CLI (`agency add`, `key create`,
//! `store add`) from PDFs made by `sohoa digitize` and `sohoa certify`.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::pki::Pki;
use common::server::Server;
use common::{run, sohoa};
use serde_json::Value;
use sha2::{Digest, Sha256};

const AGENCY: &str = "UBND-XA-TN";
const CITIZEN: &str = "001234567890";
const OTHER_CITIZEN: &str = "079912345678";
const PURPOSE: &str = "kiem-tra-ho-so";

// ---------------------------------------------------------------- shared inputs

/// PDFs made once for every test: two digitized pages and a certified copy of the first.
struct Inputs {
    _dir: tempfile::TempDir,
    pki: Pki,
    digitized: PathBuf,
    digitized2: PathBuf,
    certified: PathBuf,
    /// The register that issued `certified`.
    register: PathBuf,
    reference: String,
    /// A word of the first page with diacritics, as printed.
    word: String,
}

fn inputs() -> &'static Inputs {
    static INPUTS: OnceLock<Inputs> = OnceLock::new();
    INPUTS.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let pki = Pki::create(&dir.join("pki"));
        let page1 = common::page_png(&dir, "p1.png", 501, 6, 0.0);
        let page2 = common::page_png(&dir, "p2.png", 502, 6, 0.0);
        let (digitized, digitized2) = (dir.join("d1.pdf"), dir.join("d2.pdf"));
        for (page, out) in [(&page1, &digitized), (&page2, &digitized2)] {
            assert_ok(&run(sohoa()
                .args(["digitize", "-o"])
                .arg(out)
                .arg(&page.path)));
        }
        let (certified, report) = (dir.join("c1.pdf"), dir.join("c1.json"));
        assert_ok(&run(sohoa()
            .arg("certify")
            .arg(&digitized)
            .arg("-o")
            .arg(&certified)
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
            .arg(&pki.office_rsa.cert_pem)
            .arg("--key")
            .arg(&pki.office_rsa.key_pem)));
        let report: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        let word = page1
            .truth
            .split_whitespace()
            .map(|w| w.trim_matches(|c: char| !c.is_alphabetic()))
            .filter(|w| w.chars().count() >= 5 && sohoa::store::fold(w) != w.to_lowercase())
            .max_by_key(|w| (w.contains('đ') || w.contains('Đ'), w.chars().count()))
            .expect("a word with diacritics")
            .to_string();
        Inputs {
            _dir: tmp,
            pki,
            digitized,
            digitized2,
            certified,
            register: dir.join("register"),
            reference: report["reference"].as_str().unwrap().to_string(),
            word,
        }
    })
}

// ---------------------------------------------------------------- CLI helpers

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn cli(store: &Path, args: &[&str]) -> Output {
    let (command, rest) = args.split_at(if args[0] == "fsck" { 1 } else { 2 });
    let out = run(sohoa()
        .args(command)
        .args(common::store_args(store))
        .args(rest));
    out
}

fn cli_ok(store: &Path, args: &[&str]) -> String {
    let out = cli(store, args);
    assert_ok(&out);
    String::from_utf8(out.stdout).unwrap()
}

/// A new API key: (id, secret).
fn create_key(store: &Path, scopes: &[&str]) -> (String, String) {
    let mut args = vec!["key", "create", "--agency", AGENCY];
    for s in scopes {
        args.extend(["--scope", s]);
    }
    let json: Value = serde_json::from_str(&cli_ok(store, &args)).unwrap();
    (
        json["id"].as_str().unwrap().to_string(),
        json["key"].as_str().unwrap().to_string(),
    )
}

/// `sohoa store add`: the new document's JSON.
fn store_add(store: &Path, pdf: &Path, meta: [&str; 4], result: bool) -> Value {
    let [dossier, procedure, kind, title] = meta;
    let mut args = vec![
        "store",
        "add",
        "--dossier",
        dossier,
        "--procedure",
        procedure,
        "--citizen-id",
        CITIZEN,
        "--kind",
        kind,
        "--title",
        title,
    ];
    if result {
        args.push("--result");
    }
    let register = inputs().register.to_str().unwrap();
    args.extend(["--register", register]);
    let pdf = pdf.to_str().unwrap();
    args.push(pdf);
    serde_json::from_str(&cli_ok(store, &args)).unwrap()
}

fn store_list(store: &Path) -> Vec<Value> {
    serde_json::from_str(&cli_ok(store, &["store", "list", "--json"])).unwrap()
}

// ---------------------------------------------------------------- the server

/// `sohoa serve` on the store, trusting the test root.
fn start_server(store: &Path, extra: &[&str]) -> Server {
    let mut cmd = sohoa();
    cmd.arg("serve")
        .args(common::store_args(store))
        .args(["--listen", "127.0.0.1:0", "--trust"])
        .arg(&inputs().pki.root_pem)
        .args(extra);
    Server::spawn(cmd)
}

/// A store with one agency, keys of every kind and three documents.
struct Env {
    _dir: tempfile::TempDir,
    store: PathBuf,
    server: Server,
    /// read:*
    all: String,
    /// read:giay-khai-sinh
    birth: String,
    /// write only
    writer: String,
    /// Documents: the digitized page, its certified copy, another page of another kind.
    digitized: Value,
    certified: Value,
    other: Value,
}

fn env_with(extra: &[&str]) -> Env {
    let i = inputs();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    cli_ok(
        &store,
        &[
            "agency",
            "add",
            "--code",
            AGENCY,
            "--name",
            "UBND xã Thử Nghiệm",
        ],
    );
    let all = create_key(&store, &["read:*"]).1;
    let birth = create_key(&store, &["read:giay-khai-sinh"]).1;
    let writer = create_key(&store, &["write"]).1;
    let meta = ["HS-001", "1.000001", "giay-khai-sinh", "Giấy khai sinh"];
    let digitized = store_add(&store, &i.digitized, meta, false);
    let certified = store_add(&store, &i.certified, meta, true);
    let other = store_add(
        &store,
        &i.digitized2,
        ["HS-002", "2.000002", "so-ho-khau", "Sổ hộ khẩu"],
        false,
    );
    let server = start_server(&store, extra);
    Env {
        _dir: dir,
        store,
        server,
        all,
        birth,
        writer,
        digitized,
        certified,
        other,
    }
}

fn env() -> Env {
    env_with(&[])
}

// ---------------------------------------------------------------- HTTP helpers

struct Reply {
    status: u16,
    content_type: String,
    disposition: String,
    body: Vec<u8>,
}

impl Reply {
    fn expect(&self, status: u16) {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}), status {}: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn ids(&self) -> Vec<String> {
        let json = self.json();
        let array = json
            .as_array()
            .unwrap_or_else(|| panic!("not an array: {json}"));
        array
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_string())
            .collect()
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build()
}

fn send(request: ureq::Request, body: Option<&[u8]>) -> Reply {
    let result = match body {
        Some(b) => request.send_bytes(b),
        None => request.call(),
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = response.status();
    let content_type = response.header("content-type").unwrap_or("").to_string();
    let disposition = response
        .header("content-disposition")
        .unwrap_or("")
        .to_string();
    let mut body = Vec::new();
    response.into_reader().read_to_end(&mut body).unwrap();
    Reply {
        status,
        content_type,
        disposition,
        body,
    }
}

/// `GET path` with `key` (none: no Authorization header) and a purpose.
fn get(server: &Server, key: Option<&str>, path: &str) -> Reply {
    let mut request = agent().get(&server.url(path)).set("X-Purpose", PURPOSE);
    if let Some(key) = key {
        request = request.set("Authorization", &format!("Bearer {key}"));
    }
    send(request, None)
}

fn post(server: &Server, key: &str, path: &str, content_type: &str, body: &[u8]) -> Reply {
    let request = agent()
        .post(&server.url(path))
        .set("Authorization", &format!("Bearer {key}"))
        .set("Content-Type", content_type);
    send(request, Some(body))
}

/// Sends raw bytes and returns the status code and the whole reply.
fn raw(server: &Server, request: &[u8]) -> (u16, String) {
    let text = common::server::raw_exchange(&server.addr(), request.to_vec());
    (common::server::status_of(&text), text)
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn id(doc: &Value) -> &str {
    doc["id"].as_str().unwrap()
}

/// Percent-encodes a query value.
fn enc(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn audit_verify(store: &Path) -> Output {
    cli(store, &["audit", "verify"])
}

fn fsck(store: &Path) -> Output {
    cli(store, &["fsck"])
}

// ---------------------------------------------------------------- tests

#[test]
fn round_trip_lookup_download_and_verify() {
    let i = inputs();
    let e = env();
    let s = &e.server;
    let key = Some(e.all.as_str());
    let certified_bytes = std::fs::read(&i.certified).unwrap();
    let cert_id = id(&e.certified).to_string();

    let by_citizen = get(s, key, &format!("/api/v1/documents?citizen_id={CITIZEN}"));
    by_citizen.expect(200);
    let mut ids = by_citizen.ids();
    ids.sort();
    let mut expected = vec![
        id(&e.digitized).to_string(),
        cert_id.clone(),
        id(&e.other).to_string(),
    ];
    expected.sort();
    assert_eq!(ids, expected);
    let doc = &by_citizen.json()[0];
    for field in [
        "id",
        "sha256",
        "kind",
        "title",
        "dossier_code",
        "citizen_id",
    ] {
        assert!(doc[field].is_string(), "{field} missing: {doc}");
    }

    let by_kind = get(
        s,
        key,
        &format!("/api/v1/documents?citizen_id={CITIZEN}&kind=so-ho-khau"),
    );
    assert_eq!(by_kind.ids(), vec![id(&e.other).to_string()]);

    let by_dossier = get(s, key, "/api/v1/documents?dossier_code=HS-001");
    assert_eq!(by_dossier.ids().len(), 2);

    let sha = sha256(&certified_bytes);
    assert_eq!(e.certified["sha256"], sha.as_str());
    let by_sha = get(s, key, &format!("/api/v1/documents?sha256={sha}"));
    assert_eq!(by_sha.ids(), vec![cert_id.clone()]);
    let upper = get(
        s,
        key,
        &format!("/api/v1/documents?sha256={}", sha.to_uppercase()),
    );
    assert_eq!(upper.ids(), vec![cert_id.clone()]);

    let by_reference = get(
        s,
        key,
        &format!("/api/v1/documents?reference={}", enc(&i.reference)),
    );
    assert_eq!(by_reference.ids(), vec![cert_id.clone()]);

    // Search, with the diacritics and without them (đ folds to d).
    let folded = sohoa::store::fold(&i.word);
    for q in [i.word.clone(), folded.clone(), folded.to_uppercase()] {
        let found = get(s, key, &format!("/api/v1/search?q={}", enc(&q)));
        found.expect(200);
        let ids = found.ids();
        assert!(
            ids.contains(&id(&e.digitized).to_string()),
            "search {q:?} missed the document: {ids:?}"
        );
        assert!(!ids.contains(&id(&e.other).to_string()), "{q:?}: {ids:?}");
    }
    let filtered = get(
        s,
        key,
        &format!("/api/v1/search?q={}&kind=so-ho-khau", enc(&folded)),
    );
    assert_eq!(filtered.ids(), Vec::<String>::new());

    let meta = get(s, key, &format!("/api/v1/documents/{cert_id}"));
    assert_eq!(meta.status, 200);
    assert_eq!(meta.json()["id"], cert_id.as_str());
    assert_eq!(meta.json()["reference"], i.reference.as_str());

    let file = get(s, key, &format!("/api/v1/documents/{cert_id}/file"));
    assert_eq!(file.status, 200);
    assert_eq!(file.content_type, "application/pdf");
    assert!(
        file.disposition.starts_with("attachment;"),
        "{}",
        file.disposition
    );
    assert!(
        file.body == certified_bytes,
        "download is not byte-identical"
    );
    let by_hash = get(s, key, &format!("/api/v1/documents/{cert_id}/files/{sha}"));
    assert!(by_hash.status == 200 && by_hash.body == certified_bytes);

    let verified = post(s, &e.all, "/api/v1/verify", "application/pdf", &file.body);
    assert_eq!(verified.status, 200);
    let v = verified.json();
    assert_eq!(v["valid"], true, "{v:#}");
    assert_eq!(v["in_store"], true);
    assert_eq!(v["document_id"], cert_id.as_str());
    assert_eq!(v["signatures"][0]["chain_trusted"], true);
    assert_eq!(
        (v["outcome"].as_str(), v["trusted"].as_bool()),
        (Some("trusted"), Some(true))
    );

    // A changed copy: still parses, no longer valid, not in the store.
    let mut tampered = certified_bytes.clone();
    tampered.extend_from_slice(b"\n% appended\n");
    let v = post(s, &e.all, "/api/v1/verify", "application/pdf", &tampered).json();
    assert_eq!(v["in_store"], false);
    assert_eq!(v["outcome"], "invalid");
    assert_eq!(v["document_id"], Value::Null);
    // An unsigned stored PDF: in the store, not valid.
    let plain = std::fs::read(&i.digitized).unwrap();
    let v = post(s, &e.all, "/api/v1/verify", "application/pdf", &plain).json();
    assert_eq!(
        (v["valid"].clone(), v["in_store"].clone()),
        (false.into(), true.into())
    );

    assert_ok(&audit_verify(&e.store));
}

#[test]
fn ingest_over_http_then_read_back() {
    let i = inputs();
    let e = env();
    let s = &e.server;
    let pdf = std::fs::read(&i.certified).unwrap();
    let query = format!(
        "/api/v1/documents?dossier_code=HS-009&procedure_code=1.000001&citizen_id={OTHER_CITIZEN}\
         &kind=giay-khai-sinh&title={}&role=result&file_name={}",
        enc("Bản sao giấy khai sinh"),
        enc("bản sao.pdf"),
    );
    let created = post(s, &e.writer, &query, "application/pdf", &pdf);
    created.expect(201);
    let doc = created.json();
    assert_eq!(doc["citizen_id"], OTHER_CITIZEN);
    assert_eq!(doc["agency"], AGENCY);
    assert_eq!(doc["role"], "result");
    assert_eq!(doc["sha256"], sha256(&pdf).as_str());
    assert_eq!(doc["page_count"], 1);
    assert_eq!(
        doc["reference"],
        Value::Null,
        "text printed on a stamp names no register entry: only this server's register does"
    );
    assert_eq!(
        doc["files"][0]["role"], "certified",
        "its signer chains to the server's trust anchor"
    );

    // JSON + base64 form.
    use base64::Engine;
    let body = serde_json::json!({
        "metadata": { "dossier_code": "HS-010", "procedure_code": "2.000002",
            "citizen_id": OTHER_CITIZEN, "kind": "so-ho-khau", "title": "Sổ hộ khẩu" },
        "pdf_base64": base64::engine::general_purpose::STANDARD.encode(std::fs::read(&i.digitized2).unwrap()),
    });
    let created2 = post(
        s,
        &e.writer,
        "/api/v1/documents",
        "application/json",
        body.to_string().as_bytes(),
    );
    created2.expect(201);

    let listed = get(
        s,
        Some(&e.all),
        &format!("/api/v1/documents?citizen_id={OTHER_CITIZEN}"),
    );
    let mut ids = listed.ids();
    ids.sort();
    let mut expected = vec![id(&doc).to_string(), id(&created2.json()).to_string()];
    expected.sort();
    assert_eq!(ids, expected);
    let file = get(
        s,
        Some(&e.all),
        &format!("/api/v1/documents/{}/file", id(&doc)),
    );
    assert!(file.body == pdf);
    assert!(
        file.disposition
            .contains("filename*=UTF-8''b%E1%BA%A3n%20sao.pdf"),
        "{}",
        file.disposition
    );

    // A read key may not write; a write key may not read.
    let denied = post(s, &e.all, &query, "application/pdf", &pdf);
    assert_eq!(denied.status, 403);
    let denied = get(
        s,
        Some(&e.writer),
        &format!("/api/v1/documents/{}", id(&doc)),
    );
    assert_eq!(denied.status, 403);
    assert_ok(&fsck(&e.store));
}

#[test]
fn keys_are_required_and_scopes_leak_nothing() {
    let e = env_with(&["--key-cache-ms", "200"]);
    let s = &e.server;
    let path = format!("/api/v1/documents?citizen_id={CITIZEN}");

    let none = get(s, None, &path);
    assert_eq!(none.status, 401);
    assert!(none.json()["error"].is_string());
    for header in ["Basic abc", "Bearer", "Bearer ", "sohoa_x"] {
        let request = agent()
            .get(&s.url(&path))
            .set("X-Purpose", PURPOSE)
            .set("Authorization", header);
        assert_eq!(send(request, None).status, 401, "{header}");
    }
    assert_eq!(get(s, Some("sohoa_not-a-real-key"), &path).status, 401);

    // Revoked: works before, 401 after (within the key cache time).
    let (key_id, secret) = create_key(&e.store, &["read:*"]);
    assert_eq!(get(s, Some(&secret), &path).status, 200);
    cli_ok(&e.store, &["key", "revoke", &key_id]);
    std::thread::sleep(Duration::from_millis(400));
    let revoked = get(s, Some(&secret), &path);
    assert_eq!(revoked.status, 401);
    assert!(revoked.json()["error"].is_string());

    // The kind-scoped key: lists are filtered, other documents are 403 like missing ones.
    let birth = Some(e.birth.as_str());
    let mut ids = get(s, birth, &path).ids();
    ids.sort();
    let mut expected = vec![id(&e.digitized).to_string(), id(&e.certified).to_string()];
    expected.sort();
    assert_eq!(ids, expected);
    let other = id(&e.other);
    let missing = "aaaaaaaaaaaaaaaaaaaaaaaaaa";
    let outside = get(s, birth, &format!("/api/v1/documents/{other}"));
    let absent = get(s, birth, &format!("/api/v1/documents/{missing}"));
    assert_eq!(outside.status, 403);
    assert_eq!((absent.status, &absent.body), (403, &outside.body));
    for suffix in [
        "/file",
        &format!("/files/{}", e.other["sha256"].as_str().unwrap()),
    ] {
        let outside = get(s, birth, &format!("/api/v1/documents/{other}{suffix}"));
        let absent = get(s, birth, &format!("/api/v1/documents/{missing}{suffix}"));
        assert_eq!(outside.status, 403, "{suffix}");
        assert_eq!(
            (absent.status, &absent.body),
            (403, &outside.body),
            "{suffix}"
        );
    }
    let sha = e.other["sha256"].as_str().unwrap();
    let by_sha = get(s, birth, &format!("/api/v1/documents?sha256={sha}"));
    assert_eq!((by_sha.status, by_sha.ids()), (200, vec![]));
    let by_dossier = get(s, birth, "/api/v1/documents?dossier_code=HS-002");
    assert_eq!((by_dossier.status, by_dossier.ids()), (200, vec![]));
    let searched = get(s, birth, "/api/v1/search?kind=so-ho-khau");
    assert_eq!((searched.status, searched.ids()), (200, vec![]));
    assert_eq!(
        get(s, birth, &format!("/api/v1/documents/{}", id(&e.digitized))).status,
        200
    );
    // Verification of a file held outside the scope: in_store but no id.
    let file = get(s, Some(&e.all), &format!("/api/v1/documents/{other}/file")).body;
    let v = post(s, &e.birth, "/api/v1/verify", "application/pdf", &file).json();
    assert_eq!(
        (v["in_store"].clone(), v["document_id"].clone()),
        (true.into(), Value::Null)
    );

    // read:* sees a missing document as missing; the write-only key reads nothing.
    assert_eq!(
        get(s, Some(&e.all), &format!("/api/v1/documents/{missing}")).status,
        404
    );
    assert_eq!(get(s, Some(&e.writer), &path).status, 403);

    // No key needed for these two.
    let openapi = get(s, None, "/openapi.json");
    assert_eq!(openapi.status, 200);
    let doc = openapi.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.0"));
    for p in [
        "/api/v1/documents",
        "/api/v1/documents/{id}/file",
        "/api/v1/search",
        "/api/v1/verify",
    ] {
        assert!(
            doc["paths"][p].is_object(),
            "{p} missing from the OpenAPI document"
        );
    }
    assert_eq!(get(s, None, "/healthz").status, 200);
}

#[test]
fn every_read_is_audited_with_its_purpose() {
    let e = env();
    let s = &e.server;
    let store = common::open_store(&e.store);
    let before = store.audit_entries(10_000).unwrap().len();
    let doc = id(&e.digitized);
    let reads = [
        format!("/api/v1/documents?citizen_id={CITIZEN}"),
        format!("/api/v1/documents/{doc}"),
        format!("/api/v1/documents/{doc}/file"),
        "/api/v1/search?q=abc".to_string(),
    ];
    for path in &reads {
        assert_eq!(get(s, Some(&e.all), path).status, 200, "{path}");
    }
    // A denied read is recorded too, with nothing returned.
    assert_eq!(
        get(
            s,
            Some(&e.birth),
            &format!("/api/v1/documents/{}", id(&e.other))
        )
        .status,
        403
    );
    // A purpose given as a parameter, in Vietnamese.
    let request = agent()
        .get(&s.url(&format!(
            "/api/v1/documents/{doc}?purpose={}",
            enc("xác minh hồ sơ")
        )))
        .set("Authorization", &format!("Bearer {}", e.all));
    assert_eq!(send(request, None).status, 200);

    // No purpose: refused before anything is read, and the refusal is audited.
    let request = agent()
        .get(&s.url(&format!("/api/v1/documents/{doc}")))
        .set("Authorization", &format!("Bearer {}", e.all));
    let refused = send(request, None);
    assert_eq!(refused.status, 400);
    assert!(refused.json()["error"]
        .as_str()
        .unwrap()
        .contains("purpose"));

    let entries = store.audit_entries(10_000).unwrap();
    assert_eq!(entries.len(), before + reads.len() + 3, "{entries:#?}");
    let text = serde_json::to_string(&entries).unwrap();
    assert!(
        text.contains(PURPOSE) && text.contains("xác minh hồ sơ"),
        "{text}"
    );
    assert!(text.contains(AGENCY));
    for path in &reads {
        assert!(
            text.contains(path.as_str()),
            "{path} not in the audit log: {text}"
        );
    }
    assert!(text.contains(doc));
    assert_ok(&audit_verify(&e.store));

    // Editing one entry breaks the chain.
    let changed = common::index_sql(
        &e.store,
        "UPDATE audit SET purpose = 'sửa' WHERE seq = (SELECT MAX(seq) - 2 FROM audit)",
    );
    assert_eq!(changed, 1);
    assert!(!audit_verify(&e.store).status.success());
}

#[test]
fn bad_requests_get_json_errors() {
    let e = env_with(&["--max-body-mb", "1"]);
    let s = &e.server;
    let key = Some(e.all.as_str());
    let expect = |reply: Reply, status: u16, what: &str| {
        assert_eq!(
            reply.status,
            status,
            "{what}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        assert!(reply.json()["error"].is_string(), "{what}");
    };

    for bad in ["12345", "0012345678901", "00123456789a", "%20001234567890"] {
        expect(
            get(s, key, &format!("/api/v1/documents?citizen_id={bad}")),
            400,
            bad,
        );
    }
    expect(get(s, key, "/api/v1/documents"), 400, "no lookup key");
    expect(
        get(s, key, "/api/v1/documents?dossier_code=A&sha256=00"),
        400,
        "two keys",
    );
    expect(
        get(s, key, "/api/v1/documents?sha256=xyz"),
        400,
        "bad sha256",
    );
    expect(
        get(s, key, "/api/v1/documents?color=red"),
        400,
        "unknown parameter",
    );
    expect(get(s, key, "/api/v1/search?q=a&limit=0"), 400, "limit 0");
    expect(
        get(s, key, "/api/v1/search?q=a&from=2024-13-01"),
        400,
        "bad date",
    );
    expect(get(s, key, "/api/v1/search"), 400, "empty search");
    for path in [
        "/api/v1/documents/..%2F..%2Fetc%2Fpasswd",
        "/api/v1/documents/..%2Findex.sqlite/file",
        "/api/v1/documents/%2Fetc%2Fpasswd/file",
        &format!(
            "/api/v1/documents/{}/files/..%2F..%2Findex.sqlite",
            id(&e.digitized)
        ),
    ] {
        let reply = get(s, key, path);
        assert!(
            (400..500).contains(&reply.status),
            "{path}: {}",
            reply.status
        );
        assert!(reply.json()["error"].is_string());
    }
    let (code, _) = raw(
        s,
        format!(
            "GET /api/v1/documents/../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\
             Authorization: Bearer {}\r\nX-Purpose: t\r\nConnection: close\r\n\r\n",
            e.all
        )
        .as_bytes(),
    );
    assert!((400..500).contains(&code), "raw dot-dot path: {code}");
    expect(get(s, key, "/no/such/route"), 404, "unknown route");
    expect(
        send(
            agent()
                .delete(&s.url("/api/v1/search"))
                .set("Authorization", &format!("Bearer {}", e.all)),
            None,
        ),
        405,
        "wrong method",
    );

    // Ingest: malformed JSON, bad base64, not a PDF, bad personal ID, wrong type.
    let w = &e.writer;
    let docs = "/api/v1/documents";
    expect(
        post(s, w, docs, "application/json", b"{\"metadata\": {"),
        400,
        "malformed JSON",
    );
    expect(
        post(s, w, docs, "application/json", b"[1, 2]"),
        400,
        "JSON of the wrong shape",
    );
    let meta = serde_json::json!({ "dossier_code": "X", "procedure_code": "Y",
        "citizen_id": CITIZEN, "kind": "k", "title": "t" });
    let bad64 = serde_json::json!({ "metadata": meta, "pdf_base64": "***" });
    expect(
        post(s, w, docs, "application/json", bad64.to_string().as_bytes()),
        400,
        "base64",
    );
    let q = format!("{docs}?dossier_code=X&procedure_code=Y&citizen_id={CITIZEN}&kind=k&title=t");
    expect(
        post(s, w, &q, "application/pdf", b"hello"),
        400,
        "not a PDF",
    );
    expect(
        post(s, w, &q, "application/pdf", b"%PDF-1.7\ngarbage"),
        400,
        "broken PDF",
    );
    expect(post(s, w, &q, "application/pdf", b""), 400, "empty body");
    let pdf = std::fs::read(&inputs().digitized).unwrap();
    let bad_id = q.replace(CITIZEN, "12345");
    expect(
        post(s, w, &bad_id, "application/pdf", &pdf),
        400,
        "bad personal ID",
    );
    expect(
        post(s, w, docs, "application/pdf", &pdf),
        400,
        "no metadata",
    );
    expect(
        post(s, w, &q, "text/plain", &pdf),
        415,
        "wrong content type",
    );

    // Bodies over the limit (1 MiB): declared, and chunked without a length.
    let big = vec![b'x'; 3 << 20];
    let (code, reply) = raw(
        s,
        format!(
            "POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/pdf\r\nContent-Length: {}\r\n\r\n",
            e.all,
            big.len()
        )
        .as_bytes(),
    );
    assert_eq!(code, 413, "{reply}");
    assert!(reply.contains("\"error\""), "{reply}");
    let mut chunked = format!(
        "POST {q} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {w}\r\n\
         Content-Type: application/pdf\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for piece in big.chunks(64 << 10) {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (code, reply) = raw(s, &chunked);
    assert_eq!(code, 413, "{reply}");

    // Nothing of this was stored.
    assert_eq!(store_list(&e.store).len(), 3);
    assert_ok(&fsck(&e.store));
}

/// `pdf` with a comment after its end: another file (another SHA-256), still the same PDF.
fn variant(pdf: &[u8], n: usize) -> Vec<u8> {
    let mut out = pdf.to_vec();
    out.extend_from_slice(format!("\n% variant {n}\n").as_bytes());
    out
}

fn ingest_query(n: usize) -> String {
    format!(
        "/api/v1/documents?dossier_code=HS-C{n}&procedure_code=1.000001&citizen_id={OTHER_CITIZEN}\
         &kind=giay-khai-sinh&title=doc-{n}"
    )
}

#[test]
fn concurrent_lookups_and_ingests_lose_nothing() {
    let e = env();
    let pdf = std::fs::read(&inputs().digitized).unwrap();
    let (readers, writers, per_writer) = (8, 2, 15);
    let ingested = std::thread::scope(|scope| {
        let mut reads = Vec::new();
        for r in 0..readers {
            let e = &e;
            reads.push(scope.spawn(move || {
                for n in 0..40 {
                    let path = match (r + n) % 4 {
                        0 => format!("/api/v1/documents?citizen_id={CITIZEN}"),
                        1 => format!("/api/v1/documents/{}", id(&e.certified)),
                        2 => "/api/v1/search?q=abc".to_string(),
                        _ => format!("/api/v1/documents?citizen_id={OTHER_CITIZEN}"),
                    };
                    let reply = get(&e.server, Some(&e.all), &path);
                    assert_eq!(
                        reply.status,
                        200,
                        "{path}: {}",
                        String::from_utf8_lossy(&reply.body)
                    );
                }
            }));
        }
        let mut writes = Vec::new();
        for w in 0..writers {
            let (e, pdf) = (&e, &pdf);
            writes.push(scope.spawn(move || {
                (0..per_writer)
                    .map(|n| {
                        let k = w * per_writer + n;
                        let reply = post(
                            &e.server,
                            &e.writer,
                            &ingest_query(k),
                            "application/pdf",
                            &variant(pdf, k),
                        );
                        reply.expect(201);
                        id(&reply.json()).to_string()
                    })
                    .collect::<Vec<_>>()
            }));
        }
        for r in reads {
            r.join().unwrap();
        }
        writes
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect::<Vec<_>>()
    });
    assert_eq!(ingested.len(), writers * per_writer);
    let listed: Vec<String> = store_list(&e.store)
        .iter()
        .map(|d| id(d).to_string())
        .collect();
    for doc in &ingested {
        assert!(listed.contains(doc), "{doc} lost");
    }
    let by_citizen = get(
        &e.server,
        Some(&e.all),
        &format!("/api/v1/documents?citizen_id={OTHER_CITIZEN}"),
    );
    assert_eq!(by_citizen.ids().len(), ingested.len());
    assert_ok(&fsck(&e.store));
    assert_ok(&audit_verify(&e.store));
}

#[test]
fn kill_during_ingest_leaves_a_consistent_store() {
    let e = env();
    let pdf = std::fs::read(&inputs().digitized2).unwrap();
    let mut server = start_server(&e.store, &[]);
    let pid = server.child.id().to_string();
    let stop = Instant::now() + Duration::from_secs(60);
    let acknowledged = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|w| {
                let (server, e, pdf) = (&server, &e, &pdf);
                scope.spawn(move || {
                    let mut done = Vec::new();
                    for n in 0.. {
                        let k = 1000 * (w + 1) + n;
                        let request = agent()
                            .post(&server.url(&ingest_query(k)))
                            .set("Authorization", &format!("Bearer {}", e.writer))
                            .set("Content-Type", "application/pdf");
                        match request.send_bytes(&variant(pdf, k)) {
                            Ok(r) if r.status() == 201 => done.push(
                                r.into_json::<Value>().unwrap()["id"]
                                    .as_str()
                                    .unwrap()
                                    .to_string(),
                            ),
                            Ok(r) => panic!("status {}", r.status()),
                            Err(ureq::Error::Status(code, r)) => {
                                panic!("status {code}: {}", r.into_string().unwrap_or_default())
                            }
                            Err(_) => break, // the server is gone
                        }
                        if Instant::now() > stop {
                            break;
                        }
                    }
                    done
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(1500));
        assert_ok(&run(Command::new("kill").args(["-KILL", &pid])));
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect::<Vec<_>>()
    });
    server.child.wait().unwrap();
    assert!(
        !acknowledged.is_empty(),
        "no ingest finished before the kill"
    );
    eprintln!(
        "{} ingests acknowledged before the kill",
        acknowledged.len()
    );

    let out = fsck(&e.store);
    assert_ok(&out);
    let listed = store_list(&e.store);
    let ids: Vec<&str> = listed.iter().map(id).collect();
    for doc in &acknowledged {
        assert!(ids.contains(&doc.as_str()), "acknowledged {doc} lost");
    }
    // At most the two requests in flight may have landed without an answer.
    assert!(listed.len() <= 3 + acknowledged.len() + 2);

    // After a restart every listed document is whole.
    let again = start_server(&e.store, &[]);
    for doc in &listed {
        let file = get(
            &again,
            Some(&e.all),
            &format!("/api/v1/documents/{}/file", id(doc)),
        );
        assert_eq!(file.status, 200);
        assert_eq!(sha256(&file.body), doc["sha256"].as_str().unwrap());
    }
    assert_ok(&audit_verify(&e.store));
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let e = env();
    let mut server = start_server(&e.store, &[]);
    assert_eq!(get(&server, None, "/healthz").status, 200);
    // Idle keep-alive connections do not hold the server up (idle timeout: 60 s).
    let _idle: Vec<TcpStream> = (0..5)
        .map(|_| TcpStream::connect(server.addr()).unwrap())
        .collect();
    let pid = server.child.id().to_string();
    assert_ok(&run(Command::new("kill").args(["-TERM", &pid])));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(e);
}

// ---------------------------------------------------------------- attacks (issue 12)

/// A second agency with a write key: (code, secret).
fn other_agency_writer(store: &Path) -> String {
    cli_ok(
        store,
        &[
            "agency",
            "add",
            "--code",
            "UBND-XA-KHAC",
            "--name",
            "UBND xã Khác",
        ],
    );
    let json: Value = serde_json::from_str(&cli_ok(
        store,
        &[
            "key",
            "create",
            "--agency",
            "UBND-XA-KHAC",
            "--scope",
            "write",
        ],
    ))
    .unwrap();
    json["key"].as_str().unwrap().to_string()
}

fn audit_entries(store: &Path) -> Vec<Value> {
    serde_json::from_str(&cli_ok(store, &["audit", "list", "--limit", "1000"])).unwrap()
}

#[test]
fn another_agency_cannot_supersede_and_corrections_stay_in_the_dossier() {
    let i = inputs();
    let e = env();
    let s = &e.server;
    let victim = id(&e.digitized).to_string();
    let pdf = std::fs::read(&i.digitized2).unwrap();
    let intruder = other_agency_writer(&e.store);
    let attack = format!(
        "/api/v1/documents?dossier_code=HS-ATK&procedure_code=1.000001&citizen_id={CITIZEN}\
         &kind=giay-khai-sinh&title=x&supersedes={victim}"
    );
    let refused = post(s, &intruder, &attack, "application/pdf", &pdf);
    refused.expect(400);
    assert!(
        String::from_utf8_lossy(&refused.body).contains("another agency"),
        "{}",
        String::from_utf8_lossy(&refused.body)
    );
    // The owner may not supersede across persons or kinds outside the dossier either.
    let elsewhere = format!(
        "/api/v1/documents?dossier_code=HS-777&procedure_code=1.000001&citizen_id={OTHER_CITIZEN}\
         &kind=giay-khai-sinh&title=x&supersedes={victim}"
    );
    post(s, &e.writer, &elsewhere, "application/pdf", &pdf).expect(400);
    let current = get(
        s,
        Some(&e.all),
        &format!("/api/v1/documents?citizen_id={CITIZEN}"),
    );
    assert!(
        current.ids().contains(&victim),
        "the document stays current"
    );

    // A correction in the same dossier by the owning agency: allowed, audited, and the
    // old document stays readable by id with its successor.
    let fix = format!(
        "/api/v1/documents?dossier_code=HS-001&procedure_code=1.000001&citizen_id={CITIZEN}\
         &kind=giay-khai-sinh&title=dinh-chinh&supersedes={victim}"
    );
    let created = post(s, &e.writer, &fix, "application/pdf", &pdf);
    created.expect(201);
    let new_id = id(&created.json()).to_string();
    let old = get(s, Some(&e.all), &format!("/api/v1/documents/{victim}"));
    old.expect(200);
    assert_eq!(old.json()["superseded_by"], new_id.as_str());
    let entries = audit_entries(&e.store);
    assert!(
        entries.iter().any(|a| a["action"]
            .as_str()
            .unwrap()
            .contains(&format!("supersedes={victim}"))
            && a["returned"].as_array().unwrap().len() == 2),
        "the supersession is audited with both ids"
    );
    assert!(
        entries
            .iter()
            .any(|a| a["agency"] == "UBND-XA-KHAC"
                && a["action"].as_str().unwrap().ends_with("-> 400")),
        "the refused attempt is audited"
    );
}

/// Certifies `input` with a self-made certificate in its own register: a forgery whose
/// stamp carries the same reference text as the genuine copy (book 01, number 1).
fn forged_copy(dir: &Path, input: &Path) -> PathBuf {
    let (key, cert, out) = (
        dir.join("forger.key"),
        dir.join("forger.pem"),
        dir.join("forged.pdf"),
    );
    let made = run(Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .args([
            "-subj",
            "/CN=Nguyen Van An/O=UBND xa Thu Nghiem",
            "-addext",
            "keyUsage=critical,digitalSignature,nonRepudiation",
        ]));
    assert_ok(&made);
    assert_ok(&run(sohoa()
        .arg("certify")
        .arg(input)
        .arg("-o")
        .arg(&out)
        .args([
            "--certifier",
            "Nguyễn Văn An",
            "--agency",
            "UBND xã Thử Nghiệm",
        ])
        .arg("--register")
        .arg(dir.join("forger-register"))
        .arg("--cert")
        .arg(&cert)
        .arg("--key")
        .arg(&key)));
    out
}

#[test]
fn references_come_from_the_register_and_forgeries_are_not_certified() {
    let i = inputs();
    let e = env();
    let s = &e.server;
    let genuine = id(&e.certified).to_string();
    let dir = tempfile::tempdir().unwrap();
    let forged = std::fs::read(forged_copy(dir.path(), &i.digitized)).unwrap();
    let q = |n: &str, extra: &str| {
        format!(
            "/api/v1/documents?dossier_code=HS-F{n}&procedure_code=1.000001&citizen_id={OTHER_CITIZEN}\
             &kind=giay-khai-sinh&title=x{extra}"
        )
    };
    // (a) Re-labelling: a reference that the register did not issue for these bytes.
    let relabel = format!("&reference={}", enc(&i.reference));
    let plain = std::fs::read(&i.digitized2).unwrap();
    post(s, &e.writer, &q("1", &relabel), "application/pdf", &plain).expect(400);
    post(s, &e.writer, &q("2", &relabel), "application/pdf", &forged).expect(400);
    // (b, c) The forgery, whose stamp prints the genuine reference, is stored as an
    // ordinary PDF without a reference, with its verification report.
    let stored = post(s, &e.writer, &q("3", ""), "application/pdf", &forged);
    stored.expect(201);
    let doc = stored.json();
    assert_eq!(doc["reference"], Value::Null);
    assert_eq!(doc["files"][0]["role"], "pdf", "{doc}");
    assert!(doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["name"] == "verification.json" && f["role"] == "report"));
    // A tampered genuine copy (bytes appended after signing) is not certified either.
    let tampered = variant(&std::fs::read(&i.certified).unwrap(), 1);
    let stored = post(s, &e.writer, &q("4", ""), "application/pdf", &tampered);
    stored.expect(201);
    assert_eq!(stored.json()["files"][0]["role"], "pdf");
    // The reference still names exactly the genuine copy.
    let found = get(
        s,
        Some(&e.all),
        &format!("/api/v1/documents?reference={}", enc(&i.reference)),
    );
    assert_eq!(found.ids(), vec![genuine]);
    // Storing the genuine copy a second time (same register entry) is refused.
    let again = run(sohoa()
        .args(["store", "add"])
        .args(common::store_args(&e.store))
        .args([
            "--dossier",
            "HS-001",
            "--procedure",
            "1.000001",
            "--citizen-id",
            CITIZEN,
        ])
        .args([
            "--kind",
            "giay-khai-sinh",
            "--title",
            "lan hai",
            "--register",
        ])
        .arg(&i.register)
        .arg(&i.certified));
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already stored as document"));
    assert_ok(&fsck(&e.store));
}

#[test]
fn refused_reads_are_audited_too() {
    let e = env();
    let s = &e.server;
    let before = audit_entries(&e.store).len();
    let path = format!("/api/v1/documents?citizen_id={CITIZEN}");
    get(s, Some(&e.writer), &path).expect(403);
    let no_purpose = agent()
        .get(&s.url(&path))
        .set("Authorization", &format!("Bearer {}", e.all));
    send(no_purpose, None).expect(400);
    get(s, Some(&e.all), "/api/v1/search?bogus=1").expect(400);
    let entries = audit_entries(&e.store);
    assert_eq!(entries.len(), before + 3, "{entries:#?}");
    let actions: Vec<&str> = entries[..3]
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert!(actions.iter().any(|a| a.ends_with("-> 403")), "{actions:?}");
    assert_eq!(actions.iter().filter(|a| a.ends_with("-> 400")).count(), 2);
    assert_ok(&audit_verify(&e.store));
}

#[test]
fn idle_and_slow_connections_cannot_starve_requests() {
    let e = env_with(&[
        "--max-connections",
        "40",
        "--header-timeout-secs",
        "2",
        "--idle-timeout-secs",
        "30",
    ]);
    let s = &e.server;
    // Many more idle sockets than the cap: the longest-idle ones are closed to make room.
    let idle: Vec<TcpStream> = (0..300)
        .map(|_| TcpStream::connect(s.addr()).unwrap())
        .collect();
    let started = Instant::now();
    get(
        s,
        Some(&e.all),
        &format!("/api/v1/documents?citizen_id={CITIZEN}"),
    )
    .expect(200);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // A client that never finishes its header is cut off after the header timeout.
    let mut slow = TcpStream::connect(s.addr()).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 512];
    let n = slow.read(&mut buf).unwrap_or(0);
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "closed after {:?}: {:?}",
        started.elapsed(),
        String::from_utf8_lossy(&buf[..n])
    );
    drop(idle);
}

#[test]
fn the_audit_chain_is_keyed_and_checked_against_a_recorded_head() {
    let e = env();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("audit.key");
    let keygen = run(sohoa().args(["audit", "keygen", "-o"]).arg(&key));
    assert_ok(&keygen);
    let keyed = |args: &[&str]| {
        run(sohoa()
            .args(&args[..2])
            .args(common::store_args(&e.store))
            .arg("--audit-key")
            .arg(&key)
            .args(&args[2..]))
    };
    // Entries written before the key existed carry no MAC: with the key they are flagged.
    assert_ok(&cli(&e.store, &["store", "list", "--json"]));
    let out = keyed(&["audit", "verify"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("carries no MAC"));
    // Start a keyed log: remove the old rows (an operator's fresh start) and append.
    let sql = |statement: &str| {
        common::index_sql(&e.store, statement);
    };
    sql("DELETE FROM audit");
    for _ in 0..3 {
        assert_ok(&keyed(&["store", "list", "--json"]));
    }
    let verified = keyed(&["audit", "verify", "--json"]);
    assert_ok(&verified);
    let report: Value = serde_json::from_slice(&verified.stdout).unwrap();
    let head = report["notes"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|n| {
            n.as_str()
                .unwrap()
                .split("head hash ")
                .nth(1)
                .map(str::to_string)
        })
        .unwrap();
    assert_ok(&keyed(&["audit", "verify", "--head", &head]));
    // Without the key, an attacker rebuilds the chain: it holds, but not under the key.
    sql("DELETE FROM audit");
    assert_ok(&cli(&e.store, &["store", "list", "--json"]));
    assert_ok(&audit_verify(&e.store));
    let out = keyed(&["audit", "verify"]);
    assert!(
        !out.status.success(),
        "a rebuilt chain is caught with the key"
    );
    // Truncation of the newest entries is caught against the recorded head.
    let out = cli(&e.store, &["audit", "verify", "--head", &head]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("not in the chain"));
}

#[test]
fn tls_of_its_own_with_hsts() {
    let i = inputs();
    let e = env();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("tls.pem"), dir.path().join("tls.key"));
    assert_ok(&run(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args([
            "-days",
            "30",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)));
    let mut cmd = sohoa();
    cmd.args(["serve"])
        .args(common::store_args(&e.store))
        .args(["--listen", "127.0.0.1:0", "--trust"])
        .arg(&i.pki.root_pem)
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key);
    let tls = Server::spawn(cmd);
    assert!(tls.base.starts_with("https://"), "{}", tls.base);
    let out = run(Command::new("curl")
        .args(["-sS", "-D", "-", "--cacert"])
        .arg(&cert)
        .arg(tls.url("/healthz")));
    assert_ok(&out);
    let reply = String::from_utf8_lossy(&out.stdout).to_lowercase();
    assert!(reply.starts_with("http/1.1 200"), "{reply}");
    assert!(
        reply.contains("strict-transport-security: max-age=31536000"),
        "{reply}"
    );
    // Plain HTTP to the TLS port gets no answer in clear.
    let plain = run(Command::new("curl")
        .args(["-sS", "-m", "5"])
        .arg(tls.url("/healthz").replace("https", "http")));
    assert!(!plain.status.success());
    // Bad TLS files are refused at start with a clear message.
    let bad = run(sohoa()
        .args(["serve"])
        .args(common::store_args(&e.store))
        .args(["--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&key)
        .arg("--tls-key")
        .arg(&key));
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("tls.key"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

#[test]
fn answers_are_not_cached_and_store_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let e = env();
    let reply = agent()
        .get(
            &e.server
                .url(&format!("/api/v1/documents?citizen_id={CITIZEN}")),
        )
        .set("X-Purpose", PURPOSE)
        .set("Authorization", &format!("Bearer {}", e.all))
        .call()
        .unwrap();
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    if !common::shared_backends() {
        assert_eq!(mode(&e.store), 0o700);
        assert_eq!(mode(&e.store.join("index.sqlite")), 0o600);
        assert_eq!(mode(&e.store.join("blobs")), 0o700);
    }
    assert_eq!(mode(&inputs().register.join("register.sqlite")), 0o600);
    // What the user asked for gets the usual permissions (umask 022 here: 0644).
    assert_eq!(
        mode(&inputs().digitized) & 0o044,
        0o044,
        "outputs are readable as usual"
    );
}

#[test]
fn bidirectional_overrides_are_refused_in_titles() {
    let i = inputs();
    let e = env();
    let q = format!(
        "/api/v1/documents?dossier_code=HS-B1&procedure_code=1.000001&citizen_id={OTHER_CITIZEN}\
         &kind=giay-khai-sinh&title={}",
        enc("hoa-don\u{202E}fdp.exe")
    );
    let refused = post(
        &e.server,
        &e.writer,
        &q,
        "application/pdf",
        &std::fs::read(&i.digitized2).unwrap(),
    );
    refused.expect(400);
    assert!(String::from_utf8_lossy(&refused.body).contains("bidirectional"));
}

#[test]
fn connection_limits_come_from_sohoa_toml_too() {
    let e = env();
    let dir = tempfile::tempdir().unwrap();
    // A bad value or an unknown key in [serve] stops the server with the file's name.
    let bad = |toml: &str| {
        std::fs::write(dir.path().join("sohoa.toml"), toml).unwrap();
        let out = run(sohoa()
            .current_dir(dir.path())
            .args(["serve"])
            .args(common::store_args(&e.store))
            .args(["--listen", "127.0.0.1:0"]));
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(bad("[serve]\nmax_connections = 0\n").contains("at least 1"));
    assert!(bad("[serve]\nidle_timeout_secs = 0\n").contains("at least 1 second"));
    assert!(bad("[serve]\nmax_conections = 5\n").contains("sohoa.toml"));
    // A good file is used: the server starts with a cap of one connection and still answers.
    std::fs::write(
        dir.path().join("sohoa.toml"),
        "[serve]\nmax_connections = 1\nheader_timeout_secs = 2\n",
    )
    .unwrap();
    let mut cmd = sohoa();
    cmd.current_dir(dir.path())
        .args(["serve"])
        .args(common::store_args(&e.store))
        .args(["--listen", "127.0.0.1:0"]);
    let server = Server::spawn(cmd);
    let _idle = TcpStream::connect(server.addr()).unwrap();
    let reply = agent().get(&server.url("/healthz")).call().unwrap();
    assert_eq!(reply.status(), 200, "the idle connection made room");
}

#[test]
fn operators_get_metrics_on_their_own_address_and_requests_carry_ids() {
    let mut e = env_with(&["--metrics-listen", "127.0.0.1:0", "--log-format", "json"]);
    let metrics = e
        .server
        .next_line()
        .strip_prefix("metrics on ")
        .expect("the metrics address")
        .to_string();
    let server = &e.server;
    let reply = agent()
        .get(&server.url("/healthz"))
        .set("x-request-id", "proxy-42")
        .call()
        .unwrap();
    assert_eq!(reply.header("x-request-id"), Some("proxy-42"));
    let id = e.digitized["id"].as_str().unwrap();
    let reply = get(server, Some(&e.all), &format!("/api/v1/documents/{id}"));
    assert_eq!(reply.status, 200);
    let generated = agent().get(&server.url("/healthz")).call().unwrap();
    assert_eq!(generated.header("x-request-id").map(str::len), Some(16));

    let text = agent().get(&metrics).call().unwrap().into_string().unwrap();
    assert!(
        text.contains(
            "sohoa_http_requests_total{route=\"/api/v1/documents/{id}\",method=\"GET\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains("sohoa_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("sohoa_audit_appends_total 1"), "{text}");
    assert!(text.contains("sohoa_db_slots_free"), "{text}");
    assert!(text.contains("sohoa_audit_queue 0"), "{text}");
    // Not on the public address.
    assert_eq!(get(server, Some(&e.all), "/metrics").status, 404);
}

/// A new store (on the shared backends of the second pass) with an agency and a
/// `read:*` + `write` key: its folder and the key.
fn shared_store_with_key() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    cli_ok(
        &store,
        &["agency", "add", "--code", AGENCY, "--name", "UBND"],
    );
    (dir, create_key(&store, &["read:*", "write"]).1)
}

#[test]
fn a_database_outage_is_a_503_and_service_resumes_without_a_restart() {
    if !common::shared_backends() {
        return; // the embedded store has no database to lose (see ./dev test's second pass)
    }
    let i = inputs();
    let (dir, key) = shared_store_with_key();
    let store = dir.path().join("store");
    let proxy = common::proxy::Proxy::start(&common::postgres_addr());
    let mut cmd = sohoa();
    cmd.arg("serve")
        .args(common::store_args_via(&store, &proxy.addr))
        .args(["--listen", "127.0.0.1:0", "--key-cache-ms", "0"]);
    let server = Server::spawn(cmd);
    let lookup = format!("/api/v1/documents?citizen_id={CITIZEN}");
    get(&server, Some(&key), &lookup).expect(200);
    send(agent().get(&server.url("/readyz")), None).expect(200);

    proxy.down();
    let reply = get(&server, Some(&key), &lookup);
    reply.expect(503);
    assert!(String::from_utf8_lossy(&reply.body).contains("unavailable"));
    send(agent().get(&server.url("/readyz")), None).expect(503);
    // Storing while the database is away: refused whole, nothing half-stored.
    let pdf = std::fs::read(&i.digitized).unwrap();
    let ingest = format!(
        "/api/v1/documents?dossier_code=HS-9&procedure_code=1.000001&citizen_id={CITIZEN}\
         &kind=giay-khai-sinh&title=Gi%E1%BA%A5y"
    );
    // Raw, with the body written from another thread: the server may answer 503 before
    // it has read the whole body, and a client still writing would only see a broken pipe.
    let mut request = format!(
        "POST {ingest} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/pdf\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        server.addr(),
        pdf.len()
    )
    .into_bytes();
    request.extend_from_slice(&pdf);
    let (status, reply) = raw(&server, &request);
    assert_eq!(status, 503, "{reply}");

    proxy.up();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let reply = get(&server, Some(&key), &lookup);
        if reply.status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {} after the database came back",
            reply.status
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    send(agent().get(&server.url("/readyz")), None).expect(200);
    post(&server, &key, &ingest, "application/pdf", &pdf).expect(201);
    assert_eq!(
        store_list(&store).len(),
        1,
        "the refused upload left nothing"
    );
    assert_ok(&cli(&store, &["fsck"]));
    assert_ok(&cli(&store, &["audit", "verify"]));
}

#[test]
fn an_object_storage_outage_is_a_503_and_nothing_is_half_stored() {
    if !common::shared_backends() {
        return; // the embedded store has no object storage to lose (second pass of ./dev test)
    }
    let i = inputs();
    let (dir, key) = shared_store_with_key();
    let store = dir.path().join("store");
    let endpoint = std::env::var("SOHOA_TEST_S3_ENDPOINT").expect("SOHOA_TEST_S3_ENDPOINT");
    let proxy = common::proxy::Proxy::start(endpoint.trim_start_matches("http://"));
    let mut cmd = sohoa();
    let through_proxy: Vec<std::ffi::OsString> = common::store_args(&store)
        .into_iter()
        .map(|arg| match arg.to_str() {
            Some(e) if e == endpoint => format!("http://{}", proxy.addr).into(),
            _ => arg,
        })
        .collect();
    cmd.arg("serve")
        .args(through_proxy)
        .args(["--listen", "127.0.0.1:0"]);
    let server = Server::spawn(cmd);
    let pdf = std::fs::read(&i.digitized).unwrap();
    let ingest = |dossier: &str| {
        format!(
            "/api/v1/documents?dossier_code={dossier}&procedure_code=1.000001&citizen_id={CITIZEN}\
             &kind=giay-khai-sinh&title=Gi%E1%BA%A5y"
        )
    };
    post(&server, &key, &ingest("HS-1"), "application/pdf", &pdf).expect(201);

    proxy.down();
    let refused = post(&server, &key, &ingest("HS-2"), "application/pdf", &pdf);
    assert_eq!(
        refused.status,
        503,
        "{}",
        String::from_utf8_lossy(&refused.body)
    );
    send(agent().get(&server.url("/readyz")), None).expect(503);

    proxy.up();
    send(agent().get(&server.url("/readyz")), None).expect(200);
    post(&server, &key, &ingest("HS-2"), "application/pdf", &pdf).expect(201);
    assert_eq!(
        store_list(&store).len(),
        2,
        "the refused upload left nothing"
    );
    assert_ok(&cli(&store, &["fsck"]));
}
