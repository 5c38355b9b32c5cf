//! Tesseract through its C API (the `tesseract` crate's safe plumbing layer).
//!
//! We use the `tesseract` crate rather than `tesseract-rs`: it binds Debian's system
//! libtesseract with bindgen (about 20 s to build, no network stack pulled in), and word
//! boxes with confidences come from Tesseract's own TSV renderer.

use std::ffi::CString;

use image::GrayImage;
use tesseract::plumbing::tesseract_sys::{
    TessOcrEngineMode_OEM_LSTM_ONLY, TessPageSegMode_PSM_AUTO, TessPageSegMode_PSM_SINGLE_BLOCK,
};
use tesseract::plumbing::TessBaseApi;
use unicode_normalization::UnicodeNormalization;

use super::{BBox, Line, Model, OcrEngine, OcrError, RecognizedPage, Word};

/// A loaded Tesseract engine for one language.
pub struct TesseractEngine {
    api: TessBaseApi,
    model: Model,
}

impl TesseractEngine {
    /// Loads `model` (LSTM engine). Costs tens of milliseconds: do it once per worker.
    pub fn new(model: Model) -> Result<Self, OcrError> {
        let mut api = TessBaseApi::create();
        let datapath = cstring(&model.tessdata_dir().to_string_lossy())?;
        let language = cstring(&model.language)?;
        api.init_4(
            Some(&datapath),
            Some(&language),
            TessOcrEngineMode_OEM_LSTM_ONLY,
        )
        .map_err(|_| OcrError::Engine(format!("could not load {}", model.path.display())))?;
        // Tesseract's diagnostics would break the one-line error contract on stderr.
        api.set_variable(&cstring("debug_file")?, &cstring("/dev/null")?)
            .map_err(|_| OcrError::Engine("cannot silence diagnostics".into()))?;
        // The API's default is one uniform block, which reads a two-column page across
        // its columns; full layout analysis (the `tesseract` command's default) finds the
        // columns and table cells and reads each in turn. Orientation is capture's job.
        api.set_page_seg_mode(TessPageSegMode_PSM_AUTO);
        Ok(TesseractEngine { api, model })
    }
}

fn cstring(s: &str) -> Result<CString, OcrError> {
    CString::new(s).map_err(|_| OcrError::Engine(format!("NUL byte in {s:?}")))
}

impl OcrEngine for TesseractEngine {
    fn recognize(&mut self, page: &GrayImage, dpi: u32) -> Result<RecognizedPage, OcrError> {
        self.read(page, dpi)
    }

    fn recognize_lines(
        &mut self,
        sample: &GrayImage,
        dpi: u32,
    ) -> Result<RecognizedPage, OcrError> {
        // Layout analysis would find sideways lines and read them as well as upright
        // ones; one uniform block of horizontal lines is what an orientation check needs.
        self.api.set_page_seg_mode(TessPageSegMode_PSM_SINGLE_BLOCK);
        let read = self.read(sample, dpi);
        self.api.set_page_seg_mode(TessPageSegMode_PSM_AUTO);
        read
    }

    fn model(&self) -> &Model {
        &self.model
    }
}

impl TesseractEngine {
    fn read(&mut self, page: &GrayImage, dpi: u32) -> Result<RecognizedPage, OcrError> {
        let (w, h) = page.dimensions();
        let (w, h) = (to_c_int(w)?, to_c_int(h)?);
        self.api
            .set_image(page.as_raw(), w, h, 1, w)
            .map_err(|e| OcrError::Engine(format!("image rejected: {e:?}")))?;
        // Tesseract rejects resolutions outside 70–2400 dpi with a warning and guesses.
        self.api
            .set_source_resolution(to_c_int(dpi.clamp(70, 2400))?);
        self.api
            .recognize()
            .map_err(|_| OcrError::Engine("recognition failed".into()))?;
        let tsv = self
            .api
            .get_tsv_text(0)
            .map_err(|_| OcrError::Engine("no TSV output".into()))?;
        Ok(parse_tsv(&tsv.as_ref().to_string_lossy()))
    }
}

fn to_c_int(v: u32) -> Result<i32, OcrError> {
    i32::try_from(v).map_err(|_| OcrError::Engine(format!("dimension {v} too large")))
}

/// Parses Tesseract's TSV: level, page, block, paragraph, line, word, left, top, width,
/// height, confidence, text. Words (level 5) are grouped into lines by their
/// (block, paragraph, line) numbers, in the order Tesseract reads them.
fn parse_tsv(tsv: &str) -> RecognizedPage {
    let mut lines: Vec<Line> = Vec::new();
    let mut current_key = None;
    for row in tsv.lines() {
        let cols: Vec<&str> = row.splitn(12, '\t').collect();
        if cols.len() < 12 || cols[0] != "5" {
            continue;
        }
        let text: String = cols[11].trim().nfc().collect();
        let nums: Vec<u32> = cols[6..10].iter().filter_map(|c| c.parse().ok()).collect();
        if text.is_empty() || nums.len() != 4 {
            continue;
        }
        let key = (cols[2], cols[3], cols[4]);
        if current_key != Some(key) {
            lines.push(Line { words: Vec::new() });
            current_key = Some(key);
        }
        let bbox = BBox {
            left: nums[0],
            top: nums[1],
            width: nums[2],
            height: nums[3],
        };
        let confidence = cols[10].parse::<f32>().unwrap_or(0.0).max(0.0);
        if let Some(line) = lines.last_mut() {
            line.words.push(Word {
                text,
                bbox,
                confidence,
            });
        }
    }
    RecognizedPage { lines }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_words_group_into_lines() {
        let tsv = "1\t1\t0\t0\t0\t0\t0\t0\t100\t100\t-1\t\n\
                   5\t1\t1\t1\t1\t1\t10\t10\t40\t20\t95.5\tChứng\n\
                   5\t1\t1\t1\t1\t2\t60\t10\t40\t20\t90\tthực\n\
                   5\t1\t1\t1\t2\t1\t10\t40\t40\t20\t80\tbản\n";
        let page = parse_tsv(tsv);
        assert_eq!(page.text(), "Chứng thực\nbản");
        assert_eq!(
            page.lines[0].bbox().unwrap(),
            BBox {
                left: 10,
                top: 10,
                width: 90,
                height: 20
            }
        );
        assert!((page.mean_confidence() - 88.5).abs() < 1e-3);
    }
}
