//! Criterion benchmarks of certification (PAdES B-B signing) and verification on a
//! one-page digitized document, with the raw RSA-2048 signing rate as the reference.
//! Run with `cargo bench --bench certify`; `benches/compare-certify.sh` runs it next to
//! pyHanko and pdfsig.
//!
//! The test PKI, the input PDF and one certified copy are left in `target/bench-certify/`
//! (`input.pdf`, `certified.pdf`, `root.pem`, `office-rsa.pem`, `office-rsa.key.pem`, …) so
//! that the comparison script signs and verifies the very same files with the same key.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, BatchSize, Criterion};
use sohoa::certify::copy::{certify_copy, CertifyRequest};
use sohoa::certify::key::{RsaPadding, SigningKey};
use sohoa::certify::pades::{self, Placement, SignatureInfo};
use sohoa::certify::pem::{load_pem, PemKey};
use sohoa::certify::placement::KnownInk;
use sohoa::certify::stamp::{self, StampText, STATEMENT};
use sohoa::certify::verify::{verify_pdf, VerifyOptions};
use sohoa::certify::{certificate, cms};
use sohoa::digitize::{digitize, DigitizeOptions, Source};
use sohoa_fixtures::pki;
use time::OffsetDateTime;

/// Where the PKI and the PDFs are written.
fn bench_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-certify")
}

/// The one-page input: the bundled straight sample page, digitized (OCR text layer
/// included), with the ink of its page image as digitize knows it.
fn input_pdf(dir: &Path) -> (Vec<u8>, Arc<KnownInk>) {
    let png = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/samples/page1.png");
    let source = Source::new(
        png.display().to_string(),
        std::fs::read(&png).expect("fixtures/samples/page1.png"),
    );
    let options = DigitizeOptions {
        jobs: 1,
        ..DigitizeOptions::default()
    };
    let digitized = digitize(&[source], &options)
        .expect("digitize page1.png (Tesseract with the vie model is installed)");
    std::fs::write(dir.join("input.pdf"), &digitized.pdf).unwrap();
    (digitized.pdf, digitized.ink)
}

fn key(identity: &pki::Identity, root: &Path, padding: RsaPadding) -> PemKey {
    load_pem(
        &std::fs::read(&identity.cert_pem).unwrap(),
        &std::fs::read(&identity.key_pem).unwrap(),
        Some(&std::fs::read(root).unwrap()),
        padding,
    )
    .expect("load the office key")
}

fn request() -> CertifyRequest {
    CertifyRequest {
        certifier: "Nguyễn Văn An".into(),
        agency: "UBND xã Thử Nghiệm".into(),
        book: "01".into(),
        time: OffsetDateTime::now_utc(),
        placement: Placement::default(),
        details: Default::default(),
        long_term: None,
        verify_url: None,
    }
}

fn certify(c: &mut Criterion) {
    let dir = bench_dir();
    let pki = pki::Pki::create(&dir);
    let (input, ink) = input_pdf(&dir);
    let rsa = key(&pki.office_rsa, &pki.root_pem, RsaPadding::Pss);
    let ec = key(&pki.office_ec, &pki.root_pem, RsaPadding::Pss);
    let request = request();

    let certified = certify_copy(&input, &request, 1, &rsa).expect("certify");
    std::fs::write(dir.join("certified.pdf"), &certified.pdf).unwrap();
    let options = VerifyOptions {
        trust_anchors: vec![std::fs::read(&pki.root_der).unwrap()],
        at: None,
    };
    assert!(
        verify_pdf(&certified.pdf, &options).valid,
        "the copy verifies"
    );

    let mut group = c.benchmark_group("certify");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    group.bench_function("certify_copy_rsa2048_pss", |b| {
        b.iter(|| certify_copy(&input, &request, 1, &rsa).unwrap())
    });
    group.bench_function("certify_copy_ecdsa_p256", |b| {
        b.iter(|| certify_copy(&input, &request, 1, &ec).unwrap())
    });
    // As `sohoa batch` certifies: right after digitizing, the page image's ink known.
    let mut known = request.clone();
    known.placement.known_ink = Some(ink);
    let with_ink = certify_copy(&input, &known, 1, &rsa).unwrap();
    assert_eq!(with_ink.stamp, certified.stamp, "the same place either way");
    group.bench_function("certify_copy_rsa2048_pss_ink_known", |b| {
        b.iter(|| certify_copy(&input, &known, 1, &rsa).unwrap())
    });
    // The same on both cores: time per copy with two threads certifying.
    group.bench_function("certify_copy_rsa2048_pss_ink_known_2_threads", |b| {
        b.iter_custom(|iters| {
            let start = std::time::Instant::now();
            std::thread::scope(|scope| {
                for share in [iters / 2, iters - iters / 2] {
                    let (input, known, rsa) = (&input, &known, &rsa);
                    scope.spawn(move || {
                        for _ in 0..share {
                            certify_copy(input, known, 1, rsa).unwrap();
                        }
                    });
                }
            });
            start.elapsed()
        })
    });
    group.bench_function("certify_copy_rsa2048_pss_2_threads", |b| {
        b.iter_custom(|iters| {
            let start = std::time::Instant::now();
            std::thread::scope(|scope| {
                for share in [iters / 2, iters - iters / 2] {
                    let (input, request, rsa) = (&input, &request, &rsa);
                    scope.spawn(move || {
                        for _ in 0..share {
                            certify_copy(input, request, 1, rsa).unwrap();
                        }
                    });
                }
            });
            start.elapsed()
        })
    });
    group.bench_function("verify_pdf", |b| {
        b.iter(|| verify_pdf(&certified.pdf, &options))
    });
    group.bench_function("raw_ring_rsa2048_pss_sign", |b| {
        b.iter(|| rsa.sign(&[0x5a; 32]).unwrap())
    });
    group.finish();

    phases(c, &input, &request, &rsa);
}

/// The steps of `certify_copy` one by one, as it does them (RSA-2048 PSS).
fn phases(c: &mut Criterion, input: &[u8], request: &CertifyRequest, key: &PemKey) {
    let text = StampText {
        number: 1,
        book: "01/2026".into(),
        date: "26/11/2026".into(),
        certifier: request.certifier.clone(),
        agency: request.agency.clone(),
        signer: "Nguyễn Văn An".into(),
        reference: "SOHOA1:2026-01-1:0123456789abcdef".into(),
        qr: "SOHOA1:2026-01-1:0123456789abcdef".into(),
    };
    let info = SignatureInfo {
        time: request.time,
        name: text.signer.clone(),
        reason: STATEMENT.to_string(),
        location: request.agency.clone(),
        field_name: "ChungThuc-2026-01-1".into(),
        docmdp: Some(2),
    };
    let draw = |doc: &mut lopdf::Document| {
        stamp::stamp_appearance(doc, &text).map_err(|e| pades::PadesError::Malformed(e.to_string()))
    };
    let prepared = pades::prepare(input, &request.placement, &info, draw).unwrap();
    let scheme = key.scheme();
    let digest = cms::digest_for(scheme).digest(&prepared.signed_parts());
    let der = cms::sign_detached(key, &digest).unwrap();

    let mut group = c.benchmark_group("certify_phases");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    group.bench_function("check_signing_cert", |b| {
        b.iter(|| certificate::check_signing(key.certificate(), request.time).unwrap())
    });
    // `certify_copy` hashes the input and the output with the sha2 crate, and the byte
    // range (input + appended update) with ring.
    group.bench_function("sha256_input_sha2", |b| {
        b.iter(|| <sha2::Sha256 as sha2::Digest>::digest(input))
    });
    group.bench_function("lopdf_load_input", |b| {
        b.iter(|| lopdf::Document::load_mem(input).unwrap())
    });
    group.bench_function("stamp_appearance", |b| {
        b.iter(|| {
            let mut doc = lopdf::Document::with_version("1.7");
            stamp::stamp_appearance(&mut doc, &text).unwrap()
        })
    });
    group.bench_function("prepare_with_stamp", |b| {
        b.iter(|| pades::prepare(input, &request.placement, &info, draw).unwrap())
    });
    group.bench_function("digest_byte_range", |b| {
        b.iter(|| cms::digest_for(scheme).digest(&prepared.signed_parts()))
    });
    group.bench_function("cms_sign_detached", |b| {
        b.iter(|| cms::sign_detached(key, &digest).unwrap())
    });
    let output = prepared.clone().embed(&der).unwrap();
    group.bench_function("sha256_output_sha2", |b| {
        b.iter(|| <sha2::Sha256 as sha2::Digest>::digest(&output))
    });
    group.bench_function("embed", |b| {
        b.iter_batched(
            || prepared.clone(),
            |p| p.embed(&der).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, certify);

/// Tesseract (used once, to digitize the input) starts libgomp, whose spinning threads
/// slow the setup several-fold on two cores and linger during the measurements. libgomp
/// reads `OMP_THREAD_LIMIT` when libtesseract is first loaded, so set it first, as
/// `sohoa` does.
fn limit_openmp_threads() {
    if std::env::var_os("OMP_THREAD_LIMIT").is_none() {
        std::env::set_var("OMP_THREAD_LIMIT", "1");
    }
}

fn main() {
    limit_openmp_threads();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
