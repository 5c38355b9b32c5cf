//! Page image compression: JPEG for photos and colour, lossless Flate for gray scans,
//! CCITT G4 for bitonal ones (lossless, the fax standard PDF/A allows). With
//! [`Quality::Compact`], gray pages of text on white are stored bitonal too. Never JBIG2.

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
    /// the bytes of gray; photos, pictures and colour stamps stay as in `archive`. OCR
    /// reads the gray page either way.
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
}

/// Compresses a page. The source's own JPEG or gray/RGB PNG data is reused when capture
/// kept it (the page was not resampled); otherwise colour pages and gray pages from lossy
/// sources become JPEG, other gray pages Flate, bitonal pages CCITT G4. With
/// [`Quality::Compact`] a page of text on white becomes bitonal first.
pub fn encode(page: &Page, quality: Quality) -> Result<EncodedImage, PdfError> {
    if quality == Quality::Compact {
        if let Some(bitonal) = text_on_white(&page.raster) {
            return ccitt_g4(&bitonal);
        }
    }
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
        }),
        None => compress(&page.raster, page.lossy_source),
    }
}

fn compress(raster: &Raster, lossy_source: bool) -> Result<EncodedImage, PdfError> {
    match raster {
        Raster::Bilevel(g) => ccitt_g4(g),
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

/// The page as black text on white paper, when it is one: gray (or colourless RGB)
/// whose pixels are nearly all paper or ink, thresholded at Otsu's level.
fn text_on_white(raster: &Raster) -> Option<GrayImage> {
    let gray = match raster {
        Raster::Bilevel(_) => return None,
        Raster::Gray(g) => std::borrow::Cow::Borrowed(g),
        Raster::Rgb(c) if !has_colour(c) => std::borrow::Cow::Owned(raster.to_gray()),
        Raster::Rgb(_) => return None,
    };
    let threshold = imageproc::contrast::otsu_level(&gray);
    // Mid-tones lie between the means of ink and paper, a quarter of the gap in from each.
    let (mut sums, mut counts) = ([0u64; 2], [0u64; 2]);
    for p in gray.pixels() {
        let class = usize::from(p.0[0] > threshold);
        sums[class] += u64::from(p.0[0]);
        counts[class] += 1;
    }
    let mean = |c: usize| (sums[c] / counts[c].max(1)) as i32;
    let (ink, paper) = (mean(0), mean(1));
    let margin = (paper - ink) / 4;
    let midtones = gray
        .pixels()
        .filter(|p| (ink + margin + 1..paper - margin).contains(&i32::from(p.0[0])))
        .count();
    if midtones as f64 > MAX_MIDTONE_SHARE * (gray.width() * gray.height()) as f64 {
        return None;
    }
    let mut bitonal = gray.into_owned();
    for p in bitonal.pixels_mut() {
        p.0[0] = if p.0[0] <= threshold { 0 } else { 255 };
    }
    Some(bitonal)
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
}
