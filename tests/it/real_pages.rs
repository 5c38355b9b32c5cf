//! Real scanned pages (OCRmyPDF's test resources, not made by this project: English,
//! French and Dutch text, colour and palette copies of a map, bitonal CCITT and JBIG2
//! PDFs), fetched by `./dev real-pages` and read against hand-checked transcriptions in
//! fixtures/real-pages/truth. `./dev test` sets SOHOA_REAL_PAGES; without it the tests
//! look in .cache and, outside CI, pass with a note when the pages were never fetched.

use std::path::{Path, PathBuf};

use crate::common::{cer, pdftotext, run, sohoa};

/// The folder of real pages, or `None` (outside CI only) when they were never fetched.
fn real_pages() -> Option<PathBuf> {
    let dir = std::env::var_os("SOHOA_REAL_PAGES").map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(".cache/real-pages/ocrmypdf-17.13.0/tests/resources")
        },
        PathBuf::from,
    );
    if dir.join("linn.png").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "real pages missing at {}: run ./dev real-pages",
        dir.display()
    );
    eprintln!("real pages not fetched (./dev real-pages): skipped outside CI");
    None
}

fn truth(name: &str) -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fixtures/real-pages/truth/{name}.txt"));
    std::fs::read_to_string(path).unwrap()
}

/// Digitizes `file` and returns its report, its text layer (pdftotext) and the text
/// written with `--text` (Tesseract's reading order).
fn digitize(dir: &Path, file: &Path) -> (serde_json::Value, String, String) {
    let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
    let (pdf, report, text) = (
        dir.join(format!("{stem}.pdf")),
        dir.join(format!("{stem}.json")),
        dir.join(format!("{stem}.txt")),
    );
    run(sohoa()
        .args(["digitize", "--jobs", "1", "-o"])
        .arg(&pdf)
        .arg("--report")
        .arg(&report)
        .arg("--text")
        .arg(&text)
        .arg(file));
    let report = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    (
        report,
        pdftotext(&pdf, 1),
        std::fs::read_to_string(&text).unwrap(),
    )
}

#[test]
fn upright_pages_in_any_colour_model_are_never_turned() {
    let Some(pages) = real_pages() else { return };
    let out = tempfile::tempdir().unwrap();
    // The shape of the lines on this colour map suggested 180° before the OCR check.
    for file in [
        "baiona_color.jpg",
        "baiona_cmyk.jpg",
        "baiona_alpha.png",
        "palette.pdf",
    ] {
        let (report, _, _) = digitize(out.path(), &pages.join(file));
        let page = &report[0];
        assert_eq!(page["orientation_degrees"], 0, "{file}: {page}");
        if let Some(check) = page["orientation_check"].as_array() {
            let confidence = |degrees: u64| {
                check
                    .iter()
                    .find(|c| c["degrees"] == degrees)
                    .and_then(|c| c["confidence"].as_f64())
                    .unwrap()
            };
            assert!(confidence(0) > confidence(180), "{file}: {check:?}");
        }
    }
}

#[test]
fn a_two_column_page_is_read_column_by_column() {
    let Some(pages) = real_pages() else { return };
    let out = tempfile::tempdir().unwrap();
    let (_, layer, text) = digitize(out.path(), &pages.join("linn.png"));
    let truth = truth("linn");
    // Tesseract alone (`tesseract linn.png - -l vie`) reads this page at 3.0 % CER.
    let text_cer = cer(&text, &truth);
    assert!(text_cer < 0.035, "text CER {text_cer}");
    // poppler's default (physical layout) order reads each column in order: one font
    // size per paragraph keeps a paragraph in one block (text_layer.rs). 26.5 % with a
    // size per line; Tesseract's own PDF renderer: 28.3 %.
    let layer_cer = cer(&layer, &truth);
    assert!(layer_cer < 0.03, "pdftotext CER {layer_cer}");
    // The left column's second paragraph comes before the right column's first.
    let left = layer.find("may be used at any time").unwrap();
    let left_first = layer.find("To record a sequence").unwrap();
    assert!(left_first < left, "{layer}");
    let raw = std::process::Command::new("pdftotext")
        .args(["-raw"])
        .arg(out.path().join("linn.pdf"))
        .arg("-")
        .output()
        .unwrap();
    let raw_cer = cer(&String::from_utf8_lossy(&raw.stdout), &truth);
    assert!(raw_cer < 0.035, "pdftotext -raw CER {raw_cer}");
}

#[test]
fn bitonal_ccitt_and_jbig2_pdfs_are_read_as_their_image() {
    let Some(pages) = real_pages() else { return };
    let out = tempfile::tempdir().unwrap();
    let truth = truth("linn");
    for file in ["ccitt.pdf", "jbig2.pdf", "jbig2_baddevicen.pdf"] {
        let (report, layer, text) = digitize(out.path(), &pages.join(file));
        let layer_cer = cer(&layer, &truth);
        assert!(layer_cer < 0.03, "{file}: pdftotext CER {layer_cer}");
        let page = &report[0];
        assert_eq!(page["width_px"], 2550, "{file}");
        assert!(
            (page["dpi"].as_f64().unwrap() - 300.0).abs() < 1.0,
            "{file}"
        );
        let c = cer(&text, &truth);
        assert!(c < 0.035, "{file}: CER {c}");
    }
    // Stored as a 1-bit image, as scanned.
    let listing = std::process::Command::new("pdfimages")
        .arg("-list")
        .arg(out.path().join("ccitt.pdf"))
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    let row = listing.lines().nth(2).unwrap();
    assert!(row.split_whitespace().nth(7) == Some("1"), "{listing}");
}

#[test]
fn pages_of_other_languages_and_resolutions_read_as_well_as_tesseract_alone() {
    let Some(pages) = real_pages() else { return };
    let out = tempfile::tempdir().unwrap();
    // Tesseract alone on the page as it displays (a PDF rendered at 300 dpi), measured
    // by benches/real-pages.sh: c03-29 (a 150-dpi scan) 6.3 %, francais 4.3 %, epson
    // 2.0 %, typewriter 12.8 %, and 5.3 % on the 2400-dpi copy rendered at 300 dpi. sohoa
    // reads the typewriter's tall letters from a reduced copy: 5.5 % and 6.9 %.
    for (file, truth_name, limit) in [
        ("c03-29.pdf", "c03-29", 0.065),
        ("francais.pdf", "francais", 0.045),
        ("epson.pdf", "epson", 0.025),
        // A page of masked images: rendered (Tesseract alone on pdftoppm's render: 8.8 %).
        ("masks.pdf", "masks", 0.095),
        ("typewriter.png", "typewriter", 0.06),
        ("2400dpi.pdf", "typewriter", 0.10),
    ] {
        let (_, _, text) = digitize(out.path(), &pages.join(file));
        let c = cer(&text, &truth(truth_name));
        assert!(c <= limit, "{file}: CER {c}");
    }
}
