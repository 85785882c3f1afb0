//! SOCKS5 messages (RFC 1928, RFC 1929) as bytes: encoders, and decoders
//! that take what has been read so far and either finish, say how many
//! bytes they need in all, or fail. No I/O, no panics on any input.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::super::spec::MAX_CREDENTIAL;
use super::super::{ConnectError, Credentials, Target};

/// The protocol version, X'05'.
const VERSION: u8 = 0x05;
/// The version of the user name and password sub-negotiation, X'01'.
const AUTH_VERSION: u8 = 0x01;

/// X'00' NO AUTHENTICATION REQUIRED.
const METHOD_NONE: u8 = 0x00;
/// X'02' USERNAME/PASSWORD.
const METHOD_PASSWORD: u8 = 0x02;
/// X'FF' NO ACCEPTABLE METHODS.
const METHOD_NO_ACCEPTABLE: u8 = 0xff;

/// CMD X'01' CONNECT.
pub(super) const CMD_CONNECT: u8 = 0x01;
/// CMD X'03' UDP ASSOCIATE.
pub(super) const CMD_UDP_ASSOCIATE: u8 = 0x03;

/// ATYP X'01': an IPv4 address, 4 octets.
const ATYP_IPV4: u8 = 0x01;
/// ATYP X'03': a domain name, a length octet and the name.
const ATYP_DOMAIN: u8 = 0x03;
/// ATYP X'04': an IPv6 address, 16 octets.
const ATYP_IPV6: u8 = 0x04;

/// REP X'00' succeeded.
const REP_SUCCEEDED: u8 = 0x00;

/// The method the server chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    /// No authentication.
    None,
    /// RFC 1929 user name and password.
    Password,
}

/// How far a reply has come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Reply {
    /// Not complete: read until there are this many bytes in all.
    Need(usize),
    /// A success reply of exactly the bytes given, with BND.ADDR/BND.PORT.
    Done(Target),
}

/// A datagram through the UDP relay, header stripped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Datagram<'a> {
    /// FRAG: 0 for a datagram that stands alone.
    pub(super) frag: u8,
    /// DST.ADDR/DST.PORT: where it goes, or (from the relay) where it came
    /// from.
    pub(super) addr: Target,
    /// DATA.
    pub(super) data: &'a [u8],
}

/// The version identifier/method selection message: no authentication,
/// and user name and password if there are credentials.
pub(super) fn greeting(with_password: bool) -> Vec<u8> {
    //= https://www.rfc-editor.org/rfc/rfc1928#section-3
    //# The client connects to the server, and sends a version
    //# identifier/method selection message:
    if with_password {
        vec![VERSION, 2, METHOD_NONE, METHOD_PASSWORD]
    } else {
        vec![VERSION, 1, METHOD_NONE]
    }
}

/// The server's METHOD selection message.
pub(super) fn method(reply: [u8; 2], offered_password: bool) -> Result<Method, ConnectError> {
    let [version, method] = reply;
    if version != VERSION {
        return Err(version_error(version));
    }
    match method {
        METHOD_NONE => Ok(Method::None),
        METHOD_PASSWORD if offered_password => Ok(Method::Password),
        //= https://www.rfc-editor.org/rfc/rfc1928#section-3
        //# If the selected METHOD is X'FF', none of the methods listed by the
        //# client are acceptable, and the client MUST close the connection.
        METHOD_NO_ACCEPTABLE => Err(ConnectError::NoAcceptableMethod),
        //= https://www.rfc-editor.org/rfc/rfc1928#section-3
        //# The server selects from one of the methods given in METHODS, and
        //# sends a METHOD selection message:
        other => Err(ConnectError::Protocol(format!(
            "the server chose method {other:#04x}, which was not offered"
        ))),
    }
}

/// The user name and password request (RFC 1929 section 2).
pub(super) fn password_request(auth: &Credentials) -> Result<Vec<u8>, ConnectError> {
    //= https://www.rfc-editor.org/rfc/rfc1929#section-2
    //# The VER field contains the current version of the subnegotiation,
    //# which is X'01'. The ULEN field contains the length of the UNAME field
    //# that follows. The UNAME field contains the username as known to the
    //# source operating system. The PLEN field contains the length of the
    //# PASSWD field that follows. The PASSWD field contains the password
    //# association with the given UNAME.
    let (user, password) = (auth.user().as_bytes(), auth.password().as_bytes());
    let mut msg = Vec::with_capacity(3 + user.len() + password.len());
    msg.push(AUTH_VERSION);
    for field in [user, password] {
        let len = u8::try_from(field.len())
            .ok()
            .filter(|len| (1..=MAX_CREDENTIAL).contains(&usize::from(*len)))
            .ok_or_else(|| {
                ConnectError::Invalid(format!(
                    "RFC 1929 carries user names and passwords of 1 to {MAX_CREDENTIAL} bytes"
                ))
            })?;
        msg.push(len);
        msg.extend_from_slice(field);
    }
    Ok(msg)
}

/// The server's answer to the user name and password.
pub(super) fn password_status(reply: [u8; 2]) -> Result<(), ConnectError> {
    // VER should be X'01'; some servers answer X'05'. Only STATUS decides.
    //= https://www.rfc-editor.org/rfc/rfc1929#section-2
    //# A STATUS field of X'00' indicates success. If the server returns a
    //# `failure' (STATUS value other than X'00') status, it MUST close the
    //# connection.
    match reply[1] {
        0x00 => Ok(()),
        _ => Err(ConnectError::AuthRejected),
    }
}

/// A request: CMD (CONNECT, UDP ASSOCIATE) and DST.ADDR/DST.PORT.
pub(super) fn request(cmd: u8, dst: &Target) -> Result<Vec<u8>, ConnectError> {
    //= https://www.rfc-editor.org/rfc/rfc1928#section-4
    //# +----+-----+-------+------+----------+----------+
    //# |VER | CMD |  RSV  | ATYP | DST.ADDR | DST.PORT |
    //# +----+-----+-------+------+----------+----------+
    //# | 1  |  1  | X'00' |  1   | Variable |    2     |
    //# +----+-----+-------+------+----------+----------+
    let mut msg = vec![VERSION, cmd, 0x00];
    put_addr(&mut msg, dst)?;
    Ok(msg)
}

/// The reply to a request, from the bytes read so far.
///
/// A failure is known from the first two bytes: the server closes the
/// connection after it (RFC 1928 section 6, "Reply Processing"), so
/// nothing more is waited for. A success is complete after exactly the
/// bytes of BND.ADDR/BND.PORT, whatever their ATYP, so that not one byte
/// after it (the destination's data) is taken.
pub(super) fn reply(buf: &[u8]) -> Result<Reply, ConnectError> {
    //= https://www.rfc-editor.org/rfc/rfc1928#section-6
    //# +----+-----+-------+------+----------+----------+
    //# |VER | REP |  RSV  | ATYP | BND.ADDR | BND.PORT |
    //# +----+-----+-------+------+----------+----------+
    //# | 1  |  1  | X'00' |  1   | Variable |    2     |
    //# +----+-----+-------+------+----------+----------+
    let [version, rep, rest @ ..] = buf else {
        return Ok(Reply::Need(2));
    };
    if *version != VERSION {
        return Err(version_error(*version));
    }
    //= https://www.rfc-editor.org/rfc/rfc1928#section-6
    //# When a reply (REP value other than X'00') indicates a failure, the
    //# SOCKS server MUST terminate the TCP connection shortly after sending
    //# the reply.
    if *rep != REP_SUCCEEDED {
        return Err(ConnectError::Socks5Reply(*rep));
    }
    // RSV is not checked: it carries nothing.
    let Some(addr) = rest.get(1..) else {
        return Ok(Reply::Need(4));
    };
    match addr_len(addr)? {
        AddrLen::Need(n) => Ok(Reply::Need(3 + n)),
        AddrLen::Is(n) if addr.len() == n => Ok(Reply::Done(get_addr(addr)?.0)),
        AddrLen::Is(n) if addr.len() < n => Ok(Reply::Need(3 + n)),
        AddrLen::Is(_) => Err(ConnectError::Protocol(
            "bytes past the end of the reply were handed to its decoder".into(),
        )),
    }
}

/// A datagram for the UDP relay: the UDP request header, then `data`.
pub(super) fn datagram(dst: &Target, data: &[u8]) -> Result<Vec<u8>, ConnectError> {
    //= https://www.rfc-editor.org/rfc/rfc1928#section-7
    //# Each UDP datagram carries a UDP request
    //# header with it:
    //#
    //# +----+------+------+----------+----------+----------+
    //# |RSV | FRAG | ATYP | DST.ADDR | DST.PORT |   DATA   |
    //# +----+------+------+----------+----------+----------+
    //# | 2  |  1   |  1   | Variable |    2     | Variable |
    //# +----+------+------+----------+----------+----------+
    let mut msg = Vec::with_capacity(4 + 1 + 255 + 2 + data.len());
    // RSV X'0000', FRAG X'00': this datagram stands alone.
    msg.extend_from_slice(&[0x00, 0x00, 0x00]);
    put_addr(&mut msg, dst)?;
    msg.extend_from_slice(data);
    Ok(msg)
}

/// A datagram from the UDP relay, parsed. FRAG is returned, not judged.
pub(super) fn parse_datagram(buf: &[u8]) -> Result<Datagram<'_>, ConnectError> {
    let [_, _, frag, addr @ ..] = buf else {
        return Err(ConnectError::Protocol(
            "a relayed datagram shorter than its header".into(),
        ));
    };
    let (addr, len) = get_addr(addr)?;
    Ok(Datagram {
        frag: *frag,
        addr,
        data: buf.get(3 + len..).unwrap_or_default(),
    })
}

/// The length of an address field (ATYP, address, port) as far as known.
enum AddrLen {
    /// Need this many bytes to know.
    Need(usize),
    /// This many bytes.
    Is(usize),
}

/// How long the address field at the start of `buf` is.
fn addr_len(buf: &[u8]) -> Result<AddrLen, ConnectError> {
    //= https://www.rfc-editor.org/rfc/rfc1928#section-5
    //# In an address field (DST.ADDR, BND.ADDR), the ATYP field specifies
    //# the type of address contained within the field:
    match buf {
        [] => Ok(AddrLen::Need(1)),
        [ATYP_IPV4, ..] => Ok(AddrLen::Is(1 + 4 + 2)),
        [ATYP_IPV6, ..] => Ok(AddrLen::Is(1 + 16 + 2)),
        [ATYP_DOMAIN] => Ok(AddrLen::Need(2)),
        //= https://www.rfc-editor.org/rfc/rfc1928#section-5
        //# the address field contains a fully-qualified domain name.  The first
        //# octet of the address field contains the number of octets of name that
        //# follow, there is no terminating NUL octet.
        [ATYP_DOMAIN, len, ..] => Ok(AddrLen::Is(1 + 1 + usize::from(*len) + 2)),
        [atyp, ..] => Err(ConnectError::Protocol(format!(
            "unknown address type {atyp:#04x}"
        ))),
    }
}

/// The address field at the start of `buf` and its length.
fn get_addr(buf: &[u8]) -> Result<(Target, usize), ConnectError> {
    let len = match addr_len(buf)? {
        AddrLen::Is(n) if buf.len() >= n => n,
        _ => {
            return Err(ConnectError::Protocol("an address field cut short".into()));
        }
    };
    let (Some(body), Some(port)) = (buf.get(1..len - 2), buf.get(len - 2..len)) else {
        return Err(ConnectError::Protocol("an address field cut short".into()));
    };
    let port = u16::from_be_bytes([port[0], port[1]]);
    let target = match (buf[0], body) {
        (ATYP_IPV4, body) => {
            let octets: [u8; 4] = body.try_into().map_err(|_| short())?;
            Target::Addr(SocketAddr::new(Ipv4Addr::from(octets).into(), port))
        }
        (ATYP_IPV6, body) => {
            let octets: [u8; 16] = body.try_into().map_err(|_| short())?;
            Target::Addr(SocketAddr::new(Ipv6Addr::from(octets).into(), port))
        }
        (_, [_, name @ ..]) => {
            let name = std::str::from_utf8(name)
                .map_err(|_| ConnectError::Protocol("a domain name that is not UTF-8".into()))?;
            Target::Name(name.to_string(), port)
        }
        (_, []) => return Err(short()),
    };
    Ok((target, len))
}

/// Appends the address field (ATYP, DST.ADDR, DST.PORT) for `dst`.
fn put_addr(msg: &mut Vec<u8>, dst: &Target) -> Result<(), ConnectError> {
    match dst {
        Target::Addr(addr) => {
            match addr.ip() {
                IpAddr::V4(ip) => {
                    msg.push(ATYP_IPV4);
                    msg.extend_from_slice(&ip.octets());
                }
                IpAddr::V6(ip) => {
                    msg.push(ATYP_IPV6);
                    msg.extend_from_slice(&ip.octets());
                }
            }
            msg.extend_from_slice(&addr.port().to_be_bytes());
        }
        Target::Name(name, port) => {
            let len = u8::try_from(name.len())
                .ok()
                .filter(|len| *len > 0)
                .ok_or_else(|| {
                    ConnectError::Invalid(format!(
                        "the destination name is {} bytes; SOCKS5 carries 1 to 255",
                        name.len()
                    ))
                })?;
            msg.push(ATYP_DOMAIN);
            msg.push(len);
            msg.extend_from_slice(name.as_bytes());
            msg.extend_from_slice(&port.to_be_bytes());
        }
    }
    Ok(())
}

fn short() -> ConnectError {
    ConnectError::Protocol("an address field cut short".into())
}

fn version_error(version: u8) -> ConnectError {
    //= https://www.rfc-editor.org/rfc/rfc1928#section-3
    //# The VER field is set to X'05' for this version of the protocol.
    ConnectError::Protocol(format!(
        "version {version:#04x} where SOCKS5 sends 0x05 (not a SOCKS5 server?)"
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::cmd::proxy::upstream::FailureKind;

    fn addr(s: &str) -> Target {
        Target::Addr(s.parse().unwrap())
    }

    #[test]
    fn greetings_and_methods() {
        assert_eq!(greeting(false), [5, 1, 0]);
        assert_eq!(greeting(true), [5, 2, 0, 2]);
        assert_eq!(method([5, 0], false).unwrap(), Method::None);
        assert_eq!(method([5, 0], true).unwrap(), Method::None);
        assert_eq!(method([5, 2], true).unwrap(), Method::Password);
        assert!(matches!(
            method([5, 2], false),
            Err(ConnectError::Protocol(_))
        ));
        assert!(matches!(
            method([5, 0xff], true),
            Err(ConnectError::NoAcceptableMethod)
        ));
        assert!(matches!(
            method([4, 0], true),
            Err(ConnectError::Protocol(_))
        ));
        // An HTTP server's "HT".
        assert!(matches!(
            method(*b"HT", false),
            Err(ConnectError::Protocol(_))
        ));
    }

    #[test]
    fn password_exchange() {
        let msg = password_request(&Credentials::new("alice", "pw")).unwrap();
        assert_eq!(msg, b"\x01\x05alice\x02pw");
        let max = "x".repeat(255);
        let msg = password_request(&Credentials::new(max.clone(), max.clone())).unwrap();
        assert_eq!(msg.len(), 3 + 2 * 255);
        for (user, password) in [("", "pw"), ("u", ""), (&*"x".repeat(256), "pw")] {
            assert!(password_request(&Credentials::new(user, password)).is_err());
        }
        password_status([1, 0]).unwrap();
        password_status([5, 0]).unwrap();
        assert!(matches!(
            password_status([1, 1]),
            Err(ConnectError::AuthRejected)
        ));
    }

    #[test]
    fn requests() {
        assert_eq!(
            request(CMD_CONNECT, &addr("192.0.2.7:80")).unwrap(),
            [5, 1, 0, 1, 192, 0, 2, 7, 0, 80]
        );
        let v6 = request(CMD_CONNECT, &addr("[2001:db8::1]:443")).unwrap();
        assert_eq!(v6[..4], [5, 1, 0, 4]);
        assert_eq!(
            v6[4..20],
            "2001:db8::1".parse::<Ipv6Addr>().unwrap().octets()
        );
        assert_eq!(v6[20..], [1, 187]);
        assert_eq!(
            request(CMD_CONNECT, &Target::Name("example.com".into(), 8080)).unwrap(),
            b"\x05\x01\x00\x03\x0bexample.com\x1f\x90"
        );
        assert_eq!(
            request(CMD_UDP_ASSOCIATE, &addr("0.0.0.0:0")).unwrap(),
            [5, 3, 0, 1, 0, 0, 0, 0, 0, 0]
        );
        for name in [String::new(), "a".repeat(256)] {
            let e = request(CMD_CONNECT, &Target::Name(name, 80)).unwrap_err();
            assert!(matches!(e, ConnectError::Invalid(_)), "{e}");
        }
    }

    /// Feeds `bytes` to `reply` the way the driver does: grow to what it
    /// asks for until it is done.
    fn drive(bytes: &[u8]) -> Result<(Target, usize), ConnectError> {
        let mut have = 0;
        loop {
            match reply(&bytes[..have])? {
                Reply::Need(n) => {
                    assert!(n > have, "asked for {n} with {have}");
                    assert!(n <= bytes.len(), "asked for {n} past the reply");
                    have = n;
                }
                Reply::Done(target) => return Ok((target, have)),
            }
        }
    }

    #[test]
    fn replies_of_every_address_type_end_where_they_end() {
        let v4 = [5, 0, 0, 1, 10, 0, 0, 1, 0x04, 0x38];
        let mut v6 = vec![5, 0, 0, 4];
        v6.extend_from_slice(&"2001:db8::2".parse::<Ipv6Addr>().unwrap().octets());
        v6.extend_from_slice(&[0, 53]);
        let domain = b"\x05\x00\x00\x03\x0brelay.local\x01\xbb";
        let empty_domain = [5, 0, 0, 3, 0, 0, 7];
        let cases: [(&[u8], Target); 4] = [
            (&v4, addr("10.0.0.1:1080")),
            (&v6, addr("[2001:db8::2]:53")),
            (domain, Target::Name("relay.local".into(), 443)),
            (&empty_domain, Target::Name(String::new(), 7)),
        ];
        for (bytes, bound) in cases {
            // The stream's next bytes are the destination's: never read.
            let mut stream = bytes.to_vec();
            stream.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
            assert_eq!(drive(&stream).unwrap(), (bound, bytes.len()));
        }
    }

    #[test]
    fn failures_are_known_from_two_bytes() {
        for rep in 1..=0xff {
            match reply(&[5, rep]) {
                Err(ConnectError::Socks5Reply(r)) => assert_eq!(r, rep),
                other => panic!("{rep}: {other:?}"),
            }
        }
        let e = reply(&[5, 5]).unwrap_err();
        assert_eq!(e.kind(), FailureKind::Refused);
    }

    #[test]
    fn malformed_replies_are_errors() {
        for bytes in [
            &[4, 0][..],
            &[0, 0x5a, 0, 0, 0, 0, 0, 0],
            &[5, 0, 0, 2, 0],
            &[5, 0, 0, 0xff],
        ] {
            let e = drive(bytes).unwrap_err();
            assert!(matches!(e, ConnectError::Protocol(_)), "{bytes:?}: {e}");
        }
        // A name that is not UTF-8.
        let e = drive(&[5, 0, 0, 3, 1, 0xff, 0, 1]).unwrap_err();
        assert!(matches!(e, ConnectError::Protocol(_)), "{e}");
        // More bytes than the reply has.
        assert!(reply(&[5, 0, 0, 1, 1, 2, 3, 4, 0, 80, 0]).is_err());
    }

    #[test]
    fn datagrams_round_trip() {
        for dst in [
            addr("198.51.100.9:53"),
            addr("[2001:db8::53]:53"),
            Target::Name("dns.example".into(), 853),
        ] {
            let bytes = datagram(&dst, b"query").unwrap();
            assert_eq!(bytes[..3], [0, 0, 0]);
            let d = parse_datagram(&bytes).unwrap();
            assert_eq!(
                d,
                Datagram {
                    frag: 0,
                    addr: dst,
                    data: b"query"
                }
            );
        }
        assert_eq!(
            datagram(&addr("1.2.3.4:5"), b"").unwrap(),
            [0, 0, 0, 1, 1, 2, 3, 4, 0, 5]
        );
        let d = parse_datagram(&[0, 0, 0, 1, 1, 2, 3, 4, 0, 5]).unwrap();
        assert_eq!(d.data, b"");
        let d = parse_datagram(&[0, 0, 0x81, 1, 1, 2, 3, 4, 0, 5, 9]).unwrap();
        assert_eq!((d.frag, d.data), (0x81, &[9][..]));
    }

    #[test]
    fn malformed_datagrams_are_errors() {
        let good = datagram(&Target::Name("dns.example".into(), 853), b"x").unwrap();
        // Every cut inside the header is an error.
        for cut in 0..good.len() - 1 {
            assert!(parse_datagram(&good[..cut]).is_err(), "cut at {cut}");
        }
        assert!(parse_datagram(&[0, 0, 0, 9, 1, 2, 3, 4, 0, 5]).is_err());
    }

    /// A small xorshift generator: reproducible inputs without a crate.
    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn decoders_never_panic() {
        let mut state = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let len = (xorshift(&mut state) % 40) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| xorshift(&mut state) as u8).collect();
            // Bias toward the interesting first bytes.
            if let Some(b) = bytes.first_mut()
                && xorshift(&mut state).is_multiple_of(2)
            {
                *b = 5;
            }
            if bytes.len() > 3 && xorshift(&mut state).is_multiple_of(2) {
                bytes[1] = 0;
                bytes[3] = [1, 3, 4][(xorshift(&mut state) % 3) as usize];
            }
            let _ = reply(&bytes);
            let _ = parse_datagram(&bytes);
            if let [a, b, ..] = bytes[..] {
                let _ = method([a, b], true);
                let _ = password_status([a, b]);
            }
        }
    }
}
