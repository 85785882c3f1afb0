//! The HTTP CONNECT client (RFC 9110 section 9.3.6): the request, the
//! response head read up to its empty line and not one byte further, the
//! status judged. The head's bytes are handled by pure functions; the
//! async part only moves them.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{ConnectError, Credentials, Target};

/// The longest response head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// How many interim (1xx) responses may precede the final one.
const MAX_INTERIM: usize = 8;
/// How much of a reason phrase an error keeps.
const MAX_REASON: usize = 80;

/// A response's status line, the part that matters for CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Status {
    /// The status code, 100 to 599.
    pub(super) code: u16,
    /// The reason phrase, printable ASCII only and at most 80 characters.
    pub(super) reason: String,
}

/// Asks the HTTP proxy at the other end of `stream` for a tunnel to
/// `target`; on success the stream carries the destination's bytes, the
/// first of them unread.
pub(super) async fn connect(
    mut stream: TcpStream,
    auth: Option<&Credentials>,
    target: &Target,
) -> Result<TcpStream, ConnectError> {
    stream
        .write_all(request(target, auth).as_bytes())
        .await
        .map_err(ConnectError::Exchange)?;
    for _ in 0..=MAX_INTERIM {
        let head = read_head(&mut stream).await?;
        let status = status(&head)?;
        // An interim response (100 Continue, 103 Early Hints) comes before
        // the final one.
        if !(100..200).contains(&status.code) {
            return outcome(status).map(|()| stream);
        }
    }
    Err(ConnectError::Protocol(format!(
        "more than {MAX_INTERIM} interim responses"
    )))
}

/// The CONNECT request head.
pub(super) fn request(target: &Target, auth: Option<&Credentials>) -> String {
    //= https://www.rfc-editor.org/rfc/rfc9110#section-9.3.6
    //# CONNECT uses a special form of request target, unique to this method,
    //# consisting of only the host and port number of the tunnel destination,
    //# separated by a colon. There is no default port; a client MUST send the
    //# port number even if the CONNECT request is based on a URI reference
    //# that contains an authority component with an elided port (Section 4.1).
    let authority = match target {
        // `SocketAddrV6`'s Display adds a scope id, which has no place here.
        Target::Addr(SocketAddr::V6(a)) => format!("[{}]:{}", a.ip(), a.port()),
        _ => target.to_string(),
    };
    let mut head = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(auth) = auth {
        //= https://www.rfc-editor.org/rfc/rfc7617#section-2
        //# 2.  constructs the user-pass by concatenating the user-id, a single
        //#     colon (":") character, and the password,
        let user_pass = format!("{}:{}", auth.user(), auth.password());
        head.push_str("Proxy-Authorization: Basic ");
        head.push_str(&base64(user_pass.as_bytes()));
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head
}

/// Reads one response head, its empty line included, and not a byte more:
/// it peeks at what has arrived and consumes only the head's share.
async fn read_head(stream: &mut TcpStream) -> Result<Vec<u8>, ConnectError> {
    //= https://www.rfc-editor.org/rfc/rfc9110#section-9.3.6
    //# Any 2xx (Successful) response indicates that the sender (and all
    //# inbound proxies) will switch to tunnel mode immediately after the
    //# response header section; data received after that header section is
    //# from the server identified by the request target.
    let mut head = Vec::new();
    let mut chunk = [0; 1024];
    loop {
        let room = (MAX_HEAD - head.len()).min(chunk.len());
        if room == 0 {
            return Err(ConnectError::Protocol(format!(
                "a response head longer than {MAX_HEAD} bytes"
            )));
        }
        let n = stream
            .peek(&mut chunk[..room])
            .await
            .map_err(ConnectError::Exchange)?;
        if n == 0 {
            return Err(ConnectError::Exchange(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the proxy closed the connection before the end of its response head",
            )));
        }
        let seen = head.len();
        head.extend_from_slice(&chunk[..n]);
        // The empty line may have begun in the previous chunk.
        let end = head_end(&head, seen.saturating_sub(3));
        if let Some(end) = end {
            head.truncate(end);
        }
        // Consume the bytes kept: they were just peeked at, so they are
        // there, and they are these.
        stream
            .read_exact(&mut chunk[..head.len() - seen])
            .await
            .map_err(ConnectError::Exchange)?;
        if end.is_some() {
            return Ok(head);
        }
    }
}

/// Where the head in `buf` ends, just past its CRLF CRLF, looking from
/// `from` on.
pub(super) fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| from + at + 4)
}

/// The status line at the start of a response head.
pub(super) fn status(head: &[u8]) -> Result<Status, ConnectError> {
    //= https://www.rfc-editor.org/rfc/rfc9112#section-4
    //# status-line = HTTP-version SP status-code SP [ reason-phrase ]
    let line_end = head
        .windows(2)
        .position(|w| w == b"\r\n")
        .ok_or_else(|| bad_status(head))?;
    let line = &head[..line_end];
    let (version, rest) = split_at_space(line).ok_or_else(|| bad_status(head))?;
    if !version.starts_with(b"HTTP/1.") {
        return Err(bad_status(head));
    }
    // A status line without the space after the code is seen in the wild.
    let (code, reason) = split_at_space(rest).unwrap_or((rest, b""));
    let code = match code {
        [a @ b'1'..=b'5', b @ b'0'..=b'9', c @ b'0'..=b'9'] => {
            u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
        }
        _ => return Err(bad_status(head)),
    };
    Ok(Status {
        code,
        reason: printable(reason),
    })
}

/// Whether a final status opens the tunnel.
pub(super) fn outcome(status: Status) -> Result<(), ConnectError> {
    if (200..300).contains(&status.code) {
        // Nothing in the head matters any more, framing fields included.
        //= https://www.rfc-editor.org/rfc/rfc9112#section-6.3
        //# Any 2xx (Successful) response to a CONNECT request implies that the
        //# connection will become a tunnel immediately after the empty line that
        //# concludes the header fields. A client MUST ignore any Content-Length
        //# or Transfer-Encoding header fields received in such a message.
        return Ok(());
    }
    //= https://www.rfc-editor.org/rfc/rfc9110#section-9.3.6
    //# Any response other than a successful response indicates that the tunnel
    //# has not yet been formed.
    Err(ConnectError::HttpStatus {
        status: status.code,
        reason: status.reason,
    })
}

fn split_at_space(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = s.iter().position(|b| *b == b' ')?;
    Some((&s[..at], &s[at + 1..]))
}

/// At most 80 characters of `s`, anything but printable ASCII as `?`.
fn printable(s: &[u8]) -> String {
    s.iter()
        .take(MAX_REASON)
        .map(|&b| {
            if b == b' ' || b.is_ascii_graphic() {
                b as char
            } else {
                '?'
            }
        })
        .collect()
}

fn bad_status(head: &[u8]) -> ConnectError {
    let line = head.split(|b| *b == b'\r').next().unwrap_or_default();
    ConnectError::Protocol(format!(
        "not an HTTP/1 status line: `{}` (not an HTTP proxy?)",
        printable(line)
    ))
}

/// Base64 with padding (RFC 4648 section 4), for `Basic` credentials.
pub(super) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let b = [
            group[0],
            group.get(1).copied().unwrap_or(0),
            group.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= group.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 0x3f) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::cmd::proxy::upstream::FailureKind;

    #[test]
    fn base64_vectors() {
        // RFC 4648 section 10.
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
        // RFC 7617 section 2's example.
        assert_eq!(
            base64(b"Aladdin:open sesame"),
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(base64(&[0xff, 0xfe, 0xfd, 0xfc]), "//79/A==");
    }

    #[test]
    fn requests() {
        let v4 = Target::Addr("192.0.2.1:443".parse().unwrap());
        assert_eq!(
            request(&v4, None),
            "CONNECT 192.0.2.1:443 HTTP/1.1\r\nHost: 192.0.2.1:443\r\n\r\n"
        );
        let v6 = Target::Addr("[2001:db8::1%7]:443".parse().unwrap());
        assert_eq!(
            request(&v6, None),
            "CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n"
        );
        let name = Target::Name("example.com".into(), 8443);
        let auth = Credentials::new("Aladdin", "open sesame");
        assert_eq!(
            request(&name, Some(&auth)),
            "CONNECT example.com:8443 HTTP/1.1\r\nHost: example.com:8443\r\n\
             Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n"
        );
    }

    #[test]
    fn heads_end_at_the_empty_line() {
        let bytes = b"HTTP/1.1 200 OK\r\nVia: x\r\n\r\ntunnel bytes";
        assert_eq!(head_end(bytes, 0), Some(bytes.len() - 12));
        for from in 0..=bytes.len() - 12 - 4 {
            assert_eq!(head_end(bytes, from), Some(bytes.len() - 12), "{from}");
        }
        assert_eq!(head_end(b"HTTP/1.1 200 OK\r\n\r", 0), None);
        assert_eq!(head_end(b"", 0), None);
        assert_eq!(head_end(b"ab", 9), None);
    }

    #[test]
    fn status_lines() {
        let ok = status(b"HTTP/1.1 200 Connection established\r\n\r\n").unwrap();
        assert_eq!(ok.code, 200);
        assert_eq!(ok.reason, "Connection established");
        assert_eq!(status(b"HTTP/1.0 407\r\n\r\n").unwrap().code, 407);
        assert_eq!(status(b"HTTP/1.1 502 \r\n\r\n").unwrap().reason, "");
        let odd = status(b"HTTP/1.1 503 caf\xc3\xa9\x1b[31m\r\n\r\n").unwrap();
        assert_eq!(odd.reason, "caf???[31m");
        for bad in [
            &b"HTTP/1.1 200 OK"[..],
            b"HTTP/2 200 OK\r\n\r\n",
            b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/1.1 20 OK\r\n\r\n",
            b"HTTP/1.1 600 Odd\r\n\r\n",
            b"HTTP/1.1 099 Odd\r\n\r\n",
            b"HTTP/1.1\r\n\r\n",
            b"\x05\x00",
            b"",
        ] {
            let e = status(bad).unwrap_err();
            assert!(matches!(e, ConnectError::Protocol(_)), "{bad:?}: {e}");
        }
    }

    #[test]
    fn outcomes() {
        for code in [200, 201, 299] {
            outcome(Status {
                code,
                reason: String::new(),
            })
            .unwrap();
        }
        for (code, kind) in [
            (407, FailureKind::NotAllowed),
            (403, FailureKind::NotAllowed),
            (502, FailureKind::Refused),
            (503, FailureKind::Refused),
            (504, FailureKind::TimedOut),
            (500, FailureKind::Failed),
            (302, FailureKind::Failed),
        ] {
            let e = outcome(Status {
                code,
                reason: "Because".into(),
            })
            .unwrap_err();
            assert_eq!(e.kind(), kind, "{code}");
            assert_eq!(
                e.to_string(),
                format!("HTTP proxy answered CONNECT with {code} Because")
            );
        }
    }
}
