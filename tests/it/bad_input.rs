//! Bad input through the real binary: a clear one-line error naming the input, a non-zero
//! exit, no output file (not even a temporary one), no panic, and no huge allocation.

use crate::common;

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{run, sohoa};

/// A PNG whose header claims 100000×100000 gray pixels (10 GB decoded), with a tiny body.
fn png_bomb() -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(
        &mut png,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut png, b"IEND", &[]);
    png
}

fn jpeg_page() -> Vec<u8> {
    let (page, _) = common::render(50, 10, 0.0);
    let mut bytes = Vec::new();
    page.write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Jpeg)
        .unwrap();
    bytes
}

fn one_by_one_png() -> Vec<u8> {
    let mut bytes = Vec::new();
    image::GrayImage::new(1, 1)
        .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .unwrap();
    bytes
}

/// Runs `sohoa digitize` on `inputs` under a 2 GiB address-space limit (a decoder that
/// tried to allocate the bomb's 10 GB would abort instead of failing cleanly).
fn digitize_limited(dir: &Path, inputs: &[PathBuf]) -> (Output, PathBuf) {
    let out = dir.join("out.pdf");
    let mut script = String::from("ulimit -v 2097152; exec \"$0\" digitize -o \"$1\"");
    for i in 0..inputs.len() {
        script.push_str(&format!(" \"${}\"", i + 2));
    }
    let output = run(Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_sohoa"))
        .arg(&out)
        .args(inputs));
    (output, out)
}

/// Asserts the failure contract and returns the error line.
fn assert_clean_failure(dir: &Path, output: &Output, out: &Path, input_name: &str) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(
        output.status.code(),
        Some(1),
        "expected exit 1, got {:?}; stderr: {stderr}",
        output.status
    );
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one error line, got: {stderr}");
    assert!(
        lines[0].contains(input_name),
        "error does not name {input_name}: {stderr}"
    );
    assert!(!out.exists(), "an output file was left behind");
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    lines[0].to_string()
}

fn case(name: &str, bytes: &[u8], expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join(name);
    std::fs::write(&input, bytes).unwrap();
    let (output, out) = digitize_limited(dir.path(), &[input]);
    let line = assert_clean_failure(dir.path(), &output, &out, name);
    assert!(
        line.contains(expected),
        "{name}: expected '{expected}' in: {line}"
    );
}

#[test]
fn empty_file() {
    case("empty.png", b"", "empty");
}

#[test]
fn text_file_named_jpg() {
    case(
        "letter.jpg",
        "Kính gửi: UBND xã\n".as_bytes(),
        "not an image",
    );
}

#[test]
fn truncated_jpeg() {
    let jpeg = jpeg_page();
    case("truncated.jpg", &jpeg[..jpeg.len() / 2], "truncated");
}

#[test]
fn truncated_png() {
    let (page, _) = common::render(51, 6, 0.0);
    let mut png = Vec::new();
    page.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    case("truncated.png", &png[..png.len() / 3], "truncated");
}

#[test]
fn png_claiming_ten_gigapixels_is_refused_before_allocation() {
    case("bomb.png", &png_bomb(), "exceeds the limit");
}

#[test]
fn one_pixel_image() {
    case("dot.png", &one_by_one_png(), "too small");
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let (output, out) = digitize_limited(dir.path(), &[dir.path().join("nowhere.png")]);
    let line = assert_clean_failure(dir.path(), &output, &out, "nowhere.png");
    assert!(line.contains("cannot read"), "{line}");
}

#[test]
fn one_bad_page_among_good_ones_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let good = common::page_png(dir.path(), "good.png", 52, 4, 0.0);
    let bad = dir.path().join("bad.jpg");
    std::fs::write(&bad, b"GIF89a not really").unwrap();
    let (output, out) = digitize_limited(dir.path(), &[good.path.clone(), bad, good.path]);
    assert_clean_failure(dir.path(), &output, &out, "bad.jpg");
}

#[test]
fn usage_errors_exit_non_zero() {
    let output = run(sohoa().args(["digitize", "-o", "x.pdf"]));
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("INPUTS"));
}

/// A scanner's PDF of one generated page, made by img2pdf (not by sohoa).
fn scanned_pdf(dir: &Path) -> PathBuf {
    let page = common::page_png(dir, "page.png", 61, 4, 0.0);
    let pdf = dir.join("scan.pdf");
    let out = run(Command::new("img2pdf").arg(&page.path).arg("-o").arg(&pdf));
    assert!(out.status.success(), "img2pdf failed");
    pdf
}

/// `qpdf ARGS… IN OUT`, the independent tool that makes the damaged and locked PDFs.
fn qpdf(args: &[&str], input: &Path, output: &Path) {
    let out = run(Command::new("qpdf").args(args).arg(input).arg(output));
    assert!(
        out.status.success(),
        "qpdf: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A minimal PDF whose only page is described by `page` (object 3), with `extra` objects.
fn hand_pdf(page: &str, extra: &str) -> Vec<u8> {
    format!(
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
         2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n\
         3 0 obj {page} endobj\n{extra}\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )
    .into_bytes()
}

#[test]
fn a_pdf_locked_by_a_password_is_refused_and_one_locked_only_against_editing_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let scan = scanned_pdf(dir.path());
    let locked = dir.path().join("locked.pdf");
    qpdf(
        &["--encrypt", "user-pw", "owner-pw", "256", "--"],
        &scan,
        &locked,
    );
    let (output, out) = digitize_limited(dir.path(), &[locked]);
    let line = assert_clean_failure(dir.path(), &output, &out, "locked.pdf");
    assert!(line.contains("protected by a password"), "{line}");

    let owner_only = dir.path().join("owner-only.pdf");
    qpdf(
        &["--encrypt", "", "owner-pw", "256", "--"],
        &scan,
        &owner_only,
    );
    let (output, out) = digitize_limited(dir.path(), &[owner_only]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(out.exists());
}

#[test]
fn a_pdf_with_a_broken_cross_reference_table_is_repaired_silently() {
    let dir = tempfile::tempdir().unwrap();
    let scan = std::fs::read(scanned_pdf(dir.path())).unwrap();
    let at = scan.windows(9).rposition(|w| w == b"startxref").unwrap();
    let mut broken = scan[..at].to_vec();
    broken.extend_from_slice(b"startxref\n999999\n%%EOF\n");
    let input = dir.path().join("broken-xref.pdf");
    std::fs::write(&input, broken).unwrap();
    let (output, out) = digitize_limited(dir.path(), &[input]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        !stderr.contains("WARN"),
        "repairs are not the user's concern: {stderr}"
    );
    assert!(out.exists());
}

#[test]
fn a_pdf_page_tree_that_loops_is_refused() {
    let looped = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
        2 0 obj << /Type /Pages /Kids [2 0 R] /Count 1 >> endobj\n\
        trailer << /Root 1 0 R >>\n%%EOF\n";
    case("loop.pdf", looped, "no pages");
}

#[test]
fn a_pdf_image_of_huge_stated_size_is_refused_before_decoding() {
    let page = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
                /Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>";
    let extra = "4 0 obj << /Type /XObject /Subtype /Image /Width 200000 /Height 200000 \
                 /ColorSpace /DeviceGray /BitsPerComponent 8 /Length 3 >> stream\nabc\nendstream endobj\n\
                 5 0 obj << /Length 30 >> stream\nq 612 0 0 792 0 0 cm /Im0 Do Q\nendstream endobj";
    case("huge.pdf", &hand_pdf(page, extra), "out of bounds");
}

#[test]
fn a_pdf_of_too_many_pages_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let scan = scanned_pdf(dir.path());
    let many = dir.path().join("many.pdf");
    let pages = vec!["1"; 501].join(",");
    let out = run(Command::new("qpdf")
        .arg(&scan)
        .args(["--pages", ".", &pages, "--"])
        .arg(&many));
    assert!(
        out.status.success(),
        "qpdf: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (output, out) = digitize_limited(dir.path(), &[many]);
    let line = assert_clean_failure(dir.path(), &output, &out, "many.pdf");
    assert!(line.contains("at most 500"), "{line}");
}

#[test]
fn a_blank_pdf_page_is_kept_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("blank.pdf");
    std::fs::write(
        &input,
        hand_pdf(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
            "",
        ),
    )
    .unwrap();
    let (output, out) = digitize_limited(dir.path(), &[input]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("little or no text"), "{stderr}");
    assert_eq!(common::pdf_pages(&out), 1);
}
