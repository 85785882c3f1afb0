//! Scripted segment-level tests for one connection (packetdrill-like): inject
//! a segment at a virtual time, expect the exact segment(s) out, advance time,
//! call the API. `harness` is the little language; the other files hold the
//! scenarios, one file per family of states; `sim` joins two connections over
//! a faulty link.

mod harness;

mod invalid;
mod keepalive;
mod mss;
mod rto;

mod close;
mod data;
mod handshake;
mod prop;
mod reset;
mod sack;
mod sim;
mod states;
mod timestamps;
mod window;
mod wrap;
