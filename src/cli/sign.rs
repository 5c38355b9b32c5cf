//! `sohoa sign`: a further signature on a PDF — e.g. the office's organisation
//! certificate after the certifying official's — in a new invisible field, leaving every
//! earlier signature valid.

use anyhow::{Context, Result};
use std::path::PathBuf;

use sohoa::certify::copy::sign_pdf;
use sohoa::certify::pades::SignatureInfo;
use time::OffsetDateTime;

use super::certify::{load_key, SignerArgs};
use super::files::{read, Staged};

/// Arguments of `sohoa sign`.
#[derive(clap::Args)]
pub struct Args {
    /// The PDF to sign (often a certified copy).
    input: PathBuf,
    /// The signed PDF to write.
    #[arg(short, long)]
    output: PathBuf,
    #[command(flatten)]
    signer: SignerArgs,
    /// Reason recorded in the signature.
    #[arg(long, default_value = "Phê duyệt")]
    reason: String,
    /// Location recorded in the signature (the agency).
    #[arg(long, default_value = "")]
    location: String,
}

/// Runs the command.
pub fn run(args: Args) -> Result<()> {
    let key = load_key(&args.signer)?;
    let long_term = args.signer.long_term()?;
    let input = read(&args.input)?;
    let time = OffsetDateTime::now_utc();
    let info = SignatureInfo {
        time,
        name: String::new(),
        reason: args.reason.clone(),
        location: args.location.clone(),
        field_name: format!("ChuKy-{}", time.unix_timestamp_nanos()),
        docmdp: None,
    };
    let signed = sign_pdf(&input, key.as_ref(), &info, long_term.as_deref())
        .with_context(|| args.input.display().to_string())?;
    Staged::write(&args.output, &signed.pdf)?.commit()?;
    println!("Mức / level: {}", signed.level);
    println!("{}", args.output.display());
    Ok(())
}
