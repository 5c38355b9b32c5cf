//! Lighting normalisation: a photographed page made to look like a clean scan.
//!
//! The paper's brightness is estimated per channel on a reduced copy by a grey-level
//! closing (text and stamps are narrow dark marks, the closing fills them with the
//! paper around them) and a blur, then divided out: gradients, shadows and a colour
//! cast go, ink keeps its colour. A final stretch sends the paper to white and the
//! darkest ink towards black.

use image::{GrayImage, RgbImage};
use imageproc::filter::box_filter;
use imageproc::morphology::{grayscale_close, Mask};

use super::Raster;

/// Reduction factor of the background estimate.
const FACTOR: u32 = 8;
/// Closing radius on the reduced copy (8 × 7 = 56 px at 300 dpi: wider than a text line).
const CLOSING_RADIUS: u8 = 7;
/// Share of pixels that must be clearly coloured for the page to stay in colour.
const COLOUR_SHARE: f64 = 0.0005;

/// Divides out the illumination of `raster`; colour pages stay RGB only when some ink is
/// clearly coloured (a red seal, a blue signature), otherwise the page becomes gray.
pub fn normalize(raster: &Raster) -> Raster {
    match raster {
        Raster::Bilevel(_) => raster.clone(),
        Raster::Gray(g) => {
            let mut out = flatten(g.as_raw(), g.dimensions(), 1);
            stretch(&mut out, 1);
            Raster::Gray(GrayImage::from_raw(g.width(), g.height(), out).expect("same size"))
        }
        Raster::Rgb(c) => {
            let mut out = flatten(c.as_raw(), c.dimensions(), 3);
            stretch(&mut out, 3);
            let rgb = RgbImage::from_raw(c.width(), c.height(), out).expect("same size");
            if has_colour(&rgb) {
                Raster::Rgb(rgb)
            } else {
                Raster::Gray(image::DynamicImage::ImageRgb8(rgb).into_luma8())
            }
        }
    }
}

/// Paints the outermost `band` pixels of every side paper-white. A photographed page's
/// edge is blurred over a few pixels, so even exact corners leave a thin dark line of
/// desk along the sides after the warp, which OCR reads as `|`; those pixels are page
/// margin or desk, never content.
pub fn whiten_edges(raster: &mut Raster, band: u32) {
    fn paint<P: image::Pixel<Subpixel = u8>>(img: &mut image::ImageBuffer<P, Vec<u8>>, band: u32) {
        let (w, h) = img.dimensions();
        for (x, y, p) in img.enumerate_pixels_mut() {
            if x < band || y < band || x + band >= w || y + band >= h {
                p.channels_mut().fill(255);
            }
        }
    }
    match raster {
        Raster::Bilevel(g) | Raster::Gray(g) => paint(g, band),
        Raster::Rgb(c) => paint(c, band),
    }
}

/// True when, once its lighting is evened out, the page shows clearly coloured ink; a
/// reduced copy is enough to tell.
pub fn has_colour_ink(raster: &Raster) -> bool {
    matches!(raster, Raster::Rgb(_)) && matches!(normalize(raster), Raster::Rgb(_))
}

/// Each channel divided by its own smooth background estimate, scaled so paper is 255.
/// The estimate is interpolated bilinearly: once per row between background rows, then
/// along the row from a per-column table.
fn flatten(pixels: &[u8], (w, h): (u32, u32), channels: usize) -> Vec<u8> {
    let backgrounds: Vec<GrayImage> = (0..channels)
        .map(|c| background(pixels, (w, h), channels, c))
        .collect();
    let (bw, bh) = backgrounds[0].dimensions();
    let position = |i: u32, cells: u32| {
        let f = ((i as f32 + 0.5) / FACTOR as f32 - 0.5).clamp(0.0, (cells - 1) as f32);
        (
            f as usize,
            f.fract(),
            (f as usize + 1).min(cells as usize - 1),
        )
    };
    let columns: Vec<(usize, f32, usize)> = (0..w).map(|x| position(x, bw)).collect();
    let mut out = vec![0u8; pixels.len()];
    let mut paper_row = vec![0f32; bw as usize * channels];
    let row_len = w as usize * channels;
    for (y, (src, dst)) in pixels
        .chunks_exact(row_len)
        .zip(out.chunks_exact_mut(row_len))
        .enumerate()
    {
        let (y0, ty, y1) = position(y as u32, bh);
        for (c, bg) in backgrounds.iter().enumerate() {
            let (top, bottom) = (
                bg.as_raw()[y0 * bw as usize..].iter(),
                bg.as_raw()[y1 * bw as usize..].iter(),
            );
            for (x, (&a, &b)) in top.zip(bottom).take(bw as usize).enumerate() {
                paper_row[x * channels + c] = f32::from(a) * (1.0 - ty) + f32::from(b) * ty;
            }
        }
        for (x, &(x0, tx, x1)) in columns.iter().enumerate() {
            for c in 0..channels {
                let paper = (paper_row[x0 * channels + c] * (1.0 - tx)
                    + paper_row[x1 * channels + c] * tx)
                    .max(8.0);
                let i = x * channels + c;
                dst[i] = (f32::from(src[i]) * 255.0 / paper).min(255.0) as u8;
            }
        }
    }
    out
}

/// The paper brightness of one channel on a 1/FACTOR copy.
fn background(pixels: &[u8], (w, h): (u32, u32), channels: usize, channel: usize) -> GrayImage {
    let (bw, bh) = (w.div_ceil(FACTOR).max(1), h.div_ceil(FACTOR).max(1));
    let mut sums = vec![(0u32, 0u32); (bw * bh) as usize];
    for y in 0..h {
        let row = (y / FACTOR * bw) as usize;
        for x in 0..w {
            let cell = &mut sums[row + (x / FACTOR) as usize];
            cell.0 +=
                u32::from(pixels[(y as usize * w as usize + x as usize) * channels + channel]);
            cell.1 += 1;
        }
    }
    let small = GrayImage::from_raw(
        bw,
        bh,
        sums.iter().map(|&(s, n)| (s / n.max(1)) as u8).collect(),
    )
    .expect("reduced size");
    box_filter(
        &grayscale_close(&small, &Mask::square(CLOSING_RADIUS)),
        2,
        2,
    )
}

/// Maps the 0.5th percentile of luminance to black and keeps paper white.
fn stretch(pixels: &mut [u8], channels: usize) {
    let mut histogram = [0u64; 256];
    for px in pixels.chunks_exact(channels) {
        histogram[px.iter().map(|&v| usize::from(v)).min().unwrap_or(255)] += 1;
    }
    let total: u64 = histogram.iter().sum();
    let mut seen = 0;
    let black = histogram
        .iter()
        .position(|&n| {
            seen += n;
            seen * 200 >= total
        })
        .unwrap_or(0)
        .min(160) as f32;
    let lut: Vec<u8> = (0..256)
        .map(|v| ((v as f32 - black) * 255.0 / (250.0 - black)).clamp(0.0, 255.0) as u8)
        .collect();
    for v in pixels.iter_mut() {
        *v = lut[usize::from(*v)];
    }
}

/// True when more than [`COLOUR_SHARE`] of the pixels are clearly coloured ink.
fn has_colour(rgb: &RgbImage) -> bool {
    let coloured = rgb
        .pixels()
        .filter(|p| {
            let [r, g, b] = p.0.map(i32::from);
            r.max(g).max(b) - r.min(g).min(b) > 70
        })
        .count();
    coloured as f64 > COLOUR_SHARE * f64::from(rgb.width() * rgb.height())
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Luma, Rgb};

    #[test]
    fn a_gradient_and_a_shadow_become_white_paper_with_black_text() {
        let page = GrayImage::from_fn(800, 1000, |x, y| {
            let light = 0.55 + 0.45 * x as f32 / 800.0;
            let shadow = if y > 600 { 0.7 } else { 1.0 };
            let ink = (y / 20) % 4 == 0 && (x / 9) % 4 != 0;
            Luma([((if ink { 40.0 } else { 235.0 }) * light * shadow) as u8])
        });
        let Raster::Gray(out) = normalize(&Raster::Gray(page)) else {
            panic!("gray in, gray out")
        };
        for (x, y) in [(20, 30), (780, 30), (20, 990), (780, 990)] {
            assert!(out.get_pixel(x, y).0[0] > 235, "paper at ({x},{y})");
        }
        assert!(
            out.get_pixel(20, 645).0[0] < 80,
            "ink in the dark shadow corner"
        );
    }

    #[test]
    fn red_seal_keeps_colour_plain_text_turns_gray() {
        let plain = RgbImage::from_fn(400, 400, |x, y| {
            if (y / 10) % 3 == 0 && x % 5 != 0 {
                Rgb([30, 30, 30])
            } else {
                Rgb([240, 235, 220])
            }
        });
        assert!(matches!(
            normalize(&Raster::Rgb(plain.clone())),
            Raster::Gray(_)
        ));
        let mut sealed = plain;
        for (x, y, p) in sealed.enumerate_pixels_mut() {
            if (x as i32 - 300).pow(2) + (y as i32 - 300).pow(2) < 40 * 40 {
                *p = Rgb([200, 30, 40]);
            }
        }
        assert!(matches!(normalize(&Raster::Rgb(sealed)), Raster::Rgb(_)));
    }
}
