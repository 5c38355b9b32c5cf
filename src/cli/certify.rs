//! `sohoa certify`: an electronic certified copy, numbered in the register and signed.

use anyhow::{anyhow, bail, Context, Result};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sohoa::certify::copy::CertifyRequest;
use sohoa::certify::issuer::{IssueError, Issuer};
use sohoa::certify::key::{RsaPadding, SigningKey};
use sohoa::certify::longterm::{self, LongTerm};
use sohoa::certify::online::{Fetch, HttpTsa};
use sohoa::certify::pades::{Corner, Placement, StampPlace};
use sohoa::certify::register::Details;
use sohoa::certify::{pem, pkcs11, pkcs12};
use std::sync::Arc;
use time::OffsetDateTime;

use super::files::{config_section, read, write_atomically, Staged};

/// Arguments of `sohoa certify`.
#[derive(clap::Args)]
pub struct Args {
    /// The PDF to certify (usually from `sohoa digitize`).
    input: PathBuf,
    /// The certified copy to write.
    #[arg(short, long)]
    output: PathBuf,
    /// The certifying official (người chứng thực).
    #[arg(long)]
    certifier: String,
    /// The certifying agency, e.g. "UBND xã …".
    #[arg(long)]
    agency: String,
    #[command(flatten)]
    signer: SignerArgs,
    /// Register folder (sổ chứng thực).
    #[arg(long, default_value = "register")]
    register: PathBuf,
    /// Register book number.
    #[arg(long, default_value_t = 1)]
    book: u32,
    /// Page that carries the stamp, 1-based (default: a free place on the last page, else
    /// an added certification page).
    #[arg(long)]
    stamp_page: Option<usize>,
    /// A fixed corner of that page instead of the free place sohoa finds; refused when
    /// the stamp would cover the page's content.
    #[arg(long, value_enum)]
    stamp_corner: Option<StampCorner>,
    /// Let --stamp-corner cover the page's content.
    #[arg(long, requires = "stamp_corner")]
    stamp_over_content: bool,
    /// Address of the office's public verification page (as `sohoa serve --public-url`):
    /// the QR code then opens URL/verify?ref=REFERENCE instead of holding the reference.
    #[arg(long)]
    verify_url: Option<String>,
    /// The person who asked for the copy (người yêu cầu chứng thực), for the register.
    #[arg(long)]
    requester: Option<String>,
    /// Title of the original document (tên giấy tờ), for the register.
    #[arg(long)]
    original_title: Option<String>,
    /// Copies certified under this number, for the register.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    copies: u32,
    /// Fee charged, in đồng, for the register.
    #[arg(long)]
    fee: Option<u64>,
    /// Also write a JSON report (number, book, date, signer, sha256).
    #[arg(long)]
    report: Option<PathBuf>,
}

/// Where the signing key comes from: PKCS#12, PEM certificate + key, or a PKCS#11 token
/// (shared by `certify` and `batch`).
#[derive(clap::Args)]
pub struct SignerArgs {
    /// PKCS#12 file (.p12/.pfx) holding the key and certificate.
    #[arg(long, group = "key_source", requires = "password_env")]
    p12: Option<PathBuf>,
    /// Environment variable holding the PKCS#12 password.
    #[arg(long)]
    password_env: Option<String>,
    /// Certificate (PEM); with --key.
    #[arg(long, group = "key_source", requires = "key")]
    cert: Option<PathBuf>,
    /// Private key (PEM, PKCS#8, PKCS#1 or SEC1); with --cert.
    #[arg(long)]
    key: Option<PathBuf>,
    /// PKCS#11 module of the USB token (e.g. /usr/lib/softhsm/libsofthsm2.so).
    #[arg(long, group = "key_source", requires_all = ["token_label", "key_label", "pin_env"])]
    pkcs11: Option<PathBuf>,
    /// Label of the token.
    #[arg(long)]
    token_label: Option<String>,
    /// Label of the key (and its certificate) on the token.
    #[arg(long)]
    key_label: Option<String>,
    /// Environment variable holding the token PIN.
    #[arg(long)]
    pin_env: Option<String>,
    /// Intermediate certificates to embed (PEM).
    #[arg(long)]
    chain: Option<PathBuf>,
    /// RSA signature padding (PSS by default; PKCS#1 v1.5 for tokens that lack PSS).
    #[arg(long, value_enum, default_value = "pss")]
    rsa_padding: Padding,
    /// PAdES baseline level: b-b (signature only), b-t (plus a timestamp from --tsa),
    /// b-lt (plus the signer's OCSP status, checked and kept; --chain gives the issuer),
    /// b-lta (plus a document timestamp) [default: `level` under `[certify]` in
    /// ./sohoa.toml, else b-b].
    #[arg(long, value_enum)]
    level: Option<Level>,
    /// Address of the time-stamping authority (RFC 3161 over HTTP or HTTPS), for b-t
    /// [default: `tsa` under `[certify]` in ./sohoa.toml].
    #[arg(long)]
    tsa: Option<String>,
    /// Time allowed for one request to the time-stamping authority, in seconds.
    #[arg(long, default_value_t = 15)]
    tsa_timeout_secs: u64,
}

/// PAdES baseline levels.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// Signature only.
    #[value(name = "b-b")]
    #[serde(rename = "b-b")]
    Bb,
    /// Signature and a signature timestamp.
    #[value(name = "b-t")]
    #[serde(rename = "b-t")]
    Bt,
    /// Plus the signer's revocation status (OCSP) and certificates kept in the document.
    #[value(name = "b-lt")]
    #[serde(rename = "b-lt")]
    Blt,
    /// Plus a document timestamp over it all.
    #[value(name = "b-lta")]
    #[serde(rename = "b-lta")]
    Blta,
}

impl SignerArgs {
    /// The level above b-b and its services (`None` for b-b).
    pub fn long_term(&self) -> Result<Option<Arc<LongTerm>>> {
        /// `[certify]` in ./sohoa.toml: the office's usual level and TSA.
        #[derive(serde::Deserialize, Default)]
        // Other keys are certify's other flags (checked by `sohoa config check`).
        struct Configured {
            level: Option<Level>,
            tsa: Option<String>,
        }
        let configured = config_section::<Configured>("certify")?.unwrap_or_default();
        let level = match self.level.or(configured.level).unwrap_or(Level::Bb) {
            Level::Bb => return Ok(None),
            Level::Bt => longterm::Level::Bt,
            Level::Blt => longterm::Level::Blt,
            Level::Blta => longterm::Level::Blta,
        };
        let url = self.tsa.clone().or(configured.tsa).context(
            "--level b-t and above need --tsa URL (a time-stamping authority), or tsa = \"…\" \
             under [certify] in sohoa.toml",
        )?;
        let url = &url;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bail!("--tsa {url}: expected an http:// or https:// address");
        }
        let fetch = Fetch {
            timeout: std::time::Duration::from_secs(self.tsa_timeout_secs.max(1)),
            ..Fetch::default()
        };
        let issuers = match &self.chain {
            Some(path) => pem::certificates(&read(path)?, "--chain")
                .with_context(|| path.display().to_string())?,
            None => Vec::new(),
        };
        Ok(Some(Arc::new(LongTerm {
            level,
            tsa: Arc::new(HttpTsa {
                url: url.clone(),
                fetch: fetch.clone(),
            }),
            online: Arc::new(fetch),
            issuers,
        })))
    }

    /// Whether a key source was given.
    pub fn given(&self) -> bool {
        self.p12.is_some() || self.cert.is_some() || self.pkcs11.is_some()
    }
}

/// RSA padding choices.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Padding {
    /// RSASSA-PSS.
    Pss,
    /// RSASSA-PKCS1-v1_5.
    Pkcs1,
}

/// Stamp corners.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum StampCorner {
    /// Bottom right.
    BottomRight,
    /// Bottom left.
    BottomLeft,
    /// Top right.
    TopRight,
    /// Top left.
    TopLeft,
}

#[derive(Serialize)]
struct Report<'a> {
    number: u64,
    book: String,
    date: String,
    signer: &'a str,
    sha256: &'a str,
    reference: &'a str,
    stamp: StampPlace,
    level: &'a str,
    timestamp: Option<&'a str>,
    output: String,
}

fn secret(var: &Option<String>, what: &str) -> Result<String> {
    let var = var
        .as_deref()
        .ok_or_else(|| anyhow!("--{what}-env is required"))?;
    std::env::var(var).map_err(|_| anyhow!("environment variable {var} (the {what}) is not set"))
}

/// Loads the signing key the arguments name.
pub fn load_key(args: &SignerArgs) -> Result<Box<dyn SigningKey>> {
    let padding = match args.rsa_padding {
        Padding::Pss => RsaPadding::Pss,
        Padding::Pkcs1 => RsaPadding::Pkcs1,
    };
    let chain = args.chain.as_deref().map(read).transpose()?;
    let key: Box<dyn SigningKey> = if let Some(p12) = &args.p12 {
        let password = secret(&args.password_env, "password")?;
        Box::new(
            pkcs12::load_pkcs12(&read(p12)?, &password, padding)
                .with_context(|| format!("{}", p12.display()))?,
        )
    } else if let (Some(cert), Some(key)) = (&args.cert, &args.key) {
        Box::new(
            pem::load_pem(&read(cert)?, &read(key)?, chain.as_deref(), padding)
                .with_context(|| key.display().to_string())?,
        )
    } else if let Some(module) = &args.pkcs11 {
        let pin = secret(&args.pin_env, "pin")?;
        let (token, label) = (
            args.token_label.as_deref().unwrap_or_default(),
            args.key_label.as_deref().unwrap_or_default(),
        );
        Box::new(
            pkcs11::open_pkcs11(module, token, label, &pin, padding)
                .with_context(|| module.display().to_string())?,
        )
    } else {
        bail!("no signing key: give --p12, --cert with --key, or --pkcs11");
    };
    Ok(key)
}

/// Runs the command.
pub fn run(args: Args) -> Result<()> {
    let key = load_key(&args.signer)?;
    let input = read(&args.input)?;
    let request = CertifyRequest {
        certifier: args.certifier.clone(),
        agency: args.agency.clone(),
        book: format!("{:02}", args.book),
        time: OffsetDateTime::now_utc(),
        placement: Placement {
            page: args.stamp_page,
            corner: args.stamp_corner.map(corner),
            over_content: args.stamp_over_content,
            known_ink: None,
        },
        long_term: args.signer.long_term()?,
        details: Details {
            requester: args.requester.clone(),
            original_title: args.original_title.clone(),
            copies: args.copies,
            fee_vnd: args.fee,
        },
        verify_url: args.verify_url.clone(),
    };
    let mut issuer = Issuer::open(&args.register, key.as_ref())?;
    let issued = issuer
        .issue(&input, &request, |copy, _| {
            Staged::write(&args.output, &copy.pdf)
        })
        .map_err(|e| match e {
            IssueError::Certify(e) => anyhow!("{}: {e}", args.input.display()),
            IssueError::Keep(e) => e,
            e => anyhow!(e),
        })?;
    let (copy, number) = (issued.copy, issued.number);
    if let Err(e) = issued.kept.commit() {
        issuer.void(&request, number, &format!("output not written: {e}"));
        return Err(e);
    }
    let year = request.time.year();
    let report = Report {
        number,
        book: format!("{}/{year}", request.book),
        date: request.time.date().to_string(),
        signer: &copy.signer,
        sha256: &copy.sha256,
        reference: &copy.reference,
        stamp: copy.stamp,
        level: copy.level,
        timestamp: copy.timestamp.as_deref(),
        output: args.output.display().to_string(),
    };
    print_report(&report);
    if let Some(path) = &args.report {
        write_atomically(path, &serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(())
}

fn corner(c: StampCorner) -> Corner {
    match c {
        StampCorner::BottomRight => Corner::BottomRight,
        StampCorner::BottomLeft => Corner::BottomLeft,
        StampCorner::TopRight => Corner::TopRight,
        StampCorner::TopLeft => Corner::TopLeft,
    }
}

fn print_report(report: &Report<'_>) {
    println!("Số chứng thực / number: {}", report.number);
    println!("Quyển số / book:        {}", report.book);
    println!("Ngày / date:            {}", report.date);
    println!("Người ký / signer:      {}", report.signer);
    println!("SHA-256:                {}", report.sha256);
    println!("Mã xác minh / reference: {}", report.reference);
    let added = if report.stamp.added_page {
        " (trang chứng thực thêm vào / certification page added)"
    } else {
        ""
    };
    println!("Dấu / stamp:            page {}{added}", report.stamp.page);
    match report.timestamp {
        Some(t) => println!(
            "Mức / level:            {} (dấu thời gian / timestamp {t})",
            report.level
        ),
        None => println!("Mức / level:            {}", report.level),
    }
    println!("{}", Path::new(&report.output).display());
}
