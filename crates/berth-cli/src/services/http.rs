//! The small HTTP/1.1 server's protocol, apart from how bytes move: the
//! request head parsed, and the response chosen (a built-in index page,
//! `/bytes/N`, or static files under a root). The session and threaded
//! services both use it.

use std::path::{Component, Path};

const INDEX: &str = "<!doctype html>\n<html><head><title>berth</title></head><body>\n<h1>berth</h1>\n<p>You are talking to berth, a TCP/IP stack in user space.</p>\n<p><a href=\"/bytes/1048576\">/bytes/N</a> streams N bytes.</p>\n</body></html>\n";

/// The most bytes of request head we read.
pub(crate) const MAX_HEAD: usize = 16 * 1024;

/// A parsed request head.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) target: String,
    /// The connection closes after the response.
    pub(crate) close: bool,
    /// Bytes of request body to skip.
    pub(crate) body_len: usize,
}

/// What the bytes received so far hold.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Head {
    /// No complete head yet.
    Incomplete,
    /// A head longer than [`MAX_HEAD`]: 431, then close.
    TooLarge,
    /// A head of this many bytes.
    Complete(Request, usize),
}

/// Looks for a complete request head at the start of `buf`.
pub(crate) fn parse(buf: &[u8]) -> Head {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() > MAX_HEAD {
            Head::TooLarge
        } else {
            Head::Incomplete
        };
    };
    let head_len = end + 4;
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.split("\r\n");
    let mut parts = lines.next().unwrap_or("").split(' ');
    let (method, target, version) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    let mut close = version != "HTTP/1.1";
    let mut body_len = 0usize;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (
            name.trim().to_ascii_lowercase(),
            value.trim().to_ascii_lowercase(),
        );
        if name == "connection" {
            close = value == "close" || (close && value != "keep-alive");
        } else if name == "content-length" {
            body_len = value.parse().unwrap_or(0);
        }
    }
    let valid = version.starts_with("HTTP/1.") && !target.is_empty();
    Head::Complete(
        Request {
            method: if valid {
                method.to_string()
            } else {
                String::new()
            },
            target: target.to_string(),
            // A request we cannot parse is answered and the connection closed.
            close: close || !valid,
            body_len,
        },
        head_len,
    )
}

/// A response's body.
pub(crate) enum Body {
    Fixed(Vec<u8>),
    /// `n` bytes of `patterns::bytes_at` (`/bytes/N`).
    Pattern(u64),
}

/// A response: its head, its body, and whether the connection closes after.
pub(crate) struct Response {
    pub(crate) head: Vec<u8>,
    pub(crate) body: Body,
    pub(crate) close: bool,
}

/// The response to `req`.
pub(crate) fn respond(req: &Request, root: Option<&Path>) -> Response {
    let head_only = req.method == "HEAD";
    let plain = |code, reason, body: &[u8]| fixed(code, reason, body, req.close, head_only);
    if req.method.is_empty() {
        return fixed(400, "Bad Request", b"bad request\n", true, false);
    }
    if req.method != "GET" && !head_only {
        return plain(405, "Method Not Allowed", b"only GET and HEAD\n");
    }
    if let Some(n) = req.target.strip_prefix("/bytes/") {
        return match n.parse::<u64>() {
            Ok(n) => {
                let conn = if req.close { "close" } else { "keep-alive" };
                Response {
                    head: format!(
                        "HTTP/1.1 200 OK\r\nServer: berth\r\nContent-Length: {n}\r\nContent-Type: application/octet-stream\r\nConnection: {conn}\r\n\r\n"
                    )
                    .into_bytes(),
                    body: Body::Pattern(if head_only { 0 } else { n }),
                    close: req.close,
                }
            }
            Err(_) => plain(400, "Bad Request", b"/bytes/N takes a number\n"),
        };
    }
    if let Some(root) = root {
        return file(root, &req.target, req.close, head_only);
    }
    if req.target == "/" || req.target == "/index.html" {
        plain(200, "OK", INDEX.as_bytes())
    } else {
        plain(404, "Not Found", b"not found\n")
    }
}

/// The 431 answer to a head that is too long (the connection closes).
pub(crate) fn too_large() -> Response {
    fixed(431, "Request Header Fields Too Large", b"", true, false)
}

fn fixed(code: u16, reason: &str, body: &[u8], close: bool, head_only: bool) -> Response {
    let conn = if close { "close" } else { "keep-alive" };
    Response {
        head: format!(
            "HTTP/1.1 {code} {reason}\r\nServer: berth\r\nContent-Length: {}\r\nContent-Type: text/html; charset=utf-8\r\nConnection: {conn}\r\n\r\n",
            body.len()
        )
        .into_bytes(),
        body: Body::Fixed(if head_only { Vec::new() } else { body.to_vec() }),
        close,
    }
}

fn file(root: &Path, target: &str, close: bool, head_only: bool) -> Response {
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let mut full = root.to_path_buf();
    for comp in Path::new(path.trim_start_matches('/')).components() {
        match comp {
            Component::Normal(c) => full.push(c),
            // No way out of the root.
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return fixed(403, "Forbidden", b"forbidden\n", close, head_only);
            }
            Component::CurDir => {}
        }
    }
    if full.is_dir() {
        full.push("index.html");
    }
    match std::fs::read(&full) {
        Ok(body) => fixed(200, "OK", &body, close, head_only),
        Err(_) => fixed(404, "Not Found", b"not found\n", close, head_only),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads() {
        assert_eq!(parse(b"GET / HTTP/1.1\r\nHost: x\r\n"), Head::Incomplete);
        let Head::Complete(req, len) = parse(b"GET /a HTTP/1.1\r\nConnection: close\r\n\r\nrest")
        else {
            panic!("complete")
        };
        assert_eq!(len, 38);
        assert_eq!(req.target, "/a");
        assert!(req.close);
        let Head::Complete(req, _) = parse(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        else {
            panic!("complete")
        };
        assert!(!req.close, "HTTP/1.0 keep-alive");
        let Head::Complete(req, _) = parse(b"nonsense\r\n\r\n") else {
            panic!("complete")
        };
        assert!(req.close && req.method.is_empty());
        assert_eq!(parse(&vec![b'a'; MAX_HEAD + 1]), Head::TooLarge);
    }

    #[test]
    fn responses() {
        let req = |target: &str, method: &str| Request {
            method: method.into(),
            target: target.into(),
            close: false,
            body_len: 0,
        };
        let r = respond(&req("/bytes/10", "GET"), None);
        assert!(matches!(r.body, Body::Pattern(10)));
        let r = respond(&req("/bytes/10", "HEAD"), None);
        assert!(matches!(r.body, Body::Pattern(0)));
        let r = respond(&req("/nope", "GET"), None);
        assert!(r.head.starts_with(b"HTTP/1.1 404"));
        let r = respond(&req("/", "POST"), None);
        assert!(r.head.starts_with(b"HTTP/1.1 405"));
        let r = respond(&req("/../etc/passwd", "GET"), Some(Path::new("/tmp")));
        assert!(r.head.starts_with(b"HTTP/1.1 403"));
    }
}
