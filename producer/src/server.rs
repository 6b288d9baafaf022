//! A loopback-only static file server for `compiled/`.
//!
//! The page is loaded over http://127.0.0.1 rather than file:// so it gets a
//! real origin (fonts, fetch, media range requests behave as in production),
//! and the server serves nothing outside the plan's `compiled/` directory.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::assets::mime_for;
use crate::errors::{ProducerError, Result};

pub struct FileServer {
    pub port: u16,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl FileServer {
    pub fn start(root: &Path) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| {
            ProducerError::RenderFailed(format!("cannot bind a loopback port: {e}"))
        })?;
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        let stop = Arc::new(AtomicBool::new(false));
        let root = root.to_path_buf();
        let stop2 = stop.clone();
        let handle = thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = conn {
                    let root = root.clone();
                    thread::spawn(move || {
                        let _ = serve(stream, &root);
                    });
                }
            }
        });
        Ok(FileServer {
            port,
            stop,
            handle: Some(handle),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!(
            "http://127.0.0.1:{}/{}",
            self.port,
            path.trim_start_matches('/')
        )
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Maps a URL path to a file under root, refusing anything that escapes it.
fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let path = url_path.split(['?', '#']).next().unwrap_or("");
    let decoded = percent_decode(path);
    let mut out = root.to_path_buf();
    for c in Path::new(decoded.trim_start_matches('/')).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if out.is_dir() {
        out.push("index.html");
    }
    Some(out)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn serve(stream: TcpStream, root: &Path) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let mut range: Option<String> = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.trim().eq_ignore_ascii_case("range") {
                range = Some(v.trim().to_string());
            }
        }
    }
    let respond = |out: &mut TcpStream,
                   status: &str,
                   headers: &str,
                   body: &[u8],
                   head_only: bool| {
        let _ = write!(
            out,
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n{headers}\r\n",
            body.len()
        );
        if !head_only {
            let _ = out.write_all(body);
        }
    };
    if method != "GET" && method != "HEAD" {
        respond(&mut out, "405 Method Not Allowed", "", b"", false);
        return Ok(());
    }
    let head_only = method == "HEAD";
    let Some(path) = resolve(root, &target) else {
        respond(&mut out, "403 Forbidden", "", b"forbidden", head_only);
        return Ok(());
    };
    let mut data = Vec::new();
    match std::fs::File::open(&path).and_then(|mut f| f.read_to_end(&mut data)) {
        Ok(_) => {}
        Err(_) => {
            respond(&mut out, "404 Not Found", "", b"not found", head_only);
            return Ok(());
        }
    }
    let mime = mime_for(&path.to_string_lossy());
    let total = data.len();
    if let Some((start, end)) = range.as_deref().and_then(|r| parse_range(r, total)) {
        let headers = format!(
            "Content-Type: {mime}\r\nAccept-Ranges: bytes\r\nContent-Range: bytes {start}-{end}/{total}\r\n"
        );
        respond(
            &mut out,
            "206 Partial Content",
            &headers,
            &data[start..=end],
            head_only,
        );
    } else {
        let headers = format!("Content-Type: {mime}\r\nAccept-Ranges: bytes\r\n");
        respond(&mut out, "200 OK", &headers, &data, head_only);
    }
    let _ = out.flush();
    let _ = out.shutdown(Shutdown::Write);
    Ok(())
}

/// `bytes=a-b`, `bytes=a-`, `bytes=-n` -> inclusive range within `total`.
fn parse_range(r: &str, total: usize) -> Option<(usize, usize)> {
    if total == 0 {
        return None;
    }
    let spec = r.strip_prefix("bytes=")?.split(',').next()?.trim();
    let (a, b) = spec.split_once('-')?;
    let (start, end) = if a.is_empty() {
        let n: usize = b.parse().ok()?;
        (total.saturating_sub(n), total - 1)
    } else {
        let start: usize = a.parse().ok()?;
        let end = if b.is_empty() {
            total - 1
        } else {
            b.parse::<usize>().ok()?.min(total - 1)
        };
        (start, end)
    };
    (start <= end && start < total).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(port: u16, path: &str, extra: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn serves_files_ranges_and_refuses_traversal() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "hello world").unwrap();
        let srv = FileServer::start(dir.path()).unwrap();
        assert!(get(srv.port, "/", "").ends_with("hello world"));
        let r = get(srv.port, "/index.html", "Range: bytes=6-\r\n");
        assert!(r.starts_with("HTTP/1.1 206") && r.ends_with("world"), "{r}");
        assert!(get(srv.port, "/../etc/passwd", "").starts_with("HTTP/1.1 403"));
        assert!(get(srv.port, "/%2e%2e/x", "").starts_with("HTTP/1.1 403"));
        assert!(get(srv.port, "/missing.js", "").starts_with("HTTP/1.1 404"));
    }
}
