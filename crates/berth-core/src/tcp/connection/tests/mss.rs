//! The send MSS: the peer's option, its default, clamping (RFC 9293 3.7.1,
//! Linux's TCP_MIN_MSS), our own option, options taking room from the
//! payload, and path MTU changes (`on_path_mtu`, RFC 1191 / RFC 8201).

use super::harness::*;
use crate::tcp::State;
use crate::wire::TcpFlags as Flags;

fn with_peer_mss(mss: Option<u16>) -> Harness {
    let mut h = Harness::accept(plain_config(), Seg { mss, ..peer_syn() });
    h.poll().unwrap();
    h.inject(peer_ack(ISS + 1));
    assert_eq!(h.state(), State::Established);
    h
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.7.1
//= type=test
//# SendMSS is the MSS value received from the remote host, or the
//# default 536 for IPv4 or 1220 for IPv6, if no MSS Option is received.
#[test]
fn without_the_option_the_send_mss_is_536() {
    let h = with_peer_mss(None);
    assert_eq!(h.conn.smss(), 536);
}

#[test]
fn the_peers_mss_is_clamped_to_ours_and_to_88() {
    // Larger than ours: we send no more than our own MTU allows (Linux
    // clamps the same way).
    assert_eq!(with_peer_mss(Some(9000)).conn.smss(), 1460);
    // Absurdly small: Linux's TCP_MIN_MSS, 88.
    assert_eq!(with_peer_mss(Some(1)).conn.smss(), 88);
    assert_eq!(with_peer_mss(Some(1000)).conn.smss(), 1000);
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.7.1
//= type=test
//# The maximum size of a segment that a TCP endpoint really sends, the
//# "effective send MSS", MUST be the smaller (MUST-16) of the send MSS
//# (that reflects the available reassembly buffer size at the remote host,
//# the EMTU_R [19]) and the largest transmission size permitted by the IP
//# layer (EMTU_S [19]):
#[test]
fn segments_fit_the_mss_less_the_options() {
    let mut h = with_peer_mss(Some(1000));
    h.send(&[1; 3000]);
    let a = h.poll().unwrap();
    assert_eq!(a.data.len(), 1000);

    let mut cfg = plain_config();
    cfg.timestamps = true;
    let mut h = Harness::accept(
        cfg,
        Seg {
            ts: Some((1, 0)),
            ..peer_syn()
        },
    );
    h.poll();
    h.inject(Seg {
        ts: Some((2, 0)),
        ..peer_ack(ISS + 1)
    });
    h.send(&[1; 3000]);
    // 1460 less 12 octets of timestamps.
    assert_eq!(h.poll().unwrap().data.len(), 1448);
}

#[test]
fn our_syn_announces_our_mss() {
    let mut cfg = plain_config();
    cfg.mss = 1220;
    let mut h = Harness::connect(cfg);
    assert_eq!(h.poll().unwrap().mss, Some(1220));
    h.inject(Seg {
        seq: IRS,
        ack: Some(ISS + 1),
        flags: Flags::SYN,
        win: 8192,
        mss: Some(1460),
        ..seg()
    });
    assert_eq!(h.conn.smss(), 1220);
}

#[test]
fn the_segment_size_also_fits_the_callers_buffer() {
    let mut h = with_peer_mss(Some(1460));
    h.room = 20 + 500;
    h.send(&[1; 1000]);
    assert_eq!(h.poll().unwrap().data.len(), 500);
}

#[test]
fn a_lower_path_mtu_resends_in_smaller_segments() {
    let mut h = with_peer_mss(Some(1460));
    h.send(&[1; 2920]);
    let sent: Vec<_> = std::iter::from_fn(|| h.poll()).collect();
    assert_eq!(sent.len(), 2);
    // ICMP "fragmentation needed", MTU 1280: MSS 1240.
    h.conn.on_path_mtu(1240);
    assert_eq!(h.conn.smss(), 1240);
    let again: Vec<_> = std::iter::from_fn(|| h.poll()).collect();
    assert_eq!(
        again.first().map(|s| (s.seq, s.data.len())),
        Some((ISS + 1, 1240))
    );
    assert!(again.iter().all(|s| s.data.len() <= 1240));
    assert_eq!(again.iter().map(|s| s.data.len()).sum::<usize>(), 2920);
}

#[test]
fn a_higher_path_mtu_or_a_tiny_one_is_bounded() {
    let mut h = with_peer_mss(Some(1000));
    h.conn.on_path_mtu(1400);
    assert_eq!(h.conn.smss(), 1000, "never raised past the peer's MSS");
    h.conn.on_path_mtu(10);
    assert_eq!(h.conn.smss(), 88, "never below TCP_MIN_MSS");
    h.send(&[1; 300]);
    h.conn.set_nodelay(true);
    let s = h.poll().unwrap();
    assert_eq!(s.data.len(), 88);
}
