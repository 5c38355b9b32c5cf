//! Agencies, their API keys and the scopes of a key; opaque random ids.
//!
//! A key's secret is `sohoa_` + 43 base64url characters (32 random bytes). Only its
//! SHA-256 is stored; authentication looks the hash up and compares it in constant time.

use super::sql::{args, Sql};
use data_encoding::{BASE32_NOPAD, BASE64URL_NOPAD};
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::clock::now;
use super::{Agency, Document, KeyInfo, Scope, StoreError};
pub use crate::values::is_id;
use crate::values::{check_code, check_text, shorten, DocumentId};

/// Prefix of every key secret.
const SECRET_PREFIX: &str = "sohoa_";

/// `N` random bytes from the system's generator.
fn random<const N: usize>() -> Result<[u8; N], StoreError> {
    let mut bytes = [0u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| StoreError::Storage("the system random generator failed".into()))?;
    Ok(bytes)
}

/// A new opaque id: 26 lowercase base32 characters from 16 random bytes.
pub fn new_id() -> Result<String, StoreError> {
    Ok(BASE32_NOPAD.encode(&random::<16>()?).to_ascii_lowercase())
}

/// Checks an id coming from a caller.
pub fn check_id(s: &str) -> Result<(), StoreError> {
    DocumentId::parse(s)?;
    Ok(())
}

impl Scope {
    /// Parses `read:*`, `read:KIND`, `read:procedure:CODE` or `write`.
    pub fn parse(s: &str) -> Result<Scope, StoreError> {
        let scope = match s {
            "read:*" => Scope::ReadAll,
            "write" => Scope::Write,
            _ => match s.strip_prefix("read:") {
                Some(rest) => match rest.strip_prefix("procedure:") {
                    Some(code) => Scope::ReadProcedure(code.to_string()),
                    None => Scope::ReadKind(rest.to_string()),
                },
                None => return Err(bad_scope(s)),
            },
        };
        match &scope {
            Scope::ReadKind(v) | Scope::ReadProcedure(v) if check_code("scope", v).is_err() => {
                Err(bad_scope(s))
            }
            _ => Ok(scope),
        }
    }

    /// Whether this scope lets its key read `doc`.
    pub fn allows(&self, doc: &Document) -> bool {
        match self {
            Scope::ReadAll => true,
            Scope::ReadKind(kind) => doc.kind == *kind,
            Scope::ReadProcedure(code) => doc.procedure_code == *code,
            Scope::Write => false,
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::ReadAll => f.write_str("read:*"),
            Scope::ReadKind(k) => write!(f, "read:{k}"),
            Scope::ReadProcedure(p) => write!(f, "read:procedure:{p}"),
            Scope::Write => f.write_str("write"),
        }
    }
}

fn bad_scope(s: &str) -> StoreError {
    StoreError::Invalid(format!(
        "invalid scope {:?}: expected read:*, read:KIND, read:procedure:CODE or write",
        shorten(s)
    ))
}

/// Adds an agency; its code must be new.
pub fn add_agency(conn: &mut dyn Sql, code: &str, name: &str) -> Result<Agency, StoreError> {
    check_code("agency code", code)?;
    check_text("agency name", name, 300)?;
    let inserted = conn.execute(
        "INSERT INTO agencies (code, name, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        args![code, name, now()],
    )?;
    if inserted == 0 {
        return Err(StoreError::Invalid(format!("agency {code} already exists")));
    }
    Ok(Agency {
        code: code.into(),
        name: name.into(),
    })
}

/// All agencies, by code.
pub fn agencies(conn: &mut dyn Sql) -> Result<Vec<Agency>, StoreError> {
    conn.query_map(
        "SELECT code, name FROM agencies ORDER BY code",
        args![],
        |r| {
            Ok(Agency {
                code: r.get(0)?,
                name: r.get(1)?,
            })
        },
    )
}

/// Checks that agency `code` exists.
pub fn check_agency(conn: &mut dyn Sql, code: &str) -> Result<(), StoreError> {
    check_code("agency code", code)?;
    let found: Option<i64> =
        conn.query_opt("SELECT 1 FROM agencies WHERE code = ?1", args![code], |r| {
            r.get(0)
        })?;
    found
        .map(|_| ())
        .ok_or_else(|| StoreError::Invalid(format!("unknown agency {code}")))
}

/// Creates a key for `agency`; returns it and its secret.
pub fn create_key(
    conn: &mut dyn Sql,
    agency: &str,
    scopes: &[Scope],
) -> Result<(KeyInfo, String), StoreError> {
    check_agency(conn, agency)?;
    if scopes.is_empty() {
        return Err(StoreError::Invalid("a key needs at least one scope".into()));
    }
    let id = new_id()?;
    let secret = format!(
        "{SECRET_PREFIX}{}",
        BASE64URL_NOPAD.encode(&random::<32>()?)
    );
    let text: Vec<String> = scopes.iter().map(Scope::to_string).collect();
    conn.execute(
        "INSERT INTO api_keys (id, agency, secret_sha256, scopes, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        args![id, agency, secret_hash(&secret), text.join(" "), now()],
    )?;
    let info = KeyInfo {
        id,
        agency: agency.into(),
        scopes: scopes.to_vec(),
        revoked: false,
    };
    Ok((info, secret))
}

/// Revokes key `id` (again is fine).
pub fn revoke_key(conn: &mut dyn Sql, id: &str) -> Result<(), StoreError> {
    check_id(id)?;
    let n = conn.execute(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
        args![id, now()],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("key {id}")));
    }
    Ok(())
}

/// All keys (never their secrets).
pub fn keys(conn: &mut dyn Sql) -> Result<Vec<KeyInfo>, StoreError> {
    let rows = conn.query_map(
        "SELECT id, agency, scopes, revoked_at IS NOT NULL FROM api_keys ORDER BY created_at, id",
        args![],
        |r| Ok((r.get(0)?, r.get(1)?, r.get::<String>(2)?, r.get(3)?)),
    )?;
    let mut keys = Vec::new();
    for (id, agency, scopes, revoked) in rows {
        keys.push(KeyInfo {
            id,
            agency,
            scopes: parse_scopes(&scopes)?,
            revoked,
        });
    }
    Ok(keys)
}

/// The key whose secret is `secret`, unless unknown or revoked.
pub fn authenticate(conn: &mut dyn Sql, secret: &str) -> Result<Option<KeyInfo>, StoreError> {
    if !looks_like_secret(secret) {
        return Ok(None);
    }
    let hash = secret_hash(secret);
    let row = conn.query_opt(
        "SELECT id, agency, scopes, revoked_at IS NOT NULL, secret_sha256
         FROM api_keys WHERE secret_sha256 = ?1",
        args![hash],
        |r| {
            Ok((
                r.get::<String>(0)?,
                r.get::<String>(1)?,
                r.get::<String>(2)?,
                r.get::<bool>(3)?,
                r.get::<Vec<u8>>(4)?,
            ))
        },
    )?;
    let Some((id, agency, scopes, revoked, stored)) = row else {
        return Ok(None);
    };
    if !bool::from(stored.ct_eq(&hash)) || revoked {
        return Ok(None);
    }
    let scopes = parse_scopes(&scopes)?;
    Ok(Some(KeyInfo {
        id,
        agency,
        scopes,
        revoked,
    }))
}

fn parse_scopes(text: &str) -> Result<Vec<Scope>, StoreError> {
    text.split_whitespace()
        .map(|s| Scope::parse(s).map_err(|e| StoreError::Storage(format!("stored scope: {e}"))))
        .collect()
}

fn looks_like_secret(s: &str) -> bool {
    s.strip_prefix(SECRET_PREFIX).is_some_and(|rest| {
        rest.len() == 43
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

fn secret_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::test_store(dir.path());
        store.add_agency("UBND-A", "Ủy ban A").unwrap();
        (dir, store)
    }

    #[test]
    fn ids_are_opaque_and_checked() {
        let id = new_id().unwrap();
        assert!(is_id(&id), "{id}");
        assert_ne!(id, new_id().unwrap());
        for bad in [
            "../../etc/passwd",
            "",
            &"a".repeat(27),
            &"A".repeat(26),
            &"1".repeat(26),
        ] {
            assert!(!is_id(bad), "{bad}");
        }
    }

    #[test]
    fn keys_authenticate_until_revoked() {
        let (_dir, store) = store();
        let (key, secret) = store.create_key("UBND-A", &[Scope::ReadAll]).unwrap();
        assert!(
            secret.starts_with("sohoa_") && secret.len() == 49,
            "{secret}"
        );
        let found = store.authenticate(&secret).unwrap().unwrap();
        assert_eq!(
            (found.id.as_str(), found.scopes.clone()),
            (key.id.as_str(), vec![Scope::ReadAll])
        );
        let mut wrong = secret.clone().into_bytes();
        wrong[10] = if wrong[10] == b'A' { b'B' } else { b'A' };
        assert!(store
            .authenticate(&String::from_utf8(wrong).unwrap())
            .unwrap()
            .is_none());
        assert!(store.authenticate("").unwrap().is_none());
        assert!(store.authenticate("sohoa_' OR 1=1 --").unwrap().is_none());
        store.revoke_key(&key.id).unwrap();
        assert!(store.authenticate(&secret).unwrap().is_none());
        assert!(matches!(
            store.revoke_key(&new_id().unwrap()),
            Err(StoreError::NotFound(_))
        ));
    }

    #[test]
    fn keys_need_a_known_agency_and_a_scope() {
        let (_dir, store) = store();
        assert!(matches!(
            store.create_key("NOPE", &[Scope::Write]),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            store.create_key("UBND-A", &[]),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            store.add_agency("UBND-A", "again"),
            Err(StoreError::Invalid(_))
        ));
    }

    #[test]
    fn scopes_parse_print_and_allow() {
        for s in [
            "read:*",
            "read:giay-khai-sinh",
            "read:procedure:1.001193",
            "write",
        ] {
            assert_eq!(Scope::parse(s).unwrap().to_string(), s);
        }
        for bad in ["read:", "read", "admin", "read:a b", "read:procedure:"] {
            assert!(Scope::parse(bad).is_err(), "{bad}");
        }
        let doc: Document = serde_json::from_value(serde_json::json!({
            "id": "x", "sha256": "x", "kind": "giay-khai-sinh", "title": "t", "role": "result",
            "dossier_code": "D1", "procedure_code": "P1", "citizen_id": "001234567890",
            "agency": "A", "page_count": 1, "created_by": "me", "created_at": "now",
            "valid_until": null, "supersedes": null, "superseded_by": null, "reference": null,
            "files": []
        }))
        .unwrap();
        assert!(Scope::ReadAll.allows(&doc));
        assert!(Scope::ReadKind("giay-khai-sinh".into()).allows(&doc));
        assert!(!Scope::ReadKind("so-do".into()).allows(&doc));
        assert!(Scope::ReadProcedure("P1".into()).allows(&doc));
        assert!(!Scope::ReadProcedure("P2".into()).allows(&doc));
        assert!(!Scope::Write.allows(&doc));
    }
}
