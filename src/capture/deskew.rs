//! Skew detection by projection profiles, coarse to fine, and rotation back.
//!
//! Dark pixels of a binarised copy are projected onto the axis perpendicular to a
//! candidate text direction; the profile is sharpest (largest sum of squared bin counts)
//! when the candidate matches the text lines. A coarse search over the whole range runs
//! on a small copy, then two refinements run on larger copies over a narrow window.

use image::GrayImage;

use super::resample::rotate_bicubic;
use super::Raster;

/// Largest skew searched, in degrees either way.
pub const MAX_SKEW_DEGREES: f32 = 15.0;
/// Skews smaller than this are left uncorrected: the page is not resampled.
pub const MIN_CORRECTION_DEGREES: f32 = 0.05;
/// The same for bitonal pages, whose glyphs lose more to resampling than OCR loses to
/// a slight skew (a typewritten page skewed 0.23° read at 16.2 % CER deskewed, 13.9 %
/// as scanned: benches/real-pages.sh).
pub const MIN_BITONAL_CORRECTION_DEGREES: f32 = 0.5;

/// Whether a skew is worth resampling `raster` for.
pub fn worth_correcting(raster: &Raster, skew_degrees: f32) -> bool {
    let min = match raster {
        Raster::Bilevel(_) => MIN_BITONAL_CORRECTION_DEGREES,
        _ => MIN_CORRECTION_DEGREES,
    };
    skew_degrees.abs() >= min
}

/// One search pass: long side of the working copy, half-width of the window, step.
struct Pass {
    long_side: u32,
    half_range: f32,
    step: f32,
}

const PASSES: [Pass; 3] = [
    Pass {
        long_side: 900,
        half_range: MAX_SKEW_DEGREES,
        step: 0.25,
    },
    Pass {
        long_side: 1800,
        half_range: 0.4,
        step: 0.025,
    },
    Pass {
        long_side: 1800,
        half_range: 0.04,
        step: 0.005,
    },
];

/// Skew of the text on a page in degrees; positive when the content is rotated
/// counter-clockwise as displayed. Zero for a page without dark content.
pub fn estimate_skew(gray: &GrayImage) -> f32 {
    let mut centre = 0.0;
    let mut points: Option<(u32, DarkPoints)> = None;
    for pass in &PASSES {
        if points.as_ref().map(|(side, _)| *side) != Some(pass.long_side) {
            points = Some((pass.long_side, DarkPoints::sample(gray, pass.long_side)));
        }
        let Some((_, dark)) = &points else { return 0.0 };
        if dark.xy.is_empty() {
            return 0.0;
        }
        let lo = (centre - pass.half_range).max(-MAX_SKEW_DEGREES - pass.step);
        let hi = (centre + pass.half_range).min(MAX_SKEW_DEGREES + pass.step);
        centre = dark.best_angle(lo, hi, pass.step);
    }
    centre
}

/// True when the text lines run down the page rather than across it (a page turned a
/// quarter): the sharpest projection profile within ±15° is sharper for columns than
/// for rows.
pub fn is_sideways(gray: &GrayImage) -> bool {
    let dark = DarkPoints::sample(gray, PASSES[0].long_side);
    if dark.xy.len() < 100 {
        return false;
    }
    let across = dark.best_score(MAX_SKEW_DEGREES, 0.5);
    let down = dark.turned().best_score(MAX_SKEW_DEGREES, 0.5);
    down > across * 1.1
}

/// Rotates the page clockwise by `skew_degrees` (undoing a counter-clockwise skew) with
/// bicubic interpolation on a canvas of the same size, filling uncovered corners white.
pub fn rotate(raster: &Raster, skew_degrees: f32) -> Raster {
    match raster {
        Raster::Bilevel(g) => Raster::Bilevel(rethreshold(rotate_bicubic(g, skew_degrees))),
        Raster::Gray(g) => Raster::Gray(rotate_bicubic(g, skew_degrees)),
        Raster::Rgb(c) => Raster::Rgb(rotate_bicubic(c, skew_degrees)),
    }
}

/// Keeps a rotated bitonal page bitonal.
fn rethreshold(mut gray: GrayImage) -> GrayImage {
    for p in gray.pixels_mut() {
        p.0[0] = if p.0[0] < 128 { 0 } else { 255 };
    }
    gray
}

/// Dark pixel positions of a reduced, binarised copy, relative to its centre.
struct DarkPoints {
    xy: Vec<(f32, f32)>,
    diagonal: f32,
}

impl DarkPoints {
    fn sample(gray: &GrayImage, long_side: u32) -> DarkPoints {
        let factor = gray.width().max(gray.height()).div_ceil(long_side).max(1);
        let small = reduce(gray, factor);
        let threshold = imageproc::contrast::otsu_level(&small);
        let (cx, cy) = (small.width() as f32 / 2.0, small.height() as f32 / 2.0);
        let xy = small
            .enumerate_pixels()
            .filter(|(_, _, p)| p.0[0] <= threshold)
            .map(|(x, y, _)| (x as f32 - cx, y as f32 - cy))
            .collect();
        DarkPoints {
            xy,
            diagonal: (cx * cx + cy * cy).sqrt() * 2.0,
        }
    }

    /// Sum of squared bin counts of the projection at `degrees`.
    fn sharpness(&self, degrees: f32, bins: &mut Vec<u32>) -> f64 {
        let (sin, cos) = degrees.to_radians().sin_cos();
        let offset = self.diagonal / 2.0 + 1.0;
        bins.clear();
        bins.resize(self.diagonal as usize + 3, 0);
        for &(x, y) in &self.xy {
            let index = (y * cos + x * sin + offset) as usize;
            bins[index] += 1;
        }
        bins.iter().map(|&c| f64::from(c) * f64::from(c)).sum()
    }

    /// The same points a quarter turn clockwise.
    fn turned(&self) -> DarkPoints {
        DarkPoints {
            xy: self.xy.iter().map(|&(x, y)| (-y, x)).collect(),
            diagonal: self.diagonal,
        }
    }

    /// The sharpest profile over ±`range` degrees at `step`.
    fn best_score(&self, range: f32, step: f32) -> f64 {
        let mut bins = Vec::new();
        let steps = (2.0 * range / step).round() as usize;
        (0..=steps)
            .map(|i| self.sharpness(-range + i as f32 * step, &mut bins))
            .fold(0.0, f64::max)
    }

    /// Angle in `[lo, hi]` with the sharpest profile, refined by a parabola through the
    /// best sample and its neighbours.
    fn best_angle(&self, lo: f32, hi: f32, step: f32) -> f32 {
        let mut bins = Vec::new();
        let steps = ((hi - lo) / step).round() as usize;
        let scores: Vec<f64> = (0..=steps)
            .map(|i| self.sharpness(lo + i as f32 * step, &mut bins))
            .collect();
        let best = (0..scores.len())
            .max_by(|&a, &b| scores[a].total_cmp(&scores[b]))
            .unwrap_or(0);
        let mut angle = lo + best as f32 * step;
        if best > 0 && best + 1 < scores.len() {
            let (l, c, r) = (scores[best - 1], scores[best], scores[best + 1]);
            let denominator = l - 2.0 * c + r;
            if denominator < 0.0 {
                angle += (0.5 * (l - r) / denominator) as f32 * step;
            }
        }
        angle
    }
}

/// Box-filter reduction by an integer factor (area average).
pub(crate) fn reduce(gray: &GrayImage, factor: u32) -> GrayImage {
    if factor <= 1 {
        return gray.clone();
    }
    let (w, f) = (gray.width() as usize, factor as usize);
    let (out_w, out_h) = (
        (gray.width() / factor).max(1) as usize,
        (gray.height() / factor).max(1) as usize,
    );
    let area = (f * f) as u32;
    let mut sums = vec![0u32; out_w];
    let mut out = Vec::with_capacity(out_w * out_h);
    for band in gray.as_raw().chunks_exact(w * f).take(out_h) {
        sums.fill(0);
        for row in band.chunks_exact(w) {
            for (sum, cell) in sums.iter_mut().zip(row.chunks_exact(f)) {
                *sum += cell.iter().map(|&v| u32::from(v)).sum::<u32>();
            }
        }
        out.extend(sums.iter().map(|&s| (s / area) as u8));
    }
    GrayImage::from_raw(out_w as u32, out_h as u32, out).unwrap_or_else(|| GrayImage::new(1, 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    /// A page of dark horizontal bars (stand-ins for text lines) on white.
    fn striped_page() -> GrayImage {
        GrayImage::from_fn(1200, 1600, |x, y| {
            let in_margin = !(150..1050).contains(&x) || !(150..1450).contains(&y);
            let on_line = (y / 20) % 3 == 0 && (x / 37) % 7 != 0;
            Luma([if !in_margin && on_line { 0 } else { 255 }])
        })
    }

    #[test]
    fn blank_page_has_no_skew() {
        assert_eq!(
            estimate_skew(&GrayImage::from_pixel(800, 1000, Luma([255]))),
            0.0
        );
    }

    #[test]
    fn rotation_then_estimate_recovers_the_angle() {
        let page = striped_page();
        for &angle in &[-9.3f32, 3.7] {
            // Rotating clockwise by -angle is rotating counter-clockwise by angle.
            let skewed = match rotate(&Raster::Gray(page.clone()), -angle) {
                Raster::Gray(g) => g,
                _ => unreachable!(),
            };
            let found = estimate_skew(&skewed);
            assert!(
                (found - angle).abs() < 0.1,
                "expected {angle}, found {found}"
            );
        }
    }
}
