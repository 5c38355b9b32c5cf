//! Visible text in an embedded, subsetted TrueType font (PDF/A: every font embedded).
//!
//! Text is set one glyph per character (Vietnamese needs no shaping once NFC-normalised:
//! every letter with its diacritics is a precomposed glyph). Glyphs are collected while
//! text is encoded, then the font is subset to them and written as a Type0 /
//! CIDFontType2 font with Identity-H encoding (CID = glyph id in the subset), a `/W`
//! widths array and a ToUnicode map so the text can be searched and copied.

use std::collections::BTreeMap;
use std::fmt::Write;

use lopdf::{dictionary, Dictionary, Document, Object, ObjectId, Stream};
use subsetter::GlyphRemapper;
use unicode_normalization::UnicodeNormalization;

use super::image::zlib;
use super::PdfError;

/// DejaVu Serif: the font of certification statements (see `assets/README.md`).
pub const DEJAVU_SERIF: &[u8] = include_bytes!("assets/DejaVuSerif.ttf");

/// A font being used on a page: collects the glyphs it needs, then embeds their subset.
pub struct SubsetFont {
    data: &'static [u8],
    face: ttf_parser::Face<'static>,
    remapper: GlyphRemapper,
    /// Subset glyph id → (character, advance in 1/1000 em).
    used: BTreeMap<u16, (char, f32)>,
}

impl SubsetFont {
    /// Opens a TrueType font.
    pub fn new(data: &'static [u8]) -> Result<SubsetFont, PdfError> {
        let face = ttf_parser::Face::parse(data, 0).map_err(|e| PdfError::Font(e.to_string()))?;
        Ok(SubsetFont {
            data,
            face,
            remapper: GlyphRemapper::new(),
            used: BTreeMap::new(),
        })
    }

    /// Encodes `text` (NFC-normalised) as a hex string of 2-byte CIDs for `Tj`, and
    /// returns it with its width in text-space units per unit font size. Characters the
    /// font lacks are drawn as `?`.
    pub fn encode(&mut self, text: &str) -> (String, f32) {
        let mut hex = String::new();
        let mut width = 0.0;
        for c in text.nfc() {
            let (c, glyph) = match self.face.glyph_index(c) {
                Some(g) => (c, g),
                None => ('?', self.face.glyph_index('?').unwrap_or_default()),
            };
            let advance = self.advance(glyph);
            let cid = self.remapper.remap(glyph.0);
            self.used.insert(cid, (c, advance));
            let _ = write!(hex, "{cid:04X}");
            width += advance / 1000.0;
        }
        (hex, width)
    }

    fn advance(&self, glyph: ttf_parser::GlyphId) -> f32 {
        let units = f32::from(self.face.units_per_em());
        f32::from(self.face.glyph_hor_advance(glyph).unwrap_or(0)) * 1000.0 / units
    }

    fn scaled(&self, value: i16) -> i64 {
        (f32::from(value) * 1000.0 / f32::from(self.face.units_per_em())).round() as i64
    }

    /// Writes the subset font into `doc` and returns the Type0 font's id.
    pub fn write(&self, doc: &mut Document, base_name: &str) -> Result<ObjectId, PdfError> {
        let subset = subsetter::subset(self.data, 0, &self.remapper)
            .map_err(|e| PdfError::Font(format!("{e:?}")))?;
        let name = format!("{}+{base_name}", subset_tag(&subset));
        // Stored uncompressed: a stamp's subset is about 18 KB, and compressing it would
        // cost more time than signing the copy saves elsewhere.
        let file = dictionary! { "Length1" => subset.len() as i64 };
        let font_file = doc.add_object(Stream::new(file, subset).with_compression(false));
        let descriptor = doc.add_object(self.descriptor(&name, font_file));
        let cid_font = doc.add_object(dictionary! {
            "Type" => "Font",
            "Subtype" => "CIDFontType2",
            "BaseFont" => name.as_str(),
            "CIDSystemInfo" => dictionary! {
                "Registry" => Object::string_literal("Adobe"),
                "Ordering" => Object::string_literal("Identity"),
                "Supplement" => 0,
            },
            "FontDescriptor" => descriptor,
            "W" => self.widths(),
            "CIDToGIDMap" => "Identity",
        });
        let cmap = to_unicode_cmap(&self.used);
        let mut cmap_dict = Dictionary::new();
        cmap_dict.set("Filter", "FlateDecode");
        let to_unicode =
            doc.add_object(Stream::new(cmap_dict, zlib(cmap.as_bytes())).with_compression(false));
        Ok(doc.add_object(dictionary! {
            "Type" => "Font",
            "Subtype" => "Type0",
            "BaseFont" => name.as_str(),
            "Encoding" => "Identity-H",
            "DescendantFonts" => vec![cid_font.into()],
            "ToUnicode" => to_unicode,
        }))
    }

    fn descriptor(&self, name: &str, font_file: ObjectId) -> Dictionary {
        let bbox = self.face.global_bounding_box();
        let cap_height = self.face.capital_height().unwrap_or(self.face.ascender());
        dictionary! {
            "Type" => "FontDescriptor",
            "FontName" => name,
            "Flags" => 4,
            "FontBBox" => vec![
                self.scaled(bbox.x_min).into(),
                self.scaled(bbox.y_min).into(),
                self.scaled(bbox.x_max).into(),
                self.scaled(bbox.y_max).into(),
            ],
            "ItalicAngle" => 0,
            "Ascent" => self.scaled(self.face.ascender()),
            "Descent" => self.scaled(self.face.descender()),
            "CapHeight" => self.scaled(cap_height),
            "StemV" => 80,
            "FontFile2" => font_file,
        }
    }

    /// `/W` array: `cid [width]` for every used glyph.
    fn widths(&self) -> Vec<Object> {
        let mut w = Vec::with_capacity(self.used.len() * 2);
        for (&cid, &(_, advance)) in &self.used {
            w.push(Object::Integer(i64::from(cid)));
            w.push(Object::Array(vec![Object::Real(advance.round())]));
        }
        w
    }
}

/// Six capital letters derived from the subset's bytes, as PDF subset names require.
fn subset_tag(subset: &[u8]) -> String {
    let mut hash: u32 = 2166136261;
    for &b in subset {
        hash = (hash ^ u32::from(b)).wrapping_mul(16777619);
    }
    (0..6)
        .map(|i| char::from(b'A' + ((hash >> (i * 5)) % 26) as u8))
        .collect()
}

fn to_unicode_cmap(used: &BTreeMap<u16, (char, f32)>) -> String {
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let entries: Vec<_> = used.iter().collect();
    for block in entries.chunks(100) {
        let _ = writeln!(cmap, "{} beginbfchar", block.len());
        for (cid, (c, _)) in block {
            let utf16: String = c
                .encode_utf16(&mut [0; 2])
                .iter()
                .map(|u| format!("{u:04X}"))
                .collect();
            let _ = writeln!(cmap, "<{cid:04X}> <{utf16}>");
        }
        cmap.push_str("endbfchar\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    cmap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_text_encodes_to_distinct_glyphs_with_width() {
        let mut font = SubsetFont::new(DEJAVU_SERIF).unwrap();
        let (hex, width) = font.encode("Chứng thực");
        assert_eq!(hex.len(), 10 * 4);
        assert!(width > 3.0 && width < 8.0, "width {width}");
        // The same character maps to the same CID.
        let (again, _) = font.encode("ứ");
        assert_eq!(&hex[8..12], again);
        let cmap = to_unicode_cmap(&font.used);
        assert!(cmap.contains("<1EE9>"), "ứ missing from ToUnicode");
    }

    #[test]
    fn subset_is_small_and_written() {
        let mut font = SubsetFont::new(DEJAVU_SERIF).unwrap();
        font.encode("Đúng với bản chính");
        let mut doc = Document::with_version("1.7");
        font.write(&mut doc, "DejaVuSerif").unwrap();
        let file = doc
            .objects
            .values()
            .filter_map(|o| o.as_stream().ok())
            .find(|s| s.dict.has(b"Length1"))
            .unwrap();
        assert!(
            file.content.len() < 40_000,
            "subset too large: {}",
            file.content.len()
        );
    }
}
