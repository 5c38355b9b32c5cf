//! Resolution stated in a file, and the resolution sohoa assumes when none is usable.
//!
//! Written by hand because `image` does not expose pixel density: a PNG `pHYs` chunk
//! and a JPEG JFIF `APP0` segment are a few fixed-layout bytes each.

use image::GrayImage;

use super::Raster;

/// Long side of an A4 page in inches: the paper size assumed when no usable density is stated.
const A4_LONG_SIDE_IN: f32 = 11.69;
/// Ink height of one line of body text (12–13 pt, Vietnamese marks included), in inches:
/// what the resolution of a strip of text is estimated from.
const LINE_INK_IN: f32 = 0.19;

/// Resolution in dots per inch stated by the file, if any.
pub fn stated_dpi(bytes: &[u8]) -> Option<f32> {
    png_dpi(bytes).or_else(|| jfif_dpi(bytes))
}

/// The resolution to use for a page of `width`×`height` pixels: the stated one when it
/// gives a plausible size (half an inch to 20 inches on the long side), else the one that
/// makes the long side as long as A4. Phone photos typically state 72 dpi, which would
/// make a 4000-pixel page 55 inches long.
pub fn effective_dpi(stated: Option<f32>, width: u32, height: u32) -> f32 {
    match usable(stated, width, height) {
        Some(dpi) => dpi,
        None => a4_dpi(width, height),
    }
}

fn usable(stated: Option<f32>, width: u32, height: u32) -> Option<f32> {
    let long_side = width.max(height) as f32;
    stated.filter(|dpi| *dpi > 0.0 && (0.5..=20.0).contains(&(long_side / dpi)))
}

fn a4_dpi(width: u32, height: u32) -> f32 {
    (width.max(height) as f32 / A4_LONG_SIDE_IN).round()
}

/// The resolution of a scanned page: `given` (`--dpi`) when there is one, else the
/// file's when plausible; else, for an image shaped like a page (long side 1.2 to 1.8
/// times the short one), the one that makes it A4; else — a strip, a receipt — the one
/// that makes its text lines as tall as body text, when it has any.
pub fn page_dpi(given: Option<f32>, stated: Option<f32>, raster: &Raster) -> f32 {
    if let Some(dpi) = given {
        return dpi;
    }
    let (width, height) = raster.dimensions();
    if let Some(dpi) = usable(stated, width, height) {
        return dpi;
    }
    let ratio = width.max(height) as f32 / width.min(height).max(1) as f32;
    if (1.2..=1.8).contains(&ratio) {
        return a4_dpi(width, height);
    }
    line_height(&raster.to_gray())
        .map(|px| (px / LINE_INK_IN).round().clamp(50.0, 1200.0))
        .unwrap_or_else(|| a4_dpi(width, height))
}

/// The median height in pixels of the image's text lines (runs of rows with dark ink,
/// text running across); `None` without any.
pub fn line_height(gray: &GrayImage) -> Option<f32> {
    let heights = line_heights(gray);
    heights.get(heights.len() / 2).copied()
}

/// The heights in pixels of the image's text lines (runs of rows with dark ink, text
/// running across), smallest first.
pub fn line_heights(gray: &GrayImage) -> Vec<f32> {
    let (width, height) = gray.dimensions();
    let needed = (width / 100).max(1);
    let inked: Vec<bool> = gray
        .rows()
        .map(|row| row.filter(|p| p.0[0] < 128).count() as u32 >= needed)
        .collect();
    let mut runs = Vec::new();
    let mut start = None;
    for (y, on) in inked.iter().chain([&false]).enumerate() {
        match (on, start) {
            (true, None) => start = Some(y),
            (false, Some(s)) => {
                if y - s >= 3 && y - s < height as usize {
                    runs.push(y - s);
                }
                start = None;
            }
            _ => {}
        }
    }
    runs.sort_unstable();
    runs.into_iter().map(|r| r as f32).collect()
}

/// `file` (PNG or JPEG) stating `dpi`: a PNG gets a `pHYs` chunk after its header, a
/// JPEG a JFIF density (its JFIF segment updated, or one added after SOI); other bytes and
/// files that already state a resolution are returned as they are.
pub fn with_dpi(file: Vec<u8>, dpi: u16) -> Vec<u8> {
    if stated_dpi(&file).is_some() {
        return file;
    }
    if file.starts_with(b"\x89PNG\r\n\x1a\n") && file.len() > 33 {
        let per_metre = (f32::from(dpi) / 0.0254).round() as u32;
        let mut chunk = b"pHYs".to_vec();
        chunk.extend(per_metre.to_be_bytes());
        chunk.extend(per_metre.to_be_bytes());
        chunk.push(1); // unit: metre
        let mut crc = flate2::Crc::new();
        crc.update(&chunk);
        let mut out = file[..33].to_vec(); // signature + IHDR
        out.extend(9u32.to_be_bytes());
        out.extend(&chunk);
        out.extend(crc.sum().to_be_bytes());
        out.extend(&file[33..]);
        return out;
    }
    if file.starts_with(&[0xFF, 0xD8]) {
        let density = dpi.to_be_bytes();
        if file.get(2..4) == Some(&[0xFF, 0xE0])
            && file.get(6..11) == Some(b"JFIF\0")
            && file.len() > 18
        {
            let mut out = file;
            out[13] = 1; // unit: dots per inch
            out[14..16].copy_from_slice(&density);
            out[16..18].copy_from_slice(&density);
            return out;
        }
        let mut out = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
        out.extend(b"JFIF\0\x01\x01\x01");
        out.extend(density);
        out.extend(density);
        out.extend([0, 0]);
        out.extend(&file[2..]);
        return out;
    }
    file
}

fn png_dpi(bytes: &[u8]) -> Option<f32> {
    let mut pos = 8; // after the signature
    if bytes.get(..8)? != b"\x89PNG\r\n\x1a\n" {
        return None;
    }
    while pos + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().ok()?) as usize;
        let kind = &bytes[pos + 4..pos + 8];
        let data = bytes.get(pos + 8..pos.checked_add(8)?.checked_add(len)?)?;
        match kind {
            b"pHYs" if len == 9 && data[8] == 1 => {
                let per_metre = u32::from_be_bytes(data[..4].try_into().ok()?);
                return Some(per_metre as f32 * 0.0254);
            }
            b"IDAT" | b"IEND" => return None,
            _ => pos += 12 + len,
        }
    }
    None
}

fn jfif_dpi(bytes: &[u8]) -> Option<f32> {
    // SOI, then APP0 "JFIF\0", version (2), units (1), Xdensity (2), Ydensity (2).
    if bytes.get(..4)? != [0xFF, 0xD8, 0xFF, 0xE0] || bytes.get(6..11)? != b"JFIF\0" {
        return None;
    }
    let units = *bytes.get(13)?;
    let x = f32::from(u16::from_be_bytes([*bytes.get(14)?, *bytes.get(15)?]));
    match units {
        1 => Some(x),
        2 => Some(x * 2.54),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resolution_is_written_into_png_and_jpeg_files_that_state_none() {
        let gray = image::GrayImage::from_pixel(40, 30, image::Luma([200u8]));
        let mut png = Vec::new();
        gray.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let stamped = with_dpi(png, 200);
        assert_eq!(stated_dpi(&stamped).map(f32::round), Some(200.0));
        assert!(
            image::load_from_memory(&stamped).is_ok(),
            "still a valid PNG (CRC)"
        );
        let mut jpeg = Vec::new();
        gray.write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
        let stamped = with_dpi(jpeg, 150);
        assert_eq!(stated_dpi(&stamped), Some(150.0));
        assert!(image::load_from_memory(&stamped).is_ok());
        // A stated resolution is kept.
        assert_eq!(stated_dpi(&with_dpi(stamped, 600)), Some(150.0));
    }

    #[test]
    fn implausible_density_falls_back_to_a4() {
        assert_eq!(effective_dpi(Some(300.0), 2480, 3508), 300.0);
        assert_eq!(effective_dpi(Some(72.0), 3000, 4000), 342.0);
        assert_eq!(effective_dpi(None, 1240, 1754), 150.0);
    }

    #[test]
    fn jfif_density_is_read() {
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
        jpeg.extend_from_slice(b"JFIF\0\x01\x01\x01\x01\x2C\x01\x2C");
        assert_eq!(stated_dpi(&jpeg), Some(300.0));
    }
}
