//! `sohoa catalog`, `sohoa reuse` and `sohoa report`: the procedure catalogue, what a
//! person already has on file, and the province's indicators.

use anyhow::{anyhow, bail, Context, Result};
use std::fmt::Write as _;
use std::path::PathBuf;

use sohoa::store::reuse::Status;
use sohoa::store::{catalog, Dossier, GroupBy, IndicatorQuery, Indicators, OnFile, Store};

use super::files::read;
use super::store::{audit_ids, choose_agency, print_json, user, StoreDir};

/// Largest catalogue file read.
const MAX_CATALOG_BYTES: u64 = 32 << 20;

/// `sohoa catalog …`.
#[derive(clap::Subcommand)]
pub enum CatalogCommand {
    /// Import procedures from JSON (an array) or CSV (one row per component); procedures
    /// with the same code are replaced, the others kept.
    Import {
        #[command(flatten)]
        store: StoreDir,
        /// The catalogue file (.json or .csv).
        file: PathBuf,
    },
    /// List the procedures.
    List {
        #[command(flatten)]
        store: StoreDir,
        /// Print JSON (the import format).
        #[arg(long)]
        json: bool,
    },
}

/// `sohoa reuse …`.
#[derive(clap::Subcommand)]
pub enum ReuseCommand {
    /// What the person already has on file for each component of a procedure.
    Find(FindArgs),
    /// Attach a stored document to another dossier of the same person.
    Attach(AttachArgs),
}

/// Arguments of `sohoa reuse find`.
#[derive(clap::Args)]
pub struct FindArgs {
    #[command(flatten)]
    store: StoreDir,
    /// The person's 12-digit personal ID.
    #[arg(long)]
    citizen_id: String,
    /// Procedure code (from the catalogue).
    #[arg(long)]
    procedure: String,
    /// The day documents must be usable on (YYYY-MM-DD; default today).
    #[arg(long)]
    at: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Purpose recorded in the audit log.
    #[arg(long, default_value = "reuse check")]
    purpose: String,
}

/// Arguments of `sohoa reuse attach`.
#[derive(clap::Args)]
pub struct AttachArgs {
    #[command(flatten)]
    store: StoreDir,
    /// The dossier that reuses the document.
    #[arg(long)]
    dossier: String,
    /// The stored document.
    #[arg(long)]
    document: String,
    /// Procedure of the dossier, when it is new.
    #[arg(long)]
    procedure: Option<String>,
    /// Handling agency of a new dossier (default: the store's only one).
    #[arg(long)]
    agency: Option<String>,
}

/// `sohoa report …`.
#[derive(clap::Subcommand)]
pub enum ReportCommand {
    /// Digitization and reuse indicators of a period (definitions: README).
    Indicators(IndicatorArgs),
}

/// Arguments of `sohoa report indicators`.
#[derive(clap::Args)]
pub struct IndicatorArgs {
    #[command(flatten)]
    store: StoreDir,
    /// First day (YYYY-MM-DD).
    #[arg(long)]
    from: String,
    /// Last day, included (YYYY-MM-DD).
    #[arg(long)]
    to: String,
    /// Only this handling agency.
    #[arg(long)]
    agency: Option<String>,
    /// Group by month, agency or procedure.
    #[arg(long, value_parser = ["month", "agency", "procedure"])]
    by: Option<String>,
    /// Print JSON.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print CSV.
    #[arg(long)]
    csv: bool,
}

/// Runs `sohoa catalog …`.
pub fn catalog(command: CatalogCommand) -> Result<()> {
    match command {
        CatalogCommand::Import { store, file } => {
            let size = std::fs::metadata(&file)
                .with_context(|| file.display().to_string())?
                .len();
            if size > MAX_CATALOG_BYTES {
                bail!(
                    "{}: {size} bytes; a catalogue file may have at most {MAX_CATALOG_BYTES}",
                    file.display()
                );
            }
            let procedures =
                catalog::parse(&read(&file)?).with_context(|| file.display().to_string())?;
            let n = store
                .open()?
                .import_catalog(&procedures)
                .with_context(|| file.display().to_string())?;
            println!("imported {n} procedures");
            Ok(())
        }
        CatalogCommand::List { store, json } => {
            let procedures = store.open()?.procedures()?;
            if json {
                return print_json(&procedures);
            }
            for p in procedures {
                let required = p.components.iter().filter(|c| c.required).count();
                println!(
                    "{}\t{}\t{} components ({required} required), {} results",
                    p.code,
                    p.name,
                    p.components.len(),
                    p.results.len()
                );
            }
            Ok(())
        }
    }
}

/// Runs `sohoa reuse …`.
pub fn reuse(command: ReuseCommand) -> Result<()> {
    match command {
        ReuseCommand::Find(args) => find(args),
        ReuseCommand::Attach(args) => attach(args),
    }
}

fn find(args: FindArgs) -> Result<()> {
    let store = args.store.open()?;
    let found = store.reuse(
        &args.citizen_id,
        &args.procedure,
        args.at.as_deref(),
        |_| true,
    )?;
    let offered = found.shown_ids();
    let action = format!(
        "reuse find citizen_id={} procedure={} at={}",
        args.citizen_id, args.procedure, found.at
    );
    audit_ids(&store, &args.purpose, action, &offered)?;
    if args.json {
        return print_json(&found);
    }
    print!("{}", on_file_text(&found));
    Ok(())
}

/// The finder's answer for a terminal.
fn on_file_text(found: &OnFile) -> String {
    let mut s = format!(
        "{} {} — {} on {}\n",
        found.procedure, found.procedure_name, found.citizen_id, found.at
    );
    for c in &found.components {
        let status = match c.status {
            Status::Available => "available",
            Status::Expired => "EXPIRED",
            Status::Missing => "missing",
        };
        let need = if c.required { "required" } else { "optional" };
        let _ = writeln!(s, "  [{status}] {} ({}, {need})", c.name, c.kind);
        for d in c.candidates.iter().chain(&c.expired) {
            let _ = writeln!(
                s,
                "      {}  {}  stored {}{}{}  dossier {}",
                d.id,
                d.title,
                d.stored_on,
                d.valid_until
                    .as_deref()
                    .map(|u| format!(", valid until {u}"))
                    .unwrap_or_default(),
                if d.certified { ", certified copy" } else { "" },
                d.dossier_code
            );
        }
    }
    s
}

fn attach(args: AttachArgs) -> Result<()> {
    let store = args.store.open()?;
    let doc = store
        .document(&args.document)?
        .ok_or_else(|| anyhow!("no document {}", args.document))?;
    let dossier = match store.dossier(&args.dossier)? {
        Some(existing) => existing,
        None => Dossier {
            code: args.dossier.clone(),
            procedure_code: args
                .procedure
                .clone()
                .ok_or_else(|| anyhow!("dossier {} is new: give its --procedure", args.dossier))?,
            citizen_id: doc.citizen_id.clone(),
            agency: choose_agency(&store, args.agency.clone())?,
            received_on: None,
            returned_on: None,
        },
    };
    store.attach(&doc.id, &dossier, &format!("cli:{}", user()))?;
    println!("attached {} to dossier {}", doc.id, dossier.code);
    Ok(())
}

/// Runs `sohoa report …`.
pub fn report(command: ReportCommand) -> Result<()> {
    let ReportCommand::Indicators(args) = command;
    let store: Store = args.store.open()?;
    let query = IndicatorQuery {
        from: args.from.clone(),
        to: args.to.clone(),
        agency: args.agency.clone(),
        by: args
            .by
            .as_deref()
            .unwrap_or("")
            .parse::<GroupBy>()
            .map_err(anyhow::Error::msg)?,
    };
    let rows = store.indicators(&query)?;
    if args.json {
        return print_json(&rows);
    }
    if args.csv {
        return print_csv(&rows);
    }
    print!("{}", indicator_table(&rows));
    Ok(())
}

fn print_csv(rows: &[Indicators]) -> Result<()> {
    let mut out = csv::Writer::from_writer(std::io::stdout());
    for row in rows {
        out.serialize(row)?;
    }
    Ok(out.flush()?)
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".into(), |r| format!("{:.1} %", r * 100.0))
}

fn indicator_table(rows: &[Indicators]) -> String {
    let mut s = format!(
        "{:<16} {:>9} {:>11} {:>9} {:>8} {:>11} {:>9} {:>9} {:>9}\n",
        "group",
        "dossiers",
        "digitized",
        "rate",
        "results",
        "digitized",
        "rate",
        "reuse",
        "certified"
    );
    for r in rows {
        let _ = writeln!(
            s,
            "{:<16} {:>9} {:>11} {:>9} {:>8} {:>11} {:>9} {:>9} {:>9}",
            r.group,
            r.dossiers,
            r.dossiers_fully_digitized,
            percent(r.digitization_rate),
            r.results,
            r.results_digitized,
            percent(r.results_digitization_rate),
            percent(r.reuse_rate),
            r.certified_copies
        );
    }
    s
}
