//! The journal of finished work, kept in the store itself.
//!
//! Each document's work is named by a key: SHA-256 over its files' relative paths and
//! content hashes, in page order, and its metadata. The store records the key in the same
//! SQLite transaction that inserts the document ([`Store::add_document_once`]), so
//! "stored" and "journaled" cannot disagree: after a crash or kill the document is either
//! stored and journaled or neither, and a re-run skips exactly the journaled keys, before
//! any OCR.
//!
//! [`Store::add_document_once`]: crate::store::Store::add_document_once

use sha2::{Digest, Sha256};

use crate::store::{NewDocument, Role};

/// Version tag hashed first, so that a change of what the key covers changes every key.
const KEY_VERSION: &[u8] = b"sohoa-batch-work-v1\n";

/// The work key of a document: its files (relative path with `/` separators, and the
/// SHA-256 of the content), in order, and the metadata that defines it (not who stores it).
pub fn work_key(files: &[(String, [u8; 32])], new: &NewDocument) -> String {
    let mut hash = Sha256::new();
    hash.update(KEY_VERSION);
    for (path, sha256) in files {
        hash.update((path.len() as u64).to_be_bytes());
        hash.update(path.as_bytes());
        hash.update(sha256);
    }
    let role = match new.role {
        Role::Component => "component",
        Role::Result => "result",
    };
    let metadata = [
        new.dossier_code.as_str(),
        new.procedure_code.as_str(),
        new.citizen_id.as_str(),
        new.agency.as_str(),
        new.kind.as_str(),
        new.title.as_str(),
        role,
        new.valid_until.as_deref().unwrap_or(""),
    ];
    for field in metadata {
        hash.update((field.len() as u64).to_be_bytes());
        hash.update(field.as_bytes());
    }
    hex::encode(hash.finalize())
}

/// SHA-256 of a file's content.
pub fn content_hash(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(title: &str) -> NewDocument {
        NewDocument {
            dossier_code: "D1".into(),
            procedure_code: "1.001193".into(),
            citizen_id: "001234567890".parse().unwrap(),
            agency: "UBND-A".into(),
            kind: "k".into(),
            title: title.parse().unwrap(),
            role: Role::Component,
            created_by: "a".into(),
            valid_until: None,
            supersedes: None,
        }
    }

    #[test]
    fn key_covers_paths_contents_order_and_metadata() {
        let a = ("d/1.png".to_string(), content_hash(b"one"));
        let b = ("d/2.png".to_string(), content_hash(b"two"));
        let key = work_key(&[a.clone(), b.clone()], &new("T"));
        assert_eq!(key.len(), 64);
        assert_eq!(key, work_key(&[a.clone(), b.clone()], &new("T")));
        let others = [
            work_key(&[b.clone(), a.clone()], &new("T")),
            work_key(std::slice::from_ref(&a), &new("T")),
            work_key(&[a.clone(), b.clone()], &new("U")),
            work_key(
                &[a.clone(), ("d/2.png".into(), content_hash(b"2"))],
                &new("T"),
            ),
        ];
        assert!(others.iter().all(|k| *k != key));
        let by_someone_else = NewDocument {
            created_by: "b".into(),
            ..new("T")
        };
        assert_eq!(key, work_key(&[a, b], &by_someone_else));
    }
}
