//! sohoa: scans and phone photos of Vietnamese documents to searchable, certifiable PDF/A.
//!
//! The pipeline is one module per stage, each a transformation between typed artifacts;
//! files and networks stay at the edges (the binary):
//!
//! ```text
//! bytes ─ capture ─▶ Page ─ ocr ─▶ RecognizedPage ─ pdf ─▶ PDF/A-2b bytes
//! ```
//!
//! [`digitize::digitize`] runs the whole chain on a set of inputs, pages in parallel:
//!
//! ```no_run
//! use sohoa::digitize::{digitize, DigitizeOptions, Source};
//!
//! let bytes = std::fs::read("fixtures/samples/page1.png").unwrap();
//! let sources = [Source::new("page1.png", bytes)];
//! let result = digitize(&sources, &DigitizeOptions::default()).unwrap();
//! std::fs::write("page1.pdf", &result.pdf).unwrap();
//! println!("{}", result.text());
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod batch;
pub mod calendar;
pub mod capture;
pub mod certify;
pub mod digitize;
pub mod ocr;
pub mod pdf;
pub mod private_files;
pub mod server;
pub mod store;
pub mod values;
pub mod web;
