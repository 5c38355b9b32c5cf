//! libheif's C API (libheif/heif.h), enough to decode a photo's primary image as RGB.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};
use std::sync::OnceLock;

use libloading::Library;

use super::{function, open_once, Error, LoadError};

/// `struct heif_error`, returned by value.
#[repr(C)]
#[derive(Clone, Copy)]
struct RawError {
    code: c_int,
    subcode: c_int,
    message: *const c_char,
}

impl RawError {
    /// `Ok` for `heif_error_Ok`, else libheif's message (always set, static storage).
    fn check(self) -> Result<(), Error> {
        if self.code == 0 {
            return Ok(());
        }
        let message = if self.message.is_null() {
            format!("error {}.{}", self.code, self.subcode)
        } else {
            // SAFETY: libheif documents the message as always defined and NUL-terminated.
            unsafe { CStr::from_ptr(self.message) }
                .to_string_lossy()
                .into_owned()
        };
        Err(Error::Failed(message))
    }
}

/// `heif_colorspace_RGB`, `heif_chroma_interleaved_RGB`, `heif_channel_interleaved`.
const COLORSPACE_RGB: c_int = 1;
const CHROMA_INTERLEAVED_RGB: c_int = 10;
const CHANNEL_INTERLEAVED: c_int = 10;

type Ptr = *mut c_void;

/// The functions sohoa calls, resolved once.
struct Functions {
    context_alloc: unsafe extern "C" fn() -> Ptr,
    context_free: unsafe extern "C" fn(Ptr),
    read_from_memory: unsafe extern "C" fn(Ptr, *const c_void, usize, *const c_void) -> RawError,
    primary_image_handle: unsafe extern "C" fn(Ptr, *mut Ptr) -> RawError,
    handle_release: unsafe extern "C" fn(Ptr),
    handle_width: unsafe extern "C" fn(Ptr) -> c_int,
    handle_height: unsafe extern "C" fn(Ptr) -> c_int,
    decode_image: unsafe extern "C" fn(Ptr, *mut Ptr, c_int, c_int, *const c_void) -> RawError,
    image_release: unsafe extern "C" fn(Ptr),
    image_width: unsafe extern "C" fn(Ptr, c_int) -> c_int,
    image_height: unsafe extern "C" fn(Ptr, c_int) -> c_int,
    plane_readonly: unsafe extern "C" fn(Ptr, c_int, *mut c_int) -> *const u8,
}

fn functions() -> Result<&'static Functions, LoadError> {
    static LIBRARY: OnceLock<Result<Library, LoadError>> = OnceLock::new();
    static FUNCTIONS: OnceLock<Result<Functions, LoadError>> = OnceLock::new();
    FUNCTIONS
        .get_or_init(|| {
            let library = open_once(&LIBRARY, &["libheif.so.1", "libheif.so"], "libheif1")?;
            // SAFETY: each type below is the declaration in libheif/heif.h (1.15): opaque
            // structs as pointers, enums as `int`, `struct heif_error` as `RawError`.
            unsafe {
                let init: unsafe extern "C" fn(*const c_void) -> RawError =
                    function(library, b"heif_init\0")?;
                // Registers the built-in decoders (and plugins, where libheif has them).
                init(ptr::null())
                    .check()
                    .map_err(|e| LoadError(e.to_string()))?;
                Ok(Functions {
                    context_alloc: function(library, b"heif_context_alloc\0")?,
                    context_free: function(library, b"heif_context_free\0")?,
                    read_from_memory: function(
                        library,
                        b"heif_context_read_from_memory_without_copy\0",
                    )?,
                    primary_image_handle: function(
                        library,
                        b"heif_context_get_primary_image_handle\0",
                    )?,
                    handle_release: function(library, b"heif_image_handle_release\0")?,
                    handle_width: function(library, b"heif_image_handle_get_width\0")?,
                    handle_height: function(library, b"heif_image_handle_get_height\0")?,
                    decode_image: function(library, b"heif_decode_image\0")?,
                    image_release: function(library, b"heif_image_release\0")?,
                    image_width: function(library, b"heif_image_get_width\0")?,
                    image_height: function(library, b"heif_image_get_height\0")?,
                    plane_readonly: function(library, b"heif_image_get_plane_readonly\0")?,
                })
            }
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// A parsed HEIF file (`heif_context`) that borrows its bytes.
pub struct Context<'a> {
    context: NonNull<c_void>,
    functions: &'static Functions,
    bytes: PhantomData<&'a [u8]>,
}

impl<'a> Context<'a> {
    /// Loads libheif if needed and parses the file's boxes (no image is decoded yet).
    pub fn read(bytes: &'a [u8]) -> Result<Self, Error> {
        let functions = functions()?;
        // SAFETY: heif_context_alloc takes nothing and returns an owned context or NULL.
        let context = NonNull::new(unsafe { (functions.context_alloc)() })
            .ok_or_else(|| Error::Failed("cannot allocate a context".into()))?;
        let parsed = Context {
            context,
            functions,
            bytes: PhantomData,
        };
        // SAFETY: the bytes outlive the context (`'a`), as "without_copy" requires.
        unsafe {
            (functions.read_from_memory)(
                context.as_ptr(),
                bytes.as_ptr().cast(),
                bytes.len(),
                ptr::null(),
            )
        }
        .check()?;
        Ok(parsed)
    }

    /// The image the file says to show.
    pub fn primary_image(&self) -> Result<ImageHandle<'_>, Error> {
        let mut handle = ptr::null_mut();
        // SAFETY: valid context; libheif writes an owned handle on success.
        unsafe { (self.functions.primary_image_handle)(self.context.as_ptr(), &mut handle) }
            .check()?;
        let handle = NonNull::new(handle)
            .ok_or_else(|| Error::Failed("the file has no primary image".into()))?;
        Ok(ImageHandle {
            handle,
            functions: self.functions,
            context: PhantomData,
        })
    }
}

impl Drop for Context<'_> {
    fn drop(&mut self) {
        // SAFETY: allocated by heif_context_alloc, freed once; handles borrow `self`.
        unsafe { (self.functions.context_free)(self.context.as_ptr()) }
    }
}

/// One image of a file, not yet decoded (`heif_image_handle`).
pub struct ImageHandle<'c> {
    handle: NonNull<c_void>,
    functions: &'static Functions,
    context: PhantomData<&'c ()>,
}

/// Decoded 8-bit RGB pixels, rows packed (`width * 3` bytes each).
pub struct Rgb {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 3` bytes.
    pub pixels: Vec<u8>,
}

impl ImageHandle<'_> {
    /// Width and height as the file states them, after rotation: check before decoding.
    pub fn size(&self) -> (u32, u32) {
        // SAFETY: valid handle.
        let (w, h) = unsafe {
            (
                (self.functions.handle_width)(self.handle.as_ptr()),
                (self.functions.handle_height)(self.handle.as_ptr()),
            )
        };
        (w.max(0) as u32, h.max(0) as u32)
    }

    /// Decodes to interleaved RGB, with the file's rotation and mirroring applied.
    pub fn decode_rgb(&self) -> Result<Rgb, Error> {
        let mut image = ptr::null_mut();
        // SAFETY: valid handle; NULL options are libheif's defaults; an owned image is
        // written on success.
        unsafe {
            (self.functions.decode_image)(
                self.handle.as_ptr(),
                &mut image,
                COLORSPACE_RGB,
                CHROMA_INTERLEAVED_RGB,
                ptr::null(),
            )
        }
        .check()?;
        let image = NonNull::new(image)
            .ok_or_else(|| Error::Failed("the decoder returned no image".into()))?;
        let copied = self.copy_plane(image);
        // SAFETY: the image came from heif_decode_image and is released once, after its
        // plane was copied.
        unsafe { (self.functions.image_release)(image.as_ptr()) };
        copied
    }

    fn copy_plane(&self, image: NonNull<c_void>) -> Result<Rgb, Error> {
        let mut stride: c_int = 0;
        // SAFETY: valid image; the plane pointer stays valid until the image is released,
        // which happens after this function returns.
        let (width, height, plane) = unsafe {
            (
                (self.functions.image_width)(image.as_ptr(), CHANNEL_INTERLEAVED),
                (self.functions.image_height)(image.as_ptr(), CHANNEL_INTERLEAVED),
                (self.functions.plane_readonly)(image.as_ptr(), CHANNEL_INTERLEAVED, &mut stride),
            )
        };
        let (Ok(width), Ok(height), Ok(stride)) = (
            u32::try_from(width),
            u32::try_from(height),
            usize::try_from(stride),
        ) else {
            return Err(Error::Failed("no interleaved RGB plane".into()));
        };
        let row_bytes = width as usize * 3;
        if plane.is_null() || stride < row_bytes {
            return Err(Error::Failed("no interleaved RGB plane".into()));
        }
        let mut pixels = Vec::with_capacity(row_bytes * height as usize);
        for row in 0..height as usize {
            // SAFETY: libheif's plane holds `height` rows of `stride` bytes each, and
            // `row_bytes <= stride`.
            let bytes = unsafe { std::slice::from_raw_parts(plane.add(row * stride), row_bytes) };
            pixels.extend_from_slice(bytes);
        }
        Ok(Rgb {
            width,
            height,
            pixels,
        })
    }
}

impl Drop for ImageHandle<'_> {
    fn drop(&mut self) {
        // SAFETY: obtained from the context and released once.
        unsafe { (self.functions.handle_release)(self.handle.as_ptr()) }
    }
}
