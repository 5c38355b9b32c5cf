//! End to end: generated Vietnamese pages → `sohoa digitize` → poppler and qpdf.

use crate::common;

use std::path::PathBuf;
use std::sync::OnceLock;

use common::{assert_qpdf_check, cer, page_png, pdf_pages, pdftotext, run, sohoa};
use unicode_normalization::UnicodeNormalization;

/// Skews of the four pages of the shared run (positive = counter-clockwise).
const SKEWS: [f32; 4] = [0.0, 10.0, -10.0, 2.5];

struct Run {
    _dir: tempfile::TempDir,
    pdf: PathBuf,
    text: String,
    report: serde_json::Value,
    truths: Vec<String>,
}

/// One digitize run over a clean page and pages skewed by ±10° and 2.5°, shared by the tests.
fn shared_run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let pages: Vec<_> = SKEWS
            .iter()
            .enumerate()
            .map(|(i, &deg)| page_png(dir.path(), &format!("p{i}.png"), 20 + i as u64, 16, deg))
            .collect();
        let (pdf, txt, json) = (
            dir.path().join("out.pdf"),
            dir.path().join("out.txt"),
            dir.path().join("out.json"),
        );
        let out = run(sohoa()
            .args(["digitize", "--jobs", "2", "-o"])
            .arg(&pdf)
            .arg("--text")
            .arg(&txt)
            .arg("--report")
            .arg(&json)
            .args(pages.iter().map(|p| &p.path)));
        assert!(
            out.status.success(),
            "digitize failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Run {
            pdf,
            text: std::fs::read_to_string(&txt).unwrap(),
            report: serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap(),
            truths: pages.into_iter().map(|p| p.truth).collect(),
            _dir: dir,
        }
    })
}

#[test]
fn pdftotext_reads_clean_and_skewed_pages_within_two_percent() {
    let run = shared_run();
    assert_eq!(pdf_pages(&run.pdf), SKEWS.len());
    for (i, truth) in run.truths.iter().enumerate() {
        let text = pdftotext(&run.pdf, i + 1);
        let rate = cer(&text, truth);
        assert!(
            rate <= 0.02,
            "page {} (skew {}°): CER {:.2}%\n{text}",
            i + 1,
            SKEWS[i],
            rate * 100.0
        );
    }
}

#[test]
fn text_layer_round_trips_vietnamese_diacritics_in_nfc() {
    let run = shared_run();
    let text = pdftotext(&run.pdf, 1);
    assert_eq!(
        text,
        text.nfc().collect::<String>(),
        "pdftotext output is not NFC"
    );
    for letter in ['đ', 'ư', 'ơ', 'ạ', 'ế', 'ộ'] {
        if run.truths[0].contains(letter) {
            assert!(text.contains(letter), "'{letter}' lost in the text layer");
        }
    }
}

#[test]
fn output_passes_qpdf_and_carries_pdfa_identification() {
    let run = shared_run();
    assert_qpdf_check(&run.pdf);
    let meta = common::run(
        std::process::Command::new("pdfinfo")
            .arg("-meta")
            .arg(&run.pdf),
    );
    let xmp = String::from_utf8_lossy(&meta.stdout);
    assert!(xmp.contains("<pdfaid:part>2</pdfaid:part>"), "{xmp}");
    assert!(
        xmp.contains("<pdfaid:conformance>B</pdfaid:conformance>"),
        "{xmp}"
    );

    let doc = lopdf::Document::load(&run.pdf).unwrap();
    assert!(doc.trailer.get(b"ID").is_ok(), "trailer /ID missing");
    assert!(
        doc.trailer.get(b"Encrypt").is_err(),
        "must not be encrypted"
    );
    let intents = doc
        .catalog()
        .unwrap()
        .get(b"OutputIntents")
        .unwrap()
        .as_array()
        .unwrap();
    let intent = doc.dereference(&intents[0]).unwrap().1.as_dict().unwrap();
    assert_eq!(intent.get(b"S").unwrap().as_name().unwrap(), b"GTS_PDFA1");
    let profile = doc
        .dereference(intent.get(b"DestOutputProfile").unwrap())
        .unwrap()
        .1
        .as_stream()
        .unwrap();
    assert_eq!(profile.dict.get(b"N").unwrap().as_i64().unwrap(), 3);
    // Every font is embedded.
    for object in doc.objects.values() {
        if let Ok(dict) = object.as_dict() {
            if dict.get(b"Type").and_then(|t| t.as_name()).ok() == Some(b"FontDescriptor") {
                assert!(
                    dict.get(b"FontFile2").is_ok(),
                    "font not embedded: {dict:?}"
                );
            }
        }
    }
}

#[test]
fn report_describes_every_page_and_finds_the_skew() {
    let run = shared_run();
    let pages = run.report.as_array().expect("report is a JSON array");
    assert_eq!(pages.len(), SKEWS.len());
    for (i, page) in pages.iter().enumerate() {
        assert!(page["source"]
            .as_str()
            .unwrap()
            .ends_with(&format!("p{i}.png")));
        assert_eq!(page["frame"], 0);
        assert_eq!(
            (page["width_px"].as_u64(), page["height_px"].as_u64()),
            (Some(2480), Some(3508))
        );
        assert!((page["dpi"].as_f64().unwrap() - 300.0).abs() < 1.0);
        let skew = page["skew_degrees"].as_f64().unwrap();
        assert!(
            (skew - f64::from(SKEWS[i])).abs() < 0.1,
            "page {i}: skew {skew}, expected {}",
            SKEWS[i]
        );
        assert_eq!(page["orientation_degrees"], 0);
        assert!(page["corners"].is_null());
        assert_eq!(page["capture_mode"], "scan");
        assert!(page["mean_confidence"].as_f64().unwrap() > 80.0);
        let stages = [
            "decode",
            "detect",
            "warp",
            "normalize",
            "orientation",
            "deskew",
            "ocr",
            "encode",
        ];
        for stage in stages {
            assert!(
                page["timings_ms"][stage].is_u64(),
                "timings_ms.{stage} missing"
            );
        }
        assert_eq!(page["ocr_model"]["language"], "vie");
        assert_eq!(page["ocr_model"]["sha256"].as_str().unwrap().len(), 64);
    }
}

#[test]
fn text_output_separates_pages_with_a_form_feed_line() {
    let run = shared_run();
    let pages: Vec<&str> = run.text.split("\n\x0c\n").collect();
    assert_eq!(pages.len(), SKEWS.len());
    for (text, truth) in pages.iter().zip(&run.truths) {
        assert!(cer(text, truth) <= 0.02);
    }
}

/// `--quality compact` stores a gray scan of text as a CCITT G4 image (pdfimages says so)
/// at a fraction of the bytes, with the same text; a page with a red seal becomes mixed
/// raster content: still red where the seal is, black where the text is.
#[test]
fn compact_quality_stores_text_pages_bitonal_and_keeps_colour() {
    let dir = tempfile::tempdir().unwrap();
    let page = page_png(dir.path(), "page.png", 2201, 20, 3.0);
    let digitize = |quality: &str, input: &std::path::Path| {
        let out = dir.path().join(format!("{quality}.pdf"));
        let done = run(sohoa()
            .args(["digitize", "--quality", quality, "-o"])
            .arg(&out)
            .arg(input));
        assert!(
            done.status.success(),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
        assert_qpdf_check(&out);
        out
    };
    let archive = digitize("archive", &page.path);
    let compact = digitize("compact", &page.path);
    let size = |p: &std::path::Path| std::fs::metadata(p).unwrap().len();
    assert!(
        size(&compact) * 4 < size(&archive),
        "compact {} vs archive {}",
        size(&compact),
        size(&archive)
    );
    let listing = run(std::process::Command::new("pdfimages")
        .arg("-list")
        .arg(&compact));
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.contains("ccitt"), "{listing}");
    assert!(cer(&pdftotext(&compact, 1), &page.truth) < 0.02);

    let (image, truth) = common::render(2202, 12, 0.0);
    let mut seal = image::DynamicImage::ImageLuma8(image).into_rgb8();
    for (x, y, p) in seal.enumerate_pixels_mut() {
        let (dx, dy) = (x as i64 - 1700, y as i64 - 2900);
        if (dx * dx + dy * dy) < 200 * 200 && (dx * dx + dy * dy) > 170 * 170 {
            *p = image::Rgb([220, 30, 30]);
        }
    }
    let sealed = dir.path().join("sealed.png");
    seal.save(&sealed).unwrap();
    let sealed_archive = digitize("archive", &sealed);
    let out = dir.path().join("sealed.pdf");
    let done = run(sohoa()
        .args(["digitize", "--quality", "compact", "-o"])
        .arg(&out)
        .arg(&sealed));
    assert!(done.status.success());
    assert_qpdf_check(&out);
    // Mixed raster content: reduced colour layers and a full-resolution mask.
    let listing = run(std::process::Command::new("pdfimages")
        .arg("-list")
        .arg(&out));
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.contains("rgb"), "{listing}");
    assert!(
        listing.contains("mask     2480  3508"),
        "a full-resolution mask: {listing}"
    );
    assert!(
        size(&out) * 3 < size(&sealed_archive),
        "compact {} vs archive {}",
        size(&out),
        size(&sealed_archive)
    );
    assert!(cer(&pdftotext(&out, 1), &truth) < 0.02);
    // Poppler draws the seal red and the text black.
    let prefix = dir.path().join("sealed-render");
    run(std::process::Command::new("pdftoppm")
        .args(["-r", "75", "-png", "-singlefile"])
        .arg(&out)
        .arg(&prefix));
    let render = image::open(prefix.with_extension("png"))
        .unwrap()
        .into_rgb8();
    let ring = render.get_pixel((1700 + 185) / 4, 2900 / 4).0;
    assert!(
        ring[0] > 150 && ring[1] < 110 && ring[2] < 110,
        "seal {ring:?}"
    );
    let dark_text = render
        .pixels()
        .filter(|p| p.0.iter().all(|&c| c < 100))
        .count();
    assert!(dark_text > 500, "{dark_text} dark pixels");
}

#[test]
fn a_ruled_table_with_wrapped_cells_reads_cell_by_cell() {
    let dir = tempfile::tempdir().unwrap();
    let page = sohoa_fixtures::render_table_page().unwrap();
    let png = dir.path().join("table.png");
    page.image.save(&png).unwrap();
    let (pdf, txt) = (dir.path().join("t.pdf"), dir.path().join("t.txt"));
    let out = run(sohoa()
        .args(["digitize", "-o"])
        .arg(&pdf)
        .arg("--text")
        .arg(&txt)
        .arg(&png));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Read line by line across the cells (Tesseract's own order), the truth, one cell
    // per line, scores about 17 % (benches/table-order.sh).
    let text = std::fs::read_to_string(&txt).unwrap();
    assert!(cer(&text, &page.text) < 0.02, "--text:\n{text}");
    let layer = pdftotext(&pdf, 1);
    assert!(cer(&layer, &page.text) < 0.02, "text layer:\n{layer}");
}
