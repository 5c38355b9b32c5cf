//! Perspective correction: the page quadrilateral of a photo warped to an upright
//! rectangle with the page's real proportions, at 300 dpi of the detected paper size.

use super::resample::warp_perspective;
use super::Raster;

/// Resolution of a corrected photo page.
pub const TARGET_DPI: f32 = 300.0;

/// Paper sizes the page is snapped to, in millimetres (short side, long side), each
/// with the largest relative difference of proportions accepted. A4 comes first and is
/// accepted loosely: nearly every administrative document is A4, and a hand-held photo
/// distorts proportions by up to ten per cent (so US Letter, 8 % away, is read as A4). A5 has A4's proportions, so a photo cannot
/// tell them apart: A-series pages are taken as A4.
const PAPER_SIZES: [(&str, f32, f32, f32); 2] =
    [("A4", 210.0, 297.0, 0.15), ("Legal", 215.9, 355.6, 0.04)];

/// Where a photo page went: the output size in pixels and the paper it was taken for.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Output width in pixels.
    pub width: u32,
    /// Output height in pixels.
    pub height: u32,
    /// The snapped paper size (`A4`, `Legal`), when the proportions matched one.
    pub paper: Option<&'static str>,
}

impl Target {
    /// The same page at a fraction of the size (for a quick look before the full warp).
    pub fn scaled(&self, factor: f32) -> Target {
        Target {
            width: ((self.width as f32 * factor).round() as u32).max(1),
            height: ((self.height as f32 * factor).round() as u32).max(1),
            paper: self.paper,
        }
    }
}

/// Chooses the output rectangle for a quadrilateral (TL, TR, BR, BL): its proportions
/// from the mean lengths of opposite sides, snapped to a paper size when close (A4
/// first), at
/// [`TARGET_DPI`]. An unsnapped page keeps its measured size in pixels.
pub fn target_for(quad: &[[f32; 2]; 4]) -> Target {
    let side = |a: usize, b: usize| {
        let (dx, dy) = (quad[b][0] - quad[a][0], quad[b][1] - quad[a][1]);
        (dx * dx + dy * dy).sqrt()
    };
    let width = (side(0, 1) + side(3, 2)) / 2.0;
    let height = (side(0, 3) + side(1, 2)) / 2.0;
    let portrait = height >= width;
    let ratio = width.max(height) / width.min(height).max(1.0);
    let snapped = PAPER_SIZES
        .iter()
        .find(|&&(_, short, long, tolerance)| (ratio / (long / short) - 1.0).abs() <= tolerance);
    let px = |mm: f32| (mm / 25.4 * TARGET_DPI).round() as u32;
    match snapped {
        Some(&(name, short, long, _)) => {
            let (w, h) = if portrait {
                (short, long)
            } else {
                (long, short)
            };
            Target {
                width: px(w),
                height: px(h),
                paper: Some(name),
            }
        }
        None => Target {
            width: width.round().max(1.0) as u32,
            height: height.round().max(1.0) as u32,
            paper: None,
        },
    }
}

/// Warps the quadrilateral `quad` (TL, TR, BR, BL, in raster pixels) of `raster` onto
/// `target` with bicubic interpolation.
pub fn warp(raster: &Raster, quad: &[[f32; 2]; 4], target: &Target) -> Raster {
    let (w, h) = (target.width as f64, target.height as f64);
    let rect = [[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]];
    let quad = quad.map(|[x, y]| [f64::from(x), f64::from(y)]);
    let map = homography(&rect, &quad).unwrap_or([1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
    let out = (target.width, target.height);
    match raster {
        Raster::Bilevel(g) | Raster::Gray(g) => Raster::Gray(warp_perspective(g, out, &map)),
        Raster::Rgb(c) => Raster::Rgb(warp_perspective(c, out, &map)),
    }
}

/// The projective map (row-major 3×3, last entry 1) taking each `from` point to the
/// matching `to` point; `None` when three of the points are collinear.
///
/// Written by hand: an 8×8 linear system solved by Gaussian elimination with partial
/// pivoting; no linear-algebra crate is needed for that.
pub fn homography(from: &[[f64; 2]; 4], to: &[[f64; 2]; 4]) -> Option<[f64; 9]> {
    let mut a = [[0.0f64; 9]; 8];
    for (i, (&[x, y], &[u, v])) in from.iter().zip(to).enumerate() {
        a[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
        a[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
    }
    for col in 0..8 {
        let pivot = (col..8).max_by(|&r, &s| a[r][col].abs().total_cmp(&a[s][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        let pivot_row = a[col];
        for (row, values) in a.iter_mut().enumerate() {
            if row != col {
                let factor = values[col] / pivot_row[col];
                for (v, p) in values.iter_mut().zip(pivot_row).skip(col) {
                    *v -= factor * p;
                }
            }
        }
    }
    let mut m = [0.0; 9];
    for (i, row) in a.iter().enumerate() {
        m[i] = row[8] / row[i];
    }
    m[8] = 1.0;
    Some(m)
}

/// Applies a projective map to a point.
pub fn apply(m: &[f64; 9], [x, y]: [f64; 2]) -> [f64; 2] {
    let z = m[6] * x + m[7] * y + m[8];
    [
        (m[0] * x + m[1] * y + m[2]) / z,
        (m[3] * x + m[4] * y + m[5]) / z,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn homography_maps_the_four_points() {
        let from = [[0.0, 0.0], [100.0, 0.0], [100.0, 140.0], [0.0, 140.0]];
        let to = [[12.0, 7.0], [130.0, 20.0], [120.0, 180.0], [3.0, 160.0]];
        let m = homography(&from, &to).unwrap();
        for (f, t) in from.iter().zip(&to) {
            let p = apply(&m, *f);
            assert!((p[0] - t[0]).abs() < 1e-9 && (p[1] - t[1]).abs() < 1e-9);
        }
        let line = [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]];
        assert!(homography(&line, &to).is_none());
    }

    #[test]
    fn near_a4_proportions_snap_to_a4_at_300_dpi() {
        let quad = [
            [100.0, 80.0],
            [1100.0, 120.0],
            [1080.0, 1500.0],
            [90.0, 1480.0],
        ];
        let target = target_for(&quad);
        assert_eq!(
            (target.width, target.height, target.paper),
            (2480, 3508, Some("A4"))
        );
        let square = [[0.0, 0.0], [500.0, 0.0], [500.0, 520.0], [0.0, 520.0]];
        assert_eq!(target_for(&square).paper, None);
    }
}
