//! Many connections in one stack: n clients on one stack, one listener on
//! the other, every connection established at once and exchanging a little
//! data. Also measures the memory an idle connection costs (without its
//! buffers) for docs/PERFORMANCE.md.

use std::net::SocketAddr;

use super::{A4, B4, config, two_stacks};
use crate::handle::SocketHandle;
use crate::stack::{Readiness, Socket, Stack};
use crate::tcp::State;
use crate::testing::Faults;
use crate::time::Duration;

/// Heap and table bytes per TCP connection, buffers excluded: the slab slot,
/// the boxed socket (the whole TCB), the port table entry, the timer heap
/// entry and the dirty queue slot, at the tables' current capacities.
fn bytes_per_connection(s: &Stack, n: usize) -> (usize, usize) {
    let slot = core::mem::size_of::<(u32, Option<Socket>)>();
    let boxed = core::mem::size_of::<super::super::tcp::TcpSocket>();
    let timer = core::mem::size_of::<core::cmp::Reverse<(crate::time::Instant, SocketHandle)>>();
    // The slab's Vec doubles as it grows (its capacity is not exposed).
    let slots = (s.socket_count() + 1).next_power_of_two();
    let tables = slots * slot
        + s.ports.tcp_conn_table_bytes()
        + s.timers.capacity() * timer
        + s.dirty.capacity() * core::mem::size_of::<SocketHandle>();
    (boxed, (tables / n) + boxed)
}

fn many_connections(n: usize) {
    let mut p = two_stacks(Faults {
        delay: Duration::from_millis(1),
        ..Faults::default()
    });
    for (s, addr, seed) in [(&mut p.a, A4, 1), (&mut p.b, B4, 2)] {
        let mut cfg = config(vec![addr], seed);
        cfg.tcp.recv_buffer = 4096;
        cfg.tcp.send_buffer = 4096;
        *s = Stack::new(cfg);
    }
    let l = p.b.tcp_listen(SocketAddr::new(B4, 80), 65535).unwrap();
    let clients: Vec<SocketHandle> = (0..n)
        .map(|_| {
            p.a.tcp_connect(p.now, SocketAddr::new(B4, 80), None)
                .unwrap()
        })
        .collect();
    let mut servers = Vec::with_capacity(n);
    let mut connected = 0;
    p.run_until(|p| {
        while let Ok(Some((s, _))) = p.b.tcp_accept(l) {
            servers.push(s);
        }
        while let Some(ev) = p.a.poll_event() {
            if ev.readiness.contains(Readiness::CONNECTED) {
                connected += 1;
            }
        }
        servers.len() == n && connected == n
    })
    .unwrap();
    assert_eq!(p.b.socket_count(), n + 1);
    let (a_box, a_per) = bytes_per_connection(&p.a, n);
    let (b_box, b_per) = bytes_per_connection(&p.b, n);
    eprintln!(
        "{n} idle connections, bytes per connection without buffers: \
         client {a_per} (TCB box {a_box}), server {b_per} (TCB box {b_box}); \
         buffers: storage as data needs it, from 64 B"
    );
    eprintln!(
        "  Connection {} + TcpSocket wrapper {} = box {b_box}; slab slot {}; \
         port table {} B/conn; timer heap {} entries of {} B",
        core::mem::size_of::<crate::tcp::Connection>(),
        b_box - core::mem::size_of::<crate::tcp::Connection>(),
        core::mem::size_of::<(u32, Option<Socket>)>(),
        p.b.ports.tcp_conn_table_bytes() / n,
        p.b.timers.len(),
        core::mem::size_of::<core::cmp::Reverse<(crate::time::Instant, SocketHandle)>>(),
    );
    assert!(a_per < 4096 && b_per < 4096, "{a_per} {b_per}");
    // Lazy invalidation leaves stale entries, but never many.
    assert!(p.a.timers.len() <= 2 * (n + 1) + 64);
    assert!(p.b.timers.len() <= 2 * (n + 1) + 64);
    // Every client says something; the server echoes it.
    for (i, &c) in clients.iter().enumerate() {
        let msg = format!("client {i:05}");
        assert_eq!(p.a.tcp_send(c, msg.as_bytes()), Ok(msg.len()));
    }
    let mut echoed = 0;
    let mut buf = [0u8; 64];
    p.run_until(|p| {
        while let Some(ev) = p.b.poll_event() {
            if ev.readiness.contains(Readiness::READABLE) {
                while let Ok(k) = p.b.tcp_recv(ev.handle, &mut buf) {
                    if k == 0 {
                        break;
                    }
                    p.b.tcp_send(ev.handle, &buf[..k]).unwrap();
                }
            }
        }
        while let Some(ev) = p.a.poll_event() {
            if ev.readiness.contains(Readiness::READABLE)
                && let Ok(k) = p.a.tcp_recv(ev.handle, &mut buf)
            {
                assert_eq!(k, 12);
                echoed += 1;
            }
        }
        echoed == n
    })
    .unwrap();
    for &c in clients.iter().step_by(n / 10) {
        assert_eq!(p.a.tcp_state(c).unwrap(), State::Established);
    }
    assert_eq!(p.b.stats().syncookies_sent, 0);
}

#[test]
fn one_thousand_connections() {
    many_connections(1_000);
}

#[test]
fn ten_thousand_connections() {
    many_connections(10_000);
}

/// A deadline that moves later is not pushed again (`reschedule` is lazy):
/// request/response, whose retransmission timer moves later at every
/// exchange, leaves a few entries in the timer heap (the delayed-ACK
/// deadlines not yet reached: 7 here). Eager pushes left one stale entry
/// per exchange, up to the rebuild threshold (68 here).
#[test]
fn request_response_does_not_fill_the_timer_heap() {
    let mut p = two_stacks(Faults {
        delay: Duration::from_millis(1),
        ..Faults::default()
    });
    let l = p.b.tcp_listen(SocketAddr::new(B4, 7), 8).unwrap();
    let c =
        p.a.tcp_connect(p.now, SocketAddr::new(B4, 7), None)
            .unwrap();
    let mut server = None;
    p.run_until(|p| {
        if let Ok(Some((s, _))) = p.b.tcp_accept(l) {
            server = Some(s);
        }
        server.is_some() && p.a.tcp_state(c) == Ok(State::Established)
    })
    .unwrap();
    let s = server.unwrap();
    let mut buf = [0u8; 8];
    let mut most = 0;
    for i in 0..200u32 {
        p.a.tcp_send(c, &i.to_be_bytes()).unwrap();
        p.run_until(|p| {
            if let Ok(k @ 1..) = p.b.tcp_recv(s, &mut buf) {
                p.b.tcp_send(s, &buf[..k]).unwrap();
            }
            p.a.tcp_recv(c, &mut buf) == Ok(4)
        })
        .unwrap();
        assert_eq!(buf[..4], i.to_be_bytes());
        most = most.max(p.a.timers.len()).max(p.b.timers.len());
    }
    assert!(most <= 16, "timer heap grew to {most} entries");
}

/// Bytes per connection in TIME-WAIT once the application closed it: the
/// slab slot (which holds the compact record itself), the port table's
/// entry, its share of the timer heap, the dirty queue and the list of
/// connections in TIME-WAIT, at the tables' current capacities, and any
/// connection left in its full form.
fn bytes_per_time_wait(s: &Stack, n: usize) -> usize {
    let slot = core::mem::size_of::<(u32, Option<Socket>)>();
    let handle = core::mem::size_of::<SocketHandle>();
    let timer = core::mem::size_of::<core::cmp::Reverse<(crate::time::Instant, SocketHandle)>>();
    let slots = (s.socket_count() + 1).next_power_of_two();
    let full = s
        .sockets()
        .into_iter()
        .filter(|&h| matches!(s.sockets.get(h), Some(Socket::Tcp(_))))
        .count();
    let tables = slots * slot
        + s.ports.tcp_conn_table_bytes()
        + s.timers.capacity() * timer
        + s.dirty.capacity() * handle
        + s.time_waits.capacity() * handle
        + full * core::mem::size_of::<super::super::tcp::TcpSocket>();
    tables / n
}

/// A burst of short connections leaves the closing side's ends in
/// TIME-WAIT, each in its slab slot: no TCB box, a few hundred bytes a
/// connection (Linux's `tcp_timewait_sock` is about 280 B of slab).
#[test]
fn time_wait_connections_are_small() {
    let n = 1_000;
    let mut p = two_stacks(Faults {
        delay: Duration::from_millis(1),
        ..Faults::default()
    });
    let l = p.b.tcp_listen(SocketAddr::new(B4, 80), 65535).unwrap();
    let clients: Vec<SocketHandle> = (0..n)
        .map(|_| {
            p.a.tcp_connect(p.now, SocketAddr::new(B4, 80), None)
                .unwrap()
        })
        .collect();
    let mut servers = Vec::with_capacity(n);
    p.run_until(|p| {
        while let Ok(Some((s, _))) = p.b.tcp_accept(l) {
            servers.push(s);
        }
        servers.len() == n
            && clients
                .iter()
                .all(|&c| p.a.tcp_state(c) == Ok(State::Established))
    })
    .unwrap();
    for &c in &clients {
        p.a.tcp_close(p.now, c).unwrap();
    }
    p.run_until(|p| {
        clients
            .iter()
            .all(|&c| p.a.tcp_state(c) == Ok(State::FinWait2))
    })
    .unwrap();
    for &s in &servers {
        p.b.tcp_close(p.now, s).unwrap();
    }
    p.run_until(|p| {
        p.b.socket_count() == 1
            && clients
                .iter()
                .all(|&c| p.a.tcp_state(c) == Ok(State::TimeWait))
    })
    .unwrap();
    assert!(clients.iter().all(|&c| p.a.is_compact_time_wait(c)));
    let per = bytes_per_time_wait(&p.a, n);
    let slot = core::mem::size_of::<(u32, Option<Socket>)>();
    let full = core::mem::size_of::<super::super::tcp::TcpSocket>();
    eprintln!(
        "{n} connections in TIME-WAIT: {per} B each (slab slot {slot} B, \
         record {} B, port table {} B/conn); the full form would add its \
         TCB box of {full} B",
        core::mem::size_of::<crate::tcp::TimeWaitSock>(),
        p.a.ports.tcp_conn_table_bytes() / n,
    );
    assert!(per <= 600, "{per} B per connection in TIME-WAIT");
    assert_eq!(p.a.stats().time_wait_recycled, 0);
}
