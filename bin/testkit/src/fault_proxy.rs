//! A fault-injecting HTTP proxy for S3: it sits between the AWS SDK and
//! moto and, while a fault window is open, answers `500 InternalError` to
//! one request in N, as S3 does now and then. The SDK must retry through
//! it without losing or duplicating an object.
//!
//! Faults alternate between two kinds, because both happen on S3: the
//! request never reached the store (nothing changed), and the store did
//! the work but the caller heard a failure (a retried write then finds its
//! own object there, which write-once uploads must accept). Which request
//! fails is decided by count, not by chance.
//!
//! Several requests in flight at once make a retry's place in the count
//! a matter of timing, so an SDK operation can fail on every attempt, as
//! on S3. A test that needs every operation to succeed in the end spares
//! the SDK's last attempt ([`FaultProxy::spare_last_attempts`]; the AWS
//! SDKs say which attempt a request is in `amz-sdk-request`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderName, CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::task::JoinHandle;

use crate::http::{self, Req, Resp};

/// S3's own body for the error.
const INTERNAL_ERROR: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>";

/// What the proxy did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Requests received, faulted or not.
    pub requests: u64,
    /// Requests answered 500 (both kinds).
    pub faults: u64,
    /// Of those, the ones moto carried out before the 500 went back.
    pub faults_after_store: u64,
}

#[derive(Default)]
struct Control {
    /// Fail one request in this many (0: no faults).
    one_in: AtomicU32,
    /// Never fail an SDK operation's last attempt.
    spare_last: std::sync::atomic::AtomicBool,
    /// When the fault window closes.
    until: Mutex<Option<Instant>>,
    in_window: AtomicU64,
    requests: AtomicU64,
    faults: AtomicU64,
    faults_after_store: AtomicU64,
}

/// How one request is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Forward,
    FailBefore,
    FailAfter,
}

impl Control {
    fn fate(&self, headers: &hyper::HeaderMap) -> Fate {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if self.spare_last.load(Ordering::Relaxed) && last_attempt(headers) {
            return Fate::Forward;
        }
        let n = self.one_in.load(Ordering::Relaxed);
        let open = self
            .until
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|u| Instant::now() < u);
        if n == 0 || !open {
            return Fate::Forward;
        }
        let k = self.in_window.fetch_add(1, Ordering::Relaxed) + 1;
        if k % u64::from(n) != 0 {
            return Fate::Forward;
        }
        let nth = self.faults.fetch_add(1, Ordering::Relaxed) + 1;
        if nth % 2 == 0 {
            self.faults_after_store.fetch_add(1, Ordering::Relaxed);
            Fate::FailAfter
        } else {
            Fate::FailBefore
        }
    }
}

/// Whether `amz-sdk-request: attempt=N; max=M` says this is the last
/// attempt the SDK will make.
fn last_attempt(headers: &hyper::HeaderMap) -> bool {
    let Some(v) = headers.get("amz-sdk-request").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let field = |name: &str| {
        v.split(';')
            .find_map(|kv| kv.trim().strip_prefix(name)?.parse::<u32>().ok())
    };
    matches!((field("attempt="), field("max=")), (Some(a), Some(m)) if a >= m)
}

/// The running proxy; it stops when dropped.
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`, to use as the S3 endpoint.
    pub endpoint: String,
    control: Arc<Control>,
    server: JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream` (moto),
    /// with no faults until [`FaultProxy::fail_one_in`].
    pub async fn start(upstream: SocketAddr) -> std::io::Result<FaultProxy> {
        let control = Arc::new(Control::default());
        let c = control.clone();
        let (addr, server) = http::serve(0, move |req| handle(c.clone(), upstream, req)).await?;
        Ok(FaultProxy {
            endpoint: format!("http://{addr}"),
            control,
            server,
        })
    }

    /// From now, for `window`, answers 500 to one request in `n` (`n` = 0
    /// turns faults off).
    pub fn fail_one_in(&self, n: u32, window: Duration) {
        self.control.one_in.store(n, Ordering::Relaxed);
        *self.control.until.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(Instant::now() + window);
    }

    /// Whether every SDK operation's last attempt goes through, so each
    /// one succeeds in the end, however the requests in flight interleave.
    pub fn spare_last_attempts(&self, spare: bool) {
        self.control.spare_last.store(spare, Ordering::Relaxed);
    }

    pub fn counts(&self) -> Counts {
        let c = &self.control;
        Counts {
            requests: c.requests.load(Ordering::Relaxed),
            faults: c.faults.load(Ordering::Relaxed),
            faults_after_store: c.faults_after_store.load(Ordering::Relaxed),
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn internal_error() -> Resp {
    http::response(
        StatusCode::INTERNAL_SERVER_ERROR,
        &[("content-type", "application/xml")],
        INTERNAL_ERROR,
    )
}

/// One request: read whole (a request failed before the store is still
/// read to its end, as a server does), then forwarded or failed.
async fn handle(control: Arc<Control>, upstream: SocketAddr, req: Req) -> Resp {
    let fate = control.fate(req.headers());
    let (parts, body) = req.into_parts();
    let Ok(body) = body.collect().await.map(|c| c.to_bytes()) else {
        return http::response(StatusCode::BAD_REQUEST, &[], "request body broken");
    };
    if fate == Fate::FailBefore {
        return internal_error();
    }
    let forwarded = forward(upstream, Request::from_parts(parts, body)).await;
    match (fate, forwarded) {
        (Fate::Forward, Ok(resp)) => resp,
        (_, Ok(_)) => internal_error(),
        (_, Err(e)) => http::response(
            StatusCode::BAD_GATEWAY,
            &[],
            format!("fault proxy: upstream {upstream} failed: {e}"),
        ),
    }
}

/// Hop-by-hop headers end at the proxy; the body is whole, so its length
/// is known.
fn strip_hop_headers(headers: &mut hyper::HeaderMap) {
    for h in [
        CONNECTION,
        TRANSFER_ENCODING,
        HeaderName::from_static("keep-alive"),
    ] {
        headers.remove(h);
    }
}

/// Sends one request to `upstream` on a fresh connection and reads the
/// whole answer.
async fn forward(upstream: SocketAddr, mut req: Request<Bytes>) -> anyhow::Result<Resp> {
    strip_hop_headers(req.headers_mut());
    let len = req.body().len();
    if len > 0 || !req.headers().contains_key(CONTENT_LENGTH) {
        req.headers_mut().insert(CONTENT_LENGTH, len.into());
    }
    let stream = tokio::net::TcpStream::connect(upstream).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let driver = tokio::spawn(conn);
    let resp = sender
        .send_request(req.map(Full::new))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"));
    let resp = match resp {
        Ok(r) => r,
        Err(e) => {
            driver.abort();
            return Err(e);
        }
    };
    let (mut parts, body) = resp.into_parts();
    let body = body.collect().await?.to_bytes();
    driver.abort();
    strip_hop_headers(&mut parts.headers);
    Ok(hyper::Response::from_parts(parts, Full::new(body)))
}
