//! `sohoa verify`: check every signature of a PDF.

use std::path::PathBuf;

use sohoa::certify::revisions::Level;
use sohoa::certify::verify::{verify_pdf, VerifyOptions};

use super::files::read;

/// Arguments of `sohoa verify`.
#[derive(clap::Args)]
pub struct Args {
    /// The signed PDF.
    file: PathBuf,
    /// Trust anchor certificates (PEM or DER); repeatable.
    #[arg(long)]
    trust: Vec<PathBuf>,
    /// Print the full result as JSON.
    #[arg(long)]
    json: bool,
    /// Validate as of this date (YYYY-MM-DD, end of that day UTC) from the evidence in
    /// the file only: a copy with timestamps and revocation data (B-LTA) stays valid
    /// after its signer's certificate expires; a bare signature (B-B) does not.
    #[arg(long, value_parser = parse_date)]
    at: Option<time::OffsetDateTime>,
}

fn parse_date(text: &str) -> Result<time::OffsetDateTime, String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text, &format)
        .map_err(|e| format!("{text}: {e} (expected YYYY-MM-DD)"))?;
    Ok(date
        .with_hms(23, 59, 59)
        .map_err(|e| e.to_string())?
        .assume_utc())
}

/// Runs the command; `Ok(false)` when the file is not validly signed.
pub fn run(args: Args) -> Result<bool, String> {
    let mut trust_anchors = Vec::new();
    for path in &args.trust {
        trust_anchors
            .extend(certificates(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))?);
    }
    let options = VerifyOptions {
        trust_anchors,
        at: args.at,
    };
    let report = verify_pdf(&read(&args.file)?, &options);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    } else {
        println!("{}", report.message_vi);
        println!("{}", report.message_en);
        for s in &report.signatures {
            let verdict = if s.valid { "valid" } else { "INVALID" };
            println!(
                "- {} [{verdict}] signer: {}; signed at: {}; {}",
                s.field,
                s.signer,
                s.signed_at.as_deref().unwrap_or("?"),
                s.algorithm
            );
            if s.modifications == Level::Allowed {
                println!(
                    "    changed after signing, as allowed: {}",
                    s.changes.join("; ")
                );
            }
            for e in &s.errors {
                println!("    {e}");
            }
        }
    }
    Ok(report.valid)
}

/// DER certificates from a PEM file (every CERTIFICATE block) or a single DER file.
pub fn certificates(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let certs = sohoa::certify::pem::certificates(bytes, "the trust anchor file")
        .map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no CERTIFICATE in the file".into());
    }
    Ok(certs)
}
