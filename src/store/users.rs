//! Clerk accounts of the web page: roles, argon2 password hashes, lock-out after
//! repeated failures.
//!
//! Hashing (tens of milliseconds by design) runs outside any transaction; only the
//! counters are written under the store's write lock.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::index::{check_text, now};
use super::StoreError;

/// Consecutive wrong passwords that lock an account.
pub const MAX_FAILURES: u32 = 5;
/// How long a locked account stays locked, in minutes.
pub const LOCK_MINUTES: i64 = 15;
/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// What a user may do on the web page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UserRole {
    /// Digitize and store (cán bộ tiếp nhận).
    Clerk,
    /// Certify copies (người chứng thực).
    Certifier,
    /// Users, agencies, API keys, registers (quản trị).
    Admin,
}

impl UserRole {
    /// Parses `clerk`, `certifier` or `admin`.
    pub fn parse(s: &str) -> Result<UserRole, StoreError> {
        match s.trim() {
            "clerk" => Ok(UserRole::Clerk),
            "certifier" => Ok(UserRole::Certifier),
            "admin" => Ok(UserRole::Admin),
            other => Err(StoreError::Invalid(format!(
                "unknown role {other:?}: clerk, certifier or admin"
            ))),
        }
    }

    /// The role's name as parsed.
    pub fn name(self) -> &'static str {
        match self {
            UserRole::Clerk => "clerk",
            UserRole::Certifier => "certifier",
            UserRole::Admin => "admin",
        }
    }
}

/// A user as stored (never the password hash).
#[derive(Debug, Clone, Serialize)]
pub struct User {
    /// Sign-in name.
    pub username: String,
    /// Full name, shown on pages and used as the certifier's name.
    pub display_name: String,
    /// Roles.
    pub roles: Vec<UserRole>,
}

impl User {
    /// Whether the user has `role`.
    pub fn has(&self, role: UserRole) -> bool {
        self.roles.contains(&role)
    }
}

/// The result of a sign-in attempt.
#[derive(Debug, Clone)]
pub enum Login {
    /// Right name and password.
    Ok(User),
    /// Unknown name or wrong password (not told apart).
    Refused,
    /// Too many failures: locked until this time (RFC 3339, UTC).
    Locked(String),
}

/// Checks a user name: 1–64 of `a-z 0-9 . _ -`.
pub fn check_username(name: &str) -> Result<(), StoreError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "invalid user name {name:?}: use 1 to 64 of a-z, 0-9, '.', '_', '-'"
        )))
    }
}

/// The argon2id hash (PHC string) of a new password, checked for length.
pub fn hash_password(password: &str) -> Result<String, StoreError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(StoreError::Invalid(format!(
            "the password is too short: at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Storage(format!("argon2: {e}")))
}

/// Whether `password` matches the PHC `hash`.
pub fn password_matches(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash no password matches, checked for unknown names so that they take as long.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password, never valid").unwrap_or_default())
}

/// Adds a user (the name must be new) with an already computed hash.
pub fn add_user(conn: &Connection, user: &User, password_hash: &str) -> Result<(), StoreError> {
    check_username(&user.username)?;
    check_text("display name", &user.display_name, 200)?;
    if user.roles.is_empty() {
        return Err(StoreError::Invalid("a user needs at least one role".into()));
    }
    let inserted = conn.execute(
        "INSERT INTO users (username, display_name, roles, password_hash, failures, created_at)
         VALUES (?1, ?2, ?3, ?4, 0, ?5) ON CONFLICT DO NOTHING",
        params![
            user.username,
            user.display_name,
            role_list(&user.roles),
            password_hash,
            now()
        ],
    )?;
    if inserted == 0 {
        return Err(StoreError::Invalid(format!(
            "user {} already exists",
            user.username
        )));
    }
    Ok(())
}

/// Replaces a user's password hash and unlocks the account.
pub fn set_password(conn: &Connection, username: &str, hash: &str) -> Result<(), StoreError> {
    let n = conn.execute(
        "UPDATE users SET password_hash = ?2, failures = 0, locked_until = NULL WHERE username = ?1",
        params![username, hash],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("user {username}")));
    }
    Ok(())
}

/// All users, by name.
pub fn users(conn: &Connection) -> Result<Vec<User>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT username, display_name, roles FROM users ORDER BY username")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get(1)?, r.get::<_, String>(2)?))
    })?;
    let mut users = Vec::new();
    for row in rows {
        let (username, display_name, roles) = row?;
        users.push(User {
            username,
            display_name,
            roles: parse_roles(&roles)?,
        });
    }
    Ok(users)
}

/// What the store knows to check a sign-in: the user, the hash, the lock.
pub struct Credentials {
    /// The user.
    pub user: User,
    /// PHC hash.
    pub hash: String,
    /// Locked until (RFC 3339) when locked now.
    pub locked_until: Option<String>,
}

/// The credentials of `username`, if such a user exists.
pub fn credentials(conn: &Connection, username: &str) -> Result<Option<Credentials>, StoreError> {
    let row = conn
        .query_row(
            "SELECT display_name, roles, password_hash, locked_until FROM users WHERE username = ?",
            [username],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            },
        )
        .optional()?;
    let Some((display_name, roles, hash, locked_until)) = row else {
        return Ok(None);
    };
    let now = now();
    Ok(Some(Credentials {
        user: User {
            username: username.to_string(),
            display_name,
            roles: parse_roles(&roles)?,
        },
        hash,
        locked_until: locked_until.filter(|until| *until > now),
    }))
}

/// Counts a failed sign-in; the [`MAX_FAILURES`]th in a row locks the account. Returns
/// the lock's end when it locked.
pub fn record_failure(conn: &Connection, username: &str) -> Result<Option<String>, StoreError> {
    let failures: Option<u32> = conn
        .query_row(
            "UPDATE users SET failures = failures + 1 WHERE username = ? RETURNING failures",
            [username],
            |r| r.get(0),
        )
        .optional()?;
    if failures.is_none_or(|n| n < MAX_FAILURES) {
        return Ok(None);
    }
    let until = time::OffsetDateTime::now_utc() + time::Duration::minutes(LOCK_MINUTES);
    let until = until
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| StoreError::Storage(e.to_string()))?;
    conn.execute(
        "UPDATE users SET failures = 0, locked_until = ?2 WHERE username = ?1",
        params![username, until],
    )?;
    Ok(Some(until))
}

/// Clears the failure count after a good sign-in.
pub fn record_success(conn: &Connection, username: &str) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE users SET failures = 0, locked_until = NULL WHERE username = ?",
        [username],
    )?;
    Ok(())
}

/// Parses a comma-separated role list.
pub fn parse_roles(text: &str) -> Result<Vec<UserRole>, StoreError> {
    let mut roles = Vec::new();
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        let role = UserRole::parse(part)?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    Ok(roles)
}

fn role_list(roles: &[UserRole]) -> String {
    roles.iter().map(|r| r.name()).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hashed_and_checked() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(password_matches("correct horse battery", &hash));
        assert!(!password_matches("correct horse batterY", &hash));
        assert!(!password_matches("anything", decoy_hash()));
        assert!(hash_password("short").is_err());
    }

    #[test]
    fn roles_parse_and_dedupe() {
        assert_eq!(
            parse_roles("clerk,certifier,clerk").unwrap(),
            vec![UserRole::Clerk, UserRole::Certifier]
        );
        assert!(parse_roles("clerk,boss").is_err());
        assert!(check_username("Nguyen").is_err());
        assert!(check_username("nguyen.van-an_2").is_ok());
    }
}
