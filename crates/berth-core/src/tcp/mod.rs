//! TCP, per connection and sans-IO: RFC 9293 with the extensions berth
//! implements. Nothing in this module reads a clock or does I/O; time comes
//! in as [`crate::time::Instant`] / [`crate::time::Duration`] arguments.
//!
//! Public, for users of [`crate::stack::Stack`]: the settings
//! ([`TcpConfig`], [`Keepalive`], [`EcnMode`],
//! [`congestion::CongestionAlgorithm`]; the window types [`WindowScale`],
//! [`WindowSize`] and [`UnscaledWindowSize`], in which a configuration's
//! window scale is given) and what a connection reports ([`State`],
//! [`ConnStats`], through [`crate::stack::TcpInfo`]). The state machine and
//! its building blocks are the crate's own; the map below is for reading
//! the code.
//!
//! Map of the module (building blocks first; the state machine builds on them):
//!
//! | file | what | RFCs |
//! | --- | --- | --- |
//! | `seq` | `SeqNum` with `before`/`after` (no `Ord`), window newtypes and window scaling, the segment acceptability test | RFC 9293 §3.4, §3.10.7.4; RFC 7323 §2 |
//! | `connection` | `Connection`: one TCB as a pure state machine: `on_segment`, `poll_transmit`, `on_timeout`, `poll_at` and the application calls | RFC 9293 §3.10; RFC 5961; RFC 7323; RFC 2018, RFC 6675; RFC 6298; RFC 5681, RFC 3042, RFC 6582; RFC 1122 4.2.3.6; RFC 1337; the socket options an application changes on it (Linux's `do_tcp_setsockopt`) |
//! | `state` | [`State`], with RFC names and the transition table | RFC 9293 §3.3.2 |
//! | `segment` | `Segment`, the validated input; the reset owed to a segment without a connection | RFC 9293 §3.10.7.1 |
//! | `config` | [`TcpConfig`] with Linux's defaults | — |
//! | `stats` | [`ConnStats`]: per-connection counters | — |
//! | [`congestion`] | congestion control behind a trait: CUBIC with HyStart++ (default) and NewReno | RFC 5681, RFC 6582, RFC 3465, RFC 6928, RFC 9438, RFC 9406 |
//! | `isn` | initial sequence numbers: a 4 µs clock plus SipHash-2-4 of the 4-tuple | RFC 6528 |
//! | `recv_buffer` | `RecvBuffer`: in-order bytes plus an out-of-order assembler of at most 32 ranges, addressed by offset from RCV.NXT; SACK blocks most recent first | RFC 9293 §3.10.7.4; RFC 2018 §4 |
//! | `rtt` | `RttEstimator`: SRTT/RTTVAR and RTO with backoff; Karn's rule left to the caller | RFC 6298; RFC 7323 §4 (timing with timestamps) |
//! | `sent` | `SentQueue`: every transmission not yet cumulatively acknowledged, with its time and SACK / lost / retransmitted marks; what is in flight (`SetPipe`); RACK's time-based marking | RFC 6675 §4; RFC 2018; RFC 8985 §6.2 |
//! | `rack` | `Rack`: the most recent delivery, minimum RTT, reordering window adapted with D-SACK | RFC 8985 §6 |
//! | `prr` | `Prr`: Proportional Rate Reduction during recovery | RFC 6937 |
//! | `push_marks` | `PushMarks`: the ends of unacknowledged writes, whose segments carry PSH, searched in O(log n) | RFC 9293 §3.9.1 |
//! | `send_buffer` | `SendBuffer`: one ring of unacknowledged + unsent bytes, addressed by offset from SND.UNA | RFC 9293 §3.3.1 |
//! | `ring` (private) | the fixed-capacity byte ring under both buffers | none |
//!
//! RFCs this module follows, and where:
//! - RFC 9293 (TCP): sequence space and acceptability, `seq`; send
//!   sequence space, `send_buffer`; holding out-of-order segments,
//!   `recv_buffer`.
//! - RFC 6298 (retransmission timer): `rtt`, with Linux's 200 ms minimum.
//! - RFC 2018 (SACK): the receiver's blocks, `recv_buffer`; the sender's
//!   marks, `sent`.
//! - RFC 8985 (RACK-TLP): `rack` and `sent`; RFC 6937 (PRR): `prr`.
//! - RFC 7323 (window scale): [`WindowScale`], [`WindowSize`].

mod config;
pub mod congestion;
pub(crate) mod connection;
pub(crate) mod isn;
pub(crate) mod prr;
pub(crate) mod push_marks;
pub(crate) mod rack;
pub(crate) mod recv_buffer;
mod ring;
pub(crate) mod rtt;
pub(crate) mod segment;
pub(crate) mod send_buffer;
pub(crate) mod sent;
pub(crate) mod seq;
mod state;
mod stats;

pub use config::{EcnMode, Keepalive, TcpConfig};
pub(crate) use connection::{
    ConnError, Connection, Events, MemoryPressure, Outcome, RecvError, SendError, TimeWaitSock,
};
pub(crate) use segment::Segment;
pub use seq::{UnscaledWindowSize, WindowScale, WindowSize};
pub use state::State;
pub use stats::ConnStats;
