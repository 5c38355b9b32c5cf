//! Page image compression: JPEG for photos and colour, lossless Flate for gray scans,
//! CCITT G4 for bitonal ones (lossless, the fax standard PDF/A allows). With
//! [`Quality::Compact`], gray pages of text on white are stored bitonal too, and other
//! pages of text (a phone photo's soft edges, a red seal, a blue signature) as mixed
//! raster content: a full-resolution G4 mask of the ink, coloured by a low-resolution
//! foreground, over a low-resolution background. Never JBIG2.

use std::io::Write;

use flate2::write::ZlibEncoder;
use flate2::Compression;
use image::{GrayImage, RgbImage};
use jpeg_encoder::{ColorType, Encoder};

use crate::capture::{Original, Page, Raster};

use super::PdfError;

/// JPEG quality for page images: text edges stay clean, files stay small.
const JPEG_QUALITY: u8 = 85;
/// A pixel counts as coloured when two of its channels differ by more than this.
const CHROMA_THRESHOLD: u8 = 40;
/// A page counts as colour when more than 1 in this many pixels is coloured (stamps and
/// signatures cover a small part of a page).
const COLOUR_PIXEL_RATIO: usize = 2000;

/// How the image bytes are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFilter {
    /// Baseline JPEG (`/DCTDecode`).
    Dct,
    /// Zlib (`/FlateDecode`).
    Flate,
    /// CCITT Group 4 (`/CCITTFaxDecode`, `/K -1`), bitonal only.
    CcittG4,
}

/// How page images are kept (`--quality`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Quality {
    /// As scanned: gray pages gray, the source's own JPEG or PNG data when the page was
    /// not resampled.
    #[default]
    Archive,
    /// Pages of text on white without colour are stored bitonal (CCITT G4), a tenth of
    /// the bytes of gray; other pages of text (phone photos, a red seal, a blue
    /// signature) as mixed raster content; photos and pictures stay as in `archive`. OCR
    /// reads the full page either way.
    Compact,
}

impl std::str::FromStr for Quality {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "archive" => Ok(Quality::Archive),
            "compact" => Ok(Quality::Compact),
            other => Err(format!("unknown quality {other:?} (archive or compact)")),
        }
    }
}

/// Share of mid-tone pixels (neither paper nor ink) above which a gray page is a
/// picture, not text on white, and stays gray in `compact`.
const MAX_MIDTONE_SHARE: f64 = 0.03;

/// The colour space of the image samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageColor {
    /// One 1-bit sample per pixel (0 = black).
    Bilevel,
    /// One 8-bit sample per pixel.
    Gray,
    /// Three 8-bit samples per pixel.
    Rgb,
}

/// A compressed page image, ready to become an image XObject.
#[derive(Debug, Clone)]
pub struct EncodedImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Colour space.
    pub color: ImageColor,
    /// Compression.
    pub filter: ImageFilter,
    /// Flate data whose rows start with a PNG filter byte (`/Predictor 15`).
    pub png_rows: bool,
    /// The compressed samples.
    pub data: Vec<u8>,
    /// A bitonal stencil (CCITT G4, black = painted, any resolution): the image paints
    /// only where it is black (the image's `/Mask`).
    pub mask: Option<Box<EncodedImage>>,
}

/// A page's pixels as PDF draws them: layers over the whole page, bottom first.
#[derive(Debug, Clone)]
pub struct PageImage {
    /// Width of the page in full-resolution pixels.
    pub width: u32,
    /// Height of the page in full-resolution pixels.
    pub height: u32,
    /// One image, or mixed raster content's background then masked foreground.
    pub layers: Vec<EncodedImage>,
}

impl PageImage {
    fn single(image: EncodedImage) -> PageImage {
        PageImage {
            width: image.width,
            height: image.height,
            layers: vec![image],
        }
    }

    /// The bytes that identify each layer: its mask's when it has one (the mask carries
    /// the full-resolution ink), else its own.
    pub fn layer_keys(&self) -> impl Iterator<Item = &[u8]> {
        self.layers
            .iter()
            .map(|l| l.mask.as_deref().map_or(l.data.as_slice(), |m| &m.data))
    }
}

/// Compresses a page. The source's own JPEG or gray/RGB PNG data is reused when capture
/// kept it (the page was not resampled); otherwise colour pages and gray pages from lossy
/// sources become JPEG, other gray pages Flate, bitonal pages CCITT G4. With
/// [`Quality::Compact`] a page of text on white becomes bitonal first, and another page
/// of text mixed raster content.
pub fn encode(page: &Page, quality: Quality) -> Result<PageImage, PdfError> {
    if quality == Quality::Compact {
        if let Some(bitonal) = text_on_white(&page.raster) {
            return ccitt_g4(&bitonal).map(PageImage::single);
        }
        if let Some(layers) = mixed_raster(&page.raster)? {
            return Ok(layers);
        }
    }
    encode_whole(page).map(PageImage::single)
}

/// The page as one image.
fn encode_whole(page: &Page) -> Result<EncodedImage, PdfError> {
    let (width, height) = page.raster.dimensions();
    let color = match &page.raster {
        Raster::Bilevel(_) => ImageColor::Bilevel,
        Raster::Gray(_) => ImageColor::Gray,
        Raster::Rgb(_) => ImageColor::Rgb,
    };
    match &page.original {
        Some(Original::Jpeg(data)) => Ok(EncodedImage {
            width,
            height,
            color,
            filter: ImageFilter::Dct,
            png_rows: false,
            data: data.clone(),
            mask: None,
        }),
        // A bitonal page is smaller as G4 than as its PNG's Flate rows.
        Some(Original::PngIdat(_)) if color == ImageColor::Bilevel => {
            compress(&page.raster, page.lossy_source)
        }
        Some(Original::PngIdat(data)) => Ok(EncodedImage {
            width,
            height,
            color,
            filter: ImageFilter::Flate,
            png_rows: true,
            data: data.clone(),
            mask: None,
        }),
        None => compress(&page.raster, page.lossy_source),
    }
}

fn compress(raster: &Raster, lossy_source: bool) -> Result<EncodedImage, PdfError> {
    match raster {
        Raster::Bilevel(g) => ccitt_g4(g),
        Raster::Gray(g) if lossy_source => jpeg(
            g.as_raw(),
            g.width(),
            g.height(),
            ImageColor::Gray,
            JPEG_QUALITY,
        ),
        Raster::Gray(g) => Ok(flate_gray(g)),
        Raster::Rgb(c) if has_colour(c) => jpeg(
            c.as_raw(),
            c.width(),
            c.height(),
            ImageColor::Rgb,
            JPEG_QUALITY,
        ),
        Raster::Rgb(c) => compress(
            &Raster::Gray(image::DynamicImage::ImageRgb8(c.clone()).into_luma8()),
            lossy_source,
        ),
    }
}

/// True when enough pixels carry colour (a red stamp, a blue signature) to keep RGB.
fn has_colour(rgb: &RgbImage) -> bool {
    let coloured = rgb
        .pixels()
        .filter(|p| {
            let [r, g, b] = p.0;
            r.abs_diff(g) > CHROMA_THRESHOLD
                || g.abs_diff(b) > CHROMA_THRESHOLD
                || r.abs_diff(b) > CHROMA_THRESHOLD
        })
        .count();
    coloured * COLOUR_PIXEL_RATIO > rgb.pixels().len()
}

fn jpeg(
    samples: &[u8],
    width: u32,
    height: u32,
    color: ImageColor,
    quality: u8,
) -> Result<EncodedImage, PdfError> {
    let too_large = || PdfError::ImageTooLarge { width, height };
    let (w, h) = (
        u16::try_from(width).map_err(|_| too_large())?,
        u16::try_from(height).map_err(|_| too_large())?,
    );
    let mut data = Vec::new();
    let color_type = if color == ImageColor::Rgb {
        ColorType::Rgb
    } else {
        ColorType::Luma
    };
    Encoder::new(&mut data, quality)
        .encode(samples, w, h, color_type)
        .map_err(|e| PdfError::Encode(e.to_string()))?;
    Ok(EncodedImage {
        width,
        height,
        color,
        filter: ImageFilter::Dct,
        png_rows: false,
        data,
        mask: None,
    })
}

fn flate_gray(gray: &GrayImage) -> EncodedImage {
    EncodedImage {
        width: gray.width(),
        height: gray.height(),
        color: ImageColor::Gray,
        filter: ImageFilter::Flate,
        png_rows: true,
        data: zlib(&png_up_rows(gray.as_raw(), gray.width() as usize)),
        mask: None,
    }
}

/// The page as black text on white paper, when it is one: gray (or colourless RGB)
/// whose pixels are nearly all paper or ink, thresholded at Otsu's level.
fn text_on_white(raster: &Raster) -> Option<GrayImage> {
    let gray = match raster {
        Raster::Bilevel(_) => return None,
        Raster::Gray(g) => std::borrow::Cow::Borrowed(g),
        Raster::Rgb(c) if !has_colour(c) => std::borrow::Cow::Owned(raster.to_gray()),
        Raster::Rgb(_) => return None,
    };
    let threshold = text_threshold(&gray, MAX_MIDTONE_SHARE, |_| true)?;
    let mut bitonal = gray.into_owned();
    for p in bitonal.pixels_mut() {
        p.0[0] = if p.0[0] <= threshold { 0 } else { 255 };
    }
    Some(bitonal)
}

/// Otsu's ink/paper level of a page of text, or `None` for a picture: more than
/// `max_midtones` of the `counted` pixels (by index) are mid-tones, between the means of
/// ink and paper a quarter of the gap in from each.
fn text_threshold(
    gray: &GrayImage,
    max_midtones: f64,
    counted: impl Fn(usize) -> bool,
) -> Option<u8> {
    let threshold = imageproc::contrast::otsu_level(gray);
    let (mut sums, mut counts) = ([0u64; 2], [0u64; 2]);
    for p in gray.pixels() {
        let class = usize::from(p.0[0] > threshold);
        sums[class] += u64::from(p.0[0]);
        counts[class] += 1;
    }
    let mean = |c: usize| (sums[c] / counts[c].max(1)) as i32;
    let (ink, paper) = (mean(0), mean(1));
    let margin = (paper - ink) / 4;
    let (mut midtones, mut total) = (0usize, 0usize);
    for (_, p) in gray.pixels().enumerate().filter(|(i, _)| counted(*i)) {
        total += 1;
        midtones += usize::from((ink + margin + 1..paper - margin).contains(&i32::from(p.0[0])));
    }
    (midtones as f64 <= max_midtones * total as f64).then_some(threshold)
}

/// Colour layers of mixed raster content have this fraction of the page's resolution
/// (75 dpi for a 300-dpi page): colour changes slowly where the mask does not.
const LAYER_REDUCTION: u32 = 4;
/// JPEG quality of the reduced colour layers: flat paper and flat ink.
const LAYER_JPEG_QUALITY: u8 = 60;
/// A pixel is coloured ink (a seal, a signature) when two channels differ by this much.
const INK_CHROMA: u8 = 60;
/// Share of mid-tone pixels (not coloured ink) above which a colour page is a picture.
/// Higher than [`MAX_MIDTONE_SHARE`]: the mid-tones that are not ink go to the background
/// layer rather than being lost, and a phone photo's soft text edges have some 5 %.
const MAX_LAYERED_MIDTONE_SHARE: f64 = 0.10;
/// Above this share of coloured-ink pixels a page is a colour picture, not text with
/// marks, and is kept as one image.
const MAX_COLOURED_SHARE: f64 = 0.15;

/// A page of text as mixed raster content, or `None` when it is a picture.
///
/// The ink (pixels darker than Otsu's level, or strongly coloured) becomes a
/// full-resolution G4 mask, as sharp as `compact`'s bitonal pages; where it paints, the
/// colour comes from a reduced foreground of the ink's own colours (black text, a red
/// seal); under it lies a reduced background of the paper. This is the layering of the
/// MRC model (ITU-T T.44) with PDF's own means: an image with an explicit `/Mask`, no
/// transparency, as PDF/A-2 allows. A gray page (a phone photo's soft edges make too
/// many mid-tones for plain bitonal) gets gray layers. Written here because no crate
/// builds it.
fn mixed_raster(raster: &Raster) -> Result<Option<PageImage>, PdfError> {
    let (samples, channels, color) = match raster {
        Raster::Rgb(c) => (c.as_raw(), 3, ImageColor::Rgb),
        Raster::Gray(g) => (g.as_raw(), 1, ImageColor::Gray),
        Raster::Bilevel(_) => return Ok(None),
    };
    // Computed where needed rather than kept: a flag per pixel of a 300-dpi page is 9 MB,
    // and `batch` runs a page per core.
    let coloured = |i: usize| {
        channels == 3
            && chroma([samples[3 * i], samples[3 * i + 1], samples[3 * i + 2]]) > INK_CHROMA
    };
    let pixels = samples.len() / channels;
    let share = (0..pixels).filter(|&i| coloured(i)).count() as f64 / pixels.max(1) as f64;
    if share > MAX_COLOURED_SHARE {
        return Ok(None);
    }
    let gray = match raster {
        Raster::Gray(g) => g.clone(),
        _ => raster.to_gray(),
    };
    let Some(threshold) = text_threshold(&gray, MAX_LAYERED_MIDTONE_SHARE, |i| !coloured(i)) else {
        return Ok(None);
    };
    // The gray page becomes the stencil in place: black (0) where the ink is.
    let mut stencil = gray;
    for (i, p) in stencil.pixels_mut().enumerate() {
        p.0[0] = if p.0[0] <= threshold || coloured(i) {
            0
        } else {
            255
        };
    }
    let (width, height) = raster.dimensions();
    let size = (
        width.div_ceil(LAYER_REDUCTION),
        height.div_ceil(LAYER_REDUCTION),
    );
    let layer = |of_ink: bool| {
        let colours = layer_colours(samples, channels, &stencil, of_ink);
        jpeg(&colours, size.0, size.1, color, LAYER_JPEG_QUALITY)
    };
    let (background, mut foreground) = (layer(false)?, layer(true)?);
    foreground.mask = Some(Box::new(ccitt_g4(&stencil)?));
    Ok(Some(PageImage {
        width,
        height,
        layers: vec![background, foreground],
    }))
}

fn chroma([r, g, b]: [u8; 3]) -> u8 {
    r.max(g).max(b) - r.min(g).min(b)
}

/// The page (`channels` samples per pixel) reduced by [`LAYER_REDUCTION`], each block the
/// mean colour of its ink pixels (`of_ink`: black in `stencil`) or of its paper pixels.
/// Blocks with none take the mean of their filled neighbours, spreading outwards, so that
/// the JPEG sees smooth colour where the mask hides it; blocks still empty take the mean
/// of the whole selection. Summed a band of blocks at a time.
fn layer_colours(samples: &[u8], channels: usize, stencil: &GrayImage, of_ink: bool) -> Vec<u8> {
    let f = LAYER_REDUCTION as usize;
    let width = stencil.width() as usize;
    let columns = width.div_ceil(f);
    let mut colours: Vec<Option<[u8; 3]>> = Vec::new();
    // Per block of the band: the sums of up to three channels, then the pixel count.
    let mut sums = vec![[0u32; 4]; columns];
    let mut total = [0u64; 4];
    let bands = samples
        .chunks(width * channels * f)
        .zip(stencil.as_raw().chunks(width * f));
    for (band, flags) in bands {
        sums.fill([0; 4]);
        let rows = band
            .chunks_exact(width * channels)
            .zip(flags.chunks_exact(width));
        for (row, row_flags) in rows {
            for (x, (pixel, &flag)) in row.chunks_exact(channels).zip(row_flags).enumerate() {
                if (flag == 0) == of_ink {
                    let sum = &mut sums[x / f];
                    for (sum, &value) in sum.iter_mut().zip(pixel) {
                        *sum += u32::from(value);
                    }
                    sum[3] += 1;
                }
            }
        }
        for sum in &sums {
            for (total, &value) in total.iter_mut().zip(sum) {
                *total += u64::from(value);
            }
            colours.push((sum[3] > 0).then(|| [0, 1, 2].map(|c| (sum[c] / sum[3]) as u8)));
        }
    }
    let rows = colours.len() / columns.max(1);
    fill_holes(&mut colours, columns, rows);
    let default = if of_ink { [0; 3] } else { [255; 3] };
    let overall = match total[3] {
        0 => default,
        n => [0, 1, 2].map(|c| (total[c] / n) as u8),
    };
    colours
        .iter()
        .flat_map(|c| c.unwrap_or(overall).into_iter().take(channels))
        .collect()
}

/// Gives empty blocks the mean of their filled 4-neighbours, a ring at a time (at most
/// eight rings: farther blocks are far from any visible pixel).
fn fill_holes(colours: &mut [Option<[u8; 3]>], columns: usize, rows: usize) {
    for _ in 0..8 {
        let before = colours.to_vec();
        let mut changed = false;
        for (i, colour) in colours.iter_mut().enumerate().filter(|(_, c)| c.is_none()) {
            let (x, y) = (i % columns, i / columns);
            let neighbours = [
                (x > 0).then(|| i - 1),
                (x + 1 < columns).then_some(i + 1),
                (y > 0).then(|| i - columns),
                (y + 1 < rows).then_some(i + columns),
            ];
            let (mut sum, mut n) = ([0u32; 3], 0u32);
            for filled in neighbours.into_iter().flatten().filter_map(|n| before[n]) {
                for (sum, value) in sum.iter_mut().zip(filled) {
                    *sum += u32::from(value);
                }
                n += 1;
            }
            if n > 0 {
                *colour = Some(sum.map(|s| (s / n) as u8));
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}

/// A bitonal page (0 black, 255 white) as CCITT Group 4 data.
fn ccitt_g4(gray: &GrayImage) -> Result<EncodedImage, PdfError> {
    let (width, height) = gray.dimensions();
    let columns = u16::try_from(width).map_err(|_| PdfError::ImageTooLarge { width, height })?;
    let mut encoder = fax::encoder::Encoder::new(fax::VecWriter::new());
    for row in gray.rows() {
        let pels = row.map(|p| {
            if p.0[0] < 128 {
                fax::Color::Black
            } else {
                fax::Color::White
            }
        });
        let Ok(()) = encoder.encode_line(pels, columns);
    }
    let Ok(writer) = encoder.finish();
    Ok(EncodedImage {
        width,
        height,
        color: ImageColor::Bilevel,
        filter: ImageFilter::CcittG4,
        png_rows: false,
        data: writer.finish(),
        mask: None,
    })
}

/// Prefixes every row with PNG filter type 2 ("Up": each byte minus the byte above), which
/// turns the white paper of a scan into runs of zeros that zlib compresses fast and small.
fn png_up_rows(samples: &[u8], row_bytes: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(samples.len() + samples.len() / row_bytes.max(1));
    let mut previous: &[u8] = &[];
    for row in samples.chunks(row_bytes) {
        out.push(2);
        if previous.is_empty() {
            out.extend_from_slice(row);
        } else {
            out.extend(row.iter().zip(previous).map(|(&v, &up)| v.wrapping_sub(up)));
        }
        previous = row;
    }
    out
}

/// Zlib at a fast level: page images are mostly white and compress well anyway.
pub(crate) fn zlib(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::with_capacity(bytes.len() / 8), Compression::new(3));
    encoder
        .write_all(bytes)
        .expect("writing to a Vec cannot fail");
    encoder.finish().expect("writing to a Vec cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gray_scans_stay_lossless_and_photos_become_jpeg() {
        let gray = GrayImage::from_fn(100, 80, |x, _| image::Luma([(x * 2) as u8]));
        let lossless = compress(&Raster::Gray(gray.clone()), false).unwrap();
        assert_eq!(
            (lossless.filter, lossless.color),
            (ImageFilter::Flate, ImageColor::Gray)
        );
        let photo = compress(&Raster::Gray(gray), true).unwrap();
        assert_eq!(photo.filter, ImageFilter::Dct);
    }

    #[test]
    fn a_red_stamp_keeps_colour_and_a_gray_rgb_page_does_not() {
        let mut rgb = RgbImage::from_pixel(200, 200, image::Rgb([250, 250, 250]));
        assert_eq!(
            compress(&Raster::Rgb(rgb.clone()), true).unwrap().color,
            ImageColor::Gray
        );
        for x in 0..40 {
            for y in 0..40 {
                rgb.put_pixel(x, y, image::Rgb([200, 30, 30]));
            }
        }
        assert_eq!(
            compress(&Raster::Rgb(rgb), true).unwrap().color,
            ImageColor::Rgb
        );
    }

    #[test]
    fn up_filter_stores_row_differences() {
        assert_eq!(png_up_rows(&[5, 7, 6, 9], 2), vec![2, 5, 7, 2, 1, 2]);
    }

    #[test]
    fn bitonal_pages_round_trip_through_g4() {
        let g = GrayImage::from_fn(61, 7, |x, y| {
            image::Luma([if (x * 7 + y * 3) % 11 < 4 { 0 } else { 255 }])
        });
        let img = ccitt_g4(&g).unwrap();
        assert_eq!(img.filter, ImageFilter::CcittG4);
        let mut rows = Vec::new();
        fax::decoder::decode_g4(img.data.iter().copied(), 61, Some(7), |t| {
            rows.extend(fax::decoder::pels(t, 61).map(|c| {
                if c == fax::Color::Black {
                    0
                } else {
                    255
                }
            }));
        })
        .unwrap();
        assert_eq!(rows, g.into_raw());
    }

    #[test]
    fn only_text_on_white_becomes_bitonal() {
        let text = GrayImage::from_fn(200, 100, |x, y| {
            image::Luma([if (x / 3 + y / 5) % 7 == 0 { 20 } else { 245 }])
        });
        assert!(text_on_white(&Raster::Gray(text)).is_some());
        let photo = GrayImage::from_fn(200, 100, |x, y| image::Luma([((x + y) % 256) as u8]));
        assert!(text_on_white(&Raster::Gray(photo)).is_none());
    }

    /// Decodes a G4 stencil into one flag per pixel, true where it paints (black).
    fn painted(mask: &EncodedImage) -> Vec<bool> {
        let (w, h) = (mask.width as u16, mask.height as u16);
        let mut flags = Vec::new();
        fax::decoder::decode_g4(mask.data.iter().copied(), w, Some(h), |t| {
            flags.extend(fax::decoder::pels(t, w).map(|c| c == fax::Color::Black));
        })
        .unwrap();
        flags
    }

    #[test]
    fn a_colour_page_of_text_becomes_layers_and_a_colour_picture_does_not() {
        // Text stripes on paper and a red ring (a seal).
        let page = RgbImage::from_fn(400, 300, |x, y| {
            let (dx, dy) = (x as i32 - 300, y as i32 - 200);
            let ring = (40 * 40..50 * 50).contains(&(dx * dx + dy * dy));
            let text = y % 20 < 4 && (20..380).contains(&x) && y < 140;
            image::Rgb(match (ring, text) {
                (true, _) => [210, 40, 30],
                (_, true) => [25, 25, 30],
                _ => [240, 236, 228],
            })
        });
        let layered = mixed_raster(&Raster::Rgb(page.clone()))
            .unwrap()
            .expect("text with a seal");
        assert_eq!((layered.width, layered.height), (400, 300));
        let [background, foreground] = &layered.layers[..] else {
            panic!("two layers")
        };
        assert!(background.mask.is_none());
        assert_eq!((background.width, foreground.width), (100, 100));
        let mask = foreground
            .mask
            .as_deref()
            .expect("the foreground is masked");
        let ink: Vec<bool> = page.pixels().map(|p| p.0 != [240, 236, 228]).collect();
        assert_eq!(
            painted(mask),
            ink,
            "the mask paints the ink and only the ink"
        );
        // The foreground carries the seal's red where the ring is, black where the text is.
        let colours = image::load_from_memory(&foreground.data)
            .unwrap()
            .into_rgb8();
        let red = colours.get_pixel(300 / 4, 250 / 4).0;
        assert!(red[0] > 150 && red[1] < 100, "{red:?}");
        let black = colours.get_pixel(200 / 4, 1).0;
        assert!(black.iter().all(|&c| c < 90), "{black:?}");

        let picture = RgbImage::from_fn(400, 300, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
        });
        assert!(mixed_raster(&Raster::Rgb(picture)).unwrap().is_none());
    }

    #[test]
    fn a_gray_page_of_soft_text_gets_gray_layers() {
        // Text stripes with a two-pixel soft edge: some 8 % mid-tones, too many for G4.
        let page = GrayImage::from_fn(400, 300, |_, y| {
            image::Luma([match y % 24 {
                0..=3 => 20,
                4 | 5 => 130,
                _ => 240,
            }])
        });
        assert!(text_on_white(&Raster::Gray(page.clone())).is_none());
        let layered = mixed_raster(&Raster::Gray(page)).unwrap().expect("text");
        assert!(layered.layers.iter().all(|l| l.color == ImageColor::Gray));
        assert!(layered.layers[1].mask.is_some());
    }
}
