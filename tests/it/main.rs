//! The integration tests, one binary (linked once): each module runs the real `sohoa`
//! binary (or the library) against real Tesseract, real signatures, a real store and real
//! HTTP, and checks the output with independent tools (poppler, qpdf, pyHanko).
//!
//! Run one part with a filter: `cargo test --release --test it server::`.

mod common;

mod bad_input;
mod batch;
mod capture;
mod certify;
mod deskew;
mod digitize;
mod formats;
mod fuzz_smoke;
mod others;
mod real_pages;
mod reuse;
mod server;
mod store;
mod web;
