//! Pages of a scanned PDF that are more than one plain image (several images, masked
//! images, drawings, forms) rendered as they display, with hayro: a memory-safe,
//! pure-Rust PDF rasterizer, so no C PDF library parses untrusted files.

use hayro::hayro_interpret::InterpreterSettings;
use hayro::hayro_syntax::Pdf;
use hayro::vello_cpu::color::palette::css::WHITE;
use hayro::{PixmapSettings, RenderCache, RenderSettings};
use image::{DynamicImage, GrayImage, RgbImage};

use super::DecodeLimits;

/// Most pixels a rendered page may have: A4 at 500 dpi. Rendering holds four bytes a
/// pixel, and batch must stay within a few hundred MB.
const MAX_RENDER_PIXELS: f32 = 25_000_000.0;

/// Renders page `index` (from 0) of `pdf` at `dpi` (less when the page would exceed
/// [`MAX_RENDER_PIXELS`] or the decode limit) as a gray or RGB PNG file, and the
/// resolution it was rendered at.
pub(super) fn render_page(
    pdf: &[u8],
    index: usize,
    dpi: f32,
    limits: &DecodeLimits,
) -> Result<(Vec<u8>, f32), String> {
    let pdf = Pdf::new(pdf.to_vec()).map_err(|e| format!("PDF cannot be rendered: {e:?}"))?;
    let page = pdf
        .pages()
        .get(index)
        .ok_or_else(|| format!("page {} does not exist", index + 1))?;
    let (width_pt, height_pt) = page.render_dimensions();
    let area_in = (width_pt / 72.0) * (height_pt / 72.0);
    let max_pixels = MAX_RENDER_PIXELS.min(limits.max_pixels as f32);
    let dpi = dpi.min((max_pixels / area_in.max(1e-3)).sqrt()).max(1.0);
    let scale = dpi / 72.0;
    let (w, h) = (width_pt * scale, height_pt * scale);
    if !(1.0..=f32::from(u16::MAX)).contains(&w) || !(1.0..=f32::from(u16::MAX)).contains(&h) {
        return Err(format!(
            "page of {width_pt}×{height_pt} pt cannot be rendered"
        ));
    }
    let pixmap = hayro::render(
        page,
        &RenderCache::new(),
        &InterpreterSettings::default(),
        &RenderSettings::default(),
        &PixmapSettings {
            x_scale: scale,
            y_scale: scale,
            bg_color: WHITE,
        },
    );
    let (w, h) = (u32::from(pixmap.width()), u32::from(pixmap.height()));
    // Opaque on a white ground: premultiplied RGBA is plain RGBA.
    let rgb: Vec<u8> = pixmap
        .data_as_u8_slice()
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    let coloured = rgb
        .chunks_exact(3)
        .any(|p| p[0].abs_diff(p[1]) > 24 || p[1].abs_diff(p[2]) > 24);
    let picture = if coloured {
        DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, rgb).ok_or("render size")?)
    } else {
        let gray = rgb.chunks_exact(3).map(|p| p[1]).collect();
        DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, gray).ok_or("render size")?)
    };
    let mut png = Vec::new();
    picture
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| e.to_string())?;
    Ok((png, dpi))
}
