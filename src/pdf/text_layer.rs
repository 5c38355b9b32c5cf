//! The invisible text layer: each recognised word placed over its image, in text render
//! mode 3 (neither fill nor stroke), in the glyphless font.
//!
//! Every glyph of the glyphless font is half an em wide, so a word is stretched with `Tz`
//! to span exactly from its left edge to the next word's left edge (its trailing space
//! included). A line's words share one baseline at the bottom of the line box.
//!
//! The font size is the median line height of the line's paragraph, the same for all its
//! lines: text selection covers the words, and poppler (`pdftotext`, and viewers built on
//! it) keeps each paragraph in one block. Poppler stacks lines into a block only when
//! their font sizes differ by under 5 %; with a size per line, the paragraphs of a
//! two-column page broke into small blocks whose grid its table detection read row by
//! row, across the columns.

use std::fmt::Write;

use crate::ocr::{Line, RecognizedPage};

/// Resource name of the glyphless font on every page.
pub const FONT_RESOURCE: &str = "F0";
/// Advance of every glyph of the glyphless font, in text-space units per unit font size.
const GLYPH_ADVANCE: f32 = 0.5;

/// Maps page pixels (origin top-left) to PDF points (origin bottom-left).
#[derive(Debug, Clone, Copy)]
pub struct PixelToPoint {
    /// Points per pixel: 72 / dpi.
    pub scale: f32,
    /// Page height in points.
    pub page_height: f32,
}

impl PixelToPoint {
    fn x(&self, px: u32) -> f32 {
        px as f32 * self.scale
    }

    fn y(&self, px: u32) -> f32 {
        self.page_height - px as f32 * self.scale
    }
}

/// Content-stream operators that draw `page`'s words invisibly.
pub fn operators(page: &RecognizedPage, map: PixelToPoint) -> String {
    let mut ops = String::new();
    if page.lines.is_empty() {
        return ops;
    }
    ops.push_str("BT\n3 Tr\n");
    for paragraph in page.lines.chunk_by(|a, b| a.paragraph == b.paragraph) {
        let size = (median_height(paragraph) * map.scale).max(1.0);
        for line in paragraph {
            write_line(&mut ops, line, size, map);
        }
    }
    ops.push_str("ET\n");
    ops
}

/// The median height of the lines' boxes, in pixels.
fn median_height(lines: &[Line]) -> f32 {
    let mut heights: Vec<u32> = lines
        .iter()
        .filter_map(|l| l.bbox())
        .map(|b| b.height)
        .collect();
    heights.sort_unstable();
    heights.get(heights.len() / 2).copied().unwrap_or(1) as f32
}

fn write_line(ops: &mut String, line: &Line, size: f32, map: PixelToPoint) {
    let Some(bbox) = line.bbox() else { return };
    let baseline = map.y(bbox.bottom());
    let _ = writeln!(ops, "/{FONT_RESOURCE} {size:.2} Tf");
    for (i, word) in line.words.iter().enumerate() {
        let next = line.words.get(i + 1);
        let text = if next.is_some() {
            format!("{} ", word.text)
        } else {
            word.text.clone()
        };
        let end = next.map_or(word.bbox.right(), |n| n.bbox.left.max(word.bbox.right()));
        let span = map.x(end) - map.x(word.bbox.left);
        let glyphs = text.encode_utf16().count().max(1) as f32;
        let stretch = 100.0 * span / (glyphs * size * GLYPH_ADVANCE);
        let x = map.x(word.bbox.left);
        let _ = writeln!(
            ops,
            "{stretch:.2} Tz 1 0 0 1 {x:.2} {baseline:.2} Tm <{}> Tj",
            utf16_hex(&text)
        );
    }
}

/// UTF-16BE hex of `text`: with `/Identity-H` and the identity ToUnicode map, each
/// code unit is a CID whose Unicode value is itself. Characters outside the BMP become
/// U+FFFD (Vietnamese never needs them).
fn utf16_hex(text: &str) -> String {
    let mut hex = String::with_capacity(text.len() * 4);
    for c in text.chars() {
        let unit = if (c as u32) <= 0xFFFF {
            c as u32
        } else {
            0xFFFD
        };
        let _ = write!(hex, "{unit:04X}");
    }
    hex
}

/// The ToUnicode CMap mapping every 2-byte code to the same Unicode code point. Written
/// as 256-code ranges because a `bfrange` may not carry over its last byte.
pub fn identity_to_unicode_cmap() -> String {
    let ranges: Vec<u32> = (0..=0xFFu32)
        .filter(|hi| !(0xD8..=0xDF).contains(hi))
        .collect();
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    for block in ranges.chunks(100) {
        let _ = writeln!(cmap, "{} beginbfrange", block.len());
        for hi in block {
            let _ = writeln!(cmap, "<{hi:02X}00> <{hi:02X}FF> <{hi:02X}00>");
        }
        cmap.push_str("endbfrange\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    cmap
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocr::{BBox, Word};

    fn word(text: &str, left: u32) -> Word {
        Word {
            text: text.into(),
            bbox: BBox {
                left,
                top: 100,
                width: 80,
                height: 40,
            },
            confidence: 90.0,
        }
    }

    #[test]
    fn vietnamese_is_written_as_utf16_code_units() {
        assert_eq!(utf16_hex("Đà"), "011000E0");
        assert_eq!(utf16_hex("ự"), "1EF1");
    }

    #[test]
    fn words_span_to_the_next_word() {
        let page = RecognizedPage {
            lines: vec![Line {
                words: vec![word("Hà", 0), word("Nội", 100)],
                paragraph: (1, 1),
            }],
        };
        let ops = operators(
            &page,
            PixelToPoint {
                scale: 0.24,
                page_height: 842.0,
            },
        );
        // "Hà " is 3 glyphs of 0.5 em at 9.6 pt = 14.4 pt; it must span 100 px = 24 pt.
        assert!(
            ops.contains("166.67 Tz 1 0 0 1 0.00 808.40 Tm <004800E00020> Tj"),
            "{ops}"
        );
        assert!(ops.starts_with("BT\n3 Tr\n"));
    }

    #[test]
    fn the_lines_of_a_paragraph_share_one_font_size() {
        let line = |top: u32, height: u32, paragraph: (u32, u32)| Line {
            words: vec![Word {
                text: "dòng".into(),
                bbox: BBox {
                    left: 10,
                    top,
                    width: 80,
                    height,
                },
                confidence: 90.0,
            }],
            paragraph,
        };
        let page = RecognizedPage {
            // Heights 40, 46, 42 (median 42: 10.08 pt), then a heading of 80 px.
            lines: vec![
                line(100, 40, (1, 1)),
                line(150, 46, (1, 1)),
                line(200, 42, (1, 1)),
                line(300, 80, (1, 2)),
            ],
        };
        let map = PixelToPoint {
            scale: 0.24,
            page_height: 842.0,
        };
        let ops = operators(&page, map);
        let sizes: Vec<&str> = ops.lines().filter(|l| l.ends_with(" Tf")).collect();
        assert_eq!(
            sizes,
            [
                "/F0 10.08 Tf",
                "/F0 10.08 Tf",
                "/F0 10.08 Tf",
                "/F0 19.20 Tf"
            ]
        );
    }

    #[test]
    fn cmap_ranges_never_cross_a_low_byte_boundary() {
        let cmap = identity_to_unicode_cmap();
        assert!(cmap.contains("<1E00> <1EFF> <1E00>"));
        assert!(!cmap.contains("<D800>"));
        assert_eq!(cmap.matches("beginbfrange").count(), 3);
    }
}
