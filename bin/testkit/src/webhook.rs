//! A webhook receiver for tests: a plain std `TcpListener` on loopback that
//! records each request (method, path, headers, body) and answers with the
//! next status of a script (then 200), so a test can check what a sender
//! posted and make it retry.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request as received; header names lower-cased.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

pub struct Webhook {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Webhook {
    /// Listens on 127.0.0.1 at `path`; answers `statuses` in order, then 200.
    pub fn start(path: &str, statuses: &[u16]) -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let url = format!("http://{}{path}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let (log, mut script) = (received.clone(), statuses.to_vec());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let status = if script.is_empty() {
                    200
                } else {
                    script.remove(0)
                };
                if let Some(r) = serve(stream, status) {
                    log.lock().unwrap().push(r);
                }
            }
        });
        Webhook { url, received }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits up to `limit` for `n` requests; returns what arrived.
    pub fn wait_for(&self, n: usize, limit: Duration) -> Vec<Received> {
        let t = Instant::now();
        while self.received().len() < n && t.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.received()
    }
}

fn serve(stream: TcpStream, status: u16) -> Option<Received> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let Some((k, v)) = h.trim_end().split_once(':') else {
            break;
        };
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} Scripted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
    Some(Received {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}
