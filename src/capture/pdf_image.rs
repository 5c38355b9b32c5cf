//! One image of a scanned PDF, taken out losslessly as an image file the capture stage
//! reads: JPEG and JPEG 2000 data as they are; CCITT G3/G4 (the `fax` crate) and JBIG2
//! (`hayro-jbig2`, memory-safe) as 1-bit PNG; raw samples of 1–16 bits in gray, RGB,
//! CMYK, ICC-based, Indexed or one-colourant spaces, with their `/Decode` arrays and
//! stencil masks, as PNG. Sizes are checked against the decode limits before anything
//! is decoded.

use std::io::Read;

use image::{GrayImage, RgbImage};
use lopdf::{Dictionary, Document, Object};

use super::DecodeLimits;

/// The image XObject `id` of `doc` as a JPEG, JPEG 2000 or PNG file.
pub(super) fn image_file(
    doc: &Document,
    id: lopdf::ObjectId,
    limits: &DecodeLimits,
) -> Result<Vec<u8>, String> {
    let stream = doc
        .get_object(id)
        .and_then(Object::as_stream)
        .map_err(|e| e.to_string())?;
    let dict = &stream.dict;
    let (width, height) = (
        integer(doc, dict, b"Width")?,
        integer(doc, dict, b"Height")?,
    );
    let too_big = u64::from(width) * u64::from(height) > limits.max_pixels;
    if width == 0 || height == 0 || too_big {
        return Err(format!("image of {width}×{height} pixels is out of bounds"));
    }
    let filters = filters(doc, dict)?;
    let (codec, before) = match filters.split_last() {
        Some((last, before)) => (last.as_str(), before),
        None => ("", &[][..]),
    };
    let params = decode_params(doc, dict, filters.len().saturating_sub(1));
    let encoded = || unfilter(&stream.content, before, limits);
    match codec {
        "DCTDecode" => encoded(),
        "JPXDecode" => encoded(),
        "CCITTFaxDecode" | "JBIG2Decode" => {
            let size = Size { width, height };
            let zero_bits = bilevel(doc, codec, &encoded()?, params.as_ref(), size)?;
            png_1bit(&bilevel_gray(doc, dict, &zero_bits, size)?)
        }
        "" | "FlateDecode" | "LZWDecode" => {
            let layout = Layout::of(doc, dict, width, height)?;
            let samples = match codec {
                "" => stream.content.clone(),
                // Room for the PNG predictors' one byte per row before they are undone.
                _ => stream
                    .decompressed_content_with_limit(layout.bytes() + height as usize + 4096)
                    .map_err(|e| format!("{codec} image data is damaged: {e}"))?,
            };
            layout.png(&samples)
        }
        other => Err(format!(
            "image compression {other} is not supported (JPEG, JPEG 2000, Flate, LZW, CCITT \
             and JBIG2 are)"
        )),
    }
}

/// A bitonal image XObject (CCITT or JBIG2, its only filter) as gray samples: 0 where it
/// paints black, 255 elsewhere. `Ok(None)` for any other image. The certification stamp's
/// placement reads a page's ink from this.
pub fn bilevel_samples(
    doc: &Document,
    stream: &lopdf::Stream,
    limits: &DecodeLimits,
) -> Result<Option<GrayImage>, String> {
    let dict = &stream.dict;
    let codec = match filters(doc, dict)?.as_slice() {
        [only] if only == "CCITTFaxDecode" || only == "JBIG2Decode" => only.clone(),
        _ => return Ok(None),
    };
    let size = Size {
        width: integer(doc, dict, b"Width")?,
        height: integer(doc, dict, b"Height")?,
    };
    let pixels = u64::from(size.width) * u64::from(size.height);
    if pixels == 0 || pixels > limits.max_pixels {
        return Err(format!(
            "image of {}×{} pixels is out of bounds",
            size.width, size.height
        ));
    }
    let params = decode_params(doc, dict, 0);
    let zero_bits = bilevel(doc, &codec, &stream.content, params.as_ref(), size)?;
    bilevel_gray(doc, dict, &zero_bits, size).map(Some)
}

/// Decodes CCITT or JBIG2 data into one flag per pixel, true where the output bit is 0.
fn bilevel(
    doc: &Document,
    codec: &str,
    data: &[u8],
    params: Option<&Dictionary>,
    size: Size,
) -> Result<Vec<bool>, String> {
    if codec == "JBIG2Decode" {
        jbig2(doc, data, params, size)
    } else {
        ccitt(data, params, size)
    }
}

#[derive(Debug, Clone, Copy)]
struct Size {
    width: u32,
    height: u32,
}

fn resolve<'a>(doc: &'a Document, object: &'a Object) -> &'a Object {
    match object {
        Object::Reference(id) => doc.get_object(*id).unwrap_or(object),
        other => other,
    }
}

fn integer(doc: &Document, dict: &Dictionary, key: &[u8]) -> Result<u32, String> {
    dict.get(key)
        .map(|o| resolve(doc, o))
        .and_then(Object::as_i64)
        .ok()
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| format!("image without a valid /{}", String::from_utf8_lossy(key)))
}

fn filters(doc: &Document, dict: &Dictionary) -> Result<Vec<String>, String> {
    let Ok(filter) = dict.get(b"Filter").map(|o| resolve(doc, o)) else {
        return Ok(Vec::new());
    };
    let names: Vec<&Object> = match filter {
        Object::Array(items) => items.iter().map(|o| resolve(doc, o)).collect(),
        single => vec![single],
    };
    names
        .into_iter()
        .map(|n| {
            n.as_name()
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .map_err(|_| "image /Filter is not a name".to_string())
        })
        .collect()
}

/// The `/DecodeParms` of filter `index` (a dictionary, or one per filter in an array).
fn decode_params(doc: &Document, dict: &Dictionary, index: usize) -> Option<Dictionary> {
    let params = resolve(doc, dict.get(b"DecodeParms").ok()?);
    let params = match params {
        Object::Array(items) => resolve(doc, items.get(index)?),
        other => other,
    };
    params.as_dict().ok().cloned()
}

/// Undoes the filters before the image codec (only Flate is found there in practice).
fn unfilter(data: &[u8], filters: &[String], limits: &DecodeLimits) -> Result<Vec<u8>, String> {
    let mut data = data.to_vec();
    for filter in filters.iter().rev() {
        if filter != "FlateDecode" {
            return Err(format!(
                "image filter {filter} before the codec is not supported"
            ));
        }
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(data.as_slice())
            .take(limits.max_alloc)
            .read_to_end(&mut out)
            .map_err(|e| format!("Flate data is damaged: {e}"))?;
        data = out;
    }
    Ok(data)
}

fn param_i64(params: Option<&Dictionary>, key: &[u8], default: i64) -> i64 {
    params
        .and_then(|p| p.get(key).ok())
        .and_then(|o| o.as_i64().ok())
        .unwrap_or(default)
}

fn param_bool(params: Option<&Dictionary>, key: &[u8]) -> bool {
    params
        .and_then(|p| p.get(key).ok())
        .and_then(|o| o.as_bool().ok())
        .unwrap_or(false)
}

/// Decodes CCITT G4 or one-dimensional G3 data into one flag per pixel, true where
/// the filter's output bit is 0 (black, unless `/BlackIs1`).
fn ccitt(data: &[u8], params: Option<&Dictionary>, size: Size) -> Result<Vec<bool>, String> {
    let k = param_i64(params, b"K", 0);
    let columns = param_i64(params, b"Columns", 1728);
    if columns != i64::from(size.width) {
        return Err(format!(
            "CCITT data is {columns} pixels wide but the image {}",
            size.width
        ));
    }
    let width = u16::try_from(size.width).map_err(|_| "CCITT image too wide".to_string())?;
    let black_is_1 = param_bool(params, b"BlackIs1");
    let mut zero_bits = Vec::with_capacity(size.width as usize * size.height as usize);
    let mut rows = 0u32;
    let mut line = |transitions: &[u16]| {
        if rows < size.height {
            push_runs(&mut zero_bits, transitions, width, black_is_1);
            rows += 1;
        }
    };
    let complete = match k {
        k if k < 0 => fax::decoder::decode_g4(data.iter().copied(), width, None, &mut line),
        0 => fax::decoder::decode_g3(data.iter().copied(), &mut line),
        _ => {
            return Err("CCITT G3 two-dimensional data is not supported (G4 and G3 1-D are)".into())
        }
    };
    if complete.is_none() && rows == 0 {
        return Err("CCITT data is damaged".into());
    }
    // Scanners often leave out trailing white rows; damaged data ends early the same way.
    zero_bits.resize(size.width as usize * size.height as usize, black_is_1);
    Ok(zero_bits)
}

/// Appends one line of CCITT output as flags (true where the output bit is 0), run by
/// run: `transitions` are where the colour changes, starting with white, as
/// `fax::decoder::pels` reads them (a per-pixel iterator costs ~10× as much).
fn push_runs(bits: &mut Vec<bool>, transitions: &[u16], width: u16, black_is_1: bool) {
    let start = bits.len();
    let mut black = false;
    for &change in transitions {
        let end = start + usize::from(change.min(width));
        if end > bits.len() {
            bits.resize(end, black != black_is_1);
        }
        black = !black;
    }
    // After an odd number of changes the rest of the line is black.
    let pad = (transitions.len() % 2 == 1) != black_is_1;
    bits.resize(start + usize::from(width), pad);
}

/// Decodes embedded JBIG2 data (with its `/JBIG2Globals`) into one flag per pixel,
/// true where the filter's output bit is 0 (black).
fn jbig2(
    doc: &Document,
    data: &[u8],
    params: Option<&Dictionary>,
    size: Size,
) -> Result<Vec<bool>, String> {
    let settings = hayro_jbig2::DecodeSettings { strict: false };
    let globals_data = params
        .and_then(|p| p.get(b"JBIG2Globals").ok())
        .map(|o| resolve(doc, o))
        .and_then(|o| o.as_stream().ok())
        .map(|s| {
            s.decompressed_content()
                .unwrap_or_else(|_| s.content.clone())
        });
    let globals = globals_data
        .as_deref()
        .map(|g| hayro_jbig2::Globals::new(g, &settings))
        .transpose()
        .map_err(|e| format!("JBIG2 globals are damaged: {e}"))?;
    let page = hayro_jbig2::Page::new_embedded(data, globals.as_ref(), &settings)
        .map_err(|e| format!("JBIG2 data is damaged: {e}"))?;
    if (page.width(), page.height()) != (size.width, size.height) {
        return Err(format!(
            "JBIG2 page is {}×{} pixels but the image {}×{}",
            page.width(),
            page.height(),
            size.width,
            size.height
        ));
    }
    let mut out = BitCollector {
        pixels: Vec::with_capacity(size.width as usize * size.height as usize),
    };
    page.decode(&mut out)
        .map_err(|e| format!("JBIG2 data is damaged: {e}"))?;
    out.pixels
        .resize(size.width as usize * size.height as usize, false);
    Ok(out.pixels)
}

struct BitCollector {
    pixels: Vec<bool>,
}

impl hayro_jbig2::Decoder for BitCollector {
    fn push_pixel(&mut self, black: bool) {
        self.pixels.push(black);
    }

    fn push_pixel_chunk(&mut self, black: bool, chunk_count: u32) {
        let n = self.pixels.len() + 8 * chunk_count as usize;
        self.pixels.resize(n, black);
    }

    fn next_line(&mut self) {}
}

/// A 1-bit image's flags (true: the filter's output bit is 0) as 0/255 gray, through the
/// image's `/Decode` (`[1 0]` inverts) or, for a stencil mask, painted where 0.
fn bilevel_gray(
    doc: &Document,
    dict: &Dictionary,
    zero_bits: &[bool],
    size: Size,
) -> Result<GrayImage, String> {
    let inverted = decode_array(doc, dict).is_some_and(|d| d.len() >= 2 && d[0] > d[1]);
    let indexed_dark_zero = match color_space(doc, dict) {
        Ok(Space::Indexed { palette, .. }) => palette.first().is_none_or(|&g| g < 128),
        _ => true,
    };
    // Zero bits are black in DeviceGray and painted in a stencil mask alike.
    let black_when_zero = indexed_dark_zero != inverted;
    let pixels = zero_bits
        .iter()
        .map(|&zero| if zero == black_when_zero { 0 } else { 255 })
        .collect();
    GrayImage::from_raw(size.width, size.height, pixels).ok_or_else(|| "image size".into())
}

/// Writes a 0/255 gray image as a 1-bit PNG (the `png` crate: `image` writes 8-bit only).
fn png_1bit(gray: &GrayImage) -> Result<Vec<u8>, String> {
    let (w, h) = gray.dimensions();
    let mut packed = Vec::with_capacity(w.div_ceil(8) as usize * h as usize);
    for row in gray.rows() {
        let mut byte = 0u8;
        for (x, p) in row.enumerate() {
            byte = (byte << 1) | u8::from(p.0[0] >= 128);
            if x % 8 == 7 {
                packed.push(byte);
                byte = 0;
            }
        }
        if w % 8 != 0 {
            packed.push(byte << (8 - w % 8));
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer
        .write_image_data(&packed)
        .map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

/// The colour spaces of scanned images, reduced to how they become gray or RGB.
#[derive(Debug, Clone)]
enum Space {
    Gray,
    Rgb,
    Cmyk,
    /// One colourant (`/Separation`, one-component `/DeviceN`): tint 1 is full ink.
    Tint,
    /// A palette of `hival + 1` entries in its base space, as RGB (or gray) bytes.
    Indexed {
        palette: Vec<u8>,
        rgb: bool,
    },
}

impl Space {
    fn components(&self) -> usize {
        match self {
            Space::Gray | Space::Tint | Space::Indexed { .. } => 1,
            Space::Rgb => 3,
            Space::Cmyk => 4,
        }
    }
}

fn color_space(doc: &Document, dict: &Dictionary) -> Result<Space, String> {
    if dict
        .get(b"ImageMask")
        .and_then(Object::as_bool)
        .unwrap_or(false)
    {
        return Ok(Space::Gray);
    }
    match dict.get(b"ColorSpace") {
        Ok(space) => parse_space(doc, resolve(doc, space), 0),
        Err(_) => Ok(Space::Gray),
    }
}

fn parse_space(doc: &Document, space: &Object, depth: u8) -> Result<Space, String> {
    if depth > 4 {
        return Err("colour space nested too deep".into());
    }
    let (name, args): (&[u8], &[Object]) = match space {
        Object::Name(n) => (n, &[]),
        Object::Array(items) => match items.split_first() {
            Some((Object::Name(n), rest)) => (n, rest),
            _ => return Err("colour space array without a name".into()),
        },
        _ => return Err("colour space is neither a name nor an array".into()),
    };
    Ok(match name {
        b"DeviceGray" | b"CalGray" | b"G" => Space::Gray,
        b"DeviceRGB" | b"CalRGB" | b"RGB" => Space::Rgb,
        b"DeviceCMYK" | b"CMYK" => Space::Cmyk,
        b"ICCBased" => {
            let n = args
                .first()
                .map(|o| resolve(doc, o))
                .and_then(|o| o.as_stream().ok())
                .and_then(|s| s.dict.get(b"N").and_then(Object::as_i64).ok());
            match n {
                Some(1) => Space::Gray,
                Some(3) => Space::Rgb,
                Some(4) => Space::Cmyk,
                other => return Err(format!("ICC colour space with {other:?} components")),
            }
        }
        b"Separation" => Space::Tint,
        b"DeviceN" => match args.first().map(|o| resolve(doc, o)) {
            Some(Object::Array(names)) if names.len() == 1 => Space::Tint,
            _ => return Err("DeviceN images of several colourants are not supported".into()),
        },
        b"Indexed" | b"I" => indexed(doc, args, depth)?,
        other => {
            return Err(format!(
                "colour space {} is not supported",
                String::from_utf8_lossy(other)
            ))
        }
    })
}

fn indexed(doc: &Document, args: &[Object], depth: u8) -> Result<Space, String> {
    let [base, hival, lookup] = args else {
        return Err("Indexed colour space needs a base, a maximum and a table".into());
    };
    let base = parse_space(doc, resolve(doc, base), depth + 1)?;
    let entries = resolve(doc, hival)
        .as_i64()
        .ok()
        .filter(|v| (0..=255).contains(v))
        .ok_or("Indexed colour space with a bad maximum")? as usize
        + 1;
    let table = match resolve(doc, lookup) {
        Object::String(bytes, _) => bytes.clone(),
        Object::Stream(s) => s
            .decompressed_content()
            .unwrap_or_else(|_| s.content.clone()),
        _ => return Err("Indexed colour space without a table".into()),
    };
    let n = base.components();
    if matches!(base, Space::Indexed { .. }) || table.len() < entries * n {
        return Err("Indexed colour table is too short".into());
    }
    let rgb = !matches!(base, Space::Gray | Space::Tint);
    let mut palette = Vec::with_capacity(entries * if rgb { 3 } else { 1 });
    for entry in table.chunks_exact(n).take(entries) {
        let values: Vec<f32> = entry.iter().map(|&b| f32::from(b) / 255.0).collect();
        let [r, g, b] = to_rgb(&base, &values);
        if rgb {
            palette.extend([r, g, b]);
        } else {
            palette.push(r);
        }
    }
    Ok(Space::Indexed { palette, rgb })
}

/// Component values in 0–1 to RGB bytes.
fn to_rgb(space: &Space, v: &[f32]) -> [u8; 3] {
    let byte = |x: f32| (x.clamp(0.0, 1.0) * 255.0).round() as u8;
    match space {
        Space::Gray => [byte(v[0]); 3],
        Space::Tint => [byte(1.0 - v[0]); 3],
        Space::Rgb => [byte(v[0]), byte(v[1]), byte(v[2])],
        Space::Cmyk => {
            let k = 1.0 - v[3];
            [
                byte((1.0 - v[0]) * k),
                byte((1.0 - v[1]) * k),
                byte((1.0 - v[2]) * k),
            ]
        }
        Space::Indexed { .. } => [0; 3],
    }
}

fn decode_array(doc: &Document, dict: &Dictionary) -> Option<Vec<f32>> {
    let array = resolve(doc, dict.get(b"Decode").ok()?).as_array().ok()?;
    array
        .iter()
        .map(|o| {
            let o = resolve(doc, o);
            o.as_float()
                .ok()
                .or_else(|| o.as_i64().ok().map(|v| v as f32))
        })
        .collect()
}

/// How raw samples are laid out and what they mean.
struct Layout {
    width: u32,
    height: u32,
    bits: u8,
    space: Space,
    /// Per component: value = min + sample × (max − min) / (2^bits − 1).
    decode: Vec<(f32, f32)>,
}

impl Layout {
    fn of(doc: &Document, dict: &Dictionary, width: u32, height: u32) -> Result<Layout, String> {
        let mask = dict
            .get(b"ImageMask")
            .and_then(Object::as_bool)
            .unwrap_or(false);
        let bits = if mask {
            1
        } else {
            integer(doc, dict, b"BitsPerComponent")?
        };
        let bits = match bits {
            1 | 2 | 4 | 8 | 16 => bits as u8,
            other => return Err(format!("{other} bits per component")),
        };
        let space = color_space(doc, dict)?;
        let max = ((1u32 << bits) - 1) as f32;
        let default = match space {
            Space::Indexed { .. } => (0.0, max),
            _ => (0.0, 1.0),
        };
        let n = space.components();
        let mut decode = vec![default; n];
        if let Some(d) = decode_array(doc, dict).filter(|d| d.len() >= 2 * n) {
            decode = d.chunks_exact(2).take(n).map(|p| (p[0], p[1])).collect();
        } else if mask {
            // A stencil mask paints where its sample is 0: black on white.
            decode = vec![(0.0, 1.0)];
        }
        Ok(Layout {
            width,
            height,
            bits,
            space,
            decode,
        })
    }

    fn row_bytes(&self) -> usize {
        (self.width as usize * self.space.components() * self.bits as usize).div_ceil(8)
    }

    fn bytes(&self) -> usize {
        self.row_bytes() * self.height as usize
    }

    /// The samples as a PNG: 1-bit for 1-bit gray, else 8-bit gray or RGB.
    fn png(&self, samples: &[u8]) -> Result<Vec<u8>, String> {
        if samples.len() < self.bytes() {
            return Err("image data is shorter than its size says".into());
        }
        let n = self.space.components();
        let max = ((1u32 << self.bits) - 1) as f32;
        let colour = match &self.space {
            Space::Rgb | Space::Cmyk => true,
            Space::Indexed { rgb, .. } => *rgb,
            Space::Gray | Space::Tint => false,
        };
        let (w, h) = (self.width, self.height);
        let mut rgb = Vec::with_capacity(w as usize * h as usize * if colour { 3 } else { 1 });
        let mut values = vec![0f32; n];
        for row in samples.chunks_exact(self.row_bytes()).take(h as usize) {
            let mut reader = SampleReader::new(row, self.bits);
            for _ in 0..w {
                for (c, value) in values.iter_mut().enumerate() {
                    let (lo, hi) = self.decode[c];
                    *value = lo + f32::from(reader.next()) * (hi - lo) / max;
                }
                let pixel = match &self.space {
                    Space::Indexed { palette, rgb: true } => {
                        let i = (values[0].round().clamp(0.0, 255.0) as usize) * 3;
                        palette.get(i..i + 3).map_or([0; 3], |p| [p[0], p[1], p[2]])
                    }
                    Space::Indexed {
                        palette,
                        rgb: false,
                    } => {
                        let i = values[0].round().clamp(0.0, 255.0) as usize;
                        [palette.get(i).copied().unwrap_or(0); 3]
                    }
                    space => to_rgb(space, &values),
                };
                if colour {
                    rgb.extend(pixel);
                } else {
                    rgb.push(pixel[0]);
                }
            }
        }
        if !colour {
            let gray = GrayImage::from_raw(w, h, rgb).ok_or("image size")?;
            if self.bits == 1 {
                return png_1bit(&gray);
            }
            return png_file(image::DynamicImage::ImageLuma8(gray));
        }
        let picture = RgbImage::from_raw(w, h, rgb).ok_or("image size")?;
        png_file(image::DynamicImage::ImageRgb8(picture))
    }
}

fn png_file(picture: image::DynamicImage) -> Result<Vec<u8>, String> {
    let mut png = Vec::new();
    picture
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| e.to_string())?;
    Ok(png)
}

/// Reads samples of 1, 2, 4, 8 or 16 bits from a row (16-bit samples keep their high
/// byte).
struct SampleReader<'a> {
    row: &'a [u8],
    bits: u8,
    bit: usize,
}

impl<'a> SampleReader<'a> {
    fn new(row: &'a [u8], bits: u8) -> Self {
        SampleReader { row, bits, bit: 0 }
    }

    fn next(&mut self) -> u16 {
        let byte = self.row.get(self.bit / 8).copied().unwrap_or(0);
        let value = match self.bits {
            16 => u16::from(byte) * 257,
            8 => u16::from(byte),
            bits => {
                let shift = 8 - bits as usize - self.bit % 8;
                u16::from((byte >> shift) & ((1u8 << bits) - 1))
            }
        };
        self.bit += self.bits as usize;
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_of_every_width_are_read() {
        let mut four = SampleReader::new(&[0xA5], 4);
        assert_eq!((four.next(), four.next()), (0xA, 0x5));
        let mut one = SampleReader::new(&[0b1010_0000], 1);
        assert_eq!((one.next(), one.next(), one.next()), (1, 0, 1));
        let mut two = SampleReader::new(&[0b1101_0000], 2);
        assert_eq!((two.next(), two.next()), (3, 1));
    }

    #[test]
    fn cmyk_and_tints_become_rgb() {
        assert_eq!(to_rgb(&Space::Cmyk, &[0.0, 0.0, 0.0, 1.0]), [0, 0, 0]);
        assert_eq!(to_rgb(&Space::Cmyk, &[0.0, 1.0, 1.0, 0.0]), [255, 0, 0]);
        assert_eq!(to_rgb(&Space::Tint, &[1.0]), [0, 0, 0]);
    }

    #[test]
    fn ccitt_runs_match_the_pel_iterator() {
        for transitions in [&[][..], &[3], &[0, 2, 5], &[2, 2, 4, 9], &[1, 7, 7]] {
            for black_is_1 in [false, true] {
                let mut runs = vec![true];
                push_runs(&mut runs, transitions, 8, black_is_1);
                let pels: Vec<bool> = std::iter::once(true)
                    .chain(
                        fax::decoder::pels(transitions, 8)
                            .map(|c| (c == fax::Color::Black) != black_is_1),
                    )
                    .collect();
                assert_eq!(runs, pels, "{transitions:?} {black_is_1}");
            }
        }
    }

    #[test]
    fn one_bit_png_round_trips() {
        let gray = GrayImage::from_fn(13, 3, |x, y| {
            image::Luma([if (x + y) % 3 == 0 { 0 } else { 255 }])
        });
        let png = png_1bit(&gray).unwrap();
        let back = image::load_from_memory(&png).unwrap().into_luma8();
        assert_eq!(back, gray);
    }
}
