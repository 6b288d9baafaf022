//! A local Lambda Runtime API (2018-06-01) on 127.0.0.1, enough to run a
//! real `bootstrap` the way Lambda does: the runtime long-polls
//! `invocation/next`, gets one event with its request id and deadline, and
//! posts `invocation/{id}/response` or `.../error`; `init/error` reports a
//! failed start.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// What the runtime answered for one event.
#[derive(Debug, Clone)]
pub enum Outcome {
    Response(Value),
    /// `errorType`, `errorMessage`.
    Error(String, String),
    /// The runtime reported `init/error` instead of polling.
    InitError(String),
}

#[derive(Default)]
struct State {
    queue: VecDeque<(String, Value)>,
    outcomes: Vec<(String, Outcome)>,
    init_error: Option<String>,
    /// The `Lambda-Runtime-Function-Error-Type` header of `init/error`.
    init_error_type: Option<String>,
    first_poll: Option<Instant>,
    counter: u64,
}

pub struct RuntimeApi {
    pub addr: String,
    state: Arc<(Mutex<State>, Condvar)>,
}

impl RuntimeApi {
    pub fn start() -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap().to_string();
        let state: Arc<(Mutex<State>, Condvar)> = Arc::default();
        let s = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let s = s.clone();
                std::thread::spawn(move || serve(conn, s));
            }
        });
        RuntimeApi { addr, state }
    }

    /// When the runtime first asked for an event (its init was done).
    pub fn first_poll(&self) -> Option<Instant> {
        self.state.0.lock().unwrap().first_poll
    }

    /// The error type the runtime's `init/error` carried in its header.
    pub fn init_error_type(&self) -> Option<String> {
        self.state.0.lock().unwrap().init_error_type.clone()
    }

    /// Queues `event` and waits for the runtime's answer.
    pub fn invoke(&self, event: Value, timeout: Duration) -> Outcome {
        let (lock, cv) = &*self.state;
        let id = {
            let mut st = lock.lock().unwrap();
            st.counter += 1;
            let id = format!("req-{:04}", st.counter);
            st.queue.push_back((id.clone(), event));
            cv.notify_all();
            id
        };
        let deadline = Instant::now() + timeout;
        let mut st = lock.lock().unwrap();
        loop {
            if let Some(i) = st.outcomes.iter().position(|(k, _)| *k == id) {
                return st.outcomes.remove(i).1;
            }
            if let Some(e) = &st.init_error {
                return Outcome::InitError(e.clone());
            }
            let now = Instant::now();
            if now >= deadline {
                panic!("the runtime did not answer {id} within {timeout:?}");
            }
            st = cv.wait_timeout(st, deadline - now).unwrap().0;
        }
    }
}

fn serve(conn: TcpStream, state: Arc<(Mutex<State>, Condvar)>) {
    let mut reader = BufReader::new(conn.try_clone().expect("clone socket"));
    let mut conn = conn;
    while let Some((method, path, body, error_type)) = read_request(&mut reader) {
        let reply = if method == "GET" && path.ends_with("/runtime/invocation/next") {
            next_invocation(&state)
        } else if method == "POST" && path.contains("/runtime/invocation/") {
            record_outcome(&state, &path, &body)
        } else if method == "POST" && path.ends_with("/runtime/init/error") {
            let (lock, cv) = &*state;
            let mut st = lock.lock().unwrap();
            st.init_error = Some(String::from_utf8_lossy(&body).into_owned());
            st.init_error_type = error_type;
            drop(st);
            cv.notify_all();
            accepted()
        } else {
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_string()
        };
        if conn.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

/// One HTTP/1.1 request: method, path, body (Content-Length or chunked)
/// and its `Lambda-Runtime-Function-Error-Type`; `None` when the client
/// hangs up.
fn read_request(reader: &mut impl BufRead) -> Option<(String, String, Vec<u8>, Option<String>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut len = 0usize;
    let mut chunked = false;
    let mut error_type = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
            if k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked") {
                chunked = true;
            }
            if k.eq_ignore_ascii_case("lambda-runtime-function-error-type") {
                error_type = Some(v.trim().to_string());
            }
        }
    }
    let body = if chunked {
        read_chunked(reader)?
    } else {
        let mut body = vec![0u8; len];
        reader.read_exact(&mut body).ok()?;
        body
    };
    Some((method, path, body, error_type))
}

/// Blocks until an event is queued, then hands it out with Lambda's headers.
fn next_invocation(state: &(Mutex<State>, Condvar)) -> String {
    let (lock, cv) = state;
    let mut st = lock.lock().unwrap();
    st.first_poll.get_or_insert_with(Instant::now);
    cv.notify_all();
    let (id, event) = loop {
        if let Some(e) = st.queue.pop_front() {
            break e;
        }
        st = cv.wait(st).unwrap();
    };
    drop(st);
    let deadline = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 900_000;
    let body = event.to_string();
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {id}\r\n\
         Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
         Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:hf-render\r\n\
         Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000;Sampled=0\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// `POST .../invocation/{id}/response` or `/error`.
fn record_outcome(state: &(Mutex<State>, Condvar), path: &str, body: &[u8]) -> String {
    let rest = path.split("/runtime/invocation/").nth(1).unwrap_or("");
    let (id, what) = rest.split_once('/').unwrap_or((rest, ""));
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let outcome = if what == "response" {
        Outcome::Response(v)
    } else {
        Outcome::Error(
            v["errorType"].as_str().unwrap_or("").to_string(),
            v["errorMessage"].as_str().unwrap_or("").to_string(),
        )
    };
    let (lock, cv) = state;
    lock.lock()
        .unwrap()
        .outcomes
        .push((id.to_string(), outcome));
    cv.notify_all();
    accepted()
}

fn read_chunked(r: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        r.read_line(&mut size).ok()?;
        let n = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
        let mut chunk = vec![0u8; n + 2];
        r.read_exact(&mut chunk).ok()?;
        if n == 0 {
            return Some(body);
        }
        body.extend_from_slice(&chunk[..n]);
    }
}

fn accepted() -> String {
    let body = r#"{"status":"OK"}"#;
    format!(
        "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}
