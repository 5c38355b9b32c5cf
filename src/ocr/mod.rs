//! Recognize: words, boxes and confidences from a corrected page.

pub mod models;
pub mod table;
mod tesseract;

pub use self::tesseract::TesseractEngine;
pub use models::Model;

use image::GrayImage;
use serde::Serialize;

/// Why recognition failed.
#[derive(Debug, thiserror::Error)]
pub enum OcrError {
    /// The model file is missing, unreadable or has the wrong checksum.
    #[error("{0}")]
    Model(String),
    /// Tesseract refused to start or to recognise.
    #[error("Tesseract: {0}")]
    Engine(String),
}

/// A box in page pixels, origin top-left.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BBox {
    /// Left edge.
    pub left: u32,
    /// Top edge.
    pub top: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl BBox {
    /// Right edge (exclusive).
    pub fn right(&self) -> u32 {
        self.left + self.width
    }

    /// Bottom edge (exclusive).
    pub fn bottom(&self) -> u32 {
        self.top + self.height
    }
}

/// One recognised word.
#[derive(Debug, Clone, Serialize)]
pub struct Word {
    /// The text, NFC.
    pub text: String,
    /// Where it is on the page.
    pub bbox: BBox,
    /// Tesseract's confidence, 0–100.
    pub confidence: f32,
}

/// One text line: words in reading order.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    /// The words of the line, left to right.
    pub words: Vec<Word>,
    /// The engine's (block, paragraph) numbers: lines of one paragraph share them.
    #[serde(skip)]
    pub paragraph: (u32, u32),
}

impl Line {
    /// The union of the word boxes.
    pub fn bbox(&self) -> Option<BBox> {
        let first = self.words.first()?.bbox;
        let (mut l, mut t, mut r, mut b) = (first.left, first.top, first.right(), first.bottom());
        for w in &self.words[1..] {
            l = l.min(w.bbox.left);
            t = t.min(w.bbox.top);
            r = r.max(w.bbox.right());
            b = b.max(w.bbox.bottom());
        }
        Some(BBox {
            left: l,
            top: t,
            width: r - l,
            height: b - t,
        })
    }

    /// The line's text, words separated by single spaces.
    pub fn text(&self) -> String {
        self.words
            .iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The OCR result for one page.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RecognizedPage {
    /// Text lines in reading order.
    pub lines: Vec<Line>,
}

impl RecognizedPage {
    /// Plain text: lines separated by newlines.
    pub fn text(&self) -> String {
        self.lines
            .iter()
            .map(Line::text)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Confidence (0–100) of the page's letters and digits: the mean word confidence
    /// weighted by each word's alphanumeric characters, so stray marks read as
    /// punctuation do not count; 0 when none were read.
    pub fn reading_confidence(&self) -> f32 {
        let (mut weighted, mut chars) = (0.0f64, 0usize);
        for word in self.lines.iter().flat_map(|l| &l.words) {
            let n = word.text.chars().filter(|c| c.is_alphanumeric()).count();
            weighted += f64::from(word.confidence) * n as f64;
            chars += n;
        }
        if chars == 0 {
            0.0
        } else {
            (weighted / chars as f64) as f32
        }
    }

    /// Mean word confidence (0–100), or 0 for a page without words.
    pub fn mean_confidence(&self) -> f32 {
        let words: Vec<f32> = self
            .lines
            .iter()
            .flat_map(|l| l.words.iter().map(|w| w.confidence))
            .collect();
        if words.is_empty() {
            0.0
        } else {
            words.iter().sum::<f32>() / words.len() as f32
        }
    }
}

/// An OCR engine. One instance serves one worker thread; it is loaded once and reused.
pub trait OcrEngine {
    /// Recognises the text on `page`, scanned at `dpi`.
    fn recognize(&mut self, page: &GrayImage, dpi: u32) -> Result<RecognizedPage, OcrError>;
    /// Recognises `sample` as one block of horizontal lines, without layout analysis
    /// (which reads sideways text too): the reading behind orientation checks.
    fn recognize_lines(&mut self, sample: &GrayImage, dpi: u32)
        -> Result<RecognizedPage, OcrError>;
    /// The model that produced the results.
    fn model(&self) -> &Model;
}
