//! The test language: [`Seg`] describes a segment in plain numbers, the
//! [`Harness`] injects and expects them at explicit virtual times.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::tcp::config::TcpConfig;
use crate::tcp::segment::Segment;
use crate::tcp::seq::SeqNum;
use crate::tcp::{Connection, Outcome, State};
use crate::time::{Duration, Instant};
use crate::wire::tcp_option::MAX_SACK_BLOCKS;
use crate::wire::{ChecksumCaps, TcpFlags as Flags, TcpPacket, TcpRepr};

/// berth's side.
pub(super) const LOCAL: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2)), 80);
/// The scripted peer.
pub(super) const REMOTE: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)), 40000);

/// Our ISN in the fixtures.
pub(super) const ISS: u32 = 5000;
/// The peer's ISN in the fixtures.
pub(super) const IRS: u32 = 1000;
/// The receive buffer of the fixtures: it fits the unscaled window field.
pub(super) const RECV_BUF: usize = 32768;

/// A segment in plain numbers. ACK is set exactly when `ack` is `Some`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Seg {
    pub(super) seq: u32,
    pub(super) ack: Option<u32>,
    /// Control bits other than ACK.
    pub(super) flags: Flags,
    pub(super) win: u16,
    pub(super) mss: Option<u16>,
    pub(super) ws: Option<u8>,
    pub(super) sack_perm: bool,
    pub(super) sack: Vec<(u32, u32)>,
    pub(super) ts: Option<(u32, u32)>,
    pub(super) data: Vec<u8>,
}

/// The template every scripted segment starts from (`..seg()`).
pub(super) fn seg() -> Seg {
    Seg {
        seq: 0,
        ack: None,
        flags: Flags::empty(),
        win: 0,
        mss: None,
        ws: None,
        sack_perm: false,
        sack: Vec::new(),
        ts: None,
        data: Vec::new(),
    }
}

impl Seg {
    fn to_bytes(&self, src: SocketAddr, dst: SocketAddr) -> Vec<u8> {
        let mut sack_ranges = [None; MAX_SACK_BLOCKS];
        for (out, &b) in sack_ranges.iter_mut().zip(&self.sack) {
            *out = Some(b);
        }
        let repr = TcpRepr {
            src_port: src.port(),
            dst_port: dst.port(),
            seq_number: self.seq,
            ack_number: self.ack,
            flags: self.flags,
            window_len: self.win,
            urgent_pointer: 0,
            max_seg_size: self.mss,
            window_scale: self.ws,
            sack_permitted: self.sack_perm,
            sack_ranges,
            timestamp: self.ts,
            payload: &self.data,
        };
        let mut buf = vec![0; repr.buffer_len()];
        repr.emit(
            &mut TcpPacket::new_unchecked(&mut buf[..]),
            src.ip(),
            dst.ip(),
            ChecksumCaps::FULL,
        );
        buf
    }

    fn from_repr(repr: &TcpRepr<'_>) -> Self {
        Self {
            seq: repr.seq_number,
            ack: repr.ack_number,
            flags: repr.flags.difference(Flags::ACK),
            win: repr.window_len,
            mss: repr.max_seg_size,
            ws: repr.window_scale,
            sack_perm: repr.sack_permitted,
            sack: repr.sack_ranges.iter().flatten().copied().collect(),
            ts: repr.timestamp,
            data: repr.payload.to_vec(),
        }
    }
}

/// Parses bytes `poll_transmit` wrote, verifying the checksum.
pub(super) fn parse_out(bytes: &[u8], src: SocketAddr, dst: SocketAddr) -> Seg {
    let packet = TcpPacket::new_checked(bytes).expect("a whole TCP header");
    let repr =
        TcpRepr::parse(&packet, src.ip(), dst.ip(), ChecksumCaps::FULL).expect("a valid segment");
    Seg::from_repr(&repr)
}

/// Settings with every option off, so the fixtures' segments stay short.
pub(super) fn plain_config() -> TcpConfig {
    TcpConfig {
        recv_buffer: RECV_BUF,
        send_buffer: 64 * 1024,
        // Fixed sizes: the scripts count windows exactly (tuning.rs grows
        // them).
        recv_buffer_max: 0,
        send_buffer_max: 0,
        window_scaling: false,
        timestamps: false,
        sack: false,
        // The scripts time retransmissions by RFC 6298; tail loss probes
        // have their own (tlp.rs).
        tlp: false,
        ..TcpConfig::default()
    }
}

/// One connection under test and the virtual clock.
pub(super) struct Harness {
    pub(super) conn: Connection,
    pub(super) now: Instant,
    /// The room `poll_transmit` gets (MTU less the IP header).
    pub(super) room: usize,
}

impl Harness {
    pub(super) fn new(conn: Connection) -> Self {
        Self {
            conn,
            now: Instant::ZERO,
            room: 1480,
        }
    }

    /// Passive open with `cfg`: the peer's SYN `syn` arrives at a listener,
    /// which makes the connection (nothing sent yet).
    pub(super) fn accept(cfg: TcpConfig, syn: Seg) -> Self {
        Self::accept_with_iss(cfg, syn, ISS)
    }

    /// [`Harness::accept`] with our ISN `iss`.
    pub(super) fn accept_with_iss(cfg: TcpConfig, syn: Seg, iss: u32) -> Self {
        let bytes = syn.to_bytes(REMOTE, LOCAL);
        let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
        let repr = TcpRepr::parse(&packet, REMOTE.ip(), LOCAL.ip(), ChecksumCaps::FULL).unwrap();
        let conn = Connection::accept(
            Instant::ZERO,
            cfg,
            LOCAL,
            REMOTE,
            &Segment::from_repr(&repr),
            SeqNum::new(iss),
            0,
        );
        Self::new(conn)
    }

    /// Active open with `cfg` (nothing sent yet).
    pub(super) fn connect(cfg: TcpConfig) -> Self {
        Self::new(Connection::connect(
            Instant::ZERO,
            cfg,
            LOCAL,
            REMOTE,
            SeqNum::new(ISS),
            0,
        ))
    }

    /// The peer sends `s` now.
    pub(super) fn inject(&mut self, s: Seg) -> Outcome {
        let bytes = s.to_bytes(REMOTE, LOCAL);
        let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
        let repr = TcpRepr::parse(&packet, REMOTE.ip(), LOCAL.ip(), ChecksumCaps::FULL).unwrap();
        self.conn.on_segment(self.now, &Segment::from_repr(&repr))
    }

    /// The next segment berth sends now, if any.
    pub(super) fn poll(&mut self) -> Option<Seg> {
        let mut buf = vec![0; self.room];
        let n = self.conn.poll_transmit(self.now, &mut buf)?;
        Some(parse_out(&buf[..n], LOCAL, REMOTE))
    }

    /// Berth sends exactly `s` next.
    #[track_caller]
    pub(super) fn expect(&mut self, s: Seg) {
        assert_eq!(self.poll(), Some(s), "at {}", self.now);
    }

    /// Berth sends nothing now.
    #[track_caller]
    pub(super) fn expect_none(&mut self) {
        assert_eq!(self.poll(), None, "at {}", self.now);
    }

    /// Moves the clock forward by `ms` milliseconds, running timers that
    /// fall due on the way (output is not polled: expect it after).
    pub(super) fn advance(&mut self, ms: u64) {
        let target = self.now + Duration::from_millis(ms);
        while let Some(t) = self.conn.poll_at() {
            if t > target {
                break;
            }
            self.now = self.now.max(t);
            self.conn.on_timeout(self.now);
        }
        self.now = target;
    }

    /// Jumps straight to the next deadline and runs it; returns how long
    /// that was, in milliseconds.
    pub(super) fn advance_to_timer(&mut self) -> u64 {
        let t = self.conn.poll_at().expect("a timer is running");
        let waited = t.saturating_duration_since(self.now);
        self.now = self.now.max(t);
        self.conn.on_timeout(self.now);
        waited.as_millis() as u64
    }

    pub(super) fn state(&self) -> State {
        self.conn.state()
    }

    /// The application sends `data`; all of it must fit.
    #[track_caller]
    pub(super) fn send(&mut self, data: &[u8]) {
        assert_eq!(self.conn.send(data), Ok(data.len()));
    }

    /// The application reads everything ready.
    pub(super) fn read_all(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0; 4096];
        while let Ok(n @ 1..) = self.conn.recv(&mut buf) {
            out.extend_from_slice(&buf[..n]);
        }
        out
    }
}

/// The SYN of the fixtures' peer: MSS 1460, window 8192, no other options.
pub(super) fn peer_syn() -> Seg {
    Seg {
        seq: IRS,
        flags: Flags::SYN,
        win: 8192,
        mss: Some(1460),
        ..seg()
    }
}

/// An ESTABLISHED connection opened passively with `plain_config()`; the
/// peer's next sequence number is IRS + 1 and ours ISS + 1. The peer's
/// window is 8192.
pub(super) fn established() -> Harness {
    let mut h = Harness::accept(plain_config(), peer_syn());
    h.expect(Seg {
        seq: ISS,
        ack: Some(IRS + 1),
        flags: Flags::SYN,
        win: RECV_BUF as u16,
        mss: Some(1460),
        ..seg()
    });
    h.inject(Seg {
        seq: IRS + 1,
        ack: Some(ISS + 1),
        win: 8192,
        ..seg()
    });
    assert_eq!(h.state(), State::Established);
    h.expect_none();
    h
}

/// A pure ACK from berth.
pub(super) fn our_ack(seq: u32, ack: u32) -> Seg {
    Seg {
        seq,
        ack: Some(ack),
        win: RECV_BUF as u16,
        ..seg()
    }
}

/// Data from the peer.
pub(super) fn peer_data(seq: u32, data: &[u8]) -> Seg {
    Seg {
        seq,
        ack: Some(ISS + 1),
        flags: Flags::PSH,
        win: 8192,
        data: data.to_vec(),
        ..seg()
    }
}

/// A pure ACK from the peer.
pub(super) fn peer_ack(ack: u32) -> Seg {
    Seg {
        seq: IRS + 1,
        ack: Some(ack),
        win: 8192,
        ..seg()
    }
}

/// An ESTABLISHED connection opened passively with `cfg` (the peer offers
/// only MSS 1460 and a window of 8192), at t = `rtt_ms`: the handshake gave
/// one RTT sample of that size.
pub(super) fn established_with(cfg: TcpConfig, rtt_ms: u64) -> Harness {
    let mut h = Harness::accept(cfg, peer_syn());
    assert!(h.poll().is_some_and(|s| s.flags == Flags::SYN));
    h.advance(rtt_ms);
    h.inject(peer_ack(ISS + 1));
    assert_eq!(h.state(), State::Established);
    h.expect_none();
    h
}
