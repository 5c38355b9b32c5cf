//! Helpers shared by the integration tests: generated pages, the real binary, and the
//! independent tools (poppler, qpdf) that check its output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use image::GrayImage;

/// A generated page written to disk, with its ground truth.
pub struct PageFile {
    pub path: PathBuf,
    pub truth: String,
}

/// Renders page `seed` with `lines` lines, rotated by `degrees` (positive = CCW).
pub fn render(seed: u64, lines: usize, degrees: f32) -> (GrayImage, String) {
    let page = sohoa_fixtures::render_page(seed, lines)
        .expect("DejaVu Serif is installed (fonts-dejavu-core)");
    let image = if degrees == 0.0 {
        page.image
    } else {
        sohoa_fixtures::rotate(&page.image, degrees)
    };
    (image, page.text)
}

/// Renders a page and saves it as PNG in `dir`.
pub fn page_png(dir: &Path, name: &str, seed: u64, lines: usize, degrees: f32) -> PageFile {
    let (image, truth) = render(seed, lines, degrees);
    let path = dir.join(name);
    image.save(&path).expect("write PNG");
    PageFile { path, truth }
}

/// The sohoa binary under test.
pub fn sohoa() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sohoa"))
}

/// Runs a command and returns its output; panics when it cannot start (a missing tool
/// must fail the suite, not skip it).
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Text of page `page` (1-based) as poppler's pdftotext extracts it.
pub fn pdftotext(pdf: &Path, page: usize) -> String {
    let p = page.to_string();
    let out = run(Command::new("pdftotext")
        .args(["-f", &p, "-l", &p, "-enc", "UTF-8"])
        .arg(pdf)
        .arg("-"));
    assert!(
        out.status.success(),
        "pdftotext failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("pdftotext gives UTF-8")
}

/// Asserts that `qpdf --check` finds no error (exit 0) and no warning.
pub fn assert_qpdf_check(pdf: &Path) {
    let out = run(Command::new("qpdf").arg("--check").arg(pdf));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "qpdf --check: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("No syntax or stream encoding errors"),
        "{stdout}"
    );
}

/// Page count reported by pdfinfo.
pub fn pdf_pages(pdf: &Path) -> usize {
    let out = run(Command::new("pdfinfo").arg(pdf));
    let info = String::from_utf8_lossy(&out.stdout);
    info.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no page count in pdfinfo output: {info}"))
}

/// Character error rate of `text` against `truth`, per DESIGN.md §7.
pub fn cer(text: &str, truth: &str) -> f64 {
    sohoa_fixtures::cer(text, truth)
}

pub use sohoa_fixtures::pki;
pub mod proxy;
pub mod server;
pub mod services;

/// A JPEG of `stored` carrying EXIF orientation `orientation` (6: "rotate 90° clockwise
/// to display", 8: "rotate 270°"), as phones write portrait photos.
pub fn exif_jpeg(stored: &GrayImage, orientation: u8) -> Vec<u8> {
    let mut jpeg = Vec::new();
    stored
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    let mut exif = b"Exif\0\0II*\0\x08\0\0\0\x01\0".to_vec();
    exif.extend_from_slice(&[
        0x12,
        0x01,
        3,
        0,
        1,
        0,
        0,
        0,
        orientation,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    ]);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&exif);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// The flags that point a command at test store `dir`: `--store DIR`, and when
/// `SOHOA_TEST_POSTGRES` is set (`./dev services env`), `--index` (a schema of its own
/// in that database) and `--blobs` (a prefix of its own under `SOHOA_TEST_S3`, when set),
/// so that the same tests run on the embedded store and on PostgreSQL + S3.
pub fn store_args(dir: &Path) -> Vec<std::ffi::OsString> {
    let mut args = vec!["--store".into(), dir.as_os_str().to_owned()];
    let backends = test_backends(dir);
    for (flag, value) in [
        ("--index", backends.index),
        ("--blobs", backends.blobs),
        ("--s3-endpoint", backends.s3_endpoint),
    ] {
        if let Some(value) = value {
            args.push(flag.into());
            args.push(value.into());
        }
    }
    args
}

/// Opens test store `dir` in this process, on the backends [`store_args`] names.
pub fn open_store(dir: &Path) -> sohoa::store::Store {
    sohoa::store::Store::open_with(dir, &test_backends(dir)).expect("open the test store")
}

/// Whether the tests run on PostgreSQL (+ S3) rather than the embedded store.
pub fn shared_backends() -> bool {
    std::env::var_os("SOHOA_TEST_POSTGRES").is_some()
}

fn test_backends(dir: &Path) -> sohoa::store::Backends {
    let Ok(database) = std::env::var("SOHOA_TEST_POSTGRES") else {
        return Default::default();
    };
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let digest = <sha2::Sha256 as sha2::Digest>::digest(dir.to_string_lossy().as_bytes());
    let schema = format!("t_{}", &hex::encode(digest)[..20]);
    let mut client = postgres::Client::connect(&database, postgres::NoTls)
        .unwrap_or_else(|e| panic!("SOHOA_TEST_POSTGRES={database}: {e}"));
    client
        .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .expect("create the test schema");
    sohoa::store::Backends {
        index: Some(sohoa::store::Backends::postgres_schema(&database, &schema)),
        blobs: std::env::var("SOHOA_TEST_S3")
            .ok()
            .map(|s3| format!("{}/{schema}", s3.trim_end_matches('/'))),
        s3_endpoint: std::env::var("SOHOA_TEST_S3_ENDPOINT").ok(),
    }
}

/// Runs `statement` directly on test store `dir`'s index (SQLite file or PostgreSQL
/// schema), as an intruder or an operator would; returns the rows changed.
pub fn index_sql(dir: &Path, statement: &str) -> u64 {
    match test_backends(dir).index {
        None => {
            let conn = rusqlite::Connection::open(dir.join("index.sqlite")).expect("open index");
            conn.execute(statement, []).expect("run SQL on the index") as u64
        }
        Some(url) => {
            let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
            client
                .execute(statement, &[])
                .expect("run SQL on the index")
        }
    }
}

/// What `--register` gets for a test register in `dir`: the folder, or with
/// `SOHOA_TEST_POSTGRES` set, a schema of its own in that database.
pub fn register_arg(dir: &Path) -> std::ffi::OsString {
    match test_backends(dir).index {
        Some(url) => url.into(),
        None => dir.as_os_str().to_owned(),
    }
}

/// [`store_args`] with the PostgreSQL connection going through `proxy` (`HOST:PORT`)
/// instead of straight to the server.
pub fn store_args_via(dir: &Path, proxy: &str) -> Vec<std::ffi::OsString> {
    let server = postgres_addr();
    store_args(dir)
        .into_iter()
        .map(|arg| match arg.to_str() {
            Some(text) if text.starts_with("postgres") => text.replacen(&server, proxy, 1).into(),
            _ => arg,
        })
        .collect()
}

/// `HOST:PORT` of the test PostgreSQL server.
pub fn postgres_addr() -> String {
    let database = std::env::var("SOHOA_TEST_POSTGRES").expect("SOHOA_TEST_POSTGRES");
    database
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|authority| authority.rsplit('@').next())
        .expect("host:port in SOHOA_TEST_POSTGRES")
        .to_string()
}

/// Runs `/usr/bin/python3 tests/tools/born_digital.py OUT TEXT` (Debian's ReportLab).
pub fn born_digital_pdf(dir: &Path, text: &str) -> PathBuf {
    let (pdf, text_file) = (dir.join("born.pdf"), dir.join("born.txt"));
    std::fs::write(&text_file, text).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/born_digital.py");
    let out = run(Command::new("/usr/bin/python3")
        .arg(script)
        .arg(&pdf)
        .arg(&text_file));
    assert!(
        out.status.success(),
        "ReportLab: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    pdf
}
