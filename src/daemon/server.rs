//! The HTTP server under the router: our own accept loop over hyper, so that
//! slow or idle clients cannot hold the daemon's file descriptors or its stop.
//!
//! - **Header read timeout.** A connection must send a whole request head
//!   within `header_read` of the moment the server starts waiting for it: of
//!   being accepted, or of the first byte of the next request on a kept-alive
//!   connection. A client that sends nothing, or a head a byte at a time
//!   (slowloris), is closed.
//! - **Idle timeout.** A kept-alive connection with no request in progress is
//!   closed `idle` after its last response was written; a response the client
//!   does not read gets as long.
//! - **Connection limit.** At most `max_connections` connections are open. One
//!   more takes the place of the connection that has gone longest without a
//!   request in progress (idle, or still sending its head); when every
//!   connection has a request in progress, new ones wait in the kernel's accept
//!   queue until one finishes.
//! - **Stop.** The listener closes at once; connections without a request in
//!   progress are closed; requests in progress finish (their connections then
//!   close) within the grace period, after which the rest are dropped.
//!
//! hyper's own `header_read_timeout` is not used: it runs from the moment a
//! connection becomes idle, so it would also be the idle timeout.

use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long clients may take, and how many may be connected at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Time to send a whole request head.
    pub header_read: Duration,
    /// Time a kept-alive connection may wait for its next request.
    pub idle: Duration,
    /// Connections open at once.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read: Duration::from_secs(10),
            idle: Duration::from_secs(60),
            max_connections: 128,
        }
    }
}

/// The router requests go to; replaced once the daemon proper starts.
pub type App = Arc<RwLock<Router>>;

/// A running server: its accept loop and connections.
pub struct Server {
    app: App,
    stop: CancellationToken,
    abort: CancellationToken,
    tracker: TaskTracker,
}

impl Server {
    /// Serves `router` on `listener` until [`Server::shutdown`].
    pub fn start(listener: TcpListener, router: Router, limits: Limits) -> Server {
        let app = Arc::new(RwLock::new(router));
        let stop = CancellationToken::new();
        let abort = CancellationToken::new();
        let tracker = TaskTracker::new();
        let accept = Accept {
            app: app.clone(),
            limits,
            stop: stop.clone(),
            abort: abort.clone(),
            tracker: tracker.clone(),
            open: Arc::new(Registry::default()),
        };
        tracker.spawn(accept.run(listener));
        Server {
            app,
            stop,
            abort,
            tracker,
        }
    }

    /// From now on requests (also on connections already open) go to `router`.
    pub fn replace(&self, router: Router) {
        *self.app.write().unwrap_or_else(|e| e.into_inner()) = router;
    }

    /// Stops accepting, closes connections without a request in progress and
    /// lets requests in progress finish within `grace`; then drops the rest.
    pub async fn shutdown(&self, grace: Duration) {
        self.stop.cancel();
        self.tracker.close();
        if tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                ?grace,
                "HTTP requests still running after the grace period are cut off."
            );
            self.abort.cancel();
            self.tracker.wait().await;
        }
    }
}

/// What a connection is doing, for its timeouts, eviction and the stop.
#[derive(Debug)]
struct Conn {
    state: Mutex<Phase>,
    /// Wakes the connection's supervisor after a change of phase.
    changed: Notify,
    /// Set when the accept loop closes it to make room.
    evicted: AtomicBool,
}

#[derive(Clone, Copy, Debug)]
enum Phase {
    /// No request in progress since `since` (accepted, or the last response
    /// written); `head` is when the next request's first byte came.
    Waiting {
        since: Instant,
        head: Option<Instant>,
        first: bool,
    },
    /// A request is being handled, or its response written.
    Busy,
    /// The response was handed over whole at `since`; it is being written.
    Writing { since: Instant },
}

impl Conn {
    fn new() -> Conn {
        Conn {
            state: Mutex::new(Phase::Waiting {
                since: Instant::now(),
                head: None,
                first: true,
            }),
            changed: Notify::new(),
            evicted: AtomicBool::new(false),
        }
    }

    fn phase(&self) -> Phase {
        *self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, phase: Phase) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = phase;
        self.changed.notify_one();
    }

    /// Bytes came in.
    fn read(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Phase::Waiting { head: h @ None, .. } = &mut *state {
            *h = Some(Instant::now());
            drop(state);
            self.changed.notify_one();
        }
    }

    /// Everything written so far reached the socket.
    fn flushed(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Phase::Writing { .. } = *state {
            *state = Phase::Waiting {
                since: Instant::now(),
                head: None,
                first: false,
            };
            drop(state);
            self.changed.notify_one();
        }
    }

    /// Since when it has had no request in progress; `None` while it has one.
    fn waiting_since(&self) -> Option<Instant> {
        match self.phase() {
            Phase::Waiting { since, .. } => Some(since),
            Phase::Busy | Phase::Writing { .. } => None,
        }
    }

    /// When it is closed if nothing changes.
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        match self.phase() {
            Phase::Waiting {
                since, first: true, ..
            } => Some(since + limits.header_read),
            Phase::Waiting {
                head: Some(head), ..
            } => Some(head + limits.header_read),
            Phase::Waiting { since, .. } => Some(since + limits.idle),
            Phase::Writing { since } => Some(since + limits.idle),
            Phase::Busy => None,
        }
    }
}

/// The open connections.
#[derive(Default)]
struct Registry {
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    /// Wakes the accept loop when a connection closes.
    closed: Notify,
}

impl Registry {
    fn len(&self) -> usize {
        self.conns.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Asks the connection that has waited longest without a request in
    /// progress to close. Returns whether there was one.
    fn evict_one(&self) -> bool {
        let conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        let victim = conns
            .values()
            .filter(|c| !c.evicted.load(Ordering::Relaxed))
            .filter_map(|c| c.waiting_since().map(|since| (since, c)))
            .min_by_key(|(since, _)| *since);
        match victim {
            Some((_, c)) => {
                c.evicted.store(true, Ordering::Relaxed);
                c.changed.notify_one();
                true
            }
            None => false,
        }
    }

    /// Whether some connection was asked to close and has not yet.
    fn closing(&self) -> bool {
        let conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        conns.values().any(|c| c.evicted.load(Ordering::Relaxed))
    }
}

struct Accept {
    app: App,
    limits: Limits,
    stop: CancellationToken,
    abort: CancellationToken,
    tracker: TaskTracker,
    open: Arc<Registry>,
}

impl Accept {
    async fn run(self, listener: TcpListener) {
        let mut next_id = 0u64;
        let mut warned_full = false;
        loop {
            let accepted = tokio::select! {
                () = self.stop.cancelled() => break,
                r = listener.accept() => r,
            };
            let (stream, peer) = match accepted {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors (EMFILE, ENFILE) or a connection
                    // reset before it was accepted: wait a little rather than spin.
                    tracing::warn!(error = %e, "Could not accept an HTTP connection.");
                    tokio::select! {
                        () = self.stop.cancelled() => break,
                        () = tokio::time::sleep(Duration::from_millis(250)) => {}
                    }
                    continue;
                }
            };
            // Make room: close the connection that has waited longest without
            // a request; if every one is busy, wait for one to finish.
            while self.open.len() >= self.limits.max_connections.max(1) {
                if !warned_full {
                    tracing::warn!(
                        max = self.limits.max_connections,
                        "HTTP connection limit reached; connections without a request in progress are closed to make room (--http-max-connections)."
                    );
                    warned_full = true;
                }
                let closed = self.open.closed.notified();
                if !self.open.closing() && !self.open.evict_one() {
                    tracing::debug!("Every HTTP connection has a request in progress; waiting.");
                }
                // A connection that finishes its request stays open: look again
                // now and then, not only when one closes.
                tokio::select! {
                    () = self.stop.cancelled() => return,
                    () = closed => {}
                    () = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
            }
            let conn = Arc::new(Conn::new());
            next_id += 1;
            let id = next_id;
            self.open
                .conns
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id, conn.clone());
            let serve = Serve {
                app: self.app.clone(),
                limits: self.limits.clone(),
                stop: self.stop.clone(),
                abort: self.abort.clone(),
                conn,
            };
            let open = self.open.clone();
            self.tracker.spawn(async move {
                serve.run(stream, peer).await;
                open.conns
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&id);
                open.closed.notify_waiters();
            });
        }
        tracing::debug!("HTTP listener closed.");
    }
}

struct Serve {
    app: App,
    limits: Limits,
    stop: CancellationToken,
    abort: CancellationToken,
    conn: Arc<Conn>,
}

impl Serve {
    /// Serves one connection until it closes, times out, is evicted, or the
    /// server stops.
    async fn run(self, stream: TcpStream, peer: std::net::SocketAddr) {
        let io = TokioIo::new(Watched {
            inner: stream,
            conn: self.conn.clone(),
        });
        let app = self.app.clone();
        let conn = self.conn.clone();
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let router = app.read().unwrap_or_else(|e| e.into_inner()).clone();
            conn.set(Phase::Busy);
            let guard = Written(conn.clone());
            async move {
                use hyper::service::Service as _;
                let response = TowerToHyperService::new(router).call(req).await?;
                Ok::<_, Infallible>(response.map(|body| Guarded {
                    body,
                    _guard: guard,
                }))
            }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        // Our own timeouts below; see the module's documentation.
        builder.header_read_timeout(None);
        let served = builder.serve_connection(io, service);
        let mut served = std::pin::pin!(served);
        let mut stopping = false;
        loop {
            if self.conn.evicted.load(Ordering::Relaxed) {
                tracing::debug!(%peer, "HTTP connection closed to make room for a new one.");
                return;
            }
            let waiting = self.conn.waiting_since().is_some();
            if stopping && waiting {
                return;
            }
            let deadline = self.conn.deadline(&self.limits);
            let changed = self.conn.changed.notified();
            tokio::select! {
                r = served.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(%peer, error = %e, "HTTP connection ended with an error.");
                    }
                    return;
                }
                () = changed => {}
                () = sleep_until(deadline) => {
                    if self.conn.deadline(&self.limits).is_some_and(|d| d <= Instant::now()) {
                        tracing::debug!(%peer, phase = ?self.conn.phase(), "HTTP connection timed out.");
                        return;
                    }
                }
                () = self.stop.cancelled(), if !stopping => {
                    stopping = true;
                    // A request in progress finishes; then hyper closes.
                    served.as_mut().graceful_shutdown();
                }
                () = self.abort.cancelled() => return,
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// The socket, telling its connection when bytes come in and when what was
/// written has gone out.
struct Watched {
    inner: TcpStream,
    conn: Arc<Conn>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.conn.read();
        }
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    // hyper flushes its socket only once its own buffer is written out.
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_flush(cx);
        if matches!(r, Poll::Ready(Ok(()))) {
            self.conn.flushed();
        }
        r
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Marks the response handed over whole when the body is done (hyper drops a
/// body once it has taken its last bytes).
struct Written(Arc<Conn>);

impl Drop for Written {
    fn drop(&mut self) {
        self.0.set(Phase::Writing {
            since: Instant::now(),
        });
    }
}

/// A response body that marks its connection when it is done.
struct Guarded {
    body: axum::body::Body,
    _guard: Written,
}

impl Body for Guarded {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    fn app() -> Router {
        Router::new()
            .route("/", axum::routing::get(|| async { "hello" }))
            .route(
                "/slow",
                axum::routing::get(|| async {
                    tokio::time::sleep(Duration::from_millis(800)).await;
                    "slow but whole"
                }),
            )
    }

    async fn start(limits: Limits) -> (Server, std::net::SocketAddr) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        (Server::start(listener, app(), limits), addr)
    }

    /// Reads until the peer closes; returns what came and when it closed.
    async fn until_closed(s: &mut TcpStream, within: Duration) -> (String, Instant) {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        let end = Instant::now() + within;
        loop {
            match tokio::time::timeout_at(end, s.read(&mut buf)).await {
                Err(_) => panic!(
                    "still open after {within:?}: {}",
                    String::from_utf8_lossy(&got)
                ),
                Ok(Ok(0) | Err(_)) => {
                    return (String::from_utf8_lossy(&got).into_owned(), Instant::now());
                }
                Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            }
        }
    }

    #[tokio::test]
    async fn a_stop_lets_requests_in_progress_finish_and_closes_the_rest_at_once() {
        let limits = Limits {
            header_read: Duration::from_secs(30),
            idle: Duration::from_secs(30),
            max_connections: 16,
        };
        let (server, addr) = start(limits).await;
        let mut silent = TcpStream::connect(addr).await.unwrap();
        let mut partial = TcpStream::connect(addr).await.unwrap();
        partial
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        let mut idle = TcpStream::connect(addr).await.unwrap();
        idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 1024];
        let n = idle.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).ends_with("hello"));
        let mut slow = TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;

        let started = Instant::now();
        let stop = tokio::spawn(async move { server.shutdown(Duration::from_secs(20)).await });
        // Idle and slow clients are closed at once, not after 30 s.
        for s in [&mut silent, &mut partial, &mut idle] {
            let (_, at) = until_closed(s, Duration::from_secs(5)).await;
            assert!(at - started < Duration::from_secs(5));
        }
        // The request in progress finishes whole, then its connection closes.
        let (answer, _) = until_closed(&mut slow, Duration::from_secs(10)).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        assert!(answer.ends_with("slow but whole"), "{answer}");
        tokio::time::timeout(Duration::from_secs(10), stop)
            .await
            .expect("the stop waits only for the request in progress")
            .unwrap();
        // And nothing listens any more.
        assert!(TcpStream::connect(addr).await.is_err());
    }

    #[tokio::test]
    async fn at_the_limit_a_new_connection_takes_the_place_of_the_longest_waiting_one() {
        let limits = Limits {
            header_read: Duration::from_secs(30),
            idle: Duration::from_secs(30),
            max_connections: 4,
        };
        let (server, addr) = start(limits).await;
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(TcpStream::connect(addr).await.unwrap());
            // Accepted in this order.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // A fifth client is answered now, not once a slot frees in 30 s.
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let (answer, _) = until_closed(&mut s, Duration::from_secs(5)).await;
        assert!(answer.ends_with("hello"), "{answer}");
        // The first connection made room; the others are still open.
        until_closed(&mut held[0], Duration::from_secs(5)).await;
        for s in &mut held[2..] {
            let mut buf = [0u8; 1];
            assert!(
                tokio::time::timeout(Duration::from_millis(200), s.read(&mut buf))
                    .await
                    .is_err(),
                "still open"
            );
        }
        server.shutdown(Duration::from_secs(5)).await;
    }

    #[tokio::test]
    async fn a_slow_head_is_cut_at_the_header_timeout_and_an_idle_connection_at_the_idle_timeout() {
        let limits = Limits {
            header_read: Duration::from_millis(600),
            idle: Duration::from_millis(2000),
            max_connections: 16,
        };
        let (server, addr) = start(limits).await;
        // A byte every 100 ms: never a whole head.
        let mut slowloris = TcpStream::connect(addr).await.unwrap();
        let opened = Instant::now();
        let closed = loop {
            if slowloris.write_all(b"X").await.is_err() {
                break Instant::now();
            }
            let mut buf = [0u8; 64];
            match tokio::time::timeout(Duration::from_millis(100), slowloris.read(&mut buf)).await {
                Ok(Ok(0) | Err(_)) => break Instant::now(),
                Ok(Ok(_)) => panic!("no answer expected"),
                Err(_) => {}
            }
            assert!(opened.elapsed() < Duration::from_secs(10), "never cut");
        };
        assert!(closed - opened >= Duration::from_millis(600));
        // A kept-alive connection lives past the header timeout between
        // requests, and is closed at the idle timeout.
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 1024];
        let n = s.read(&mut buf).await.unwrap();
        let answered = Instant::now();
        assert!(String::from_utf8_lossy(&buf[..n]).ends_with("hello"));
        tokio::time::sleep(Duration::from_millis(1000)).await;
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let n = s.read(&mut buf).await.unwrap();
        assert!(
            String::from_utf8_lossy(&buf[..n]).ends_with("hello"),
            "still open after 1 s idle"
        );
        let answered_again = Instant::now();
        let (_, at) = until_closed(&mut s, Duration::from_secs(10)).await;
        assert!(
            at - answered_again >= Duration::from_millis(1400),
            "{:?}",
            at - answered
        );
        server.shutdown(Duration::from_secs(5)).await;
    }
}
