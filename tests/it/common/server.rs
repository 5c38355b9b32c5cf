//! A `sohoa serve` process for tests: started from a prepared command, its address read
//! from the first line it prints, killed when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

/// A running server.
pub struct Server {
    /// The process.
    pub child: Child,
    /// `http://ADDR`.
    pub base: String,
    /// The rest of what it prints.
    out: BufReader<ChildStdout>,
}

impl Server {
    /// Spawns `cmd` (a `sohoa serve … --listen 127.0.0.1:0`) and waits until it listens.
    pub fn spawn(mut cmd: Command) -> Server {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut line).unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_string();
        Server { child, base, out }
    }

    /// The next line it prints (after the address).
    pub fn next_line(&mut self) -> String {
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        line.trim().to_string()
    }

    /// `HOST:PORT`.
    pub fn addr(&self) -> String {
        self.base.trim_start_matches("http://").to_string()
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `request` (raw HTTP bytes) to `addr`, writing from another thread while the
/// reply is read, so that a server answering before it has read the whole body (413, a
/// refused form) is heard before it closes; returns the whole reply as text.
pub fn raw_exchange(addr: &str, request: Vec<u8>) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let sending = std::thread::spawn(move || {
        let _ = writer.write_all(&request);
    });
    let mut reply = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        reply.extend_from_slice(&buf[..n]);
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let _ = sending.join();
    String::from_utf8_lossy(&reply).into_owned()
}

/// The status code of a raw reply.
pub fn status_of(reply: &str) -> u16 {
    reply
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {reply:?}"))
}
