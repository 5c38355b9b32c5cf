//! `sohoa batch` end to end: the real binary, real Tesseract, a real store.

use crate::common;

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sohoa::store::SearchQuery;

use common::{render, run};

/// The binary under test: `$SOHOA_BIN` when set (a copy immune to concurrent builds in a
/// shared target folder), else the one cargo built.
fn sohoa() -> Command {
    match std::env::var_os("SOHOA_BIN") {
        Some(bin) => Command::new(bin),
        None => common::sohoa(),
    }
}

/// Text lines per generated page: few, to keep OCR fast.
const LINES: usize = 8;

/// Writes page `seed` as PNG at `path`; returns its ground truth.
fn png(path: &Path, seed: u64) -> String {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let (image, truth) = render(seed, LINES, 0.0);
    image.save(path).unwrap();
    truth
}

/// `sohoa batch INPUT --store STORE --report REPORT` with the metadata defaults.
fn batch(input: &Path, store: &Path, report: &Path, extra: &[&str]) -> Command {
    let mut cmd = sohoa();
    cmd.arg("batch")
        .arg(input)
        .args(common::store_args(store))
        .arg("--report")
        .arg(report)
        .args([
            "--procedure",
            "1.001193",
            "--kind",
            "giay-to",
            "--jobs",
            "2",
        ])
        .args(extra)
        .env("OMP_THREAD_LIMIT", "1");
    cmd
}

fn report(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn document<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in the report: {report:#}"))
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_fsck_clean(store: &Path) {
    let out = run(sohoa().args(["fsck"]).args(common::store_args(store)));
    assert!(out.status.success(), "fsck: {}", show(&out));
}

/// A word of the ground truth long enough to be searched for.
fn long_word(truth: &str) -> String {
    truth
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .max_by_key(|w| w.chars().count())
        .unwrap()
        .to_string()
}

#[test]
fn bad_files_are_reported_and_the_rest_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (input, store, out) = (
        dir.path().join("in"),
        dir.path().join("store"),
        dir.path().join("report.json"),
    );
    // Two good pages.
    let good = input.join("H1-0001_001234567890");
    let truth1 = png(&good.join("p10.png"), 11);
    png(&good.join("p2.png"), 12);
    // A good page and a truncated JPEG: the whole document is skipped (the default).
    let truncated = input.join("H1-0002_001234567891");
    png(&truncated.join("p1.png"), 13);
    let (image, _) = render(14, LINES, 0.0);
    let mut jpeg = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
        .unwrap();
    std::fs::write(truncated.join("p2.jpg"), &jpeg[..jpeg.len() / 2]).unwrap();
    // A good page and an empty file, with store-flagged stated in sohoa.json.
    let flagged = input.join("H1-0003_001234567892");
    png(&flagged.join("p1.png"), 15);
    std::fs::write(flagged.join("p2.png"), b"").unwrap();
    std::fs::write(
        flagged.join("sohoa.json"),
        r#"{"on_page_error": "store-flagged", "title": "Giấy tờ thiếu trang"}"#,
    )
    .unwrap();
    // A single page at the top level, a text file named .png, and a file that is ignored.
    let truth4 = png(&input.join("H1-0004_001234567893.png"), 16);
    std::fs::write(input.join("H1-0005_001234567894.png"), "chỉ là chữ\n").unwrap();
    std::fs::write(input.join("notes.txt"), "not a page").unwrap();

    let started = Instant::now();
    let first = run(&mut batch(&input, &store, &out, &[]));
    eprintln!("first run: {:?}", started.elapsed());
    assert_eq!(first.status.code(), Some(3), "{}", show(&first));
    let summary = String::from_utf8_lossy(&first.stdout);
    assert!(summary.contains("p2.jpg"), "{summary}");
    let r = report(&out);
    assert_eq!(r["totals"]["documents"], 5, "{r:#}");
    assert_eq!(r["totals"]["stored"], 2);
    assert_eq!(r["totals"]["stored_with_missing_pages"], 1);
    assert_eq!(r["totals"]["failed"], 2);
    assert_eq!(r["totals"]["pages_done"], 4);
    assert!(r["peak_rss_kib"].as_u64().unwrap() > 0);

    let d1 = document(&r, "H1-0001_001234567890");
    assert_eq!(
        (d1["status"].as_str(), d1["pages"].as_u64()),
        (Some("stored"), Some(2))
    );
    let d2 = document(&r, "H1-0002_001234567891");
    assert_eq!(d2["status"], "failed");
    assert_eq!(d2["errors"][0]["file"], "H1-0002_001234567891/p2.jpg");
    assert!(d2["document_id"].is_null());
    let d3 = document(&r, "H1-0003_001234567892");
    assert_eq!(d3["status"], "stored-with-missing-pages");
    assert_eq!(d3["missing_pages"], serde_json::json!([]), "{d3:#}");
    assert_eq!(d3["errors"][0]["file"], "H1-0003_001234567892/p2.png");
    assert!(
        d3["errors"][0]["error"].as_str().unwrap().contains("empty"),
        "{d3:#}"
    );
    let d5 = document(&r, "H1-0005_001234567894.png");
    assert_eq!(d5["status"], "failed");
    assert!(
        d5["errors"][0]["error"]
            .as_str()
            .unwrap()
            .contains("not an image"),
        "{d5:#}"
    );

    // What the store holds, read through its API.
    {
        let s = common::open_store(&store);
        let docs = s.list().unwrap();
        assert_eq!(docs.len(), 3);
        let one = &s.documents_by_dossier("H1-0001").unwrap()[0];
        assert_eq!(
            (one.citizen_id.as_str(), one.page_count, one.title.as_str()),
            ("001234567890", 2, "H1-0001_001234567890")
        );
        assert_eq!(
            Some(one.id.clone()),
            d1["document_id"].as_str().map(String::from)
        );
        let three = &s.documents_by_dossier("H1-0003").unwrap()[0];
        assert_eq!(
            (three.page_count, three.title.as_str()),
            (1, "Giấy tờ thiếu trang")
        );
        assert!(s.documents_by_dossier("H1-0002").unwrap().is_empty());
        for (truth, dossier) in [(&truth1, "H1-0001"), (&truth4, "H1-0004")] {
            let query = SearchQuery {
                text: Some(long_word(truth)),
                ..Default::default()
            };
            let found = s.search(&query).unwrap();
            assert!(
                found.iter().any(|d| d.dossier_code == dossier),
                "{} not found in {dossier}",
                long_word(truth)
            );
        }
    }

    // Again: nothing is redone, the failures are still reported.
    let second = run(&mut batch(&input, &store, &out, &[]));
    assert_eq!(second.status.code(), Some(3), "{}", show(&second));
    let r = report(&out);
    assert_eq!(r["totals"]["skipped_already_stored"], 3, "{r:#}");
    assert_eq!(r["totals"]["pages_done"], 0);
    assert_eq!(r["totals"]["failed"], 2);
    assert_eq!(common::open_store(&store).list().unwrap().len(), 3);
    assert_fsck_clean(&store);
}

/// Copies `pages` into `documents` folders named by the convention.
fn input_of(dir: &Path, documents: usize, pages: &[PathBuf]) -> PathBuf {
    let input = dir.join(format!("in-{documents}"));
    for d in 0..documents {
        let folder = input.join(format!("H2-{d:04}_{:012}", 5_000_000 + d));
        std::fs::create_dir_all(&folder).unwrap();
        for (i, page) in pages.iter().enumerate() {
            std::fs::copy(page, folder.join(format!("page{}.png", i + 1))).unwrap();
        }
    }
    input
}

fn two_pages(dir: &Path) -> Vec<PathBuf> {
    (0..2)
        .map(|i| {
            let path = dir.join(format!("src{i}.png"));
            png(&path, 40 + i);
            path
        })
        .collect()
}

#[test]
fn killed_batches_resume_and_store_each_document_once() {
    let dir = tempfile::tempdir().unwrap();
    let input = input_of(dir.path(), 5, &two_pages(dir.path()));
    for seed in 1..=3u64 {
        let store = dir.path().join(format!("store-{seed}"));
        let out = dir.path().join(format!("report-{seed}.json"));
        // Kill at a moment between 0.4 s and 3.4 s, chosen by the seed.
        let delay = Duration::from_millis(400 + (seed * 7919 % 31) * 100);
        let mut child = batch(&input, &store, &out, &["--quiet"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let finished_early = child.try_wait().unwrap().is_some();
        child.kill().unwrap_or_default();
        child.wait().unwrap();
        let before = common::open_store(&store).list().unwrap().len();
        eprintln!("seed {seed}: killed after {delay:?}, {before} documents stored (finished early: {finished_early})");
        assert_fsck_clean(&store);

        let again = run(&mut batch(&input, &store, &out, &["--quiet"]));
        assert_eq!(again.status.code(), Some(0), "{}", show(&again));
        let r = report(&out);
        assert_eq!(
            r["totals"]["skipped_already_stored"], before as u64,
            "{r:#}"
        );
        assert_eq!(r["totals"]["stored"], 5 - before as u64, "{r:#}");
        let s = common::open_store(&store);
        assert_eq!(s.list().unwrap().len(), 5);
        for d in 0..5 {
            let docs = s.documents_by_dossier(&format!("H2-{d:04}")).unwrap();
            assert_eq!(docs.len(), 1, "dossier H2-{d:04}");
            assert_eq!(docs[0].page_count, 2);
        }
        drop(s);
        assert_fsck_clean(&store);
    }
}

#[test]
fn peak_memory_does_not_grow_with_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let pages = two_pages(dir.path());
    let mut peaks = Vec::new();
    for documents in [3, 12] {
        let input = input_of(dir.path(), documents, &pages);
        let (store, out) = (
            dir.path().join(format!("store-{documents}")),
            dir.path().join(format!("report-{documents}.json")),
        );
        let done = run(&mut batch(&input, &store, &out, &["--quiet"]));
        assert_eq!(done.status.code(), Some(0), "{}", show(&done));
        let r = report(&out);
        assert_eq!(r["totals"]["stored"], documents);
        peaks.push(r["peak_rss_kib"].as_u64().unwrap());
    }
    eprintln!(
        "peak RSS (KiB): 6 pages {}, 24 pages {}",
        peaks[0], peaks[1]
    );
    let mib = |k: u64| k as f64 / 1024.0;
    assert!(
        mib(peaks[1]) <= mib(peaks[0]) * 1.25 + 40.0,
        "peak RSS grew from {:.0} MiB to {:.0} MiB",
        mib(peaks[0]),
        mib(peaks[1])
    );
    assert!(mib(peaks[1]) < 300.0, "peak RSS {:.0} MiB", mib(peaks[1]));
}

#[test]
fn documents_are_certified_in_batch_when_a_signer_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let pki = common::pki::Pki::create(&dir.path().join("pki"));
    let input = input_of(dir.path(), 2, &two_pages(dir.path())[..1]);
    let (store, out) = (dir.path().join("store"), dir.path().join("report.json"));
    let mut cmd = batch(&input, &store, &out, &["--quiet"]);
    cmd.arg("--cert")
        .arg(&pki.office_rsa.cert_pem)
        .arg("--key")
        .arg(&pki.office_rsa.key_pem)
        .args(["--certifier", "Nguyễn Văn An"])
        .args(["--certifying-agency", "UBND xã Thử Nghiệm"])
        .arg("--register")
        .arg(dir.path().join("register"));
    let done = run(&mut cmd);
    assert_eq!(done.status.code(), Some(0), "{}", show(&done));
    let s = common::open_store(&store);
    let docs = s.list().unwrap();
    assert_eq!(docs.len(), 2);
    let mut references: Vec<String> = Vec::new();
    for doc in docs {
        let main = doc.files.iter().find(|f| f.sha256 == doc.sha256).unwrap();
        assert_eq!(
            main.role,
            sohoa::store::FileRole::Certified,
            "{:?}",
            doc.files
        );
        references.push(doc.reference.clone().expect("a verification reference"));
        let copy = dir.path().join(format!("{}.pdf", doc.id));
        std::fs::write(&copy, s.read_blob(&doc.sha256).unwrap()).unwrap();
        let verified = run(sohoa()
            .arg("verify")
            .arg(&copy)
            .arg("--trust")
            .arg(&pki.root_pem));
        assert!(verified.status.success(), "verify: {}", show(&verified));
    }
    references.sort();
    references.dedup();
    assert_eq!(references.len(), 2, "each copy has its own register number");
}

/// `sohoa batch … --status` on `store`: (queued, running, done, failed).
fn queue_counts(store: &Path) -> (u64, u64, u64, u64) {
    let out = run(sohoa()
        .args(["batch", "--status"])
        .args(common::store_args(store)));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let first = text.lines().next().unwrap_or_default().to_string();
    let numbers: Vec<u64> = first
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    assert_eq!(numbers.len(), 4, "batch --status: {}", show(&out));
    (numbers[0], numbers[1], numbers[2], numbers[3])
}

fn worker(store: &Path, extra: &[&str]) -> Command {
    let mut cmd = sohoa();
    cmd.arg("worker")
        .args(common::store_args(store))
        .args(["--lease", "3"])
        .args(extra)
        .env("OMP_THREAD_LIMIT", "1");
    cmd
}

#[test]
fn queued_documents_are_stored_once_by_workers_and_a_killed_workers_job_is_redone() {
    let dir = tempfile::tempdir().unwrap();
    let input = input_of(dir.path(), 4, &two_pages(dir.path()));
    let store = dir.path().join("store");
    let out = dir.path().join("report.json");
    let enqueue = |expect: &str| {
        let queued = run(&mut batch(&input, &store, &out, &["--enqueue"]));
        assert!(queued.status.success(), "{}", show(&queued));
        assert!(
            String::from_utf8_lossy(&queued.stdout).contains(expect),
            "{}",
            show(&queued)
        );
    };
    enqueue("4 documents queued, 0 queued or stored before");
    enqueue("0 documents queued, 4 queued or stored before");
    assert_eq!(queue_counts(&store), (4, 0, 0, 0));

    // A worker is killed (SIGKILL) while it holds a job.
    let mut doomed = worker(&store, &[]).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while queue_counts(&store).1 == 0 {
        assert!(Instant::now() < deadline, "the worker took no job");
        std::thread::sleep(Duration::from_millis(100));
    }
    doomed.kill().unwrap();
    doomed.wait().unwrap();
    let killed_at = Instant::now();

    // Two workers finish the queue, the killed one's job included once its lease expired.
    let workers: Vec<_> = (0..2)
        .map(|_| worker(&store, &["--exit-when-empty"]).spawn().unwrap())
        .collect();
    for mut w in workers {
        assert!(w.wait().unwrap().success());
    }
    eprintln!("queue finished {:?} after the kill", killed_at.elapsed());
    assert_eq!(queue_counts(&store), (0, 0, 4, 0));
    let s = common::open_store(&store);
    let docs = s.list().unwrap();
    assert_eq!(docs.len(), 4, "each document stored once");
    for doc in &docs {
        assert_eq!(doc.page_count, 2);
        let originals = doc
            .files
            .iter()
            .filter(|f| f.role == sohoa::store::FileRole::Original);
        assert_eq!(originals.count(), 2);
    }
    let word = long_word(&render(40, LINES, 0.0).1);
    let found = s
        .search(&SearchQuery {
            text: Some(word.clone()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        found.len(),
        4,
        "the OCR text of every stored page is searchable: {word}"
    );
    assert_fsck_clean(&store);
    // The local batch sees the same work as done: nothing is digitized again.
    let again = run(&mut batch(&input, &store, &out, &["--quiet"]));
    assert_eq!(again.status.code(), Some(0), "{}", show(&again));
    assert_eq!(common::open_store(&store).list().unwrap().len(), 4);
}

#[test]
fn a_queued_document_that_cannot_be_read_fails_with_its_reason_and_the_rest_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    png(&input.join("H3-0001_001234567890").join("p1.png"), 61);
    let bad = input.join("H3-0002_001234567891");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("p1.png"), "chỉ là chữ, không phải ảnh\n").unwrap();
    let (store, out) = (dir.path().join("store"), dir.path().join("report.json"));
    let queued = run(&mut batch(&input, &store, &out, &["--enqueue"]));
    assert!(queued.status.success(), "{}", show(&queued));
    let worked = run(&mut worker(&store, &["--exit-when-empty"]));
    assert!(worked.status.success(), "{}", show(&worked));
    let status = run(sohoa()
        .args(["batch", "--status"])
        .args(common::store_args(&store)));
    assert_eq!(status.status.code(), Some(3), "{}", show(&status));
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("done 1, failed 1"), "{text}");
    assert!(
        text.contains("failed: H3-0002_001234567891: digitizing"),
        "the failure names the document and why: {text}"
    );
    assert_eq!(common::open_store(&store).list().unwrap().len(), 1);
    assert_fsck_clean(&store);
}

/// A document that is one signed PDF (signed by pyHanko over an img2pdf scan, neither made
/// by sohoa) is stored byte for byte with its verification report, never digitized; a
/// scanned PDF beside it is digitized as its images.
#[test]
fn a_signed_pdf_is_stored_as_it_is_and_a_scanned_one_is_digitized() {
    let dir = tempfile::tempdir().unwrap();
    let (input, store, out) = (
        dir.path().join("in"),
        dir.path().join("store"),
        dir.path().join("report.json"),
    );
    let scan_page = dir.path().join("page.png");
    let truth = png(&scan_page, 71);
    std::fs::create_dir_all(&input).unwrap();
    let scan = input.join("H1-0101_001234567890.pdf");
    let made = run(Command::new("img2pdf").arg(&scan_page).arg("-o").arg(&scan));
    assert!(made.status.success(), "img2pdf: {}", show(&made));
    let pki = common::pki::Pki::create(&dir.path().join("pki"));
    let signed = input.join("H1-0102_001234567891.pdf");
    let made = run(Command::new("pyhanko")
        .args(["sign", "addsig", "--field", "Sig1", "pemder", "--key"])
        .arg(&pki.office_rsa.key_pem)
        .arg("--cert")
        .arg(&pki.office_rsa.cert_pem)
        .arg("--no-pass")
        .arg(&scan)
        .arg(&signed));
    assert!(made.status.success(), "pyHanko: {}", show(&made));

    let done = run(&mut batch(&input, &store, &out, &[]));
    assert_eq!(done.status.code(), Some(0), "{}", show(&done));
    let report = report(&out);
    let kept = document(&report, "H1-0102_001234567891.pdf");
    assert_eq!(kept["status"], "stored", "{kept:#}");
    let digitized = document(&report, "H1-0101_001234567890.pdf");
    assert_eq!(digitized["status"], "stored", "{digitized:#}");

    let s = common::open_store(&store);
    let kept = s
        .document(kept["document_id"].as_str().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(
        s.read_blob(&kept.sha256).unwrap(),
        std::fs::read(&signed).unwrap(),
        "the signed PDF is stored byte for byte"
    );
    assert!(
        kept.files.iter().any(|f| f.name == "verification.json"),
        "{:?}",
        kept.files
    );
    let digitized = s
        .document(digitized["document_id"].as_str().unwrap())
        .unwrap()
        .unwrap();
    let pdf = dir.path().join("digitized.pdf");
    std::fs::write(&pdf, s.read_blob(&digitized.sha256).unwrap()).unwrap();
    let cer = common::cer(&common::pdftotext(&pdf, 1), &truth);
    assert!(cer < 0.02, "CER {cer}");

    // The rerun redoes nothing, the kept PDF included.
    let again = run(&mut batch(&input, &store, &out, &[]));
    assert_eq!(again.status.code(), Some(0), "{}", show(&again));
    let again = self::report(&out);
    for name in ["H1-0101_001234567890.pdf", "H1-0102_001234567891.pdf"] {
        assert_eq!(document(&again, name)["status"], "skipped-already-stored");
    }
}
