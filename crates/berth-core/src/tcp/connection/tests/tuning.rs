//! Buffers that grow with use (Linux dynamic right-sizing and
//! `tcp_sndbuf_expand`), the window scale chosen for their maximum, and
//! shrinking under memory exhaustion.

use super::harness::*;
use crate::tcp::{MemoryPressure, TcpConfig};

/// Linux-like defaults: a 128 KiB receive buffer that may grow to
/// 65535 << 7, timestamps on (the receiver's RTT comes from their echo).
fn tuned() -> TcpConfig {
    TcpConfig {
        timestamps: true,
        window_scaling: true,
        ..TcpConfig::default()
    }
}

/// ESTABLISHED with `tuned()` after a 100 ms handshake; the peer offers a
/// large scaled window. Returns the harness and our TSval at the end.
fn open() -> Harness {
    let mut h = Harness::accept(
        tuned(),
        Seg {
            ws: Some(7),
            ts: Some((1, 0)),
            win: 65535,
            ..peer_syn()
        },
    );
    let syn_ack = h.poll().unwrap();
    assert_eq!(syn_ack.ws, Some(7), "scale 7 covers the 8 MiB maximum");
    h.advance(100);
    h.inject(Seg {
        win: 65535,
        ts: Some((2, syn_ack.ts.unwrap().0)),
        ..peer_ack(ISS + 1)
    });
    h
}

/// Our advertised window, scaled.
fn window(s: &Seg) -> u32 {
    u32::from(s.win) << 7
}

/// The peer sends `rounds` round trips of data, doubling each round (slow
/// start), each 100 ms after the last; our application reads everything
/// at once if `reads`. Returns the largest window we advertised.
fn slow_start(h: &mut Harness, rounds: u32, reads: bool) -> u32 {
    let mut seq = IRS + 1;
    let mut max_window = 0;
    let mut segments = 10;
    let mut echo = 0;
    for round in 0..rounds {
        for _ in 0..segments {
            h.inject(Seg {
                ts: Some((3 + round, echo)),
                ..peer_data(seq, &[9; 1448])
            });
            seq += 1448;
            if reads {
                h.read_all();
            }
            while let Some(out) = h.poll() {
                max_window = max_window.max(window(&out));
                echo = out.ts.unwrap().0;
            }
        }
        h.advance(100);
        segments *= 2;
    }
    max_window
}

#[test]
fn the_receive_window_grows_while_the_application_keeps_up() {
    let mut h = open();
    assert_eq!(h.conn.recv_buffer_size(), 128 * 1024);
    let max = slow_start(&mut h, 6, true);
    // 10, 20, .. 320 segments per round trip: the window leads the sender.
    assert!(max > 2 * 320 * 1448, "window {max}");
    assert!(h.conn.recv_buffer_size() > 1 << 20);
    assert!(h.conn.recv_buffer_size() <= 65535 << 7);
}

#[test]
fn an_application_that_does_not_read_keeps_the_window_small() {
    let mut h = open();
    let max = slow_start(&mut h, 3, false);
    assert!(max <= 128 * 1024 + 128, "window {max}");
    assert_eq!(h.conn.recv_buffer_size(), 128 * 1024);
}

#[test]
fn the_send_buffer_grows_with_cwnd() {
    let mut h = open();
    assert_eq!(h.conn.send_buffer_size(), 256 * 1024);
    h.conn.set_nodelay(true);
    let mut queued = 0usize;
    let mut acked = ISS + 1;
    for _ in 0..8 {
        // Keep the send buffer full; the peer acknowledges everything a
        // round trip later.
        let room = h.conn.send_capacity();
        assert_eq!(h.conn.send(&vec![1; room]), Ok(room));
        queued += room;
        let mut sent = 0;
        while let Some(s) = h.poll() {
            sent += s.data.len() as u32;
        }
        h.advance(100);
        acked += sent;
        h.inject(Seg {
            win: 65535,
            ..peer_ack(acked)
        });
    }
    assert!(queued > 256 * 1024);
    let size = h.conn.send_buffer_size();
    assert!(
        size >= 2 * h.conn.cwnd().min(4 << 20),
        "{size} for cwnd {}",
        h.conn.cwnd()
    );
    assert!(size > 256 * 1024 && size <= 8 << 20, "{size}");
}

#[test]
fn under_memory_exhaustion_buffers_shrink_to_what_they_hold() {
    let mut h = open();
    h.inject(peer_data(IRS + 1, &[9; 1000]));
    while h.poll().is_some() {}
    h.conn.set_memory_pressure(MemoryPressure::Exhausted);
    assert!(
        h.conn.recv_buffer_size() <= 4096,
        "{}",
        h.conn.recv_buffer_size()
    );
    assert!(h.conn.send_capacity() <= 4096);
    // What was promised is still taken.
    h.inject(peer_data(IRS + 1001, &[9; 1000]));
    assert_eq!(h.conn.recv_queue(), 2000);
}
