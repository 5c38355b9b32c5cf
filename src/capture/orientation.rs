//! Orientation: quarter turns that bring the text upright.
//!
//! Whether lines run across or down the page is decided by projection profiles (see
//! [`super::deskew::is_sideways`]). Upright versus upside down is read from the shape of
//! the text lines: Vietnamese, like all Latin-script text, has far more ink above the
//! x-height band (ascenders, capitals, and the tone and vowel marks stacked over most
//! syllables) than below the baseline (the descenders of g, p, q, y). Measured with
//! `cargo run --release --example quality`: see benches/README.md.
//!
//! The shape of the lines is a cheap signal that pictures, maps and unusual scripts can
//! fool, so every turn it proposes is confirmed by reading a sample of the page with OCR
//! in each candidate orientation ([`confirm_turn`]).

use image::GrayImage;
use serde::Serialize;

use super::deskew::reduce;
use super::Raster;

/// Ink below the lines must exceed ink above by this factor to call a page upside down.
const FLIP_MARGIN: f64 = 1.15;

/// True when the text of an upright-or-flipped, deskewed page is upside down.
pub fn is_upside_down(gray: &GrayImage) -> bool {
    let small = reduce(gray, 2);
    let threshold = imageproc::contrast::otsu_level(&small);
    let profile: Vec<u32> = small
        .rows()
        .map(|row| row.filter(|p| p.0[0] <= threshold).count() as u32)
        .collect();
    let (above, below) = ink_above_and_below(&profile);
    below as f64 > above as f64 * FLIP_MARGIN
}

/// Sums the ink of the bands just above and just below each x-height core (a run of
/// rows at least 40 % as dark as the 90th percentile of inked rows).
fn ink_above_and_below(profile: &[u32]) -> (u64, u64) {
    let mut inked: Vec<u32> = profile.iter().copied().filter(|&v| v > 0).collect();
    if inked.len() < 10 {
        return (0, 0);
    }
    let k = inked.len() * 9 / 10;
    let (_, p90, _) = inked.select_nth_unstable(k);
    let core_level = (*p90 as f64 * 0.4).max(1.0) as u32;
    let cores = runs(profile, |v| v >= core_level);
    let mut heights: Vec<usize> = cores.iter().map(|(a, b)| b - a).collect();
    heights.sort_unstable();
    let Some(&median) = heights.get(heights.len() / 2) else {
        return (0, 0);
    };
    let (mut above, mut below) = (0u64, 0u64);
    for (i, &(start, end)) in cores.iter().enumerate() {
        let height = end - start;
        if height < 3 || height * 2 < median || height > median * 2 {
            continue;
        }
        let reach = (height * 6).div_ceil(10);
        let previous_end = if i > 0 { cores[i - 1].1 } else { 0 };
        let next_start = cores.get(i + 1).map_or(profile.len(), |c| c.0);
        let top = start
            .saturating_sub(reach)
            .max(previous_end + (start - previous_end) / 2);
        let bottom = (end + reach).min(end + (next_start - end) / 2);
        above += profile[top..start]
            .iter()
            .map(|&v| u64::from(v))
            .sum::<u64>();
        below += profile[end..bottom]
            .iter()
            .map(|&v| u64::from(v))
            .sum::<u64>();
    }
    (above, below)
}

/// Half-open index ranges of maximal runs where `keep` holds.
fn runs(profile: &[u32], keep: impl Fn(u32) -> bool) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, &v) in profile.iter().enumerate() {
        match (keep(v), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, profile.len()));
    }
    out
}

/// Reads a sample of a page and says how confidently its text was recognised (0–100):
/// the OCR check behind every automatic turn. Digitizing passes its OCR engine.
pub trait ReadingCheck {
    /// Confidence of the text read on `sample`, scanned at `dpi`; 0 when nothing is read.
    fn confidence(&mut self, sample: &GrayImage, dpi: u32) -> f32;
}

/// A turn must read this many confidence points better than the page as it came, or
/// the page is left as it came: a false turn makes an upright page unreadable.
pub const TURN_MARGIN: f32 = 10.0;

/// OCR confidence of one candidate orientation, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Candidate {
    /// Clockwise quarter turns from the page as it came: 0, 90, 180 or 270.
    pub degrees: u16,
    /// Confidence (0–100) of the text read from the sample in that orientation.
    pub confidence: f32,
}

/// Which of the page as it came (`0`), the proposed turn and, for a quarter turn, the
/// opposite quarter reads best on a sample of the turned page. The proposal stands only
/// when it beats the page as it came by [`TURN_MARGIN`].
pub fn confirm_turn(
    turned: &GrayImage,
    proposed: u16,
    dpi: u32,
    check: &mut dyn ReadingCheck,
) -> (u16, Vec<Candidate>) {
    let sample = densest_band(turned);
    let mut degrees = vec![proposed, 0];
    if proposed % 180 == 90 {
        degrees.push((proposed + 180) % 360);
    }
    let candidates: Vec<Candidate> = degrees
        .into_iter()
        .map(|degrees| {
            // The sample is already turned by `proposed`; turn it on to `degrees`.
            let view = turn_gray(&sample, (360 + degrees - proposed) % 360);
            Candidate {
                degrees,
                confidence: check.confidence(&view, dpi),
            }
        })
        .collect();
    let as_it_came = candidates[1].confidence;
    let best = candidates
        .iter()
        .filter(|c| c.degrees != 0)
        .max_by(|a, b| a.confidence.total_cmp(&b.confidence))
        .filter(|c| c.confidence >= as_it_came + TURN_MARGIN)
        .map_or(0, |c| c.degrees);
    (best, candidates)
}

/// The full-width band of an eighth of the page's height (at least 300 px) holding the
/// most ink: a few lines of text, enough for OCR to tell an orientation.
fn densest_band(gray: &GrayImage) -> GrayImage {
    let (width, height) = gray.dimensions();
    let band = (height / 8).max(300).min(height);
    let threshold = imageproc::contrast::otsu_level(gray);
    let ink: Vec<u64> = gray
        .rows()
        .map(|row| row.filter(|p| p.0[0] <= threshold).count() as u64)
        .collect();
    let mut sum: u64 = ink[..band as usize].iter().sum();
    let (mut best, mut best_top) = (sum, 0);
    for top in 1..=(height - band) as usize {
        sum = sum + ink[top + band as usize - 1] - ink[top - 1];
        if sum > best {
            (best, best_top) = (sum, top);
        }
    }
    image::imageops::crop_imm(gray, 0, best_top as u32, width, band).to_image()
}

fn turn_gray(gray: &GrayImage, degrees: u16) -> GrayImage {
    use image::imageops::{rotate180, rotate270, rotate90};
    match degrees {
        90 => rotate90(gray),
        180 => rotate180(gray),
        270 => rotate270(gray),
        _ => gray.clone(),
    }
}

/// Turns a raster clockwise by 90, 180 or 270 degrees (anything else: unchanged).
pub fn turn(raster: Raster, degrees: u16) -> Raster {
    use image::imageops::{rotate180, rotate270, rotate90};
    match (&raster, degrees) {
        (_, 90 | 180 | 270) => {}
        _ => return raster,
    }
    match raster {
        Raster::Bilevel(g) => Raster::Bilevel(turn_gray(&g, degrees)),
        Raster::Gray(g) => Raster::Gray(turn_gray(&g, degrees)),
        Raster::Rgb(c) => Raster::Rgb(match degrees {
            90 => rotate90(&c),
            180 => rotate180(&c),
            _ => rotate270(&c),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    /// Lines with "ascenders": sparse ink in a band above each dense core.
    fn lines_with_ascenders() -> GrayImage {
        GrayImage::from_fn(600, 800, |x, y| {
            let phase = y % 40;
            let core = (12..22).contains(&phase) && x % 4 != 0;
            let ascender = (4..12).contains(&phase) && x % 13 == 0;
            let descender = (22..28).contains(&phase) && x % 41 == 0;
            Luma([if core || ascender || descender {
                0
            } else {
                255
            }])
        })
    }

    #[test]
    fn upright_and_flipped_lines_are_told_apart() {
        let page = lines_with_ascenders();
        assert!(!is_upside_down(&page));
        assert!(is_upside_down(&image::imageops::rotate180(&page)));
    }

    #[test]
    fn blank_page_is_not_flipped() {
        assert!(!is_upside_down(&GrayImage::from_pixel(
            300,
            300,
            Luma([255])
        )));
    }
}
