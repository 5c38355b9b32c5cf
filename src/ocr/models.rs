//! Finding OCR model files and proving which ones were used.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::OcrError;

/// The manifest compiled into sohoa: the model files it accepts, with checksums.
const MANIFEST: &str = include_str!("../../models/manifest.toml");

/// System folders where Debian's tesseract packages put their models.
const SYSTEM_TESSDATA: [&str; 2] = [
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
];

/// One entry of `models/manifest.toml`.
#[derive(Debug, Clone, Deserialize)]
pub struct ManifestEntry {
    /// Tesseract language code, e.g. `vie`.
    pub language: String,
    /// File name, e.g. `vie.traineddata`.
    pub file: String,
    /// Expected SHA-256, lowercase hex.
    pub sha256: String,
    /// Debian package that provides the file.
    pub package: String,
    /// Where the file comes from.
    pub source: String,
}

#[derive(Deserialize)]
struct Manifest {
    model: Vec<ManifestEntry>,
}

/// A model file that was found and whose checksum matched: the provenance recorded in reports.
#[derive(Debug, Clone, Serialize)]
pub struct Model {
    /// Tesseract language code.
    pub language: String,
    /// Path of the file that was loaded.
    pub path: PathBuf,
    /// Its SHA-256.
    pub sha256: String,
    /// Where it comes from, per the manifest.
    pub source: String,
}

impl Model {
    /// The folder to hand to Tesseract as its data path.
    pub fn tessdata_dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }
}

fn manifest_entry(language: &str) -> Result<ManifestEntry, OcrError> {
    let manifest: Manifest = toml::from_str(MANIFEST)
        .map_err(|e| OcrError::Model(format!("models/manifest.toml: {e}")))?;
    manifest
        .model
        .into_iter()
        .find(|m| m.language == language)
        .ok_or_else(|| {
            OcrError::Model(format!(
                "no model for language '{language}' in models/manifest.toml"
            ))
        })
}

/// Folders searched for models, in order: `explicit` (or `./models`), `$TESSDATA_PREFIX`
/// (and its `tessdata` sub-folder), then the system folders.
pub fn search_path(explicit: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs = vec![explicit.map_or_else(|| PathBuf::from("models"), Path::to_path_buf)];
    if let Some(prefix) = std::env::var_os("TESSDATA_PREFIX") {
        let prefix = PathBuf::from(prefix);
        dirs.push(prefix.join("tessdata"));
        dirs.push(prefix);
    }
    dirs.extend(SYSTEM_TESSDATA.iter().map(PathBuf::from));
    dirs
}

/// Finds the model for `language` on the search path and checks its SHA-256 against the manifest.
pub fn locate(language: &str, explicit_dir: Option<&Path>) -> Result<Model, OcrError> {
    let entry = manifest_entry(language)?;
    let dirs = search_path(explicit_dir);
    let path = dirs
        .iter()
        .map(|d| d.join(&entry.file))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            OcrError::Model(format!(
                "OCR model {} not found in {}; install it with: apt-get install {}",
                entry.file,
                dirs.iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                entry.package
            ))
        })?;
    let bytes =
        std::fs::read(&path).map_err(|e| OcrError::Model(format!("{}: {e}", path.display())))?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    if sha256 != entry.sha256 {
        return Err(OcrError::Model(format!(
            "{} has SHA-256 {sha256}, but models/manifest.toml expects {} ({}); install the listed package or update the manifest",
            path.display(),
            entry.sha256,
            entry.source
        )));
    }
    Ok(Model {
        language: entry.language,
        path,
        sha256,
        source: entry.source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_parses_and_lists_vietnamese() {
        let entry = manifest_entry("vie").unwrap();
        assert_eq!(entry.file, "vie.traineddata");
        assert_eq!(entry.sha256.len(), 64);
        assert!(manifest_entry("klingon").is_err());
    }

    #[test]
    fn wrong_checksum_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("vie.traineddata"), b"not a model").unwrap();
        let err = locate("vie", Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("SHA-256"), "{err}");
    }
}
