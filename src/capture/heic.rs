//! HEIC/HEIF input (iPhone photos) through the system's libheif, loaded on first use.
//!
//! libheif applies the file's rotation and mirroring (`irot`/`imir`) while decoding, so
//! the frame comes out upright.

use image::RgbImage;
use sohoa_ffi::heif::Context;
use sohoa_ffi::Error;

use super::{check_size, CaptureError, DecodeLimits, Frame, Raster};

/// Decodes the primary image of a HEIF file, checking its size before decoding.
pub fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<Frame, CaptureError> {
    let failed = |e: Error| match e {
        Error::Load(e) => CaptureError::UnsupportedFormat(format!("HEIC: {e}")),
        Error::Failed(e) => CaptureError::Corrupt(format!("HEIC: {e}")),
    };
    let context = Context::read(bytes).map_err(failed)?;
    let handle = context.primary_image().map_err(failed)?;
    let (width, height) = handle.size();
    check_size(width, height, limits)?;
    let decoded = handle.decode_rgb().map_err(failed)?;
    let rgb = RgbImage::from_raw(decoded.width, decoded.height, decoded.pixels)
        .ok_or_else(|| CaptureError::Corrupt("HEIC: plane shorter than its stated size".into()))?;
    Ok(Frame {
        raster: Raster::Rgb(rgb),
        stated_dpi: None,
        lossy: true,
        original: None,
    })
}
