//! A minimal synchronous Chrome DevTools Protocol client.
//!
//! One browser-level WebSocket, flattened target sessions, request/response
//! matched by id. Every call has a deadline so a wedged renderer becomes an
//! error instead of a hang. Events are kept only when they signal failure
//! (crash, uncaught exception).

use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tungstenite::handshake::HandshakeError;
use tungstenite::{stream::MaybeTlsStream, Message, WebSocket};

use crate::errors::{ProducerError, Result};

pub struct Cdp {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// Human-readable failure events seen so far (crashes, exceptions).
    pub failures: Vec<String>,
    /// Events kept for [`Cdp::wait_event`] (methods listed in `keep`).
    events: std::collections::VecDeque<Value>,
    keep: Vec<&'static str>,
}

/// A CDP error response (`{"error": {...}}`), kept distinct so callers can
/// recognise BeginFrame-specific failures.
#[derive(Debug)]
pub struct CdpError {
    pub method: String,
    pub message: String,
}

impl Cdp {
    pub fn connect(ws_url: &str, timeout: Duration) -> Result<Self> {
        let deadline = Instant::now() + timeout;
        let rest = ws_url.strip_prefix("ws://").ok_or_else(|| {
            ProducerError::RenderFailed(format!("unexpected DevTools URL {ws_url}"))
        })?;
        let host = rest.split('/').next().unwrap_or("");
        let stream = loop {
            match TcpStream::connect(host) {
                Ok(s) => break s,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => {
                    return Err(ProducerError::RenderFailed(format!(
                        "cannot connect to DevTools at {host}: {e}"
                    )))
                }
            }
        };
        stream.set_nodelay(true).ok();
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .map_err(|e| ProducerError::RenderFailed(format!("socket setup: {e}")))?;
        // The short read timeout (for polling events later) also applies to
        // the handshake: a busy browser answers it after more than 200 ms,
        // which surfaces as an interrupted handshake to resume, not a failure.
        let mut attempt = tungstenite::client(ws_url, MaybeTlsStream::Plain(stream));
        let ws = loop {
            match attempt {
                Ok((ws, _)) => break ws,
                Err(HandshakeError::Interrupted(mid)) if Instant::now() < deadline => {
                    attempt = mid.handshake();
                }
                Err(HandshakeError::Interrupted(_)) => {
                    return Err(ProducerError::RenderFailed(format!(
                        "DevTools handshake with {host} did not finish within {timeout:?}"
                    )))
                }
                Err(HandshakeError::Failure(e)) => {
                    return Err(ProducerError::RenderFailed(format!(
                        "DevTools handshake failed: {e}"
                    )))
                }
            }
        };
        Ok(Cdp {
            ws,
            next_id: 1,
            failures: Vec::new(),
            events: Default::default(),
            keep: Vec::new(),
        })
    }

    /// Sends `method` and waits for its response until `timeout`.
    pub fn call(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value> {
        match self.try_call(session, method, params, timeout)? {
            Ok(v) => Ok(v),
            Err(e) => Err(ProducerError::RenderFailed(format!(
                "DevTools {} failed: {}",
                e.method, e.message
            ))),
        }
    }

    /// Like [`Cdp::call`] but a protocol-level error is returned as `Ok(Err(..))`.
    pub fn try_call(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<std::result::Result<Value, CdpError>> {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .map_err(|e| ProducerError::RenderFailed(format!("DevTools send {method}: {e}")))?;
        let deadline = Instant::now() + timeout;
        loop {
            if Instant::now() >= deadline {
                return Err(ProducerError::Timeout(format!(
                    "DevTools {method} got no answer within {} ms",
                    timeout.as_millis()
                )));
            }
            let Some(v) = self.read_message(method)? else {
                continue;
            };
            if v["id"].as_u64() == Some(id) {
                if let Some(err) = v.get("error") {
                    return Ok(Err(CdpError {
                        method: method.to_string(),
                        message: err["message"]
                            .as_str()
                            .unwrap_or("unknown error")
                            .to_string(),
                    }));
                }
                return Ok(Ok(v["result"].clone()));
            }
            self.note_event(v);
        }
    }

    /// One message, or None when the read timed out (`during` names the wait).
    fn read_message(&mut self, during: &str) -> Result<Option<Value>> {
        let m = match self.ws.read() {
            Ok(m) => m,
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(None)
            }
            Err(e) => {
                return Err(ProducerError::RenderFailed(format!(
                    "DevTools connection lost during {during}: {e}{}",
                    self.failure_suffix()
                )))
            }
        };
        let text = match m {
            Message::Text(t) => t,
            Message::Binary(b) => String::from_utf8_lossy(&b).into_owned().into(),
            _ => return Ok(None),
        };
        Ok(serde_json::from_str(&text).ok())
    }

    /// Keeps events named `method` for [`Cdp::wait_event`] from now on.
    pub fn keep_events(&mut self, method: &'static str) {
        self.keep.push(method);
    }

    /// The next kept event named `method`, or None after `timeout`.
    pub fn wait_event(&mut self, method: &str, timeout: Duration) -> Result<Option<Value>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(i) = self.events.iter().position(|e| e["method"] == method) {
                return Ok(self.events.remove(i));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            if let Some(v) = self.read_message(method)? {
                self.note_event(v);
            }
        }
    }

    fn note_event(&mut self, v: Value) {
        if v["method"].as_str().is_some_and(|m| self.keep.contains(&m)) {
            self.events.push_back(v);
            return;
        }
        match v["method"].as_str() {
            Some("Inspector.targetCrashed") | Some("Target.targetCrashed") => {
                self.failures.push("the page renderer crashed".into())
            }
            Some("Runtime.exceptionThrown") => {
                let d = &v["params"]["exceptionDetails"];
                let text = d["exception"]["description"]
                    .as_str()
                    .or(d["text"].as_str())
                    .unwrap_or("exception");
                self.failures.push(format!(
                    "{} ({}:{})",
                    text.lines().next().unwrap_or(text),
                    d["url"].as_str().unwrap_or(""),
                    d["lineNumber"].as_u64().unwrap_or(0) + 1
                ));
            }
            _ => {}
        }
    }

    fn failure_suffix(&self) -> String {
        if self.failures.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.failures.join("; "))
        }
    }

    /// Evaluates an expression in the page and returns its JSON value; a thrown
    /// exception becomes an error carrying its description.
    pub fn eval(&mut self, session: &str, expr: &str, timeout: Duration) -> Result<Value> {
        let r = self.call(
            Some(session),
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
            timeout,
        )?;
        if let Some(ex) = r.get("exceptionDetails") {
            let desc = ex["exception"]["description"]
                .as_str()
                .or(ex["text"].as_str())
                .unwrap_or("exception");
            return Err(ProducerError::RenderFailed(format!(
                "page script failed: {}",
                desc.lines().next().unwrap_or(desc)
            )));
        }
        Ok(r["result"]["value"].clone())
    }

    pub fn close(mut self) {
        let _ = self.ws.close(None);
        let _ = self.ws.flush();
    }
}
