//! `sohoa backup` and `sohoa restore`: a consistent copy of a store taken while it
//! serves, checked hash by hash, and put back into a new folder
//! ([`sohoa::store::backup`]).

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

use sohoa::certify::register::REGISTER_FILE;
use sohoa::store::backup::{self, Manifest};
use sohoa::store::FsckReport;

use super::store::{read_audit_key, StoreDir};

/// Arguments of `sohoa backup`.
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// The new folder to write the backup into.
    #[arg(short, long, required = true)]
    output: Option<PathBuf>,
    #[command(flatten)]
    store: StoreDir,
    /// Print the manifest as JSON.
    #[arg(long)]
    json: bool,
}

/// `sohoa backup verify`.
#[derive(clap::Subcommand)]
enum Command {
    /// Check a backup: every hash, the index's integrity, the audit chain.
    Verify(VerifyArgs),
}

/// Arguments of `sohoa backup verify` and `sohoa restore`.
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The backup folder.
    backup: PathBuf,
    /// The audit key file: the entries' MACs are checked too.
    #[arg(long, value_name = "FILE", env = "SOHOA_AUDIT_KEY_FILE")]
    audit_key: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `sohoa restore`.
#[derive(clap::Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    backup: VerifyArgs,
    /// The new store folder to restore into (must not exist or be empty).
    #[arg(long = "store", value_name = "DIR")]
    store: PathBuf,
}

/// Runs `sohoa backup` (or `backup verify`); false when a backup does not check out.
pub fn run(args: Args) -> Result<bool> {
    if let Some(Command::Verify(verify)) = args.command {
        return run_verify(&verify);
    }
    let output = args.output.context("give the backup folder with -o DIR")?;
    let dir = args.store.resolve()?;
    let store = args.store.open()?;
    let register = dir.join("register").join(REGISTER_FILE);
    let extra = if register.is_file() {
        vec![(format!("register/{REGISTER_FILE}"), register)]
    } else {
        Vec::new()
    };
    let manifest = store.backup(&output, &extra)?;
    print_manifest(&manifest, &output, args.json);
    Ok(true)
}

fn print_manifest(manifest: &Manifest, dir: &Path, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(manifest).unwrap_or_default()
        );
        return;
    }
    println!(
        "{}: {} documents, {} blobs ({} bytes), {} audit entries, taken {}{}",
        dir.display(),
        manifest.documents,
        manifest.blobs,
        manifest.blob_bytes,
        manifest.audit_entries,
        manifest.created_at,
        if manifest.extra.is_empty() {
            String::new()
        } else {
            format!(
                " (with {})",
                manifest
                    .extra
                    .iter()
                    .map(|e| e.0.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
}

fn audit_key(args: &VerifyArgs) -> Result<Option<Vec<u8>>> {
    args.audit_key.as_deref().map(read_audit_key).transpose()
}

fn run_verify(args: &VerifyArgs) -> Result<bool> {
    let key = audit_key(args)?;
    let (manifest, report) = backup::verify(&args.backup, key.as_deref())
        .with_context(|| args.backup.display().to_string())?;
    if args.json {
        let json = serde_json::json!({ "manifest": manifest, "report": report });
        println!(
            "{}",
            serde_json::to_string_pretty(&json).unwrap_or_default()
        );
    } else {
        print_manifest(&manifest, &args.backup, false);
        print_report(&report);
    }
    Ok(report.problems.is_empty())
}

fn print_report(report: &FsckReport) {
    for problem in &report.problems {
        println!("PROBLEM: {problem}");
    }
    if report.problems.is_empty() {
        println!(
            "OK: {} blobs re-hashed, the audit chain holds",
            report.blobs_checked
        );
    }
}

/// Runs `sohoa restore`.
pub fn restore(args: RestoreArgs) -> Result<bool> {
    let key = audit_key(&args.backup)?;
    let manifest = backup::restore(&args.backup.backup, &args.store, key.as_deref())
        .with_context(|| args.backup.backup.display().to_string())?;
    print_manifest(&manifest, &args.store, args.backup.json);
    Ok(true)
}
