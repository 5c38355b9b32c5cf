//! Decoding untrusted image bytes into rasters, bounded before allocation.
//!
//! JPEG and PNG go through `image`'s decoders (EXIF orientation honoured); TIFF goes
//! through the `tiff` crate directly because `image` reads only the first frame of a
//! multi-page TIFF.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, GrayImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};
use tiff::decoder::{Decoder as TiffDecoder, DecodingResult};
use tiff::tags::Tag;
use tiff::ColorType as TiffColor;

use super::{density, CaptureError};

/// Bounds applied to every input before any pixel buffer is allocated.
#[derive(Debug, Clone, Copy)]
pub struct DecodeLimits {
    /// Largest accepted pixel count (width × height). Default 150 MP: an A3 page at
    /// 600 dpi is 70 MP, a 108 MP phone sensor still fits.
    pub max_pixels: u64,
    /// Largest accepted decoder allocation in bytes. Default 1 GiB.
    pub max_alloc: u64,
    /// Smallest accepted side in pixels: a strip of one text line (a receipt line, a
    /// cropped field) is a page too, but under 16 px no line of text can be read. Default 16.
    pub min_side: u32,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_pixels: 150_000_000,
            max_alloc: 1 << 30,
            min_side: 16,
        }
    }
}

/// One decoded frame, upright (EXIF/TIFF orientation applied).
#[derive(Debug, Clone)]
pub struct Frame {
    /// The pixels.
    pub raster: Raster,
    /// Resolution stated in the file, if any.
    pub stated_dpi: Option<f32>,
    /// True when the source was lossy (JPEG): the PDF then keeps JPEG compression.
    pub lossy: bool,
    /// The source's compressed pixels, when a PDF can embed them as they are.
    pub original: Option<Original>,
}

/// A source's own compressed pixels, reusable in the PDF while the page is not resampled:
/// no generation loss, no encoding time, no growth in size.
#[derive(Debug, Clone)]
pub enum Original {
    /// A whole JPEG file of gray or YCbCr pixels, stored upright.
    Jpeg(Vec<u8>),
    /// The zlib stream of a non-interlaced 8-bit gray or RGB, or 1-bit gray PNG (its
    /// IDAT data; rows carry PNG filter bytes).
    PngIdat(Vec<u8>),
}

/// Pixels of a page: bitonal scans stay marked as such so the PDF can keep them lossless and small.
#[derive(Debug, Clone)]
pub enum Raster {
    /// 1-bit source, expanded to 0/255 gray.
    Bilevel(GrayImage),
    /// 8-bit gray.
    Gray(GrayImage),
    /// 8-bit RGB.
    Rgb(RgbImage),
}

impl Raster {
    /// Width and height in pixels.
    pub fn dimensions(&self) -> (u32, u32) {
        match self {
            Raster::Bilevel(g) | Raster::Gray(g) => g.dimensions(),
            Raster::Rgb(c) => c.dimensions(),
        }
    }

    /// The gray image OCR reads: for colour pages, red ink (official seals, which
    /// Vietnamese documents stamp over the signature and often over text) is dropped
    /// by taking the brighter of luminance and the red channel; black and blue ink stay.
    pub fn to_ocr_gray(&self) -> GrayImage {
        match self {
            Raster::Bilevel(g) | Raster::Gray(g) => g.clone(),
            Raster::Rgb(c) => {
                let pixels = c
                    .as_raw()
                    .chunks_exact(3)
                    .map(|p| luma(p).max(p[0]))
                    .collect();
                GrayImage::from_raw(c.width(), c.height(), pixels).expect("same size")
            }
        }
    }

    /// A gray copy (or the gray image itself) for analysis and OCR.
    pub fn to_gray(&self) -> GrayImage {
        match self {
            Raster::Bilevel(g) | Raster::Gray(g) => g.clone(),
            Raster::Rgb(c) => {
                let pixels = c.as_raw().chunks_exact(3).map(luma).collect();
                GrayImage::from_raw(c.width(), c.height(), pixels).expect("same size")
            }
        }
    }
}

/// Rec. 601 luminance of an RGB pixel in fixed point (weights sum to 256).
fn luma(rgb: &[u8]) -> u8 {
    ((u32::from(rgb[0]) * 77 + u32::from(rgb[1]) * 150 + u32::from(rgb[2]) * 29) >> 8) as u8
}

/// The container formats sohoa reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Jpeg,
    Png,
    Tiff,
    Heic,
    Jpeg2000,
    /// A scanned PDF: each page is a frame ([`super::pdf_input`]).
    Pdf,
}

fn sniff(bytes: &[u8]) -> Result<Format, CaptureError> {
    if bytes.is_empty() {
        return Err(CaptureError::Empty);
    }
    if super::pdf_input::is_pdf(bytes) {
        return Ok(Format::Pdf);
    }
    match image::guess_format(bytes) {
        Ok(ImageFormat::Jpeg) => Ok(Format::Jpeg),
        Ok(ImageFormat::Png) => Ok(Format::Png),
        Ok(ImageFormat::Tiff) => Ok(Format::Tiff),
        Ok(other) => Err(CaptureError::UnsupportedFormat(format!("{other:?}"))),
        Err(_) if looks_like_heic(bytes) => Ok(Format::Heic),
        Err(_) if looks_like_jpeg2000(bytes) => Ok(Format::Jpeg2000),
        Err(_) => Err(CaptureError::NotAnImage),
    }
}

fn looks_like_heic(bytes: &[u8]) -> bool {
    bytes.len() > 12
        && &bytes[4..8] == b"ftyp"
        && matches!(&bytes[8..12], b"heic" | b"heix" | b"mif1")
}

/// A JP2 file (signature box) or a raw JPEG 2000 codestream (SOC then SIZ).
fn looks_like_jpeg2000(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x00\x00\x00\x0cjP  \r\n\x87\n") || bytes.starts_with(b"\xff\x4f\xff\x51")
}

/// Number of pages in the input: frames of a TIFF, pages of a PDF, otherwise one.
pub fn frame_count(bytes: &[u8]) -> Result<usize, CaptureError> {
    match sniff(bytes)? {
        Format::Tiff => {}
        Format::Pdf => return Ok(super::pdf_input::PdfPages::open(bytes)?.len()),
        _ => return Ok(1),
    }
    let mut decoder = TiffDecoder::new(Cursor::new(bytes)).map_err(tiff_error)?;
    let mut count = 1;
    while decoder.more_images() {
        decoder.next_image().map_err(tiff_error)?;
        count += 1;
    }
    Ok(count)
}

/// Decodes frame `index` of the input, refusing oversized images before allocating.
pub fn decode_frame(
    bytes: &[u8],
    index: usize,
    limits: &DecodeLimits,
) -> Result<Frame, CaptureError> {
    let format = sniff(bytes)?;
    let frame = match format {
        Format::Tiff => decode_tiff_frame(bytes, index, limits)?,
        Format::Jpeg | Format::Png => decode_with_image(bytes, format, limits)?,
        Format::Heic => super::heic::decode(bytes, limits)?,
        Format::Jpeg2000 => decode_jpeg2000(bytes, limits)?,
        Format::Pdf => {
            // Opened again for each frame, as a multi-page TIFF is: callers that take
            // every page open the file once ([`super::pdf_input::PdfPages`]).
            let page = super::pdf_input::PdfPages::open(bytes)?.image_file(index, limits)?;
            return decode_frame(&page, 0, limits);
        }
    };
    let (w, h) = frame.raster.dimensions();
    if w.min(h) < limits.min_side {
        return Err(CaptureError::TooSmall {
            width: w,
            height: h,
            min: limits.min_side,
        });
    }
    Ok(frame)
}

/// Decodes a JPEG 2000 image (hayro-jpeg2000), its size checked from the header first.
fn decode_jpeg2000(bytes: &[u8], limits: &DecodeLimits) -> Result<Frame, CaptureError> {
    // Strict: a truncated codestream is refused instead of decoded as a partial page.
    let settings = hayro_jpeg2000::DecodeSettings {
        strict: true,
        ..Default::default()
    };
    let image = hayro_jpeg2000::Image::new(bytes, &settings)
        .map_err(|e| CaptureError::Corrupt(format!("JPEG 2000: {e}")))?;
    check_size(image.width(), image.height(), limits)?;
    let channels = u64::from(image.color_space().num_channels()) + u64::from(image.has_alpha());
    let bytes_needed = u64::from(image.width()) * u64::from(image.height()) * channels.max(1);
    if bytes_needed > limits.max_alloc {
        return Err(CaptureError::TooLarge {
            width: image.width(),
            height: image.height(),
            max_pixels: limits.max_pixels,
        });
    }
    let decoded = DynamicImage::from_decoder(image).map_err(image_error)?;
    Ok(Frame {
        raster: to_raster(decoded, false),
        stated_dpi: None,
        lossy: true,
        original: None,
    })
}

pub(super) fn check_size(
    width: u32,
    height: u32,
    limits: &DecodeLimits,
) -> Result<(), CaptureError> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Err(CaptureError::TooLarge {
            width,
            height,
            max_pixels: limits.max_pixels,
        });
    }
    Ok(())
}

fn decode_with_image(
    bytes: &[u8],
    format: Format,
    limits: &DecodeLimits,
) -> Result<Frame, CaptureError> {
    if format == Format::Jpeg {
        check_jpeg_complete(bytes)?;
    }
    let image_format = if format == Format::Jpeg {
        ImageFormat::Jpeg
    } else {
        ImageFormat::Png
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), image_format);
    let mut image_limits = image::Limits::default();
    image_limits.max_alloc = Some(limits.max_alloc);
    reader.limits(image_limits);
    let mut decoder = reader.into_decoder().map_err(image_error)?;
    let (w, h) = decoder.dimensions();
    check_size(w, h, limits)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let source_color = decoder.original_color_type();
    // `image` reports a 1-bit gray PNG as 8-bit; its header says what the IDAT holds.
    let png_header = (format == Format::Png).then(|| bytes.get(24..26)).flatten();
    let bilevel = source_color == image::ExtendedColorType::L1 || png_header == Some(&[1, 0]);
    let mut image = DynamicImage::from_decoder(decoder).map_err(image_error)?;
    // A 1-bit palette of black and white (fax-like scans saved as PNG) is bitonal too.
    let bilevel = bilevel || (png_header == Some(&[1, 3]) && is_black_and_white(&image));
    image.apply_orientation(orientation);
    let upright = orientation == Orientation::NoTransforms;
    let original = match format {
        Format::Jpeg
            if upright
                && matches!(
                    source_color,
                    image::ExtendedColorType::L8 | image::ExtendedColorType::Rgb8
                ) =>
        {
            Some(Original::Jpeg(bytes.to_vec()))
        }
        Format::Png if upright => png_idat(bytes).map(Original::PngIdat),
        _ => None,
    };
    Ok(Frame {
        raster: to_raster(image, bilevel),
        stated_dpi: density::stated_dpi(bytes),
        lossy: format == Format::Jpeg,
        original,
    })
}

/// Refuses a JPEG whose entropy-coded data does not end in an end-of-image marker.
///
/// `image`'s JPEG decoder pads a truncated scan with gray and reports success, so a
/// half-transferred photo would become a half-gray page. Segments are walked up to the
/// first start-of-scan (skipping EXIF thumbnails, which carry markers of their own);
/// after it, byte stuffing guarantees that `FF D9` can only be the end-of-image marker.
fn check_jpeg_complete(bytes: &[u8]) -> Result<(), CaptureError> {
    let truncated = || CaptureError::Corrupt("truncated JPEG: no end-of-image marker".into());
    let mut pos = 2;
    loop {
        while bytes.get(pos) == Some(&0xFF) && bytes.get(pos + 1) == Some(&0xFF) {
            pos += 1; // fill bytes
        }
        let (Some(0xFF), Some(&marker)) = (bytes.get(pos), bytes.get(pos + 1)) else {
            return Err(truncated());
        };
        if marker == 0xDA {
            break;
        }
        if matches!(marker, 0x01 | 0xD0..=0xD7) {
            pos += 2;
            continue;
        }
        let length = match (bytes.get(pos + 2), bytes.get(pos + 3)) {
            (Some(&hi), Some(&lo)) => usize::from(u16::from_be_bytes([hi, lo])),
            _ => return Err(truncated()),
        };
        pos += 2 + length;
    }
    if bytes[pos..].windows(2).any(|w| w == [0xFF, 0xD9]) {
        Ok(())
    } else {
        Err(truncated())
    }
}

/// The concatenated IDAT data of a PNG whose pixels a PDF can read directly (PNG
/// predictors): non-interlaced 8-bit gray or RGB, or 1-bit gray. Parsed by hand because
/// `image` does not hand out the compressed stream.
fn png_idat(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut pos = 8;
    let mut idat = Vec::new();
    while pos + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().ok()?) as usize;
        let kind = &bytes[pos + 4..pos + 8];
        let data = bytes.get(pos + 8..(pos + 8).checked_add(len)?)?;
        match kind {
            b"IHDR" => {
                let (bits, color, interlace) = (*data.get(8)?, *data.get(9)?, *data.get(12)?);
                let readable = matches!((color, bits), (0, 8) | (0, 1) | (2, 8));
                if !readable || interlace != 0 {
                    return None;
                }
            }
            b"IDAT" => idat.extend_from_slice(data),
            b"IEND" => break,
            _ => {}
        }
        pos += 12 + len;
    }
    (!idat.is_empty()).then_some(idat)
}

/// Whether every pixel is pure black or pure white.
fn is_black_and_white(image: &DynamicImage) -> bool {
    image.as_rgb8().is_some_and(|rgb| {
        rgb.pixels()
            .all(|p| matches!(p.0, [0, 0, 0] | [255, 255, 255]))
    })
}

/// Reduces any decoded image to 8-bit gray or RGB (alpha composited on white).
fn to_raster(image: DynamicImage, bilevel: bool) -> Raster {
    if image.color().has_alpha() {
        return to_raster(flatten_alpha(image), bilevel);
    }
    if bilevel {
        return Raster::Bilevel(image.into_luma8());
    }
    if image.color().has_color() {
        Raster::Rgb(image.into_rgb8())
    } else {
        Raster::Gray(image.into_luma8())
    }
}

fn flatten_alpha(image: DynamicImage) -> DynamicImage {
    let rgba = image.into_rgba8();
    let rgb = RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let over_white =
            |c: u8| ((u32::from(c) * u32::from(a) + 255 * (255 - u32::from(a))) / 255) as u8;
        image::Rgb([over_white(r), over_white(g), over_white(b)])
    });
    DynamicImage::ImageRgb8(rgb)
}

fn decode_tiff_frame(
    bytes: &[u8],
    index: usize,
    limits: &DecodeLimits,
) -> Result<Frame, CaptureError> {
    let mut tiff_limits = tiff::decoder::Limits::default();
    tiff_limits.decoding_buffer_size = usize::try_from(limits.max_alloc).unwrap_or(usize::MAX);
    let mut decoder = TiffDecoder::new(Cursor::new(bytes))
        .map_err(tiff_error)?
        .with_limits(tiff_limits);
    decoder.seek_to_image(index).map_err(tiff_error)?;
    let (w, h) = decoder.dimensions().map_err(tiff_error)?;
    check_size(w, h, limits)?;
    let color = decoder.colortype().map_err(tiff_error)?;
    let orientation = decoder
        .find_tag_unsigned::<u8>(Tag::Orientation)
        .ok()
        .flatten()
        .and_then(Orientation::from_exif)
        .unwrap_or(Orientation::NoTransforms);
    let stated_dpi = tiff_dpi(&mut decoder);
    let data = decoder.read_image().map_err(tiff_error)?;
    let mut image = tiff_to_image(data, color, w, h)?;
    image.apply_orientation(orientation);
    Ok(Frame {
        raster: to_raster(image, color == TiffColor::Gray(1)),
        stated_dpi,
        lossy: false,
        original: None,
    })
}

fn tiff_dpi<R: std::io::Read + std::io::Seek>(decoder: &mut TiffDecoder<R>) -> Option<f32> {
    let value = decoder.find_tag(Tag::XResolution).ok()??;
    let dpi = match value {
        tiff::decoder::ifd::Value::Rational(n, d) if d != 0 => n as f32 / d as f32,
        other => other.into_f32().ok()?,
    };
    // ResolutionUnit: 2 = inch (default), 3 = centimetre.
    match decoder
        .find_tag_unsigned::<u16>(Tag::ResolutionUnit)
        .ok()
        .flatten()
    {
        Some(3) => Some(dpi * 2.54),
        Some(1) => None,
        _ => Some(dpi),
    }
}

fn tiff_to_image(
    data: DecodingResult,
    color: TiffColor,
    w: u32,
    h: u32,
) -> Result<DynamicImage, CaptureError> {
    let unsupported = || CaptureError::UnsupportedFormat(format!("TIFF with {color:?} pixels"));
    let short = || CaptureError::Corrupt("TIFF pixel data shorter than its dimensions".into());
    let image = match (color, data) {
        (TiffColor::Gray(1), DecodingResult::U8(v)) => DynamicImage::ImageLuma8(
            GrayImage::from_raw(w, h, expand_bits(&v, w, h)).ok_or_else(short)?,
        ),
        (TiffColor::Gray(8), DecodingResult::U8(v)) => {
            DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, v).ok_or_else(short)?)
        }
        (TiffColor::Gray(16), DecodingResult::U16(v)) => {
            DynamicImage::ImageLuma16(image::ImageBuffer::from_raw(w, h, v).ok_or_else(short)?)
        }
        (TiffColor::GrayA(8), DecodingResult::U8(v)) => {
            DynamicImage::ImageLumaA8(image::ImageBuffer::from_raw(w, h, v).ok_or_else(short)?)
        }
        (TiffColor::RGB(8), DecodingResult::U8(v)) => {
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, v).ok_or_else(short)?)
        }
        (TiffColor::RGB(16), DecodingResult::U16(v)) => {
            DynamicImage::ImageRgb16(image::ImageBuffer::from_raw(w, h, v).ok_or_else(short)?)
        }
        (TiffColor::RGBA(8), DecodingResult::U8(v)) => {
            DynamicImage::ImageRgba8(image::ImageBuffer::from_raw(w, h, v).ok_or_else(short)?)
        }
        (TiffColor::RGBA(16), DecodingResult::U16(v)) => {
            DynamicImage::ImageRgba16(image::ImageBuffer::from_raw(w, h, v).ok_or_else(short)?)
        }
        (TiffColor::CMYK(8), DecodingResult::U8(v)) => {
            DynamicImage::ImageRgb8(cmyk_to_rgb(&v, w, h).ok_or_else(short)?)
        }
        _ => return Err(unsupported()),
    };
    Ok(image)
}

/// Unpacks 1-bit rows (MSB first, rows padded to bytes) to 0/255 gray; 1 is white after
/// the `tiff` crate has applied the photometric interpretation.
fn expand_bits(packed: &[u8], w: u32, h: u32) -> Vec<u8> {
    let row_bytes = (w as usize).div_ceil(8);
    let mut out = Vec::with_capacity(w as usize * h as usize);
    for row in packed.chunks(row_bytes).take(h as usize) {
        for x in 0..w as usize {
            let bit = row.get(x / 8).map_or(0, |b| (b >> (7 - x % 8)) & 1);
            out.push(if bit == 1 { 255 } else { 0 });
        }
    }
    out
}

fn cmyk_to_rgb(cmyk: &[u8], w: u32, h: u32) -> Option<RgbImage> {
    let mut rgb = Vec::with_capacity(w as usize * h as usize * 3);
    for px in cmyk.chunks_exact(4) {
        let k = 255 - u32::from(px[3]);
        for &c in &px[..3] {
            rgb.push(((255 - u32::from(c)) * k / 255) as u8);
        }
    }
    RgbImage::from_raw(w, h, rgb)
}

fn image_error(e: image::ImageError) -> CaptureError {
    match e {
        image::ImageError::Limits(l) => {
            CaptureError::Corrupt(format!("decoder limit reached: {l}"))
        }
        image::ImageError::Unsupported(u) => CaptureError::UnsupportedFormat(u.to_string()),
        other => CaptureError::Corrupt(other.to_string()),
    }
}

fn tiff_error(e: tiff::TiffError) -> CaptureError {
    match e {
        tiff::TiffError::UnsupportedError(u) => {
            CaptureError::UnsupportedFormat(format!("TIFF: {u}"))
        }
        tiff::TiffError::LimitsExceeded => {
            CaptureError::Corrupt("TIFF decoder limit reached".into())
        }
        other => CaptureError::Corrupt(format!("TIFF: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_text_inputs_are_refused() {
        let limits = DecodeLimits::default();
        assert!(matches!(
            decode_frame(b"", 0, &limits),
            Err(CaptureError::Empty)
        ));
        assert!(matches!(
            decode_frame(b"hello, not an image", 0, &limits),
            Err(CaptureError::NotAnImage)
        ));
    }

    #[test]
    fn bits_expand_msb_first_with_row_padding() {
        // 10 px wide: two bytes per row.
        let packed = [0b1010_0000, 0b0100_0000];
        let gray = expand_bits(&packed, 10, 1);
        assert_eq!(gray, vec![255, 0, 255, 0, 0, 0, 0, 0, 0, 255]);
    }
}
