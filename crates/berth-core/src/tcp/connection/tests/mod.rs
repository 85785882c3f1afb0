//! Scripted segment-level tests for one connection (packetdrill-like): inject
//! a segment at a virtual time, expect the exact segment(s) out, advance time,
//! call the API. `harness` is the little language; the other files hold the
//! scenarios, one file per family; `prop` runs arbitrary segments, time and
//! calls through `crate::testing::tcp_driver` (the fuzz target's driver);
//! `sim` joins two connections over a faulty link.
//!
//! | file | family |
//! | --- | --- |
//! | `handshake` | opening: passive, active, simultaneous, SYN retries, options |
//! | `states` | every row of `state.rs`'s table, RST in every state, SYN-SENT / SYN-RECEIVED calls, TIME-WAIT reuse |
//! | `data` | in-order and out-of-order receive, delayed ACK, Nagle, RTO, fast retransmit, zero window |
//! | `cork` | `TCP_CORK`: full segments only, with Nagle and `TCP_NODELAY`, the FIN, the probe timer's ceiling |
//! | `close` | active, passive, simultaneous close, half-close, orphans, unread data |
//! | `reset` | RFC 5961 resets and SYNs, RFC 1337 |
//! | `invalid` | out-of-window segments and ACKs, the ACK rate limit, closed-port resets |
//! | `timestamps` | RFC 7323 TSopt, TS.Recent, PAWS, RTT from the echo |
//! | `window` | window scaling, the window update rule, persist, receive-buffer bounds |
//! | `sack` | SACK blocks, RFC 6675 recovery, limited transmit, NewReno |
//! | `rto` | RFC 6298 estimation, Karn, backoff, giving up, FIN / SYN-ACK retransmission |
//! | `keepalive` | keepalive (on and off, its timing changed on an open connection), TIME-WAIT and FIN-WAIT-2 timers |
//! | `mss` | send MSS, clamping, path MTU |
//! | `wrap` | sequence numbers across 2^32 |
//! | `ecn` | ECN negotiation, ECT on new data, the echo until CWR, one reduction per window |
//! | `tuning` | receive and send buffers growing with use, the window scale for their maximum, shrinking under memory exhaustion |
//! | `time_wait_sock` | the compact TIME-WAIT record against the full connection, on the same arbitrary segments |
//! | `rack` | RACK marks and the reordering timer, lost retransmissions, PRR, D-SACK both ways, Eifel and F-RTO undo |

mod harness;

mod close;
mod cork;
mod data;
mod ecn;
mod handshake;
mod invalid;
mod keepalive;
mod mss;
mod prop;
mod rack;
mod reset;
mod rto;
mod sack;
mod sim;
mod states;
mod time_wait_sock;
mod timestamps;
mod tlp;
mod tso;
mod tuning;
mod window;
mod wrap;
