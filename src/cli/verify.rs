//! `sohoa verify`: check every signature of a PDF.

use anyhow::{anyhow, bail, Context, Result};
use std::path::PathBuf;

use sohoa::certify::revisions::Level;
use sohoa::certify::verify::{verify_pdf, VerifyOptions};

use super::files::read;

/// Arguments of `sohoa verify`.
#[derive(clap::Args)]
pub struct Args {
    /// The signed PDF.
    file: PathBuf,
    /// Trust anchor certificates (PEM or DER); repeatable. Also `trust = ["…"]` under
    /// `[verify]` in ./sohoa.toml.
    #[arg(long)]
    trust: Vec<PathBuf>,
    /// Also trust the system's CA certificates (/etc/ssl/certs/ca-certificates.crt).
    #[arg(long)]
    system_trust: bool,
    /// Print the full result as JSON.
    #[arg(long)]
    json: bool,
    /// Validate as of this date (YYYY-MM-DD, end of that day UTC) from the evidence in
    /// the file only: a copy with timestamps and revocation data (B-LTA) stays valid
    /// after its signer's certificate expires; a bare signature (B-B) does not.
    #[arg(long, value_parser = parse_date)]
    at: Option<time::OffsetDateTime>,
}

fn parse_date(text: &str) -> Result<time::OffsetDateTime> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text, &format)
        .map_err(|e| anyhow!("{text}: {e} (expected YYYY-MM-DD)"))?;
    Ok(date.with_hms(23, 59, 59)?.assume_utc())
}

/// Exit status when every signature is intact but no trust anchor reaches a signer.
pub const EXIT_UNTRUSTED: u8 = 3;
/// The system's CA bundle (Debian's ca-certificates).
const SYSTEM_CAS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Runs the command; the exit status: 0 valid and trusted, [`EXIT_UNTRUSTED`] intact but
/// not trusted, 1 invalid.
pub fn run(args: Args) -> Result<u8> {
    let mut paths = args.trust.clone();
    paths.extend(configured_anchors()?);
    if args.system_trust {
        paths.push(PathBuf::from(SYSTEM_CAS));
    }
    let mut trust_anchors = Vec::new();
    for path in &paths {
        trust_anchors
            .extend(certificates(&read(path)?).with_context(|| path.display().to_string())?);
    }
    let options = VerifyOptions {
        trust_anchors,
        at: args.at,
    };
    let report = verify_pdf(&read(&args.file)?, &options);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{}", report.message_vi);
        println!("{}", report.message_en);
        for s in &report.signatures {
            let verdict = match (s.valid, s.chain_trusted) {
                (true, true) => "valid, trusted",
                (true, false) => "intact, NOT trusted",
                _ => "INVALID",
            };
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
    Ok(match report.outcome {
        "trusted" => 0,
        "untrusted" => EXIT_UNTRUSTED,
        _ => 1,
    })
}

/// `trust = ["…", …]` under `[verify]` in ./sohoa.toml (none without the file).
pub(crate) fn configured_anchors() -> Result<Vec<PathBuf>> {
    #[derive(serde::Deserialize)]
    // Other keys are verify's other flags (checked by `sohoa config check`).
    struct Section {
        #[serde(default)]
        trust: Vec<PathBuf>,
    }
    Ok(super::files::config_section::<Section>("verify")?
        .map(|v| v.trust)
        .unwrap_or_default())
}
/// DER certificates from a PEM file (every CERTIFICATE block) or a single DER file.
pub fn certificates(bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
    let certs = sohoa::certify::pem::certificates(bytes, "the trust anchor file")?;
    if certs.is_empty() {
        bail!("no CERTIFICATE in the file");
    }
    Ok(certs)
}
