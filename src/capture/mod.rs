//! Capture: from input bytes to an upright, deskewed page raster.

mod decode;
mod density;
pub mod deskew;
mod rotate;

pub use decode::{decode_frame, frame_count, DecodeLimits, Frame, Original, Raster};
pub use density::effective_dpi;

use serde::Serialize;

/// Why an input could not become a page.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The file has no bytes.
    #[error("the file is empty")]
    Empty,
    /// The bytes are not an image format sohoa recognises.
    #[error("not an image (expected JPEG, PNG or TIFF)")]
    NotAnImage,
    /// A recognised but unsupported format or pixel layout.
    #[error("unsupported image format: {0}")]
    UnsupportedFormat(String),
    /// Truncated or damaged image data.
    #[error("corrupt or truncated image: {0}")]
    Corrupt(String),
    /// The stated dimensions exceed the decode limit; nothing was allocated.
    #[error("image of {width}×{height} px exceeds the limit of {max_pixels} pixels")]
    TooLarge {
        /// Stated width.
        width: u32,
        /// Stated height.
        height: u32,
        /// The limit in force.
        max_pixels: u64,
    },
    /// Too small to be a page.
    #[error("image of {width}×{height} px is too small to be a page (minimum {min} px per side)")]
    TooSmall {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// The minimum side.
        min: u32,
    },
    /// The requested frame does not exist.
    #[error("frame {0} does not exist")]
    NoSuchFrame(usize),
}

/// What capture did to a page, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct Geometry {
    /// Skew found in the input in degrees, positive when the content was rotated
    /// counter-clockwise as displayed; the page was rotated back by it.
    pub skew_degrees: f32,
    /// Quarter turns applied to make the page upright (0, 90, 180 or 270).
    pub orientation_degrees: u16,
    /// Page quadrilateral in input pixels (top-left, top-right, bottom-right,
    /// bottom-left), when one was detected.
    pub corners: Option<[[f32; 2]; 4]>,
}

/// An upright, deskewed page ready for OCR and the PDF.
#[derive(Debug, Clone)]
pub struct Page {
    /// The corrected pixels.
    pub raster: Raster,
    /// Resolution in dots per inch.
    pub dpi: f32,
    /// True when the source was lossy (JPEG).
    pub lossy_source: bool,
    /// The source's compressed pixels, kept only while the page was not resampled.
    pub original: Option<Original>,
    /// What was corrected.
    pub geometry: Geometry,
}

/// Turns a decoded frame into a corrected page: finds and removes skew.
pub fn capture(frame: Frame) -> Page {
    let (w, h) = frame.raster.dimensions();
    let dpi = effective_dpi(frame.stated_dpi, w, h);
    let skew = deskew::estimate_skew(&frame.raster.to_gray());
    let (raster, original) = if skew.abs() >= deskew::MIN_CORRECTION_DEGREES {
        (deskew::rotate(&frame.raster, skew), None)
    } else {
        (frame.raster, frame.original)
    };
    Page {
        raster,
        dpi,
        lossy_source: frame.lossy,
        original,
        geometry: Geometry {
            skew_degrees: skew,
            orientation_degrees: 0,
            corners: None,
        },
    }
}
