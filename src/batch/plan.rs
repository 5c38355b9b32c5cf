//! Planning: which files make which document, in what order, with what metadata.
//!
//! Without a manifest, each sub-folder of the input folder is one document (its image
//! files in natural name order) and each image file at the top level is a document of its
//! own. Metadata comes, first to last, from a `sohoa.json` in the document's folder, from
//! the folder (or file) name `DOSSIER_CITIZENID[_anything]`, and from the command's
//! defaults. A manifest (CSV or JSON) names instead, per document, its files and metadata.
//!
//! Planning lists files but reads none: contents are read later, a few documents at a time.

use std::cmp::Ordering;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use crate::store::{NewDocument, Role};
use crate::values::{Date, Invalid};

/// File extensions taken as pages (any case): images (JPEG 2000 too), and scanned PDFs
/// (each page's image).
pub const IMAGE_EXTENSIONS: [&str; 11] = [
    "jpg", "jpeg", "png", "tif", "tiff", "heic", "heif", "jp2", "j2k", "jpf", "pdf",
];
/// The optional metadata file in a document's folder.
pub const FOLDER_METADATA: &str = "sohoa.json";

/// What to do with a document when one of its files or pages cannot be digitized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnPageError {
    /// Store nothing for the document; it is reported as failed (and retried next run).
    SkipDocument,
    /// Store the pages that worked; the document is reported (and journaled) with the
    /// missing pages named.
    StoreFlagged,
}

/// Metadata defaults for documents that do not state their own.
#[derive(Debug, Clone)]
pub struct Defaults {
    /// Handling agency code.
    pub agency: String,
    /// Procedure code.
    pub procedure_code: Option<String>,
    /// Kind.
    pub kind: Option<String>,
    /// Title (else the folder or file name).
    pub title: Option<String>,
    /// Component or result.
    pub role: Role,
    /// Who stores the documents.
    pub created_by: String,
    /// The page error policy.
    pub on_page_error: OnPageError,
}

/// Metadata a document may state (in `sohoa.json` or a manifest row); all optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// Dossier code.
    pub dossier_code: Option<String>,
    /// Procedure code.
    pub procedure_code: Option<String>,
    /// 12-digit personal ID.
    pub citizen_id: Option<String>,
    /// Kind.
    pub kind: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Component or result.
    pub role: Option<Role>,
    /// Handling agency code.
    pub agency: Option<String>,
    /// End of validity (YYYY-MM-DD).
    pub valid_until: Option<String>,
    /// The page error policy for this document.
    pub on_page_error: Option<OnPageError>,
}

/// One document to digitize.
#[derive(Debug, Clone)]
pub struct DocumentPlan {
    /// Shown in reports: the folder or file name relative to the input folder, or the
    /// manifest's `document` column.
    pub name: String,
    /// Its files, relative to the input folder, in page order.
    pub files: Vec<PathBuf>,
    /// Its metadata, or why it cannot be had.
    pub metadata: Result<NewDocument, String>,
    /// What to do when a page fails.
    pub on_page_error: OnPageError,
}

/// Natural order: digit runs compare as numbers (`page2` before `page10`), the rest by
/// character, case-insensitively first.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        match (a.chars().next(), b.chars().next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let (na, ra) = split_digits(a);
                let (nb, rb) = split_digits(b);
                let (ta, tb) = (na.trim_start_matches('0'), nb.trim_start_matches('0'));
                let by_value = ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb));
                match by_value.then_with(|| na.len().cmp(&nb.len())) {
                    Ordering::Equal => (a, b) = (ra, rb),
                    other => return other,
                }
            }
            (Some(x), Some(y)) => {
                let by_char = x
                    .to_lowercase()
                    .cmp(y.to_lowercase())
                    .then_with(|| x.cmp(&y));
                if by_char != Ordering::Equal {
                    return by_char;
                }
                (a, b) = (&a[x.len_utf8()..], &b[y.len_utf8()..]);
            }
        }
    }
}

fn split_digits(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s.split_at(end)
}

/// Whether `path` names a page image by its extension.
pub fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// Groups the input folder into documents (see the module documentation).
pub fn plan_folder(input: &Path, defaults: &Defaults) -> Result<Vec<DocumentPlan>, String> {
    let mut plans = Vec::new();
    for entry in sorted_entries(input)? {
        let path = input.join(&entry);
        if path.is_dir() {
            let mut files = Vec::new();
            for name in sorted_entries(&path)? {
                let file = path.join(&name);
                if file.is_file() && is_image(&file) {
                    files.push(PathBuf::from(&entry).join(&name));
                }
            }
            let metadata = folder_metadata(&path.join(FOLDER_METADATA));
            plans.push(plan(&entry, files, metadata, defaults));
        } else if path.is_file() && is_image(&path) {
            let stem = Path::new(&entry)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut plan = plan(&stem, vec![PathBuf::from(&entry)], Ok(None), defaults);
            plan.name = entry;
            plans.push(plan);
        }
    }
    Ok(plans)
}

/// Visible entries of a folder (no dot files), in natural order.
fn sorted_entries(dir: &Path) -> Result<Vec<String>, String> {
    let read = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut names = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            tracing::warn!("{}: skipped a name that is not UTF-8", dir.display());
            continue;
        };
        if !name.starts_with('.') {
            names.push(name.to_string());
        }
    }
    names.sort_by(|a, b| natural_cmp(a, b));
    Ok(names)
}

fn folder_metadata(path: &Path) -> Result<Option<Metadata>, String> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// A document from its name (for the naming convention), files and stated metadata.
fn plan(
    name: &str,
    files: Vec<PathBuf>,
    stated: Result<Option<Metadata>, String>,
    defaults: &Defaults,
) -> DocumentPlan {
    let (stated, error) = match stated {
        Ok(m) => (m.unwrap_or_default(), None),
        Err(e) => (Metadata::default(), Some(e)),
    };
    let on_page_error = stated.on_page_error.unwrap_or(defaults.on_page_error);
    let metadata = match error {
        Some(e) => Err(e),
        None => resolve(name, &stated, defaults),
    };
    DocumentPlan {
        name: name.to_string(),
        files,
        metadata,
        on_page_error,
    }
}

/// The folder-name convention: `DOSSIER_CITIZENID[_anything]`.
fn from_name(name: &str) -> (Option<String>, Option<String>) {
    let mut parts = name.splitn(3, '_');
    let dossier = parts.next().filter(|d| !d.is_empty()).map(String::from);
    let citizen = parts
        .next()
        .filter(|c| c.len() == 12 && c.bytes().all(|b| b.is_ascii_digit()))
        .map(String::from);
    match citizen {
        Some(c) => (dossier, Some(c)),
        None => (None, None),
    }
}

fn resolve(name: &str, stated: &Metadata, defaults: &Defaults) -> Result<NewDocument, String> {
    let (named_dossier, named_citizen) = from_name(name);
    let need = |value: Option<String>, what: &str| {
        value.ok_or_else(|| format!("no {what}: {NAMING_HINT}"))
    };
    Ok(NewDocument {
        dossier_code: need(
            stated.dossier_code.clone().or(named_dossier),
            "dossier code",
        )?,
        citizen_id: need(stated.citizen_id.clone().or(named_citizen), "personal ID")?
            .parse()
            .map_err(|e: Invalid| e.to_string())?,
        procedure_code: need(
            stated
                .procedure_code
                .clone()
                .or(defaults.procedure_code.clone()),
            "procedure code",
        )?,
        kind: need(stated.kind.clone().or(defaults.kind.clone()), "kind")?,
        title: stated
            .title
            .clone()
            .or(defaults.title.clone())
            .unwrap_or_else(|| name.to_string())
            .parse()
            .map_err(|e: Invalid| e.to_string())?,
        agency: stated
            .agency
            .clone()
            .unwrap_or_else(|| defaults.agency.clone()),
        role: stated.role.unwrap_or(defaults.role),
        created_by: defaults.created_by.clone(),
        valid_until: stated
            .valid_until
            .as_deref()
            .map(Date::parse)
            .transpose()
            .map_err(|e| e.to_string())?,
        supersedes: None,
    })
}

const NAMING_HINT: &str =
    "name the folder DOSSIER_CITIZENID (e.g. H35.12-240101-0001_001234567890), \
     or state it in the folder's sohoa.json or the manifest";

/// Reads a manifest (`.json`: an array of objects; else CSV with a header row) naming
/// each document's files (relative to `input`) and metadata. Columns / keys: `document`
/// (optional name), `files` (in CSV separated by `;`), then any of [`Metadata`]'s fields
/// (empty CSV cells mean "not stated").
pub fn plan_manifest(
    manifest: &Path,
    bytes: &[u8],
    defaults: &Defaults,
) -> Result<Vec<DocumentPlan>, String> {
    type Object = serde_json::Map<String, serde_json::Value>;
    let at = |e: &dyn std::fmt::Display| format!("{}: {e}", manifest.display());
    let is_json = manifest
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let rows: Vec<Object> = if is_json {
        serde_json::from_slice(bytes).map_err(|e| at(&e))?
    } else {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(bytes);
        let mut rows = Vec::new();
        for row in reader.deserialize::<std::collections::BTreeMap<String, String>>() {
            let row = row.map_err(|e| at(&e))?;
            let mut object = Object::new();
            for (key, value) in row.into_iter().filter(|(_, v)| !v.is_empty()) {
                let value = if key == "files" {
                    let files = value.split(';').map(str::trim).filter(|f| !f.is_empty());
                    serde_json::Value::from(files.collect::<Vec<_>>())
                } else {
                    serde_json::Value::from(value)
                };
                object.insert(key, value);
            }
            rows.push(object);
        }
        rows
    };
    let mut plans = Vec::with_capacity(rows.len());
    for (i, mut row) in rows.into_iter().enumerate() {
        let name = match row.remove("document") {
            Some(serde_json::Value::String(s)) => s,
            _ => format!("row {}", i + 1),
        };
        let fail = |e: &dyn std::fmt::Display| at(&format!("{name}: {e}"));
        let files: Vec<String> = match row.remove("files") {
            Some(v) => serde_json::from_value(v).map_err(|e| fail(&e))?,
            None => Vec::new(),
        };
        if files.is_empty() {
            return Err(fail(&"no files"));
        }
        let files = files
            .iter()
            .map(|f| relative(f))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fail(&e))?;
        let metadata: Metadata =
            serde_json::from_value(serde_json::Value::Object(row)).map_err(|e| fail(&e))?;
        plans.push(plan(&name, files, Ok(Some(metadata)), defaults));
    }
    Ok(plans)
}

/// A manifest path: relative, without `..`, inside the input folder.
fn relative(path: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(path);
    let inside = p.components().all(|c| matches!(c, Component::Normal(_)));
    if p.as_os_str().is_empty() || !inside {
        return Err(format!(
            "{path:?}: give paths relative to the input folder, without '..'"
        ));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Defaults {
        Defaults {
            agency: "UBND-A".into(),
            procedure_code: Some("1.001193".into()),
            kind: Some("giay-khai-sinh".into()),
            title: None,
            role: Role::Component,
            created_by: "test".into(),
            on_page_error: OnPageError::SkipDocument,
        }
    }

    #[test]
    fn natural_order_compares_numbers_by_value() {
        let mut names = vec!["p10.png", "p2.png", "P1.png", "p02.png", "a.png", "p1b.png"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            names,
            ["a.png", "P1.png", "p1b.png", "p2.png", "p02.png", "p10.png"]
        );
    }

    #[test]
    fn folder_names_give_dossier_and_citizen() {
        let doc = resolve("H35-0001_001234567890_x", &Metadata::default(), &defaults()).unwrap();
        assert_eq!(
            (doc.dossier_code.as_str(), doc.citizen_id.as_str()),
            ("H35-0001", "001234567890")
        );
        assert!(resolve("H35-0001", &Metadata::default(), &defaults()).is_err());
        assert!(resolve("H35_12345", &Metadata::default(), &defaults()).is_err());
    }

    #[test]
    fn csv_and_json_manifests() {
        let csv = "document,files,dossier_code,citizen_id,title,on_page_error\n\
                   a,\"a/1.png; a/2.png\",D1,001234567890,Giấy A,store-flagged\n\
                   ,b.png,D2,009999999999,,\n";
        let plans = plan_manifest(Path::new("m.csv"), csv.as_bytes(), &defaults()).unwrap();
        assert_eq!(plans[0].files, [PathBuf::from("a/1.png"), "a/2.png".into()]);
        assert_eq!(plans[0].on_page_error, OnPageError::StoreFlagged);
        assert_eq!(plans[1].name, "row 2");
        assert_eq!(plans[1].metadata.as_ref().unwrap().title.as_str(), "row 2");
        let json = r#"[{"files": ["../etc/passwd"], "dossier_code": "D1"}]"#;
        assert!(plan_manifest(Path::new("m.json"), json.as_bytes(), &defaults()).is_err());
        let json = r#"[{"files": ["x.png"], "dossier_code": "D1", "citizen_id": "001234567890"}]"#;
        let plans = plan_manifest(Path::new("m.json"), json.as_bytes(), &defaults()).unwrap();
        assert_eq!(plans[0].metadata.as_ref().unwrap().dossier_code, "D1");
    }
}
