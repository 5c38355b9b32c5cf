//! Clerk accounts of the web page: roles, argon2 password hashes, disabling, and a
//! session epoch that ends every session of a user whose password changed or who was
//! disabled or removed. Repeated failures are throttled by the web page per client
//! address and name (never by locking the account, which would let anyone lock anyone
//! out, and would tell which names exist).
//!
//! Hashing (tens of milliseconds by design) runs outside any transaction.

use super::sql::{args, Row, Sql};
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde::Serialize;

use super::clock::now;
use super::StoreError;
use crate::values::check_text;

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
    /// A disabled user cannot sign in; their sessions end.
    #[serde(default)]
    pub disabled: bool,
    /// Changes when the password changes or the user is disabled: sessions started
    /// under another epoch are over.
    #[serde(skip)]
    pub epoch: i64,
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
    /// Unknown name, wrong password or disabled user (not told apart).
    Refused,
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
pub fn add_user(conn: &mut dyn Sql, user: &User, password_hash: &str) -> Result<(), StoreError> {
    check_username(&user.username)?;
    check_text("display name", &user.display_name, 200)?;
    if user.roles.is_empty() {
        return Err(StoreError::Invalid("a user needs at least one role".into()));
    }
    let inserted = conn.execute(
        "INSERT INTO users (username, display_name, roles, password_hash, failures, created_at)
         VALUES (?1, ?2, ?3, ?4, 0, ?5) ON CONFLICT DO NOTHING",
        args![
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

/// Replaces a user's password hash; the user's sessions end (new epoch).
pub fn set_password(conn: &mut dyn Sql, username: &str, hash: &str) -> Result<(), StoreError> {
    let n = conn.execute(
        "UPDATE users SET password_hash = ?2, epoch = epoch + 1 WHERE username = ?1",
        args![username, hash],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("user {username}")));
    }
    Ok(())
}

/// Disables (or enables) a user; disabling ends the user's sessions.
pub fn set_disabled(conn: &mut dyn Sql, username: &str, disabled: bool) -> Result<(), StoreError> {
    let n = conn.execute(
        "UPDATE users SET disabled = ?2, epoch = epoch + ?2 WHERE username = ?1",
        args![username, disabled as i64],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("user {username}")));
    }
    Ok(())
}

/// Removes a user (what they did stays recorded under their name).
pub fn remove(conn: &mut dyn Sql, username: &str) -> Result<(), StoreError> {
    let n = conn.execute("DELETE FROM users WHERE username = ?1", args![username])?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("user {username}")));
    }
    Ok(())
}

const USER_COLUMNS: &str = "username, display_name, roles, disabled, epoch";

fn row_user(r: &Row) -> Result<(User, String), StoreError> {
    Ok((
        User {
            username: r.get(0)?,
            display_name: r.get(1)?,
            roles: Vec::new(),
            disabled: r.get::<i64>(3)? != 0,
            epoch: r.get(4)?,
        },
        r.get(2)?,
    ))
}

fn with_roles((mut user, roles): (User, String)) -> Result<User, StoreError> {
    user.roles = parse_roles(&roles)?;
    Ok(user)
}

/// All users, by name.
pub fn users(conn: &mut dyn Sql) -> Result<Vec<User>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username");
    let rows = conn.query_map(&sql, args![], row_user)?;
    rows.into_iter().map(with_roles).collect()
}

/// A user by name, if there is one.
pub fn user(conn: &mut dyn Sql, username: &str) -> Result<Option<User>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = ?1");
    conn.query_opt(&sql, args![username], row_user)?
        .map(with_roles)
        .transpose()
}

/// What the store knows to check a sign-in: the user and the hash.
pub struct Credentials {
    /// The user.
    pub user: User,
    /// PHC hash.
    pub hash: String,
}

/// The credentials of `username`, if such a user exists (one query).
pub fn credentials(conn: &mut dyn Sql, username: &str) -> Result<Option<Credentials>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE username = ?1");
    let row = conn.query_opt(&sql, args![username], |r| {
        Ok((row_user(r)?, r.get::<String>(5)?))
    })?;
    let Some((user, hash)) = row else {
        return Ok(None);
    };
    Ok(Some(Credentials {
        user: with_roles(user)?,
        hash,
    }))
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
