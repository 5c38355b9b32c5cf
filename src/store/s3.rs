//! Blobs in an S3-compatible object store (AWS S3, Garage, MinIO, Ceph RGW, …): the
//! [`S3BlobStore`] behind [`super::BlobStore`].
//!
//! A blob lives at `PREFIX/ab/abcdef…` in the bucket (its SHA-256 in lowercase hex, the
//! first two characters as a fan-out level, as on disk). It is uploaded with one PUT,
//! which S3 makes visible whole or not at all (never a multipart upload, whose parts
//! could be seen half done), and re-hashed on every read.
//!
//! The [`super::BlobStore`] trait is synchronous and called from plain threads and from
//! tokio's blocking threads; the store runs its requests on a small runtime of its own
//! (one worker) and waits for their answer on a channel, which works from any thread —
//! even, though it blocks it, from inside another runtime's task. Every request has a
//! deadline, so an outage is a clear error, never a hang.

use std::future::Future;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::list::{PaginatedListOptions, PaginatedListStore};
use object_store::path::Path;
use object_store::{BackoffConfig, ClientOptions, ObjectStoreExt, PutPayload, RetryConfig};

use super::blob::{check_scratch_key, check_sha256, is_sha256, sha256_hex, BlobStore};
use super::StoreError;

/// The largest blob stored or read (S3 takes up to 5 GiB in one PUT; a scanned dossier
/// is far smaller, and a blob is held in memory whole).
const MAX_BLOB: u64 = 1 << 30;

/// Time allowed for a request without a body to speak of (HEAD, a list page), and the
/// base of the allowance of one that carries a blob.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Time allowed to open a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The slowest transfer allowed for a blob, in bytes per second (2 Mbit/s: an office
/// uplink), on top of [`REQUEST_TIMEOUT`].
const MIN_RATE: u64 = 256 * 1024;

/// Blobs under `s3://BUCKET/PREFIX/`.
pub struct S3BlobStore {
    s3: Arc<AmazonS3>,
    /// The store's own runtime (taken in `drop`, which must not block).
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
    bucket: String,
    /// The key prefix (the empty path for the bucket's root).
    prefix: Path,
    /// What error messages name: the endpoint, or `s3://BUCKET`.
    describe: String,
}

impl std::fmt::Debug for S3BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "S3BlobStore(s3://{}/{})", self.bucket, self.prefix)
    }
}

impl S3BlobStore {
    /// Blobs under `url`, `s3://BUCKET` or `s3://BUCKET/PREFIX`, at `endpoint` (an
    /// S3-compatible server such as `http://127.0.0.1:39000`; AWS when `None`).
    /// Credentials and region come from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`
    /// and `AWS_REGION` (and the other `AWS_*` variables object_store reads). Requests
    /// use path-style addressing (`ENDPOINT/BUCKET/KEY`), which every S3-compatible
    /// server accepts. Nothing is sent until the first call.
    pub fn open(url: &str, endpoint: Option<&str>) -> Result<S3BlobStore, StoreError> {
        S3BlobStore::with_builder(url, endpoint, AmazonS3Builder::from_env())
    }

    /// [`S3BlobStore::open`] with the credentials and settings of `builder`.
    fn with_builder(
        url: &str,
        endpoint: Option<&str>,
        builder: AmazonS3Builder,
    ) -> Result<S3BlobStore, StoreError> {
        let (bucket, prefix) = parse_url(url)?;
        let mut builder = builder
            .with_bucket_name(&bucket)
            .with_virtual_hosted_style_request(false)
            .with_client_options(
                ClientOptions::new()
                    // Whole-request deadlines are ours (they grow with the blob's size).
                    .with_timeout_disabled()
                    .with_connect_timeout(CONNECT_TIMEOUT),
            )
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(2),
                    base: 2.0,
                },
                max_retries: 3,
                retry_timeout: REQUEST_TIMEOUT,
            });
        let describe = match endpoint {
            Some(endpoint) => {
                let http = endpoint.starts_with("http://");
                if !(http || endpoint.starts_with("https://")) || endpoint.len() < "http://x".len()
                {
                    return Err(StoreError::Invalid(format!(
                        "invalid S3 endpoint {endpoint:?}: expected http://HOST[:PORT] or https://HOST[:PORT]"
                    )));
                }
                if http && !is_loopback(endpoint) {
                    tracing::warn!(
                        "S3 endpoint {endpoint} is plain HTTP: blob contents cross the network unencrypted"
                    );
                }
                if builder
                    .get_config_value(&object_store::aws::AmazonS3ConfigKey::AccessKeyId)
                    .is_none()
                {
                    return Err(StoreError::Invalid(format!(
                        "no credentials for the S3 endpoint {endpoint}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                    )));
                }
                builder = builder.with_endpoint(endpoint).with_allow_http(http);
                endpoint.trim_end_matches('/').to_string()
            }
            None => format!("s3://{bucket}"),
        };
        let s3 = builder
            .build()
            .map_err(|e| StoreError::Invalid(format!("S3 {describe}: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("sohoa-s3")
            .enable_all()
            .build()
            .map_err(|e| {
                StoreError::Storage(format!("S3 {describe}: cannot start a runtime: {e}"))
            })?;
        Ok(S3BlobStore {
            s3: Arc::new(s3),
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
            bucket,
            prefix,
            describe,
        })
    }

    /// The key of blob `sha256` (the name must have been checked).
    fn key(&self, sha256: &str) -> Path {
        self.prefix.clone().join(&sha256[..2]).join(sha256)
    }

    /// A failed request as an error naming the server and what was being done: the
    /// storage is unavailable (a 503 from the service; retrying later may succeed).
    fn fail(&self, what: &str, error: impl std::fmt::Display) -> StoreError {
        StoreError::Unavailable(format!("S3 {}: {what}: {error}", self.describe))
    }

    /// Runs `request` on the store's runtime and waits for it, at most `deadline`.
    fn run<T: Send + 'static>(
        &self,
        what: &str,
        deadline: Duration,
        request: impl Future<Output = object_store::Result<T>> + Send + 'static,
    ) -> Result<object_store::Result<T>, StoreError> {
        let (send, receive) = mpsc::sync_channel(1);
        self.handle.spawn(async move {
            let _ = send.send(tokio::time::timeout(deadline, request).await);
        });
        match receive.recv() {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(_)) => {
                Err(self.fail(what, format!("no answer within {} s", deadline.as_secs())))
            }
            Err(_) => Err(self.fail(what, "the request was dropped")),
        }
    }

    /// The keys under the prefix, all of them (every page of the listing).
    fn keys(&self) -> Result<Vec<Path>, StoreError> {
        let prefix = match self.prefix.as_ref() {
            "" => None,
            p => Some(format!("{p}/")),
        };
        let mut keys = Vec::new();
        let mut page_token = None;
        loop {
            let s3 = Arc::clone(&self.s3);
            let prefix = prefix.clone();
            let options = PaginatedListOptions {
                page_token: page_token.take(),
                ..Default::default()
            };
            let page = self
                .run("list", REQUEST_TIMEOUT, async move {
                    s3.list_paginated(prefix.as_deref(), options).await
                })?
                .map_err(|e| self.fail("list", e))?;
            keys.extend(page.result.objects.into_iter().map(|o| o.location));
            match page.page_token {
                Some(token) if !token.is_empty() => page_token = Some(token),
                _ => break,
            }
        }
        Ok(keys)
    }

    /// The key of working file `key` (checked): `PREFIX/scratch/KEY`.
    fn scratch_key(&self, key: &str) -> Result<Path, StoreError> {
        check_scratch_key(key)?;
        Ok(key
            .split('/')
            .fold(self.prefix.clone().join(SCRATCH), |path, segment| {
                path.join(segment)
            }))
    }

    /// Whether `key` is a working file (not a stray).
    fn is_scratch(&self, key: &Path) -> bool {
        key.prefix_match(&self.prefix)
            .and_then(|mut parts| parts.next())
            .is_some_and(|first| first.as_ref() == SCRATCH)
    }

    /// The objects under `prefix` with their modification times (every page).
    fn list_under(&self, prefix: &Path) -> Result<Vec<(Path, SystemTime)>, StoreError> {
        let mut objects = Vec::new();
        let mut page_token = None;
        loop {
            let s3 = Arc::clone(&self.s3);
            let prefix = format!("{prefix}/");
            let options = PaginatedListOptions {
                page_token: page_token.take(),
                ..Default::default()
            };
            let page = self
                .run("list", REQUEST_TIMEOUT, async move {
                    s3.list_paginated(Some(&prefix), options).await
                })?
                .map_err(|e| self.fail("list", e))?;
            objects.extend(
                page.result
                    .objects
                    .into_iter()
                    .map(|o| (o.location, SystemTime::from(o.last_modified))),
            );
            match page.page_token {
                Some(token) if !token.is_empty() => page_token = Some(token),
                _ => break,
            }
        }
        Ok(objects)
    }

    /// The blob name of `key` when it is `PREFIX/ab/ab…` with a SHA-256 name.
    fn blob_name(&self, key: &Path) -> Option<String> {
        let parts: Vec<_> = key.prefix_match(&self.prefix)?.collect();
        match parts.as_slice() {
            [fan_out, name]
                if is_sha256(name.as_ref()) && fan_out.as_ref() == &name.as_ref()[..2] =>
            {
                Some(name.as_ref().to_string())
            }
            _ => None,
        }
    }
}

impl Drop for S3BlobStore {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which panics inside another runtime's task.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl BlobStore for S3BlobStore {
    fn put(&self, bytes: &[u8]) -> Result<String, StoreError> {
        let sha256 = sha256_hex(bytes);
        let size = bytes.len() as u64;
        if size > MAX_BLOB {
            return Err(StoreError::Invalid(format!(
                "blob {sha256} is {size} bytes, more than the {MAX_BLOB}-byte limit"
            )));
        }
        let key = self.key(&sha256);
        let what = format!("put blob {sha256}");
        let s3 = Arc::clone(&self.s3);
        let head_key = key.clone();
        match self.run(
            &what,
            REQUEST_TIMEOUT,
            async move { s3.head(&head_key).await },
        )? {
            // Same name and size: the same content (fsck re-hashes).
            Ok(meta) if meta.size == size => return Ok(sha256),
            Ok(_) => tracing::warn!("blob {sha256} has the wrong size in S3; rewriting it"),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(self.fail(&what, e)),
        }
        // One PUT: S3 shows the object once it is whole (object_store signs the
        // payload's SHA-256, which the server checks).
        let s3 = Arc::clone(&self.s3);
        let payload = PutPayload::from(bytes.to_vec());
        self.run(&what, transfer_deadline(size), async move {
            s3.put(&key, payload).await
        })?
        .map_err(|e| self.fail(&what, e))?;
        Ok(sha256)
    }

    fn get(&self, sha256: &str) -> Result<Vec<u8>, StoreError> {
        check_sha256(sha256)?;
        let what = format!("get blob {sha256}");
        let s3 = Arc::clone(&self.s3);
        let key = self.key(sha256);
        let response = match self.run(&what, REQUEST_TIMEOUT, async move { s3.get(&key).await })? {
            Ok(response) => response,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(StoreError::NotFound(format!("blob {sha256}")))
            }
            Err(e) => return Err(self.fail(&what, e)),
        };
        let size = response.meta.size;
        if size > MAX_BLOB {
            return Err(StoreError::Storage(format!(
                "blob {sha256} is {size} bytes in S3, more than the {MAX_BLOB}-byte limit"
            )));
        }
        let bytes = self
            .run(&what, transfer_deadline(size), response.bytes())?
            .map_err(|e| self.fail(&what, e))?;
        let actual = sha256_hex(&bytes);
        if actual != sha256 {
            return Err(StoreError::Storage(format!(
                "blob {sha256} is corrupt: its content hashes to {actual}"
            )));
        }
        Ok(bytes.to_vec())
    }

    fn exists(&self, sha256: &str) -> Result<bool, StoreError> {
        check_sha256(sha256)?;
        let what = format!("look up blob {sha256}");
        let s3 = Arc::clone(&self.s3);
        let key = self.key(sha256);
        match self.run(&what, REQUEST_TIMEOUT, async move { s3.head(&key).await })? {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.fail(&what, e)),
        }
    }

    fn list(&self) -> Result<Vec<String>, StoreError> {
        let mut names: Vec<String> = self
            .keys()?
            .iter()
            .filter_map(|key| self.blob_name(key))
            .collect();
        names.sort();
        Ok(names)
    }

    fn put_scratch(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.scratch_key(key)?;
        let what = format!("put working file {key}");
        let (s3, payload) = (Arc::clone(&self.s3), PutPayload::from(bytes.to_vec()));
        self.run(&what, transfer_deadline(bytes.len() as u64), async move {
            s3.put(&path, payload).await
        })?
        .map_err(|e| self.fail(&what, e))?;
        Ok(())
    }

    fn get_scratch(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.scratch_key(key)?;
        let what = format!("get working file {key}");
        let s3 = Arc::clone(&self.s3);
        let response = match self.run(&what, REQUEST_TIMEOUT, async move { s3.get(&path).await })? {
            Ok(response) => response,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(StoreError::NotFound(format!("working file {key}")))
            }
            Err(e) => return Err(self.fail(&what, e)),
        };
        let size = response.meta.size.min(MAX_BLOB);
        let bytes = self
            .run(&what, transfer_deadline(size), response.bytes())?
            .map_err(|e| self.fail(&what, e))?;
        Ok(bytes.to_vec())
    }

    fn remove_scratch(&self, prefix: &str) -> Result<(), StoreError> {
        let under = self.scratch_key(prefix)?;
        for (path, _) in self.list_under(&under)? {
            let what = format!("remove working file {path}");
            let s3 = Arc::clone(&self.s3);
            match self.run(
                &what,
                REQUEST_TIMEOUT,
                async move { s3.delete(&path).await },
            )? {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.fail(&what, e)),
            }
        }
        Ok(())
    }

    fn scratch_list(&self, prefix: &str) -> Result<Vec<(String, SystemTime)>, StoreError> {
        let under = self.scratch_key(prefix)?;
        let base = self.prefix.clone().join(SCRATCH);
        Ok(self
            .list_under(&under)?
            .into_iter()
            .filter_map(|(path, modified)| {
                let parts: Vec<String> = path
                    .prefix_match(&base)?
                    .map(|p| p.as_ref().to_string())
                    .collect();
                Some((parts.join("/"), modified))
            })
            .collect())
    }

    /// Objects under the prefix that are not blobs (`s3://BUCKET/KEY`).
    fn strays(&self) -> Result<Vec<String>, StoreError> {
        let mut strays: Vec<String> = self
            .keys()?
            .iter()
            .filter(|key| self.blob_name(key).is_none() && !self.is_scratch(key))
            .map(|key| format!("s3://{}/{key}", self.bucket))
            .collect();
        strays.sort();
        Ok(strays)
    }
}

/// The folder of working files under the prefix (skipped by list and fsck).
const SCRATCH: &str = "scratch";

/// The time allowed to move a blob of `size` bytes.
fn transfer_deadline(size: u64) -> Duration {
    REQUEST_TIMEOUT + Duration::from_secs(size / MIN_RATE)
}

/// `s3://BUCKET[/PREFIX]` → the bucket and the key prefix, both checked: a bucket name
/// as S3 defines it, prefix segments of letters, digits, `.`, `_` and `-` (no `.` or
/// `..` segment, no empty one).
fn parse_url(url: &str) -> Result<(String, Path), StoreError> {
    let invalid = |why: &str| {
        StoreError::Invalid(format!(
            "invalid S3 URL {:?}: {why} (expected s3://BUCKET or s3://BUCKET/PREFIX)",
            url.chars().take(100).collect::<String>()
        ))
    };
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| invalid("it does not start with s3://"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !bucket_ok {
        return Err(invalid(
            "the bucket name must be 3 to 63 lowercase letters, digits, dots or hyphens",
        ));
    }
    let prefix = prefix.strip_suffix('/').unwrap_or(prefix);
    let mut path = Path::default();
    if !prefix.is_empty() {
        for segment in prefix.split('/') {
            let segment_ok = !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
            if !segment_ok {
                return Err(invalid(
                    "each part of the prefix must be letters, digits, '.', '_' or '-' (not '.' or '..')",
                ));
            }
            path = path.join(segment);
        }
    }
    Ok((bucket.to_string(), path))
}

/// Whether an `http://` endpoint is on this machine.
fn is_loopback(endpoint: &str) -> bool {
    let host = endpoint
        .trim_start_matches("http://")
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    host == "localhost" || host.starts_with("127.") || endpoint.starts_with("http://[::1]")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Instant, SystemTime, UNIX_EPOCH};

    /// The test bucket's URL (`s3://sohoa/test`) and endpoint from `./dev services env`,
    /// or `None` (a skip) when the services are not running — which fails under CI.
    fn target() -> Option<(String, Option<String>)> {
        match std::env::var("SOHOA_TEST_S3") {
            Ok(url) if !url.is_empty() => Some((url, std::env::var("SOHOA_TEST_S3_ENDPOINT").ok())),
            _ => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "SOHOA_TEST_S3 is unset under CI: run `./dev services up` and \
                     `eval \"$(./dev services env)\"` before the tests"
                );
                eprintln!(
                    "skipped: SOHOA_TEST_S3 is unset (run `./dev services up` and \
                     `eval \"$(./dev services env)\"`)"
                );
                None
            }
        }
    }

    /// A store under a prefix of its own (so that runs and tests do not meet).
    fn fresh(test: &str) -> Option<S3BlobStore> {
        let (url, endpoint) = target()?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let url = format!(
            "{}/run-{}-{nanos}/{test}",
            url.trim_end_matches('/'),
            std::process::id()
        );
        Some(S3BlobStore::open(&url, endpoint.as_deref()).unwrap())
    }

    /// Writes `bytes` at `key` under the store's prefix, bypassing the store.
    fn raw_put(blobs: &S3BlobStore, key: &str, bytes: &[u8]) {
        let s3 = Arc::clone(&blobs.s3);
        let mut path = blobs.prefix.clone();
        for part in key.split('/') {
            path = path.join(part);
        }
        let payload = PutPayload::from(bytes.to_vec());
        blobs
            .run("raw put", REQUEST_TIMEOUT, async move {
                s3.put(&path, payload).await
            })
            .unwrap()
            .unwrap();
    }

    #[test]
    fn blobs_round_trip_once_and_strays_are_found() {
        let Some(blobs) = fresh("round-trip") else {
            return;
        };
        let content = b"%PDF-1.7 xin chao".to_vec();
        let name = blobs.put(&content).unwrap();
        assert_eq!(name, sha256_hex(&content));
        assert_eq!(
            blobs.put(&content).unwrap(),
            name,
            "same content, same name"
        );
        assert_eq!(blobs.get(&name).unwrap(), content);
        assert!(blobs.exists(&name).unwrap());
        assert!(!blobs.exists(&"0".repeat(64)).unwrap());
        assert!(matches!(
            blobs.get(&"0".repeat(64)),
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(blobs.list().unwrap(), vec![name.clone()], "stored once");
        assert!(blobs.strays().unwrap().is_empty());
        // An empty blob is a blob too.
        let empty = blobs.put(b"").unwrap();
        assert_eq!(blobs.get(&empty).unwrap(), b"");

        // Objects that are not blobs: a leftover, a blob under the wrong fan-out.
        raw_put(&blobs, "ab/leftover.tmp", b"x");
        raw_put(&blobs, &format!("zz/{name}"), &content);
        let mut expected = vec![name.clone(), empty];
        expected.sort();
        assert_eq!(blobs.list().unwrap(), expected);
        let strays = blobs.strays().unwrap();
        assert_eq!(strays.len(), 2, "{strays:?}");
        assert!(strays
            .iter()
            .all(|s| s.starts_with("s3://") && s.contains(&blobs.prefix.to_string())));

        // From a blocking thread of another runtime, as the server calls it; then
        // dropped inside that runtime's task.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let blobs = Arc::new(blobs);
        let shared = Arc::clone(&blobs);
        let got = runtime
            .block_on(async move {
                tokio::task::spawn_blocking(move || shared.get(&name))
                    .await
                    .unwrap()
            })
            .unwrap();
        assert_eq!(got, content);
        runtime.block_on(async move { drop(blobs) });
    }

    #[test]
    fn a_corrupt_object_and_invalid_names_are_refused() {
        let Some(blobs) = fresh("corrupt") else {
            return;
        };
        let name = blobs.put(b"hello").unwrap();
        raw_put(&blobs, &format!("{}/{name}", &name[..2]), b"jello");
        match blobs.get(&name) {
            Err(StoreError::Storage(e)) => {
                assert!(e.contains(&name) && e.contains("corrupt"), "{e}");
                assert!(e.contains(&sha256_hex(b"jello")), "{e}");
            }
            other => panic!("a corrupt blob was not refused: {other:?}"),
        }
        // An object of the wrong size is rewritten by the next put of its content.
        raw_put(
            &blobs,
            &format!("{}/{name}", &name[..2]),
            b"hello, truncated?",
        );
        assert_eq!(blobs.put(b"hello").unwrap(), name);
        assert_eq!(blobs.get(&name).unwrap(), b"hello");
        for bad in ["../../etc/passwd", "", &"A".repeat(64), &"0".repeat(63)] {
            assert!(
                matches!(blobs.get(bad), Err(StoreError::Invalid(_))),
                "{bad}"
            );
            assert!(
                matches!(blobs.exists(bad), Err(StoreError::Invalid(_))),
                "{bad}"
            );
        }
    }

    /// A store with test credentials (no server needed).
    fn offline(url: &str, endpoint: Option<&str>) -> Result<S3BlobStore, StoreError> {
        let builder = AmazonS3Builder::new()
            .with_access_key_id("GK0123456789abcdef01234567")
            .with_secret_access_key("0".repeat(64))
            .with_region("garage");
        S3BlobStore::with_builder(url, endpoint, builder)
    }

    #[test]
    fn bad_urls_and_endpoints_are_refused() {
        for bad in [
            "",
            "sohoa",
            "http://sohoa/x",
            "s3://",
            "s3:///x",
            "s3://ab",
            "s3://Sohoa",
            "s3://so_hoa",
            "s3://-sohoa",
            "s3://sohoa/../x",
            "s3://sohoa/a//b",
            "s3://sohoa/./b",
            "s3://sohoa/a b",
            "s3://sohoa/x?y",
            "s3://sohoa/x#y",
        ] {
            match offline(bad, Some("http://127.0.0.1:39000")) {
                Err(StoreError::Invalid(e)) => assert!(e.contains("S3 URL"), "{e}"),
                other => panic!("{bad:?} was accepted: {other:?}"),
            }
        }
        for bad in ["ftp://127.0.0.1", "127.0.0.1:39000", "http://"] {
            assert!(
                matches!(
                    offline("s3://sohoa", Some(bad)),
                    Err(StoreError::Invalid(_))
                ),
                "{bad}"
            );
        }
        for good in [
            "s3://sohoa",
            "s3://sohoa/",
            "s3://sohoa/a/b-c_d.e/",
            "s3://my.bucket-1/x",
        ] {
            offline(good, Some("http://127.0.0.1:39000")).unwrap();
        }
        let (_, prefix) = parse_url("s3://sohoa/a/b/").unwrap();
        assert_eq!(prefix.as_ref(), "a/b");
    }

    #[test]
    fn an_unreachable_server_is_an_error_within_seconds() {
        let blobs = offline("s3://sohoa/x", Some("http://127.0.0.1:1")).unwrap();
        let started = Instant::now();
        let name = sha256_hex(b"x");
        let errors = [
            blobs.put(b"x").unwrap_err(),
            blobs.get(&name).unwrap_err(),
            blobs.exists(&name).unwrap_err(),
            blobs.list().unwrap_err(),
            blobs.strays().unwrap_err(),
        ];
        for e in &errors {
            match e {
                StoreError::Unavailable(e) => {
                    assert!(e.starts_with("S3 http://127.0.0.1:1: "), "{e}")
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "took {:?}",
            started.elapsed()
        );
        // Dropped inside a runtime's task: no panic.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async move { drop(blobs) });
    }

    #[test]
    fn a_whole_store_works_on_s3() {
        use crate::store::{FileRole, NewDocument, NewFile, Role, Store};
        let Some(blobs) = fresh("store") else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let store = Store::with_blobs(&dir.path().join("index.sqlite"), Box::new(blobs)).unwrap();
        store
            .add_agency("UBND-XA-TN", "UBND xã Tân Nguyên")
            .unwrap();
        let new = NewDocument {
            dossier_code: "H35.12-240101-0001".into(),
            procedure_code: "1.001193".into(),
            citizen_id: "001234567890".parse().unwrap(),
            agency: "UBND-XA-TN".into(),
            kind: "giay-khai-sinh".into(),
            title: "Giấy khai sinh".parse().unwrap(),
            role: Role::Result,
            created_by: "clerk".into(),
            valid_until: None,
            supersedes: None,
        };
        let pdf = b"%PDF-1.7 giay khai sinh".to_vec();
        let files = [NewFile {
            role: FileRole::Pdf,
            name: "doc.pdf".into(),
            bytes: pdf.clone(),
        }];
        let doc = store
            .add_document(&new, &files, "Đăng ký khai sinh", None, 1)
            .unwrap();
        let stored = store.document(&doc.id).unwrap().unwrap();
        let file = stored
            .files
            .iter()
            .find(|f| f.role == FileRole::Pdf)
            .unwrap();
        assert_eq!(store.read_blob(&file.sha256).unwrap(), pdf);
        let report = store.fsck().unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert!(report.blobs_checked >= 1);
    }
}
