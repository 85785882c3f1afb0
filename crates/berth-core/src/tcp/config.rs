//! Per-connection TCP settings, with Linux's defaults where Linux has one.
//!
//! Durations and counts here are the knobs RFC 9293, RFC 6298, RFC 1122 and
//! RFC 9438 leave to the implementation; each default says where it comes from.

use crate::time::Duration;
use crate::wire::ChecksumCaps;

use super::congestion::CongestionAlgorithm;
use super::seq::{WindowScale, WindowSize};

/// Settings for one TCP connection. Cheap to copy; the stack keeps one and
/// hands a copy to each connection it creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpConfig {
    /// Our MSS: the largest payload we accept, announced in the SYN (MTU minus
    /// IP and TCP headers). 1460 is right for a 1500-byte IPv4 MTU.
    pub mss: u16,
    /// The receive buffer a connection starts with (and so the window it
    /// first offers), in bytes. Linux `tcp_rmem[1]`: 131072.
    pub recv_buffer: usize,
    /// How far the receive buffer may grow as the application keeps up
    /// with a fast or long path (dynamic right-sizing); the window scale
    /// is chosen for it. Equal to `recv_buffer`: no growth. Linux
    /// `tcp_rmem[2]`: 6 MiB, with a window scale of 7; berth's default is
    /// the most that scale can offer, 65535 << 7 (8 MiB less 128 bytes),
    /// which keeps a 100 ms path above 600 Mbit/s.
    pub recv_buffer_max: usize,
    /// The send buffer (unacknowledged plus unsent bytes) a connection
    /// starts with, in bytes.
    pub send_buffer: usize,
    /// How far the send buffer may grow (to twice the congestion window).
    /// Equal to `send_buffer`: no growth. Linux `tcp_wmem[2]`: 4 MiB;
    /// berth allows 8 MiB, so that a 6 MiB window can be kept full.
    pub send_buffer_max: usize,
    /// Offer window scaling (RFC 7323 section 2). Linux: on.
    pub window_scaling: bool,
    /// Offer timestamps (RFC 7323 section 3). Linux: on.
    pub timestamps: bool,
    /// Offer SACK (RFC 2018). Linux: on.
    pub sack: bool,
    /// Disable Nagle's algorithm (`TCP_NODELAY`). std default: off.
    pub nodelay: bool,
    /// `TCP_CORK`: while set, only full-sized segments go out; a partial
    /// one waits for more data, the uncork, a FIN, or the probe timer
    /// (Linux's 200 ms ceiling). Linux default: off.
    pub cork: bool,
    /// Lower bound of the retransmission timeout. RFC 6298 (2.4) says 1 s;
    /// Linux uses 200 ms (`TCP_RTO_MIN`), and so do we.
    pub rto_min: Duration,
    /// Upper bound of the retransmission timeout. Linux: 120 s (`TCP_RTO_MAX`).
    pub rto_max: Duration,
    /// The RTO before any RTT sample. RFC 6298 (2.1): 1 s.
    pub rto_initial: Duration,
    /// SYN retransmissions before connect fails with a timeout.
    /// Linux `tcp_syn_retries`: 6.
    pub syn_retries: u32,
    /// SYN-ACK retransmissions before a half-open connection is dropped.
    /// Linux `tcp_synack_retries`: 5.
    pub synack_retries: u32,
    /// Retransmissions of data before the connection fails with a timeout.
    /// Linux `tcp_retries2`: 15.
    pub retries: u32,
    /// How long TIME-WAIT lasts (2*MSL). Linux: 60 s (`TCP_TIMEWAIT_LEN`).
    pub time_wait: Duration,
    /// How long an orphaned connection (closed by the application) may stay in
    /// FIN-WAIT-2. Linux `tcp_fin_timeout`: 60 s.
    pub fin_wait_2_timeout: Duration,
    /// The delayed-ACK timer. Linux: 40 ms (`TCP_DELACK_MIN`); RFC 9293
    /// 3.8.6.3 caps it at 500 ms.
    pub delayed_ack: Duration,
    /// Keepalive (RFC 1122 4.2.3.6); `None` is off, the std default.
    pub keepalive: Option<Keepalive>,
    /// The keepalive timing a connection keeps while `keepalive` is off,
    /// for when the application turns it on (`SO_KEEPALIVE` after
    /// `TCP_KEEPIDLE` and the rest were set). `None`: `keepalive`'s, or
    /// Linux's defaults.
    pub keepalive_timing: Option<Keepalive>,
    /// `IP_TOS` / `IPV6_TCLASS`: the traffic class byte of the
    /// connection's packets. Its two ECN bits are not taken from here: the
    /// connection sets its own codepoint there (Linux masks
    /// `INET_ECN_MASK` off a stream socket's TOS). Default: 0.
    pub tos: u8,
    /// RFC 1337: ignore RST in TIME-WAIT instead of closing early.
    /// Linux's `tcp_rfc1337` is 0 by default; berth protects by default.
    pub rfc1337: bool,
    /// The minimum interval between two challenge ACKs or two ACKs sent in
    /// answer to out-of-window segments (RFC 5961 section 7; Linux
    /// `tcp_invalid_ratelimit`: 500 ms).
    pub invalid_ratelimit: Duration,
    /// The congestion controller. Linux: CUBIC.
    pub congestion: CongestionAlgorithm,
    /// Checksum handling of this connection's segments.
    pub checksums: ChecksumCaps,
    /// TCP segmentation offload: new data may go out in segments of many
    /// MSS (as long as the caller's buffer allows), for a device that splits
    /// them (a TUN device with offloads) and completes their checksums.
    /// Every segment's checksum field then holds the pseudo-header sum only
    /// (long or not: such a device completes checksums, as Linux's TSO
    /// implies checksum offload), and
    /// [`Stack::poll_transmit_gso`](crate::stack::Stack::poll_transmit_gso)
    /// tells the caller the size to split it at. Off by default; the stack
    /// turns it on when its device can.
    pub tso: bool,
    /// Tail loss probes (RFC 8985 section 7): when the last segments of a
    /// flight go unanswered for two round trips, one segment is sent to
    /// draw an ACK instead of waiting for the retransmission timeout.
    /// Linux: on (`tcp_early_retrans = 3`).
    pub tlp: bool,
    /// F-RTO (RFC 5682): after a retransmission timeout, new data goes
    /// before the rest of the retransmissions until an ACK shows whether
    /// the timeout was spurious, and a spurious one is undone. Linux: on
    /// (`tcp_frto = 2`).
    pub frto: bool,
    /// Report duplicate segments in D-SACK blocks (RFC 2883) when SACK is
    /// on. Linux: on (`tcp_dsack = 1`).
    pub dsack: bool,
    /// Explicit Congestion Notification (RFC 3168). Linux: accept when
    /// the peer asks (`tcp_ecn = 2`), [`EcnMode::Passive`].
    pub ecn: EcnMode,
}

/// Keepalive settings (Linux `tcp_keepalive_{time,intvl,probes}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// Idle time before the first probe. Linux: 7200 s.
    pub idle: Duration,
    /// Time between unanswered probes. Linux: 75 s.
    pub interval: Duration,
    /// Unanswered probes before the connection is declared dead. Linux: 9.
    pub count: u32,
}

impl Default for Keepalive {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(7200),
            interval: Duration::from_secs(75),
            count: 9,
        }
    }
}

impl TcpConfig {
    /// The shift our windows are sent with: the smallest that covers the
    /// largest receive buffer (RFC 7323 2.3), or none without scaling.
    pub fn window_scale(&self) -> WindowScale {
        if self.window_scaling {
            let max = self.recv_buffer_max.max(self.recv_buffer);
            WindowScale::covering(WindowSize::from_usize_saturating(max))
        } else {
            WindowScale::ZERO
        }
    }
}

impl Default for TcpConfig {
    fn default() -> Self {
        Self {
            mss: 1460,
            recv_buffer: 128 * 1024,
            recv_buffer_max: 65535 << 7,
            send_buffer: 256 * 1024,
            send_buffer_max: 8 * 1024 * 1024,
            window_scaling: true,
            timestamps: true,
            sack: true,
            nodelay: false,
            cork: false,
            rto_min: Duration::from_millis(200),
            rto_max: Duration::from_secs(120),
            rto_initial: Duration::from_secs(1),
            syn_retries: 6,
            synack_retries: 5,
            retries: 15,
            time_wait: Duration::from_secs(60),
            fin_wait_2_timeout: Duration::from_secs(60),
            delayed_ack: Duration::from_millis(40),
            keepalive: None,
            keepalive_timing: None,
            tos: 0,
            rfc1337: true,
            invalid_ratelimit: Duration::from_millis(500),
            congestion: CongestionAlgorithm::default(),
            checksums: ChecksumCaps::FULL,
            tso: false,
            tlp: true,
            frto: true,
            dsack: true,
            ecn: EcnMode::Passive,
        }
    }
}

/// When a connection uses ECN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EcnMode {
    /// Never.
    Off,
    /// When the peer's SYN asks for it (Linux `tcp_ecn = 2`).
    #[default]
    Passive,
    /// Ask in our SYN, and accept when asked (Linux `tcp_ecn = 1`).
    On,
}
