//! Input formats through the real binary: CMYK JPEG, 16-bit gray PNG, 1-bit TIFF,
//! multi-page TIFF and EXIF-rotated JPEG all come out upright and readable, in argument order;
//! scanned PDFs are digitized through their page images.

use crate::common;

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{cer, pdftotext, run, sohoa};
use image::{DynamicImage, GrayImage, ImageBuffer, Luma};
use sohoa::capture::{decode_frame, DecodeLimits, Raster};

const LINES: usize = 8;

/// Regular (non-inverted) CMYK: paper is no ink, text is black ink.
fn cmyk_jpeg(page: &GrayImage) -> Vec<u8> {
    let cmyk: Vec<u8> = page
        .pixels()
        .flat_map(|p| [0, 0, 0, 255 - p.0[0]])
        .collect();
    let mut bytes = Vec::new();
    jpeg_encoder::Encoder::new(&mut bytes, 90)
        .encode(
            &cmyk,
            page.width() as u16,
            page.height() as u16,
            jpeg_encoder::ColorType::Cmyk,
        )
        .unwrap();
    bytes
}

fn gray16_png(page: &GrayImage) -> Vec<u8> {
    let wide: ImageBuffer<Luma<u16>, Vec<u16>> =
        ImageBuffer::from_fn(page.width(), page.height(), |x, y| {
            Luma([u16::from(page.get_pixel(x, y).0[0]) * 257])
        });
    let mut bytes = Vec::new();
    DynamicImage::ImageLuma16(wide)
        .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .unwrap();
    bytes
}

/// An uncompressed 1-bit TIFF, WhiteIsZero as fax scanners write it (1 = black).
fn bilevel_tiff(page: &GrayImage) -> Vec<u8> {
    let (w, h) = page.dimensions();
    let row = (w as usize).div_ceil(8);
    let mut bits = vec![0u8; row * h as usize];
    for (x, y, p) in page.enumerate_pixels() {
        if p.0[0] < 128 {
            bits[y as usize * row + x as usize / 8] |= 0x80 >> (x % 8);
        }
    }
    let entries: [(u16, u16, u32); 9] = [
        (256, 4, w),                 // ImageWidth
        (257, 4, h),                 // ImageLength
        (258, 3, 1),                 // BitsPerSample
        (259, 3, 1),                 // Compression: none
        (262, 3, 0),                 // PhotometricInterpretation: WhiteIsZero
        (273, 4, 8),                 // StripOffsets: right after the header
        (277, 3, 1),                 // SamplesPerPixel
        (278, 4, h),                 // RowsPerStrip
        (279, 4, bits.len() as u32), // StripByteCounts
    ];
    let mut tiff = b"II*\0".to_vec();
    tiff.extend_from_slice(&(8 + bits.len() as u32).to_le_bytes());
    tiff.extend_from_slice(&bits);
    tiff.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, value) in entries {
        tiff.extend_from_slice(&tag.to_le_bytes());
        tiff.extend_from_slice(&kind.to_le_bytes());
        tiff.extend_from_slice(&1u32.to_le_bytes());
        if kind == 3 {
            tiff.extend_from_slice(&(value as u16).to_le_bytes());
            tiff.extend_from_slice(&[0, 0]);
        } else {
            tiff.extend_from_slice(&value.to_le_bytes());
        }
    }
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff
}

fn multi_page_tiff(pages: &[&GrayImage]) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    let mut encoder = tiff::encoder::TiffEncoder::new(&mut bytes).unwrap();
    for page in pages {
        encoder
            .write_image::<tiff::encoder::colortype::Gray8>(
                page.width(),
                page.height(),
                page.as_raw(),
            )
            .unwrap();
    }
    bytes.into_inner()
}

/// A JPEG stored turned a quarter counter-clockwise with EXIF orientation 6 ("rotate 90°
/// clockwise to display"), as phones write portrait photos.
fn exif_rotated_jpeg(page: &GrayImage) -> Vec<u8> {
    common::exif_jpeg(&image::imageops::rotate270(page), 6)
}

#[test]
fn cmyk_jpeg_decodes_dark_text_on_light_paper() {
    let (page, _) = common::render(60, LINES, 0.0);
    let frame = decode_frame(&cmyk_jpeg(&page), 0, &DecodeLimits::default()).unwrap();
    let gray = frame.raster.to_gray();
    let mean = gray.pixels().map(|p| f64::from(p.0[0])).sum::<f64>() / gray.len() as f64;
    assert!(mean > 200.0, "paper is not light (mean {mean})");
    assert!(gray.pixels().any(|p| p.0[0] < 60), "no dark text");
}

#[test]
fn one_bit_tiff_stays_bitonal() {
    let (page, _) = common::render(61, 4, 0.0);
    let frame = decode_frame(&bilevel_tiff(&page), 0, &DecodeLimits::default()).unwrap();
    let Raster::Bilevel(gray) = frame.raster else {
        panic!("1-bit TIFF not kept bitonal")
    };
    assert_eq!(
        gray.get_pixel(5, 5).0[0],
        255,
        "WhiteIsZero paper must decode white"
    );
}

#[test]
fn every_format_reads_back_in_argument_order() {
    let dir = tempfile::tempdir().unwrap();
    let pages: Vec<(GrayImage, String)> =
        (0..6).map(|i| common::render(70 + i, LINES, 0.0)).collect();
    let files: [(&str, Vec<u8>); 5] = [
        ("cmyk.jpg", cmyk_jpeg(&pages[0].0)),
        ("gray16.png", gray16_png(&pages[1].0)),
        ("fax.tif", bilevel_tiff(&pages[2].0)),
        ("multi.tif", multi_page_tiff(&[&pages[3].0, &pages[4].0])),
        ("portrait.jpg", exif_rotated_jpeg(&pages[5].0)),
    ];
    let paths: Vec<PathBuf> = files
        .iter()
        .map(|(name, bytes)| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        })
        .collect();
    let (pdf, report) = (dir.path().join("all.pdf"), dir.path().join("all.json"));
    let out = run(sohoa()
        .args(["digitize", "-o"])
        .arg(&pdf)
        .arg("--report")
        .arg(&report)
        .args(&paths));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let frames: Vec<(String, u64)> = report
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let source = p["source"].as_str().unwrap();
            (
                source.rsplit('/').next().unwrap().to_string(),
                p["frame"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected = [
        "cmyk.jpg",
        "gray16.png",
        "fax.tif",
        "multi.tif",
        "multi.tif",
        "portrait.jpg",
    ];
    assert_eq!(
        frames,
        expected
            .iter()
            .zip([0, 0, 0, 0, 1, 0])
            .map(|(n, f)| (n.to_string(), f))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        (
            report[5]["width_px"].as_u64(),
            report[5]["height_px"].as_u64()
        ),
        (Some(2480), Some(3508))
    );

    for (i, (_, truth)) in pages.iter().enumerate() {
        let text = pdftotext(&pdf, i + 1);
        let rate = cer(&text, truth);
        assert!(
            rate <= 0.02,
            "{} page {}: CER {:.2}%\n{text}",
            expected[i],
            i + 1,
            rate * 100.0
        );
    }
    common::assert_qpdf_check(&pdf);
}

/// The raw content of the image XObject on page `page` (1-based).
fn page_image(doc: &lopdf::Document, page: u32) -> lopdf::Stream {
    let page_id = doc.get_pages()[&page];
    let resources = doc
        .get_dictionary(page_id)
        .unwrap()
        .get(b"Resources")
        .unwrap()
        .as_dict()
        .unwrap();
    let xobjects = resources.get(b"XObject").unwrap().as_dict().unwrap();
    let image_ref = xobjects.get(b"Im0").unwrap().as_reference().unwrap();
    doc.get_object(image_ref)
        .unwrap()
        .as_stream()
        .unwrap()
        .clone()
}

#[test]
fn straight_scans_are_embedded_without_recompression() {
    let dir = tempfile::tempdir().unwrap();
    let png = common::page_png(dir.path(), "scan.png", 80, 3, 0.0);
    let (page, _) = common::render(81, 3, 0.0);
    let jpeg_path = dir.path().join("scan.jpg");
    page.save(&jpeg_path).unwrap();
    let skewed = common::page_png(dir.path(), "skewed.png", 82, 3, 3.0);
    let pdf = dir.path().join("out.pdf");
    let out =
        run(sohoa()
            .args(["digitize", "-o"])
            .arg(&pdf)
            .args([&png.path, &jpeg_path, &skewed.path]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let doc = lopdf::Document::load(&pdf).unwrap();
    let jpeg = page_image(&doc, 2);
    assert_eq!(
        jpeg.content,
        std::fs::read(&jpeg_path).unwrap(),
        "JPEG was re-encoded"
    );
    let png_image = page_image(&doc, 1);
    let parms = png_image
        .dict
        .get(b"DecodeParms")
        .unwrap()
        .as_dict()
        .unwrap();
    assert_eq!(parms.get(b"Predictor").unwrap().as_i64().unwrap(), 15);
    assert!(png_image.content.len() < std::fs::metadata(&png.path).unwrap().len() as usize);
    // A resampled page cannot reuse its source and is compressed anew, still losslessly.
    let resampled = page_image(&doc, 3);
    assert_eq!(
        resampled.dict.get(b"Filter").unwrap().as_name().unwrap(),
        b"FlateDecode"
    );
}

/// A scanner's PDF (made by img2pdf, not by sohoa) is digitized like its images: each
/// page's image taken out, read, and laid on a page of the PDF's own size; a signed PDF
/// is refused with a message that says what to do, and nothing is written.
#[test]
fn scanned_pdfs_are_digitized_and_signed_ones_refused() {
    let dir = tempfile::tempdir().unwrap();
    let page = common::page_png(dir.path(), "page.png", 1901, 8, 0.0);
    let scan = dir.path().join("scan.pdf");
    // 200 dpi stated by the PDF's page size only (the PNG inside says nothing).
    let out = common::run(
        Command::new("img2pdf")
            .arg(&page.path)
            .args(["--imgsize", "200dpi", "-o"])
            .arg(&scan),
    );
    assert!(
        out.status.success(),
        "img2pdf: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pdf = dir.path().join("out.pdf");
    let report = dir.path().join("report.json");
    let out = common::run(
        common::sohoa()
            .args(["digitize", "-o"])
            .arg(&pdf)
            .arg("--report")
            .arg(&report)
            .arg(&scan),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pages: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let dpi = pages[0]["dpi"].as_f64().unwrap();
    assert!((dpi - 200.0).abs() < 0.5, "{pages:#}");
    let size = |file: &Path| -> Vec<f64> {
        let info = common::run(Command::new("pdfinfo").arg(file));
        let text = String::from_utf8_lossy(&info.stdout).into_owned();
        let line = text
            .lines()
            .find(|l| l.starts_with("Page size"))
            .unwrap_or("")
            .to_string();
        line.split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect()
    };
    let (ours, theirs) = (size(&pdf), size(&scan));
    assert_eq!(ours.len(), 2, "{ours:?}");
    assert!(
        ours.iter().zip(&theirs).all(|(a, b)| (a - b).abs() < 0.5),
        "the page keeps the scanner's page size: {ours:?} vs {theirs:?}"
    );
    let cer = common::cer(&common::pdftotext(&pdf, 1), &page.truth);
    assert!(cer < 0.02, "CER {cer}");
    // A signed PDF: refused, no output.
    let signed = dir.path().join("signed.pdf");
    let pki = common::pki::Pki::create(&dir.path().join("pki"));
    let out = common::run(
        Command::new("pyhanko")
            .args(["sign", "addsig", "--field", "Sig1", "pemder", "--key"])
            .arg(&pki.office_rsa.key_pem)
            .arg("--cert")
            .arg(&pki.office_rsa.cert_pem)
            .arg("--no-pass")
            .arg(&scan)
            .arg(&signed),
    );
    assert!(
        out.status.success(),
        "pyHanko: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let refused = dir.path().join("refused.pdf");
    let out = common::run(
        common::sohoa()
            .args(["digitize", "-o"])
            .arg(&refused)
            .arg(&signed),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && stderr.contains("digitally signed")
            && stderr.contains("store add"),
        "{stderr}"
    );
    assert!(!refused.exists());
    // Asked for: a new, unsigned digitized copy; the signed original is untouched.
    let before = std::fs::read(&signed).unwrap();
    let unsigned = dir.path().join("unsigned.pdf");
    let out = common::run(
        common::sohoa()
            .args(["digitize", "--invalidate-signatures", "-o"])
            .arg(&unsigned)
            .arg(&signed),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&signed).unwrap(), before);
    let cer = common::cer(&common::pdftotext(&unsigned, 1), &page.truth);
    assert!(cer < 0.02, "CER {cer}");
    let sigs = common::run(Command::new("pdfsig").arg(&unsigned));
    assert!(
        String::from_utf8_lossy(&sigs.stdout).contains("does not contain any signatures"),
        "{}",
        String::from_utf8_lossy(&sigs.stdout)
    );
}

/// A negative page (light text on black, as a scanner's PDF with a wrong colour space
/// gives it) is inverted, kept upright and read as well as the positive.
#[test]
fn a_negative_page_is_inverted_and_read() {
    let dir = tempfile::tempdir().unwrap();
    let (mut image, truth) = common::render(1907, LINES, 0.0);
    image::imageops::invert(&mut image);
    let input = dir.path().join("negative.png");
    image.save(&input).unwrap();
    let (pdf, report) = (dir.path().join("out.pdf"), dir.path().join("report.json"));
    let out = run(sohoa()
        .args(["digitize", "-o"])
        .arg(&pdf)
        .arg("--report")
        .arg(&report)
        .arg(&input));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pages: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(pages[0]["orientation_degrees"], 0, "{pages:#}");
    assert!(
        pages[0]["warnings"].to_string().contains("negative"),
        "{pages:#}"
    );
    let error = cer(&pdftotext(&pdf, 1), &truth);
    assert!(error < 0.02, "CER {error}");
}

#[test]
fn a_strip_of_one_text_line_is_read() {
    // The first line of the bundled 300-dpi sample, cropped and halved: 970×45 px, a
    // receipt-sized strip that the page minimum used to refuse.
    let page =
        image::open(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/samples/page1.png"))
            .unwrap()
            .to_luma8();
    let line = image::imageops::crop_imm(&page, 270, 280, 1940, 90).to_image();
    let strip = image::imageops::resize(&line, 970, 45, image::imageops::FilterType::Triangle);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("strip.png");
    strip.save(&input).unwrap();
    let pdf = dir.path().join("strip.pdf");
    let out = run(sohoa().args(["digitize", "-o"]).arg(&pdf).arg(&input));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let truth = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/samples/page1.txt"),
    )
    .unwrap();
    let first = truth.lines().next().unwrap();
    let text = pdftotext(&pdf, 1);
    let error = cer(&text, first);
    assert!(error < 0.05, "CER {error}: {text:?}");
    // Its resolution (150 dpi, stated nowhere) is estimated from the text line's height,
    // not taken from A4 (83 dpi); --dpi sets it outright.
    let report = dir.path().join("report.json");
    let dpi_of = |extra: &[&str]| -> f64 {
        let out = run(sohoa()
            .args(["digitize", "-o"])
            .arg(&pdf)
            .arg("--report")
            .arg(&report)
            .args(extra)
            .arg(&input));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pages: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        pages[0]["dpi"].as_f64().unwrap()
    };
    let estimated = dpi_of(&[]);
    assert!(
        (120.0..=190.0).contains(&estimated),
        "estimated {estimated} dpi"
    );
    assert_eq!(dpi_of(&["--dpi", "150"]), 150.0);
    let out = run(sohoa()
        .args(["digitize", "--dpi", "9", "-o"])
        .arg(&pdf)
        .arg(&input));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("50 to 2400"));
}

#[test]
fn jpeg_2000_pages_made_by_openjpeg_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let (image, truth) = common::render(2000, LINES, 0.0);
    let png = dir.path().join("page.png");
    image.save(&png).unwrap();
    // Both a JP2 file and a raw codestream, lossy (as scanners' archives hold them),
    // made by OpenJPEG's own encoder.
    for (name, rate) in [("page.jp2", "20"), ("page.j2k", "10")] {
        let encoded = dir.path().join(name);
        let out = run(Command::new("opj_compress")
            .arg("-i")
            .arg(&png)
            .arg("-o")
            .arg(&encoded)
            .args(["-r", rate]));
        assert!(
            out.status.success(),
            "opj_compress (libopenjp2-tools): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pdf = dir.path().join(format!("{name}.pdf"));
        let out = run(sohoa().args(["digitize", "-o"]).arg(&pdf).arg(&encoded));
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let error = cer(&pdftotext(&pdf, 1), &truth);
        assert!(error < 0.02, "{name}: CER {error}");
    }
    // A truncated file: a clear error, no output.
    let mut cut = std::fs::read(dir.path().join("page.jp2")).unwrap();
    cut.truncate(cut.len() / 3);
    let truncated = dir.path().join("cut.jp2");
    std::fs::write(&truncated, cut).unwrap();
    let pdf = dir.path().join("cut.pdf");
    let out = run(sohoa().args(["digitize", "-o"]).arg(&pdf).arg(&truncated));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cut.jp2"), "{stderr}");
    assert!(!pdf.exists());
}

fn digitize_report(input: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let report = out.with_extension("json");
    let run = common::run(
        common::sohoa()
            .arg("digitize")
            .args(extra)
            .arg("-o")
            .arg(out)
            .arg("--report")
            .arg(&report)
            .arg(input),
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    common::assert_qpdf_check(out);
    serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap()
}

/// A document of a page made by software (ReportLab, Vietnamese text in an embedded
/// font) and a scanned page (img2pdf): the first is kept as it is, its own text read;
/// the second is read with OCR. `--ocr force` reads both; an earlier OCR layer (made by
/// Tesseract's own PDF renderer) is kept by default and read again with `--ocr redo`.
#[test]
fn born_digital_pages_are_kept_and_scanned_pages_read() {
    let dir = tempfile::tempdir().unwrap();
    let truth = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\n\
                 GIẤY CHỨNG NHẬN ĐĂNG KÝ KẾT HÔN\nHọ và tên chồng: Nguyễn Văn An\n";
    let born = common::born_digital_pdf(dir.path(), truth);
    let page = common::page_png(dir.path(), "page.png", 1931, 8, 0.0);
    let scan = dir.path().join("scan.pdf");
    let made = common::run(Command::new("img2pdf").arg(&page.path).arg("-o").arg(&scan));
    assert!(made.status.success());
    let mixed = dir.path().join("mixed.pdf");
    let made = common::run(
        Command::new("qpdf")
            .args(["--empty", "--pages"])
            .arg(&born)
            .arg(&scan)
            .arg("--")
            .arg(&mixed),
    );
    assert!(made.status.success());

    let out = dir.path().join("out.pdf");
    let report = digitize_report(&mixed, &out, &[]);
    assert_eq!(report[0]["kept_as_is"], true, "{report:#}");
    assert!(report[1].get("kept_as_is").is_none(), "{report:#}");
    assert_eq!(common::cer(&common::pdftotext(&out, 1), truth), 0.0);
    assert!(common::cer(&common::pdftotext(&out, 2), &page.truth) < 0.02);
    let fonts = common::run(Command::new("pdffonts").arg(&out));
    assert!(
        String::from_utf8_lossy(&fonts.stdout).contains("DejaVuSans"),
        "the page keeps its own font"
    );

    let forced = dir.path().join("forced.pdf");
    let report = digitize_report(&mixed, &forced, &["--ocr", "force"]);
    assert!(report[0].get("kept_as_is").is_none(), "{report:#}");
    let fonts = common::run(Command::new("pdffonts").arg(&forced));
    assert!(!String::from_utf8_lossy(&fonts.stdout).contains("DejaVuSans"));
    let c = common::cer(&common::pdftotext(&forced, 1), truth);
    assert!(c < 0.05, "CER of the rendered page {c}");

    // Tesseract's own PDF: the page image under an invisible text layer.
    let layered = dir.path().join("layered");
    let made = common::run(
        Command::new("tesseract")
            .arg(&page.path)
            .arg(&layered)
            .args(["-l", "vie", "pdf"]),
    );
    assert!(made.status.success());
    let layered = layered.with_extension("pdf");
    let kept = digitize_report(&layered, &dir.path().join("kept.pdf"), &[]);
    assert_eq!(kept[0]["kept_as_is"], true, "{kept:#}");
    let redone = digitize_report(&layered, &dir.path().join("redone.pdf"), &["--ocr", "redo"]);
    assert!(redone[0].get("kept_as_is").is_none(), "{redone:#}");
    assert!(redone[0]["words"].as_u64().unwrap() > 50);
}
