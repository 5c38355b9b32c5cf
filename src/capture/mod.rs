//! Capture: from input bytes to an upright, deskewed page raster.

mod decode;
mod density;
pub mod deskew;
pub mod detect;
mod heic;
pub mod illumination;
pub mod negative;
pub mod orientation;
mod pdf_image;
pub mod pdf_input;
mod pdf_render;
pub mod perspective;
mod resample;

use decode::check_size;
pub use decode::{decode_frame, frame_count, DecodeLimits, Frame, Original, Raster};
pub use density::{effective_dpi, line_height, line_heights};
pub use orientation::ReadingCheck;
pub use pdf_image::bilevel_samples;
pub use resample::resize_gray;

use std::time::Instant;

use image::GrayImage;
use serde::Serialize;

/// Why an input could not become a page.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The file has no bytes.
    #[error("the file is empty")]
    Empty,
    /// The bytes are not an image format sohoa recognises.
    #[error("not an image (expected JPEG, PNG, TIFF, HEIC, JPEG 2000 or a scanned PDF)")]
    NotAnImage,
    /// A digitally signed PDF: digitizing would rewrite it and break its signatures.
    #[error(
        "the PDF is digitally signed: digitizing would rewrite it and break its signatures; \
         keep it as it is with `sohoa store add` (its signatures are verified), or give \
         `--invalidate-signatures` for a new, unsigned digitized copy"
    )]
    Signed,
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
    #[error("image of {width}×{height} px is too small to hold a line of text (minimum {min} px per side)")]
    TooSmall {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// The minimum side.
        min: u32,
    },
    /// A PDF that cannot be read, or whose pages cannot be taken out.
    #[error("{0}")]
    Pdf(String),
    /// The requested frame does not exist.
    #[error("frame {0} does not exist")]
    NoSuchFrame(usize),
}

/// How an input is treated: a flat scan (deskew only) or a photo (find the page,
/// correct perspective and lighting).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CaptureMode {
    /// Decide per input: a photo when a page outline is found inside the frame with
    /// something darker than paper around it (a desk, not a border printed on a scan).
    #[default]
    Auto,
    /// A flatbed scan: the whole image is the page.
    Scan,
    /// A camera photo: the page is searched for, warped and its lighting evened out.
    Photo,
}

impl std::str::FromStr for CaptureMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(CaptureMode::Auto),
            "scan" => Ok(CaptureMode::Scan),
            "photo" => Ok(CaptureMode::Photo),
            other => Err(format!(
                "unknown capture mode {other:?} (auto, scan or photo)"
            )),
        }
    }
}

/// What capture did to a page, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct Geometry {
    /// How the input was treated: `scan` or `photo`.
    pub capture_mode: CaptureMode,
    /// Page quadrilateral in input pixels after EXIF orientation (top-left, top-right,
    /// bottom-right, bottom-left as seen in the input), when a photo's page was found.
    pub corners: Option<[[f32; 2]; 4]>,
    /// The paper size a photo page was snapped to (`A4`, `Legal`).
    pub paper: Option<&'static str>,
    /// Clockwise quarter turns applied to make the text upright (0, 90, 180 or 270).
    pub orientation_degrees: u16,
    /// When the page's shape suggested a turn: how well OCR read a sample of the page in
    /// each candidate orientation (the turn stands only when it reads clearly better).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orientation_check: Option<Vec<orientation::Candidate>>,
    /// Skew found in the input in degrees, positive when the content was rotated
    /// counter-clockwise as displayed; the page was rotated back by it.
    pub skew_degrees: f32,
    /// Things the clerk should know (no page found in a photo, …).
    pub warnings: Vec<String>,
}

impl Geometry {
    /// Nothing found or corrected yet: a page taken as `mode` says.
    pub fn untouched(capture_mode: CaptureMode) -> Geometry {
        Geometry {
            capture_mode,
            corners: None,
            paper: None,
            orientation_degrees: 0,
            orientation_check: None,
            skew_degrees: 0.0,
            warnings: Vec::new(),
        }
    }
}

/// Milliseconds per capture stage.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CaptureTimings {
    /// Page detection.
    pub detect: u64,
    /// Perspective warp.
    pub warp: u64,
    /// Lighting normalisation.
    pub normalize: u64,
    /// Orientation (quarter turns, upside down).
    pub orientation: u64,
    /// Skew detection and correction.
    pub deskew: u64,
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
    /// Time spent per stage.
    pub timings: CaptureTimings,
}

/// A clerk's corrections of one input, made while reviewing it on the web page.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Adjustment {
    /// The page outline the clerk set (input pixels after EXIF orientation; top-left,
    /// top-right, bottom-right, bottom-left), used instead of detection.
    pub outline: Option<[[f32; 2]; 4]>,
    /// Clockwise quarter turns after the automatic orientation: 0, 90, 180 or 270.
    pub turn: u16,
    /// The scan's resolution in dots per inch, when the user knows it (`--dpi`): it
    /// overrides the file's and any estimate.
    pub dpi: Option<f32>,
}

/// Turns a decoded frame into a corrected page: for a photo, finds the page, corrects
/// perspective and lighting; for all, turns the text upright and removes skew. Turns
/// are confirmed by `check` (see [`orientation::confirm_turn`]); without one, the
/// page's shape decides alone.
pub fn capture(frame: Frame, mode: CaptureMode, check: Option<&mut dyn ReadingCheck>) -> Page {
    capture_adjusted(frame, mode, &Adjustment::default(), check)
}

/// [`capture`] with the clerk's corrections: their outline replaces detection (the
/// input is then a photo), their quarter turns follow the automatic ones.
pub fn capture_adjusted(
    frame: Frame,
    mode: CaptureMode,
    adjust: &Adjustment,
    check: Option<&mut dyn ReadingCheck>,
) -> Page {
    let mut timings = CaptureTimings::default();
    let clock = Instant::now();
    // One gray copy serves detection and, for a page without coloured ink, the warp.
    let mut luma = None;
    let (quad, photo) = match adjust.outline {
        Some(outline) => (Some(outline), true),
        None if mode == CaptureMode::Scan => (None, false),
        None => page_outline(luma.insert(frame.raster.to_gray()), mode),
    };
    timings.detect = elapsed_ms(clock);
    let mut geometry = Geometry::untouched(if photo {
        CaptureMode::Photo
    } else {
        CaptureMode::Scan
    });
    let (raster, dpi, original) = if photo {
        let (raster, dpi) = flatten_photo(frame.raster, luma, quad, &mut geometry, &mut timings);
        (raster, dpi, None)
    } else {
        let dpi = density::page_dpi(adjust.dpi, frame.stated_dpi, &frame.raster);
        if negative::is_negative(&frame.raster) {
            geometry
                .warnings
                .push("the page was a negative (light text on a dark ground): inverted".into());
            (negative::invert(frame.raster), dpi, None)
        } else {
            (frame.raster, dpi, frame.original)
        }
    };
    let (mut raster, mut original) = upright(
        raster,
        original,
        dpi.round() as u32,
        check,
        &mut geometry,
        &mut timings,
    );
    if matches!(adjust.turn, 90 | 180 | 270) {
        raster = orientation::turn(raster, adjust.turn);
        geometry.orientation_degrees = (geometry.orientation_degrees + adjust.turn) % 360;
        original = None;
    }
    Page {
        raster,
        dpi,
        lossy_source: frame.lossy,
        original,
        geometry,
        timings,
    }
}

/// The page outline detection finds in the image's gray version, and whether the input
/// is a photo.
fn page_outline(gray: &GrayImage, mode: CaptureMode) -> (Option<[[f32; 2]; 4]>, bool) {
    let (w, h) = gray.dimensions();
    let quad = detect::find_page(gray);
    let photo = match mode {
        CaptureMode::Photo => true,
        CaptureMode::Scan => false,
        CaptureMode::Auto => {
            quad.is_some_and(|q| !fills_frame(&q, w, h) && !detect::surrounded_by_paper(gray, &q))
        }
    };
    (quad, photo)
}

/// A photo's page warped to its paper size and its lighting evened out; without a
/// page outline, the whole image is kept (and the clerk told).
fn flatten_photo(
    raster: Raster,
    luma: Option<GrayImage>,
    quad: Option<[[f32; 2]; 4]>,
    geometry: &mut Geometry,
    timings: &mut CaptureTimings,
) -> (Raster, f32) {
    let clock = Instant::now();
    let (raster, dpi) = match quad {
        Some(quad) => {
            let target = perspective::target_for(&quad);
            geometry.corners = Some(quad);
            geometry.paper = target.paper;
            // Pages without coloured ink are warped in gray: a third of the work.
            let preview = perspective::warp(&raster, &quad, &target.scaled(0.25));
            let source = match raster {
                Raster::Rgb(_) if !illumination::has_colour_ink(&preview) => {
                    Raster::Gray(luma.unwrap_or_else(|| raster.to_gray()))
                }
                other => {
                    // Not needed for a colour warp: 12 MB of a 12 MP photo, freed first.
                    drop(luma);
                    other
                }
            };
            (
                perspective::warp(&source, &quad, &target),
                perspective::TARGET_DPI,
            )
        }
        None => {
            geometry.warnings.push(
                "no page outline found in the photo: the whole image was used as the page".into(),
            );
            let (w, h) = raster.dimensions();
            (raster, effective_dpi(None, w, h))
        }
    };
    timings.warp = elapsed_ms(clock);
    let clock = Instant::now();
    let mut raster = illumination::normalize(&raster);
    if geometry.corners.is_some() {
        let (w, h) = raster.dimensions();
        illumination::whiten_edges(&mut raster, (w.min(h) / 300).max(2));
    }
    timings.normalize = elapsed_ms(clock);
    (raster, dpi)
}

/// Quarter turns, then skew, then upside down: the order in which each is measurable;
/// then the OCR check of any turn.
fn upright(
    mut raster: Raster,
    mut original: Option<Original>,
    dpi: u32,
    check: Option<&mut dyn ReadingCheck>,
    geometry: &mut Geometry,
    timings: &mut CaptureTimings,
) -> (Raster, Option<Original>) {
    let clock = Instant::now();
    let mut gray = raster.to_gray();
    if deskew::is_sideways(&gray) {
        raster = orientation::turn(raster, 90);
        gray = image::imageops::rotate90(&gray);
        geometry.orientation_degrees = 90;
        original = None;
    }
    timings.orientation = elapsed_ms(clock);
    let clock = Instant::now();
    let skew = deskew::estimate_skew(&gray);
    geometry.skew_degrees = skew;
    if deskew::worth_correcting(&raster, skew) {
        raster = deskew::rotate(&raster, skew);
        gray = raster.to_gray();
        original = None;
    }
    timings.deskew = elapsed_ms(clock);
    let clock = Instant::now();
    if orientation::is_upside_down(&gray) {
        raster = orientation::turn(raster, 180);
        gray = image::imageops::rotate180(&gray);
        geometry.orientation_degrees = (geometry.orientation_degrees + 180) % 360;
        original = None;
    }
    if let Some(check) = check.filter(|_| geometry.orientation_degrees != 0) {
        raster = confirm_turn(raster, &gray, dpi, check, geometry);
    }
    timings.orientation += elapsed_ms(clock);
    (raster, original)
}

/// Keeps the proposed turn only when OCR reads it clearly better than the page as it
/// came; a page turned back from a wrong quarter turn is deskewed again.
fn confirm_turn(
    raster: Raster,
    gray: &GrayImage,
    dpi: u32,
    check: &mut dyn ReadingCheck,
    geometry: &mut Geometry,
) -> Raster {
    let proposed = geometry.orientation_degrees;
    let (chosen, candidates) = orientation::confirm_turn(gray, proposed, dpi, check);
    geometry.orientation_check = Some(candidates);
    if chosen == proposed {
        return raster;
    }
    geometry.orientation_degrees = chosen;
    if chosen == 0 {
        geometry.warnings.push(format!(
            "the page looked turned by {proposed}° but OCR did not confirm it: kept as it came"
        ));
    }
    let raster = orientation::turn(raster, (360 + chosen - proposed) % 360);
    if chosen % 180 == proposed % 180 {
        return raster;
    }
    // The skew was measured across lines that were not there: measure it again.
    let skew = deskew::estimate_skew(&raster.to_gray());
    if !deskew::worth_correcting(&raster, skew) {
        return raster;
    }
    geometry.skew_degrees += skew;
    deskew::rotate(&raster, skew)
}

/// True when every corner lies within 3 % of the diagonal of the image's own corner:
/// the page is the whole frame, as in a flatbed scan.
fn fills_frame(quad: &[[f32; 2]; 4], w: u32, h: u32) -> bool {
    let (w, h) = (w as f32, h as f32);
    let frame = [[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]];
    let tolerance = 0.03 * w.hypot(h);
    quad.iter()
        .zip(&frame)
        .all(|(q, f)| (q[0] - f[0]).hypot(q[1] - f[1]) <= tolerance)
}

fn elapsed_ms(since: Instant) -> u64 {
    since.elapsed().as_millis() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, Luma};

    #[test]
    fn a_scan_with_a_printed_border_stays_a_scan() {
        // A white page with a thick black frame 150 px in from the edges and some text.
        let page = GrayImage::from_fn(1240, 1754, |x, y| {
            let in_band =
                |v: u32, lo: u32, hi: u32| (lo..lo + 12).contains(&v) || (hi - 12..hi).contains(&v);
            let frame = ((150..1090).contains(&x) && in_band(y, 150, 1604))
                || ((150..1604).contains(&y) && in_band(x, 150, 1090));
            let text = (y / 9) % 4 == 0
                && (x / 7) % 6 != 0
                && (250..990).contains(&x)
                && (250..1500).contains(&y);
            Luma([if frame || text { 0 } else { 250 }])
        });
        let raster = Raster::Gray(page);
        let outline =
            detect::find_page(&raster.to_gray()).expect("the border looks like a page outline");
        assert!(detect::surrounded_by_paper(&raster.to_gray(), &outline));
        let frame = Frame {
            raster,
            stated_dpi: Some(150.0),
            lossy: false,
            original: None,
        };
        let page = capture(frame, CaptureMode::Auto, None);
        assert_eq!(page.geometry.capture_mode, CaptureMode::Scan);
        assert_eq!(page.raster.dimensions(), (1240, 1754));
    }
}
