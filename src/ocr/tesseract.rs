//! Tesseract through its C API, loaded on first use (`sohoa_ffi::tesseract`).
//!
//! Word boxes with confidences come from Tesseract's own TSV renderer.

use std::ffi::CString;

use image::GrayImage;
use sohoa_ffi::tesseract::{BaseApi, PageSegMode};
use unicode_normalization::UnicodeNormalization;

use super::{BBox, Line, Model, OcrEngine, OcrError, RecognizedPage, Word};

/// A loaded Tesseract engine for one language.
pub struct TesseractEngine {
    api: BaseApi,
    model: Model,
}

impl TesseractEngine {
    /// Loads `model` (LSTM engine). Costs tens of milliseconds: do it once per worker.
    pub fn new(model: Model) -> Result<Self, OcrError> {
        let datapath = cstring(&model.tessdata_dir().to_string_lossy())?;
        let language = cstring(&model.language)?;
        let mut api = BaseApi::new(&datapath, &language).map_err(|e| match e {
            sohoa_ffi::Error::Load(e) => OcrError::Engine(e.to_string()),
            sohoa_ffi::Error::Failed(_) => {
                OcrError::Engine(format!("could not load {}", model.path.display()))
            }
        })?;
        // Tesseract's diagnostics would break the one-line error contract on stderr.
        api.set_variable(&cstring("debug_file")?, &cstring("/dev/null")?)
            .map_err(|_| OcrError::Engine("cannot silence diagnostics".into()))?;
        // The API's default is one uniform block, which reads a two-column page across
        // its columns; full layout analysis (the `tesseract` command's default) finds the
        // columns and table cells and reads each in turn. Orientation is capture's job.
        api.set_page_seg_mode(PageSegMode::Auto);
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
        self.api.set_page_seg_mode(PageSegMode::SingleBlock);
        let read = self.read(sample, dpi);
        self.api.set_page_seg_mode(PageSegMode::Auto);
        read
    }

    fn model(&self) -> &Model {
        &self.model
    }
}

impl TesseractEngine {
    fn read(&mut self, page: &GrayImage, dpi: u32) -> Result<RecognizedPage, OcrError> {
        let (w, h) = page.dimensions();
        // Tesseract rejects resolutions outside 70–2400 dpi with a warning and guesses.
        let tsv = self
            .api
            .read_tsv(page.as_raw(), w, h, dpi.clamp(70, 2400))
            .map_err(|e| OcrError::Engine(e.to_string()))?;
        Ok(parse_tsv(&tsv))
    }
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
            let number = |col: &str| col.parse().unwrap_or(0);
            lines.push(Line {
                words: Vec::new(),
                paragraph: (number(cols[2]), number(cols[3])),
            });
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
