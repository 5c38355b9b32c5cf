//! Page detection in a photo: the document's quadrilateral on a desk.
//!
//! On a reduced copy with the text closed away, edge pixels vote in a Hough space that
//! keeps polarity: a line's normal points from the darker side into the brighter one,
//! so paper on a desk gives each side its own family of candidates (left edges point
//! right, top edges point down, …) and textured backgrounds, whose edges point every
//! way, rarely line up into a convex quadrilateral. The largest well-supported
//! quadrilateral wins; each side is then refitted at full resolution to the strongest
//! step edge along it, and the corners are the refitted lines' intersections.
//!
//! Written by hand: `imageproc`'s Hough transform keeps neither polarity nor vote
//! counts, and no crate offers document quadrilateral detection.

use image::GrayImage;
use imageproc::filter::gaussian_blur_f32;
use imageproc::gradients::{horizontal_sobel, vertical_sobel};
use imageproc::morphology::{grayscale_close, Mask};

use super::deskew::reduce;

/// Long side of the working copy in pixels.
const WORK_LONG_SIDE: u32 = 800;
/// Angular tolerance of a vote, in degrees either side of the gradient direction.
const VOTE_SPREAD: i32 = 3;
/// Radius of the closing that removes text strokes from the working copy (thin, so a
/// sliver of desk between the page and the frame survives).
const CLOSING_RADIUS: u8 = 1;
/// Candidate lines kept per side.
const CANDIDATES_PER_SIDE: usize = 10;
/// Smallest page, as a fraction of the image area.
const MIN_AREA_FRACTION: f32 = 0.12;
/// Smallest mean and per-side fraction of a side's length backed by matching edges.
const MIN_MEAN_SUPPORT: f32 = 0.55;
const MIN_SIDE_SUPPORT: f32 = 0.3;
/// Support credited to a stretch of a side that lies outside the image, and to the
/// image's own edge standing in for a side cut by the frame.
const OUTSIDE_SUPPORT: f32 = 0.4;
const FRAME_SUPPORT: f32 = 0.35;

/// A line `x·cos θ + y·sin θ = rho` whose normal θ points into the brighter side.
#[derive(Debug, Clone, Copy)]
struct Line {
    theta: f32,
    rho: f32,
    /// An edge of the image itself, standing in for a page side cut by the frame.
    frame: bool,
}

impl Line {
    fn normal(self) -> (f32, f32) {
        let (s, c) = self.theta.to_radians().sin_cos();
        (c, s)
    }

    fn intersect(self, other: Line) -> Option<[f32; 2]> {
        let (a1, b1) = self.normal();
        let (a2, b2) = other.normal();
        let det = a1 * b2 - a2 * b1;
        (det.abs() > 1e-3).then(|| {
            [
                (self.rho * b2 - other.rho * b1) / det,
                (a1 * other.rho - a2 * self.rho) / det,
            ]
        })
    }
}

/// Finds the page in a photo (its gray version): its corners (top-left, top-right,
/// bottom-right, bottom-left as seen in the image) in pixels, or `None` when no convex
/// quadrilateral is backed well enough by edges.
pub fn find_page(gray: &GrayImage) -> Option<[[f32; 2]; 4]> {
    let (w, h) = gray.dimensions();
    let small = reduce(gray, w.max(h).div_ceil(WORK_LONG_SIDE).max(1));
    let scale = small.width() as f32 / w as f32;
    let smooth = gaussian_blur_f32(&grayscale_close(&small, &Mask::square(CLOSING_RADIUS)), 1.0);
    let edges = OrientedEdges::new(&smooth);
    let quad = best_quad(&edges)?;
    let full = quad.map(|l| Line {
        rho: l.rho / scale,
        ..l
    });
    let reach = (1.0 / scale).ceil() as i32 + 4;
    let refined = full.map(|line| (!line.frame).then(|| refine(gray, line, reach)).flatten());
    corners(&refined, &full)
}

/// True when what lies outside `quad` is as bright as the paper inside it (in the
/// image's gray version): a frame or border printed on a scanned page, not a page lying
/// on a desk.
pub fn surrounded_by_paper(gray: &GrayImage, quad: &[[f32; 2]; 4]) -> bool {
    let factor = gray
        .width()
        .max(gray.height())
        .div_ceil(WORK_LONG_SIDE)
        .max(1);
    let small = reduce(gray, factor);
    let q = quad.map(|[x, y]| [x / factor as f32, y / factor as f32]);
    let inside = |x: f32, y: f32| {
        (0..4).all(|i| {
            let (a, b) = (q[i], q[(i + 1) % 4]);
            (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0]) >= 0.0
        })
    };
    let (mut inner, mut outer) = (Vec::new(), Vec::new());
    for (x, y, p) in small.enumerate_pixels() {
        let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
        if inside(fx, fy) {
            &mut inner
        } else {
            &mut outer
        }
        .push(p.0[0]);
    }
    if outer.len() < 16 || inner.is_empty() {
        return false;
    }
    // Paper level inside: the 90th percentile (text is dark, paper the bulk); outside:
    // the median, which a desk keeps well below the paper.
    let paper = percentile(&mut inner, 90);
    let around = percentile(&mut outer, 50);
    f32::from(around) >= 0.8 * f32::from(paper)
}

fn percentile(values: &mut [u8], p: usize) -> u8 {
    let k = (values.len() * p / 100).min(values.len() - 1);
    *values.select_nth_unstable(k).1
}

/// Corners from four side lines (left, top, right, bottom), falling back to the coarse
/// line for a side whose refit failed.
fn corners(refined: &[Option<Line>; 4], coarse: &[Line; 4]) -> Option<[[f32; 2]; 4]> {
    let side = |i: usize| refined[i].unwrap_or(coarse[i]);
    let (left, top, right, bottom) = (side(0), side(1), side(2), side(3));
    Some([
        top.intersect(left)?,
        top.intersect(right)?,
        bottom.intersect(right)?,
        bottom.intersect(left)?,
    ])
}

/// Gradient direction (degrees, 0–359, pointing to brighter) of strong edge pixels.
struct OrientedEdges {
    width: u32,
    height: u32,
    angle: Vec<u16>,
}

const NO_EDGE: u16 = u16::MAX;

impl OrientedEdges {
    fn new(gray: &GrayImage) -> OrientedEdges {
        let (gx, gy) = (horizontal_sobel(gray), vertical_sobel(gray));
        let magnitude: Vec<f32> = gx
            .as_raw()
            .iter()
            .zip(gy.as_raw())
            .map(|(&x, &y)| f32::from(x).hypot(f32::from(y)))
            .collect();
        let threshold = edge_threshold(&magnitude);
        let angle = magnitude
            .iter()
            .zip(gx.as_raw().iter().zip(gy.as_raw()))
            .map(|(&m, (&x, &y))| {
                if m < threshold {
                    NO_EDGE
                } else {
                    (f32::from(y)
                        .atan2(f32::from(x))
                        .to_degrees()
                        .rem_euclid(360.0) as u16)
                        % 360
                }
            })
            .collect();
        OrientedEdges {
            width: gray.width(),
            height: gray.height(),
            angle,
        }
    }

    /// True when a pixel within one of (x, y) has an edge within 12° of `theta`.
    fn supports(&self, x: f32, y: f32, theta: f32) -> bool {
        let (cx, cy) = (x.round() as i64, y.round() as i64);
        for yy in cy - 1..=cy + 1 {
            for xx in cx - 1..=cx + 1 {
                if xx < 0 || yy < 0 || xx >= i64::from(self.width) || yy >= i64::from(self.height) {
                    continue;
                }
                let a = self.angle[yy as usize * self.width as usize + xx as usize];
                if a != NO_EDGE && angle_distance(f32::from(a), theta) <= 12.0 {
                    return true;
                }
            }
        }
        false
    }
}

/// A quarter of the 99.5th percentile of gradient magnitude, at least 40 (Sobel units):
/// page borders are among the strongest edges of a photo, paper texture and noise are not.
fn edge_threshold(magnitude: &[f32]) -> f32 {
    let mut sorted: Vec<f32> = magnitude.iter().step_by(7).copied().collect();
    if sorted.is_empty() {
        return f32::MAX;
    }
    let k = sorted.len() * 995 / 1000;
    let k = k.min(sorted.len() - 1);
    let (_, p, _) = sorted.select_nth_unstable_by(k, |a, b| a.total_cmp(b));
    (*p * 0.25).max(40.0)
}

fn angle_distance(a: f32, b: f32) -> f32 {
    let d = (a - b).rem_euclid(360.0);
    d.min(360.0 - d)
}

/// The best quadrilateral as its (left, top, right, bottom) lines.
fn best_quad(edges: &OrientedEdges) -> Option<[Line; 4]> {
    let candidates = candidate_lines(edges);
    let (w, h) = (edges.width as f32, edges.height as f32);
    let mut best: Option<(f32, [Line; 4])> = None;
    for &left in &candidates[0] {
        for &top in &candidates[1] {
            for &right in &candidates[2] {
                for &bottom in &candidates[3] {
                    let sides = [left, top, right, bottom];
                    let bound = best.as_ref().map_or(0.0, |(s, _)| *s);
                    let Some(score) = score_quad(edges, &sides, w, h, bound) else {
                        continue;
                    };
                    if best.as_ref().is_none_or(|(s, _)| score > *s) {
                        best = Some((score, sides));
                    }
                }
            }
        }
    }
    best.map(|(_, sides)| sides)
}

/// Hough voting with polarity; returns candidates per side (left, top, right, bottom),
/// each list ending with the image border on that side for pages cut by the frame.
fn candidate_lines(edges: &OrientedEdges) -> [Vec<Line>; 4] {
    let (w, h) = (edges.width as f32, edges.height as f32);
    let diagonal = w.hypot(h).ceil() as i32;
    let rho_bins = (2 * diagonal + 1) as usize;
    let mut votes = vec![0u32; 360 * rho_bins];
    let trig: Vec<(f32, f32)> = (0..360)
        .map(|d| (d as f32).to_radians().sin_cos())
        .collect();
    for (i, &a) in edges.angle.iter().enumerate() {
        if a == NO_EDGE {
            continue;
        }
        let (x, y) = (
            (i % edges.width as usize) as f32,
            (i / edges.width as usize) as f32,
        );
        for d in -VOTE_SPREAD..=VOTE_SPREAD {
            let theta = (i32::from(a) + d).rem_euclid(360) as usize;
            let (s, c) = trig[theta];
            let rho = (x * c + y * s).round() as i32 + diagonal;
            votes[theta * rho_bins + rho as usize] += 1;
        }
    }
    let min_votes = (w.min(h) * 0.15) as u32;
    let peaks = local_maxima(&votes, rho_bins, diagonal, min_votes);
    let frame = |theta: f32, rho: f32| Line {
        theta,
        rho,
        frame: true,
    };
    let borders = [
        frame(0.0, 0.0),
        frame(90.0, 0.0),
        frame(180.0, -w),
        frame(270.0, -h),
    ];
    std::array::from_fn(|side| {
        let centre = side as f32 * 90.0;
        let mut lines: Vec<(u32, Line)> = peaks
            .iter()
            .filter(|(_, l)| angle_distance(l.theta, centre) < 45.0)
            .copied()
            .collect();
        lines.sort_by_key(|l| std::cmp::Reverse(l.0));
        lines.truncate(CANDIDATES_PER_SIDE);
        let mut lines: Vec<Line> = lines.into_iter().map(|(_, l)| l).collect();
        lines.push(borders[side]);
        lines
    })
}

/// Accumulator cells that are the maximum of their neighbourhood (±4°, ±6 px).
fn local_maxima(votes: &[u32], rho_bins: usize, diagonal: i32, min_votes: u32) -> Vec<(u32, Line)> {
    let mut peaks = Vec::new();
    for theta in 0..360usize {
        for r in 0..rho_bins {
            let v = votes[theta * rho_bins + r];
            if v < min_votes {
                continue;
            }
            let is_max = (-4i32..=4).all(|dt| {
                let t = (theta as i32 + dt).rem_euclid(360) as usize;
                (r.saturating_sub(6)..(r + 7).min(rho_bins)).all(|rr| {
                    let other = votes[t * rho_bins + rr];
                    other < v || (other == v && (t, rr) >= (theta, r))
                })
            });
            if is_max {
                let line = Line {
                    theta: theta as f32,
                    rho: (r as i32 - diagonal) as f32,
                    frame: false,
                };
                peaks.push((v, line));
            }
        }
    }
    peaks
}

/// Area fraction × mean support², or `None` for a shape that cannot be the page or
/// cannot beat `to_beat` (support is at most 1, so a smaller area never can).
fn score_quad(
    edges: &OrientedEdges,
    sides: &[Line; 4],
    w: f32,
    h: f32,
    to_beat: f32,
) -> Option<f32> {
    let [left, top, right, bottom] = *sides;
    let quad = [
        top.intersect(left)?,
        top.intersect(right)?,
        bottom.intersect(right)?,
        bottom.intersect(left)?,
    ];
    let margin = 0.05 * w.max(h);
    if quad
        .iter()
        .any(|p| p[0] < -margin || p[1] < -margin || p[0] > w + margin || p[1] > h + margin)
    {
        return None;
    }
    let area = convex_area(&quad)?;
    let fraction = area / (w * h);
    if fraction < MIN_AREA_FRACTION || fraction <= to_beat {
        return None;
    }
    let support = [
        side_support(edges, quad[3], quad[0], left),
        side_support(edges, quad[0], quad[1], top),
        side_support(edges, quad[1], quad[2], right),
        side_support(edges, quad[2], quad[3], bottom),
    ];
    let mean = support.iter().sum::<f32>() / 4.0;
    let min = support.iter().copied().fold(f32::MAX, f32::min);
    (mean >= MIN_MEAN_SUPPORT && min >= MIN_SIDE_SUPPORT).then_some(fraction * mean * mean)
}

/// Area of a quadrilateral whose corners run clockwise as displayed and which is
/// convex; `None` otherwise.
fn convex_area(q: &[[f32; 2]; 4]) -> Option<f32> {
    let mut area = 0.0;
    for i in 0..4 {
        let (a, b, c) = (q[i], q[(i + 1) % 4], q[(i + 2) % 4]);
        let cross = (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]);
        if cross <= 0.0 {
            return None;
        }
        area += a[0] * b[1] - b[0] * a[1];
    }
    Some(area / 2.0)
}

/// Fraction of the segment backed by edges of matching direction; stretches outside
/// the image or on its border count half (a page cut by the frame), and the frame
/// itself a little less, so a page side seen even in part is preferred to it.
fn side_support(edges: &OrientedEdges, a: [f32; 2], b: [f32; 2], line: Line) -> f32 {
    if line.frame {
        return FRAME_SUPPORT;
    }
    let theta = line.theta;
    let length = (b[0] - a[0]).hypot(b[1] - a[1]);
    let n = (length / 3.0).clamp(12.0, 400.0) as usize;
    let (w, h) = (edges.width as f32, edges.height as f32);
    let mut total = 0.0;
    for i in 0..n {
        let t = 0.04 + 0.92 * (i as f32 + 0.5) / n as f32;
        let (x, y) = (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]));
        if x < 2.0 || y < 2.0 || x > w - 3.0 || y > h - 3.0 {
            total += OUTSIDE_SUPPORT;
        } else if edges.supports(x, y, theta) {
            total += 1.0;
        }
    }
    total / n as f32
}

/// Refits a side at full resolution: along it, the strongest dark-to-bright step
/// within `reach` pixels across it, then a robust straight-line fit of those points.
fn refine(gray: &GrayImage, line: Line, reach: i32) -> Option<Line> {
    let (nx, ny) = line.normal();
    let (dx, dy) = (-ny, nx);
    let (w, h) = (gray.width() as f32, gray.height() as f32);
    // The visible stretch of the line, parametrised from its foot point.
    let (fx, fy) = (line.rho * nx, line.rho * ny);
    let span = w.hypot(h);
    let mut points = Vec::new();
    for i in 0..240 {
        let s = -span + 2.0 * span * (i as f32 + 0.5) / 240.0;
        let (x, y) = (fx + s * dx, fy + s * dy);
        if x < 2.0 || y < 2.0 || x > w - 3.0 || y > h - 3.0 {
            continue;
        }
        if let Some(offset) = strongest_step(gray, (x, y), (nx, ny), (dx, dy), reach) {
            points.push([x + offset * nx, y + offset * ny]);
        }
    }
    fit_line(&points, line)
}

/// Offset along the normal of the largest brightness rise, with sub-pixel precision;
/// each profile value averages five samples along the edge to quiet texture and noise.
fn strongest_step(
    gray: &GrayImage,
    (x, y): (f32, f32),
    (nx, ny): (f32, f32),
    (dx, dy): (f32, f32),
    reach: i32,
) -> Option<f32> {
    let value = |s: f32| -> f32 {
        (-2..=2)
            .map(|k| {
                let k = k as f32 * 2.0;
                // Beyond the frame the border pixel repeats: no step is invented there.
                let px = (x + s * nx + k * dx).clamp(0.0, (gray.width() - 1) as f32);
                let py = (y + s * ny + k * dy).clamp(0.0, (gray.height() - 1) as f32);
                f32::from(gray.get_pixel(px as u32, py as u32).0[0])
            })
            .sum::<f32>()
            / 5.0
    };
    let profile: Vec<f32> = (-reach - 1..=reach + 1).map(|s| value(s as f32)).collect();
    let rise: Vec<f32> = (1..profile.len() - 1)
        .map(|i| profile[i + 1] - profile[i - 1])
        .collect();
    let best = (0..rise.len()).max_by(|&a, &b| rise[a].total_cmp(&rise[b]))?;
    if rise[best] < 12.0 {
        return None;
    }
    let mut offset = best as f32 - reach as f32;
    if best > 0 && best + 1 < rise.len() {
        let (l, c, r) = (rise[best - 1], rise[best], rise[best + 1]);
        let denominator = l - 2.0 * c + r;
        if denominator < 0.0 {
            offset += 0.5 * (l - r) / denominator;
        }
    }
    Some(offset)
}

/// Total-least-squares line through `points`, refitted twice without points farther
/// than three median deviations (at least 1.5 px); keeps the coarse line's polarity.
fn fit_line(points: &[[f32; 2]], coarse: Line) -> Option<Line> {
    let mut inliers: Vec<[f32; 2]> = points.to_vec();
    let mut line = None;
    for _ in 0..3 {
        if inliers.len() < 8 {
            return line;
        }
        let fitted = total_least_squares(&inliers, coarse)?;
        let (nx, ny) = fitted.normal();
        let mut residuals: Vec<f32> = points
            .iter()
            .map(|p| (p[0] * nx + p[1] * ny - fitted.rho).abs())
            .collect();
        let mut sorted = residuals.clone();
        sorted.sort_by(|a, b| a.total_cmp(b));
        let limit = (3.0 * sorted[sorted.len() / 2]).max(1.5);
        inliers = points
            .iter()
            .zip(residuals.iter_mut())
            .filter(|(_, r)| **r <= limit)
            .map(|(p, _)| *p)
            .collect();
        line = Some(fitted);
    }
    line
}

fn total_least_squares(points: &[[f32; 2]], coarse: Line) -> Option<Line> {
    let n = points.len() as f64;
    let (mx, my) = points.iter().fold((0.0, 0.0), |(x, y), p| {
        (x + f64::from(p[0]) / n, y + f64::from(p[1]) / n)
    });
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for p in points {
        let (dx, dy) = (f64::from(p[0]) - mx, f64::from(p[1]) - my);
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    // The normal is the eigenvector of the smaller eigenvalue of the scatter matrix.
    let direction = 0.5 * (2.0 * sxy).atan2(sxx - syy);
    let (s, c) = (direction + std::f64::consts::FRAC_PI_2).sin_cos();
    let (mut nx, mut ny) = (c, s);
    let (cx, cy) = coarse.normal();
    if nx * f64::from(cx) + ny * f64::from(cy) < 0.0 {
        (nx, ny) = (-nx, -ny);
    }
    let theta = ny.atan2(nx).to_degrees().rem_euclid(360.0) as f32;
    let rho = (mx * nx + my * ny) as f32;
    (theta.is_finite() && rho.is_finite()).then_some(Line {
        theta,
        rho,
        frame: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Raster;
    use image::{Luma, RgbImage};

    /// A white quadrilateral with text-like bars on a mid-gray striped desk.
    fn synthetic_photo(quad: [[f32; 2]; 4]) -> Raster {
        let inside = |x: f32, y: f32| {
            (0..4).all(|i| {
                let (a, b) = (quad[i], quad[(i + 1) % 4]);
                (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0]) >= 0.0
            })
        };
        Raster::Gray(GrayImage::from_fn(1200, 1600, |x, y| {
            let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
            if inside(fx, fy) {
                let text = (y / 4) % 9 == 0 && (x / 23) % 5 != 0 && (300..900).contains(&x);
                Luma([if text { 30 } else { 235 }])
            } else {
                Luma([90 + ((x / 7 + y / 31) % 5 * 9) as u8])
            }
        }))
    }

    #[test]
    fn finds_a_tilted_page_within_two_pixels() {
        let quad = [
            [180.0, 150.0],
            [1020.0, 210.0],
            [1080.0, 1450.0],
            [120.0, 1390.0],
        ];
        let found = find_page(&synthetic_photo(quad).to_gray()).expect("a page");
        for (f, q) in found.iter().zip(&quad) {
            let error = (f[0] - q[0]).hypot(f[1] - q[1]);
            assert!(error < 2.0, "corner {f:?} vs {q:?}");
        }
    }

    #[test]
    fn texture_alone_has_no_page() {
        let desk = RgbImage::from_fn(1200, 900, |x, y| {
            let v = (100.0 + 40.0 * ((x as f32 * 0.07).sin() * (y as f32 * 0.05).cos())) as u8;
            image::Rgb([v, v / 2 + 40, v / 3 + 20])
        });
        assert_eq!(find_page(&Raster::Rgb(desk).to_gray()), None);
    }
}
