//! The `sohoa` command line: parses arguments and hands over to one module per command;
//! files are read and written here, the work is done by the library.

mod cli;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "sohoa",
    version,
    about = "Digitize and certify documents for Vietnamese one-stop offices"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log lines on stderr as text or as JSON objects (one per line, for the journal or
    /// a log collector); the level comes from RUST_LOG (default `warn`; `info` logs every
    /// HTTP request with its id).
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
}

/// How log lines are written.
#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Turn scans and photos (JPEG, PNG, TIFF) into one searchable PDF/A-2b.
    Digitize(cli::digitize::Args),
    /// Issue an electronic certified copy: stamp, register number, PAdES signature.
    Certify(Box<cli::certify::Args>),
    /// Verify the signatures of a PDF: exit 0 valid and trusted, 3 intact but no trust
    /// anchor reaches a signer, 1 invalid.
    Verify(cli::verify::Args),
    /// Add a further signature (an approval, in a new invisible field) to a PDF.
    Sign(Box<cli::sign::Args>),
    /// Renew a certified copy's evidence with a new document timestamp (PAdES B-LTA).
    Renew(cli::renew::Args),
    /// Digitize and store a backlog: each sub-folder of scans (or manifest row) becomes a
    /// stored document; resumable, pages in parallel. Exit 3 when some documents failed.
    Batch(Box<cli::batch::Args>),
    /// Digitize and store documents queued by `batch --enqueue` in a shared store; run
    /// on as many machines as there are.
    Worker(cli::worker::Args),
    /// Serve reuse lookups, downloads, verification and ingest over HTTP; with --web,
    /// also the clerks' web page.
    Serve(Box<cli::serve::Args>),
    /// Accounts of the clerks' web page.
    #[command(subcommand)]
    User(cli::user::UserCommand),
    /// Back the store up while it serves (index snapshot, blobs re-hashed, register);
    /// `backup verify DIR` checks a backup.
    Backup(Box<cli::backup::Args>),
    /// Restore a verified backup into a new store folder.
    Restore(cli::backup::RestoreArgs),
    #[command(flatten)]
    Stored(cli::store::Command),
    /// The procedure catalogue: procedures, their components and results.
    #[command(subcommand)]
    Catalog(cli::reuse::CatalogCommand),
    /// What a person already has on file for a procedure; attach it to a new dossier.
    #[command(subcommand)]
    Reuse(cli::reuse::ReuseCommand),
    /// The province's digitization and reuse indicators.
    #[command(subcommand)]
    Report(cli::reuse::ReportCommand),
    /// The settings file (sohoa.toml, or $SOHOA_CONFIG): `[NAME]` holds defaults for
    /// `sohoa NAME`, one key per long flag; flags win.
    #[command(subcommand)]
    Config(cli::settings::ConfigCommand),
}

fn main() -> ExitCode {
    let args = match cli::settings::with_settings(std::env::args_os().collect(), &Cli::command()) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("sohoa: error: {message}");
            return ExitCode::FAILURE;
        }
    };
    let Cli {
        command,
        log_format,
    } = Cli::parse_from(args);
    limit_openmp_threads();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            // lopdf warns of every repair it makes to a damaged input; what matters to the
            // user is the one-line result (read, or a clear error), so only its errors show.
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,lopdf=error".into()),
        )
        .with_writer(std::io::stderr);
    match log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    let result = match command {
        Command::Batch(args) => match cli::batch::run(*args) {
            Ok(code) => return ExitCode::from(code),
            Err(message) => Err(message),
        },
        Command::Digitize(args) => cli::digitize::run(args).map(|()| true),
        Command::Worker(args) => cli::worker::run(args).map(|()| true),
        Command::Certify(args) => cli::certify::run(*args).map(|()| true),
        Command::Verify(args) => match cli::verify::run(args) {
            Ok(code) => return ExitCode::from(code),
            Err(message) => Err(message),
        },
        Command::Sign(args) => cli::sign::run(*args).map(|()| true),
        Command::Renew(args) => cli::renew::run(args),
        Command::Serve(args) => cli::serve::run(*args).map(|()| true),
        Command::User(command) => cli::user::run(command).map(|()| true),
        Command::Backup(args) => cli::backup::run(*args),
        Command::Restore(args) => cli::backup::restore(args),
        Command::Stored(command) => cli::store::run(command),
        Command::Catalog(command) => cli::reuse::catalog(command).map(|()| true),
        Command::Reuse(command) => cli::reuse::reuse(command).map(|()| true),
        Command::Report(command) => cli::reuse::report(command).map(|()| true),
        Command::Config(command) => cli::settings::run(command, &Cli::command()),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("sohoa: error: {}", cli::report(&error));
            ExitCode::FAILURE
        }
    }
}

/// Parallel pages beat Tesseract's own OpenMP threads, which only slow each other down
/// on two cores. libgomp reads `OMP_THREAD_LIMIT` once, when it is loaded: with
/// libtesseract, on the first OCR engine (`sohoa_ffi`), long after this runs.
fn limit_openmp_threads() {
    if std::env::var_os("OMP_THREAD_LIMIT").is_none() {
        // Set before any thread of ours exists (logging and the runtime start later).
        std::env::set_var("OMP_THREAD_LIMIT", "1");
    }
}
