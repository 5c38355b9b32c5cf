//! The accept loop under the router: a connection cap, timeouts, optional TLS.
//!
//! axum's own `serve` has no timeouts, so idle or slow clients could hold every file
//! descriptor. Here:
//! - a request's header must arrive within [`Limits::header_read`] (hyper's timer);
//! - a connection with no request in flight and no bytes moving for [`Limits::idle`] is
//!   closed (a fresh connection that sends nothing counts as idle from its accept);
//! - a request body must keep arriving: at most [`Limits::body`] between two chunks;
//! - at most [`Limits::max_connections`] connections are open; when a new one arrives at
//!   the cap, the connection idle the longest is closed to make room, and only when
//!   every connection is busy is the new one turned away. A flood of idle sockets
//!   therefore never keeps a real request out.
//!
//! With TLS (rustls, ring), the handshake must also finish within `header_read`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower::ServiceExt;

/// Connection limits of `sohoa serve` (flags and `sohoa.toml` keys of the same names).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time allowed for a request's header (and a TLS handshake). Default 10 s.
    pub header_read: Duration,
    /// A connection with nothing in flight is closed after this long. Default 60 s.
    pub idle: Duration,
    /// Longest wait between two chunks of a request body. Default 30 s.
    pub body: Duration,
    /// Connections open at once. Default 512 (half of the usual 1,024 descriptors).
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_read: Duration::from_secs(10),
            idle: Duration::from_secs(60),
            body: Duration::from_secs(30),
            max_connections: 512,
        }
    }
}

/// What the loop knows of one open connection.
struct Connection {
    /// Milliseconds since the loop started, at the last byte read or written.
    last_active: AtomicU64,
    /// Requests being answered.
    in_flight: AtomicUsize,
    /// Asks the connection to close.
    close: Notify,
}

/// Open connections, by number.
struct Registry {
    start: Instant,
    open: Mutex<HashMap<u64, Arc<Connection>>>,
    /// Set when the server stops: connections close as soon as nothing is in flight.
    stopping: AtomicBool,
}

impl Registry {
    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Registers a new connection, making room at the cap by closing the one idle the
    /// longest; `None` when every connection is busy.
    fn admit(&self, id: u64, max: usize) -> Option<Arc<Connection>> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.len() >= max {
            let idlest = open
                .iter()
                .filter(|(_, c)| c.in_flight.load(Ordering::Acquire) == 0)
                .min_by_key(|(_, c)| c.last_active.load(Ordering::Relaxed))
                .map(|(id, _)| *id)?;
            if let Some(conn) = open.remove(&idlest) {
                conn.close.notify_one();
            }
        }
        let conn = Arc::new(Connection {
            last_active: AtomicU64::new(self.now()),
            in_flight: AtomicUsize::new(0),
            close: Notify::new(),
        });
        open.insert(id, conn.clone());
        Some(conn)
    }

    fn leave(&self, id: u64) {
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }
}

/// Serves `app` on `listener` until `stop` resolves (then the requests in flight are
/// finished), under `limits`, over TLS when `tls` is given.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let app = app.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
        limits.body,
    ));
    let registry = Arc::new(Registry {
        start: Instant::now(),
        open: Mutex::new(HashMap::new()),
        stopping: AtomicBool::new(false),
    });
    let shutdown = Arc::new(Notify::new());
    let mut tasks = tokio::task::JoinSet::new();
    tokio::pin!(stop);
    let mut next_id = 0u64;
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors or a reset before accept: wait a little, go on.
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        next_id += 1;
        let Some(conn) = registry.admit(next_id, limits.max_connections) else {
            tracing::warn!(
                "connection from {peer} refused: all {} connections are busy",
                limits.max_connections
            );
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let job = Job {
            app: app.clone(),
            limits,
            registry: registry.clone(),
            conn,
            id: next_id,
            peer,
            shutdown: shutdown.clone(),
        };
        let tls = tls.clone();
        tasks.spawn(async move {
            match tls {
                None => job.run(stream).await,
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(limits.header_read, acceptor.accept(stream)).await;
                    match handshake {
                        Ok(Ok(stream)) => job.run(stream).await,
                        _ => job.registry.leave(job.id),
                    }
                }
            }
        });
        while tasks.try_join_next().is_some() {}
    }
    registry.stopping.store(true, Ordering::Release);
    shutdown.notify_waiters();
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// One connection to serve.
struct Job {
    app: Router,
    limits: Limits,
    registry: Arc<Registry>,
    conn: Arc<Connection>,
    id: u64,
    peer: SocketAddr,
    shutdown: Arc<Notify>,
}

impl Job {
    async fn run<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(self, stream: S) {
        let io = TokioIo::new(Tracked {
            inner: stream,
            conn: self.conn.clone(),
            registry: self.registry.clone(),
        });
        let (app, conn_state, peer) = (self.app.clone(), self.conn.clone(), self.peer);
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let guard = InFlight::enter(conn_state.clone());
            let app = app.clone();
            async move {
                let response = app.oneshot(request.map(axum::body::Body::new)).await;
                drop(guard);
                response
            }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_read)
            .keep_alive(true);
        let connection = builder.serve_connection(io, service);
        tokio::pin!(connection);
        tokio::select! {
            _ = connection.as_mut() => {}
            () = self.close_when_idle() => {
                connection.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(Duration::from_secs(1), connection.as_mut()).await;
            }
        }
        self.registry.leave(self.id);
    }

    /// Returns when the connection should close: idle too long, pushed out at the cap,
    /// or the server stopping.
    async fn close_when_idle(&self) {
        let check = Duration::from_millis(250).min(self.limits.idle);
        loop {
            tokio::select! {
                () = self.conn.close.notified() => return,
                () = self.shutdown.notified() => return,
                () = tokio::time::sleep(check) => {}
            }
            let idle_ms = self
                .registry
                .now()
                .saturating_sub(self.conn.last_active.load(Ordering::Relaxed));
            let idle_enough = idle_ms >= self.limits.idle.as_millis() as u64
                || self.registry.stopping.load(Ordering::Acquire);
            if self.conn.in_flight.load(Ordering::Acquire) == 0 && idle_enough {
                return;
            }
        }
    }
}

/// Counts a request in flight while it lives.
struct InFlight(Arc<Connection>);

impl InFlight {
    fn enter(conn: Arc<Connection>) -> InFlight {
        conn.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(conn)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A stream that notes when bytes last moved.
struct Tracked<S> {
    inner: S,
    conn: Arc<Connection>,
    registry: Arc<Registry>,
}

impl<S> Tracked<S> {
    fn touch(&self) {
        self.conn
            .last_active
            .store(self.registry.now(), Ordering::Relaxed);
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Loads a TLS certificate chain and key (PEM files) for `--tls-cert/--tls-key`.
pub fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<tokio_rustls::TlsAcceptor, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: not a PEM certificate chain: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("{}: no certificate in the file", cert.display()));
    }
    let key_der = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("{}: not a PEM private key: {e}", key.display()))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS: {e}"))?
    .with_no_client_auth()
    .with_single_cert(chain, key_der)
    .map_err(|e| format!("{} / {}: {e}", cert.display(), key.display()))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}
