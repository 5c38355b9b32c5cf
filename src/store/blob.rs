//! Content-addressed blobs: the [`BlobStore`] trait and its filesystem implementation.
//!
//! A blob lives at `blobs/ab/abcdef…` (its SHA-256 in lowercase hex, the first two
//! characters as a fan-out folder). It is written to a temporary file in that folder,
//! synced, renamed into place and the folder synced: a crash leaves the whole blob or
//! none (and perhaps a `.tmp-*` file, which fsck notes).

use std::fs::File;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use super::StoreError;

/// The storage of file contents behind [`super::Store`], so that an S3-compatible
/// backend can be added without touching callers. Blobs are named by the SHA-256 of
/// their content; identical content is stored once.
pub trait BlobStore: Send + Sync {
    /// Stores `bytes` durably and returns their SHA-256 (lowercase hex).
    fn put(&self, bytes: &[u8]) -> Result<String, StoreError>;
    /// The content of blob `sha256`, checked against its name.
    fn get(&self, sha256: &str) -> Result<Vec<u8>, StoreError>;
    /// Whether blob `sha256` exists.
    fn exists(&self, sha256: &str) -> Result<bool, StoreError>;
    /// Names of all blobs.
    fn list(&self) -> Result<Vec<String>, StoreError>;
    /// Things in the storage that are not blobs (e.g. leftover temporary files), for fsck.
    fn strays(&self) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }
    /// Stores a working file (not content-addressed, replaced by the next put of its key,
    /// removable: the web page's drafts) under `key` (see [`check_scratch_key`]); the file
    /// is seen whole or not at all.
    fn put_scratch(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError>;
    /// The working file `key` (NotFound when there is none).
    fn get_scratch(&self, key: &str) -> Result<Vec<u8>, StoreError>;
    /// Removes every working file under `prefix` (none is fine).
    fn remove_scratch(&self, prefix: &str) -> Result<(), StoreError>;
    /// The working files under `prefix`: key and last modification.
    fn scratch_list(&self, prefix: &str) -> Result<Vec<(String, SystemTime)>, StoreError>;
}

/// Checks a working file's key: 1–200 characters, `/`-separated segments of letters,
/// digits, `.`, `_` and `-`, none empty or starting with `.`.
pub fn check_scratch_key(key: &str) -> Result<(), StoreError> {
    let ok = (1..=200).contains(&key.len())
        && key.split('/').all(|segment| {
            !segment.is_empty()
                && !segment.starts_with('.')
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        });
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "invalid working file name {:?}",
            crate::values::shorten(key)
        )))
    }
}

/// The folder of working files inside a blob folder (skipped by list and fsck).
const SCRATCH: &str = ".scratch";

/// Whether `s` is a SHA-256 in lowercase hex: the only blob names ever turned into paths.
pub use crate::values::is_sha256;

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Checks a blob name coming from a caller.
pub fn check_sha256(s: &str) -> Result<(), StoreError> {
    if is_sha256(s) {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "invalid SHA-256 {:?}: expected 64 lowercase hex digits",
            crate::values::shorten(s)
        )))
    }
}

/// Blobs in a directory on the local filesystem.
pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    /// Blobs under `root` (created when missing).
    pub fn open(root: &Path) -> Result<FsBlobStore, StoreError> {
        crate::private_files::create_dir(root).map_err(|e| io_error(root, e))?;
        Ok(FsBlobStore {
            root: root.to_path_buf(),
        })
    }

    /// Where blob `sha256` lives (the name must have been checked).
    fn path(&self, sha256: &str) -> PathBuf {
        self.root.join(&sha256[..2]).join(sha256)
    }

    /// Calls `f` with every file (path, name) in the fan-out folders.
    fn walk(&self, mut f: impl FnMut(&Path, &str)) -> Result<(), StoreError> {
        for dir in read_dir(&self.root)? {
            if !dir.is_dir() || dir.file_name() == Some(SCRATCH.as_ref()) {
                continue;
            }
            for file in read_dir(&dir)? {
                let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
                f(&file, name);
            }
        }
        Ok(())
    }

    /// Writes `bytes` to a synced temporary file in `dir` and renames it to `path`.
    fn write_new(&self, dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
        let fail = |e| io_error(path, e);
        if !dir.exists() {
            std::fs::create_dir_all(dir).map_err(fail)?;
            sync_dir(&self.root)?;
        }
        let mut temp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(dir)
            .map_err(fail)?;
        temp.write_all(bytes).map_err(fail)?;
        temp.as_file().sync_all().map_err(fail)?;
        temp.persist(path).map_err(|e| fail(e.error))?;
        sync_dir(dir)
    }
}

impl FsBlobStore {
    fn scratch_path(&self, key: &str) -> Result<PathBuf, StoreError> {
        check_scratch_key(key)?;
        Ok(self.root.join(SCRATCH).join(key))
    }
}

/// Every file under `dir`, with its key relative to `base` and its modification time.
fn files_under(
    base: &Path,
    dir: &Path,
    out: &mut Vec<(String, SystemTime)>,
) -> Result<(), StoreError> {
    for path in read_dir(dir)? {
        if path.is_dir() {
            files_under(base, &path, out)?;
        } else if let Ok(modified) = path.metadata().and_then(|m| m.modified()) {
            let key = path.strip_prefix(base).unwrap_or(&path);
            out.push((key.to_string_lossy().into_owned(), modified));
        }
    }
    Ok(())
}

impl BlobStore for FsBlobStore {
    fn put(&self, bytes: &[u8]) -> Result<String, StoreError> {
        let sha256 = sha256_hex(bytes);
        let path = self.path(&sha256);
        match std::fs::metadata(&path) {
            // Same name and size: the same content (fsck re-hashes).
            Ok(m) if m.len() == bytes.len() as u64 => return Ok(sha256),
            Ok(_) => tracing::warn!("blob {sha256} has the wrong size; rewriting it"),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&path, e)),
        }
        let dir = self.root.join(&sha256[..2]);
        self.write_new(&dir, &path, bytes)?;
        Ok(sha256)
    }

    fn get(&self, sha256: &str) -> Result<Vec<u8>, StoreError> {
        check_sha256(sha256)?;
        let path = self.path(sha256);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(StoreError::NotFound(format!("blob {sha256}")))
            }
            Err(e) => return Err(io_error(&path, e)),
        };
        if sha256_hex(&bytes) != sha256 {
            return Err(StoreError::Storage(format!(
                "blob {sha256} is corrupt: its content does not match its name"
            )));
        }
        Ok(bytes)
    }

    fn exists(&self, sha256: &str) -> Result<bool, StoreError> {
        check_sha256(sha256)?;
        Ok(self.path(sha256).is_file())
    }

    fn list(&self) -> Result<Vec<String>, StoreError> {
        let mut names = Vec::new();
        self.walk(|path, name| {
            if is_sha256(name)
                && path.parent().and_then(Path::file_name) == Some(name[..2].as_ref())
            {
                names.push(name.to_string());
            }
        })?;
        names.sort();
        Ok(names)
    }

    fn put_scratch(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.scratch_path(key)?;
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        crate::private_files::create_dir(&dir).map_err(|e| io_error(&dir, e))?;
        let fail = |e| io_error(&path, e);
        let mut temp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&dir)
            .map_err(fail)?;
        temp.write_all(bytes).map_err(fail)?;
        temp.persist(&path).map_err(|e| fail(e.error))?;
        Ok(())
    }

    fn get_scratch(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.scratch_path(key)?;
        match std::fs::read(&path) {
            Ok(bytes) => Ok(bytes),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                Err(StoreError::NotFound(format!("working file {key}")))
            }
            Err(e) => Err(io_error(&path, e)),
        }
    }

    fn remove_scratch(&self, prefix: &str) -> Result<(), StoreError> {
        let path = self.scratch_path(prefix)?;
        match std::fs::remove_dir_all(&path) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(io_error(&path, e)),
            _ => Ok(()),
        }
    }

    fn scratch_list(&self, prefix: &str) -> Result<Vec<(String, SystemTime)>, StoreError> {
        let path = self.scratch_path(prefix)?;
        let mut files = Vec::new();
        if path.is_dir() {
            files_under(&self.root.join(SCRATCH), &path, &mut files)?;
        }
        Ok(files)
    }

    /// Files in the fan-out folders that are not blobs (leftover temporary files).
    fn strays(&self) -> Result<Vec<String>, StoreError> {
        let mut strays = Vec::new();
        self.walk(|path, name| {
            if !is_sha256(name)
                || path.parent().and_then(Path::file_name) != Some(name[..2].as_ref())
            {
                strays.push(path.display().to_string());
            }
        })?;
        Ok(strays)
    }
}

/// Entries of a directory, sorted.
fn read_dir(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
        paths.push(entry.map_err(|e| io_error(dir, e))?.path());
    }
    paths.sort();
    Ok(paths)
}

/// Makes a rename or a new entry in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(dir, e))
}

fn io_error(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::io(path, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn working_files_stay_out_of_blobs_and_their_names_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FsBlobStore::open(dir.path()).unwrap();
        let name = blobs.put(b"content").unwrap();
        blobs.put_scratch("drafts/abc/draft.json", b"{}").unwrap();
        blobs.put_scratch("drafts/abc/f0.bin", b"page").unwrap();
        assert_eq!(blobs.get_scratch("drafts/abc/f0.bin").unwrap(), b"page");
        assert_eq!(blobs.list().unwrap(), vec![name]);
        assert!(blobs.strays().unwrap().is_empty());
        let mut listed: Vec<String> = blobs
            .scratch_list("drafts")
            .unwrap()
            .into_iter()
            .map(|(key, _)| key)
            .collect();
        listed.sort();
        assert_eq!(listed, ["drafts/abc/draft.json", "drafts/abc/f0.bin"]);
        for bad in [
            "../x",
            "drafts/../../etc",
            "a//b",
            ".scratch/x",
            "/abs",
            "",
            "a/b c",
        ] {
            assert!(
                matches!(blobs.put_scratch(bad, b"x"), Err(StoreError::Invalid(_))),
                "{bad:?} was accepted"
            );
        }
        blobs.remove_scratch("drafts/abc").unwrap();
        assert!(matches!(
            blobs.get_scratch("drafts/abc/f0.bin"),
            Err(StoreError::NotFound(_))
        ));
        blobs.remove_scratch("drafts/abc").unwrap();
    }

    #[test]
    fn identical_content_is_stored_once() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FsBlobStore::open(dir.path()).unwrap();
        let a = blobs.put(b"hello").unwrap();
        assert_eq!(blobs.put(b"hello").unwrap(), a);
        assert_eq!(blobs.list().unwrap(), vec![a.clone()]);
        assert_eq!(blobs.get(&a).unwrap(), b"hello");
        assert!(blobs.strays().unwrap().is_empty());
    }

    #[test]
    fn names_are_checked_before_any_path_is_built() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FsBlobStore::open(dir.path()).unwrap();
        for bad in ["../../etc/passwd", "", &"A".repeat(64), &"0".repeat(63)] {
            assert!(
                matches!(blobs.get(bad), Err(StoreError::Invalid(_))),
                "{bad}"
            );
        }
        let missing = "0".repeat(64);
        assert!(matches!(blobs.get(&missing), Err(StoreError::NotFound(_))));
    }

    #[test]
    fn a_corrupt_blob_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FsBlobStore::open(dir.path()).unwrap();
        let name = blobs.put(b"hello").unwrap();
        std::fs::write(dir.path().join(&name[..2]).join(&name), b"jello").unwrap();
        assert!(matches!(blobs.get(&name), Err(StoreError::Storage(_))));
    }
}
