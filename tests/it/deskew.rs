//! Deskew on generated pages: known angles across ±15° are found within 0.1°, and a
//! straight page is not resampled.

use crate::common;

use sohoa::capture::{capture, deskew, CaptureMode, Frame, Raster};

#[test]
fn known_angles_across_fifteen_degrees_are_recovered_within_a_tenth() {
    let (page, _) = common::render(5, 24, 0.0);
    let angles = [
        -15.0, -12.4, -9.7, -6.05, -3.3, -1.2, -0.4, 0.3, 0.75, 2.2, 4.9, 7.45, 10.0, 13.1, 15.0,
    ];
    let mut worst = 0.0f32;
    for angle in angles {
        let skewed = sohoa_fixtures::rotate(&page, angle);
        let found = deskew::estimate_skew(&skewed);
        let error = (found - angle).abs();
        assert!(
            error < 0.1,
            "skew {angle}°: found {found}° (error {error}°)"
        );
        worst = worst.max(error);
    }
    eprintln!(
        "worst deskew error over {} angles: {worst:.4}°",
        angles.len()
    );
}

#[test]
fn a_straight_page_is_left_untouched() {
    let (page, _) = common::render(6, 20, 0.0);
    let frame = Frame {
        raster: Raster::Gray(page.clone()),
        stated_dpi: Some(300.0),
        lossy: false,
        original: None,
    };
    let captured = capture(frame, CaptureMode::Auto, None);
    assert!(captured.geometry.skew_degrees.abs() < deskew::MIN_CORRECTION_DEGREES);
    match captured.raster {
        Raster::Gray(out) => assert!(out == page, "an unskewed page was resampled"),
        other => panic!("gray page became {other:?}"),
    }
}

#[test]
fn corrected_page_has_no_residual_skew() {
    let (page, _) = common::render(8, 20, 0.0);
    let frame = Frame {
        raster: Raster::Gray(sohoa_fixtures::rotate(&page, -6.0)),
        stated_dpi: None,
        lossy: false,
        original: None,
    };
    let captured = capture(frame, CaptureMode::Auto, None);
    assert!((captured.geometry.skew_degrees + 6.0).abs() < 0.1);
    let residual = deskew::estimate_skew(&captured.raster.to_gray());
    assert!(
        residual.abs() < 0.1,
        "residual skew {residual}° after correction"
    );
}
