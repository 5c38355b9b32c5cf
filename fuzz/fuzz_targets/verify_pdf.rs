#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sohoa_fuzz::targets::verify_pdf(data));
