//! The SOCKS5 client against a scripted in-process server.

use tokio::sync::oneshot;

use super::*;
use crate::cmd::proxy::upstream::{ConnectError, Credentials, FailureKind, Target, socks5};

/// What the fake server does with the one connection it takes.
#[derive(Clone, Default)]
struct Script {
    /// Demand RFC 1929 with this user name and password.
    password: Option<(&'static str, &'static str)>,
    /// Answer the request with these bytes (a success with BND 127.0.0.1:1080
    /// if empty).
    reply: Vec<u8>,
    /// Send these right behind the reply, in the same write.
    then: Vec<u8>,
    /// Send these instead of a method selection, and stop.
    not_socks: Option<&'static [u8]>,
}

/// What the fake server received.
#[derive(Debug)]
struct Seen {
    methods: Vec<u8>,
    request: Vec<u8>,
}

/// Starts the fake server; its first connection follows `script`, then
/// echoes. The receiver yields what it saw once it has read the request.
async fn fake_socks(script: Script) -> (SocketAddr, oneshot::Receiver<Seen>) {
    let (listener, addr) = listener().await;
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        serve(&mut s, script, tx).await;
    });
    (addr, rx)
}

/// One connection, by the script. Written apart from the client's `wire`
/// so that the two do not share their mistakes.
async fn serve(s: &mut TcpStream, script: Script, seen: oneshot::Sender<Seen>) {
    let mut head = [0; 2];
    s.read_exact(&mut head).await.unwrap();
    assert_eq!(head[0], 5);
    let mut methods = vec![0; usize::from(head[1])];
    s.read_exact(&mut methods).await.unwrap();
    if let Some(bytes) = script.not_socks {
        s.write_all(bytes).await.unwrap();
        return;
    }
    let method = match script.password {
        Some(_) if methods.contains(&2) => 2,
        Some(_) => 0xff,
        None => 0,
    };
    s.write_all(&[5, method]).await.unwrap();
    if method == 0xff {
        return;
    }
    if let Some((user, password)) = script.password {
        let mut ver_ulen = [0; 2];
        s.read_exact(&mut ver_ulen).await.unwrap();
        assert_eq!(ver_ulen[0], 1);
        let mut got_user = vec![0; usize::from(ver_ulen[1])];
        s.read_exact(&mut got_user).await.unwrap();
        let plen = s.read_u8().await.unwrap();
        let mut got_password = vec![0; usize::from(plen)];
        s.read_exact(&mut got_password).await.unwrap();
        let ok = got_user == user.as_bytes() && got_password == password.as_bytes();
        s.write_all(&[1, if ok { 0 } else { 1 }]).await.unwrap();
        if !ok {
            return;
        }
    }
    let mut request = vec![0; 4];
    s.read_exact(&mut request).await.unwrap();
    let addr_len = match request[3] {
        1 => 4,
        4 => 16,
        3 => {
            let n = s.read_u8().await.unwrap();
            request.push(n);
            usize::from(n)
        }
        other => panic!("ATYP {other}"),
    };
    let at = request.len();
    request.resize(at + addr_len + 2, 0);
    s.read_exact(&mut request[at..]).await.unwrap();
    let _ = seen.send(Seen { methods, request });
    let mut out = if script.reply.is_empty() {
        vec![5, 0, 0, 1, 127, 0, 0, 1, 0x04, 0x38]
    } else {
        script.reply.clone()
    };
    out.extend_from_slice(&script.then);
    s.write_all(&out).await.unwrap();
    let (mut r, mut w) = s.split();
    let _ = tokio::io::copy(&mut r, &mut w).await;
}

/// Connects through the fake server at `server`.
async fn via(
    server: SocketAddr,
    auth: Option<&Credentials>,
    target: &Target,
) -> Result<TcpStream, ConnectError> {
    let stream = TcpStream::connect(server).await.unwrap();
    socks5::connect(stream, auth, target).await
}

/// Reads exactly `n` bytes.
async fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    s.read_exact(&mut buf).await.unwrap();
    buf
}

#[tokio::test]
async fn connect_by_address_keeps_the_bytes_behind_the_reply() {
    let (server, seen) = fake_socks(Script {
        then: b"first bytes".to_vec(),
        ..Script::default()
    })
    .await;
    let target = Target::Addr("192.0.2.1:80".parse().unwrap());
    let mut s = via(server, None, &target).await.unwrap();
    assert_eq!(read_n(&mut s, 11).await, b"first bytes");
    assert_echoes(&mut s, b"and then the tunnel").await;
    let seen = seen.await.unwrap();
    assert_eq!(seen.methods, [0]);
    assert_eq!(seen.request, [5, 1, 0, 1, 192, 0, 2, 1, 0, 80]);
}

#[tokio::test]
async fn names_go_to_the_server_and_bound_names_are_read_exactly() {
    let (server, seen) = fake_socks(Script {
        reply: b"\x05\x00\x00\x03\x0brelay.local\x01\xbb".to_vec(),
        then: b"!".to_vec(),
        ..Script::default()
    })
    .await;
    let target = Target::Name("example.com".into(), 443);
    let mut s = via(server, None, &target).await.unwrap();
    assert_eq!(read_n(&mut s, 1).await, b"!");
    let seen = seen.await.unwrap();
    assert_eq!(seen.request, b"\x05\x01\x00\x03\x0bexample.com\x01\xbb");
}

#[tokio::test]
async fn ipv6_destination_and_bound_address() {
    let mut reply = vec![5, 0, 0, 4];
    reply.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
    reply.extend_from_slice(&[0x9c, 0x40]);
    let (server, seen) = fake_socks(Script {
        reply,
        then: b"v6".to_vec(),
        ..Script::default()
    })
    .await;
    let target = Target::Addr("[2001:db8::1]:8080".parse().unwrap());
    let mut s = via(server, None, &target).await.unwrap();
    assert_eq!(read_n(&mut s, 2).await, b"v6");
    let request = seen.await.unwrap().request;
    assert_eq!(request[..4], [5, 1, 0, 4]);
    assert_eq!(
        request[4..20],
        [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    );
    assert_eq!(request[20..], [0x1f, 0x90]);
}

#[tokio::test]
async fn user_name_and_password() {
    let script = Script {
        password: Some(("alice", "s3cret")),
        ..Script::default()
    };
    let target = Target::Addr("192.0.2.1:80".parse().unwrap());

    let (server, seen) = fake_socks(script.clone()).await;
    let good = Credentials::new("alice", "s3cret");
    let mut s = via(server, Some(&good), &target).await.unwrap();
    assert_echoes(&mut s, b"authenticated").await;
    assert_eq!(seen.await.unwrap().methods, [0, 2]);

    let (server, _) = fake_socks(script.clone()).await;
    let bad = Credentials::new("alice", "guess");
    let e = via(server, Some(&bad), &target).await.unwrap_err();
    assert!(matches!(e, ConnectError::AuthRejected), "{e}");
    assert_eq!(e.kind(), FailureKind::Failed);

    let (server, _) = fake_socks(script).await;
    let e = via(server, None, &target).await.unwrap_err();
    assert!(matches!(e, ConnectError::NoAcceptableMethod), "{e}");
    assert_eq!(e.kind(), FailureKind::Failed);
}

#[tokio::test]
async fn reply_codes_say_what_happened() {
    let target = Target::Addr("192.0.2.1:80".parse().unwrap());
    for (rep, kind) in [
        (1, FailureKind::Failed),
        (2, FailureKind::NotAllowed),
        (3, FailureKind::NetUnreachable),
        (4, FailureKind::HostUnreachable),
        (5, FailureKind::Refused),
        (6, FailureKind::TimedOut),
        (7, FailureKind::Failed),
        (8, FailureKind::Failed),
        (9, FailureKind::Failed),
    ] {
        let (server, _) = fake_socks(Script {
            reply: vec![5, rep, 0, 1, 0, 0, 0, 0, 0, 0],
            ..Script::default()
        })
        .await;
        let e = via(server, None, &target).await.unwrap_err();
        assert!(matches!(e, ConnectError::Socks5Reply(r) if r == rep), "{e}");
        assert_eq!(e.kind(), kind, "{e}");
    }
}

#[tokio::test]
async fn a_failure_cut_to_two_bytes_still_counts() {
    let (server, _) = fake_socks(Script {
        reply: vec![5, 4],
        ..Script::default()
    })
    .await;
    let target = Target::Addr("192.0.2.1:80".parse().unwrap());
    let e = via(server, None, &target).await.unwrap_err();
    assert_eq!(e.kind(), FailureKind::HostUnreachable, "{e}");
}

#[tokio::test]
async fn not_a_socks_server() {
    let (server, _) = fake_socks(Script {
        not_socks: Some(b"HTTP/1.1 400 Bad Request\r\n\r\n"),
        ..Script::default()
    })
    .await;
    let target = Target::Addr("192.0.2.1:80".parse().unwrap());
    let e = via(server, None, &target).await.unwrap_err();
    assert!(matches!(e, ConnectError::Protocol(_)), "{e}");
    assert_eq!(e.kind(), FailureKind::Failed);
}

#[tokio::test]
async fn a_reply_cut_short_by_a_close() {
    let (listener, server) = listener().await;
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut greeting = [0; 3];
        s.read_exact(&mut greeting).await.unwrap();
        s.write_all(&[5, 0]).await.unwrap();
        let mut request = [0; 10];
        s.read_exact(&mut request).await.unwrap();
        s.write_all(&[5, 0, 0, 1, 127]).await.unwrap();
        // Dropped: closed mid-reply.
    });
    let target = Target::Addr("192.0.2.1:80".parse().unwrap());
    let e = via(server, None, &target).await.unwrap_err();
    assert!(matches!(e, ConnectError::Exchange(_)), "{e}");
    assert_eq!(e.kind(), FailureKind::Failed);
}
