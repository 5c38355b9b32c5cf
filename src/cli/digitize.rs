//! `sohoa digitize`: scans and photos to one searchable PDF/A.

use anyhow::{anyhow, Context, Result};
use std::path::PathBuf;

use sohoa::capture::{pdf_input, CaptureMode};
use sohoa::digitize::{digitize, DigitizeOptions, OcrMode, Source};
use sohoa::pdf::Quality;

use super::files::{read, write_atomically};

/// Arguments of `sohoa digitize`.
#[derive(clap::Args)]
pub struct Args {
    /// Input images, in page order; a multi-page TIFF gives one page per frame.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// The PDF/A file to write.
    #[arg(short, long)]
    output: PathBuf,
    /// Also write the recognised text, pages separated by a form-feed line.
    #[arg(long)]
    text: Option<PathBuf>,
    /// Also write a JSON report, one object per page.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Pages processed in parallel (default: number of cores).
    #[arg(long, short)]
    jobs: Option<usize>,
    /// The scans' resolution in dots per inch, when the files state none or a wrong one
    /// (else: the file's, or A4 for a page-shaped image, or estimated from a strip's text).
    #[arg(long, value_parser = super::digitize::parse_dpi)]
    dpi: Option<f32>,
    /// Folder searched first for OCR models (default: ./models).
    #[arg(long)]
    models: Option<PathBuf>,
    /// How inputs are treated: `auto` (a photo when a page outline is found inside the
    /// frame), `scan` (deskew only) or `photo` (find the page, fix perspective and light).
    #[arg(long, default_value = "auto")]
    mode: CaptureMode,
    /// Digitize signed PDFs too: the output is a new document without their signatures
    /// (the signed original is not changed; keep it with `sohoa store add`).
    #[arg(long)]
    invalidate_signatures: bool,
    /// Pages of PDF inputs that already have text: `skip-text` keeps them as they are
    /// (born-digital pages and earlier OCR layers), `redo` reads pages whose only text is
    /// an earlier OCR layer again, `force` renders and reads every page.
    #[arg(long, default_value = "skip-text")]
    ocr: OcrMode,
    /// How page images are kept: `archive` (as scanned) or `compact` (text on white
    /// stored bitonal, CCITT G4; other pages of text, seals and signatures included, as
    /// a G4 ink mask over 75-dpi colour layers; pictures stay as scanned).
    #[arg(long, default_value = "archive")]
    quality: Quality,
}

/// Runs the command.
pub fn run(args: Args) -> Result<()> {
    let sources = args
        .inputs
        .iter()
        .map(|path| {
            let mut bytes = read(path)?;
            if args.invalidate_signatures && pdf_input::is_signed_pdf(&bytes) {
                bytes = pdf_input::without_signatures(&bytes)
                    .with_context(|| path.display().to_string())?;
            }
            Ok(Source::new(path.display().to_string(), bytes))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut options = DigitizeOptions {
        models_dir: args.models,
        mode: args.mode,
        dpi: args.dpi,
        ocr: args.ocr,
        quality: args.quality,
        ..DigitizeOptions::default()
    };
    if let Some(jobs) = args.jobs {
        options.jobs = jobs.max(1);
    }
    let result = digitize(&sources, &options)?;
    for page in &result.pages {
        for warning in &page.geometry.warnings {
            eprintln!("warning: {}: {warning}", page.source);
        }
    }
    write_atomically(&args.output, &result.pdf)?;
    if let Some(path) = &args.text {
        write_atomically(path, result.text().as_bytes())?;
    }
    if let Some(path) = &args.report {
        let json = serde_json::to_vec_pretty(&result.pages)?;
        write_atomically(path, &json)?;
    }
    println!("{} ({} pages)", args.output.display(), result.pages.len());
    Ok(())
}

/// A scan resolution from the command line: 50 to 2400 dots per inch.
pub fn parse_dpi(text: &str) -> Result<f32> {
    match text.parse::<f32>() {
        Ok(dpi) if (50.0..=2400.0).contains(&dpi) => Ok(dpi),
        _ => Err(anyhow!(
            "{text}: expected a resolution from 50 to 2400 dots per inch"
        )),
    }
}
