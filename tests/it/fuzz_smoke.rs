//! The fuzz targets (`fuzz/src/targets.rs`) run over their seed corpora
//! (`fuzz/corpus/TARGET/`) and ~200 deterministic mutations of each seed (bit flips,
//! truncations, insertions, …, from a fixed-seed generator): none may panic, no HTTP
//! answer may be a 5xx. The real fuzzing is `benches/fuzz.sh` (see `fuzz/README.md`).
//!
//! An input that fails is written to `target/tmp/fuzz_smoke/` to be replayed with
//! `cargo fuzz run TARGET FILE`.

#[path = "../../fuzz/src/targets.rs"]
mod targets;

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Mutations made of every seed.
const MUTATIONS: usize = 200;

/// Sends the targets' requests to the router through a loopback socket: this crate has
/// no tower for `oneshot`. One server for the process, on its own runtime and thread.
mod shim {
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::sync::OnceLock;
    use std::time::Duration;

    use axum::body::Body;
    use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, StatusCode};
    use axum::Router;

    use super::targets::Answer;

    fn server(app: &Router) -> SocketAddr {
        static ADDR: OnceLock<SocketAddr> = OnceLock::new();
        *ADDR.get_or_init(|| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
            listener.set_nonblocking(true).expect("non-blocking");
            let addr = listener.local_addr().expect("address");
            let app = app.clone();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("server runtime");
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                    axum::serve(listener, app).await.expect("serve");
                });
            });
            addr
        })
    }

    /// Writes `request` as HTTP/1.1 (`Connection: close`) and reads the whole answer.
    pub fn call(rt: &tokio::runtime::Runtime, app: &Router, request: Request<Body>) -> Answer {
        let addr = server(app);
        let (parts, body) = request.into_parts();
        let body = rt
            .block_on(axum::body::to_bytes(body, usize::MAX))
            .expect("request body");
        let mut raw = format!(
            "{} {} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-length: {}\r\n",
            parts.method,
            parts.uri,
            body.len()
        )
        .into_bytes();
        for (name, value) in &parts.headers {
            raw.extend_from_slice(name.as_str().as_bytes());
            raw.extend_from_slice(b": ");
            raw.extend_from_slice(value.as_bytes());
            raw.extend_from_slice(b"\r\n");
        }
        raw.extend_from_slice(b"\r\n");
        raw.extend_from_slice(&body);
        let mut stream = TcpStream::connect(addr).expect("connect to the test server");
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .expect("timeout");
        stream.write_all(&raw).expect("send the request");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).expect("read the answer");
        parse(&answer).unwrap_or_else(|| {
            panic!(
                "{} {}: no answer (the handler panicked?): {:?}",
                parts.method,
                parts.uri,
                String::from_utf8_lossy(&answer)
            )
        })
    }

    fn parse(raw: &[u8]) -> Option<Answer> {
        let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = std::str::from_utf8(&raw[..end]).ok()?;
        let mut lines = head.split("\r\n");
        let status = lines.next()?.split(' ').nth(1)?.parse::<u16>().ok()?;
        let mut headers = HeaderMap::new();
        for line in lines {
            let (name, value) = line.split_once(':')?;
            headers.append(
                HeaderName::from_bytes(name.trim().as_bytes()).ok()?,
                HeaderValue::from_str(value.trim()).ok()?,
            );
        }
        let mut body = raw[end + 4..].to_vec();
        let chunked = headers
            .get("transfer-encoding")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"));
        if chunked {
            body = dechunk(&body)?;
        }
        Some(Answer {
            status: StatusCode::from_u16(status).ok()?,
            headers,
            body,
        })
    }

    fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let line_end = data.windows(2).position(|w| w == b"\r\n")?;
            let size = std::str::from_utf8(&data[..line_end]).ok()?;
            let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
            data = &data[line_end + 2..];
            if size == 0 {
                return Some(out);
            }
            out.extend_from_slice(data.get(..size)?);
            data = data.get(size + 2..)?;
        }
    }
}

/// SplitMix64: a fixed-seed generator, so that every run tries the same inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// One mutation of `seed`: a few bit flips, a truncation, an insertion, an interesting
/// byte, a deleted or duplicated run, or a splice of two of those.
fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut data = seed.to_vec();
    let rounds = 1 + rng.below(3);
    for _ in 0..rounds {
        let len = data.len();
        match rng.below(7) {
            0 if len > 0 => {
                for _ in 0..1 + rng.below(4) {
                    let i = rng.below(len);
                    data[i] ^= 1 << rng.below(8);
                }
            }
            1 => data.truncate(rng.below(len + 1)),
            2 => {
                let at = rng.below(len + 1);
                let n = 1 + rng.below(16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.byte()).collect();
                data.splice(at..at, bytes);
            }
            3 if len > 0 => {
                const INTERESTING: [u8; 8] = [0x00, 0x01, 0x7F, 0x80, 0xFF, b'%', b'&', b'='];
                let i = rng.below(len);
                data[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            4 if len > 0 => {
                let at = rng.below(len);
                let n = 1 + rng.below((len - at).min(64));
                data.drain(at..at + n);
            }
            5 if len > 0 => {
                let at = rng.below(len);
                let n = 1 + rng.below((len - at).min(64));
                let run = data[at..at + n].to_vec();
                let to = rng.below(len + 1);
                data.splice(to..to, run);
            }
            _ if len >= 4 => {
                // Overwrite 4 bytes with a big-endian number near a boundary (sizes, lengths).
                const NUMBERS: [u32; 6] = [0, 1, 0x7FFF_FFFF, 0xFFFF_FFFF, 65_535, 1 << 20];
                let i = rng.below(len - 3);
                let n = NUMBERS[rng.below(NUMBERS.len())];
                data[i..i + 4].copy_from_slice(&n.to_be_bytes());
            }
            _ => data.push(rng.byte()),
        }
    }
    data
}

fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: no seeds", dir.display());
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("seed"))
        })
        .collect()
}

/// Runs `target` on `data`; on a panic, keeps the input for replay and panics again.
fn run_one(name: &str, target: fn(&[u8]), what: &str, data: &[u8]) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| target(data))) {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz_smoke");
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join(format!("{name}-{}", what.replace(['/', ' '], "_")));
        let _ = std::fs::write(&file, data);
        eprintln!(
            "fuzz_smoke: target {name} failed on {what}; input kept in {}",
            file.display()
        );
        resume_unwind(panic);
    }
}

fn run_target(name: &str, target: fn(&[u8])) -> usize {
    let started = Instant::now();
    let mut runs = 0;
    for (file, seed) in seeds(name) {
        run_one(name, target, &file, &seed);
        let mut rng = Rng(fnv1a(&format!("{name}/{file}")));
        for i in 0..MUTATIONS {
            let data = mutate(&seed, &mut rng);
            run_one(name, target, &format!("{file} mutation {i}"), &data);
        }
        runs += 1 + MUTATIONS;
    }
    eprintln!(
        "fuzz_smoke: {name}: {runs} inputs in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    runs
}

/// The HTTP seeds reach the handlers they were written for: a harness whose requests
/// all stopped at authentication or CSRF checks would fuzz nothing.
fn http_seeds_reach_their_handlers() {
    let seed = |target: &str, file: &str| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus")
            .join(target)
            .join(file);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let codes = |statuses: Vec<targets::StatusCode>| -> Vec<u16> {
        statuses.iter().map(|s| s.as_u16()).collect()
    };
    type Send = fn(&[u8]) -> Vec<targets::StatusCode>;
    let checks: &[(&str, &str, Send, &[u16])] = &[
        (
            "http_query",
            "citizen.txt",
            targets::send_query,
            &[200, 200],
        ),
        ("http_ingest", "pdf-query.bin", targets::send_ingest, &[201]),
        ("http_ingest", "json.json", targets::send_ingest, &[201]),
        (
            "http_ingest",
            "json-bad-base64.json",
            targets::send_ingest,
            &[400],
        ),
        ("http_verify", "signed.pdf", targets::send_verify, &[200]),
        ("http_login", "ok.txt", targets::send_login, &[303]),
        ("http_login", "no-csrf.txt", targets::send_login, &[403]),
        ("http_capture", "png.bin", targets::send_capture, &[303]),
        (
            "http_capture",
            "tiff-multipage.bin",
            targets::send_capture,
            &[303],
        ),
        (
            "http_capture",
            "scanned-pdf.bin",
            targets::send_capture,
            &[303],
        ),
        (
            "http_capture",
            "bad-csrf.bin",
            targets::send_capture,
            &[403],
        ),
    ];
    for &(target, file, send, expected) in checks {
        let got = codes(send(&seed(target, file)));
        assert_eq!(got, expected, "{target}/{file}");
    }
}

#[test]
fn every_target_survives_its_seeds_and_their_mutations() {
    http_seeds_reach_their_handlers();
    // Two threads (the machine's cores) take the targets in turn.
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&(name, target)) = targets::TARGETS.get(i) else {
                    break;
                };
                assert!(run_target(name, target) > MUTATIONS);
            });
        }
    });
    // Every target ran without a failure: the HTTP targets' store can go.
    let _ = std::fs::remove_dir_all(&targets::http().dir);
}

#[test]
fn mutations_are_deterministic_and_varied() {
    let seed = b"username=a&password=b&csrf=c".to_vec();
    let run = || {
        let mut rng = Rng(fnv1a("check"));
        (0..50).map(|_| mutate(&seed, &mut rng)).collect::<Vec<_>>()
    };
    let (a, b) = (run(), run());
    assert_eq!(a, b);
    let distinct: std::collections::HashSet<_> = a.iter().collect();
    assert!(distinct.len() > 40, "{} distinct mutations", distinct.len());
}
