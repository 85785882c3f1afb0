//! TIME-WAIT through the whole stack, the peer scripted by hand: a
//! connection the application closed becomes a compact record under the
//! same handle (`stack/time_wait.rs`), which still answers a retransmitted
//! FIN, takes or ignores a reset (RFC 1337), lets a new SYN reopen the
//! 4-tuple (RFC 6191), ends after 2 MSL, and shows in `tcp_info`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::{A4, B4, config};
use crate::handle::SocketHandle;
use crate::stack::{SocketError, SocketKind, Stack};
use crate::tcp::State;
use crate::time::{Duration, Instant};
use crate::wire::tcp_option::MAX_SACK_BLOCKS;
use crate::wire::{
    ChecksumCaps, Ecn, IpProtocol, Ipv4Packet, Ipv4Repr, TcpFlags, TcpPacket, TcpRepr,
};

/// The scripted peer's address.
const PEER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)), 40000);
/// The peer's ISN.
const IRS: u32 = 1000;

/// What the test sees of a segment from the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Out {
    seq: u32,
    ack: Option<u32>,
    flags: TcpFlags,
    ts: Option<(u32, u32)>,
}

/// A segment from the peer to B4:80.
fn frame(seq: u32, ack: Option<u32>, flags: TcpFlags, ts: Option<(u32, u32)>) -> Vec<u8> {
    let syn = flags.contains(TcpFlags::SYN);
    let tcp = TcpRepr {
        src_port: PEER.port(),
        dst_port: 80,
        seq_number: seq,
        ack_number: ack,
        flags,
        window_len: 65535,
        urgent_pointer: 0,
        max_seg_size: syn.then_some(1460),
        window_scale: syn.then_some(7),
        sack_permitted: syn,
        sack_ranges: [None; MAX_SACK_BLOCKS],
        timestamp: ts,
        payload: &[],
    };
    let ip = Ipv4Repr {
        src_addr: Ipv4Addr::new(198, 18, 0, 1),
        dst_addr: Ipv4Addr::new(198, 18, 0, 2),
        next_header: IpProtocol::Tcp,
        payload_len: tcp.buffer_len(),
        hop_limit: 64,
        dscp: 0,
        ecn: Ecn::NotEct,
        ident: seq as u16,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
    };
    let mut f = vec![0u8; ip.buffer_len()];
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut f[..]));
    tcp.emit(
        &mut TcpPacket::new_unchecked(&mut f[20..]),
        A4,
        B4,
        ChecksumCaps::FULL,
    );
    f
}

/// Everything the stack sends now.
fn sent(s: &mut Stack, now: Instant) -> Vec<Out> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1500];
    while let Some(n) = s.poll_transmit(now, &mut buf) {
        let ip = Ipv4Packet::new_checked(&buf[..n]).unwrap();
        let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
        let repr = TcpRepr::parse(&tcp, B4, A4, ChecksumCaps::FULL).unwrap();
        out.push(Out {
            seq: repr.seq_number,
            ack: repr.ack_number,
            flags: repr.flags,
            ts: repr.timestamp,
        });
    }
    out
}

/// The scripted connection: the stack (server on B4:80), the
/// connection's handle, our ISN, our timestamp offset (TSval is the
/// millisecond clock plus it), the time now.
struct Script {
    s: Stack,
    h: SocketHandle,
    iss: u32,
    ts_offset: u32,
    now: Instant,
}

/// The peer connects; the server (the stack) closes first and ends in
/// TIME-WAIT at t = 20 ms, having acknowledged the peer's FIN. The peer's
/// timestamps are 100, 110, 120.
fn server_in_time_wait(rfc1337: bool) -> Script {
    let mut cfg = config(vec![B4], 2);
    cfg.tcp.rfc1337 = rfc1337;
    let mut s = Stack::new(cfg);
    let l = s.tcp_listen(SocketAddr::new(B4, 80), 8).unwrap();
    let mut now = Instant::ZERO;
    s.handle_frame(now, &frame(IRS, None, TcpFlags::SYN, Some((100, 0))));
    let syn_ack = sent(&mut s, now)[0];
    assert_eq!(syn_ack.flags, TcpFlags::SYN | TcpFlags::ACK);
    let iss = syn_ack.seq;
    let ts_offset = syn_ack.ts.unwrap().0;
    now += Duration::from_millis(10);
    let ms = |now: Instant| now.total_millis() as u32;
    s.handle_frame(
        now,
        &frame(
            IRS + 1,
            Some(iss + 1),
            TcpFlags::ACK,
            Some((110, ts_offset + ms(now))),
        ),
    );
    let (h, _) = s.tcp_accept(l).unwrap().unwrap();
    s.tcp_close(now, h).unwrap();
    assert!(!s.is_compact_time_wait(h), "FIN-WAIT-1 keeps its socket");
    let fin = sent(&mut s, now)[0];
    assert!(fin.flags.contains(TcpFlags::FIN));
    now += Duration::from_millis(10);
    s.handle_frame(
        now,
        &frame(
            IRS + 1,
            Some(iss + 2),
            TcpFlags::ACK | TcpFlags::FIN,
            Some((120, ts_offset + ms(now))),
        ),
    );
    assert_eq!(s.tcp_state(h), Ok(State::TimeWait));
    assert_eq!(
        sent(&mut s, now),
        [Out {
            seq: iss + 2,
            ack: Some(IRS + 2),
            flags: TcpFlags::ACK,
            ts: Some((ts_offset + ms(now), 120)),
        }]
    );
    Script {
        s,
        h,
        iss,
        ts_offset,
        now,
    }
}

#[test]
fn a_closed_connection_in_time_wait_becomes_compact() {
    let Script { mut s, h, now, .. } = server_in_time_wait(true);
    assert!(s.is_compact_time_wait(h));
    // Still a TCP connection in TIME-WAIT to every caller, with its
    // addresses, under the same handle.
    assert_eq!(s.socket_kind(h), Some(SocketKind::Tcp));
    assert!(s.sockets().contains(&h));
    let info = s.tcp_info(h).unwrap();
    assert_eq!(info.state, State::TimeWait);
    assert_eq!(info.local, SocketAddr::new(B4, 80));
    assert_eq!(info.remote, PEER);
    assert_eq!(s.local_addr(h), Ok(SocketAddr::new(B4, 80)));
    assert_eq!(s.ttl(h), Ok(64));
    // Its 2 MSL deadline is the stack's next (once the stale entries of
    // its earlier timers are gone).
    s.handle_timeout(now + Duration::from_secs(1));
    assert_eq!(s.poll_timeout(), Some(now + Duration::from_secs(60)));
    assert!(s.is_compact_time_wait(h));
}

#[test]
fn calls_on_a_compact_time_wait_answer_as_on_the_closed_connection() {
    let Script { mut s, h, now, .. } = server_in_time_wait(true);
    assert_eq!(s.tcp_send(h, b"late"), Err(SocketError::BrokenPipe));
    assert_eq!(s.tcp_recv(h, &mut [0; 8]), Ok(0));
    assert_eq!(s.tcp_peek(h, &mut [0; 8]), Ok(0));
    assert_eq!(s.tcp_error(h), Ok(None));
    assert_eq!(s.tcp_can_recv(h), Ok(true));
    assert_eq!(s.tcp_can_send(h), Ok(true));
    assert_eq!(s.tcp_shutdown_write(h), Ok(()));
    assert_eq!(s.tcp_close(now, h), Ok(()));
    assert_eq!(s.close(now, h), Ok(()));
    // What needs the whole connection is gone with it.
    assert_eq!(s.tcp_nodelay(h), Err(SocketError::InvalidHandle));
    assert_eq!(s.tcp_mss(h), Err(SocketError::InvalidHandle));
    assert!(sent(&mut s, now).is_empty());
    assert_eq!(s.tcp_state(h), Ok(State::TimeWait));
    // An abort ends it at once, without a reset (RFC 9293 3.10.5).
    assert_eq!(s.tcp_abort(h), Ok(()));
    assert!(sent(&mut s, now).is_empty());
    assert_eq!(s.tcp_state(h), Err(SocketError::InvalidHandle));
    assert_eq!(s.socket_count(), 1);
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
//= type=test
//# The only thing that can arrive in this state is a retransmission of
//# the remote FIN.  Acknowledge it, and restart the 2 MSL timeout.
#[test]
fn a_retransmitted_fin_is_acknowledged_and_restarts_the_timer() {
    let Script {
        mut s,
        h,
        iss,
        ts_offset,
        mut now,
    } = server_in_time_wait(true);
    now += Duration::from_secs(30);
    s.handle_timeout(now);
    s.handle_frame(
        now,
        &frame(
            IRS + 1,
            Some(iss + 2),
            TcpFlags::ACK | TcpFlags::FIN,
            Some((130, 0)),
        ),
    );
    assert!(s.is_compact_time_wait(h));
    // The same ACK, our clock in TSval, TS.Recent (the FIN's, 120: the
    // retransmission starts before RCV.NXT) in TSecr.
    assert_eq!(
        sent(&mut s, now),
        [Out {
            seq: iss + 2,
            ack: Some(IRS + 2),
            flags: TcpFlags::ACK,
            ts: Some((ts_offset + now.total_millis() as u32, 120)),
        }]
    );
    let end = now + Duration::from_secs(60);
    // The first 2 MSL would have ended 30 s from now: it was restarted.
    now += Duration::from_secs(31);
    s.handle_timeout(now);
    assert_eq!(s.tcp_state(h), Ok(State::TimeWait));
    while let Some(at) = s.poll_timeout() {
        now = at;
        s.handle_timeout(now);
    }
    assert_eq!(now, end);
    // The timer frees it: the handle, the port table's entry, the socket.
    assert_eq!(s.tcp_state(h), Err(SocketError::InvalidHandle));
    assert_eq!(s.socket_count(), 1);
    s.handle_frame(now, &frame(IRS + 2, Some(iss + 2), TcpFlags::ACK, None));
    assert_eq!(
        sent(&mut s, now),
        [Out {
            seq: iss + 2,
            ack: None,
            flags: TcpFlags::RST,
            ts: None,
        }],
        "no connection answers any more"
    );
}

//= https://www.rfc-editor.org/rfc/rfc1337#section-3
//= type=test
//# (F1) Ignore RST segments in TIME-WAIT state.
#[test]
fn a_reset_is_ignored_with_rfc1337() {
    let Script {
        mut s, h, iss, now, ..
    } = server_in_time_wait(true);
    s.handle_frame(now, &frame(IRS + 2, Some(iss + 2), TcpFlags::RST, None));
    assert!(sent(&mut s, now).is_empty());
    assert_eq!(s.tcp_state(h), Ok(State::TimeWait));
    assert!(s.is_compact_time_wait(h));
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
//= type=test
//# TIME-WAIT STATE
//#    If the RST bit is set, then enter the CLOSED state, delete the
//#    TCB, and return.
#[test]
fn a_reset_ends_it_without_rfc1337() {
    let Script {
        mut s, h, iss, now, ..
    } = server_in_time_wait(false);
    // Not exactly at RCV.NXT: a challenge ACK (RFC 5961 3.2), and it stays.
    s.handle_frame(now, &frame(IRS + 3, Some(iss + 2), TcpFlags::RST, None));
    assert_eq!(sent(&mut s, now).len(), 1);
    assert_eq!(s.tcp_state(h), Ok(State::TimeWait));
    s.handle_frame(now, &frame(IRS + 2, Some(iss + 2), TcpFlags::RST, None));
    assert!(sent(&mut s, now).is_empty());
    assert_eq!(s.tcp_state(h), Err(SocketError::InvalidHandle));
    assert_eq!(s.socket_count(), 1);
}

//= https://www.rfc-editor.org/rfc/rfc6191#section-2
//= type=test
//# Otherwise, silently drop the incoming SYN segment, thus leaving
//# the previous incarnation of the connection in the TIME-WAIT
//# state.
#[test]
fn a_new_syn_reopens_the_tuple_and_an_old_one_does_not() {
    let Script {
        mut s,
        h,
        ts_offset,
        mut now,
        ..
    } = server_in_time_wait(true);
    now += Duration::from_secs(1);
    // An older timestamp: PAWS rejects it; Linux answers with an ACK.
    s.handle_frame(
        now,
        &frame(IRS + 100_000, None, TcpFlags::SYN, Some((50, 0))),
    );
    let ack = sent(&mut s, now);
    assert_eq!(ack.len(), 1);
    assert_eq!(ack[0].flags, TcpFlags::ACK);
    assert_eq!(
        ack[0].ts,
        Some((ts_offset + now.total_millis() as u32, 120))
    );
    assert!(s.is_compact_time_wait(h));
    // A higher sequence number and a newer timestamp: a new incarnation.
    s.handle_frame(
        now,
        &frame(IRS + 100_000, None, TcpFlags::SYN, Some((200, 0))),
    );
    let syn_ack = sent(&mut s, now);
    assert_eq!(syn_ack.len(), 1);
    assert_eq!(syn_ack[0].flags, TcpFlags::SYN | TcpFlags::ACK);
    assert_eq!(syn_ack[0].ack, Some(IRS + 100_001));
    assert_eq!(s.tcp_state(h), Err(SocketError::InvalidHandle));
    // The listener and the new connection.
    assert_eq!(s.socket_count(), 2);
}

/// The client side: `tcp_connect` takes over a compact TIME-WAIT's tuple
/// once it is a second old (Linux `tcp_tw_reuse` with timestamps).
#[test]
fn tcp_connect_reuses_a_compact_time_wait() {
    let mut p = super::two_stacks(crate::testing::Faults {
        delay: Duration::from_millis(2),
        ..crate::testing::Faults::default()
    });
    p.a = Stack::new(crate::config::StackConfig {
        ephemeral_ports: 40000..=40000,
        ..config(vec![A4], 1)
    });
    let l = p.b.tcp_listen(SocketAddr::new(B4, 80), 4).unwrap();
    let peer = SocketAddr::new(B4, 80);
    let c = p.a.tcp_connect(p.now, peer, None).unwrap();
    let mut server = None;
    p.run_until(|p| {
        server = server.or_else(|| super::accept(&mut p.b, l));
        server.is_some()
    })
    .unwrap();
    super::close_both(&mut p, c, server.unwrap().0);
    assert!(p.a.is_compact_time_wait(c));
    assert_eq!(
        p.a.tcp_connect(p.now, peer, None),
        Err(SocketError::AddrNotAvailable)
    );
    p.now += Duration::from_secs(1);
    let again = p.a.tcp_connect(p.now, peer, None).unwrap();
    assert_eq!(p.a.local_addr(again).unwrap().port(), 40000);
    assert_eq!(p.a.stats().time_wait_reused, 1);
    assert_eq!(p.a.tcp_state(c), Err(SocketError::InvalidHandle));
    p.run_until(|p| p.a.tcp_state(again).unwrap() == State::Established)
        .unwrap();
}
