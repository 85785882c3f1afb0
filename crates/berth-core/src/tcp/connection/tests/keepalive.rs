//! Keepalive (RFC 1122 4.2.3.6, Linux's idle / interval / count), and the
//! timers that end a connection quietly: FIN-WAIT-2 for orphans, TIME-WAIT.

use super::harness::*;
use crate::tcp::config::{Keepalive, TcpConfig};
use crate::tcp::{ConnError, State};
use crate::time::Duration;
use crate::wire::TcpFlags as Flags;

fn ka_config() -> TcpConfig {
    TcpConfig {
        keepalive: Some(Keepalive {
            idle: Duration::from_secs(10),
            interval: Duration::from_secs(2),
            count: 3,
        }),
        ..plain_config()
    }
}

/// A keepalive probe: an ACK one below SND.UNA (Linux's
/// tcp_xmit_probe_skb), no data.
fn probe() -> Seg {
    our_ack(ISS, IRS + 1)
}

//= https://www.rfc-editor.org/rfc/rfc1122#section-4.2.3.6
//= type=test
//# This interval MUST be
//# configurable and MUST default to no less than two hours.
#[test]
fn keepalive_is_off_by_default_and_its_idle_default_is_two_hours() {
    let h = established();
    assert_eq!(h.conn.poll_at(), None);
    assert_eq!(Keepalive::default().idle, Duration::from_secs(7200));
}

//= https://www.rfc-editor.org/rfc/rfc1122#section-4.2.3.6
//= type=test
//# Keep-alive packets MUST only be sent when no data or
//# acknowledgement packets have been received for the
//# connection within an interval.
#[test]
fn idle_then_interval_then_count_then_reset() {
    let mut h = established_with(ka_config(), 0);
    assert_eq!(h.advance_to_timer(), 10_000);
    h.expect(probe());
    h.expect_none();
    for _ in 0..2 {
        assert_eq!(h.advance_to_timer(), 2_000);
        h.expect(probe());
    }
    assert_eq!(h.conn.stats().keepalives, 3);
    // The third probe goes unanswered too: Linux resets the connection.
    assert_eq!(h.advance_to_timer(), 2_000);
    h.expect(Seg {
        seq: ISS + 1,
        ack: Some(IRS + 1),
        flags: Flags::RST,
        ..seg()
    });
    assert_eq!(h.state(), State::Closed);
    assert_eq!(h.conn.error(), Some(ConnError::TimedOut));
}

#[test]
fn an_answered_probe_starts_the_idle_time_over() {
    let mut h = established_with(ka_config(), 0);
    h.advance_to_timer();
    h.expect(probe());
    h.advance(500);
    h.inject(peer_ack(ISS + 1));
    // Back to the full idle time, and the count starts over.
    assert_eq!(h.advance_to_timer(), 10_000);
    h.expect(probe());
    for _ in 0..2 {
        assert_eq!(h.advance_to_timer(), 2_000);
        h.expect(probe());
    }
    assert_eq!(h.state(), State::Established);
}

#[test]
fn traffic_postpones_the_first_probe() {
    let mut h = established_with(ka_config(), 0);
    h.advance(9_000);
    h.inject(peer_data(IRS + 1, b"hi"));
    h.poll();
    assert_eq!(h.advance_to_timer(), 10_000);
    h.expect(Seg {
        seq: ISS,
        ack: Some(IRS + 3),
        win: RECV_BUF as u16 - 2,
        ..seg()
    });
}

#[test]
fn no_probes_while_data_is_outstanding() {
    // The retransmission timer covers a peer that does not answer.
    let mut cfg = ka_config();
    cfg.retries = 100;
    let mut h = established_with(cfg, 0);
    h.conn.set_nodelay(true);
    h.send(b"x");
    h.poll();
    for _ in 0..12 {
        h.advance_to_timer();
        while let Some(s) = h.poll() {
            assert_eq!(s.data, b"x", "only retransmissions");
        }
    }
    assert_eq!(h.conn.stats().keepalives, 0);
}

#[test]
fn keepalive_can_be_turned_on_and_off_at_run_time() {
    let mut h = established();
    h.conn.set_keepalive(h.now, ka_config().keepalive);
    assert_eq!(h.advance_to_timer(), 10_000);
    h.expect(probe());
    h.conn.set_keepalive(h.now, None);
    assert_eq!(h.conn.poll_at(), None);
}

/// The timing set while keepalive is off is the one it starts with, and
/// turning it off keeps the timing for the next time (Linux keeps
/// `keepalive_time` and the rest apart from `SOCK_KEEPOPEN`).
#[test]
fn a_timing_set_while_off_is_used_once_on() {
    let mut h = established();
    let timing = Keepalive {
        idle: Duration::from_secs(3),
        interval: Duration::from_secs(1),
        count: 2,
    };
    h.conn.set_keepalive_timing(h.now, timing);
    assert_eq!(h.conn.keepalive(), None);
    assert_eq!(h.conn.poll_at(), None, "still off");
    assert_eq!(h.conn.keepalive_timing(), timing);
    h.conn.set_keepalive(h.now, Some(h.conn.keepalive_timing()));
    assert_eq!(h.advance_to_timer(), 3_000);
    h.expect(probe());
    assert_eq!(h.advance_to_timer(), 1_000);
    h.expect(probe());
    h.conn.set_keepalive(h.now, None);
    assert_eq!(h.conn.keepalive_timing(), timing, "kept while off");
}

/// A new idle time on a probing connection rearms the timer at the new
/// time less what has passed since the peer was last heard (Linux
/// tcp_sock_set_keepidle_locked), at once if that is already past.
#[test]
fn a_new_idle_time_counts_from_the_last_segment_received() {
    let mut h = established_with(ka_config(), 0);
    h.advance(4_000);
    let shorter = Keepalive {
        idle: Duration::from_secs(6),
        ..ka_config().keepalive.unwrap()
    };
    h.conn.set_keepalive_timing(h.now, shorter);
    // 6 s from the handshake's ACK, 4 s of which have passed.
    assert_eq!(h.advance_to_timer(), 2_000);
    h.expect(probe());
    h.inject(peer_ack(ISS + 1));
    h.advance(5_000);
    h.conn.set_keepalive_timing(
        h.now,
        Keepalive {
            idle: Duration::from_secs(1),
            ..shorter
        },
    );
    // Silent for 5 s already: the probe is due now.
    assert_eq!(h.advance_to_timer(), 0);
    h.expect(probe());
}

/// A new interval and count apply from the next probe; the idle timer
/// keeps its time.
#[test]
fn a_new_interval_and_count_apply_to_the_next_probes() {
    let mut h = established_with(ka_config(), 0);
    h.advance(1_000);
    h.conn.set_keepalive_timing(
        h.now,
        Keepalive {
            interval: Duration::from_secs(5),
            count: 1,
            ..ka_config().keepalive.unwrap()
        },
    );
    assert_eq!(h.advance_to_timer(), 9_000);
    h.expect(probe());
    // One probe is the count now: the next expiry ends the connection.
    assert_eq!(h.advance_to_timer(), 5_000);
    assert_eq!(h.poll().map(|s| s.flags), Some(Flags::RST));
    assert_eq!(h.state(), State::Closed);
}

#[test]
fn time_wait_lasts_two_msl_and_sends_nothing() {
    let mut h = established();
    h.conn.shutdown_write();
    h.poll();
    h.inject(peer_ack(ISS + 2));
    h.inject(Seg {
        seq: IRS + 1,
        ack: Some(ISS + 2),
        flags: Flags::FIN,
        win: 8192,
        ..seg()
    });
    h.poll();
    assert_eq!(h.state(), State::TimeWait);
    h.advance(59_999);
    assert_eq!(h.state(), State::TimeWait);
    h.expect_none();
    h.advance(1);
    assert_eq!(h.state(), State::Closed);
    assert!(h.conn.is_closed());
}

#[test]
fn fin_wait_2_without_close_waits_for_the_peer() {
    // Only an orphan (closed by the application) times out in FIN-WAIT-2;
    // after shutdown(Write) the application may still read for ever.
    let mut h = established();
    h.conn.shutdown_write();
    h.poll();
    h.inject(peer_ack(ISS + 2));
    assert_eq!(h.state(), State::FinWait2);
    assert_eq!(h.conn.poll_at(), None);
    h.advance(10 * 60_000);
    h.inject(peer_data(IRS + 1, b"late"));
    assert_eq!(h.read_all(), b"late");
}
