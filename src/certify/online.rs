//! What signing fetches from the network: timestamps from a time-stamping authority
//! (RFC 3161 over HTTP, RFC 3161 §3.4), OCSP answers (RFC 6960 over HTTP) and CRLs
//! (RFC 5280 distribution points). Every fetch has a time limit, a size limit on the
//! answer and a few retries on transient failures (no connection, 5xx).

use std::io::Read;
use std::time::Duration;

use super::timestamp::{TimestampError, Timestamper};

/// Largest answer accepted, in bytes.
const MAX_ANSWER: u64 = 1 << 20;

/// Limits of one online service.
#[derive(Debug, Clone)]
pub struct Fetch {
    /// Time for one attempt (connect, send, answer).
    pub timeout: Duration,
    /// Attempts after the first, on a connection failure or a 5xx answer.
    pub retries: u32,
}

impl Default for Fetch {
    fn default() -> Fetch {
        Fetch {
            timeout: Duration::from_secs(15),
            retries: 2,
        }
    }
}

impl Fetch {
    /// POSTs `body` as `content_type` to `url`; the answer's bytes.
    pub fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, String> {
        self.retrying(url, MAX_ANSWER, |agent| {
            agent
                .post(url)
                .set("Content-Type", content_type)
                .send_bytes(body)
                .map_err(Box::new)
        })
    }

    /// GETs `url` (a CRL); the answer's bytes, at most `limit`.
    pub fn get(&self, url: &str, limit: u64) -> Result<Vec<u8>, String> {
        self.retrying(url, limit, |agent| agent.get(url).call().map_err(Box::new))
    }

    fn retrying(
        &self,
        url: &str,
        limit: u64,
        send: impl Fn(&ureq::Agent) -> Result<ureq::Response, Box<ureq::Error>>,
    ) -> Result<Vec<u8>, String> {
        let agent = ureq::AgentBuilder::new().timeout(self.timeout).build();
        let mut last = String::new();
        for attempt in 0..=self.retries {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(300 * u64::from(attempt)));
            }
            match send(&agent).map_err(|e| *e) {
                Ok(answer) => return read_limited(answer, limit),
                Err(ureq::Error::Status(code, answer)) if code >= 500 => {
                    last = format!("{url}: HTTP {code} {}", answer.status_text());
                }
                Err(ureq::Error::Status(code, answer)) => {
                    return Err(format!("{url}: HTTP {code} {}", answer.status_text()))
                }
                Err(e) => last = format!("{url}: {e}"),
            }
        }
        Err(last)
    }
}

fn read_limited(answer: ureq::Response, limit: u64) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    answer
        .into_reader()
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > limit {
        return Err(format!("the answer is over {limit} bytes"));
    }
    Ok(bytes)
}

impl super::revocation::Online for Fetch {
    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, String> {
        Fetch::post(self, url, content_type, body)
    }

    fn get(&self, url: &str, limit: u64) -> Result<Vec<u8>, String> {
        Fetch::get(self, url, limit)
    }
}

/// A time-stamping authority reached over HTTP(S).
#[derive(Debug, Clone)]
pub struct HttpTsa {
    /// Its address.
    pub url: String,
    /// Limits.
    pub fetch: Fetch,
}

impl Timestamper for HttpTsa {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TimestampError> {
        self.fetch
            .post(&self.url, "application/timestamp-query", request)
            .map_err(TimestampError::Transport)
    }
}
