//! The system C libraries sohoa needs for some commands only, loaded on first use.
//!
//! Linking libtesseract and libheif at build time made every process load them and the
//! ~60 shared libraries behind them before `main`: about 10 ms of a 14 ms `sohoa verify`.
//! Here each library is opened with `dlopen` the first time an engine or decoder is made,
//! kept for the life of the process (C++ libraries must not be unloaded), and wrapped in a
//! small safe API. No crate loads these two libraries lazily, so the few C functions sohoa
//! calls are declared by hand from the Debian 12 headers (tesseract/capi.h 5.3,
//! libheif/heif.h 1.15). This crate holds all of sohoa's `unsafe`; the main crate forbids it.

#![deny(missing_docs, unsafe_op_in_unsafe_fn)]

pub mod heif;
pub mod tesseract;

use std::sync::OnceLock;

use libloading::Library;

/// A system library that could not be loaded or lacks a function sohoa calls.
#[derive(Debug, Clone)]
pub struct LoadError(String);

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LoadError {}

/// Why a system library could not do what was asked.
#[derive(Debug, Clone)]
pub enum Error {
    /// The library is not installed or lacks a function.
    Load(LoadError),
    /// The library refused the call or its input; the text says which.
    Failed(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Load(e) => e.fmt(f),
            Error::Failed(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for Error {}

impl From<LoadError> for Error {
    fn from(e: LoadError) -> Self {
        Error::Load(e)
    }
}

/// Opens the first of `names` that loads, once per process; later calls return the same
/// library or the same error. `package` names the Debian package to install.
fn open_once(
    cell: &'static OnceLock<Result<Library, LoadError>>,
    names: &[&str],
    package: &str,
) -> Result<&'static Library, LoadError> {
    cell.get_or_init(|| {
        let mut last = String::new();
        for name in names {
            // SAFETY: these are the distribution's own libraries; their initialisers are
            // the ones every program linking them runs.
            match unsafe { Library::new(name) } {
                Ok(library) => return Ok(library),
                Err(e) => last = e.to_string(),
            }
        }
        Err(LoadError(format!(
            "cannot load {} (Debian: apt-get install {package}): {last}",
            names[0]
        )))
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// Looks up `name` (NUL-terminated) in `library` as a function pointer of type `T`.
///
/// # Safety
/// `T` must be the C signature of `name` as the library's header declares it.
unsafe fn function<T: Copy>(library: &Library, name: &[u8]) -> Result<T, LoadError> {
    // SAFETY: the caller states `T` matches the symbol's type.
    unsafe { library.get::<T>(name) }
        .map(|symbol| *symbol)
        .map_err(|e| {
            let shown = String::from_utf8_lossy(name.strip_suffix(b"\0").unwrap_or(name));
            LoadError(format!("{shown}: {e}"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_library_names_the_package_to_install_every_time() {
        static MISSING: OnceLock<Result<Library, LoadError>> = OnceLock::new();
        let names = ["libsohoa-no-such-library.so.9"];
        let first = open_once(&MISSING, &names, "libsohoa9")
            .unwrap_err()
            .to_string();
        assert!(
            first.starts_with(
                "cannot load libsohoa-no-such-library.so.9 (Debian: apt-get install libsohoa9)"
            ),
            "{first}"
        );
        let again = open_once(&MISSING, &names, "libsohoa9")
            .unwrap_err()
            .to_string();
        assert_eq!(first, again);
    }

    #[test]
    fn tesseract_reads_a_blank_page_and_refuses_a_wrong_buffer() {
        let datapath = std::ffi::CString::new("/usr/share/tesseract-ocr/5/tessdata").unwrap();
        let language = std::ffi::CString::new("vie").unwrap();
        let Ok(mut api) = tesseract::BaseApi::new(&datapath, &language) else {
            assert!(
                std::env::var_os("CI").is_none(),
                "Tesseract with `vie` is missing"
            );
            return;
        };
        let white = vec![255u8; 200 * 100];
        let tsv = api.read_tsv(&white, 200, 100, 300).unwrap();
        assert!(tsv.lines().all(|row| !row.starts_with("5\t")), "{tsv}");
        assert!(api.read_tsv(&white, 201, 100, 300).is_err());
        let unknown = std::ffi::CString::new("no_such_variable").unwrap();
        assert!(api.set_variable(&unknown, &unknown).is_err());
    }

    #[test]
    fn heif_refuses_bytes_that_are_not_heif() {
        match heif::Context::read(b"not a heif file at all") {
            Err(Error::Failed(message)) => assert!(!message.is_empty()),
            Err(Error::Load(e)) => assert!(std::env::var_os("CI").is_none(), "{e}"),
            Ok(_) => panic!("garbage parsed as HEIF"),
        }
    }
}
