//! Capture quality harness: sohoa against raw Tesseract and OCRmyPDF on generated pages
//! with ground truth (text, skew, page corners, orientation).
//!
//! ```text
//! cargo run --release --example quality -- [--pages N] [--no-peers] [--keep DIR]
//! ```
//!
//! Four sets of N pages each (default 4), all rendered from the same seeds so their
//! character error rates compare: `clean` (flat 300-dpi scans), `skewed` (rotated by
//! 2–12° either way), `phone` (12 MP phone photos: perspective, uneven light, shadow,
//! blur, noise, JPEG, a red seal on every other page; every fourth page lies upside down on the desk) and
//! `rotated` (scans turned 90, 180 or 270°). Prints a markdown table per set and tool:
//! CER, skew error, corner error as % of the page diagonal, orientation accuracy and
//! wall seconds per page (one page at a time, one thread each).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use image::{GrayImage, ImageFormat};
use sohoa::digitize::{DigitizeOptions, PageWorker, Source};
use sohoa_fixtures::{
    cer, phone_photo, render_page, rotate, rotate_quarter, with_seal, PhotoStyle,
};

/// Text lines per generated page.
const LINES: usize = 24;

/// One generated input with its ground truth.
struct Case {
    file: PathBuf,
    text: String,
    skew: Option<f32>,
    corners: Option<[[f32; 2]; 4]>,
    orientation: u16,
}

/// What one tool got on one case.
#[derive(Default)]
struct Outcome {
    cer: f64,
    skew_error: Option<f64>,
    corner_error: Option<f64>,
    orientation_ok: Option<bool>,
    seconds: f64,
}

fn main() -> Result<(), String> {
    reexec_with_one_openmp_thread();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let pages = flag_value(&args, "--pages")
        .map_or(Ok(4), |v| v.parse().map_err(|e| format!("--pages: {e}")))?;
    let peers = !args.iter().any(|a| a == "--no-peers");
    let keep = flag_value(&args, "--keep").map(PathBuf::from);
    let temp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = keep.unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;

    let sets = generate(&dir, pages)?;
    let mut worker = PageWorker::new(&DigitizeOptions::default()).map_err(|e| e.to_string())?;
    println!("| set | tool | pages | CER mean | CER max | skew err mean / max (°) | corner err mean / max (% diag) | orientation | s/page |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (name, cases) in &sets {
        let ours: Vec<Outcome> = cases
            .iter()
            .map(|c| run_sohoa(&mut worker, c))
            .collect::<Result<_, _>>()?;
        print_row(name, "sohoa", &ours);
        if peers {
            let tesseract: Vec<Outcome> = cases
                .iter()
                .map(|c| run_tesseract(c, &dir))
                .collect::<Result<_, _>>()?;
            print_row(name, "tesseract", &tesseract);
            let ocrmypdf: Vec<Outcome> = cases
                .iter()
                .map(|c| run_ocrmypdf(c, &dir))
                .collect::<Result<_, _>>()?;
            print_row(name, "ocrmypdf", &ocrmypdf);
        }
    }
    Ok(())
}

fn flag_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// libgomp reads `OMP_THREAD_LIMIT` at load time: set it and start again.
fn reexec_with_one_openmp_thread() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os("OMP_THREAD_LIMIT").is_none() {
        if let Ok(exe) = std::env::current_exe() {
            let error = Command::new(exe)
                .args(std::env::args_os().skip(1))
                .env("OMP_THREAD_LIMIT", "1")
                .exec();
            eprintln!("warning: could not re-execute with OMP_THREAD_LIMIT=1: {error}");
        }
    }
}

fn generate(dir: &Path, pages: usize) -> Result<Vec<(&'static str, Vec<Case>)>, String> {
    let mut clean = Vec::new();
    let mut skewed = Vec::new();
    let mut phone = Vec::new();
    let mut rotated = Vec::new();
    for i in 0..pages {
        let seed = 500 + i as u64;
        let page = render_page(seed, LINES)?;
        let save_png = |name: String, image: &GrayImage| -> Result<PathBuf, String> {
            let path = dir.join(name);
            image
                .save_with_format(&path, ImageFormat::Png)
                .map_err(|e| e.to_string())?;
            Ok(path)
        };
        let case = |file, skew, corners, orientation| Case {
            file,
            text: page.text.clone(),
            skew,
            corners,
            orientation,
        };
        clean.push(case(
            save_png(format!("clean-{i}.png"), &page.image)?,
            Some(0.0),
            None,
            0,
        ));
        let angle =
            (2.0 + 10.0 * ((i * 7 + 3) % 11) as f32 / 10.0) * if i % 2 == 0 { 1.0 } else { -1.0 };
        skewed.push(case(
            save_png(format!("skewed-{i}.png"), &rotate(&page.image, angle))?,
            Some(angle),
            None,
            0,
        ));
        let turn = [90u16, 180, 270][i % 3];
        rotated.push(case(
            save_png(
                format!("rotated-{i}.png"),
                &rotate_quarter(&page.image, turn),
            )?,
            None,
            None,
            (360 - turn) % 360,
        ));
        let upside_down = i % 4 == 3;
        let printed = if i % 2 == 0 {
            with_seal(&page.image, seed)
        } else {
            image::DynamicImage::ImageLuma8(page.image.clone()).into_rgb8()
        };
        let lying = if upside_down {
            rotate_quarter(&printed, 180)
        } else {
            printed
        };
        let photo = phone_photo(&lying, &PhotoStyle::for_seed(seed), seed);
        let path = dir.join(format!("phone-{i}.jpg"));
        std::fs::write(&path, &photo.jpeg).map_err(|e| e.to_string())?;
        phone.push(case(
            path,
            None,
            Some(photo.corners),
            if upside_down { 180 } else { 0 },
        ));
    }
    Ok(vec![
        ("clean", clean),
        ("skewed", skewed),
        ("phone", phone),
        ("rotated", rotated),
    ])
}

fn run_sohoa(worker: &mut PageWorker, case: &Case) -> Result<Outcome, String> {
    let source = Source::new(
        case.file.display().to_string(),
        std::fs::read(&case.file).map_err(|e| e.to_string())?,
    );
    let clock = Instant::now();
    let done = worker
        .digitize_page(&source, 0, false, &DigitizeOptions::default())
        .map_err(|e| e.to_string())?;
    let seconds = clock.elapsed().as_secs_f64();
    let geometry = &done.report.geometry;
    eprintln!(
        "{}: CER {:.2} %, skew {:.3}°, orientation {}, corners {:?} (true {:?}), {seconds:.2} s",
        case.file.display(),
        cer(&done.text, &case.text) * 100.0,
        geometry.skew_degrees,
        geometry.orientation_degrees,
        geometry.corners,
        case.corners,
    );
    Ok(Outcome {
        cer: cer(&done.text, &case.text),
        skew_error: case
            .skew
            .map(|truth| f64::from((geometry.skew_degrees - truth).abs())),
        corner_error: case.corners.map(|truth| {
            geometry
                .corners
                .map_or(100.0, |found| corner_error(&found, &truth))
        }),
        orientation_ok: Some(geometry.orientation_degrees == case.orientation),
        seconds,
    })
}

/// Largest corner distance as % of the page diagonal, over the four ways of matching a
/// detected quadrilateral to the true one (a page lying upside down starts elsewhere).
fn corner_error(found: &[[f32; 2]; 4], truth: &[[f32; 2]; 4]) -> f64 {
    let diagonal = f64::from(
        (truth[2][0] - truth[0][0]).hypot(truth[2][1] - truth[0][1])
            + (truth[3][0] - truth[1][0]).hypot(truth[3][1] - truth[1][1]),
    ) / 2.0;
    (0..4)
        .map(|shift| {
            (0..4)
                .map(|i| {
                    let (f, t) = (found[i], truth[(i + shift) % 4]);
                    f64::from((f[0] - t[0]).hypot(f[1] - t[1]))
                })
                .fold(0.0, f64::max)
        })
        .fold(f64::MAX, f64::min)
        / diagonal
        * 100.0
}

fn run_tesseract(case: &Case, dir: &Path) -> Result<Outcome, String> {
    let out = dir.join("tesseract-out");
    let clock = Instant::now();
    let status = Command::new("tesseract")
        .arg(&case.file)
        .arg(&out)
        .args(["-l", "vie", "--dpi", "300"])
        .env("OMP_THREAD_LIMIT", "1")
        .output()
        .map_err(|e| format!("tesseract: {e}"))?;
    let seconds = clock.elapsed().as_secs_f64();
    let text = if status.status.success() {
        std::fs::read_to_string(out.with_extension("txt")).unwrap_or_default()
    } else {
        String::new()
    };
    Ok(Outcome {
        cer: cer(&text, &case.text),
        seconds,
        ..Outcome::default()
    })
}

fn run_ocrmypdf(case: &Case, dir: &Path) -> Result<Outcome, String> {
    let (pdf, sidecar) = (dir.join("ocrmypdf-out.pdf"), dir.join("ocrmypdf-out.txt"));
    let _ = std::fs::remove_file(&sidecar);
    let clock = Instant::now();
    let output = Command::new("ocrmypdf")
        .args([
            "-l",
            "vie",
            "--deskew",
            "--rotate-pages",
            "--image-dpi",
            "300",
            "--jobs",
            "1",
            "--output-type",
            "pdf",
            "--sidecar",
        ])
        .arg(&sidecar)
        .arg(&case.file)
        .arg(&pdf)
        .env("OMP_THREAD_LIMIT", "1")
        .output()
        .map_err(|e| format!("ocrmypdf (run benches/setup-peers.sh): {e}"))?;
    let seconds = clock.elapsed().as_secs_f64();
    let text = if output.status.success() {
        std::fs::read_to_string(&sidecar).unwrap_or_default()
    } else {
        String::new()
    };
    Ok(Outcome {
        cer: cer(&text, &case.text),
        seconds,
        ..Outcome::default()
    })
}

fn print_row(set: &str, tool: &str, outcomes: &[Outcome]) {
    let n = outcomes.len().max(1) as f64;
    let mean = |f: &dyn Fn(&Outcome) -> Option<f64>| {
        let values: Vec<f64> = outcomes.iter().filter_map(f).collect();
        (!values.is_empty()).then(|| {
            (
                values.iter().sum::<f64>() / values.len() as f64,
                values.iter().copied().fold(0.0, f64::max),
            )
        })
    };
    let pair = |v: Option<(f64, f64)>, digits: usize| {
        v.map_or("–".into(), |(m, x)| {
            format!("{m:.digits$} / {x:.digits$}")
        })
    };
    let (cer_mean, cer_max) = mean(&|o| Some(o.cer)).unwrap_or_default();
    let orientation = {
        let checked: Vec<bool> = outcomes.iter().filter_map(|o| o.orientation_ok).collect();
        if checked.is_empty() {
            "–".into()
        } else {
            format!(
                "{}/{}",
                checked.iter().filter(|&&ok| ok).count(),
                checked.len()
            )
        }
    };
    let seconds = outcomes.iter().map(|o| o.seconds).sum::<f64>() / n;
    println!(
        "| {set} | {tool} | {} | {:.2} % | {:.2} % | {} | {} | {orientation} | {seconds:.2} |",
        outcomes.len(),
        cer_mean * 100.0,
        cer_max * 100.0,
        pair(mean(&|o| o.skew_error), 3),
        pair(mean(&|o| o.corner_error), 2),
    );
}
