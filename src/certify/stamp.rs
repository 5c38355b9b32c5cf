//! The visible certification stamp: the statement (lời chứng), register number, date,
//! certifier and agency in an embedded Vietnamese font, and a QR code carrying the
//! verification reference. Drawn as a Form XObject that becomes the appearance of the
//! signature widget.

use std::fmt::Write;

use lopdf::{dictionary, Document, ObjectId, Stream};
use qrcode::canvas::{Canvas, MaskPattern};
use qrcode::{Color, EcLevel};

use crate::pdf::font::{SubsetFont, DEJAVU_SERIF};
use crate::pdf::PdfError;

/// Width of the stamp in points (about 95 mm).
pub const STAMP_WIDTH: f32 = 270.0;
/// Height of the stamp in points (about 42 mm).
pub const STAMP_HEIGHT: f32 = 118.0;
/// The statement printed on every electronic certified copy.
pub const STATEMENT: &str = "Chứng thực bản sao điện tử đúng với bản chính";

const PADDING: f32 = 6.0;
const QR_SIZE: f32 = STAMP_HEIGHT - 2.0 * PADDING;
const TEXT_LEFT: f32 = PADDING + QR_SIZE + 8.0;
const TEXT_WIDTH: f32 = STAMP_WIDTH - TEXT_LEFT - PADDING;

/// What the stamp says.
#[derive(Debug, Clone)]
pub struct StampText {
    /// Certification number in the register.
    pub number: u64,
    /// Register book (quyển số), e.g. `01/2026`.
    pub book: String,
    /// Date of certification, `dd/mm/yyyy`.
    pub date: String,
    /// The certifying official (người chứng thực).
    pub certifier: String,
    /// The certifying agency.
    pub agency: String,
    /// Common name of the signing certificate.
    pub signer: String,
    /// The verification reference, printed.
    pub reference: String,
    /// What the QR code holds: the public verification page's address when the office
    /// has one, else the reference.
    pub qr: String,
}

impl StampText {
    /// The stamp's lines, top to bottom, with their font sizes.
    fn lines(&self) -> Vec<(String, f32)> {
        vec![
            ("CHỨNG THỰC BẢN SAO ĐIỆN TỬ".into(), 9.0),
            ("ĐÚNG VỚI BẢN CHÍNH".into(), 9.0),
            (
                format!("Số chứng thực: {}    Quyển số: {}", self.number, self.book),
                8.0,
            ),
            (format!("Ngày chứng thực: {}", self.date), 8.0),
            (format!("Người chứng thực: {}", self.certifier), 8.0),
            (self.agency.clone(), 8.0),
            (format!("Ký số bởi: {}", self.signer), 7.0),
            (format!("Mã xác minh: {}", self.reference), 6.0),
        ]
    }
}

/// Draws the stamp into `doc` as a Form XObject and returns its id.
pub fn stamp_appearance(doc: &mut Document, text: &StampText) -> Result<ObjectId, PdfError> {
    let mut font = SubsetFont::new(DEJAVU_SERIF)?;
    let mut content = String::new();
    // White ground so the stamp stays legible over the scan, dark red frame.
    let _ = writeln!(
        content,
        "q 1 1 1 rg 0 0 {STAMP_WIDTH} {STAMP_HEIGHT} re f Q"
    );
    let _ = writeln!(
        content,
        "q 0.6 0 0 RG 1.2 w 0.6 0.6 {} {} re S Q",
        STAMP_WIDTH - 1.2,
        STAMP_HEIGHT - 1.2
    );
    content.push_str(&qr_operators(&text.qr)?);
    content.push_str(&text_operators(&mut font, &text.lines()));
    let font_id = font.write(doc, "DejaVuSerif")?;
    let dict = dictionary! {
        "Type" => "XObject",
        "Subtype" => "Form",
        "BBox" => vec![0.into(), 0.into(), STAMP_WIDTH.into(), STAMP_HEIGHT.into()],
        "Resources" => dictionary! { "Font" => dictionary! { "F1" => font_id } },
    };
    Ok(doc.add_object(Stream::new(dict, content.into_bytes())))
}

/// Text lines right of the QR code; a line too long for the stamp is set smaller.
fn text_operators(font: &mut SubsetFont, lines: &[(String, f32)]) -> String {
    let mut ops = String::from("BT 0 0 0 rg\n");
    let mut baseline = STAMP_HEIGHT - PADDING - 8.0;
    for (line, size) in lines {
        let (hex, width) = font.encode(line);
        let size = if width * size > TEXT_WIDTH {
            TEXT_WIDTH / width
        } else {
            *size
        };
        let _ = writeln!(
            ops,
            "/F1 {size:.2} Tf 1 0 0 1 {TEXT_LEFT:.2} {baseline:.2} Tm <{hex}> Tj"
        );
        baseline -= size * 1.45 + 1.0;
    }
    ops.push_str("ET\n");
    ops
}

/// The QR mask used for every code: a fixed mask is as readable to a scanner as the
/// "best" one and spares scoring all eight per copy (most of the QR's cost).
const QR_MASK: MaskPattern = MaskPattern::DiagonalLines;

/// The QR code of `reference` as filled squares, bottom-left at (PADDING, PADDING):
/// drawn in module units under one scaling matrix, one rectangle per run of dark modules.
fn qr_operators(reference: &str) -> Result<String, PdfError> {
    let fail = |e: qrcode::types::QrError| PdfError::Encode(format!("QR code: {e}"));
    let bits = qrcode::bits::encode_auto(reference.as_bytes(), EcLevel::M).map_err(fail)?;
    let version = bits.version();
    let (data, ec) =
        qrcode::ec::construct_codewords(&bits.into_bytes(), version, EcLevel::M).map_err(fail)?;
    let mut canvas = Canvas::new(version, EcLevel::M);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&data, &ec);
    canvas.apply_mask(QR_MASK);
    let colors = canvas.into_colors();
    let modules = version.width() as usize;
    let quiet = 2usize;
    let module = QR_SIZE / (modules + 2 * quiet) as f32;
    // Module (col, row) from the top left becomes the unit square at (quiet + col,
    // quiet + modules - 1 - row) from the bottom left of the QR area.
    let mut ops = format!("q 0 0 0 rg {module:.4} 0 0 {module:.4} {PADDING} {PADDING} cm\n");
    for (row, line) in colors.chunks_exact(modules).enumerate() {
        let y = quiet + modules - 1 - row;
        let mut col = 0;
        while col < modules {
            if line[col] != Color::Dark {
                col += 1;
                continue;
            }
            let start = col;
            while col < modules && line[col] == Color::Dark {
                col += 1;
            }
            let _ = writeln!(ops, "{} {y} {} 1 re", quiet + start, col - start);
        }
    }
    ops.push_str("f Q\n");
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> StampText {
        StampText {
            number: 42,
            book: "01/2026".into(),
            date: "26/11/2026".into(),
            certifier: "Nguyễn Văn An".into(),
            agency: "UBND xã Thử Nghiệm, huyện Tam Đường, tỉnh Lai Châu".into(),
            signer: "Nguyễn Văn An".into(),
            reference: "SOHOA1:2026-01-42:0123456789abcdef".into(),
            qr: "https://xa.example.vn/verify?ref=SOHOA1:2026-01-42:0123456789abcdef".into(),
        }
    }

    #[test]
    fn the_qr_code_reads_back_as_the_reference() {
        let reference = sample().qr;
        let ops = qr_operators(&reference).unwrap();
        // Rasterise the module rectangles ("x y w 1 re", y upwards) at 4 pixels a module.
        let runs: Vec<(usize, usize, usize)> = ops
            .lines()
            .filter(|l| l.ends_with(" 1 re"))
            .map(|l| {
                let n: Vec<usize> = l.split(' ').take(3).map(|v| v.parse().unwrap()).collect();
                (n[0], n[1], n[2])
            })
            .collect();
        let side = runs.iter().map(|r| r.1).max().unwrap() + 3;
        let scale = 4;
        let mut image = image::GrayImage::from_pixel(
            (side * scale) as u32,
            (side * scale) as u32,
            image::Luma([255]),
        );
        for (x, y, w) in runs {
            for px in x * scale..(x + w) * scale {
                for py in (side - 1 - y) * scale..(side - y) * scale {
                    image.put_pixel(px as u32, py as u32, image::Luma([0]));
                }
            }
        }
        let mut prepared = rqrr::PreparedImage::prepare(image);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code");
        let (_, content) = grids[0].decode().unwrap();
        assert_eq!(content, reference);
    }

    #[test]
    fn stamp_draws_statement_number_and_qr() {
        let mut doc = Document::with_version("1.7");
        let id = stamp_appearance(&mut doc, &sample()).unwrap();
        let stream = doc.get_object(id).unwrap().as_stream().unwrap();
        let content = String::from_utf8_lossy(&stream.content);
        assert!(content.matches(" re\n").count() > 100, "QR modules missing");
        assert!(content.contains("Tj"));
        assert_eq!(
            stream.dict.get(b"Subtype").unwrap().as_name().unwrap(),
            b"Form"
        );
    }

    #[test]
    fn long_lines_shrink_to_fit() {
        let mut font = SubsetFont::new(DEJAVU_SERIF).unwrap();
        let long = "Ủy ban nhân dân xã Thử Nghiệm thuộc huyện Tam Đường tỉnh Lai Châu".repeat(2);
        let ops = text_operators(&mut font, &[(long, 8.0)]);
        let size: f32 = ops
            .split("/F1 ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(size < 8.0);
    }
}
