//! Bicubic resampling of 8-bit rasters: rotation about the centre, projective warps, and
//! resizing of gray pages (the copies OCR reads).
//!
//! Written by hand because `imageproc`'s generic `warp` spends about 440 ms on an A4
//! 300-dpi gray page (half of Tesseract's time for the same page); this specialised
//! loop (Catmull-Rom weights from a fixed-point table, coordinates stepped along each
//! row, no bounds checks away from the borders) takes about 70 ms.

/// Fractional bits of the fixed-point source coordinates.
const COORD_BITS: u32 = 16;
/// The fraction is quantised to 1/64 pixel for the weight table.
const PHASES: usize = 64;
/// Weights are scaled by 2^8, so a 2-D sample is scaled by 2^16.
const WEIGHT_BITS: u32 = 8;

use image::{GrayImage, ImageBuffer, Luma, Pixel, Rgb};

/// An 8-bit raster of `P` pixels.
pub type Image<P> = ImageBuffer<P, Vec<u8>>;

/// The 8-bit pixels this module resamples: gray and RGB (each with its own
/// monomorphised loop, so the channel count is a constant in the hot path).
pub trait Resample: Pixel<Subpixel = u8> + 'static {
    /// [`rotate_bicubic`] on the raw samples.
    fn rotate(src: &[u8], w: usize, h: usize, degrees: f32) -> Vec<u8>;
    /// [`warp_perspective`] on the raw samples.
    fn warp(src: &[u8], size: (usize, usize), out: (u32, u32), map: &[f64; 9]) -> Vec<u8>;
}

impl Resample for Luma<u8> {
    fn rotate(src: &[u8], w: usize, h: usize, degrees: f32) -> Vec<u8> {
        rotate::<1>(src, w, h, degrees)
    }
    fn warp(src: &[u8], size: (usize, usize), out: (u32, u32), map: &[f64; 9]) -> Vec<u8> {
        warp::<1>(src, size, out, map)
    }
}

impl Resample for Rgb<u8> {
    fn rotate(src: &[u8], w: usize, h: usize, degrees: f32) -> Vec<u8> {
        rotate::<3>(src, w, h, degrees)
    }
    fn warp(src: &[u8], size: (usize, usize), out: (u32, u32), map: &[f64; 9]) -> Vec<u8> {
        warp::<3>(src, size, out, map)
    }
}

/// Wraps samples made for a `width`×`height` canvas (always the right length here).
fn image<P: Resample>(width: u32, height: u32, samples: Vec<u8>) -> Image<P> {
    Image::<P>::from_raw(width, height, samples).expect("resampled to the canvas size")
}

/// Rotates an image clockwise as displayed by `degrees` about its centre, on a canvas of
/// the same size; samples that fall outside the source are white.
pub fn rotate_bicubic<P: Resample>(src: &Image<P>, degrees: f32) -> Image<P> {
    let (w, h) = src.dimensions();
    image(
        w,
        h,
        P::rotate(src.as_raw(), w as usize, h as usize, degrees),
    )
}

fn rotate<const C: usize>(src: &[u8], w: usize, h: usize, degrees: f32) -> Vec<u8> {
    let table = weight_table();
    let mut out = vec![255u8; src.len()];
    let (sin, cos) = f64::from(degrees).to_radians().sin_cos();
    let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
    let one = f64::from(1u32 << COORD_BITS);
    let (step_x, step_y) = ((cos * one) as i64, (-sin * one) as i64);
    for (y, out_row) in out.chunks_exact_mut(w * C).enumerate() {
        let dy = y as f64 + 0.5 - cy;
        // Source position of the output pixel centre (x + 0.5, y + 0.5), as a pixel index.
        let mut sx = ((cx + (0.5 - cx) * cos + dy * sin - 0.5) * one) as i64;
        let mut sy = ((cy - (0.5 - cx) * sin + dy * cos - 0.5) * one) as i64;
        for px in out_row.chunks_exact_mut(C) {
            sample::<C, false>(src, w, h, sx, sy, &table, px);
            sx += step_x;
            sy += step_y;
        }
    }
    out
}

/// Warps an image onto an `out_w`×`out_h` canvas: `map` (a row-major 3×3 projective
/// matrix) takes an output pixel centre `(x + 0.5, y + 0.5, 1)` to homogeneous source
/// coordinates; beyond the source the edge repeats.
pub fn warp_perspective<P: Resample>(
    src: &Image<P>,
    (out_w, out_h): (u32, u32),
    map: &[f64; 9],
) -> Image<P> {
    let size = (src.width() as usize, src.height() as usize);
    image(
        out_w,
        out_h,
        P::warp(src.as_raw(), size, (out_w, out_h), map),
    )
}

fn warp<const C: usize>(
    src: &[u8],
    (w, h): (usize, usize),
    (out_w, out_h): (u32, u32),
    m: &[f64; 9],
) -> Vec<u8> {
    let table = weight_table();
    let mut out = vec![255u8; out_w as usize * out_h as usize * C];
    let one = f64::from(1u32 << COORD_BITS);
    let (max_x, max_y) = (
        ((w as i64) - 1) << COORD_BITS,
        ((h as i64) - 1) << COORD_BITS,
    );
    // Exact source position of an output pixel centre, in fixed point.
    let source = |x: f64, y: f64| -> Option<(i64, i64)> {
        let z = m[6] * x + m[7] * y + m[8];
        (z > f64::EPSILON).then(|| {
            let sx = (m[0] * x + m[1] * y + m[2]) / z - 0.5;
            let sy = (m[3] * x + m[4] * y + m[5]) / z - 0.5;
            ((sx * one) as i64, (sy * one) as i64)
        })
    };
    for (y, out_row) in out.chunks_exact_mut(out_w as usize * C).enumerate() {
        let yc = y as f64 + 0.5;
        // The map is computed exactly every SPAN pixels and stepped linearly between:
        // over 16 pixels the curvature of a page's perspective is far below 1/64 pixel.
        for (k, span) in out_row.chunks_mut(SPAN * C).enumerate() {
            let x0 = (k * SPAN) as f64 + 0.5;
            let n = span.len() / C;
            let (Some(a), Some(b)) = (source(x0, yc), source(x0 + n as f64, yc)) else {
                continue;
            };
            let (step_x, step_y) = ((b.0 - a.0) / n as i64, (b.1 - a.1) / n as i64);
            let (mut sx, mut sy) = a;
            for pixel in span.chunks_exact_mut(C) {
                // Beyond the photo the edge pixels repeat: white there would make the
                // lighting estimate take the paper next to it for shadow.
                let (cx, cy) = (sx.clamp(0, max_x), sy.clamp(0, max_y));
                sample::<C, true>(src, w, h, cx, cy, &table, pixel);
                sx += step_x;
                sy += step_y;
            }
        }
    }
    out
}

/// Output pixels between exact evaluations of a projective map.
const SPAN: usize = 16;

/// Catmull-Rom weights for each quantised phase, scaled by 2^WEIGHT_BITS.
fn weight_table() -> [[i32; 4]; PHASES] {
    let mut table = [[0; 4]; PHASES];
    for (phase, row) in table.iter_mut().enumerate() {
        let t = phase as f32 / PHASES as f32;
        let (t2, t3) = (t * t, t * t * t);
        let w = [
            0.5 * (-t3 + 2.0 * t2 - t),
            0.5 * (3.0 * t3 - 5.0 * t2 + 2.0),
            0.5 * (-3.0 * t3 + 4.0 * t2 + t),
            0.5 * (t3 - t2),
        ];
        for (dst, v) in row.iter_mut().zip(w) {
            *dst = (v * (1 << WEIGHT_BITS) as f32).round() as i32;
        }
        // Rounding must not change the sum, or white paper turns into 254s and noise.
        let sum: i32 = row.iter().sum();
        let largest = if row[1] >= row[2] { 1 } else { 2 };
        row[largest] += (1 << WEIGHT_BITS) - sum;
    }
    table
}

/// Bicubic sample at fixed-point (sx, sy); taps outside the source are white, or with
/// `REPLICATE` the nearest edge pixel.
#[inline]
fn sample<const C: usize, const REPLICATE: bool>(
    src: &[u8],
    w: usize,
    h: usize,
    sx: i64,
    sy: i64,
    table: &[[i32; 4]; PHASES],
    out: &mut [u8],
) {
    let (ix, iy) = (sx >> COORD_BITS, sy >> COORD_BITS);
    if ix < -2 || iy < -2 || ix > w as i64 + 1 || iy > h as i64 + 1 {
        return; // wholly outside: stays white
    }
    let phase = |v: i64| ((v >> (COORD_BITS - 6)) & (PHASES as i64 - 1)) as usize;
    let (wx, wy) = (&table[phase(sx)], &table[phase(sy)]);
    let (x0, y0) = (ix - 1, iy - 1);
    let interior = x0 >= 0 && y0 >= 0 && x0 + 3 < w as i64 && y0 + 3 < h as i64;
    let mut acc = [0i32; C];
    for (j, &wyj) in wy.iter().enumerate() {
        let yy = y0 + j as i64;
        let mut row_acc = [0i32; C];
        if interior {
            let start = (yy as usize * w + x0 as usize) * C;
            let taps = &src[start..start + 4 * C];
            for (i, &wxi) in wx.iter().enumerate() {
                for c in 0..C {
                    row_acc[c] += wxi * i32::from(taps[i * C + c]);
                }
            }
        } else {
            for (i, &wxi) in wx.iter().enumerate() {
                let xx = x0 + i as i64;
                let inside = xx >= 0 && yy >= 0 && (xx as usize) < w && (yy as usize) < h;
                let (cx, cy) = (xx.clamp(0, w as i64 - 1), yy.clamp(0, h as i64 - 1));
                for c in 0..C {
                    let v = if inside {
                        src[(yy as usize * w + xx as usize) * C + c]
                    } else if REPLICATE {
                        src[(cy as usize * w + cx as usize) * C + c]
                    } else {
                        255
                    };
                    row_acc[c] += wxi * i32::from(v);
                }
            }
        }
        for c in 0..C {
            acc[c] += wyj * row_acc[c];
        }
    }
    let round = 1 << (2 * WEIGHT_BITS - 1);
    for (dst, a) in out.iter_mut().zip(acc) {
        *dst = ((a + round) >> (2 * WEIGHT_BITS)).clamp(0, 255) as u8;
    }
}

/// `gray` resized to `width`×`height`: Catmull-Rom when enlarging, a triangle filter
/// widened to the reduction (area-weighted) when reducing. Uses `fast_image_resize`
/// (SIMD): `image`'s resize took 80–140 ms to reduce an A4 300-dpi page, as long as a
/// tenth of Tesseract's work on it.
pub fn resize_gray(gray: &GrayImage, width: u32, height: u32) -> GrayImage {
    use fast_image_resize::{images, FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
    let (w, h) = gray.dimensions();
    let filter = if width > w {
        FilterType::CatmullRom
    } else {
        FilterType::Bilinear
    };
    let source = images::ImageRef::new(w, h, gray.as_raw(), PixelType::U8)
        .expect("a GrayImage holds width × height bytes");
    let mut target = images::Image::new(width.max(1), height.max(1), PixelType::U8);
    Resizer::new()
        .resize(
            &source,
            &mut target,
            &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(filter)),
        )
        .expect("gray to gray of the same pixel type");
    GrayImage::from_raw(width.max(1), height.max(1), target.into_vec())
        .expect("resized to the target size")
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::GrayImage;

    fn gray(w: u32, h: u32, samples: Vec<u8>) -> GrayImage {
        GrayImage::from_raw(w, h, samples).unwrap()
    }

    #[test]
    fn resizing_keeps_where_the_ink_is() {
        // Ink in the left 40 of 100 columns: a copy at 2/5 has it in the left 16 of 40.
        let src = GrayImage::from_fn(100, 60, |x, _| image::Luma([if x < 40 { 0 } else { 255 }]));
        let small = resize_gray(&src, 40, 24);
        assert_eq!(small.dimensions(), (40, 24));
        for row in small.rows() {
            let row: Vec<u8> = row.map(|p| p.0[0]).collect();
            assert!(row[..15].iter().all(|&v| v < 10), "{row:?}");
            assert!(row[17..].iter().all(|&v| v > 245), "{row:?}");
        }
        let large = resize_gray(&src, 200, 120);
        assert_eq!(large.get_pixel(70, 5).0[0], 0);
        assert_eq!(large.get_pixel(90, 5).0[0], 255);
    }

    #[test]
    fn white_stays_exactly_white() {
        let src = gray(50, 40, vec![255u8; 50 * 40]);
        assert!(rotate_bicubic(&src, 3.3).iter().all(|&v| v == 255));
    }

    #[test]
    fn zero_rotation_is_identity() {
        let src = gray(64, 48, (0..64 * 48).map(|i| (i * 7 % 256) as u8).collect());
        assert_eq!(rotate_bicubic(&src, 0.0), src);
    }

    #[test]
    fn quarter_turn_moves_right_to_bottom() {
        // A dark pixel right of centre goes below centre under a clockwise turn.
        let mut src = gray(41, 41, vec![255u8; 41 * 41]);
        src.put_pixel(30, 20, Luma([0]));
        let out = rotate_bicubic(&src, 90.0);
        let darkest = out
            .enumerate_pixels()
            .min_by_key(|(_, _, p)| p.0[0])
            .map(|(x, y, _)| (x, y));
        assert_eq!(darkest, Some((20, 30)));
    }

    #[test]
    fn identity_warp_is_identity_and_shift_moves_pixels() {
        let src = gray(64, 48, (0..64 * 48).map(|i| (i * 7 % 256) as u8).collect());
        let identity = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        assert_eq!(warp_perspective(&src, (64, 48), &identity), src);
        let shifted = [1.0, 0.0, 5.0, 0.0, 1.0, 3.0, 0.0, 0.0, 1.0];
        let out = warp_perspective(&src, (20, 10), &shifted);
        assert_eq!(out.get_pixel(4, 2), src.get_pixel(9, 5));
    }

    #[test]
    fn colour_rotates_like_gray() {
        let g = gray(30, 20, (0..600).map(|i| (i * 5 % 256) as u8).collect());
        let c = image::DynamicImage::ImageLuma8(g.clone()).to_rgb8();
        let (g, c) = (rotate_bicubic(&g, 7.0), rotate_bicubic(&c, 7.0));
        assert!(c
            .enumerate_pixels()
            .all(|(x, y, p)| p.0 == [g.get_pixel(x, y).0[0]; 3]));
    }
}
