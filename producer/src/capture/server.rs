//! A loopback-only static file server for `compiled/`.
//!
//! The page is loaded over http://127.0.0.1 rather than file:// so it gets a
//! real origin (fonts, fetch, media range requests behave as in production),
//! and the server serves nothing outside the plan's `compiled/` directory.
//! HTTP is hyper's, on a single-threaded runtime of the server's own
//! thread (the producer is synchronous; its callers need no runtime); what
//! is ours is which file a path names and which bytes a `Range` asks for.

use std::convert::Infallible;
use std::io::SeekFrom;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use bytes::Bytes;
use futures_util::TryStreamExt;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::oneshot;
use tokio_util::io::ReaderStream;

use crate::errors::{ProducerError, Result};
use crate::plan::assets::mime_for;

type Body = BoxBody<Bytes, std::io::Error>;

pub struct FileServer {
    pub port: u16,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl FileServer {
    pub fn start(root: &Path) -> Result<Self> {
        let failed = |what: &str, e: std::io::Error| {
            ProducerError::RenderFailed(format!("page server: {what}: {e}"))
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .map_err(|e| failed("cannot bind a loopback port", e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| failed("cannot make the socket non-blocking", e))?;
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(|e| failed("cannot start its runtime", e))?;
        let (stop, stopped) = oneshot::channel();
        let root = Arc::new(root.to_path_buf());
        let handle = thread::Builder::new()
            .name("page-server".into())
            .spawn(move || rt.block_on(accept(listener, root, stopped)))
            .map_err(|e| failed("cannot start its thread", e))?;
        Ok(FileServer {
            port,
            stop: Some(stop),
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
    /// Stops accepting; connections still open end with the runtime.
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Accepts until `stopped`, one task per connection.
async fn accept(
    listener: std::net::TcpListener,
    root: Arc<PathBuf>,
    mut stopped: oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    loop {
        let stream = tokio::select! {
            _ = &mut stopped => return,
            conn = listener.accept() => match conn {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
        };
        let root = root.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let root = root.clone();
                async move { Ok::<_, Infallible>(respond(&root, req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The response to one request. Files are streamed from disk, a `Range`
/// request reads only its bytes (media elements seek through large videos
/// that way), so memory stays flat whatever the file size. hyper sends no
/// body for a HEAD request.
async fn respond(root: &Path, req: Request<Incoming>) -> Response<Body> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return short(StatusCode::METHOD_NOT_ALLOWED, "");
    }
    let Some(path) = resolve(root, req.uri().path()) else {
        return short(StatusCode::FORBIDDEN, "forbidden");
    };
    let opened = match tokio::fs::File::open(&path).await {
        Ok(f) => f.metadata().await.map(|m| (f, m.len())),
        Err(e) => Err(e),
    };
    let Ok((file, total)) = opened else {
        return short(StatusCode::NOT_FOUND, "not found");
    };
    let range = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok());
    let mime = mime_for(&path.to_string_lossy());
    match send_file(file, total, mime, range).await {
        Ok(r) => r,
        Err(_) => short(StatusCode::INTERNAL_SERVER_ERROR, "read failed"),
    }
}

/// A response with the headers every answer carries.
fn response(status: StatusCode, length: u64, body: Body) -> Response<Body> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn short(status: StatusCode, body: &'static str) -> Response<Body> {
    let full = Full::new(Bytes::from_static(body.as_bytes())).map_err(|e| match e {});
    response(status, body.len() as u64, full.boxed())
}

async fn send_file(
    mut file: tokio::fs::File,
    total: u64,
    mime: &'static str,
    range: Option<&str>,
) -> std::io::Result<Response<Body>> {
    let (status, start, len) = match range.map_or(Span::Whole, |r| parse_range(r, total)) {
        Span::Whole => (StatusCode::OK, 0, total),
        Span::Part(start, end) => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        Span::Unsatisfiable => {
            let empty = Empty::new().map_err(|e| match e {}).boxed();
            let mut r = response(StatusCode::RANGE_NOT_SATISFIABLE, 0, empty);
            let unsatisfied = HeaderValue::try_from(format!("bytes */{total}")).expect("ASCII");
            r.headers_mut().insert(header::CONTENT_RANGE, unsatisfied);
            return Ok(r);
        }
    };
    file.seek(SeekFrom::Start(start)).await?;
    let frames = ReaderStream::new(file.take(len)).map_ok(Frame::data);
    let mut r = response(status, len, StreamBody::new(frames).boxed());
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if status == StatusCode::PARTIAL_CONTENT {
        let end = start + len - 1;
        let value = format!("bytes {start}-{end}/{total}");
        h.insert(
            header::CONTENT_RANGE,
            HeaderValue::try_from(value).expect("ASCII"),
        );
    }
    Ok(r)
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
    use std::fs::File;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    fn get(port: u16, path: &str, extra: &str) -> String {
        String::from_utf8_lossy(&get_bytes(port, path, extra)).into_owned()
    }

    fn get_bytes(port: u16, path: &str, extra: &str) -> Vec<u8> {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n"
        )
        .unwrap();
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
        assert!(
            r.to_ascii_lowercase().contains("content-range: bytes */11"),
            "{r}"
        );
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
