//! Store commands: `store add|get|list`, `search`, `fsck`, `audit verify|list`,
//! `agency add|list`, `key create|revoke|list`.
//!
//! Every command takes `--store DIR`; without it the folder comes from `store = "…"` in
//! `./sohoa.toml`, else `./store`. Reads of personal data (`store get`, `store list`,
//! `search`) are recorded in the audit log as agency `LOCAL`, key `cli:$USER`.

use anyhow::{anyhow, bail, Context, Result};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sohoa::digitize::{digitize, DigitizeOptions, Digitized, Source};
use sohoa::store::{
    AuditEntry, Backends, CopyTrust, Document, FileRole, FsckReport, Ingest, NewDocument, NewFile,
    Role, Scope, SearchQuery, Store,
};
use sohoa::values::{CitizenId, Date, DocumentId};

use super::files::{read, write_atomically};
use super::verify::certificates;

/// Agency recorded for the local command line, and created when a store has none.
const LOCAL_AGENCY: &str = "LOCAL";
/// Ids listed in one audit entry by `store list`.
const AUDIT_CHUNK: usize = 10_000;

/// The store folder option shared by every command.
#[derive(clap::Args)]
pub struct StoreDir {
    /// Store folder (default: `store` in ./sohoa.toml, else ./store).
    #[arg(long = "store", value_name = "DIR")]
    dir: Option<PathBuf>,
    /// The audit key file (`sohoa audit keygen`), kept outside the store: audit entries
    /// get a MAC under it, and `audit verify` checks every MAC.
    #[arg(long, value_name = "FILE", env = "SOHOA_AUDIT_KEY_FILE")]
    audit_key: Option<PathBuf>,
    /// The index, when not the folder's own: `sqlite:PATH` or
    /// `postgres://USER:PASSWORD@HOST:PORT/DB` (shared by several machines).
    #[arg(long, value_name = "URL", env = "SOHOA_INDEX")]
    index: Option<String>,
    /// Where file contents go, when not the folder's `blobs/`: `file:DIR` or
    /// `s3://BUCKET/PREFIX` (credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
    /// AWS_REGION).
    #[arg(long, value_name = "URL", env = "SOHOA_BLOBS")]
    blobs: Option<String>,
    /// The S3-compatible server of `s3://` blobs (e.g. http://10.0.0.5:3900; default AWS).
    #[arg(long, value_name = "URL", env = "SOHOA_S3_ENDPOINT")]
    s3_endpoint: Option<String>,
}

impl StoreDir {
    /// The store folder: the flag, else `store = "…"` in ./sohoa.toml, else `store`.
    pub fn resolve(&self) -> Result<PathBuf> {
        store_dir(self.dir.as_deref())
    }

    /// Opens the store, with the audit key when one is given.
    pub fn open(&self) -> Result<Store> {
        let dir = self.resolve()?;
        let configured = configured_backends()?;
        let backends = Backends {
            index: self.index.clone().or(configured.index),
            blobs: self.blobs.clone().or(configured.blobs),
            s3_endpoint: self.s3_endpoint.clone().or(configured.s3_endpoint),
        };
        let store = Store::open_with(&dir, &backends).with_context(|| dir.display().to_string())?;
        if let Some(path) = &self.audit_key {
            let key = read_audit_key(path)?;
            store
                .set_audit_key(&key)
                .with_context(|| path.display().to_string())?;
        }
        Ok(store)
    }
}

/// The audit key in `path` (hex, as `sohoa audit keygen` writes it).
pub(crate) fn read_audit_key(path: &Path) -> Result<Vec<u8>> {
    hex::decode(String::from_utf8_lossy(&read(path)?).trim())
        .map_err(|_| anyhow!("{}: not an audit key (hex)", path.display()))
}

/// The shared backends named at the top of ./sohoa.toml (`index = "postgres://…"`,
/// `blobs = "s3://…"`, `s3_endpoint = "…"`), for every command; flags and `SOHOA_*`
/// variables win.
fn configured_backends() -> Result<Backends> {
    let Some(table) = super::files::config_table()? else {
        return Ok(Backends::default());
    };
    let text_of = |key: &str| table.get(key).and_then(|v| v.as_str()).map(str::to_string);
    Ok(Backends {
        index: text_of("index"),
        blobs: text_of("blobs"),
        s3_endpoint: text_of("s3_endpoint"),
    })
}

/// The store folder: `flag`, else `store = "…"` in ./sohoa.toml, else `store`.
pub fn store_dir(flag: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = flag {
        return Ok(dir.to_path_buf());
    }
    let table = super::files::config_table()?.unwrap_or_default();
    match table.get("store") {
        None => Ok(PathBuf::from("store")),
        Some(toml::Value::String(dir)) => Ok(PathBuf::from(dir)),
        Some(_) => Err(anyhow!("sohoa.toml: store must be a folder name (text)")),
    }
}

/// The store's commands, flattened into the top level.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Store documents and read them back.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Full-text search (insensitive to case and diacritics) with filters.
    Search(SearchArgs),
    /// Re-hash every blob and check the index against them (exit 0 only when consistent).
    Fsck(JsonArgs),
    /// The audit log of reads.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Agencies that may hold API keys.
    #[command(subcommand)]
    Agency(AgencyCommand),
    /// API keys of agencies.
    #[command(subcommand)]
    Key(KeyCommand),
}

/// `sohoa store …`.
#[derive(clap::Subcommand)]
pub enum StoreCommand {
    /// Store a digitized or certified PDF, or digitize images and store the result;
    /// prints the stored document as JSON.
    Add(Box<AddArgs>),
    /// Print a document's metadata as JSON, or write its main file with -o.
    Get(GetArgs),
    /// List all current documents.
    List(ListArgs),
    /// Copy an embedded store (--from DIR) into shared backends (--index postgres://…,
    /// --blobs s3://…): blobs re-hashed, rows kept, the audit chain checked; resumable.
    Migrate(MigrateArgs),
}

/// Arguments of `sohoa store migrate`.
#[derive(clap::Args)]
pub struct MigrateArgs {
    /// The embedded store folder to copy.
    #[arg(long, value_name = "DIR")]
    from: PathBuf,
    /// The target: give --index (and --blobs, --s3-endpoint).
    #[command(flatten)]
    store: StoreDir,
}

/// `sohoa store migrate`: copies, then checks the target with fsck and the audit chain.
fn migrate(args: MigrateArgs) -> Result<bool> {
    if !args.from.join("index.sqlite").is_file() {
        bail!("{}: no embedded store here", args.from.display());
    }
    let source = Store::open(&args.from).with_context(|| args.from.display().to_string())?;
    let target = args.store.open()?;
    let migrated = target.migrate_from(&source, |step| eprintln!("{step}"))?;
    let mut report = target.fsck()?;
    let audit = target.verify_audit(None)?;
    report.problems.extend(audit.problems);
    report.notes.extend(audit.notes);
    for problem in &report.problems {
        println!("problem: {problem}");
    }
    println!(
        "migrated {} blobs and {} rows; {}",
        migrated.blobs,
        migrated.rows.iter().map(|(_, n)| n).sum::<u64>(),
        if report.problems.is_empty() {
            "the target checks out (fsck, audit chain)"
        } else {
            "the target has problems (see above): run the migration again"
        }
    );
    Ok(report.problems.is_empty())
}

/// Arguments of `sohoa store add`.
#[derive(clap::Args)]
pub struct AddArgs {
    #[command(flatten)]
    store: StoreDir,
    /// Dossier code.
    #[arg(long)]
    dossier: Option<String>,
    /// Procedure code (mã TTHC).
    #[arg(long)]
    procedure: Option<String>,
    /// Applicant's 12-digit personal ID number.
    #[arg(long)]
    citizen_id: Option<String>,
    /// Document kind, e.g. giay-khai-sinh.
    #[arg(long)]
    kind: Option<String>,
    /// Title.
    #[arg(long)]
    title: Option<String>,
    /// The document is the result of the procedure (default: a dossier component).
    #[arg(long)]
    result: bool,
    /// Handling agency code (default: the store's only agency, or LOCAL, created).
    #[arg(long)]
    agency: Option<String>,
    /// End of validity, YYYY-MM-DD.
    #[arg(long)]
    valid_until: Option<String>,
    /// Id of the document this one corrects.
    #[arg(long)]
    supersedes: Option<String>,
    /// Date the dossier was received, YYYY-MM-DD.
    #[arg(long)]
    received: Option<String>,
    /// Date the result was returned, YYYY-MM-DD.
    #[arg(long)]
    returned: Option<String>,
    /// Verification reference of a certified copy; it must be the one the register
    /// (`--register`) recorded for this exact file, which is also the default.
    #[arg(long)]
    reference: Option<String>,
    /// This office's certification register (default: STORE/register): a signed PDF it
    /// issued is filed as a certified copy, with the register's verification reference.
    #[arg(long, value_name = "DIR")]
    register: Option<PathBuf>,
    /// Trust anchors (PEM or DER; repeatable): a signed PDF whose signers chain to one is
    /// filed as a certified copy (without a verification reference).
    #[arg(long, value_name = "CA.pem")]
    trust: Vec<PathBuf>,
    /// Who stores it (default: $USER).
    #[arg(long)]
    created_by: Option<String>,
    /// JSON file with any of the metadata above (flags win), keys as in `store list`.
    #[arg(long)]
    metadata: Option<PathBuf>,
    /// Original inputs (scans, photos) to keep with the document.
    #[arg(long, value_name = "FILE")]
    original: Vec<PathBuf>,
    /// Folder searched first for OCR models, when digitizing (default: ./models).
    #[arg(long)]
    models: Option<PathBuf>,
    /// One PDF, or images to digitize into one (they are then kept as originals).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// Metadata read from `--metadata FILE.json`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Metadata {
    dossier_code: Option<String>,
    procedure_code: Option<String>,
    citizen_id: Option<String>,
    kind: Option<String>,
    title: Option<String>,
    role: Option<Role>,
    agency: Option<String>,
    valid_until: Option<String>,
    supersedes: Option<String>,
    received_on: Option<String>,
    returned_on: Option<String>,
    reference: Option<String>,
    created_by: Option<String>,
}

/// Arguments of `sohoa store get`.
#[derive(clap::Args)]
pub struct GetArgs {
    #[command(flatten)]
    store: StoreDir,
    /// Document id.
    id: String,
    /// Write the document's main file (certified copy, else PDF) here.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Purpose recorded in the audit log.
    #[arg(long, default_value = "local lookup")]
    purpose: String,
}

/// Arguments of `sohoa store list`.
#[derive(clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    store: StoreDir,
    /// Print a JSON array.
    #[arg(long)]
    json: bool,
    /// Purpose recorded in the audit log.
    #[arg(long, default_value = "local listing")]
    purpose: String,
}

/// Arguments of `sohoa search`.
#[derive(clap::Args)]
pub struct SearchArgs {
    #[command(flatten)]
    store: StoreDir,
    /// Words to find in the text, title, kind and codes ("dang ky" finds "Đăng ký").
    query: Option<String>,
    /// Personal ID number.
    #[arg(long)]
    citizen_id: Option<String>,
    /// Dossier code.
    #[arg(long)]
    dossier: Option<String>,
    /// Procedure code.
    #[arg(long)]
    procedure: Option<String>,
    /// Kind.
    #[arg(long)]
    kind: Option<String>,
    /// Handling agency code.
    #[arg(long)]
    agency: Option<String>,
    /// Stored on or after, YYYY-MM-DD (UTC).
    #[arg(long)]
    from: Option<String>,
    /// Stored on or before, YYYY-MM-DD (UTC).
    #[arg(long)]
    to: Option<String>,
    /// At most this many results (default 100).
    #[arg(long)]
    limit: Option<u32>,
    /// Print a JSON array.
    #[arg(long)]
    json: bool,
    /// Purpose recorded in the audit log.
    #[arg(long, default_value = "local search")]
    purpose: String,
}

/// A store folder and `--json`.
#[derive(clap::Args)]
pub struct JsonArgs {
    #[command(flatten)]
    store: StoreDir,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// `sohoa audit …`.
#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain, and every MAC with --audit-key (exit 0 only when it holds).
    Verify {
        #[command(flatten)]
        args: JsonArgs,
        /// A head hash recorded earlier (printed by this command): it must still be in
        /// the chain, so removing the newest entries is caught.
        #[arg(long, value_name = "HASH")]
        head: Option<String>,
    },
    /// Write a new random audit key (hex, mode 0600) to FILE; keep it outside the store.
    Keygen {
        /// Where to write it (must not exist).
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: PathBuf,
    },
    /// Print the newest entries as JSON, newest first.
    List {
        #[command(flatten)]
        store: StoreDir,
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

/// `sohoa agency …`.
#[derive(clap::Subcommand)]
pub enum AgencyCommand {
    /// Add an agency.
    Add {
        #[command(flatten)]
        store: StoreDir,
        /// Short code, e.g. UBND-XA-TN.
        #[arg(long)]
        code: String,
        /// Name.
        #[arg(long)]
        name: String,
    },
    /// List agencies as JSON.
    List(StoreDir),
}

/// `sohoa key …`.
#[derive(clap::Subcommand)]
pub enum KeyCommand {
    /// Create an API key; prints it once (only its hash is kept) with its id, as JSON.
    Create {
        #[command(flatten)]
        store: StoreDir,
        /// Owning agency code.
        #[arg(long)]
        agency: String,
        /// Scopes: read:*, read:KIND, read:procedure:CODE, write.
        #[arg(long, num_args = 1.., required = true)]
        scope: Vec<String>,
    },
    /// Revoke a key by id.
    Revoke {
        #[command(flatten)]
        store: StoreDir,
        /// Key id.
        id: String,
    },
    /// List keys (never their secrets) as JSON.
    List(StoreDir),
}

/// Runs a store command; `Ok(false)` when a check found problems.
pub fn run(command: Command) -> Result<bool> {
    match command {
        Command::Store(StoreCommand::Add(args)) => add(*args).map(|()| true),
        Command::Store(StoreCommand::Get(args)) => get(args).map(|()| true),
        Command::Store(StoreCommand::List(args)) => list(args).map(|()| true),
        Command::Store(StoreCommand::Migrate(args)) => migrate(args),
        Command::Search(args) => search(args).map(|()| true),
        Command::Fsck(args) => check(&args, Store::fsck, "store is consistent"),
        Command::Audit(AuditCommand::Verify { args, head }) => check(
            &args,
            |store| store.verify_audit(head.as_deref()),
            "audit chain holds",
        ),
        Command::Audit(AuditCommand::Keygen { output }) => audit_keygen(&output).map(|()| true),
        Command::Audit(AuditCommand::List { store, limit }) => {
            print_json(&store.open()?.audit_entries(limit)?).map(|()| true)
        }
        Command::Agency(command) => agency(command).map(|()| true),
        Command::Key(command) => key(command).map(|()| true),
    }
}

pub(crate) fn print_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<()> {
    let json = serde_json::to_string_pretty(value)?;
    println!("{json}");
    Ok(())
}

pub(crate) fn user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "local".into())
}

/// Records a read by the local user.
pub(crate) fn audit(store: &Store, purpose: &str, action: String, docs: &[Document]) -> Result<()> {
    let ids: Vec<String> = docs.iter().map(|d| d.id.clone()).collect();
    audit_ids(store, purpose, action, &ids)
}

/// Records a read by the local user of the documents `ids`.
pub(crate) fn audit_ids(
    store: &Store,
    purpose: &str,
    action: String,
    ids: &[String],
) -> Result<()> {
    let chunks: Vec<&[String]> = if ids.is_empty() {
        vec![&[]]
    } else {
        ids.chunks(AUDIT_CHUNK).collect()
    };
    for chunk in chunks {
        let entry = AuditEntry {
            agency: LOCAL_AGENCY.into(),
            key_id: format!("cli:{}", user()),
            purpose: purpose.into(),
            action: action.clone(),
            returned: chunk.to_vec(),
        };
        store.audit(&entry)?;
    }
    Ok(())
}

fn add(args: AddArgs) -> Result<()> {
    let store = args.store.open()?;
    let meta = match &args.metadata {
        Some(path) => serde_json::from_slice(&read(path)?)
            .with_context(|| format!("{}: invalid metadata", path.display()))?,
        None => Metadata::default(),
    };
    let agency = choose_agency(&store, args.agency.clone().or(meta.agency.clone()))?;
    let new = new_document(&args, &meta, agency)?;
    let claimed = args.reference.clone().or(meta.reference.clone());
    let doc = store.ingest(&ingest(&args, new, claimed.as_deref())?)?;
    let received = args.received.as_deref().or(meta.received_on.as_deref());
    let returned = args.returned.as_deref().or(meta.returned_on.as_deref());
    if received.is_some() || returned.is_some() {
        store.set_dossier_dates(&doc.dossier_code, received, returned)?;
    }
    print_json(&doc)
}

/// The agency asked for, else the store's only one, else LOCAL (created).
pub(crate) fn choose_agency(store: &Store, asked: Option<String>) -> Result<String> {
    if let Some(code) = asked {
        return Ok(code);
    }
    let agencies = store.agencies()?;
    match agencies.as_slice() {
        [] => {
            store.add_agency(LOCAL_AGENCY, "Local office")?;
            Ok(LOCAL_AGENCY.into())
        }
        [only] => Ok(only.code.clone()),
        _ => Err(anyhow!(
            "the store has several agencies: choose one with --agency"
        )),
    }
}

fn new_document(args: &AddArgs, meta: &Metadata, agency: String) -> Result<NewDocument> {
    let need = |flag: &Option<String>, key: &Option<String>, name: &str| {
        flag.clone()
            .or_else(|| key.clone())
            .ok_or_else(|| anyhow!("missing --{name} (or its key in --metadata)"))
    };
    Ok(NewDocument {
        dossier_code: need(&args.dossier, &meta.dossier_code, "dossier")?,
        procedure_code: need(&args.procedure, &meta.procedure_code, "procedure")?,
        citizen_id: need(&args.citizen_id, &meta.citizen_id, "citizen-id")?.parse()?,
        kind: need(&args.kind, &meta.kind, "kind")?,
        title: need(&args.title, &meta.title, "title")?.parse()?,
        agency,
        role: if args.result {
            Role::Result
        } else {
            meta.role.unwrap_or(Role::Component)
        },
        created_by: args
            .created_by
            .clone()
            .or(meta.created_by.clone())
            .unwrap_or_else(user),
        valid_until: args
            .valid_until
            .as_deref()
            .or(meta.valid_until.as_deref())
            .map(Date::parse)
            .transpose()?,
        supersedes: args
            .supersedes
            .as_deref()
            .or(meta.supersedes.as_deref())
            .map(DocumentId::parse)
            .transpose()?,
    })
}

/// Reads the PDF (or digitizes the images, kept as originals) and `--original` files.
fn ingest(args: &AddArgs, new: NewDocument, claimed: Option<&str>) -> Result<Ingest> {
    let mut inputs = Vec::new();
    for path in &args.files {
        let bytes = read(path)?;
        let named_pdf = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("pdf"));
        if named_pdf && !bytes.starts_with(b"%PDF-") {
            bail!("{}: not a PDF (no %PDF- header)", path.display());
        }
        if bytes.starts_with(b"%PDF-") && args.files.len() > 1 {
            bail!("store add takes one PDF, or images to digitize");
        }
        inputs.push((path, bytes));
    }
    let mut ingest = match inputs.as_slice() {
        [(path, bytes)] if bytes.starts_with(b"%PDF-") => {
            read_pdf(path, bytes.clone(), new, &copy_trust(args)?, claimed)?
        }
        _ => {
            let digitized = digitize_inputs(&inputs, args.models.clone())?;
            let originals = inputs
                .into_iter()
                .map(|(path, bytes)| new_file(FileRole::Original, path, bytes))
                .collect();
            Ingest::from_pages(new, pdf_name(&args.files[0]), &digitized, originals, false)?
        }
    };
    for path in &args.original {
        ingest
            .files
            .push(new_file(FileRole::Original, path, read(path)?));
    }
    Ok(ingest)
}

fn new_file(role: FileRole, path: &Path, bytes: Vec<u8>) -> NewFile {
    NewFile {
        role,
        name: file_name_of(path),
        bytes,
    }
}

fn pdf_name(first: &Path) -> String {
    let stem = first.file_stem().map(|s| s.to_string_lossy().into_owned());
    format!("{}.pdf", stem.unwrap_or_else(|| "document".into()))
}

/// Trust anchors and register a signed PDF is checked against.
struct CopyTrustArgs {
    anchors: Vec<Vec<u8>>,
    register: PathBuf,
}

fn copy_trust(args: &AddArgs) -> Result<CopyTrustArgs> {
    let mut anchors = Vec::new();
    for path in &args.trust {
        anchors.extend(certificates(&read(path)?).with_context(|| path.display().to_string())?);
    }
    let register = match &args.register {
        Some(dir) => dir.clone(),
        None => args.store.resolve()?.join("register"),
    };
    Ok(CopyTrustArgs { anchors, register })
}

/// The PDF as it is ([`Ingest::from_pdf`]); warns when its text cannot be read and when
/// a signed PDF is not filed as a certified copy.
fn read_pdf(
    path: &Path,
    bytes: Vec<u8>,
    new: NewDocument,
    trust: &CopyTrustArgs,
    claimed: Option<&str>,
) -> Result<Ingest> {
    let trust = CopyTrust {
        anchors: &trust.anchors,
        register: Some(&trust.register),
    };
    let (ingest, facts) = Ingest::from_pdf(new, file_name_of(path), bytes, &trust, claimed)
        .with_context(|| path.display().to_string())?;
    if let Some(e) = &facts.text_error {
        eprintln!(
            "sohoa: warning: {}: some text could not be extracted ({e})",
            path.display()
        );
    }
    if facts.text.trim().is_empty() {
        eprintln!(
            "sohoa: warning: {}: no text layer; stored without text",
            path.display()
        );
    }
    if facts.signed && ingest.files[0].role != FileRole::Certified {
        eprintln!(
            "sohoa: warning: {}: its signature does not verify, or its signer is neither this \
             office's register nor a trust anchor (--trust): stored as an ordinary PDF, with \
             the verification report",
            path.display()
        );
    }
    Ok(ingest)
}

fn file_name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn digitize_inputs(
    inputs: &[(&PathBuf, Vec<u8>)],
    models_dir: Option<PathBuf>,
) -> Result<Digitized> {
    let sources: Vec<Source> = inputs
        .iter()
        .map(|(path, bytes)| Source::new(path.display().to_string(), bytes.clone()))
        .collect();
    let options = DigitizeOptions {
        models_dir,
        ..DigitizeOptions::default()
    };
    Ok(digitize(&sources, &options)?)
}

fn get(args: GetArgs) -> Result<()> {
    let store = args.store.open()?;
    let doc = store
        .document(&args.id)?
        .ok_or_else(|| anyhow!("no document {}", args.id))?;
    audit(
        &store,
        &args.purpose,
        format!("store get {}", doc.id),
        std::slice::from_ref(&doc),
    )?;
    match &args.output {
        Some(path) => {
            let bytes = store.read_blob(&doc.sha256)?;
            write_atomically(path, &bytes)
        }
        None => print_json(&doc),
    }
}

fn list(args: ListArgs) -> Result<()> {
    let store = args.store.open()?;
    let docs = store.list()?;
    audit(&store, &args.purpose, "store list".into(), &docs)?;
    print_documents(&docs, args.json)
}

fn print_documents(docs: &[Document], json: bool) -> Result<()> {
    if json {
        return print_json(docs);
    }
    for d in docs {
        println!(
            "{}  {}  {}  {}  {}  {}",
            d.id,
            &d.sha256[..12.min(d.sha256.len())],
            d.dossier_code,
            d.citizen_id,
            d.kind,
            d.title
        );
    }
    Ok(())
}

fn search(args: SearchArgs) -> Result<()> {
    let store = args.store.open()?;
    let query = SearchQuery {
        text: args.query.clone(),
        citizen_id: args
            .citizen_id
            .as_deref()
            .map(CitizenId::parse)
            .transpose()?,
        dossier_code: args.dossier.clone(),
        procedure_code: args.procedure.clone(),
        kind: args.kind.clone(),
        agency: args.agency.clone(),
        from: args.from.as_deref().map(Date::parse).transpose()?,
        to: args.to.as_deref().map(Date::parse).transpose()?,
        limit: args.limit,
    };
    let docs = store.search(&query)?;
    let action = search_action(&query)?;
    audit(&store, &args.purpose, action, &docs)?;
    print_documents(&docs, args.json)
}

/// `search` and the query's given fields as JSON, for the audit log.
fn search_action(query: &SearchQuery) -> Result<String> {
    let mut value = serde_json::to_value(query)?;
    if let Some(fields) = value.as_object_mut() {
        fields.retain(|_, v| !v.is_null());
    }
    Ok(format!("search {value}"))
}

/// Writes 32 random bytes as hex to a new file only its owner may read.
fn audit_keygen(path: &Path) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut key = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut key)
        .map_err(|_| anyhow!("the system random generator failed"))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("{}: cannot create", path.display()))?;
    writeln!(file, "{}", hex::encode(key))
        .and_then(|()| file.sync_all())
        .with_context(|| format!("{}: cannot write", path.display()))?;
    println!(
        "audit key written to {} (keep it outside the store)",
        path.display()
    );
    Ok(())
}

/// Runs a check and prints its report; `Ok(false)` when it found problems.
fn check(
    args: &JsonArgs,
    f: impl FnOnce(&Store) -> Result<FsckReport, sohoa::store::StoreError>,
    ok: &str,
) -> Result<bool> {
    let report = f(&args.store.open()?)?;
    if args.json {
        print_json(&report)?;
    } else {
        for p in &report.problems {
            println!("problem: {p}");
        }
        for n in &report.notes {
            println!("note: {n}");
        }
        match report.problems.len() {
            0 => println!("{ok} ({} checked)", report.blobs_checked),
            n => println!("{n} problem(s) ({} checked)", report.blobs_checked),
        }
    }
    Ok(report.problems.is_empty())
}

fn agency(command: AgencyCommand) -> Result<()> {
    match command {
        AgencyCommand::Add { store, code, name } => {
            print_json(&store.open()?.add_agency(&code, &name)?)
        }
        AgencyCommand::List(store) => print_json(&store.open()?.agencies()?),
    }
}

fn key(command: KeyCommand) -> Result<()> {
    match command {
        KeyCommand::Create {
            store,
            agency,
            scope,
        } => {
            let scopes = scope
                .iter()
                .map(|s| Scope::parse(s))
                .collect::<Result<Vec<_>, _>>()?;
            let (info, secret) = store.open()?.create_key(&agency, &scopes)?;
            let scopes: Vec<String> = info.scopes.iter().map(Scope::to_string).collect();
            eprintln!("sohoa: the key is shown only now: keep it safe");
            print_json(&serde_json::json!({
                "id": info.id, "key": secret, "agency": info.agency, "scopes": scopes,
            }))
        }
        KeyCommand::Revoke { store, id } => {
            store.open()?.revoke_key(&id)?;
            println!("revoked {id}");
            Ok(())
        }
        KeyCommand::List(store) => {
            let keys = store.open()?.keys()?;
            let json: Vec<_> = keys
                .iter()
                .map(|k| {
                    let scopes: Vec<String> = k.scopes.iter().map(Scope::to_string).collect();
                    serde_json::json!({
                        "id": k.id, "agency": k.agency, "scopes": scopes, "revoked": k.revoked,
                    })
                })
                .collect();
            print_json(&json)
        }
    }
}
