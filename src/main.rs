//! The `sohoa` command line: parses arguments, reads and writes files, calls the library.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sohoa::digitize::{digitize, DigitizeOptions, Source};

#[derive(Parser)]
#[command(
    name = "sohoa",
    version,
    about = "Digitize and certify documents for Vietnamese one-stop offices"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Turn scans and photos (JPEG, PNG, TIFF) into one searchable PDF/A-2b.
    Digitize(DigitizeArgs),
}

#[derive(clap::Args)]
struct DigitizeArgs {
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
    /// Folder searched first for OCR models (default: ./models).
    #[arg(long)]
    models: Option<PathBuf>,
}

fn main() -> ExitCode {
    limit_openmp_threads();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Digitize(args) => run_digitize(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("sohoa: error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Parallel pages beat Tesseract's own OpenMP threads, which only slow each other down
/// on two cores. libgomp reads `OMP_THREAD_LIMIT` when it is loaded, before `main`, so
/// when it is unset the process re-executes itself with `OMP_THREAD_LIMIT=1`.
fn limit_openmp_threads() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os("OMP_THREAD_LIMIT").is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let error = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("OMP_THREAD_LIMIT", "1")
        .exec();
    tracing::debug!("could not re-execute with OMP_THREAD_LIMIT=1: {error}");
}

fn run_digitize(args: DigitizeArgs) -> Result<(), String> {
    let sources = args
        .inputs
        .iter()
        .map(|path| read_source(path))
        .collect::<Result<Vec<_>, _>>()?;
    let mut options = DigitizeOptions {
        models_dir: args.models,
        ..DigitizeOptions::default()
    };
    if let Some(jobs) = args.jobs {
        options.jobs = jobs.max(1);
    }
    let result = digitize(&sources, &options).map_err(|e| e.to_string())?;
    write_atomically(&args.output, &result.pdf)?;
    if let Some(path) = &args.text {
        write_atomically(path, result.text().as_bytes())?;
    }
    if let Some(path) = &args.report {
        let json = serde_json::to_vec_pretty(&result.pages).map_err(|e| e.to_string())?;
        write_atomically(path, &json)?;
    }
    println!("{} ({} pages)", args.output.display(), result.pages.len());
    Ok(())
}

fn read_source(path: &Path) -> Result<Source, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    Ok(Source {
        name: path.display().to_string(),
        bytes,
    })
}

/// Writes through a temporary file in the same folder, synced, then renamed over `path`:
/// readers see the old file or the whole new one, never a part.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("{}: cannot write: {e}", path.display());
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    file.write_all(bytes).map_err(fail)?;
    file.as_file().sync_all().map_err(fail)?;
    file.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}
