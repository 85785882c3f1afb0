//! One TCP connection (the TCB of RFC 9293 section 3.3.1) as a pure state
//! machine.
//!
//! Inputs: [`Connection::on_segment`] (a segment the port table routed here),
//! [`Connection::on_timeout`], and the application calls
//! ([`send`](Connection::send), [`recv`](Connection::recv),
//! [`shutdown_write`](Connection::shutdown_write), [`close`](Connection::close),
//! [`abort`](Connection::abort)). Outputs: [`Connection::poll_transmit`] writes
//! the next segment (header, payload and checksum) into the caller's buffer,
//! [`Connection::poll_at`] says when `on_timeout` is next due, and
//! [`Connection::take_events`] says which waiters to wake.
//!
//! The code is split by what it decides:
//!
//! | file | what |
//! | --- | --- |
//! | `input.rs` | SEGMENT ARRIVES (RFC 9293 3.10.7) step by step: SYN-SENT, then the sequence, RST, SYN and ACK checks of the synchronized states |
//! | `ack.rs` | the fifth step once the ACK is acceptable: SND.UNA, the send window, RTT, congestion control, SACK, loss detection |
//! | `receive.rs` | steps six to eight: the payload, delayed ACKs, the peer's FIN |
//! | `output.rs` | what to send: Nagle, SWS avoidance, congestion and flow control, loss recovery, probes, the window we offer |
//! | `timers.rs` | the deadlines: retransmission, loss probe, delayed ACK, persist, keepalive, FIN-WAIT-2 |
//! | `time_wait.rs` | TIME-WAIT: entering it, the segments it still takes, 4-tuple reuse |
//! | `time_wait_sock.rs` | a connection in TIME-WAIT no application holds, made small (Linux's `tcp_timewait_sock`) |
//! | `cookie.rs`, `icmp.rs` | a connection from a SYN cookie; ICMP errors checked against it |
//! | `sockopt.rs` | the options an application changes on an open connection: Nagle, cork, keepalive, traffic class |

mod ack;
mod cookie;
mod ecn;
mod icmp;
mod input;
mod log;
mod output;
mod receive;
mod recovery;
mod sockopt;
mod time_wait;
mod time_wait_sock;
mod timers;
mod tuning;

use std::net::SocketAddr;

use crate::time::{Duration, Instant};

use super::config::TcpConfig;
use super::congestion::{CongestionControl, Controller, new_controller};
use super::push_marks::PushMarks;
use super::rack::Rack;
use super::recv_buffer::RecvBuffer;
use super::rtt::{GRANULARITY, RttConfig, RttEstimator};
use super::segment::{Reset, Segment};
use super::send_buffer::SendBuffer;
use super::sent::SentQueue;
use super::seq::{SeqNum, WindowScale, WindowSize};
use super::state::State;
use super::stats::ConnStats;

pub(crate) use input::Outcome;
use log::conn_debug;
use recovery::{Recovery, Undo};
pub(crate) use time_wait_sock::TimeWaitSock;
use timers::Timers;
pub(crate) use tuning::MemoryPressure;

/// Why a connection failed. The facades map these to `io::ErrorKind`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub(crate) enum ConnError {
    /// The peer answered our SYN with a reset.
    #[error("connection refused")]
    Refused,
    /// The peer reset an open connection.
    #[error("connection reset by peer")]
    Reset,
    /// Retransmissions, SYN retries or keepalive probes ran out.
    #[error("connection timed out")]
    TimedOut,
    /// An ICMP error reported the peer unreachable (RFC 1122 4.2.3.9).
    #[error("host unreachable")]
    HostUnreachable,
    /// An ICMP error reported the peer's network unreachable.
    #[error("network unreachable")]
    NetworkUnreachable,
    /// An ICMP error reported the path administratively prohibited (ICMPv6
    /// codes 1, 5 and 6; Linux's EACCES).
    #[error("communication administratively prohibited")]
    Prohibited,
}

/// Why `send` refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub(crate) enum SendError {
    /// The sending direction was shut down (`shutdown(Write)` or `close`).
    #[error("sending side closed")]
    Closed,
    /// The connection failed.
    #[error(transparent)]
    Failed(#[from] ConnError),
}

/// Why `recv` returned no data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub(crate) enum RecvError {
    /// The peer closed its direction and every byte has been read.
    #[error("end of stream")]
    Finished,
    /// The connection failed.
    #[error(transparent)]
    Failed(#[from] ConnError),
}

/// Things that happened to a connection since the last `take_events`, for the
/// runtime to wake exactly the right waiters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Events(u8);

impl Events {
    /// Data, end of stream or an error is ready to read.
    pub(crate) const READABLE: Self = Self(1);
    /// Space to send opened up (or the sending side failed).
    pub(crate) const WRITABLE: Self = Self(2);
    /// The handshake completed.
    pub(crate) const CONNECTED: Self = Self(4);
    /// The connection reached CLOSED (or failed).
    pub(crate) const CLOSED: Self = Self(8);

    /// Whether every event of `other` is in `self`.
    pub(crate) const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    fn insert(&mut self, other: Self) {
        self.0 |= other.0;
    }
}

/// Segments owed to the peer, sent by the next `poll_transmit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Pending(u8);

impl Pending {
    /// An ACK (every segment we send carries it).
    const ACK: Self = Self(1);
    /// Our SYN, or SYN-ACK, (again).
    const SYN: Self = Self(2);
    /// A zero-window or keepalive probe.
    const PROBE: Self = Self(4);
    /// A tail loss probe (RFC 8985 7.3).
    const LOSS_PROBE: Self = Self(8);

    const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    fn insert(&mut self, other: Self) {
        self.0 |= other.0;
    }

    fn remove(&mut self, other: Self) {
        self.0 &= !other.0;
    }
}

/// Options agreed in the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Negotiated {
    /// The shift applied to windows the peer sends (its Window Scale option).
    snd_wscale: WindowScale,
    /// The shift applied to windows we send.
    rcv_wscale: WindowScale,
    /// Both sides sent SACK-Permitted.
    sack: bool,
    /// Both sides sent Timestamps.
    timestamps: bool,
}

/// A tail loss probe in flight (RFC 8985 7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tlp {
    /// SND.NXT just after the probe went out.
    end_seq: SeqNum,
    /// The probe resent data (rather than sending new data).
    is_retrans: bool,
    /// The flight when the probe went out: what a cut for the loss it
    /// repaired is reckoned from (after the ACK, the flight may be empty).
    flight: u32,
}

/// One TCP connection.
#[derive(Debug)]
pub(crate) struct Connection {
    cfg: TcpConfig,
    local: SocketAddr,
    remote: SocketAddr,
    state: State,
    /// Whether we opened actively (SYN-SENT) or from a listener.
    passive: bool,

    // Send sequence space (RFC 9293 3.3.1).
    iss: SeqNum,
    snd_una: SeqNum,
    /// The next sequence number to send: the highest sent plus one (it
    /// never moves back; retransmissions come from the sent queue).
    snd_nxt: SeqNum,
    snd_wnd: WindowSize,
    snd_wl1: SeqNum,
    snd_wl2: SeqNum,
    /// The ends of writes not yet acknowledged: the segment holding one
    /// carries PSH.
    push_marks: PushMarks,
    /// A write found the send buffer full (Linux's `SOCK_NOSPACE`): the
    /// next ACK that makes room raises `WRITABLE`. Room made while no
    /// writer wanted more is no news, as in Linux, whose
    /// `tcp_check_space` wakes writers only when the flag is set (in
    /// request/response traffic every ACK makes room).
    nospace: bool,
    /// The end of the last segment sent with PSH.
    pushed: SeqNum,
    /// The end of the last short segment sent (Linux `snd_sml`), for
    /// Minshall's variant of Nagle.
    snd_sml: SeqNum,
    /// Data queued before this point may go out short although the
    /// connection is corked: `TCP_NODELAY` was set meanwhile (Linux's
    /// `TCP_NAGLE_PUSH`, see `sockopt.rs`).
    cork_push: Option<SeqNum>,
    /// The largest window the peer has offered (RFC 5961 MAX.SND.WND, and the
    /// sender SWS rule of RFC 9293 3.8.6.2.1).
    max_snd_wnd: u32,
    /// The peer's MSS option, capped by path MTU: our SMSS.
    smss: u16,

    // Receive sequence space.
    irs: SeqNum,
    rcv_nxt: SeqNum,
    /// The right edge of the window we last advertised (never moves left).
    rcv_adv: SeqNum,

    opts: Negotiated,
    /// TS.Recent and the time it was recorded (RFC 7323 4.3, 5.5).
    ts_recent: Option<(u32, Instant)>,
    /// Added to our millisecond clock to form TSval (RFC 7323 5.4 suggests a
    /// random offset per connection).
    ts_offset: u32,

    send_buf: SendBuffer,
    /// The send buffer's current size (it grows with cwnd).
    snd_space: usize,
    recv_buf: RecvBuffer,
    /// The receive buffer's current size and what grows it.
    rcv_tuning: tuning::RcvTuning,
    /// What the stack says of its buffer memory.
    memory: MemoryPressure,
    /// ECN (RFC 3168).
    ecn: ecn::EcnState,
    /// The sequence number of our FIN, set when the application shuts down
    /// its sending side (no data can be queued after it, so it is fixed).
    our_fin: Option<SeqNum>,
    /// The application closed the socket entirely (an orphan, in Linux terms).
    closed_by_app: bool,
    /// The peer's FIN, seen at this sequence number, not yet reached in order.
    peer_fin: Option<SeqNum>,
    /// The peer's FIN has been received in order.
    peer_fin_received: bool,
    /// A duplicate the peer sent, to report first in our next ACK's SACK
    /// option (RFC 2883 D-SACK).
    dsack: Option<(SeqNum, SeqNum)>,

    rtt: RttEstimator,
    /// Timing our SYN (Karn: not once it is retransmitted): its end and
    /// send time. Data is timed from the sent queue.
    rtt_probe: Option<(SeqNum, Instant)>,
    cc: Controller,
    /// What was sent and not yet cumulatively acknowledged, with SACK,
    /// loss and retransmission marks.
    sent: SentQueue,
    /// RACK's state (RFC 8985).
    rack: Rack,
    /// The loss recovery (or ECN reduction) episode under way.
    recovery: Option<Recovery>,
    /// What undoing the last reduction needs.
    undo: Option<Undo>,
    /// The tail loss probe in flight, if any (RFC 8985 TLP.end_seq and
    /// TLP.is_retrans).
    tlp: Option<Tlp>,
    /// Duplicate ACKs since the last cumulative ACK.
    dup_acks: u32,
    /// Probes sent since the last ACK that told something new (see
    /// `arm_next_probe`).
    probes: u32,
    /// Without SACK: octets the duplicate ACKs say arrived beyond the hole
    /// (one segment each; Linux's `sacked_out` for Reno).
    reno_sacked: u32,

    timers: Timers,
    /// Consecutive retransmission timeouts (or SYN retransmissions).
    retries: u32,
    /// Segments owed at the next `poll_transmit`.
    pending: Pending,
    /// Full-sized segments received since our last ACK.
    unacked_segs: u32,
    /// The largest payload the peer has sent (at least 536, RFC 9293 3.7.1's
    /// default): what a full-sized segment is for the delayed-ACK rule.
    rcv_mss: usize,
    /// The split size of the segment `poll_transmit` just wrote, when it
    /// holds several (TSO).
    gso: Option<u16>,
    /// Remaining segments to acknowledge at once (Linux quick-ack mode).
    quickack: u32,
    /// A reset to send with the next `poll_transmit`: our abort, or the
    /// answer to an unacceptable segment.
    reset_to_send: Option<Reset>,
    /// When the last challenge or out-of-window ACK went out (RFC 5961 7).
    last_invalid_ack: Option<Instant>,
    /// When we last received a segment (keepalive, idle restart).
    last_recv: Instant,
    /// When we last sent data (idle restart of the congestion window).
    last_send: Instant,

    error: Option<ConnError>,
    /// The last ICMP error about the connection since the peer last
    /// acknowledged anything (RFC 1122 4.2.3.9's soft error).
    soft_error: Option<ConnError>,
    events: Events,
    stats: ConnStats,
}

/// Linux's quick-ack budget at the start of a connection (`TCP_MAX_QUICKACKS`).
const QUICKACKS: u32 = 16;

/// The receive ring holds the buffer and some slack: a scaled window field
/// is rounded up rather than take back what was promised (RFC 7323 2.4),
/// and every byte of the window the peer was shown must fit. While the
/// window is held (nothing read), each ACK can round the edge up by less
/// than one unit of granularity; with segments of at least 9 units (1448
/// bytes at Linux's shift of 7) that adds at most an eighth of the buffer
/// before the window closes. Past the slack the field is rounded down.
fn rcv_ring_capacity(buffer: usize, shift: WindowScale) -> usize {
    buffer
        .saturating_add(buffer / 8)
        .saturating_add(1 << shift.get())
}

impl Connection {
    fn new(
        now: Instant,
        cfg: TcpConfig,
        local: SocketAddr,
        remote: SocketAddr,
        iss: SeqNum,
        ts_offset: u32,
        state: State,
    ) -> Self {
        let recv_max = cfg.recv_buffer_max.max(cfg.recv_buffer);
        let rcv_wscale = cfg.window_scale();
        let recv_buf = RecvBuffer::new(rcv_ring_capacity(recv_max, rcv_wscale));
        // RFC 9293 3.7.1: without an MSS option the peer's MSS is 536 (IPv4)
        // or 1220 (IPv6); the handshake overrides this.
        let default_smss = if remote.is_ipv4() { 536 } else { 1220 };
        Self {
            cfg,
            local,
            remote,
            state,
            passive: state == State::SynReceived,
            iss,
            snd_una: iss,
            snd_nxt: iss,
            snd_wnd: WindowSize::ZERO,
            snd_wl1: SeqNum::new(0),
            snd_wl2: iss,
            snd_sml: iss,
            cork_push: None,
            push_marks: PushMarks::default(),
            nospace: false,
            pushed: iss,
            max_snd_wnd: 0,
            smss: default_smss,
            irs: SeqNum::new(0),
            rcv_nxt: SeqNum::new(0),
            rcv_adv: SeqNum::new(0),
            opts: Negotiated {
                snd_wscale: WindowScale::ZERO,
                rcv_wscale,
                sack: false,
                timestamps: false,
            },
            ts_recent: None,
            ts_offset,
            send_buf: SendBuffer::new(cfg.send_buffer_max.max(cfg.send_buffer)),
            snd_space: cfg.send_buffer,
            rcv_tuning: tuning::RcvTuning::new(cfg.recv_buffer, cfg.mss, now),
            memory: MemoryPressure::None,
            ecn: ecn::EcnState::default(),
            recv_buf,
            our_fin: None,
            closed_by_app: false,
            peer_fin: None,
            peer_fin_received: false,
            dsack: None,
            rtt: RttEstimator::new(RttConfig {
                initial_rto: cfg.rto_initial,
                min_rto: cfg.rto_min,
                max_rto: cfg.rto_max,
                granularity: GRANULARITY,
            }),
            rtt_probe: None,
            cc: new_controller(cfg.congestion, u32::from(default_smss), now),
            sent: SentQueue::new(),
            rack: Rack::new(),
            recovery: None,
            undo: None,
            tlp: None,
            dup_acks: 0,
            probes: 0,
            reno_sacked: 0,
            timers: Timers::default(),
            retries: 0,
            pending: Pending::SYN,
            unacked_segs: 0,
            rcv_mss: usize::from(cfg.mss.min(536)),
            gso: None,
            quickack: QUICKACKS,
            reset_to_send: None,
            last_invalid_ack: None,
            last_recv: now,
            last_send: now,
            error: None,
            soft_error: None,
            events: Events::default(),
            stats: ConnStats::default(),
        }
    }

    /// Active open: a connection in SYN-SENT whose SYN `poll_transmit` sends.
    ///
    /// `iss` comes from [`super::isn`] (RFC 6528); `ts_offset` is a random
    /// per-connection offset for our timestamps.
    pub(crate) fn connect(
        now: Instant,
        cfg: TcpConfig,
        local: SocketAddr,
        remote: SocketAddr,
        iss: SeqNum,
        ts_offset: u32,
    ) -> Self {
        let mut conn = Self::new(now, cfg, local, remote, iss, ts_offset, State::SynSent);
        conn.snd_nxt = iss;
        conn.update_soft_caps();
        conn
    }

    /// Passive open: a connection in SYN-RECEIVED made from the SYN a
    /// listener received; `poll_transmit` sends the SYN-ACK.
    pub(crate) fn accept(
        now: Instant,
        cfg: TcpConfig,
        local: SocketAddr,
        remote: SocketAddr,
        syn: &Segment<'_>,
        iss: SeqNum,
        ts_offset: u32,
    ) -> Self {
        let mut conn = Self::new(now, cfg, local, remote, iss, ts_offset, State::SynReceived);
        conn.stats.segs_in += 1;
        conn.take_syn_options(now, syn);
        conn.ecn_on_syn(syn);
        conn.update_soft_caps();
        conn.irs = syn.seq;
        conn.rcv_nxt = syn.seq + 1;
        conn.rcv_adv = conn.rcv_nxt;
        // The SYN's window is never scaled (RFC 7323 2.2).
        conn.snd_wnd = syn.wnd.into();
        conn.max_snd_wnd = conn.snd_wnd.get();
        conn.snd_wl1 = syn.seq;
        conn.snd_wl2 = iss;
        conn
    }

    /// Records what the peer's SYN offered and settles the options.
    fn take_syn_options(&mut self, now: Instant, syn: &Segment<'_>) {
        //= https://www.rfc-editor.org/rfc/rfc7323#section-2.3
        //# If a Window Scale option is received with a shift.cnt value larger
        //# than 14, the TCP SHOULD log the error but MUST use 14 instead of the
        //# specified value.
        match (self.cfg.window_scaling, syn.window_scale) {
            (true, Some(shift)) => self.opts.snd_wscale = WindowScale::from_option(shift),
            //= https://www.rfc-editor.org/rfc/rfc7323#section-2.3
            //# If a TCP receives a <SYN> segment containing a Window Scale option,
            //# it SHOULD send its own Window Scale option in the <SYN,ACK> segment.
            _ => {
                // Scaling is off unless both sides sent the option.
                self.opts.snd_wscale = WindowScale::ZERO;
                self.opts.rcv_wscale = WindowScale::ZERO;
            }
        }
        self.opts.sack = self.cfg.sack && syn.sack_permitted;
        self.opts.timestamps = self.cfg.timestamps && syn.timestamp.is_some();
        if self.opts.timestamps {
            self.ts_recent = syn.timestamp.map(|(val, _)| (val, now));
        }
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.7.1
        //# SendMSS is the MSS value received from the remote host, or the
        //# default 536 for IPv4 or 1220 for IPv6, if no MSS Option is received.
        if let Some(mss) = syn.mss {
            // A peer offering less than 64 bytes is hostile or broken; Linux
            // clamps to TCP_MIN_MSS (88). We clamp the same way.
            self.smss = mss.clamp(88, self.cfg.mss.max(88));
        }
        self.cc.set_mss(self.eff_mss());
    }

    /// The connection's state.
    pub(crate) fn state(&self) -> State {
        self.state
    }

    /// The local address.
    pub(crate) fn local(&self) -> SocketAddr {
        self.local
    }

    /// The peer's address.
    pub(crate) fn remote(&self) -> SocketAddr {
        self.remote
    }

    /// Counters.
    pub(crate) fn stats(&self) -> &ConnStats {
        &self.stats
    }

    /// The error that ended the connection, if one did.
    pub(crate) fn error(&self) -> Option<ConnError> {
        self.error
    }

    /// Whether the connection reached CLOSED and can be forgotten.
    pub(crate) fn is_closed(&self) -> bool {
        self.state == State::Closed && self.reset_to_send.is_none()
    }

    /// Events since the last call.
    pub(crate) fn take_events(&mut self) -> Events {
        core::mem::take(&mut self.events)
    }

    /// Drops the buffers' storage when both are empty, which they stay in
    /// TIME-WAIT once everything is read; returns whether it did.
    pub(crate) fn release_buffers(&mut self) -> bool {
        if !self.send_buf.is_empty()
            || self.recv_buf.readable_len() > 0
            || self.recv_buf.has_out_of_order()
        {
            return false;
        }
        self.send_buf = SendBuffer::new(self.send_buf.capacity());
        self.recv_buf = RecvBuffer::new(self.recv_buf.capacity());
        self.snd_space = self.cfg.send_buffer;
        self.update_soft_caps();
        true
    }

    /// Bytes ready to read.
    pub(crate) fn recv_queue(&self) -> usize {
        self.recv_buf.readable_len()
    }

    /// Bytes not yet acknowledged by the peer (sent or not).
    pub(crate) fn send_queue(&self) -> usize {
        self.send_buf.len()
    }

    /// Free space in the send queue.
    pub(crate) fn send_capacity(&self) -> usize {
        self.snd_space
            .saturating_sub(self.send_buf.len())
            .min(self.send_buf.free())
    }

    /// The send buffer's current size (it grows toward
    /// `TcpConfig::send_buffer_max` with the congestion window).
    pub(crate) fn send_buffer_size(&self) -> usize {
        self.snd_space
    }

    /// The receive buffer's current size (it grows toward
    /// `TcpConfig::recv_buffer_max` as the application keeps up).
    pub(crate) fn recv_buffer_size(&self) -> usize {
        self.rcv_tuning.space
    }

    /// The smoothed RTT, once measured.
    pub(crate) fn srtt(&self) -> Option<Duration> {
        self.rtt.srtt()
    }

    /// The current retransmission timeout.
    pub(crate) fn rto(&self) -> Duration {
        self.rtt.rto()
    }

    /// The congestion window, in bytes.
    pub(crate) fn cwnd(&self) -> usize {
        self.cc.cwnd() as usize
    }

    /// Bytes in flight: sent, less SACKed and lost, plus retransmitted
    /// (RFC 6675 pipe).
    pub(crate) fn in_flight_bytes(&self) -> usize {
        self.in_flight() as usize
    }

    /// The slow-start threshold, in bytes.
    pub(crate) fn ssthresh(&self) -> usize {
        self.cc.ssthresh() as usize
    }

    #[cfg(test)]
    /// The congestion control algorithm's name (`cubic`, `newreno`).
    pub(crate) fn congestion_algorithm(&self) -> &'static str {
        self.cc.name()
    }

    #[cfg(test)]
    /// Our send MSS.
    pub(crate) fn smss(&self) -> u16 {
        self.smss
    }

    /// The payload of a full-sized segment: SMSS less the options every
    /// segment carries (the timestamps, once negotiated). Congestion
    /// control counts in these, as Linux counts in `mss_cache`: a window of
    /// N segments is N full segments, never N segments and a runt.
    fn eff_mss(&self) -> u32 {
        let options = if self.opts.timestamps { 12 } else { 0 };
        u32::from(self.smss).saturating_sub(options).max(1)
    }

    /// Whether `recv` would return data, end of stream or an error.
    pub(crate) fn can_recv(&self) -> bool {
        self.recv_buf.readable_len() > 0 || self.peer_fin_received || self.error.is_some()
    }

    /// Whether `send` would accept data (or return an error).
    pub(crate) fn can_send(&self) -> bool {
        self.error.is_some()
            || !self.state.may_send()
            || self.our_fin.is_some()
            || self.send_capacity() > 0
    }

    /// Queues data for sending; returns how much was taken (0 when the send
    /// queue is full). Before the handshake completes, data is queued and
    /// sent once ESTABLISHED (RFC 9293 3.10.2).
    pub(crate) fn send(&mut self, data: &[u8]) -> Result<usize, SendError> {
        if let Some(err) = self.error {
            return Err(SendError::Failed(err));
        }
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.2
        //# Return "error: connection closing" and do not service request.
        if self.our_fin.is_some() || !self.state.may_send() {
            return Err(SendError::Closed);
        }
        let room = self.send_capacity();
        let n = self.send_buf.write(data.get(..room).unwrap_or(data));
        if n < data.len() {
            self.nospace = true;
        }
        if n > 0 {
            // The write's end: its last segment carries PSH (Linux
            // tcp_push marks the last skb of each write).
            let end = self.send_data_end();
            self.push_marks.push(end);
        }
        Ok(n)
    }

    /// Whether a segment of data `seq..end` carries PSH: it ends a write
    /// (one of the last few), or the queue, or a window's half has gone
    /// since the last PSH (Linux `forced_push`).
    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.9.1
    //# The sender of data can
    //# ensure that the data is delivered by setting the PSH bit
    fn push_flag(&mut self, seq: SeqNum, end: SeqNum) -> bool {
        if !seq.before(end) {
            return false;
        }
        let ends_write = self.push_marks.ends_in(seq, end);
        let forced = end.wrapping_offset_from(self.pushed) >= (self.max_snd_wnd / 2).max(1)
            && self.pushed.before(end);
        let push = ends_write || end == self.send_data_end() || forced;
        if push && self.pushed.before(end) {
            self.pushed = end;
        }
        push
    }

    /// Reads in-order data into `buf`. `Ok(0)` with a non-empty `buf` means
    /// nothing is ready yet; end of stream is `Err(RecvError::Finished)`.
    pub(crate) fn recv(&mut self, buf: &mut [u8]) -> Result<usize, RecvError> {
        let n = self.recv_buf.read(buf);
        if n > 0 {
            self.rcv_tuning.copied += n as u64;
            self.after_app_read();
            return Ok(n);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        if let Some(err) = self.error {
            return Err(RecvError::Failed(err));
        }
        if self.peer_fin_received {
            return Err(RecvError::Finished);
        }
        Ok(0)
    }

    /// Reads without a copy: `f` sees the in-order data as (up to) two
    /// slices, across the buffer's wrap, and returns how many bytes it
    /// used, which are consumed (at most what it saw). `Ok(0)` when `f`
    /// used nothing; with no data at all, what [`recv`](Self::recv) with a
    /// non-empty buffer returns (the end of stream, the error, or
    /// `Ok(0)`). A consumer that only counts (a discard service, Linux's
    /// `MSG_TRUNC` on TCP) touches no payload byte.
    pub(crate) fn recv_with(
        &mut self,
        f: impl FnOnce(&[u8], &[u8]) -> usize,
    ) -> Result<usize, RecvError> {
        let (a, b) = self.recv_buf.readable_slices();
        let seen = a.len() + b.len();
        if seen == 0 {
            return self.recv(&mut [0u8; 1]);
        }
        let used = f(a, b).min(seen);
        let n = self.recv_buf.consume(used);
        if n > 0 {
            self.rcv_tuning.copied += n as u64;
            self.after_app_read();
        }
        Ok(n)
    }

    /// Copies in-order data into `buf` without consuming it.
    pub(crate) fn peek(&self, buf: &mut [u8]) -> usize {
        self.recv_buf.peek(buf)
    }

    /// Shuts down the sending direction: a FIN follows the queued data
    /// (RFC 9293 3.10.4 CLOSE, for the half-close of `shutdown(Write)`).
    pub(crate) fn shutdown_write(&mut self) {
        match self.state {
            // No SYN has been answered: nothing to close gracefully. Linux
            // keeps the FIN for after the handshake; so do we.
            State::SynSent | State::SynReceived | State::Established | State::CloseWait
                if self.our_fin.is_none() =>
            {
                let len = u32::try_from(self.send_buf.len()).unwrap_or(u32::MAX);
                self.our_fin = Some(self.data_start() + len);
                //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.4
                //# ESTABLISHED STATE
                //#    Queue this until all preceding SENDs have been segmentized,
                //#    then form a FIN segment and send it.  In any case, enter
                //#    FIN-WAIT-1 state.
                if self.state == State::Established {
                    self.set_state(State::FinWait1);
                }
                //# CLOSE-WAIT STATE
                //#    Queue this request until all preceding SENDs have been
                //#    segmentized; then send a FIN segment, enter LAST-ACK state.
                if self.state == State::CloseWait {
                    self.set_state(State::LastAck);
                }
            }
            _ => {}
        }
    }

    /// The application closes the socket: shuts down sending, and resets the
    /// connection if received data was never read (RFC 9293 3.10.4 / RFC
    /// 2525 2.17, as Linux does) or if data arrives later.
    pub(crate) fn close(&mut self, now: Instant) {
        self.closed_by_app = true;
        if self.recv_buf.readable_len() > 0 {
            self.abort();
            return;
        }
        if self.state == State::SynSent {
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.4
            //# Delete the TCB and return "error: closing" responses to any
            //# queued SENDs, or RECEIVEs.
            self.enter_closed(None, "closed by the application");
            return;
        }
        self.shutdown_write();
        if self.state == State::FinWait2 {
            self.timers.close = Some(now + self.cfg.fin_wait_2_timeout);
        }
    }

    /// Aborts: sends a reset where the peer knows of the connection, and
    /// closes at once (RFC 9293 3.10.5 ABORT).
    pub(crate) fn abort(&mut self) {
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.5
        //# Send a reset segment:
        //#
        //# <SEQ=SND.NXT><CTL=RST>
        if matches!(
            self.state,
            State::SynReceived
                | State::Established
                | State::FinWait1
                | State::FinWait2
                | State::CloseWait
        ) {
            // Linux (tcp_send_active_reset) sets ACK too, and sends from
            // the highest sequence number sent (a reset from a retransmitted
            // sequence number falls left of what the peer takes: RFC 5961).
            self.reset_to_send = Some(Reset {
                seq: self.snd_nxt,
                ack: Some(self.rcv_nxt),
            });
        }
        self.enter_closed(None, "aborted by the application");
    }

    /// An ICMP error about this connection arrived (RFC 1122 4.2.3.9,
    /// RFC 5927), `error` as it reads to the application: it fails a
    /// connect at once (as Linux's tcp_v4_err does in SYN-SENT: a refused
    /// port is `Refused`, an unreachable host `HostUnreachable`); on an
    /// open connection it is only remembered, and becomes the error the
    /// connection ends with if it then times out (Linux `sk_err_soft`).
    pub(crate) fn on_icmp_unreachable(&mut self, error: ConnError) {
        if self.state == State::SynSent {
            self.enter_closed(Some(error), "ICMP unreachable: connect failed");
            return;
        }
        conn_debug!(self, state = %self.state, %error, "ICMP unreachable: soft error kept");
        //= https://www.rfc-editor.org/rfc/rfc1122#section-4.2.3.9
        //# Since these Unreachable messages indicate soft error
        //# conditions, TCP MUST NOT abort the connection, and it
        //# SHOULD make the information available to the
        //# application.
        self.soft_error = Some(error);
    }

    /// The error a connection that timed out ends with: the last ICMP
    /// error about it, if one came since the last acknowledgment, else
    /// `TimedOut` (Linux `tcp_write_err`).
    pub(super) fn timeout_error(&mut self) -> ConnError {
        self.soft_error.take().unwrap_or(ConnError::TimedOut)
    }

    /// The path MTU to the peer dropped (ICMP fragmentation-needed / packet
    /// too big, RFC 1191 / RFC 8201): lower the send MSS to fit
    /// `mtu - ip_header - 20`.
    pub(crate) fn on_path_mtu(&mut self, mss_for_mtu: u16) {
        let mss = mss_for_mtu.max(88);
        if mss < self.smss {
            conn_debug!(self, from = self.smss, to = mss, "path MTU lowered: MSS");
            self.smss = mss;
            self.cc.set_mss(self.eff_mss());
            //= https://www.rfc-editor.org/rfc/rfc1191#section-6.5
            //# TCP should also
            //# react to a reduction in the PMTU by retransmitting segments of the
            //# new size
            // What went out larger than the new size is lost (Linux
            // tcp_simple_retransmit): no congestion signal, so no cut; it
            // goes again under cwnd, at the new size.
            self.sent.mark_lost_longer_than(self.eff_mss());
            if self.sent.lost_bytes() > 0 && self.recovery.is_none() {
                self.enter_mtu_loss();
            }
            self.events.insert(Events::WRITABLE);
        }
    }

    fn after_app_read(&mut self) {
        // Window update (RFC 9293 3.8.6.2.2, Linux tcp_cleanup_rbuf): when
        // reading opens the window by at least two segments and doubles it,
        // tell the peer at once instead of waiting for its next segment.
        let offered = self.rcv_adv.wrapping_offset_from(self.rcv_nxt);
        let free = self.rcv_free();
        let mss = u32::from(self.cfg.mss);
        if self.state.may_recv() && free >= offered.saturating_mul(2) && free - offered >= 2 * mss {
            self.pending.insert(Pending::ACK);
        }
    }

    /// The receive buffer's free space from RCV.NXT (out-of-order data sits
    /// inside it): what the window we offer is made from. The ring behind
    /// it holds a little more (see [`rcv_ring_capacity`]).
    fn rcv_free(&self) -> u32 {
        let held = self.recv_buf.readable_len();
        u32::try_from(self.rcv_tuning.space.saturating_sub(held)).unwrap_or(u32::MAX)
    }

    /// Moves to CLOSED, recording `error` and waking everyone; `why` goes
    /// to the log with the error.
    fn enter_closed(&mut self, error: Option<ConnError>, why: &'static str) {
        if error.is_some() && self.error.is_none() {
            self.error = error;
        }
        if self.state != State::Closed {
            conn_debug!(
                self,
                from = %self.state,
                to = %State::Closed,
                why,
                error = error.map(tracing::field::display),
                "tcp state"
            );
        }
        self.state = State::Closed;
        self.timers = Timers::default();
        self.events.insert(Events::CLOSED);
        self.events.insert(Events::READABLE);
        self.events.insert(Events::WRITABLE);
    }

    /// The state the handshake completes into: ESTABLISHED, or FIN-WAIT-1
    /// when the application already shut down sending (RFC 9293 3.10.4:
    /// "queue for processing after entering ESTABLISHED state").
    fn established_state(&self) -> State {
        if self.our_fin.is_some() {
            State::FinWait1
        } else {
            State::Established
        }
    }

    fn set_state(&mut self, state: State) {
        conn_debug!(self, from = %self.state, to = %state, "tcp state");
        self.state = state;
    }

    /// Our timestamp clock: milliseconds plus the per-connection offset
    /// (RFC 7323 5.4: between 1 ms and 1 s per tick; Linux ticks at 1 ms).
    fn ts_val(&self, now: Instant) -> u32 {
        // Truncation to 32 bits is the point: the clock wraps like SEG.SEQ.
        (now.total_millis() as u32).wrapping_add(self.ts_offset)
    }

    /// The data queued for sending occupies sequence space from here: the
    /// first octet after our SYN.
    fn data_start(&self) -> SeqNum {
        if self.snd_una == self.iss {
            self.iss + 1
        } else {
            self.snd_una
        }
    }

    /// Whether our FIN has been sent and acknowledged.
    fn fin_acked(&self) -> bool {
        self.our_fin.is_some_and(|fin| self.snd_una.after(fin))
    }
}

#[cfg(test)]
mod tests;
