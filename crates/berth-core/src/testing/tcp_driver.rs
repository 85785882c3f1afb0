//! A driver for property tests and fuzzing of one TCP connection: an opened
//! connection, then a list of [`Action`]s (segments with arbitrary fields,
//! time advances, application calls), with invariants checked after every
//! step:
//!
//! - nothing panics;
//! - every `poll_transmit` burst ends (at most [`MAX_BURST`] segments);
//! - when `transmit_done` says nothing is due, `poll_transmit` sends
//!   nothing (the stack takes the connection off its transmit queue on
//!   that word);
//! - every segment out parses, with a valid checksum and the right ports;
//! - after `on_timeout(now)` no timer is still due at `now` (a driver
//!   stepping to `poll_at` always makes progress);
//! - the right edge of the window we advertise never moves left (RFC 9293
//!   3.8.6, SHLD-14) by more than the window scale's granularity (RFC 7323
//!   2.4), and never lies further past the end of the receive buffer than
//!   that granularity; we never send data past the right edge of any window
//!   the peer offered (3.8.6.1);
//! - the bytes delivered to the application are a prefix of the peer's
//!   stream: every payload the driver injects is cut from one stream
//!   ([`stream_byte`]), so what `recv` returns must be that stream from
//!   IRS + 1 on, in order, with nothing skipped; end of stream comes only
//!   where the peer sent a FIN;
//! - a CLOSED connection runs no timers.
//!
//! The property tests generate [`Action`]s with proptest; the fuzz target
//! decodes them from bytes with [`Decoder`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::tcp::segment::{MAX_SACK_BLOCKS, Segment};
use crate::tcp::seq::{SeqNum, UnscaledWindowSize};
use crate::tcp::{ConnError, Connection, RecvError, State};
use crate::tcp::{Keepalive, TcpConfig};
use crate::time::{Duration, Instant};
use crate::wire::{ChecksumCaps, TcpFlags, TcpPacket, TcpRepr};

/// The connection's address.
pub const LOCAL: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2)), 80);
/// The peer's address.
pub const REMOTE: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)), 40000);
/// The most segments one `poll_transmit` burst may produce.
pub const MAX_BURST: usize = 4096;
/// The most timer expiries one [`Action::Advance`] may run.
pub const MAX_TIMER_RUNS: usize = 20_000;
/// The longest payload an injected segment carries.
pub const MAX_PAYLOAD: u16 = 2000;

/// The peer's octet at sequence number `seq`.
pub fn stream_byte(seq: u32) -> u8 {
    (seq.wrapping_mul(0x9E37_79B1) >> 24) as u8 ^ seq as u8
}

/// What a number in an injected segment is relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Num {
    /// The ACK field of the last segment the connection sent (its RCV.NXT).
    RcvNxt(i32),
    /// The highest sequence number the connection has sent, plus one.
    SndMax(i32),
    /// The last SEG.ACK the driver sent that the connection would take.
    SndUna(i32),
    /// A raw value.
    Raw(u32),
}

/// A segment from the peer, with every field chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegSpec {
    /// SEG.SEQ.
    pub seq: Num,
    /// SEG.ACK; the ACK bit is set exactly when present.
    pub ack: Option<Num>,
    /// Other control bits (the ACK bit here is ignored).
    pub flags: u8,
    /// The window field.
    pub wnd: u16,
    /// The MSS option.
    pub mss: Option<u16>,
    /// The Window Scale option.
    pub ws: Option<u8>,
    /// SACK-Permitted.
    pub sack_perm: bool,
    /// SACK blocks (at most four are used).
    pub sack: Vec<(Num, Num)>,
    /// Timestamps: TSval as an offset from the peer's clock, and TSecr
    /// (`None` echoes the connection's last TSval).
    pub ts: Option<(i32, Option<u32>)>,
    /// Payload length (cut from the peer's stream at SEG.SEQ).
    pub len: u16,
}

/// One step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The peer's segment arrives.
    Segment(SegSpec),
    /// Time passes (milliseconds); due timers run on the way.
    Advance(u32),
    /// The application sends this many bytes.
    Send(u16),
    /// The application reads up to this many bytes.
    Recv(u16),
    /// `shutdown_write`.
    Shutdown,
    /// `close`.
    Close,
    /// `abort`.
    Abort,
    /// `on_path_mtu` with this MSS.
    PathMtu(u16),
    /// `on_icmp_unreachable`.
    IcmpUnreachable,
    /// `set_nodelay`.
    NoDelay(bool),
    /// `set_keepalive` (on with short intervals, or off).
    Keepalive(bool),
    /// `set_cork`.
    Cork(bool),
}

/// How the connection is opened before the actions run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    /// Passive (accept) or active (connect) open.
    pub passive: bool,
    /// Our ISN.
    pub iss: u32,
    /// The peer's ISN.
    pub irs: u32,
    /// Options the peer's SYN carries: Window Scale shift, SACK-Permitted,
    /// Timestamps, MSS.
    pub peer_ws: Option<u8>,
    /// SACK-Permitted from the peer.
    pub peer_sack: bool,
    /// Timestamps from the peer.
    pub peer_ts: bool,
    /// The peer's MSS option.
    pub peer_mss: Option<u16>,
    /// The peer's window in its SYN.
    pub peer_wnd: u16,
    /// Our receive buffer (above 64 KiB, our window is scaled).
    pub recv_buffer: u32,
    /// Congestion control: NewReno instead of CUBIC.
    pub newreno: bool,
    /// The receive buffer may grow to eight times `recv_buffer`.
    pub tuning: bool,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Segments the connection sent.
    pub segments_out: usize,
    /// Bytes delivered to the application.
    pub delivered: usize,
    /// Timer expiries run.
    pub timer_runs: usize,
}

struct Driver {
    conn: Connection,
    now: Instant,
    irs: u32,
    /// RCV.NXT as the connection's last ACK said.
    rcv_nxt: u32,
    snd_max: u32,
    snd_una: u32,
    /// The connection's last TSval.
    ts_val: u32,
    peer_ts_base: u32,
    /// The peer's window scale as we apply it (0 if not negotiated).
    peer_shift: u8,
    /// Our window scale (known from our SYN; applied if negotiated).
    our_shift: Option<u8>,
    negotiated_ws: bool,
    /// The rightmost edge of any window the peer offered.
    peer_edge: u32,
    /// The right edge of the window we last advertised.
    our_edge: Option<u32>,
    /// Our receive buffer's capacity.
    capacity: u32,
    delivered: usize,
    /// Sequence numbers of every FIN the peer sent.
    fins: std::collections::HashSet<u32>,
    report: Report,
    buf: Vec<u8>,
    payload: Vec<u8>,
}

fn rel(base: u32, delta: i32) -> u32 {
    base.wrapping_add_signed(delta)
}

impl Driver {
    fn num(&self, n: Num) -> u32 {
        match n {
            Num::RcvNxt(d) => rel(self.rcv_nxt, d),
            Num::SndMax(d) => rel(self.snd_max, d),
            Num::SndUna(d) => rel(self.snd_una, d),
            Num::Raw(v) => v,
        }
    }

    fn peer_ts(&self) -> u32 {
        (self.now.total_millis() as u32).wrapping_add(self.peer_ts_base)
    }

    /// Injects `spec`, its payload cut from the peer's stream.
    fn inject(&mut self, spec: &SegSpec) -> Result<(), String> {
        let seq = self.num(spec.seq);
        let ack = spec.ack.map(|a| self.num(a));
        let len = spec.len.min(MAX_PAYLOAD);
        self.payload.clear();
        self.payload
            .extend((0..u32::from(len)).map(|i| stream_byte(seq.wrapping_add(i))));
        let mut sack_blocks = [None; MAX_SACK_BLOCKS];
        for (out, &(l, r)) in sack_blocks.iter_mut().zip(&spec.sack) {
            *out = Some((SeqNum::new(self.num(l)), SeqNum::new(self.num(r))));
        }
        let flags = TcpFlags::from_bits(spec.flags).difference(TcpFlags::ACK);
        let flags = if ack.is_some() {
            flags | TcpFlags::ACK
        } else {
            flags
        };
        let seg = Segment {
            seq: SeqNum::new(seq),
            ack: ack.map(SeqNum::new),
            flags,
            wnd: UnscaledWindowSize::new(spec.wnd),
            mss: spec.mss,
            window_scale: spec.ws,
            sack_permitted: spec.sack_perm,
            sack_blocks,
            timestamp: spec
                .ts
                .map(|(d, ecr)| (rel(self.peer_ts(), d), ecr.unwrap_or(self.ts_val))),
            ce: false,
            payload: &self.payload,
        };
        // An ACK the connection may take (RFC 5961 5.2: not past SND.NXT,
        // not more than the largest window behind SND.UNA) may open the window.
        if let Some(a) = ack
            && !seg.rst()
            && !SeqNum::new(a).after(SeqNum::new(self.snd_max))
            && !SeqNum::new(a).before(SeqNum::new(self.snd_una.wrapping_sub(1 << 30)))
        {
            let shift = if seg.syn() { 0 } else { self.peer_shift };
            let edge = a.wrapping_add(u32::from(spec.wnd) << shift);
            if SeqNum::new(self.peer_edge).before(SeqNum::new(edge)) {
                self.peer_edge = edge;
            }
        }
        if seg.fin() {
            self.fins.insert(seq.wrapping_add(u32::from(len)));
        }
        self.conn.on_segment(self.now, &seg);
        if let Some(a) = ack
            && SeqNum::new(self.snd_una).before(SeqNum::new(a))
            && SeqNum::new(a).before_or_eq(SeqNum::new(self.snd_max))
        {
            self.snd_una = a;
        }
        self.drain()
    }

    /// Polls until nothing is left to send, checking every segment.
    fn drain(&mut self) -> Result<(), String> {
        for _ in 0..MAX_BURST {
            let done = self.conn.transmit_done();
            let Some(n) = self.conn.poll_transmit(self.now, &mut self.buf) else {
                let _ = self.conn.take_events();
                return self.check_delivery_state();
            };
            if done {
                return Err("transmit_done said nothing was due, yet a segment went".into());
            }
            let bytes = self.buf.get(..n).ok_or("length past the buffer")?;
            let packet =
                TcpPacket::new_checked(bytes).map_err(|e| format!("unparsable output: {e:?}"))?;
            let repr = TcpRepr::parse(&packet, LOCAL.ip(), REMOTE.ip(), ChecksumCaps::FULL)
                .map_err(|e| format!("invalid output segment: {e:?}"))?;
            if repr.src_port != LOCAL.port() || repr.dst_port != REMOTE.port() {
                return Err(format!("wrong ports: {repr:?}"));
            }
            if repr.ack_number.is_none() && !repr.flags.syn() && !repr.flags.rst() {
                return Err(format!("a segment without ACK: {repr:?}"));
            }
            self.report.segments_out += 1;
            let len = u32::try_from(repr.payload.len()).unwrap_or(u32::MAX)
                + u32::from(repr.flags.syn())
                + u32::from(repr.flags.fin());
            let end = repr.seq_number.wrapping_add(len);
            // No holes in what we send: a segment starts at or below SND.MAX.
            // (Keepalive and window probes sit one below SND.UNA.)
            if len > 0
                && !repr.flags.rst()
                && SeqNum::new(self.snd_max).before(SeqNum::new(repr.seq_number))
            {
                return Err(format!(
                    "a segment starts past SND.MAX {}: {repr:?}",
                    self.snd_max
                ));
            }
            // RCV.NXT never moves back.
            if let Some(a) = repr.ack_number
                && !repr.flags.rst()
                && SeqNum::new(a).before(SeqNum::new(self.rcv_nxt))
            {
                return Err(format!(
                    "our ACK went back from {} to {a}: {repr:?}",
                    self.rcv_nxt
                ));
            }
            if !repr.flags.rst() && SeqNum::new(self.snd_max).before(SeqNum::new(end)) {
                self.snd_max = end;
            }
            if repr.flags.syn() {
                self.our_shift = Some(repr.window_scale.unwrap_or(0));
            }
            if let Some(a) = repr.ack_number
                && !repr.flags.rst()
            {
                self.rcv_nxt = a;
                let shift = match self.our_shift {
                    Some(s) if self.negotiated_ws && !repr.flags.syn() => s,
                    _ => 0,
                };
                let edge = a.wrapping_add(u32::from(repr.window_len) << shift);
                let slack = (1u32 << shift) - 1;
                if let Some(prev) = self.our_edge
                    && SeqNum::new(edge).before(SeqNum::new(prev.wrapping_sub(slack)))
                {
                    return Err(format!(
                        "our window's right edge moved left from {prev} to {edge}: {repr:?}"
                    ));
                }
                // RCV.NXT + free space = IRS + 1 + bytes read + capacity (+1
                // for a FIN), and rounding the held window up may add up to
                // the ring's slack (an eighth of the buffer and one unit).
                let buffer_end = self
                    .irs
                    .wrapping_add(2)
                    .wrapping_add(self.delivered as u32)
                    .wrapping_add(self.capacity)
                    .wrapping_add(self.capacity / 8)
                    .wrapping_add(slack + 1);
                if !repr.flags.syn() && SeqNum::new(buffer_end).before(SeqNum::new(edge)) {
                    return Err(format!(
                        "our window's right edge {edge} is past the buffer's end {buffer_end}: {repr:?}"
                    ));
                }
                self.our_edge = Some(edge);
            }
            let data_end = repr
                .seq_number
                .wrapping_add(u32::try_from(repr.payload.len()).unwrap_or(u32::MAX));
            if !repr.payload.is_empty() && SeqNum::new(self.peer_edge).before(SeqNum::new(data_end))
            {
                return Err(format!(
                    "data past the peer's window (right edge {}): {repr:?}",
                    self.peer_edge
                ));
            }
            if let Some((val, _)) = repr.timestamp {
                self.ts_val = val;
            }
        }
        Err(format!(
            "poll_transmit produced more than {MAX_BURST} segments in one burst"
        ))
    }

    fn check_delivery_state(&self) -> Result<(), String> {
        if self.conn.state() == State::Closed && self.conn.poll_at().is_some() {
            return Err("a CLOSED connection still runs a timer".into());
        }
        if self.conn.recv_queue() > 1 << 20 {
            return Err("receive queue larger than any buffer".into());
        }
        Ok(())
    }

    fn recv(&mut self, max: u16) -> Result<(), String> {
        let mut buf = vec![0u8; usize::from(max)];
        match self.conn.recv(&mut buf) {
            Ok(n) => {
                for (i, &b) in buf.iter().take(n).enumerate() {
                    let k = self.delivered + i;
                    let seq = self.irs.wrapping_add(1).wrapping_add(k as u32);
                    if b != stream_byte(seq) {
                        return Err(format!(
                            "delivered byte {k} is {b:#04x}, the peer sent {:#04x} there",
                            stream_byte(seq)
                        ));
                    }
                }
                self.delivered += n;
                self.report.delivered = self.delivered;
                Ok(())
            }
            Err(RecvError::Finished) => {
                let at = self.irs.wrapping_add(1).wrapping_add(self.delivered as u32);
                if self.fins.contains(&at) {
                    Ok(())
                } else {
                    Err(format!(
                        "end of stream after {} bytes, but the peer sent no FIN at {at}",
                        self.delivered
                    ))
                }
            }
            Err(RecvError::Failed(_)) => Ok(()),
        }
    }

    fn advance(&mut self, ms: u32) -> Result<(), String> {
        let target = self.now + Duration::from_millis(u64::from(ms));
        let mut runs = 0;
        while let Some(t) = self.conn.poll_at() {
            if t > target {
                break;
            }
            runs += 1;
            if runs > MAX_TIMER_RUNS {
                return Err(format!("more than {MAX_TIMER_RUNS} timer runs in {ms} ms"));
            }
            self.now = self.now.max(t);
            self.conn.on_timeout(self.now);
            if self.conn.poll_at().is_some_and(|next| next <= self.now) {
                return Err(format!(
                    "a timer is still due after on_timeout({}) in {}",
                    self.now,
                    self.conn.state()
                ));
            }
            self.drain()?;
        }
        self.report.timer_runs += runs;
        self.now = target;
        Ok(())
    }

    fn step(&mut self, action: &Action) -> Result<(), String> {
        match action {
            Action::Segment(spec) => return self.inject(spec),
            Action::Advance(ms) => return self.advance(*ms),
            Action::Send(n) => {
                let data = vec![0x5a; usize::from(*n)];
                let _ = self.conn.send(&data);
            }
            Action::Recv(n) => self.recv(*n)?,
            Action::Shutdown => self.conn.shutdown_write(),
            Action::Close => self.conn.close(self.now),
            Action::Abort => self.conn.abort(),
            Action::PathMtu(mss) => self.conn.on_path_mtu(*mss),
            Action::IcmpUnreachable => self.conn.on_icmp_unreachable(ConnError::HostUnreachable),
            Action::NoDelay(on) => self.conn.set_nodelay(*on),
            Action::Cork(on) => self.conn.set_cork(*on),
            Action::Keepalive(on) => {
                let ka = on.then_some(Keepalive {
                    idle: Duration::from_secs(10),
                    interval: Duration::from_secs(2),
                    count: 3,
                });
                self.conn.set_keepalive(self.now, ka);
            }
        }
        self.drain()
    }
}

/// The configuration the driver's connection uses.
pub fn config(setup: &Setup) -> TcpConfig {
    TcpConfig {
        recv_buffer: setup.recv_buffer.clamp(1, 1 << 20) as usize,
        recv_buffer_max: if setup.tuning {
            setup.recv_buffer.clamp(1, 1 << 20) as usize * 8
        } else {
            0
        },
        send_buffer: 16 * 1024,
        send_buffer_max: if setup.tuning { 64 * 1024 } else { 0 },
        congestion: if setup.newreno {
            crate::tcp::congestion::CongestionAlgorithm::NewReno
        } else {
            crate::tcp::congestion::CongestionAlgorithm::Cubic
        },
        ..TcpConfig::default()
    }
}

/// Opens a connection as `setup` says, runs `actions`, and checks the
/// invariants after each; the first violation is the error.
pub fn run(setup: &Setup, actions: &[Action]) -> Result<Report, String> {
    let cfg = config(setup);
    let peer_ts_base = setup.irs.rotate_left(7);
    let syn = Segment {
        seq: SeqNum::new(setup.irs),
        ack: None,
        flags: TcpFlags::SYN,
        wnd: UnscaledWindowSize::new(setup.peer_wnd),
        mss: setup.peer_mss,
        window_scale: setup.peer_ws,
        sack_permitted: setup.peer_sack,
        sack_blocks: [None; MAX_SACK_BLOCKS],
        timestamp: setup.peer_ts.then_some((peer_ts_base, 0)),
        ce: false,
        payload: &[],
    };
    let iss = SeqNum::new(setup.iss);
    let conn = if setup.passive {
        Connection::accept(Instant::ZERO, cfg, LOCAL, REMOTE, &syn, iss, 7)
    } else {
        Connection::connect(Instant::ZERO, cfg, LOCAL, REMOTE, iss, 7)
    };
    let mut d = Driver {
        conn,
        now: Instant::ZERO,
        irs: setup.irs,
        rcv_nxt: setup.irs.wrapping_add(1),
        snd_max: setup.iss,
        snd_una: setup.iss,
        ts_val: 0,
        peer_ts_base,
        peer_shift: setup.peer_ws.map_or(0, |w| w.min(14)),
        our_shift: None,
        negotiated_ws: setup.peer_ws.is_some(),
        // The SYN's window is never scaled; a passive open takes it from SND.UNA = ISS.
        peer_edge: setup.iss.wrapping_add(u32::from(setup.peer_wnd)),
        our_edge: None,
        capacity: cfg.recv_buffer.max(cfg.recv_buffer_max) as u32,
        delivered: 0,
        fins: std::collections::HashSet::new(),
        report: Report::default(),
        buf: vec![0; 1480],
        payload: Vec::with_capacity(usize::from(MAX_PAYLOAD)),
    };
    d.drain()?;
    // The peer completes the handshake: its SYN-ACK (active) or ACK (passive).
    let (flags, seq) = if setup.passive {
        (TcpFlags::ACK, setup.irs.wrapping_add(1))
    } else {
        (TcpFlags::SYN | TcpFlags::ACK, setup.irs)
    };
    let ack = SeqNum::new(setup.iss.wrapping_add(1));
    let second = Segment {
        seq: SeqNum::new(seq),
        ack: Some(ack),
        flags,
        timestamp: setup.peer_ts.then_some((peer_ts_base, d.ts_val)),
        wnd: if setup.passive {
            UnscaledWindowSize::new(setup.peer_wnd >> setup.peer_ws.unwrap_or(0).min(14))
        } else {
            UnscaledWindowSize::new(setup.peer_wnd)
        },
        ..if setup.passive {
            Segment {
                mss: None,
                window_scale: None,
                sack_permitted: false,
                ..syn
            }
        } else {
            syn
        }
    };
    d.conn.on_segment(d.now, &second);
    let shift = if setup.passive { d.peer_shift } else { 0 };
    let edge = ack.get().wrapping_add(u32::from(second.wnd.get()) << shift);
    if SeqNum::new(d.peer_edge).before(SeqNum::new(edge)) {
        d.peer_edge = edge;
    }
    d.snd_una = ack.get();
    d.drain()?;
    if d.conn.state() != State::Established {
        return Err(format!("handshake ended in {}", d.conn.state()));
    }
    for action in actions {
        d.step(action)?;
    }
    // Whatever is left: read it all.
    d.recv(u16::MAX)?;
    Ok(d.report)
}

/// Reads fuzz bytes as a setup and actions; bytes that run out read as 0.
#[derive(Debug)]
pub struct Decoder<'a> {
    data: &'a [u8],
}

impl<'a> Decoder<'a> {
    /// A decoder over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    fn num(&mut self) -> Num {
        let sel = self.u8();
        // Mostly small offsets, sometimes up to +-2^15, sometimes anything.
        let delta = if sel & 0x80 == 0 {
            i32::from(self.u8() as i8)
        } else {
            i32::from(self.u16() as i16)
        };
        match sel & 3 {
            0 => Num::RcvNxt(delta),
            1 => Num::SndMax(delta),
            2 => Num::SndUna(delta),
            _ => Num::Raw(self.u32()),
        }
    }

    fn seg(&mut self) -> SegSpec {
        let shape = self.u8();
        let seq = self.num();
        let ack = (shape & 1 == 0).then(|| self.num());
        let flags = self.u8();
        // Mostly plain ACK/PSH/FIN segments; raw flags a quarter of the time.
        let flags = if shape & 6 == 0 {
            flags
        } else {
            flags & (TcpFlags::FIN.bits() | TcpFlags::PSH.bits())
        };
        let wnd = self.u16();
        let opts = self.u8();
        let mss = (opts & 1 != 0).then(|| self.u16());
        let ws = (opts & 2 != 0).then(|| self.u8());
        let sack_perm = opts & 4 != 0;
        let nblocks = usize::from((opts >> 3) & 7).min(MAX_SACK_BLOCKS);
        let sack = (0..nblocks).map(|_| (self.num(), self.num())).collect();
        let ts = (opts & 0x40 != 0).then(|| {
            let d = i32::from(self.u8() as i8) * 1000;
            let ecr = self.bool().then(|| self.u32());
            (d, ecr)
        });
        let len = if shape & 8 != 0 {
            self.u16() % (MAX_PAYLOAD + 1)
        } else {
            0
        };
        SegSpec {
            seq,
            ack,
            flags,
            wnd,
            mss,
            ws,
            sack_perm,
            sack,
            ts,
            len,
        }
    }

    /// The setup: the first bytes.
    pub fn setup(&mut self) -> Setup {
        let bits = self.u8();
        Setup {
            passive: bits & 1 != 0,
            iss: self.u32(),
            irs: self.u32(),
            peer_ws: (bits & 2 != 0).then(|| self.u8() % 16),
            peer_sack: bits & 4 != 0,
            peer_ts: bits & 8 != 0,
            peer_mss: (bits & 16 != 0).then(|| self.u16()),
            peer_wnd: self.u16(),
            recv_buffer: u32::from(self.u16().max(1)) << (self.u8() % 6),
            newreno: bits & 32 != 0,
            tuning: bits & 64 != 0,
        }
    }

    /// The actions: the rest, at most `max` of them.
    pub fn actions(&mut self, max: usize) -> Vec<Action> {
        let mut out = Vec::new();
        while !self.is_empty() && out.len() < max {
            let op = self.u8();
            out.push(match op % 16 {
                0..=5 => Action::Segment(self.seg()),
                6 | 7 => Action::Advance(if op & 0x80 != 0 {
                    u32::from(self.u8()) * 5000
                } else {
                    u32::from(self.u16())
                }),
                8 => Action::Send(self.u16()),
                9 => Action::Recv(self.u16()),
                10 => Action::Shutdown,
                11 => Action::Close,
                12 if op & 0x30 == 0x30 => Action::Abort,
                12 => Action::Recv(u16::MAX),
                13 => Action::PathMtu(self.u16()),
                14 if op & 0x30 == 0x30 => Action::IcmpUnreachable,
                14 if op & 0x30 == 0x20 => Action::Cork(self.bool()),
                14 => Action::NoDelay(self.bool()),
                _ => Action::Keepalive(self.bool()),
            });
        }
        out
    }
}
