//! Page image compression: JPEG for photos and colour, lossless Flate for gray and
//! bitonal scans. Never JBIG2.

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
}

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
}

/// Compresses a page. The source's own compressed pixels are reused when capture kept
/// them (the page was not resampled); otherwise colour pages and gray pages from lossy
/// sources become JPEG, other gray pages Flate, bitonal pages 1-bit Flate.
pub fn encode(page: &Page) -> Result<EncodedImage, PdfError> {
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
        }),
        Some(Original::PngIdat(data)) => Ok(EncodedImage {
            width,
            height,
            color,
            filter: ImageFilter::Flate,
            png_rows: true,
            data: data.clone(),
        }),
        None => compress(&page.raster, page.lossy_source),
    }
}

fn compress(raster: &Raster, lossy_source: bool) -> Result<EncodedImage, PdfError> {
    match raster {
        Raster::Bilevel(g) => Ok(flate_bilevel(g)),
        Raster::Gray(g) if lossy_source => {
            jpeg(g.as_raw(), g.width(), g.height(), ImageColor::Gray)
        }
        Raster::Gray(g) => Ok(flate_gray(g)),
        Raster::Rgb(c) if has_colour(c) => jpeg(c.as_raw(), c.width(), c.height(), ImageColor::Rgb),
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
    Encoder::new(&mut data, JPEG_QUALITY)
        .encode(samples, w, h, color_type)
        .map_err(|e| PdfError::Encode(e.to_string()))?;
    Ok(EncodedImage {
        width,
        height,
        color,
        filter: ImageFilter::Dct,
        png_rows: false,
        data,
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
    }
}

fn flate_bilevel(gray: &GrayImage) -> EncodedImage {
    let width = gray.width() as usize;
    let row_bytes = width.div_ceil(8);
    let mut packed = vec![0u8; row_bytes * gray.height() as usize];
    for (row, out) in gray
        .as_raw()
        .chunks(width)
        .zip(packed.chunks_mut(row_bytes))
    {
        for (x, &v) in row.iter().enumerate() {
            if v >= 128 {
                out[x / 8] |= 0x80 >> (x % 8);
            }
        }
    }
    EncodedImage {
        width: gray.width(),
        height: gray.height(),
        color: ImageColor::Bilevel,
        filter: ImageFilter::Flate,
        png_rows: true,
        data: zlib(&png_up_rows(&packed, row_bytes)),
    }
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
    fn bilevel_packs_white_as_one() {
        let g = GrayImage::from_fn(9, 1, |x, _| {
            image::Luma([if x == 0 || x == 8 { 255 } else { 0 }])
        });
        let img = flate_bilevel(&g);
        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::ZlibDecoder::new(&img.data[..]), &mut raw)
            .unwrap();
        assert_eq!(raw, vec![2, 0b1000_0000, 0b1000_0000]);
    }
}
