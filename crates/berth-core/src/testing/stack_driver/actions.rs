//! What the driver does, decoded from the input: [`Action`]s on a stack
//! made from a [`Setup`], and the [`Report`] of a run.

/// The stack's settings that the input picks.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Seeds the stack.
    pub seed: u64,
    /// The link MTU.
    pub mtu: usize,
    /// TCP options offered.
    pub timestamps: bool,
    /// SACK offered.
    pub sack: bool,
    /// Window scaling offered.
    pub window_scaling: bool,
    /// Keepalive on every connection (10 s idle, 1 s apart, 3 probes).
    pub keepalive: bool,
    /// Each connection's first receive buffer (it may grow to 4 times).
    pub recv_buffer: usize,
}

/// Which connection a frame belongs to.
#[derive(Debug, Clone, Copy)]
pub enum Tuple {
    /// A peer's connection to one of our ports: bits 5-6 pick the peer
    /// (198.18.0.1 twice as often, 198.18.0.3, fd00::1), bits 3-4 our port
    /// (80: backlog 1, 81 twice as often, 9: closed), bits 0-2 the peer's
    /// port (1000 to 1007).
    Passive(u8),
    /// One of the connections the stack opened (`Connect`), by index.
    Active(u8),
}

/// A sequence or acknowledgment number, relative to what is in play on
/// the tuple.
#[derive(Debug, Clone, Copy)]
pub enum Num {
    /// The last acknowledgment number the stack sent (what it expects
    /// next) plus a delta.
    StackAck(i32),
    /// The end of what the stack sent plus a delta.
    StackNxt(i32),
    /// The peer's initial sequence number plus a delta.
    PeerIsn(i32),
    /// Any number.
    Raw(u32),
}

/// A TCP segment from a peer. Every SYN a peer sends on one tuple has the
/// same sequence number (its first SYN's), so the stream it opens is
/// known; the payload is the stream's bytes at the segment's place.
#[derive(Debug, Clone)]
pub struct TcpSpec {
    /// The connection.
    pub tuple: Tuple,
    /// Sequence number.
    pub seq: Num,
    /// Acknowledgment number (with ACK).
    pub ack: Option<Num>,
    /// Control bits.
    pub flags: u8,
    /// Window field.
    pub wnd: u16,
    /// MSS option.
    pub mss: Option<u16>,
    /// Window scale option.
    pub ws: Option<u8>,
    /// SACK-permitted option.
    pub sack_perm: bool,
    /// SACK blocks.
    pub sack: Vec<(Num, Num)>,
    /// Timestamps: TSval, and TSecr (`None`: the stack's last TSval).
    pub ts: Option<(u32, Option<u32>)>,
    /// Payload length.
    pub len: u16,
    /// Send it with a wrong checksum.
    pub bad_checksum: bool,
}

/// How to cut an IPv4 packet into fragments.
#[derive(Debug, Clone)]
pub struct Frags {
    /// Piece size in 8-byte blocks (0 reads as 1).
    pub unit: u8,
    /// 0: in order, 1: reversed, 2: rotated by one.
    pub order: u8,
    /// Leave this piece (modulo their number) out.
    pub drop: Option<u8>,
    /// Send the first piece twice.
    pub duplicate: bool,
    /// Let the second piece overlap the first.
    pub overlap: bool,
}

/// An ICMP message from a peer (or a router on its path).
#[derive(Debug, Clone)]
pub struct IcmpSpec {
    /// Whose path: the packet quoted is the last the stack sent on it.
    pub tuple: Tuple,
    /// Echo request, unreachable, too big, time exceeded, parameter
    /// problem, echo reply, or any type.
    pub kind: u8,
    /// The code.
    pub code: u8,
    /// The four bytes after the checksum (MTU, pointer, echo id).
    pub rest: [u8; 4],
    /// How many bytes of the packet to quote.
    pub quote_len: usize,
    /// From a router (198.18.0.254, fd00::fe) rather than the peer.
    pub from_router: bool,
}

/// One step.
#[derive(Debug, Clone)]
pub enum Action {
    /// A TCP segment, perhaps in fragments.
    Tcp(TcpSpec, Option<Frags>),
    /// A UDP datagram of `len` bytes, perhaps in fragments.
    Udp {
        /// Peer and port (bits 3-4: 53, 53, 9 closed, 53).
        tuple: Tuple,
        /// Payload length.
        len: u16,
        /// Fragments.
        frags: Option<Frags>,
    },
    /// An ICMP message.
    Icmp(IcmpSpec),
    /// An IP packet with any protocol number and payload.
    RawIp {
        /// IPv6 instead of IPv4.
        v6: bool,
        /// Protocol (IPv6: next header).
        proto: u8,
        /// Payload.
        payload: Vec<u8>,
        /// Fragments (IPv4).
        frags: Option<Frags>,
    },
    /// Any bytes.
    Raw(Vec<u8>),
    /// Time passes (milliseconds), then the timers run.
    Advance(u32),
    /// Time jumps to the next deadline, which runs.
    NextTimer,
    /// The application accepts every waiting connection.
    Accept,
    /// Reads up to `max` bytes from a connection.
    Recv {
        /// Which (modulo the number held).
        conn: u8,
        /// How much.
        max: u16,
    },
    /// Writes `len` bytes.
    Send {
        /// Which.
        conn: u8,
        /// How much.
        len: u16,
    },
    /// Shuts the sending side down.
    Shutdown(u8),
    /// Closes (the application lets go).
    Close(u8),
    /// Resets.
    Abort(u8),
    /// Opens a connection to a peer's port 7 or 8.
    Connect {
        /// Port 7 or 8 (lowest bit).
        port: u8,
        /// To fd00::1 instead of 198.18.0.1.
        v6: bool,
    },
    /// Reads every waiting UDP datagram.
    UdpRecv,
    /// Sends a UDP datagram (fragmented when longer than the MTU).
    UdpSend {
        /// To whom.
        tuple: Tuple,
        /// Length.
        len: u16,
    },
    /// Closes the port-80 listener (with what waits in its queue) and
    /// listens again.
    Relisten,
    /// Sets a socket option (any value, in range or not) on a connection,
    /// a listener or a UDP socket.
    SetOption {
        /// Which socket: a connection (modulo the number held), else a
        /// listener, else a UDP socket.
        target: u8,
        /// Cork, Nagle, MSS, traffic class, keepalive, keepalive timing.
        option: u8,
        /// The value (a flag is its lowest bit).
        value: u32,
    },
}

/// What a run reached, for tests that the driver gets deep.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Frames handed to the stack.
    pub frames_in: u64,
    /// Frames the stack sent.
    pub frames_out: u64,
    /// Connections accepted.
    pub accepted: u64,
    /// Bytes the application read, all connections.
    pub bytes_read: u64,
    /// UDP datagrams read.
    pub datagrams_read: u64,
    /// The stack's counters at the end.
    pub stats: crate::stats::StackStats,
}
