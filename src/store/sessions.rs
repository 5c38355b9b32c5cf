//! Web sessions in the index, so that any `sohoa serve` instance sharing it recognises
//! a clerk signed in on another. A session is stored by the SHA-256 of its token (a
//! copy of the database gives no usable cookie), with its CSRF token, the user's
//! password epoch at sign-in and an expiry; it holds only while the user exists, is
//! enabled and has not changed password since.

use sha2::{Digest, Sha256};

use std::time::Duration;

use super::clock::{after, now};
use super::sql::{args, Sql};
use super::users::{self, User};
use super::StoreError;

/// A stored session's user and CSRF token.
#[derive(Debug, Clone)]
pub struct StoredSession {
    /// The user, as stored now.
    pub user: User,
    /// The token every form of the session must carry.
    pub csrf: String,
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Records a new session of `user` for `lifetime`; drops expired ones.
pub fn start(
    tx: &mut dyn Sql,
    token: &str,
    user: &User,
    csrf: &str,
    lifetime: Duration,
) -> Result<(), StoreError> {
    tx.execute("DELETE FROM sessions WHERE expires_at < ?1", args![now()])?;
    tx.execute(
        "INSERT INTO sessions (token_sha256, username, csrf, epoch, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        args![
            token_hash(token),
            user.username,
            csrf,
            user.epoch,
            after(lifetime)
        ],
    )?;
    Ok(())
}

/// The live session of `token`: not expired, its user enabled and of the same epoch.
pub fn find(conn: &mut dyn Sql, token: &str) -> Result<Option<StoredSession>, StoreError> {
    let found: Option<(String, String, i64)> = conn.query_opt(
        "SELECT username, csrf, epoch FROM sessions WHERE token_sha256 = ?1 AND expires_at > ?2",
        args![token_hash(token), now()],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let Some((username, csrf, epoch)) = found else {
        return Ok(None);
    };
    Ok(users::user(conn, &username)?
        .filter(|u| !u.disabled && u.epoch == epoch)
        .map(|user| StoredSession { user, csrf }))
}

/// Ends the session of `token` (again is fine).
pub fn end(tx: &mut dyn Sql, token: &str) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM sessions WHERE token_sha256 = ?1",
        args![token_hash(token)],
    )?;
    Ok(())
}
