//! Tesseract's C API (tesseract/capi.h), the few calls a page reader needs.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr::NonNull;
use std::sync::OnceLock;

use libloading::Library;

use super::{function, open_once, Error, LoadError};

/// How Tesseract splits a page into lines before reading them (`TessPageSegMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageSegMode {
    /// Full layout analysis: columns, blocks and table cells (`PSM_AUTO`).
    Auto = 3,
    /// One uniform block of horizontal lines (`PSM_SINGLE_BLOCK`).
    SingleBlock = 6,
}

/// `TessOcrEngineMode::OEM_LSTM_ONLY`.
const OEM_LSTM_ONLY: c_int = 1;

type Handle = *mut c_void;

/// The functions sohoa calls, resolved once.
struct Functions {
    create: unsafe extern "C" fn() -> Handle,
    delete: unsafe extern "C" fn(Handle),
    init2: unsafe extern "C" fn(Handle, *const c_char, *const c_char, c_int) -> c_int,
    set_variable: unsafe extern "C" fn(Handle, *const c_char, *const c_char) -> c_int,
    set_page_seg_mode: unsafe extern "C" fn(Handle, c_int),
    set_image: unsafe extern "C" fn(Handle, *const u8, c_int, c_int, c_int, c_int),
    set_source_resolution: unsafe extern "C" fn(Handle, c_int),
    recognize: unsafe extern "C" fn(Handle, *mut c_void) -> c_int,
    get_tsv_text: unsafe extern "C" fn(Handle, c_int) -> *mut c_char,
    delete_text: unsafe extern "C" fn(*const c_char),
}

fn functions() -> Result<&'static Functions, LoadError> {
    static LIBRARY: OnceLock<Result<Library, LoadError>> = OnceLock::new();
    static FUNCTIONS: OnceLock<Result<Functions, LoadError>> = OnceLock::new();
    FUNCTIONS
        .get_or_init(|| {
            let library = open_once(
                &LIBRARY,
                &["libtesseract.so.5", "libtesseract.so"],
                "libtesseract5",
            )?;
            // SAFETY: each type below is the declaration in tesseract/capi.h (5.x), with
            // BOOL and the mode enums as `int`.
            unsafe {
                Ok(Functions {
                    create: function(library, b"TessBaseAPICreate\0")?,
                    delete: function(library, b"TessBaseAPIDelete\0")?,
                    init2: function(library, b"TessBaseAPIInit2\0")?,
                    set_variable: function(library, b"TessBaseAPISetVariable\0")?,
                    set_page_seg_mode: function(library, b"TessBaseAPISetPageSegMode\0")?,
                    set_image: function(library, b"TessBaseAPISetImage\0")?,
                    set_source_resolution: function(library, b"TessBaseAPISetSourceResolution\0")?,
                    recognize: function(library, b"TessBaseAPIRecognize\0")?,
                    get_tsv_text: function(library, b"TessBaseAPIGetTsvText\0")?,
                    delete_text: function(library, b"TessDeleteText\0")?,
                })
            }
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// One Tesseract engine (`TessBaseAPI`) with a model loaded, LSTM only.
pub struct BaseApi {
    handle: NonNull<c_void>,
    functions: &'static Functions,
}

// SAFETY: a TessBaseAPI may move between threads; it is only used through `&mut self`.
unsafe impl Send for BaseApi {}

impl BaseApi {
    /// Loads libtesseract if needed and starts an engine on `language` from `datapath`.
    pub fn new(datapath: &CStr, language: &CStr) -> Result<Self, Error> {
        let functions = functions()?;
        // SAFETY: TessBaseAPICreate takes nothing and returns an owned handle or NULL.
        let handle = NonNull::new(unsafe { (functions.create)() })
            .ok_or_else(|| Error::Failed("TessBaseAPICreate returned nothing".into()))?;
        let api = BaseApi { handle, functions };
        // SAFETY: valid handle and NUL-terminated strings that outlive the call.
        let status = unsafe {
            (functions.init2)(
                api.handle.as_ptr(),
                datapath.as_ptr(),
                language.as_ptr(),
                OEM_LSTM_ONLY,
            )
        };
        if status != 0 {
            return Err(Error::Failed(format!(
                "could not load the model {language:?} from {datapath:?}"
            )));
        }
        Ok(api)
    }

    /// Sets one of Tesseract's variables, e.g. `debug_file`.
    pub fn set_variable(&mut self, name: &CStr, value: &CStr) -> Result<(), Error> {
        // SAFETY: valid handle and NUL-terminated strings; Tesseract copies the value.
        let accepted = unsafe {
            (self.functions.set_variable)(self.handle.as_ptr(), name.as_ptr(), value.as_ptr())
        };
        if accepted == 0 {
            return Err(Error::Failed(format!("unknown variable {name:?}")));
        }
        Ok(())
    }

    /// Chooses how the next pages are split into lines.
    pub fn set_page_seg_mode(&mut self, mode: PageSegMode) {
        // SAFETY: valid handle and a value of TessPageSegMode.
        unsafe { (self.functions.set_page_seg_mode)(self.handle.as_ptr(), mode as c_int) }
    }

    /// Reads an 8-bit gray image (`width` × `height`, rows packed) scanned at `ppi`, and
    /// returns Tesseract's TSV: one row per page, block, paragraph, line and word.
    pub fn read_tsv(
        &mut self,
        gray: &[u8],
        width: u32,
        height: u32,
        ppi: u32,
    ) -> Result<String, Error> {
        let too_large = |v: u32| Error::Failed(format!("dimension {v} too large"));
        let w = c_int::try_from(width).map_err(|_| too_large(width))?;
        let h = c_int::try_from(height).map_err(|_| too_large(height))?;
        let ppi = c_int::try_from(ppi).map_err(|_| too_large(ppi))?;
        if gray.len() != width as usize * height as usize {
            return Err(Error::Failed(format!(
                "{} bytes for a {width}×{height} gray image",
                gray.len()
            )));
        }
        let api = self.handle.as_ptr();
        // SAFETY: `gray` holds w*h bytes and stays borrowed until recognition and the TSV
        // are done, which is all Tesseract reads it for; the TSV string is Tesseract's to
        // free, and is copied before TessDeleteText.
        unsafe {
            (self.functions.set_image)(api, gray.as_ptr(), w, h, 1, w);
            (self.functions.set_source_resolution)(api, ppi);
            if (self.functions.recognize)(api, std::ptr::null_mut()) != 0 {
                return Err(Error::Failed("recognition failed".into()));
            }
            let tsv = (self.functions.get_tsv_text)(api, 0);
            if tsv.is_null() {
                return Err(Error::Failed("no TSV output".into()));
            }
            let text = CStr::from_ptr(tsv).to_string_lossy().into_owned();
            (self.functions.delete_text)(tsv);
            Ok(text)
        }
    }
}

impl Drop for BaseApi {
    fn drop(&mut self) {
        // SAFETY: the handle came from TessBaseAPICreate and is deleted once.
        unsafe { (self.functions.delete)(self.handle.as_ptr()) }
    }
}
