//! Criterion benchmarks of the CPU stages around OCR, on a generated A4 300-dpi page:
//! skew detection, rotation back, page image encoding and PDF assembly.
//! Run with `cargo bench --bench stages`.

use criterion::{criterion_group, criterion_main, Criterion};
use sohoa::capture::{capture, deskew, CaptureMode, Frame, Raster};
use sohoa::ocr::{BBox, Line, RecognizedPage, Word};
use sohoa::pdf::{assemble, encode, DocumentInfo, PdfPage, Quality};

fn skewed_page() -> image::GrayImage {
    let page =
        sohoa_fixtures::render_page(7, 30).expect("DejaVu Serif (fonts-dejavu-core) is installed");
    sohoa_fixtures::rotate(&page.image, 4.0)
}

/// A text layer the size of a dense page: 30 lines of 12 words.
fn dense_text() -> RecognizedPage {
    let lines = (0..30)
        .map(|l| Line {
            paragraph: (1, l / 10),
            words: (0..12)
                .map(|w| Word {
                    text: "nghiệp".into(),
                    bbox: BBox {
                        left: 300 + w * 150,
                        top: 300 + l * 75,
                        width: 130,
                        height: 50,
                    },
                    confidence: 95.0,
                })
                .collect(),
        })
        .collect();
    RecognizedPage { lines }
}

fn stages(c: &mut Criterion) {
    let gray = skewed_page();
    let raster = Raster::Gray(gray.clone());
    // A deskewed page: what the encoder sees when the source cannot be passed through.
    let frame = Frame {
        raster: raster.clone(),
        stated_dpi: Some(300.0),
        lossy: false,
        original: None,
    };
    let rotated = capture(frame, CaptureMode::Scan, None);
    let mut group = c.benchmark_group("a4_300dpi");
    group.sample_size(10);
    group.bench_function("deskew_estimate", |b| {
        b.iter(|| deskew::estimate_skew(&gray))
    });
    group.bench_function("deskew_rotate_gray", |b| {
        b.iter(|| deskew::rotate(&raster, 4.0))
    });
    group.bench_function("encode_gray_flate", |b| {
        b.iter(|| encode(&rotated, Quality::Archive).unwrap())
    });
    let page = PdfPage {
        image: encode(&rotated, Quality::Archive).unwrap(),
        dpi: 300.0,
        text: dense_text(),
    };
    let info = DocumentInfo::now();
    group.bench_function("assemble_1_page", |b| {
        b.iter(|| assemble(std::slice::from_ref(&page), &info).unwrap())
    });
    group.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
