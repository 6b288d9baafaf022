//! A loopback-only static file server for `compiled/`.
//!
//! The page is loaded over http://127.0.0.1 rather than file:// so it gets a
//! real origin (fonts, fetch, media range requests behave as in production),
//! and the server serves nothing outside the plan's `compiled/` directory.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::errors::{ProducerError, Result};
use crate::plan::assets::mime_for;

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

/// The request line's method and target, and the `Range` header if any.
struct Request {
    method: String,
    target: String,
    range: Option<String>,
}

fn read_request(reader: &mut impl BufRead) -> std::io::Result<Request> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let mut range = None;
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
    Ok(Request {
        method,
        target,
        range,
    })
}

fn head(out: &mut TcpStream, status: &str, length: u64, headers: &str) -> std::io::Result<()> {
    write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Length: {length}\r\nConnection: close\r\nCache-Control: no-store\r\n{headers}\r\n"
    )
}

fn short(out: &mut TcpStream, status: &str, body: &[u8], head_only: bool) -> std::io::Result<()> {
    head(out, status, body.len() as u64, "")?;
    if !head_only {
        out.write_all(body)?;
    }
    Ok(())
}

/// Serves one request. Files are streamed from disk, a `Range` request
/// reads only its bytes (media elements seek through large videos that
/// way), so memory stays flat whatever the file size.
fn serve(stream: TcpStream, root: &Path) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let req = read_request(&mut BufReader::new(stream.try_clone()?))?;
    let mut out = stream;
    let head_only = req.method == "HEAD";
    if req.method != "GET" && !head_only {
        short(&mut out, "405 Method Not Allowed", b"", false)?;
    } else if let Some(path) = resolve(root, &req.target) {
        match File::open(&path).and_then(|f| Ok((f.metadata()?.len(), f))) {
            Ok((total, file)) => {
                let mime = mime_for(&path.to_string_lossy());
                send_file(&mut out, file, total, mime, req.range.as_deref(), head_only)?;
            }
            Err(_) => short(&mut out, "404 Not Found", b"not found", head_only)?,
        }
    } else {
        short(&mut out, "403 Forbidden", b"forbidden", head_only)?;
    }
    out.flush()?;
    let _ = out.shutdown(Shutdown::Write);
    Ok(())
}

fn send_file(
    out: &mut TcpStream,
    mut file: File,
    total: u64,
    mime: &str,
    range: Option<&str>,
    head_only: bool,
) -> std::io::Result<()> {
    let (status, start, len, extra) = match range.map_or(Span::Whole, |r| parse_range(r, total)) {
        Span::Whole => ("200 OK", 0, total, String::new()),
        Span::Part(start, end) => (
            "206 Partial Content",
            start,
            end - start + 1,
            format!("Content-Range: bytes {start}-{end}/{total}\r\n"),
        ),
        Span::Unsatisfiable => {
            let headers = format!("Content-Range: bytes */{total}\r\n");
            head(out, "416 Range Not Satisfiable", 0, &headers)?;
            return Ok(());
        }
    };
    let headers = format!("Content-Type: {mime}\r\nAccept-Ranges: bytes\r\n{extra}");
    head(out, status, len, &headers)?;
    if !head_only {
        file.seek(SeekFrom::Start(start))?;
        std::io::copy(&mut file.take(len), out)?;
    }
    Ok(())
}

/// What a `Range` header asks of a file.
#[derive(Debug, PartialEq, Eq)]
enum Span {
    /// No usable range (another unit, malformed): the whole file, as
    /// RFC 9110 says to treat a Range the server does not understand.
    Whole,
    /// Inclusive byte offsets within the file.
    Part(u64, u64),
    /// A byte range that starts past the end of the file (416).
    Unsatisfiable,
}

/// `bytes=a-b`, `bytes=a-`, `bytes=-n`. Only the first range of a
/// multi-range request is served.
fn parse_range(r: &str, total: u64) -> Span {
    let Some(spec) = r
        .strip_prefix("bytes=")
        .and_then(|s| s.split(',').next())
        .map(str::trim)
    else {
        return Span::Whole;
    };
    let Some((a, b)) = spec.split_once('-') else {
        return Span::Whole;
    };
    let parsed = if a.is_empty() {
        b.parse::<u64>()
            .ok()
            .filter(|&n| n > 0)
            .map(|n| (total.saturating_sub(n), total.saturating_sub(1)))
    } else {
        let end = if b.is_empty() {
            Some(u64::MAX)
        } else {
            b.parse::<u64>().ok()
        };
        a.parse::<u64>().ok().zip(end).filter(|(s, e)| s <= e)
    };
    match parsed {
        None => Span::Whole,
        Some((start, _)) if start >= total => Span::Unsatisfiable,
        Some((start, end)) => Span::Part(start, end.min(total - 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(port: u16, path: &str, extra: &str) -> String {
        String::from_utf8_lossy(&get_bytes(port, path, extra)).into_owned()
    }

    fn get_bytes(port: u16, path: &str, extra: &str) -> Vec<u8> {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n").unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        out
    }

    /// (status line, headers lowercased, body).
    fn split(resp: &[u8]) -> (String, Vec<(String, String)>, Vec<u8>) {
        let at = resp.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let text = String::from_utf8_lossy(&resp[..at]).into_owned();
        let mut lines = text.split("\r\n");
        let status = lines.next().unwrap().to_string();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        (status, headers, resp[at + 4..].to_vec())
    }

    fn header<'a>(h: &'a [(String, String)], k: &str) -> &'a str {
        h.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {k} header in {h:?}"))
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
        let r = get(srv.port, "/index.html", "Range: bytes=50-60\r\n");
        assert!(r.starts_with("HTTP/1.1 416"), "{r}");
        assert!(r.contains("Content-Range: bytes */11"), "{r}");
    }

    /// A 48 MiB video: a Range request gets exactly its bytes and headers,
    /// a plain GET the whole file, both streamed from disk.
    #[test]
    fn large_files_stream_and_ranges_read_only_their_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let size: u64 = 48 << 20;
        let path = dir.path().join("clip.mp4");
        {
            let mut f = std::io::BufWriter::new(File::create(&path).unwrap());
            for i in 0..size / 4 {
                f.write_all(&(i as u32).to_le_bytes()).unwrap();
            }
        }
        let content = std::fs::read(&path).unwrap();
        let srv = FileServer::start(dir.path()).unwrap();

        let (start, end) = (size - 5_000_003, size - 1_000_001);
        let resp = get_bytes(
            srv.port,
            "/clip.mp4",
            &format!("Range: bytes={start}-{end}\r\n"),
        );
        let (status, h, body) = split(&resp);
        assert_eq!(status, "HTTP/1.1 206 Partial Content");
        assert_eq!(
            header(&h, "content-range"),
            format!("bytes {start}-{end}/{size}")
        );
        assert_eq!(header(&h, "content-length"), (end - start + 1).to_string());
        assert_eq!(header(&h, "content-type"), "video/mp4");
        assert_eq!(header(&h, "accept-ranges"), "bytes");
        assert!(
            body == content[start as usize..=end as usize],
            "range bytes differ"
        );

        let (status, h, body) = split(&get_bytes(srv.port, "/clip.mp4", "Range: bytes=-10\r\n"));
        assert_eq!(status, "HTTP/1.1 206 Partial Content");
        assert_eq!(
            header(&h, "content-range"),
            format!("bytes {}-{}/{size}", size - 10, size - 1)
        );
        assert_eq!(body, &content[content.len() - 10..]);

        let (status, h, body) = split(&get_bytes(srv.port, "/clip.mp4", ""));
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert_eq!(header(&h, "content-length"), size.to_string());
        assert!(body == content, "full body differs");
    }

    #[test]
    fn ranges_are_parsed_within_the_file() {
        assert_eq!(parse_range("bytes=0-0", 10), Span::Part(0, 0));
        assert_eq!(parse_range("bytes=5-", 10), Span::Part(5, 9));
        assert_eq!(parse_range("bytes=-3", 10), Span::Part(7, 9));
        assert_eq!(parse_range("bytes=-30", 10), Span::Part(0, 9));
        assert_eq!(parse_range("bytes=2-99", 10), Span::Part(2, 9));
        assert_eq!(parse_range("bytes=0-1,4-5", 10), Span::Part(0, 1));
        assert_eq!(parse_range("bytes=10-", 10), Span::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1", 0), Span::Unsatisfiable);
        assert_eq!(parse_range("bytes=4-2", 10), Span::Whole);
        assert_eq!(parse_range("items=0-1", 10), Span::Whole);
        assert_eq!(parse_range("bytes=x-", 10), Span::Whole);
    }
}
