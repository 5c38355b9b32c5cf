//! File edges of the CLI: reading inputs with their names in errors, atomic writes.

use anyhow::{anyhow, Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The settings file: `$SOHOA_CONFIG` (the service's `/etc/sohoa/sohoa.toml`), else
/// `./sohoa.toml`.
pub fn config_path() -> PathBuf {
    std::env::var_os("SOHOA_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("sohoa.toml"))
}

/// The settings file ([`config_path`]) as a table, when it exists; a syntax error is one
/// line: the file, where, then what.
pub fn config_table() -> Result<Option<toml::Table>> {
    let path = config_path();
    if !path.exists() {
        return Ok(None);
    }
    let text =
        String::from_utf8(read(&path)?).map_err(|_| anyhow!("{}: not UTF-8", path.display()))?;
    toml::from_str(&text)
        .map(Some)
        .map_err(|e: toml::de::Error| {
            let at = e.to_string().lines().next().unwrap_or_default().to_string();
            let message = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
            anyhow!("{}: {at}: {message}", path.display())
        })
}

/// The `[NAME]` table of the settings file ([`config_path`]) as `T` (`None` without the
/// file or the table); errors name the file and the table.
pub fn config_section<T: serde::de::DeserializeOwned>(name: &str) -> Result<Option<T>> {
    let Some(mut table) = config_table()? else {
        return Ok(None);
    };
    match table.remove(name) {
        None => Ok(None),
        Some(value) => value
            .try_into()
            .map(Some)
            .map_err(|e: toml::de::Error| anyhow!("sohoa.toml: [{name}]: {}", e.message())),
    }
}

/// Reads a whole file; the error names it.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))
}

/// A file written next to its destination, to be put in place by [`Staged::commit`].
pub struct Staged {
    file: tempfile::NamedTempFile,
    path: std::path::PathBuf,
}

impl Staged {
    /// Writes `bytes` to a synced temporary file in `path`'s folder.
    pub fn write(path: &Path, bytes: &[u8]) -> Result<Staged> {
        let fail = |e: std::io::Error| anyhow!("{}: cannot write: {e}", path.display());
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut file = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
        file.write_all(bytes).map_err(fail)?;
        sohoa::private_files::make_user_facing(file.path()).map_err(fail)?;
        file.as_file().sync_all().map_err(fail)?;
        Ok(Staged {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Renames the temporary file over the destination.
    pub fn commit(self) -> Result<()> {
        let path = self.path;
        self.file
            .persist(&path)
            .map_err(|e| anyhow!("{}: cannot write: {}", path.display(), e.error))?;
        Ok(())
    }
}

/// Writes through a temporary file in the same folder, synced, then renamed over `path`:
/// readers see the old file or the whole new one, never a part.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    Staged::write(path, bytes)?.commit()
}
