//! Orientation: quarter turns that bring the text upright.
//!
//! Whether lines run across or down the page is decided by projection profiles (see
//! [`super::deskew::is_sideways`]). Upright versus upside down is read from the shape of
//! the text lines: Vietnamese, like all Latin-script text, has far more ink above the
//! x-height band (ascenders, capitals, and the tone and vowel marks stacked over most
//! syllables) than below the baseline (the descenders of g, p, q, y). Measured with
//! `cargo run --release --example quality`: see benches/README.md.

use image::GrayImage;

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

/// Turns a raster clockwise by 90, 180 or 270 degrees (anything else: unchanged).
pub fn turn(raster: Raster, degrees: u16) -> Raster {
    use image::imageops::{rotate180, rotate270, rotate90};
    let turn_gray = |g: &GrayImage| match degrees {
        90 => rotate90(g),
        180 => rotate180(g),
        270 => rotate270(g),
        _ => g.clone(),
    };
    match (&raster, degrees) {
        (_, 90 | 180 | 270) => {}
        _ => return raster,
    }
    match raster {
        Raster::Bilevel(g) => Raster::Bilevel(turn_gray(&g)),
        Raster::Gray(g) => Raster::Gray(turn_gray(&g)),
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
