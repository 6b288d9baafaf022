//! Remote assets over HTTP(S), in process, for the plan stage's network
//! fallback (the offline [`crate::plan::assets::AssetMap`] is asked first).
//!
//! The function's base image has no `curl`, and no OpenSSL either, so this
//! is `ureq` over rustls with the Mozilla root certificates compiled in
//! (`webpki-roots`): nothing is read from the file system to verify a
//! server, so the same binary verifies the same way on a laptop and on
//! AL2023, whose bundle lives at /etc/pki/tls/certs/ca-bundle.crt.
//!
//! Every fetch is bounded, because a plan runs inside a Lambda timeout and
//! writes what it fetches into a size-capped plan: a connect timeout, a
//! timeout per read (a server that stalls mid-body), an overall timeout, a
//! size cap, and a bounded number of redirects. Each failure names the URL
//! and the limit it hit.

use std::time::Duration;

use ureq::Agent;

/// The bounds of one fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchLimits {
    /// To resolve the host and open the connection (TLS included).
    pub connect: Duration,
    /// Without a single byte arriving, once connected.
    pub read: Duration,
    /// For the whole fetch, redirects and body included.
    pub overall: Duration,
    /// Body size in bytes; a larger asset belongs in the project.
    pub max_bytes: u64,
    /// Redirects followed before giving up (a loop hits this).
    pub max_redirects: u32,
}

impl FetchLimits {
    /// What a plan uses: generous for a CDN script or a font file, small
    /// next to the 15-minute Lambda timeout and the plan size cap.
    pub const DEFAULT: FetchLimits = FetchLimits {
        connect: Duration::from_secs(10),
        read: Duration::from_secs(20),
        overall: Duration::from_secs(60),
        max_bytes: 64 << 20,
        max_redirects: 5,
    };
}

impl Default for FetchLimits {
    fn default() -> Self {
        FetchLimits::DEFAULT
    }
}

fn agent(limits: &FetchLimits) -> Agent {
    Agent::config_builder()
        .timeout_resolve(Some(limits.connect))
        .timeout_connect(Some(limits.connect))
        .timeout_per_read(Some(limits.read))
        .timeout_global(Some(limits.overall))
        .max_redirects(limits.max_redirects)
        .user_agent(concat!("hyperframes-producer/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}

/// The body of `url` (http or https), within `limits`. The error says
/// which URL failed and why, in words a user can act on.
pub fn fetch(url: &str, limits: &FetchLimits) -> Result<Vec<u8>, String> {
    let describe = |e: ureq::Error| explain(url, limits, e);
    let mut response = agent(limits).get(url).call().map_err(describe)?;
    response
        .body_mut()
        .with_config()
        .limit(limits.max_bytes)
        .read_to_vec()
        .map_err(describe)
}

fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

fn explain(url: &str, limits: &FetchLimits, e: ureq::Error) -> String {
    use ureq::Timeout as T;
    match e {
        ureq::Error::StatusCode(code) => {
            format!("{url}: the server answered HTTP {code}; check the URL or vendor the file into the project")
        }
        ureq::Error::TooManyRedirects => format!(
            "{url}: more than {} redirects (a redirect loop?); use the final URL or vendor the file",
            limits.max_redirects
        ),
        ureq::Error::BodyExceedsLimit(_) => format!(
            "{url}: the response is larger than the {}-byte cap on a remote asset; put the file in the project instead",
            limits.max_bytes
        ),
        ureq::Error::Timeout(T::Resolve | T::Connect) => format!(
            "{url}: could not connect within the {} connect timeout",
            secs(limits.connect)
        ),
        ureq::Error::Timeout(T::PerRead) => format!(
            "{url}: the server sent nothing for {} (read timeout)",
            secs(limits.read)
        ),
        ureq::Error::Timeout(_) => format!(
            "{url}: the download did not finish within the {} overall timeout",
            secs(limits.overall)
        ),
        ureq::Error::HostNotFound => format!("{url}: the host name does not resolve"),
        ureq::Error::ConnectionFailed => format!("{url}: the connection was refused or failed"),
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            format!("{url}: the connection was refused or failed ({e})")
        }
        other => format!("{url}: download failed: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::{TcpListener, TcpStream};
    use std::time::Instant;

    /// A loopback HTTP/1.1 server answering every request with `respond`
    /// (given the request path); returns its base URL.
    fn serve(respond: fn(&str, &mut TcpStream)) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut stream) = conn else { continue };
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    let _ = reader.read_line(&mut line);
                    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                            break;
                        }
                    }
                    respond(&path, &mut stream);
                });
            }
        });
        base
    }

    fn reply(stream: &mut TcpStream, status: &str, headers: &str, body: &[u8]) {
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n",
            body.len()
        );
        let _ = stream.write_all(body);
    }

    /// Fetches `base` + `path`, which must fail, and checks that the
    /// message starts with the URL; returns the message.
    fn failure(base: &str, path: &str) -> String {
        let url = format!("{base}{path}");
        let err = fetch(&url, &limits()).unwrap_err();
        assert!(err.starts_with(&url), "{err}");
        err
    }

    fn limits() -> FetchLimits {
        FetchLimits {
            connect: Duration::from_secs(2),
            read: Duration::from_millis(500),
            overall: Duration::from_secs(3),
            max_bytes: 1000,
            max_redirects: 3,
        }
    }

    #[test]
    fn a_body_within_the_limits_is_returned_after_redirects() {
        let base = serve(|path, s| match path {
            "/a" => reply(s, "302 Found", "Location: /b\r\n", b""),
            "/b" => reply(s, "301 Moved Permanently", "Location: /font.woff2\r\n", b""),
            "/font.woff2" => reply(s, "200 OK", "Content-Type: font/woff2\r\n", b"FONTDATA"),
            _ => reply(s, "404 Not Found", "", b"no"),
        });
        assert_eq!(fetch(&format!("{base}/a"), &limits()).unwrap(), b"FONTDATA");
    }

    #[test]
    fn a_redirect_loop_stops_at_the_redirect_limit() {
        let base = serve(|_, s| reply(s, "302 Found", "Location: /loop\r\n", b""));
        let err = failure(&base, "/loop");
        assert!(err.contains("more than 3 redirects"), "{err}");
    }

    #[test]
    fn an_oversize_body_is_refused_with_the_cap() {
        let base = serve(|_, s| reply(s, "200 OK", "", &[b'x'; 5000]));
        let err = failure(&base, "/big.mp4");
        assert!(err.contains("larger than the 1000-byte cap"), "{err}");
    }

    #[test]
    fn a_404_names_the_status() {
        let base = serve(|_, s| reply(s, "404 Not Found", "", b"nope"));
        let err = failure(&base, "/missing.js");
        assert!(err.contains("HTTP 404"), "{err}");
    }

    #[test]
    fn a_server_that_stalls_hits_the_read_timeout() {
        let base = serve(|_, s| {
            // Headers promise 10 bytes; 2 come, then nothing.
            let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab");
            std::thread::sleep(Duration::from_secs(5));
        });
        let t = Instant::now();
        let err = failure(&base, "/slow.css");
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
        assert!(
            err.contains("sent nothing for 0.5 s (read timeout)"),
            "{err}"
        );
    }

    #[test]
    fn a_server_that_trickles_hits_the_overall_timeout() {
        let base = serve(|_, s| {
            let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
            // A byte every 100 ms: each read is within the read timeout,
            // with room for a loaded machine (at 300 ms, a late wake-up
            // once hit the read timeout instead).
            for _ in 0..100 {
                if s.write_all(b"x").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let t = Instant::now();
        let err = failure(&base, "/trickle.js");
        assert!(t.elapsed() < Duration::from_secs(6), "{:?}", t.elapsed());
        assert!(err.contains("within the 3 s overall timeout"), "{err}");
    }

    #[test]
    fn a_closed_port_is_a_connection_failure() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = failure(&format!("http://127.0.0.1:{port}"), "/x.js");
        assert!(err.contains("refused or failed"), "{err}");
    }
}
