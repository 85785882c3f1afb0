//! Flow control: window scaling both ways (RFC 7323 section 2), the send
//! window update rule (RFC 9293 3.10.7.4 and Linux), zero windows and the
//! persist timer (RFC 9293 3.8.6.1, RFC 1122 4.2.2.17; gVisor
//! `tcp_zero_window_probe*`), and the receive buffer bounding what we offer
//! and accept (gVisor `tcp_rcv_buf_space`).

use super::harness::*;
use crate::tcp::{ConnError, State};

/// Window scaling on, a 256 KiB receive buffer (our shift: 3); the peer's
/// SYN offers `peer_ws` and a window of `syn_win`.
fn scaled(peer_ws: u8, syn_win: u16) -> Harness {
    let mut cfg = plain_config();
    cfg.window_scaling = true;
    cfg.recv_buffer = 256 * 1024;
    cfg.send_buffer = 256 * 1024;
    let mut h = Harness::accept(
        cfg,
        Seg {
            ws: Some(peer_ws),
            win: syn_win,
            ..peer_syn()
        },
    );
    let syn_ack = h.poll().unwrap();
    assert_eq!(syn_ack.ws, Some(3));
    h
}

/// Sends everything the connection will send now; returns the payload bytes.
fn flush(h: &mut Harness) -> usize {
    let mut total = 0;
    while let Some(s) = h.poll() {
        total += s.data.len();
    }
    total
}

//= https://www.rfc-editor.org/rfc/rfc7323#section-2.3
//= type=test
//# The window field (SEG.WND) in the header of every incoming segment, with
//# the exception of <SYN> segments, MUST be left-shifted by
//# Snd.Wind.Shift bits before updating SND.WND:
#[test]
fn the_peers_window_is_scaled() {
    let mut h = scaled(7, 1000);
    // 10 << 7 = 1280 bytes.
    h.inject(Seg {
        win: 10,
        ..peer_ack(ISS + 1)
    });
    assert_eq!(h.state(), State::Established);
    h.conn.set_nodelay(true);
    h.send(&[1; 3000]);
    assert_eq!(flush(&mut h), 1280);
}

//= https://www.rfc-editor.org/rfc/rfc7323#section-2.3
//= type=test
//# The window field (SEG.WND) of every outgoing segment, with the
//# exception of <SYN> segments, MUST be right-shifted by
//# Rcv.Wind.Shift bits:
#[test]
fn our_window_is_scaled_and_its_right_edge_holds() {
    let mut h = scaled(7, 1000);
    h.inject(Seg {
        win: 10,
        ..peer_ack(ISS + 1)
    });
    let edge = |s: &Seg| s.ack.unwrap().wrapping_add(u32::from(s.win) << 3);
    let chunk = [5u8; 1460];
    let mut seq = IRS + 1;
    let mut first_edge = None;
    for _ in 0..100 {
        h.inject(Seg {
            win: 10,
            ..peer_data(seq, &chunk)
        });
        seq += 1460;
        let ack = match h.poll() {
            Some(ack) => ack,
            None => {
                h.advance_to_timer();
                h.poll().unwrap()
            }
        };
        assert_eq!(ack.ack, Some(seq));
        // The scaled window covers the buffer, and the edge does not move
        // while nothing is read.
        // Never left of the last edge (the promise), and past the
        // buffer's end only by the rounding of the held window: less than
        // the granularity (8) for every two segments.
        let e = edge(&ack);
        let last = first_edge.replace(e).unwrap_or(e);
        assert!(e >= last, "{e} < {last}");
        let end = IRS + 1 + 256 * 1024;
        assert!((end - 8..end + 8 * 50).contains(&e), "{e}");
    }
}

//= https://www.rfc-editor.org/rfc/rfc7323#section-2.3
//= type=test
//# If a Window Scale option is received with a shift.cnt value larger
//# than 14, the TCP SHOULD log the error but MUST use 14 instead of the
//# specified value.
#[test]
fn a_shift_above_14_is_clamped_to_14() {
    let mut h = scaled(15, 65535);
    h.inject(Seg {
        win: 1,
        ..peer_ack(ISS + 1)
    });
    h.conn.set_nodelay(true);
    h.send(&[1; 100_000]);
    // The first flight is cwnd-limited (10 segments).
    assert_eq!(flush(&mut h), 14_600);
    h.inject(Seg {
        win: 1,
        ..peer_ack(ISS + 1 + 14_600)
    });
    // Now 1 << 14 = 16384 bytes of window: less than cwnd. With a shift of
    // 15 it would be 32768 and cwnd would be the limit.
    let sent = flush(&mut h);
    assert!(sent <= 16_384, "{sent}");
    assert!(sent > 14_600, "{sent}");
}

#[test]
fn without_the_peers_option_neither_side_scales() {
    let mut cfg = plain_config();
    cfg.window_scaling = true;
    cfg.recv_buffer = 256 * 1024;
    let mut h = Harness::accept(cfg, peer_syn());
    let syn_ack = h.poll().unwrap();
    //= https://www.rfc-editor.org/rfc/rfc7323#section-2.2
    //= type=test
    //# This option is an offer, not a promise; both sides MUST send Window
    //# Scale options in their <SYN> segments to enable window scaling in either
    //# direction.
    assert_eq!(syn_ack.ws, None);
    h.inject(peer_ack(ISS + 1));
    h.inject(peer_data(IRS + 1, b"x"));
    // The window field is the buffer, unscaled and capped at 65535.
    assert_eq!(h.poll().unwrap().win, 65535);
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
//= type=test
//# If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated.
#[test]
fn an_ack_that_advances_snd_una_updates_the_window_even_from_an_old_segment() {
    // Found by the property tests: the RFC's SND.WL1 check ignored the
    // window of a retransmitted peer segment that acknowledged new data;
    // SND.UNA moved, SND.WND (an offset from it) did not, and the right
    // edge slid past anything the peer offered. Linux
    // (tcp_may_update_window) takes the window from any ACK that advances
    // SND.UNA.
    let mut h = established();
    h.inject(peer_data(IRS + 1, b"aaa"));
    h.inject(peer_data(IRS + 4, b"bbb"));
    while h.poll().is_some() {}
    h.conn.set_nodelay(true);
    h.send(&[1; 20_000]);
    // 8192 of window: five full segments, the 892-byte rest waits (SWS).
    assert_eq!(flush(&mut h), 7300);
    // The peer retransmits its first two segments as one, with new data
    // ("ccc"): SEG.SEQ < SND.WL1. It acknowledges all we sent and closes
    // its window.
    h.inject(Seg {
        win: 0,
        ack: Some(ISS + 1 + 7300),
        ..peer_data(IRS + 1, b"aaabbbccc")
    });
    assert_eq!(h.conn.send_queue(), 20_000 - 7300);
    assert_eq!(flush(&mut h), 0, "the window is closed");
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.6.1
//= type=test
//# The transmitting host SHOULD send the first zero-window probe when a
//# zero window has existed for the retransmission timeout period (SHLD-29)
//# (Section 3.8.1), and SHOULD increase exponentially the interval between
//# successive probes (SHLD-30).
#[test]
fn zero_window_probes_back_off_exponentially() {
    // gVisor packetimpact tcp_zero_window_probe_retransmit.
    let mut h = established();
    h.inject(Seg {
        win: 0,
        ..peer_ack(ISS + 1)
    });
    h.send(b"blocked");
    h.expect_none();
    let mut waits = Vec::new();
    for _ in 0..6 {
        waits.push(h.advance_to_timer());
        h.expect(our_ack(ISS, IRS + 1));
        h.expect_none();
    }
    assert_eq!(waits, [200, 400, 800, 1600, 3200, 6400]);
    assert_eq!(h.conn.stats().window_probes, 6);
}

//= https://www.rfc-editor.org/rfc/rfc1122#section-4.2.2.17
//= type=test
//# As long as the receiving TCP continues to send acknowledgments in
//# response to the probe segments, the sending TCP MUST allow the
//# connection to stay open.
#[test]
fn answered_zero_window_probes_never_give_up() {
    // gVisor packetimpact tcp_zero_window_probe.
    let mut h = established();
    h.inject(Seg {
        win: 0,
        ..peer_ack(ISS + 1)
    });
    h.send(b"blocked");
    h.expect_none();
    for _ in 0..40 {
        let wait = h.advance_to_timer();
        assert!(wait <= 120_000, "capped at the RTO maximum");
        h.expect(our_ack(ISS, IRS + 1));
        h.inject(Seg {
            win: 0,
            ..peer_ack(ISS + 1)
        });
    }
    assert_eq!(h.state(), State::Established);
    // The window opens: the data goes, and probing stops.
    h.inject(Seg {
        win: 100,
        ..peer_ack(ISS + 1)
    });
    assert_eq!(h.poll().unwrap().data, b"blocked");
    h.inject(peer_ack(ISS + 8));
    assert_eq!(h.conn.poll_at(), None);
}

/// A peer that closes its window and then never answers again is dead:
/// once as many probes as retransmissions (`retries`, Linux
/// `tcp_retries2`) went unanswered over 2 * `rto_max` of silence, the
/// connection times out (Linux `tcp_probe_timer`). Before, it probed every
/// two minutes forever, so a peer could hold any number of connections,
/// closed by the application or not, for good (found by the `stack` fuzz
/// target).
#[test]
fn unanswered_zero_window_probes_time_out() {
    let mut h = established();
    h.inject(Seg {
        win: 0,
        ..peer_ack(ISS + 1)
    });
    h.send(b"blocked");
    h.expect_none();
    let mut silent_ms = 0;
    while h.state() != State::Closed {
        silent_ms += h.advance_to_timer();
        if h.state() != State::Closed {
            h.expect(our_ack(ISS, IRS + 1));
        }
        assert!(
            silent_ms < 3_600_000,
            "still probing after an hour of silence"
        );
    }
    assert_eq!(h.conn.error(), Some(ConnError::TimedOut));
    assert_eq!(
        h.conn.stats().window_probes,
        u64::from(plain_config().retries)
    );
    assert!(silent_ms > 240_000, "gave up after only {silent_ms} ms");
    assert_eq!(h.conn.poll_at(), None);
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
//= type=test
//# If the RCV.WND is zero, no segments will be acceptable, but special
//# allowance should be made to accept valid ACKs, URGs, and RSTs.
#[test]
fn data_past_a_full_receive_buffer_is_refused_and_acked() {
    // gVisor packetimpact tcp_rcv_buf_space: the window never exceeds the
    // buffer, and a peer that overruns it is not queued.
    let mut h = established();
    let chunk = vec![9u8; 1024];
    let mut seq = IRS + 1;
    for _ in 0..RECV_BUF / 1024 {
        h.inject(peer_data(seq, &chunk));
        seq += 1024;
    }
    h.advance(200);
    let mut last = None;
    while let Some(s) = h.poll() {
        last = Some(s);
    }
    let last = last.unwrap();
    assert_eq!((last.ack, last.win), (Some(seq), 0));
    // One more byte: outside the zero window.
    h.inject(peer_data(seq, b"!"));
    h.expect(Seg {
        win: 0,
        ..our_ack(ISS + 1, seq)
    });
    assert_eq!(h.conn.recv_queue(), RECV_BUF);
    // A pure ACK (a window probe) is still taken at RCV.NXT.
    h.inject(Seg {
        seq,
        win: 4096,
        ..peer_ack(ISS + 1)
    });
    assert_eq!(h.state(), State::Established);
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.6.2.2
//= type=test
//# The suggested SWS avoidance algorithm for the receiver is to keep
//# RCV.NXT+RCV.WND fixed until the reduction satisfies:
#[test]
fn small_reads_do_not_open_the_window() {
    let mut h = established();
    let chunk = vec![9u8; 1024];
    let mut seq = IRS + 1;
    for _ in 0..RECV_BUF / 1024 {
        h.inject(peer_data(seq, &chunk));
        seq += 1024;
    }
    h.advance(200);
    while h.poll().is_some() {}
    // Reading 100 bytes frees less than an MSS: no window update, and the
    // next ACK still offers a zero window.
    let mut buf = [0u8; 100];
    assert_eq!(h.conn.recv(&mut buf), Ok(100));
    h.expect_none();
    h.inject(peer_data(seq, b""));
    h.inject(Seg {
        seq: seq + 5000,
        ..peer_data(seq + 5000, b"x")
    });
    let ack = h.poll().unwrap();
    assert_eq!(ack.win, 0);
}

#[test]
fn a_window_shrunk_to_zero_under_sent_data_is_probed_not_timed_out() {
    // Found by a scripted test: the peer closed its window with our data
    // outstanding; every RTO then retransmitted nothing (no window) yet
    // counted a retry, and after `retries` the connection failed with
    // TimedOut although the peer was alive. Linux (tcp_retransmit_timer)
    // turns those retransmissions into zero-window probes and does not
    // time out while the peer answers.
    let mut h = established();
    h.conn.set_nodelay(true);
    h.send(b"hello");
    assert_eq!(h.poll().unwrap().data, b"hello");
    h.inject(Seg {
        win: 0,
        ..peer_ack(ISS + 1)
    });
    let mut waits = Vec::new();
    for _ in 0..30 {
        waits.push(h.advance_to_timer());
        // A probe per expiry: ours, and (once the peer's identical
        // zero-window answers count as three duplicate ACKs) the segment at
        // SND.UNA, which Linux also sends as the probe.
        let out: Vec<Seg> = std::iter::from_fn(|| h.poll()).collect();
        assert!(!out.is_empty() && out.len() <= 2, "{out:?}");
        assert!(
            out.iter()
                .all(|s| *s == our_ack(ISS, IRS + 1) || s.seq == ISS + 1),
            "{out:?}"
        );
        h.inject(Seg {
            win: 0,
            ..peer_ack(ISS + 1)
        });
    }
    assert_eq!(&waits[..4], &[200, 400, 800, 1600]);
    assert_eq!(waits[29], 120_000);
    assert_eq!(h.state(), State::Established);
    // The window opens: the data goes again at once.
    h.inject(Seg {
        win: 100,
        ..peer_ack(ISS + 1)
    });
    let s = h.poll().unwrap();
    assert_eq!((s.seq, s.data.as_slice()), (ISS + 1, &b"hello"[..]));
}

#[test]
fn a_closed_window_whose_peer_fell_silent_still_times_out() {
    let mut h = established();
    h.conn.set_nodelay(true);
    h.send(b"hello");
    h.poll();
    h.inject(Seg {
        win: 0,
        ..peer_ack(ISS + 1)
    });
    // No answers: after 2 * RTO max of silence the retries count again.
    for _ in 0..60 {
        if h.state() == State::Closed {
            break;
        }
        h.advance_to_timer();
        while h.poll().is_some() {}
    }
    assert_eq!(h.state(), State::Closed);
    assert_eq!(h.conn.error(), Some(crate::tcp::ConnError::TimedOut));
}

/// The peer fills exactly the window it was shown (ACK + SEG.WND << 3),
/// 1460 bytes at a time, and then acknowledges our data with a pure ACK
/// from its SND.NXT. Returns the harness, the peer's SND.NXT and the end of
/// the data we sent.
fn peer_fills_the_scaled_window() -> (Harness, u32, u32) {
    let mut h = scaled(7, 1000);
    h.inject(Seg {
        win: 10,
        ..peer_ack(ISS + 1)
    });
    h.conn.set_nodelay(true);
    h.send(&[1; 1000]);
    assert_eq!(flush(&mut h), 1000);
    let our_end = ISS + 1 + 1000;
    let mut seq = IRS + 1;
    let mut edge = seq;
    for _ in 0..1000 {
        let mut out: Vec<Seg> = std::iter::from_fn(|| h.poll()).collect();
        if out.is_empty() {
            h.advance_to_timer();
            out.extend(std::iter::from_fn(|| h.poll()));
        }
        for s in &out {
            edge = edge.max(s.ack.unwrap() + (u32::from(s.win) << 3));
        }
        if seq == edge {
            break;
        }
        let len = (edge - seq).min(1460) as usize;
        h.inject(Seg {
            win: 10,
            ..peer_data(seq, &vec![7; len])
        });
        seq += len as u32;
    }
    assert_eq!(seq, edge, "the peer filled the window it was shown");
    (h, seq, our_end)
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.6.2.2
//= type=test
//# the receiver should not shrink the window, i.e., move the right window
//# edge to the left (SHLD-14).
#[test]
fn every_byte_of_an_advertised_scaled_window_is_taken() {
    // Found over TUN with the kernel sending into echo at 5% loss: the
    // window field was rounded up to the shift's granularity but the edge
    // recorded was the unrounded one, so the last bytes of the window the
    // kernel was shown were trimmed, and once the buffer was full every
    // pure ACK it sent (SEG.SEQ = RCV.NXT + 4) was dropped unread: SND.UNA
    // froze and the connection died.
    let (mut h, seq, our_end) = peer_fills_the_scaled_window();
    assert_eq!(h.conn.stats().recv_queue_drops, 0);
    let last = std::iter::from_fn(|| h.poll()).last();
    if let Some(last) = last {
        assert_eq!(last.ack, Some(seq), "every byte acknowledged");
    }
    // The kernel's pure ACK from its SND.NXT acknowledges our data.
    h.inject(Seg {
        seq,
        win: 10,
        ..peer_ack(our_end)
    });
    assert_eq!(h.conn.send_queue(), 0, "SND.UNA moved");
    assert_eq!(h.conn.recv_queue(), (seq - IRS - 1) as usize);
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
//= type=test
//# If the RCV.WND is zero, no segments will be acceptable, but special
//# allowance should be made to accept valid ACKs, URGs, and RSTs.
#[test]
fn a_valid_ack_is_taken_while_our_window_is_zero() {
    let (mut h, seq, our_end) = peer_fills_the_scaled_window();
    while h.poll().is_some() {}
    // A pure ACK a little past RCV.NXT (a peer that counted the window
    // differently) is unacceptable as a segment, but its ACK is valid.
    h.inject(Seg {
        seq: seq + 4,
        win: 10,
        ..peer_ack(our_end)
    });
    assert_eq!(h.conn.send_queue(), 0, "SND.UNA moved");
    assert_eq!(h.state(), State::Established);
}
