//! Resource limits: sockets, connections per listener and buffer memory.
//! Hitting one refuses new work (a SYN dropped and counted, an API call
//! failing with `LimitReached`) and never disturbs what exists.

use std::net::SocketAddr;

use super::{A4, A6, B4, B6, Pair, config, two_stacks};
use crate::handle::SocketHandle;
use crate::stack::{SocketError, Stack};
use crate::tcp::State;
use crate::testing::Faults;
use crate::time::Duration;

fn pair(
    a: impl FnOnce(&mut crate::config::StackConfig),
    b: impl FnOnce(&mut crate::config::StackConfig),
) -> Pair {
    let mut p = two_stacks(Faults {
        delay: Duration::from_millis(1),
        ..Faults::default()
    });
    let mut ca = config(vec![A4, A6], 1);
    a(&mut ca);
    p.a = Stack::new(ca);
    let mut cb = config(vec![B4, B6], 2);
    b(&mut cb);
    p.b = Stack::new(cb);
    p
}

/// Echoes `msg` over each `(client, server)` pair and checks it comes back.
fn echo_all(p: &mut Pair, conns: &[(SocketHandle, SocketHandle)], msg: &[u8]) {
    for &(c, _) in conns {
        p.a.tcp_send(c, msg).unwrap();
    }
    let mut got = vec![Vec::new(); conns.len()];
    let mut buf = [0u8; 1024];
    p.run_until(|p| {
        for (i, &(c, s)) in conns.iter().enumerate() {
            while let Ok(n) = p.b.tcp_recv(s, &mut buf) {
                p.b.tcp_send(s, &buf[..n]).unwrap();
            }
            while let Ok(n) = p.a.tcp_recv(c, &mut buf) {
                got[i].extend_from_slice(&buf[..n]);
            }
        }
        got.iter().all(|g| g == msg)
    })
    .unwrap();
}

#[test]
fn per_listener_limit_drops_new_syns_and_spares_existing_connections() {
    let mut p = pair(|_| {}, |b| b.max_conns_per_listener = 3);
    let l = p.b.tcp_listen(SocketAddr::new(B4, 80), 16).unwrap();
    let clients: Vec<_> = (0..5)
        .map(|_| {
            p.a.tcp_connect(p.now, SocketAddr::new(B4, 80), None)
                .unwrap()
        })
        .collect();
    let mut accepted = Vec::new();
    p.run_until(|p| {
        while let Ok(Some((s, peer))) = p.b.tcp_accept(l) {
            accepted.push((s, peer));
        }
        accepted.len() == 3
    })
    .unwrap();
    // Let the refused clients retry a few times.
    let until = p.now + Duration::from_secs(5);
    p.run_until(|p| p.now >= until).unwrap();
    assert_eq!(p.b.tcp_accept(l), Ok(None));
    assert!(p.b.stats().listener_conn_limit >= 2, "{:?}", p.b.stats());
    let pairs: Vec<_> = accepted
        .iter()
        .map(|&(s, peer)| {
            let c = *clients
                .iter()
                .find(|&&c| p.a.local_addr(c).unwrap() == peer)
                .unwrap();
            (c, s)
        })
        .collect();
    echo_all(&mut p, &pairs, b"still fine");
    let waiting: Vec<_> = clients
        .iter()
        .filter(|&&c| p.a.tcp_state(c).unwrap() == State::SynSent)
        .copied()
        .collect();
    assert_eq!(waiting.len(), 2, "the refused clients keep retrying");
    // One connection goes away (the client closes first, so the server's
    // side is freed after LAST-ACK): a retrying client gets its place.
    let (c0, s0) = pairs[0];
    p.a.tcp_close(p.now, c0).unwrap();
    let mut closed = false;
    let mut more = None;
    p.run_until(|p| {
        if !closed && p.b.tcp_recv(s0, &mut [0u8; 8]) == Ok(0) {
            p.b.tcp_close(p.now, s0).unwrap();
            closed = true;
        }
        if more.is_none() {
            more = p.b.tcp_accept(l).unwrap();
        }
        more.is_some()
    })
    .unwrap();
    assert_eq!(p.b.tcp_accept(l), Ok(None), "only one place was freed");
}

/// Buffer memory is charged by use: idle connections hold none; data the
/// application leaves unread is charged until the bound, where windows
/// close rather than the bound being passed, and new connections are
/// refused; reading it gives the memory back.
#[test]
fn buffer_memory_is_charged_by_use_and_bounded() {
    let bound = 256 * 1024;
    let mut p = pair(|_| {}, |b| b.max_buffer_memory = bound);
    let l = p.b.tcp_listen(SocketAddr::new(B4, 80), 16).unwrap();
    let (c1, s1, _) = p.establish(l, SocketAddr::new(B4, 80));
    let (c2, s2, _) = p.establish(l, SocketAddr::new(B4, 80));
    assert_eq!(p.b.buffer_memory(), 0, "idle connections hold no buffers");
    // A sends 1 MiB on each; B's application reads nothing.
    let data = vec![7u8; 1 << 20];
    let mut sent = [0usize; 2];
    let mut peak = 0;
    let start = p.now;
    p.run_until(|p| {
        for (i, c) in [c1, c2].into_iter().enumerate() {
            if let Ok(n) = p.a.tcp_send(c, &data[sent[i]..]) {
                sent[i] += n;
            }
        }
        peak = peak.max(p.b.buffer_memory());
        p.now.saturating_duration_since(start) > Duration::from_secs(5)
    })
    .unwrap();
    let held = p.b.tcp_info(s1).unwrap().recv_queue + p.b.tcp_info(s2).unwrap().recv_queue;
    assert!(held > bound / 2, "B holds {held} unread bytes");
    assert!(
        held < (1 << 21),
        "the windows closed before everything came"
    );
    // The storage charged stays within the bound, give or take the first
    // storage of a ring and the rounding of a window (a few KiB).
    assert!(peak <= bound + 16 * 1024, "{peak} charged, bound {bound}");
    assert!(p.b.buffer_memory() >= held);
    // At the bound, a new connection is refused (its SYN dropped).
    let refused = p.b.stats().buffer_memory_limit;
    let c3 =
        p.a.tcp_connect(p.now, SocketAddr::new(B4, 80), None)
            .unwrap();
    p.run_until(|p| p.b.stats().buffer_memory_limit > refused)
        .unwrap();
    assert_ne!(p.a.tcp_state(c3).unwrap(), State::Established);
    // Reading everything gives the memory back, and data flows again.
    let mut buf = vec![0u8; 65536];
    let mut got = [0usize; 2];
    p.run_until(|p| {
        for (i, s) in [s1, s2].into_iter().enumerate() {
            while let Ok(n @ 1..) = p.b.tcp_recv(s, &mut buf) {
                got[i] += n;
            }
        }
        for (i, c) in [c1, c2].into_iter().enumerate() {
            if let Ok(n) = p.a.tcp_send(c, &data[sent[i]..]) {
                sent[i] += n;
            }
        }
        got == [1 << 20, 1 << 20]
    })
    .unwrap();
    for (c, s) in [(c1, s1), (c2, s2)] {
        p.a.tcp_close(p.now, c).unwrap();
        p.b.tcp_close(p.now, s).unwrap();
    }
    let _ = p.a.tcp_abort(c3);
    p.run_until(|p| p.b.buffer_memory() == 0).unwrap();
}

#[test]
fn socket_limit_refuses_new_sockets_only() {
    let mut p = pair(|a| a.max_sockets = 2, |_| {});
    let l = p.b.tcp_listen(SocketAddr::new(B6, 80), 16).unwrap();
    let c1 =
        p.a.tcp_connect(p.now, SocketAddr::new(B6, 80), None)
            .unwrap();
    let c2 =
        p.a.tcp_connect(p.now, SocketAddr::new(B6, 80), None)
            .unwrap();
    assert_eq!(
        p.a.tcp_connect(p.now, SocketAddr::new(B6, 80), None),
        Err(SocketError::LimitReached)
    );
    assert_eq!(
        p.a.udp_bind(SocketAddr::new(A6, 0)),
        Err(SocketError::LimitReached)
    );
    assert_eq!(p.a.stats().socket_limit, 2);
    let mut accepted = Vec::new();
    p.run_until(|p| {
        while let Ok(Some((s, peer))) = p.b.tcp_accept(l) {
            accepted.push((s, peer));
        }
        accepted.len() == 2
    })
    .unwrap();
    let pairs: Vec<_> = accepted
        .iter()
        .map(|&(s, peer)| {
            let c = if p.a.local_addr(c1).unwrap() == peer {
                c1
            } else {
                c2
            };
            (c, s)
        })
        .collect();
    echo_all(&mut p, &pairs, b"two is enough");
}

/// Connections that end in TIME-WAIT with everything read give their
/// buffer charge back at once (Linux keeps only a small timewait socket),
/// so a budget of two connections serves ten in a row while the first
/// ones still wait out their 60 seconds.
#[test]
fn time_wait_holds_no_buffer_memory() {
    let small = |c: &mut crate::config::StackConfig| {
        c.tcp.recv_buffer = 16 * 1024;
        c.tcp.send_buffer = 16 * 1024;
        c.max_buffer_memory = 2 * 2 * 16 * 1024;
    };
    let mut p = pair(small, small);
    let l = p.b.tcp_listen(SocketAddr::new(B4, 80), 16).unwrap();
    for i in 0..10 {
        let (c, s, _) = p.establish(l, SocketAddr::new(B4, 80));
        echo_all(&mut p, &[(c, s)], b"ping");
        // The client closes first and ends in TIME-WAIT.
        p.a.tcp_close(p.now, c).unwrap();
        let mut buf = [0u8; 8];
        p.run_until(|p| p.b.tcp_recv(s, &mut buf) == Ok(0)).unwrap();
        p.b.tcp_close(p.now, s).unwrap();
        p.run_until(|p| {
            p.a.tcp_state(c).is_ok_and(|st| st == State::TimeWait) && p.b.tcp_state(s).is_err()
        })
        .unwrap();
        assert_eq!(
            p.a.buffer_memory(),
            0,
            "connection {i} in TIME-WAIT holds memory"
        );
    }
    assert_eq!(p.a.stats().buffer_memory_limit, 0);
}

/// Ends one connection, client first: the client ends in TIME-WAIT. With
/// `close`, the client's application closes its socket; without, it only
/// shuts down its side and still holds the socket.
fn client_ends_in_time_wait(p: &mut Pair, l: SocketHandle, close: bool) -> SocketHandle {
    let (c, s, _) = p.establish(l, SocketAddr::new(B4, 80));
    if close {
        p.a.tcp_close(p.now, c).unwrap();
    } else {
        p.a.tcp_shutdown_write(c).unwrap();
    }
    let mut buf = [0u8; 8];
    p.run_until(|p| p.b.tcp_recv(s, &mut buf) == Ok(0)).unwrap();
    p.b.tcp_close(p.now, s).unwrap();
    p.run_until(|p| p.a.tcp_state(c) == Ok(State::TimeWait) && p.b.tcp_state(s).is_err())
        .unwrap();
    c
}

/// TIME-WAIT does not keep new sockets out at `max_sockets`: the oldest
/// connection in TIME-WAIT that the application closed ends early to make
/// room (Linux skips TIME-WAIT past `tcp_max_tw_buckets`); one the
/// application still holds stays, and then the limit refuses.
#[test]
fn time_wait_gives_way_to_new_sockets_at_the_limit() {
    let mut p = pair(|a| a.max_sockets = 2, |_| {});
    let l = p.b.tcp_listen(SocketAddr::new(B4, 80), 16).unwrap();
    let first = client_ends_in_time_wait(&mut p, l, true);
    let second = client_ends_in_time_wait(&mut p, l, true);
    assert_eq!(p.a.socket_count(), 2);
    // A third connection takes the oldest TIME-WAIT's place.
    let third = client_ends_in_time_wait(&mut p, l, true);
    assert!(p.a.tcp_state(first).is_err(), "the oldest gave way");
    assert_eq!(p.a.tcp_state(second), Ok(State::TimeWait));
    assert_eq!(p.a.tcp_state(third), Ok(State::TimeWait));
    assert_eq!(p.a.stats().time_wait_recycled, 1);
    assert_eq!(p.a.stats().socket_limit, 0);

    // Held TIME-WAITs stay: with both slots held, the limit refuses.
    let held = client_ends_in_time_wait(&mut p, l, false);
    assert!(p.a.tcp_state(second).is_err());
    let held2 = client_ends_in_time_wait(&mut p, l, false);
    assert!(p.a.tcp_state(third).is_err());
    assert_eq!(p.a.stats().time_wait_recycled, 3);
    assert_eq!(
        p.a.tcp_connect(p.now, SocketAddr::new(B4, 80), None),
        Err(SocketError::LimitReached)
    );
    // Once the application closes one, it may give way again.
    p.a.tcp_close(p.now, held).unwrap();
    assert!(
        p.a.tcp_connect(p.now, SocketAddr::new(B4, 80), None)
            .is_ok()
    );
    assert!(p.a.tcp_state(held).is_err());
    assert_eq!(p.a.tcp_state(held2), Ok(State::TimeWait));
    assert_eq!(p.a.stats().time_wait_recycled, 4);
}

/// A server that closes first keeps its side in TIME-WAIT: those do not
/// count as the listener's connections (`max_conns_per_listener` limits
/// live ones, as Linux's timewait sockets count against no listener), so
/// a listener limited to two serves connection after connection.
#[test]
fn time_wait_is_not_one_of_the_listeners_connections() {
    let mut p = pair(|_| {}, |b| b.max_conns_per_listener = 2);
    let l = p.b.tcp_listen(SocketAddr::new(B4, 80), 16).unwrap();
    let mut buf = [0u8; 8];
    for i in 0..5 {
        let (c, s, _) = p.establish(l, SocketAddr::new(B4, 80));
        // The server closes first and ends in TIME-WAIT.
        p.b.tcp_close(p.now, s).unwrap();
        p.run_until(|p| p.a.tcp_recv(c, &mut buf) == Ok(0)).unwrap();
        p.a.tcp_close(p.now, c).unwrap();
        p.run_until(|p| p.a.tcp_state(c).is_err()).unwrap();
        assert_eq!(
            p.b.tcp_state(s),
            Ok(State::TimeWait),
            "connection {i}: the server's side waits"
        );
    }
    assert_eq!(p.b.stats().listener_conn_limit, 0);
}
