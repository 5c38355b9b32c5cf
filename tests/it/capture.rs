//! Phone captures end to end through the real binary: page detection, perspective,
//! lighting, orientation, EXIF, HEIC and photos without a page.

use crate::common;

use std::io::Cursor;
use std::path::{Path, PathBuf};

use common::{pdftotext, run, sohoa};
use image::{GrayImage, ImageFormat, RgbImage};
use sohoa_fixtures::{cer, phone_photo, rotate_quarter, with_seal, PhotoStyle};

const LINES: usize = 14;

/// Runs `sohoa digitize` on `inputs` with extra `args`; returns the report and the PDF.
fn digitize(dir: &Path, inputs: &[PathBuf], args: &[&str]) -> (serde_json::Value, PathBuf) {
    let (pdf, report) = (dir.join("out.pdf"), dir.join("out.json"));
    let out = run(sohoa()
        .args(["digitize", "--jobs", "2", "-o"])
        .arg(&pdf)
        .arg("--report")
        .arg(&report)
        .args(args)
        .args(inputs));
    assert!(
        out.status.success(),
        "digitize failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    (report, pdf)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn png(image: &GrayImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
        .unwrap();
    bytes
}

/// Largest corner distance as % of the page diagonal.
fn corner_error(found: &serde_json::Value, truth: &[[f32; 2]; 4]) -> f64 {
    let diagonal = f64::from((truth[2][0] - truth[0][0]).hypot(truth[2][1] - truth[0][1]));
    (0..4)
        .map(|i| {
            let (x, y) = (found[i][0].as_f64().unwrap(), found[i][1].as_f64().unwrap());
            (x - f64::from(truth[i][0])).hypot(y - f64::from(truth[i][1]))
        })
        .fold(0.0, f64::max)
        / diagonal
        * 100.0
}

#[test]
fn phone_photos_are_found_flattened_and_read() {
    let dir = tempfile::tempdir().unwrap();
    // Seeds chosen for variety: one with a shadow, one with the page touching the frame.
    let seeds = [
        (0..200u64)
            .find(|&s| PhotoStyle::for_seed(s).shadow)
            .unwrap(),
        (0..200u64)
            .find(|&s| PhotoStyle::for_seed(s).touch_border)
            .unwrap(),
    ];
    let mut truths = Vec::new();
    let mut inputs = Vec::new();
    for (i, &seed) in seeds.iter().enumerate() {
        let page = sohoa_fixtures::render_page(seed, LINES).unwrap();
        let photo = phone_photo(
            &with_seal(&page.image, seed),
            &PhotoStyle::for_seed(seed),
            seed,
        );
        inputs.push(write(dir.path(), &format!("photo{i}.jpg"), &photo.jpeg));
        truths.push((page.text, photo.corners));
    }
    let (report, pdf) = digitize(dir.path(), &inputs, &[]);
    for (i, (text, corners)) in truths.iter().enumerate() {
        let page = &report[i];
        assert_eq!(page["capture_mode"], "photo", "page {i}");
        assert_eq!(page["paper"], "A4");
        assert_eq!(
            (page["width_px"].as_u64(), page["height_px"].as_u64()),
            (Some(2480), Some(3508))
        );
        let error = corner_error(&page["corners"], corners);
        assert!(
            error < 1.0,
            "page {i}: corners off by {error:.2} % of the diagonal"
        );
        let rate = cer(&pdftotext(&pdf, i + 1), text);
        assert!(rate <= 0.03, "page {i}: CER {:.2} %", rate * 100.0);
    }
    common::assert_qpdf_check(&pdf);
}

#[test]
fn a_photo_with_a_seal_keeps_its_colour() {
    let dir = tempfile::tempdir().unwrap();
    let page = sohoa_fixtures::render_page(7, 6).unwrap();
    let photo = phone_photo(&with_seal(&page.image, 7), &PhotoStyle::for_seed(7), 7);
    let input = write(dir.path(), "seal.jpg", &photo.jpeg);
    let (_, pdf) = digitize(dir.path(), &[input], &[]);
    let doc = lopdf::Document::load(&pdf).unwrap();
    let colour_image = doc.objects.values().any(|o| {
        o.as_stream().is_ok_and(|s| {
            s.dict.get(b"Subtype").and_then(|v| v.as_name()).ok() == Some(b"Image".as_slice())
                && s.dict.get(b"ColorSpace").and_then(|v| v.as_name()).ok()
                    == Some(b"DeviceRGB".as_slice())
        })
    });
    assert!(colour_image, "the red seal was lost: page stored in gray");
}

#[test]
fn quarter_turned_pages_come_out_upright_and_read() {
    let dir = tempfile::tempdir().unwrap();
    let turns = [90u16, 180, 270];
    let mut inputs = Vec::new();
    let mut texts = Vec::new();
    for (i, &turn) in turns.iter().enumerate() {
        let page = sohoa_fixtures::render_page(40 + i as u64, LINES).unwrap();
        let bytes = png(&rotate_quarter(&page.image, turn));
        inputs.push(write(dir.path(), &format!("turned{turn}.png"), &bytes));
        texts.push(page.text);
    }
    let (report, pdf) = digitize(dir.path(), &inputs, &[]);
    for (i, &turn) in turns.iter().enumerate() {
        assert_eq!(
            report[i]["orientation_degrees"].as_u64(),
            Some(u64::from((360 - turn) % 360)),
            "page turned {turn}°"
        );
        let rate = cer(&pdftotext(&pdf, i + 1), &texts[i]);
        assert!(
            rate <= 0.02,
            "page turned {turn}°: CER {:.2} %",
            rate * 100.0
        );
    }
}

/// A JPEG stored turned a quarter clockwise with EXIF orientation 8 ("rotate 270°
/// clockwise to display").
fn exif8_jpeg(page: &GrayImage) -> Vec<u8> {
    common::exif_jpeg(&image::imageops::rotate90(page), 8)
}

/// A 16-bit gray TIFF of the page.
fn gray16_tiff(page: &GrayImage) -> Vec<u8> {
    let wide: image::ImageBuffer<image::Luma<u16>, Vec<u16>> =
        image::ImageBuffer::from_fn(page.width(), page.height(), |x, y| {
            image::Luma([u16::from(page.get_pixel(x, y).0[0]) * 257])
        });
    let mut bytes = Vec::new();
    wide.write_to(&mut Cursor::new(&mut bytes), ImageFormat::Tiff)
        .unwrap();
    bytes
}

#[test]
fn exif_orientation_8_sixteen_bit_tiff_and_heic_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let pages: Vec<_> = (0..3)
        .map(|i| sohoa_fixtures::render_page(80 + i, LINES).unwrap())
        .collect();
    let exif = write(dir.path(), "exif8.jpg", &exif8_jpeg(&pages[0].image));
    let tiff = write(dir.path(), "gray16.tif", &gray16_tiff(&pages[1].image));
    let source = write(dir.path(), "heic-source.png", &png(&pages[2].image));
    let heic = dir.path().join("photo.heic");
    let encoded = run(std::process::Command::new("heif-enc")
        .args(["-q", "90", "-o"])
        .arg(&heic)
        .arg(&source));
    assert!(
        encoded.status.success(),
        "heif-enc (Debian package libheif-examples): {}",
        String::from_utf8_lossy(&encoded.stderr)
    );
    let (report, pdf) = digitize(dir.path(), &[exif, tiff, heic], &[]);
    for (i, page) in pages.iter().enumerate() {
        assert_eq!(report[i]["orientation_degrees"], 0, "input {i}");
        assert_eq!(
            (
                report[i]["width_px"].as_u64(),
                report[i]["height_px"].as_u64()
            ),
            (Some(2480), Some(3508)),
            "input {i}"
        );
        let rate = cer(&pdftotext(&pdf, i + 1), &page.text);
        assert!(rate <= 0.02, "input {i}: CER {:.2} %", rate * 100.0);
    }
}

#[test]
fn a_photo_of_only_texture_says_so_and_does_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let desk = RgbImage::from_fn(1600, 1200, |x, y| {
        let grain = ((x as f32 * 0.05 + (y as f32 * 0.013).sin() * 9.0).sin() * 30.0) as i32;
        let v = (110 + grain + ((x * 7 + y * 13) % 11) as i32).clamp(0, 255) as u8;
        image::Rgb([v, (v as f32 * 0.7) as u8, (v as f32 * 0.45) as u8])
    });
    let mut jpeg = Vec::new();
    desk.write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg)
        .unwrap();
    let input = write(dir.path(), "desk.jpg", &jpeg);
    let (pdf, report) = (dir.path().join("desk.pdf"), dir.path().join("desk.json"));
    let out = run(sohoa()
        .args(["digitize", "--mode", "photo", "-o"])
        .arg(&pdf)
        .arg("--report")
        .arg(&report)
        .arg(&input));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("desk.jpg") && stderr.contains("no page outline found"),
        "no clear message: {stderr}"
    );
    assert!(
        stderr.contains("little or no text was recognised"),
        "{stderr}\n{}",
        std::fs::read_to_string(&report).unwrap_or_default()
    );
    assert!(!stderr.contains("panicked"));
}
