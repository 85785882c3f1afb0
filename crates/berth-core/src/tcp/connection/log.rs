//! What a connection logs, and the one call each segment drop goes
//! through ([`Connection::drop_segment`]: counted in [`ConnStats`] and
//! logged with its reason).
//!
//! A sans-IO connection has nothing to enter a `tracing` span in across
//! calls, so instead every line a connection logs carries its `local` and
//! `remote` addresses as fields ([`conn_debug!`], [`conn_trace!`]), as the
//! stack's drop lines about a flow do: a trace filtered on a peer's
//! address reads as that connection's story. State changes, resets sent
//! and received, failures and ICMP errors log at `debug`; segment drops,
//! which a healthy connection sees (duplicates, window probes), at
//! `trace`.

use super::super::segment::Segment;
use super::super::stats::ConnStats;
use super::Connection;

/// A `tracing::debug!` event about connection `$c`, with its `local` and
/// `remote` fields first.
macro_rules! conn_debug {
    ($c:expr, $($rest:tt)+) => {
        tracing::debug!(local = %$c.local, remote = %$c.remote, $($rest)+)
    };
}

/// A `tracing::trace!` event about connection `$c`, with its `local` and
/// `remote` fields first.
macro_rules! conn_trace {
    ($c:expr, $($rest:tt)+) => {
        tracing::trace!(local = %$c.local, remote = %$c.remote, $($rest)+)
    };
}

pub(super) use {conn_debug, conn_trace};

/// Why a connection dropped a segment routed to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SegmentDrop {
    /// An old timestamp (RFC 7323 5.3 PAWS).
    Paws,
    /// Outside the receive window (RFC 9293 3.10.7.4).
    OutOfWindow,
    /// No ACK bit where one is required.
    NoAck,
    /// An unacceptable ACK field (RFC 9293 3.10.7.3, 3.10.7.4; RFC 5961
    /// 5.2).
    BadAck,
    /// A RST inside the window but not at RCV.NXT (RFC 5961 3.2): a
    /// challenge ACK answers.
    RstNotExact,
    /// A SYN in a synchronized state (RFC 5961 4): a challenge ACK answers.
    SynInWindow,
    /// In SYN-SENT, a RST without an ACK, or neither SYN nor RST.
    SynSentStray,
    /// The connection is closed.
    Closed,
}

impl SegmentDrop {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Paws => "PAWS: old timestamp",
            Self::OutOfWindow => "outside the receive window",
            Self::NoAck => "no ACK",
            Self::BadAck => "unacceptable ACK",
            Self::RstNotExact => "RST not at RCV.NXT",
            Self::SynInWindow => "SYN on a synchronized connection",
            Self::SynSentStray => "neither SYN nor acceptable RST in SYN-SENT",
            Self::Closed => "connection closed",
        }
    }

    fn counter(self, s: &mut ConnStats) -> &mut u64 {
        match self {
            Self::Paws => &mut s.paws_drops,
            Self::OutOfWindow => &mut s.out_of_window,
            Self::NoAck => &mut s.no_ack_drops,
            Self::BadAck => &mut s.bad_acks,
            Self::RstNotExact | Self::SynInWindow | Self::SynSentStray | Self::Closed => {
                &mut s.other_drops
            }
        }
    }
}

impl Connection {
    /// Counts `seg` as dropped for `reason` and logs it (at `trace`).
    pub(super) fn drop_segment(&mut self, reason: SegmentDrop, seg: &Segment<'_>) {
        *reason.counter(&mut self.stats) += 1;
        conn_trace!(
            self,
            state = %self.state,
            reason = reason.as_str(),
            seq = seg.seq.get(),
            ack = seg.ack.map(|a| a.get()),
            len = seg.payload.len(),
            "segment dropped"
        );
    }
}
