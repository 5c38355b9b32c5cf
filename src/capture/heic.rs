//! HEIC/HEIF input (iPhone photos) through the system's libheif.
//!
//! `libheif-rs` is pinned to 0.15 (with `libheif-sys` 1.14) because later releases need
//! libheif ≥ 1.16 and Debian 12 ships 1.15. libheif applies the file's rotation and
//! mirroring (`irot`/`imir`) while decoding, so the frame comes out upright.

use image::RgbImage;
use libheif_rs::{Channel, ColorSpace, HeifContext, RgbChroma};

use super::{check_size, CaptureError, DecodeLimits, Frame, Raster};

/// Decodes the primary image of a HEIF file, checking its size before decoding.
pub fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<Frame, CaptureError> {
    let corrupt = |e: libheif_rs::HeifError| CaptureError::Corrupt(format!("HEIC: {e}"));
    let context = HeifContext::read_from_bytes(bytes).map_err(corrupt)?;
    let handle = context.primary_image_handle().map_err(corrupt)?;
    check_size(handle.width(), handle.height(), limits)?;
    let image = handle
        .decode(ColorSpace::Rgb(RgbChroma::Rgb), false)
        .map_err(corrupt)?;
    let (width, height) = (
        image.width(Channel::Interleaved).map_err(corrupt)?,
        image.height(Channel::Interleaved).map_err(corrupt)?,
    );
    let plane = image
        .planes()
        .interleaved
        .ok_or_else(|| CaptureError::Corrupt("HEIC: no interleaved RGB plane".into()))?;
    let row_bytes = width as usize * 3;
    let mut pixels = Vec::with_capacity(row_bytes * height as usize);
    for row in plane.data.chunks(plane.stride).take(height as usize) {
        pixels.extend_from_slice(row.get(..row_bytes).ok_or_else(|| {
            CaptureError::Corrupt("HEIC: plane shorter than its stated width".into())
        })?);
    }
    let rgb = RgbImage::from_raw(width, height, pixels).ok_or_else(|| {
        CaptureError::Corrupt("HEIC: plane shorter than its stated height".into())
    })?;
    Ok(Frame {
        raster: Raster::Rgb(rgb),
        stated_dpi: None,
        lossy: true,
        original: None,
    })
}
