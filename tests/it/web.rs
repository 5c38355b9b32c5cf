//! The clerks' web page end to end: the real `sohoa serve --web` over a real store, real
//! HTTP on loopback, and a real headless Chromium driven by Playwright
//! (`tests/browser/e2e.mjs`). Screenshots of the main screens are kept in
//! `$CARGO_TARGET_DIR/web-screenshots/` (default `target/web-screenshots/`).

use crate::common;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::pki::Pki;
use common::server::Server;
use common::{run, sohoa};
use sohoa_fixtures::{phone_photo, with_seal, PhotoStyle};

const AGENCY: &str = "UBND-XA-TN";
const CERTIFIER: (&str, &str) = ("an", "mat-khau-chung-thuc-1");
const CLERK: (&str, &str) = ("binh", "mat-khau-tiep-nhan-2");
const CITIZEN: &str = "012345678901";

/// A store with an agency, a certifier (clerk + certifier) and a plain clerk, and a test
/// PKI for the office's signing key.
struct Office {
    dir: tempfile::TempDir,
    pki: Pki,
}

impl Office {
    fn new() -> Office {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::create(&dir.path().join("pki"));
        let office = Office { dir, pki };
        office.cli(&[
            "agency",
            "add",
            "--code",
            AGENCY,
            "--name",
            "UBND xã Thử Nghiệm",
        ]);
        for ((user, password), (name, roles)) in [CERTIFIER, CLERK].into_iter().zip([
            ("Nguyễn Văn An", "clerk,certifier"),
            ("Trần Thị Bình", "clerk"),
        ]) {
            let out = run(sohoa()
                .args(["user", "add"])
                .args(common::store_args(&office.store()))
                .args(["--username", user, "--name", name, "--role", roles])
                .args(["--password-env", "WEB_TEST_PASSWORD"])
                .env("WEB_TEST_PASSWORD", password));
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        office
    }

    fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    fn cli(&self, args: &[&str]) -> String {
        let out = run(sohoa()
            .args(&args[..2])
            .args(common::store_args(&self.store()))
            .args(&args[2..]));
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `sohoa serve --web` with the office's key (unless `signing` is false).
    fn serve(&self, signing: bool) -> Server {
        let mut cmd = sohoa();
        cmd.arg("serve")
            .args(common::store_args(&self.store()))
            .args(["--listen", "127.0.0.1:0", "--web", "--trust"])
            .arg(&self.pki.root_pem);
        if signing {
            cmd.arg("--cert")
                .arg(&self.pki.office_rsa.cert_pem)
                .arg("--key")
                .arg(&self.pki.office_rsa.key_pem);
        }
        Server::spawn(cmd)
    }

    fn drafts(&self) -> usize {
        let files = common::open_store(&self.store())
            .scratch_list("drafts")
            .unwrap();
        let ids: std::collections::HashSet<_> = files
            .iter()
            .filter_map(|(key, _)| key.split('/').nth(1))
            .collect();
        ids.len()
    }
}

/// An HTTP client that keeps cookies and does not follow redirects: a minimal browser.
struct Client {
    base: String,
    agent: ureq::Agent,
    cookies: HashMap<String, String>,
}

/// A reply: status, `Location`, body.
struct Reply {
    status: u16,
    location: String,
    body: String,
    bytes: Vec<u8>,
}

impl Reply {
    fn expect(&self, status: u16) -> &Reply {
        assert_eq!(self.status, status, "body: {}", self.body);
        self
    }

    /// The value of the first hidden `csrf` input.
    fn csrf(&self) -> String {
        between(&self.body, "name=\"csrf\" value=\"", "\"")
            .unwrap_or_else(|| panic!("no CSRF field in {}", self.body))
    }
}

/// Sends a request over a plain socket, writing the body from another thread while the
/// reply is read, so that an early answer is heard; only the status and body are kept.
fn raw_request(method: &str, url: &str, cookie: &str, content_type: &str, body: &[u8]) -> Reply {
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    )
    .into_bytes();
    if !cookie.is_empty() {
        request.extend(format!("Cookie: {cookie}\r\n").as_bytes());
    }
    request.extend(b"\r\n");
    request.extend_from_slice(body);
    let text = common::server::raw_exchange(host, request);
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    Reply {
        status: common::server::status_of(&text),
        location: String::new(),
        bytes: body.clone().into_bytes(),
        body,
    }
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(text[from..from + len].to_string())
}

impl Client {
    fn new(server: &Server) -> Client {
        Client {
            base: server.base.clone(),
            agent: ureq::AgentBuilder::new()
                .redirects(0)
                .timeout(Duration::from_secs(300))
                .build(),
            cookies: HashMap::new(),
        }
    }

    fn request(&self, method: &str, path: &str) -> ureq::Request {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let request = self.agent.request(method, &format!("{}{path}", self.base));
        if cookie.is_empty() {
            request
        } else {
            request.set("Cookie", &cookie.join("; "))
        }
    }

    fn send(&mut self, request: ureq::Request, body: Option<(&str, &[u8])>) -> Reply {
        let (method, url, cookie) = (
            request.method().to_string(),
            request.url().to_string(),
            request.header("Cookie").unwrap_or("").to_string(),
        );
        let result = match body {
            Some((content_type, bytes)) => {
                request.set("Content-Type", content_type).send_bytes(bytes)
            }
            None => request.call(),
        };
        let response = match result {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            // The server answered before reading the whole body (413, a refused form) and
            // closed: send it again the way a browser does, reading while writing.
            Err(ureq::Error::Transport(_)) if body.is_some() => {
                let (content_type, bytes) = body.unwrap_or_default();
                return raw_request(&method, &url, &cookie, content_type, bytes);
            }
            Err(e) => panic!("transport error: {e}"),
        };
        for header in response.all("set-cookie") {
            let pair = header.split(';').next().unwrap_or("");
            if let Some((k, v)) = pair.split_once('=') {
                if v.is_empty() || header.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_string(), v.to_string());
                }
            }
        }
        let status = response.status();
        let location = response.header("location").unwrap_or("").to_string();
        let mut bytes = Vec::new();
        response.into_reader().read_to_end(&mut bytes).unwrap();
        Reply {
            status,
            location,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            bytes,
        }
    }

    fn get(&mut self, path: &str) -> Reply {
        let request = self.request("GET", path);
        self.send(request, None)
    }

    fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect();
        let request = self.request("POST", path);
        self.send(
            request,
            Some((
                "application/x-www-form-urlencoded",
                body.join("&").as_bytes(),
            )),
        )
    }

    fn post_files(&mut self, path: &str, csrf: Option<&str>, files: &[(&str, &[u8])]) -> Reply {
        let boundary = "----sohoa-test-boundary-7d3f";
        let mut body = Vec::new();
        if let Some(token) = csrf {
            body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n").as_bytes());
        }
        for (name, bytes) in files {
            body.extend(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"pages\"; filename=\"{name}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend(b"\r\n");
        }
        body.extend(format!("--{boundary}--\r\n").as_bytes());
        let request = self.request("POST", path);
        let content_type = format!("multipart/form-data; boundary={boundary}");
        self.send(request, Some((&content_type, &body)))
    }

    /// Signs in; returns the home page's CSRF token.
    fn sign_in(&mut self, (user, password): (&str, &str)) -> String {
        let form = self.get("/login");
        form.expect(200);
        let csrf = form.csrf();
        self.post_form(
            "/login",
            &[("username", user), ("password", password), ("csrf", &csrf)],
        )
        .expect(303);
        self.get("/").expect(200).csrf()
    }
}

fn enc(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A generated phone photo of a page with a red seal, as a JPEG.
fn photo(seed: u64) -> Vec<u8> {
    let page = sohoa_fixtures::render_page(seed, 12).unwrap();
    phone_photo(
        &with_seal(&page.image, seed),
        &PhotoStyle::for_seed(seed),
        seed,
    )
    .jpeg
}

/// A clean page as PNG.
fn clean_page(dir: &Path, seed: u64) -> Vec<u8> {
    std::fs::read(common::page_png(dir, &format!("page{seed}.png"), seed, 8, 0.0).path).unwrap()
}

/// Uploads `files`, stores the draft under `dossier`; returns the document id.
fn upload_and_store(
    client: &mut Client,
    csrf: &str,
    files: &[(&str, &[u8])],
    dossier: &str,
) -> String {
    upload_and_store_titled(
        client,
        csrf,
        files,
        dossier,
        "Giấy khai sinh Nguyễn Thị Bình",
    )
}

/// [`upload_and_store`] with the document's title.
fn upload_and_store_titled(
    client: &mut Client,
    csrf: &str,
    files: &[(&str, &[u8])],
    dossier: &str,
    title: &str,
) -> String {
    let draft = client.post_files("/capture", Some(csrf), files);
    draft.expect(303);
    assert!(draft.location.starts_with("/drafts/"), "{}", draft.location);
    client.get(&draft.location).expect(200);
    let stored = client.post_form(
        &format!("{}/store", draft.location),
        &[
            ("csrf", csrf),
            ("dossier_code", dossier),
            ("procedure_code", "1.001234"),
            ("citizen_id", CITIZEN),
            ("kind", "giay-khai-sinh"),
            ("title", title),
            ("role", "component"),
        ],
    );
    stored.expect(303);
    stored
        .location
        .strip_prefix("/documents/")
        .unwrap_or_else(|| panic!("stored to {}", stored.location))
        .to_string()
}

fn verify_cli(pdf: &Path, pki: &Pki) {
    let out = run(sohoa()
        .arg("verify")
        .arg(pdf)
        .arg("--trust")
        .arg(&pki.root_pem));
    assert!(
        out.status.success(),
        "sohoa verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Signs in with curl from local address `from`; whether it got a session.
fn login_from(server: &Server, from: &str, (user, password): (&str, &str)) -> bool {
    let jar = tempfile::NamedTempFile::new().unwrap();
    let page = run(Command::new("curl")
        .args(["-sS", "--interface", from, "-c"])
        .arg(jar.path())
        .arg(server.url("/login")));
    let csrf = between(
        &String::from_utf8_lossy(&page.stdout),
        "name=\"csrf\" value=\"",
        "\"",
    )
    .unwrap();
    let posted = run(Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--interface",
            from,
            "-b",
        ])
        .arg(jar.path())
        .arg("-c")
        .arg(jar.path())
        .args(["--data-urlencode", &format!("username={user}")])
        .args(["--data-urlencode", &format!("password={password}")])
        .args(["--data-urlencode", &format!("csrf={csrf}")])
        .arg(server.url("/login")));
    String::from_utf8_lossy(&posted.stdout) == "303"
}

#[test]
fn sign_in_lock_out_and_sign_out() {
    let office = Office::new();
    let server = office.serve(false);
    let mut client = Client::new(&server);
    // Pages load only the server's own assets and may not be framed.
    let login = client.request("GET", "/login").call().unwrap();
    let csp = login.header("content-security-policy").unwrap_or("");
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(login.header("x-content-type-options"), Some("nosniff"));
    // Pages need a session: GET goes to the sign-in page, POST is refused.
    assert_eq!(client.get("/").expect(303).location, "/login");
    client.post_form("/logout", &[]).expect(401);
    // A sign-in form posted without the token of its cookie (login CSRF) is refused.
    let mut forger = Client::new(&server);
    forger
        .post_form(
            "/login",
            &[
                ("username", CERTIFIER.0),
                ("password", CERTIFIER.1),
                ("csrf", "x"),
            ],
        )
        .expect(403);
    // Wrong passwords from this address: 401 five times, then 429 for this name from
    // here, and alike for a name that does not exist (nothing tells names apart). The
    // account itself is not locked: the clerk signs in from another address.
    let attempt = |client: &mut Client, name: &str, password: &str| {
        let csrf = client.get("/login").csrf();
        client.post_form(
            "/login",
            &[("username", name), ("password", password), ("csrf", &csrf)],
        )
    };
    for name in [CLERK.0, "khong-co"] {
        for _ in 0..5 {
            attempt(&mut client, name, "sai-mat-khau-roi").expect(401);
        }
        let throttled = attempt(&mut client, name, "sai-mat-khau-roi");
        throttled.expect(429);
        assert!(
            throttled.body.contains("quá nhiều lần"),
            "{}",
            throttled.body
        );
    }
    attempt(&mut client, CLERK.0, CLERK.1).expect(429);
    assert!(
        login_from(&server, "127.0.0.2", CLERK),
        "the clerk's desk at another address signs in"
    );
    // The certifier signs in; the session cookie is HttpOnly and SameSite=Strict.
    let form = client.get("/login");
    let csrf = form.csrf();
    let request = client
        .request("POST", "/login")
        .set("Content-Type", "application/x-www-form-urlencoded");
    let body = format!(
        "username={}&password={}&csrf={}",
        CERTIFIER.0,
        enc(CERTIFIER.1),
        enc(&csrf)
    );
    let response = request.send_string(&body).unwrap();
    assert_eq!(response.status(), 303);
    let cookie = response
        .all("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("sohoa_session="))
        .expect("a session cookie")
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let token = between(&cookie, "sohoa_session=", ";").unwrap();
    client.cookies.insert("sohoa_session".into(), token);
    let home = client.get("/").expect(200).csrf();
    assert!(client.get("/").body.contains("Nguyễn Văn An"));
    // Sign-out needs the token too; after it the session is gone.
    client.post_form("/logout", &[]).expect(403);
    let token = client.cookies["sohoa_session"].clone();
    client.post_form("/logout", &[("csrf", &home)]).expect(303);
    client.cookies.insert("sohoa_session".into(), token);
    assert_eq!(client.get("/").expect(303).location, "/login");
}

#[test]
fn forms_without_the_csrf_token_are_refused_and_bad_uploads_leave_nothing() {
    let office = Office::new();
    let server = office.serve(true);
    let mut clerk = Client::new(&server);
    let csrf = clerk.sign_in(CLERK);
    let page = clean_page(office.dir.path(), 11);
    // Upload without the token, or with another session's token: 403, no draft.
    clerk
        .post_files("/capture", None, &[("a.png", &page)])
        .expect(403);
    let mut other = Client::new(&server);
    let other_csrf = other.sign_in(CERTIFIER);
    clerk
        .post_files("/capture", Some(&other_csrf), &[("a.png", &page)])
        .expect(403);
    assert_eq!(office.drafts(), 0);
    // A corrupt file among good ones: 400 naming it, and no draft left behind.
    let mut truncated = photo(3);
    truncated.truncate(truncated.len() / 2);
    let refused = clerk.post_files(
        "/capture",
        Some(&csrf),
        &[("a.png", &page), ("hong.jpg", &truncated)],
    );
    refused.expect(400);
    assert!(refused.body.contains("hong.jpg"), "{}", refused.body);
    assert_eq!(office.drafts(), 0);
    clerk
        .post_files("/capture", Some(&csrf), &[("rong.jpg", b"not an image")])
        .expect(400);
    assert_eq!(office.drafts(), 0);
    // A good upload makes a draft; its forms need the token as well.
    let draft = clerk.post_files("/capture", Some(&csrf), &[("a.png", &page)]);
    draft.expect(303);
    let draft_url = draft.location.clone();
    assert_eq!(office.drafts(), 1);
    // The dossier forms need it too: no dossier is opened, nothing is attached.
    let dossier = [
        ("procedure_code", "mau.khai-sinh"),
        ("citizen_id", CITIZEN),
        ("dossier_code", "HS-FORGED"),
    ];
    clerk.post_form("/dossiers", &dossier).expect(403);
    let mut with_other = vec![("csrf", other_csrf.as_str())];
    with_other.extend(dossier);
    clerk.post_form("/dossiers", &with_other).expect(403);
    clerk.get("/dossiers/HS-FORGED").expect(404);
    clerk
        .post_form("/dossiers/HS-FORGED/attach", &[("document_id", "x")])
        .expect(403);
    clerk
        .post_form(&format!("{draft_url}/pages/0/rotate-right"), &[])
        .expect(403);
    clerk
        .post_form(
            &format!("{draft_url}/store"),
            &[
                ("dossier_code", "HS-1"),
                ("procedure_code", "1.1"),
                ("citizen_id", CITIZEN),
                ("kind", "k"),
                ("title", "t"),
                ("role", "component"),
            ],
        )
        .expect(403);
    // Another clerk cannot see the draft; a crossed outline is refused.
    other.get(&draft_url).expect(404);
    let crossed = [
        ("c0x", "10"),
        ("c0y", "10"),
        ("c1x", "500"),
        ("c1y", "900"),
        ("c2x", "500"),
        ("c2y", "10"),
        ("c3x", "10"),
        ("c3y", "900"),
    ];
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend(crossed);
    clerk
        .post_form(&format!("{draft_url}/pages/0/corners"), &fields)
        .expect(400);
    // Bad metadata is refused before any OCR, and the draft stays.
    let bad = clerk.post_form(
        &format!("{draft_url}/store"),
        &[
            ("csrf", &csrf),
            ("dossier_code", "HS-1"),
            ("procedure_code", "1.1"),
            ("citizen_id", "123"),
            ("kind", "k"),
            ("title", "t"),
            ("role", "component"),
        ],
    );
    bad.expect(400);
    assert!(bad.body.contains("12 digits"), "{}", bad.body);
    assert_eq!(office.drafts(), 1);
    clerk.get(&draft_url).expect(200);
}

#[test]
fn scanned_pdfs_become_pages_and_pages_with_text_are_kept() {
    let office = Office::new();
    let server = office.serve(false);
    let mut clerk = Client::new(&server);
    let csrf = clerk.sign_in(CLERK);
    // A two-page PDF as a scanner (here: sohoa digitize) makes it: one draft page each.
    let dir = office.dir.path();
    let pages = [
        common::page_png(dir, "s1.png", 31, 6, 0.0),
        common::page_png(dir, "s2.png", 32, 6, 0.0),
    ];
    let pdf = dir.join("scan.pdf");
    let out = run(sohoa()
        .args(["digitize", "-o"])
        .arg(&pdf)
        .arg(&pages[0].path)
        .arg(&pages[1].path));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let draft = clerk.post_files(
        "/capture",
        Some(&csrf),
        &[("scan.pdf", &std::fs::read(&pdf).unwrap())],
    );
    draft.expect(303);
    let review = clerk.get(&draft.location);
    assert_eq!(
        review.body.matches("<section class=\"page").count(),
        2,
        "{}",
        review.body
    );
    assert!(review.body.contains("scan.pdf (trang 2)"));
    // Stored, both pages are read again as they were printed.
    let stored = clerk.post_form(
        &format!("{}/store", draft.location),
        &[
            ("csrf", &csrf),
            ("dossier_code", "HS-SCAN-1"),
            ("procedure_code", "1.001234"),
            ("citizen_id", CITIZEN),
            ("kind", "giay-to"),
            ("title", "Bản scan"),
            ("role", "component"),
        ],
    );
    stored.expect(303);
    let page = clerk.get(&stored.location);
    let text = between(&page.body, "<pre id=\"ocr-text\">", "</pre>").unwrap();
    let truth = format!("{}\n{}", pages[0].truth, pages[1].truth);
    let cer = common::cer(
        &text
            .replace("&#39;", "'")
            .replace("&quot;", "\"")
            .replace("&amp;", "&"),
        &truth,
    );
    assert!(cer < 0.03, "CER {cer}: {text}");
    // A page made by software (ReportLab, its font embedded) is kept as it is: stored
    // with its own font and text, searchable, never read with OCR.
    let born = common::born_digital_pdf(dir, "GIẤY CHỨNG NHẬN ĐĂNG KÝ KẾT HÔN\nSố: 123/2024\n");
    let id = upload_and_store(
        &mut clerk,
        &csrf,
        &[("ket-hon.pdf", &std::fs::read(&born).unwrap())],
        "HS-2026-0777",
    );
    let store = common::open_store(&office.store());
    let doc = store.document(&id).unwrap().expect("stored");
    let kept = dir.join("kept.pdf");
    std::fs::write(&kept, store.read_blob(&doc.sha256).unwrap()).unwrap();
    let fonts = run(std::process::Command::new("pdffonts").arg(&kept));
    assert!(String::from_utf8_lossy(&fonts.stdout).contains("DejaVuSans"));
    assert!(common::pdftotext(&kept, 1).contains("KẾT HÔN"));
}

#[test]
fn store_certify_find_reuse_and_verify_over_http() {
    let office = Office::new();
    let server = office.serve(true);
    let mut clerk = Client::new(&server);
    let clerk_csrf = clerk.sign_in(CLERK);
    let page = clean_page(office.dir.path(), 21);
    let id = upload_and_store(
        &mut clerk,
        &clerk_csrf,
        &[("trang1.png", &page)],
        "HS-2026-0101",
    );
    assert_eq!(office.drafts(), 0, "a stored draft is removed");
    // The page is read as its preview was captured, not decoded and captured again.
    let facts = clerk.get(&format!("/documents/{id}")).body;
    let report_at = facts.find("báo cáo số hoá").expect("a report file");
    let link = between(
        &facts[..report_at][facts[..report_at].rfind("href=\"").unwrap()..],
        "href=\"",
        "\"",
    )
    .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&clerk.get(&link).bytes).unwrap();
    assert_eq!(report[0]["timings_ms"]["decode"], 0, "{report:#}");
    assert!(report[0]["words"].as_u64().unwrap() > 20, "{report:#}");
    // A second document picks the dossier: its procedure and personal ID come from it.
    let draft = clerk.post_files("/capture", Some(&clerk_csrf), &[("trang2.png", &page)]);
    let review = clerk.get(&draft.location);
    assert!(
        review.body.contains("<option value=\"HS-2026-0101\">"),
        "{}",
        review.body
    );
    let picked = clerk.post_form(
        &format!("{}/store", draft.location),
        &[
            ("csrf", &clerk_csrf),
            ("dossier_code", "HS-2026-0101"),
            ("procedure_code", ""),
            ("citizen_id", ""),
            ("kind", "to-khai"),
            ("title", "Tờ khai"),
            ("role", "component"),
        ],
    );
    picked.expect(303);
    assert!(clerk.get(&picked.location).body.contains(CITIZEN));
    let document = clerk.get(&format!("/documents/{id}"));
    document.expect(200);
    assert!(document.body.contains("id=\"ocr-text\""));
    assert!(document.body.contains("class=\"confidence\""));
    // The page report's stage timings are on the page (issue 17: the clerk's wait).
    let timings = between(&document.body, "<small class=\"timings\">", "</small>").unwrap();
    assert!(
        timings.contains("nhận dạng chữ") && timings.contains("tổng"),
        "{timings}"
    );
    // A plain clerk sees no certification form and the server refuses it too.
    assert!(!document.body.contains("id=\"certify\""));
    clerk
        .post_form(
            &format!("/documents/{id}/certify"),
            &[("csrf", &clerk_csrf), ("compared", "on")],
        )
        .expect(403);
    // The certifier must confirm the comparison; then the copy is signed and numbered.
    let mut certifier = Client::new(&server);
    let csrf = certifier.sign_in(CERTIFIER);
    let page = certifier.get(&format!("/documents/{id}"));
    assert!(page.body.contains("id=\"fee\">2.000 đồng"), "{}", page.body);
    certifier
        .post_form(&format!("/documents/{id}/certify"), &[("csrf", &csrf)])
        .expect(400);
    certifier
        .post_form(
            &format!("/documents/{id}/certify"),
            &[("csrf", &csrf), ("compared", "on"), ("copies", "0")],
        )
        .expect(400);
    let certified = certifier.post_form(
        &format!("/documents/{id}/certify"),
        &[
            ("csrf", &csrf),
            ("compared", "on"),
            ("requester", "Lò Thị Mai"),
            ("copies", "2"),
        ],
    );
    certified.expect(303);
    let copy_id = certified
        .location
        .strip_prefix("/documents/")
        .unwrap()
        .to_string();
    assert_ne!(copy_id, id);
    let copy_page = certifier.get(&certified.location);
    let download =
        between(&copy_page.body, "id=\"download\" href=\"", "\"").expect("download link");
    let pdf = certifier.get(&download);
    pdf.expect(200);
    let path = office.dir.path().join("copy.pdf");
    std::fs::write(&path, &pdf.bytes).unwrap();
    verify_cli(&path, &office.pki);
    // The original lists its copy; the register has entry 1, also as CSV.
    assert!(certifier
        .get(&format!("/documents/{id}"))
        .body
        .contains(&format!("/documents/{copy_id}")));
    let register = certifier.get("/register");
    assert!(register.body.contains("<td>1</td>"), "{}", register.body);
    // The legal form's columns, and the time as read in Vietnam (dd/mm/yyyy HH:MM).
    assert!(
        register.body.contains("<td>Lò Thị Mai</td>"),
        "{}",
        register.body
    );
    assert!(
        register.body.contains("<td>2</td><td>4.000</td>"),
        "{}",
        register.body
    );
    let today =
        time::OffsetDateTime::now_utc().to_offset(time::UtcOffset::from_hms(7, 0, 0).unwrap());
    let shown = format!(
        "{:02}/{:02}/{}",
        today.day(),
        today.month() as u8,
        today.year()
    );
    assert!(
        register.body.contains(&shown),
        "{shown} in {}",
        register.body
    );
    let csv = certifier.get("/register.csv");
    csv.expect(200);
    assert!(
        csv.body.contains("Nguyễn Văn An") && csv.body.lines().count() == 2,
        "{}",
        csv.body
    );
    // Public verification: valid for the copy's reference, 404 for an unknown one.
    let verify = between(&copy_page.body, "id=\"verify-link\" href=\"", "\"")
        .unwrap()
        .replace("&amp;", "&");
    let mut public = Client::new(&server);
    let verdict = public.get(&verify);
    verdict.expect(200);
    assert!(
        verdict.body.contains("data-valid=\"true\""),
        "{}",
        verdict.body
    );
    assert!(
        !verdict.body.contains(CITIZEN),
        "the public page shows no personal ID"
    );
    public
        .get("/verify?ref=SOHOA1:2026-01-99:0000000000000000")
        .expect(404);
    // Search without diacritics, by personal ID, and reuse in a new dossier.
    let found = clerk.get("/search?q=giay%20khai%20sinh%20nguyen%20thi%20binh");
    assert!(
        found.body.contains(&format!("/documents/{id}")),
        "{}",
        found.body
    );
    assert!(clerk
        .get(&format!("/search?q={CITIZEN}"))
        .body
        .contains(&format!("/documents/{id}")));
    let attached = clerk.post_form(
        &format!("/documents/{id}/attach"),
        &[
            ("csrf", &clerk_csrf),
            ("attach_dossier", "HS-2026-0202"),
            ("attach_procedure", "2.000001"),
        ],
    );
    attached.expect(303);
    assert_eq!(attached.location, "/dossiers/HS-2026-0202");
    assert!(clerk
        .get(&attached.location)
        .body
        .contains(&format!("/documents/{id}")));
    // Every look was audited under the clerk's name, and the chain holds.
    let audit = office.cli(&["audit", "list", "--limit", "100"]);
    assert!(
        audit.contains("user:binh") && audit.contains(&format!("GET /documents/{id}")),
        "{audit}"
    );
    office.cli(&["audit", "verify"]);
    office.cli(&["fsck", "--json"]);
}

/// The whole clerk journey in Chromium: sign in, upload a generated phone photo, drag a
/// corner, turn the page, store, certify, download, search without diacritics, register,
/// public verification, sign out, and a clerk refused certification.
#[test]
fn browser_end_to_end() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/e2e.mjs");
    let modules =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/node_modules/playwright-core");
    let chromium = Path::new("/usr/bin/chromium");
    if !modules.exists() || !chromium.exists() {
        let missing = "Chromium (/usr/bin/chromium) or tests/browser/node_modules (npm ci --prefix tests/browser)";
        assert!(
            std::env::var_os("CI").is_none(),
            "the browser test needs {missing}"
        );
        eprintln!("skipping the browser test: {missing} missing; ./dev test installs them");
        return;
    }
    let office = Office::new();
    office.cli(&["catalog", "import", CATALOG]);
    put_on_file(&office.store());
    let server = office.serve(true);
    let out = office.dir.path().join("e2e");
    std::fs::create_dir_all(&out).unwrap();
    let photo_path = out.join("photo.jpg");
    std::fs::write(&photo_path, photo(7)).unwrap();
    let result = Command::new("node")
        .arg(&script)
        .env("SOHOA_URL", &server.base)
        .env("PHOTO", &photo_path)
        .env("CERTIFIER_USER", CERTIFIER.0)
        .env("CERTIFIER_PASSWORD", CERTIFIER.1)
        .env("CLERK_USER", CLERK.0)
        .env("CLERK_PASSWORD", CLERK.1)
        .env("REUSE_CITIZEN", REUSE_CITIZEN)
        .env("OUT_DIR", &out)
        .stderr(Stdio::inherit())
        .output()
        .expect("node runs");
    keep_screenshots(&out.join("screenshots"));
    assert!(
        result.status.success(),
        "the browser test failed (screenshots kept)"
    );
    let stdout = String::from_utf8_lossy(&result.stdout);
    let summary: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap();
    let certified = PathBuf::from(summary["certified"].as_str().unwrap());
    verify_cli(&certified, &office.pki);
    let pdfsig = run(Command::new("pdfsig").arg(&certified));
    let report = String::from_utf8_lossy(&pdfsig.stdout);
    assert!(report.contains("Signature is Valid"), "{report}");
    let text = common::pdftotext(&certified, 1);
    assert!(
        text.chars().filter(|c| c.is_alphabetic()).count() > 200,
        "{text}"
    );
}

const CATALOG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/catalog/sample-procedures.json"
);
/// The person whose ID card and marriage-status paper are already on file.
const REUSE_CITIZEN: &str = "079123456789";

/// Files two documents of [`REUSE_CITIZEN`] from earlier dossiers: an ID card (a
/// certified copy, valid to 2040) and a marriage-status paper.
fn put_on_file(store: &Path) {
    use sohoa::store::{FileRole, Ingest, NewDocument, NewFile, Role};
    let store = common::open_store(store);
    let on_file = |n: u32, dossier: &str, procedure: &str, kind: &str, title: &str| Ingest {
        new: NewDocument {
            dossier_code: dossier.into(),
            procedure_code: procedure.into(),
            citizen_id: REUSE_CITIZEN.parse().unwrap(),
            agency: AGENCY.into(),
            kind: kind.into(),
            title: title.parse().unwrap(),
            role: Role::Component,
            created_by: "import".into(),
            valid_until: Some("2040-01-01".parse().unwrap()),
            supersedes: None,
        },
        files: vec![NewFile {
            role: FileRole::Pdf,
            name: format!("{kind}.pdf"),
            bytes: format!("%PDF-1.7 on file {n}").into_bytes(),
        }],
        text: String::new(),
        reference: (n == 1).then(|| "TEST-REUSE-1".to_string()),
        page_count: 1,
    };
    let card = on_file(
        1,
        "HS-CU-01",
        "mau.chung-thuc-ban-sao",
        "can-cuoc",
        "Căn cước công dân",
    );
    let paper = on_file(
        2,
        "HS-CU-02",
        "mau.xac-nhan-hon-nhan",
        "giay-xac-nhan-tinh-trang-hon-nhan",
        "Giấy xác nhận tình trạng hôn nhân",
    );
    store.add_documents(&[card, paper]).unwrap();
}

fn keep_screenshots(from: &Path) {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let keep = target.join("web-screenshots");
    let _ = std::fs::create_dir_all(&keep);
    for entry in std::fs::read_dir(from).into_iter().flatten().flatten() {
        let _ = std::fs::copy(entry.path(), keep.join(entry.file_name()));
    }
}

// ---------------------------------------------------------------- attacks (issue 12)

/// Certifies document `id` from the web page; returns the copy's id and reference.
fn certify_on_page(office: &Office, client: &mut Client, csrf: &str, id: &str) -> (String, String) {
    let copy = client.post_form(
        &format!("/documents/{id}/certify"),
        &[("csrf", csrf), ("compared", "on")],
    );
    copy.expect(303);
    let copy_id = copy.location.trim_start_matches("/documents/").to_string();
    let json: serde_json::Value =
        serde_json::from_str(&office.cli(&["store", "get", &copy_id])).unwrap();
    (copy_id, json["reference"].as_str().unwrap().to_string())
}

#[test]
fn the_public_verification_page_reads_only_what_the_register_issued() {
    let office = Office::new();
    let server = office.serve(true);
    let mut client = Client::new(&server);
    let csrf = client.sign_in(CERTIFIER);
    let dir = tempfile::tempdir().unwrap();
    let doc = upload_and_store(
        &mut client,
        &csrf,
        &[("p.png", &clean_page(dir.path(), 71))],
        "HS-V1",
    );
    let (copy_id, reference) = certify_on_page(&office, &mut client, &csrf, &doc);
    let copy = client.get(&format!("/documents/{copy_id}"));
    let link = between(&copy.body, "id=\"download\" href=\"", "\"").unwrap();
    let genuine = client.get(&link).bytes;
    // A forger stores a tampered copy (bytes appended) and claims the reference: refused;
    // stored without the claim, it gets no reference and no certified badge.
    let tampered = dir.path().join("tampered.pdf");
    let mut bytes = genuine.clone();
    bytes.extend_from_slice(b"\n% changed\n");
    std::fs::write(&tampered, &bytes).unwrap();
    let base = |dossier: &str| {
        let mut cmd = sohoa();
        cmd.args(["store", "add"])
            .args(common::store_args(&office.store()))
            .args([
                "--dossier",
                dossier,
                "--procedure",
                "1.001234",
                "--citizen-id",
                CITIZEN,
            ])
            .args(["--kind", "giay-khai-sinh", "--title", "gia mao"]);
        cmd
    };
    let claimed = run(base("HS-V2")
        .args(["--reference", &reference])
        .arg(&tampered));
    assert!(!claimed.status.success());
    let stored = run(base("HS-V3").arg(&tampered));
    assert!(
        stored.status.success(),
        "{}",
        String::from_utf8_lossy(&stored.stderr)
    );
    let stored: serde_json::Value = serde_json::from_slice(&stored.stdout).unwrap();
    assert!(stored["reference"].is_null());
    // The page still verifies the genuine copy the register names.
    let page = Client::new(&server).get(&format!("/verify?ref={}", enc(&reference)));
    page.expect(200);
    assert!(page.body.contains("data-valid=\"true\""), "{}", page.body);
    // A server with no trust anchor and no signing key never says "valid".
    drop(server);
    let mut cmd = sohoa();
    cmd.args(["serve"])
        .args(common::store_args(&office.store()))
        .args(["--listen", "127.0.0.1:0", "--web"]);
    let bare = Server::spawn(cmd);
    let page = Client::new(&bare).get(&format!("/verify?ref={}", enc(&reference)));
    page.expect(503);
    assert!(
        page.body.contains("data-valid=\"unavailable\""),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Bản sao hợp lệ"));
}

#[test]
fn password_changes_and_disabling_end_sessions() {
    let office = Office::new();
    let server = office.serve(false);
    let mut clerk = Client::new(&server);
    clerk.sign_in(CLERK);
    clerk.get("/").expect(200);
    let out = run(sohoa()
        .args(["user", "password"])
        .args(common::store_args(&office.store()))
        .args(["--username", CLERK.0, "--password-env", "NEW_PASSWORD"])
        .env("NEW_PASSWORD", "mat-khau-moi-hoan-toan"));
    assert!(out.status.success());
    assert_eq!(clerk.get("/").expect(303).location, "/login");
    let mut certifier = Client::new(&server);
    certifier.sign_in(CERTIFIER);
    office.cli(&["user", "disable", "--username", CERTIFIER.0]);
    assert_eq!(certifier.get("/").expect(303).location, "/login");
    let csrf = certifier.get("/login").csrf();
    certifier
        .post_form(
            "/login",
            &[
                ("username", CERTIFIER.0),
                ("password", CERTIFIER.1),
                ("csrf", &csrf),
            ],
        )
        .expect(401);
    office.cli(&["user", "remove", "--username", CERTIFIER.0]);
    assert!(!office.cli(&["user", "list"]).contains(CERTIFIER.0));
}

/// A multi-page TIFF of `frames` small white frames.
fn many_frames(frames: usize) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut tiff = tiff::encoder::TiffEncoder::new(&mut out).unwrap();
    let page = vec![255u8; 64 * 64];
    for _ in 0..frames {
        tiff.write_image::<tiff::encoder::colortype::Gray8>(64, 64, &page)
            .unwrap();
    }
    out.into_inner()
}

#[test]
fn uploads_and_forms_are_bounded() {
    let office = Office::new();
    let server = office.serve(false);
    let mut client = Client::new(&server);
    // A sign-in body is small: a large one is refused before it is read.
    let csrf = client.get("/login").csrf();
    let padding = "x".repeat(100_000);
    client
        .post_form(
            "/login",
            &[("username", "an"), ("password", &padding), ("csrf", &csrf)],
        )
        .expect(413);
    let csrf = client.sign_in(CLERK);
    // A 12000×12000 PNG (small file, 144 MP) is refused by its size, before decoding.
    let mut png = Vec::new();
    image::GrayImage::from_pixel(12_000, 12_000, image::Luma([255]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let refused = client.post_files("/capture", Some(&csrf), &[("big.png", &png)]);
    refused.expect(400);
    assert!(refused.body.contains("big.png"), "{}", refused.body);
    // A TIFF of 150 frames is more pages than a draft may hold.
    let refused = client.post_files("/capture", Some(&csrf), &[("many.tif", &many_frames(150))]);
    refused.expect(400);
    assert!(refused.body.contains("100 trang"), "{}", refused.body);
    // Files before the CSRF token are not read.
    client
        .post_files("/capture", None, &[("p.png", &png[..100])])
        .expect(403);
    assert_eq!(office.drafts(), 0, "nothing is left behind");
    // Search: a newline or a very long query is a clear 400, not a 500.
    client
        .get(&format!("/search?q={}", enc("a\nb")))
        .expect(400);
    client
        .get(&format!("/search?q={}", "a".repeat(5000)))
        .expect(400);
}

/// A one-page PDF whose /OpenAction runs JavaScript.
fn pdf_with_javascript() -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        "<< /S /JavaScript /JS (app.alert\\('x'\\)) >>",
    ];
    let mut pdf = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        pdf.extend(format!("{o:010} 00000 n \n").as_bytes());
    }
    pdf.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

#[test]
fn active_pdfs_are_never_shown_inline_and_pages_are_not_cached() {
    let office = Office::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("script.pdf");
    std::fs::write(&path, pdf_with_javascript()).unwrap();
    let stored: serde_json::Value = serde_json::from_str(&office.cli(&[
        "store",
        "add",
        "--dossier",
        "HS-JS",
        "--procedure",
        "1.001234",
        "--citizen-id",
        CITIZEN,
        "--kind",
        "don",
        "--title",
        "Đơn",
        path.to_str().unwrap(),
    ]))
    .unwrap();
    let (id, sha) = (
        stored["id"].as_str().unwrap(),
        stored["sha256"].as_str().unwrap(),
    );
    let server = office.serve(false);
    let mut client = Client::new(&server);
    client.sign_in(CLERK);
    let page = client
        .request("GET", &format!("/documents/{id}"))
        .call()
        .unwrap();
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let download = client
        .request("GET", &format!("/documents/{id}/download/{sha}?inline=1"))
        .call()
        .unwrap();
    assert_eq!(download.header("cache-control"), Some("no-store"));
    let disposition = download.header("content-disposition").unwrap_or("");
    assert!(disposition.starts_with("attachment"), "{disposition}");
}

/// Adds a clerk and certifier named `display` (what pages show); its sign-in.
fn add_certifier(
    office: &Office,
    username: &'static str,
    display: &str,
) -> (&'static str, &'static str) {
    const PASSWORD: &str = "mat-khau-dai-du-roi";
    let out = run(sohoa()
        .args(["user", "add"])
        .args(common::store_args(&office.store()))
        .args(["--username", username, "--name", display])
        .args(["--role", "clerk,certifier", "--password-env", "P"])
        .env("P", PASSWORD));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (username, PASSWORD)
}

#[test]
fn register_export_is_safe_for_spreadsheets() {
    let office = Office::new();
    let hacker = add_certifier(&office, "hacker", "=HYPERLINK(\"http://x\",\"y\")");
    let server = office.serve(true);
    let mut client = Client::new(&server);
    let csrf = client.sign_in(hacker);
    let dir = tempfile::tempdir().unwrap();
    let doc = upload_and_store(
        &mut client,
        &csrf,
        &[("p.png", &clean_page(dir.path(), 72))],
        "HS-CSV",
    );
    certify_on_page(&office, &mut client, &csrf, &doc);
    let csv = client.get("/register.csv").expect(200).body.clone();
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    assert!(!csv.contains(",=HYPERLINK"), "{csv}");
}

/// Names, titles and register columns typed by people are shown as text on every page
/// (the pages are templates that escape what they interpolate).
#[test]
fn markup_typed_into_names_and_titles_is_shown_as_text() {
    let office = Office::new();
    let mallory = add_certifier(&office, "mallory", "<img src=x onerror=alert(1)>");
    let server = office.serve(true);
    let mut client = Client::new(&server);
    let csrf = client.sign_in(mallory);
    let dir = tempfile::tempdir().unwrap();
    let hostile_title = "<script>alert(\"t\")</script> & 'x'";
    let id = upload_and_store_titled(
        &mut client,
        &csrf,
        &[("p.png", &clean_page(dir.path(), 73))],
        "HS-XSS",
        hostile_title,
    );
    let copy = client.post_form(
        &format!("/documents/{id}/certify"),
        &[
            ("csrf", &csrf),
            ("compared", "on"),
            ("requester", "<b>bold</b>"),
            ("original_title", hostile_title),
        ],
    );
    copy.expect(303);
    let pages = [
        "/".to_string(),
        format!("/documents/{id}"),
        copy.location.clone(),
        "/search?q=alert".to_string(),
        "/dossiers/HS-XSS".to_string(),
        "/register".to_string(),
    ];
    for page in pages {
        let body = client.get(&page).expect(200).body.clone();
        for raw in ["<script>alert", "<img src=x", "<b>bold"] {
            assert!(!body.contains(raw), "{page} shows {raw} as markup");
        }
        assert!(
            body.contains("&lt;script&gt;alert") || body.contains("&lt;img src=x"),
            "{page} does not show the typed text"
        );
    }
}

/// Two service instances on one store (on PostgreSQL + S3 in the second pass of
/// ./dev test): a session and a draft made on one are the other's too.
#[test]
fn a_clerk_signs_in_and_uploads_on_one_instance_and_stores_on_another() {
    let office = Office::new();
    let (a, b) = (office.serve(true), office.serve(true));
    let mut clerk = Client::new(&a);
    let csrf = clerk.sign_in(CLERK);
    let page = clean_page(office.dir.path(), 21);
    let draft = clerk.post_files("/capture", Some(&csrf), &[("a.png", &page)]);
    draft.expect(303);
    assert_eq!(office.drafts(), 1);

    clerk.base = b.base.clone();
    clerk.get("/").expect(200);
    clerk.get(&draft.location).expect(200);
    clerk
        .get(&format!("{}/pages/0/image/corrected", draft.location))
        .expect(200);
    let stored = clerk.post_form(
        &format!("{}/store", draft.location),
        &[
            ("csrf", &csrf),
            ("dossier_code", "HS-HAI-MAY"),
            ("procedure_code", "1.001234"),
            ("citizen_id", CITIZEN),
            ("kind", "giay-khai-sinh"),
            ("title", "Giấy khai sinh"),
            ("role", "component"),
        ],
    );
    stored.expect(303);
    assert_eq!(office.drafts(), 0, "storing removed the draft");

    clerk.base = a.base.clone();
    clerk.get(&stored.location).expect(200);
    // Signing out on one instance ends the session on both.
    clerk.base = b.base.clone();
    clerk.post_form("/logout", &[("csrf", &csrf)]).expect(303);
    clerk.base = a.base.clone();
    assert_eq!(clerk.get("/").status, 303, "the session ended everywhere");
}
