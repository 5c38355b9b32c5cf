#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sohoa_fuzz::targets::http_capture(data));
