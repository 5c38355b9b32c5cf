//! Negative pages: light text on a dark ground, as a scanner's PDF with a wrong colour
//! space (or an inverted export) gives them. Read as they are, the layout measures take the
//! dark ground for ink and OCR finds almost nothing, so such a page is inverted first.

use super::Raster;

/// Share of dark pixels above which a page may be a negative.
const DARK_GROUND: f32 = 0.65;
/// Light marks (the text of a negative) must cover at least this share of the page…
const MIN_LIGHT_INK: f32 = 0.005;
/// …and at most this one (more, and it is a dark picture, not a text page).
const MAX_LIGHT_INK: f32 = 0.35;

/// Whether `raster` is a negative text page: mostly dark, with a small share of light
/// marks and few mid-tones (a photograph or a dark-toned picture has many). Reads every
/// 4th pixel of every 4th row, without a gray copy of the page.
pub fn is_negative(raster: &Raster) -> bool {
    match raster {
        Raster::Bilevel(g) | Raster::Gray(g) => {
            shares_say_negative(g.dimensions(), |x, y| g.get_pixel(x, y)[0])
        }
        Raster::Rgb(c) => shares_say_negative(c.dimensions(), |x, y| {
            let [r, g, b] = c.get_pixel(x, y).0;
            ((u16::from(r) * 77 + u16::from(g) * 150 + u16::from(b) * 29) >> 8) as u8
        }),
    }
}

fn shares_say_negative((w, h): (u32, u32), luma: impl Fn(u32, u32) -> u8) -> bool {
    let mut counts = [0u32; 3]; // dark, mid, light
    for y in (0..h).step_by(4) {
        for x in (0..w).step_by(4) {
            let v = luma(x, y);
            counts[match v {
                0..=84 => 0,
                85..=170 => 1,
                _ => 2,
            }] += 1;
        }
    }
    let total = counts.iter().sum::<u32>().max(1) as f32;
    let [dark, mid, light] = counts.map(|c| c as f32 / total);
    dark >= DARK_GROUND && (MIN_LIGHT_INK..=MAX_LIGHT_INK).contains(&light) && mid < 0.15
}

/// `raster` with every sample inverted.
pub fn invert(mut raster: Raster) -> Raster {
    match &mut raster {
        Raster::Bilevel(g) | Raster::Gray(g) => image::imageops::invert(g),
        Raster::Rgb(c) => image::imageops::invert(c),
    }
    raster
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, Luma};

    /// A page of "text": thin bars of `ink` on `paper`.
    fn page(paper: u8, ink: u8) -> Raster {
        Raster::Gray(GrayImage::from_fn(800, 1000, |x, y| {
            let line = (y / 20) % 3 == 0 && y % 20 < 4 && (x / 9) % 5 != 0;
            Luma([if line { ink } else { paper }])
        }))
    }

    #[test]
    fn light_text_on_black_is_a_negative_and_a_normal_page_is_not() {
        assert!(is_negative(&page(10, 240)));
        assert!(!is_negative(&page(245, 20)));
        // A dark picture with many mid-tones is no negative page.
        let picture = Raster::Gray(GrayImage::from_fn(800, 1000, |x, y| {
            Luma([((x + y) % 200) as u8])
        }));
        assert!(!is_negative(&picture));
        // All black (a blank dark scan): no light marks, nothing to read.
        assert!(!is_negative(&page(5, 5)));
    }
}
