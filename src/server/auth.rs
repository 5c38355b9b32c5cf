//! Bearer keys and scopes.
//!
//! A key is checked by [`Store::authenticate`] (hash lookup, constant-time compare); a
//! successful check is remembered for a short time (`--key-cache-ms`, default 1 s) under
//! the SHA-256 of the secret, so a revoked key stops working within that time. Unknown
//! keys are never remembered (nobody can fill the cache with guesses).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

use super::errors::ApiError;
use super::AppState;
use crate::store::{Document, KeyInfo, Scope};

/// Most keys remembered at once; the cache is emptied when it is full.
const CACHE_CAPACITY: usize = 10_000;

/// Checks bearer keys against the store, with a short-lived cache of good keys.
pub struct Authenticator {
    ttl: Duration,
    cache: Mutex<HashMap<[u8; 32], (KeyInfo, Instant)>>,
}

impl Authenticator {
    /// Remembers good keys for `ttl` (zero: always ask the store).
    pub fn new(ttl: Duration) -> Authenticator {
        Authenticator {
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The key behind `secret`, or 401.
    pub async fn check(&self, state: &AppState, secret: &str) -> Result<KeyInfo, ApiError> {
        let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        if let Some(key) = self.cached(&digest) {
            return Ok(key);
        }
        let owned = secret.to_string();
        let found = state.run(move |store| store.authenticate(&owned)).await?;
        match found {
            Some(key) if !key.revoked => {
                self.remember(digest, &key);
                Ok(key)
            }
            _ => Err(ApiError::unauthorized("unknown or revoked API key")),
        }
    }

    fn cached(&self, digest: &[u8; 32]) -> Option<KeyInfo> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        match cache.get(digest) {
            Some((key, at)) if at.elapsed() < self.ttl => Some(key.clone()),
            _ => None,
        }
    }

    fn remember(&self, digest: [u8; 32], key: &KeyInfo) {
        if self.ttl.is_zero() {
            return;
        }
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(digest, (key.clone(), Instant::now()));
    }
}

/// The authenticated caller of a request: extracting it answers 401 without a good key.
pub struct Caller(pub KeyInfo);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let secret = bearer(parts)?;
        let key = state.auth.check(state, secret).await?;
        Ok(Caller(key))
    }
}

/// The secret of an `Authorization: Bearer KEY` header.
fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer header"))?;
    let text = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("malformed Authorization header"))?;
    let (scheme, secret) = text
        .split_once(' ')
        .ok_or_else(|| ApiError::unauthorized("malformed Authorization header"))?;
    let secret = secret.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || secret.is_empty() || secret.len() > 256 {
        return Err(ApiError::unauthorized(
            "malformed Authorization header: expected Bearer KEY",
        ));
    }
    Ok(secret)
}

impl Caller {
    /// Whether the key may read `doc`.
    pub fn can_read(&self, doc: &Document) -> bool {
        self.0.scopes.iter().any(|s| s.allows(doc))
    }

    /// Whether the key may read every document (`read:*`).
    pub fn reads_all(&self) -> bool {
        self.0.scopes.contains(&Scope::ReadAll)
    }

    /// Whether the key may read anything at all.
    pub fn reads_any(&self) -> bool {
        self.0.scopes.iter().any(|s| *s != Scope::Write)
    }

    /// Whether the key may store documents.
    pub fn can_write(&self) -> bool {
        self.0.scopes.contains(&Scope::Write)
    }

    /// The documents of `docs` that the key may read; the others are dropped silently.
    pub fn filter(&self, docs: Vec<Document>) -> Vec<Document> {
        docs.into_iter().filter(|d| self.can_read(d)).collect()
    }
}
