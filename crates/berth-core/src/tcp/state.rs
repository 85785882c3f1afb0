//! The RFC 9293 connection states, printed with their RFC names.
//!
//! A [`super::Connection`] starts in SYN-SENT (active open) or SYN-RECEIVED
//! (passive open: the listener, which lives in the port table, made it from a
//! SYN); LISTEN is therefore a state of listeners, not of connections. The
//! transitions, as implemented (RFC 9293 figure 5, plus the RFC 1122 /
//! RFC 9293 simultaneous-open and simultaneous-close paths):
//!
//! | from | event | to |
//! | --- | --- | --- |
//! | SYN-SENT | SYN,ACK acking our SYN | ESTABLISHED |
//! | SYN-SENT | SYN (simultaneous open) | SYN-RECEIVED |
//! | SYN-SENT | acceptable RST, or SYN retries exhausted | CLOSED |
//! | SYN-RECEIVED | ACK of our SYN | ESTABLISHED |
//! | SYN-RECEIVED | RST, or SYN-ACK retries exhausted | CLOSED |
//! | ESTABLISHED | close / shutdown(Write) | FIN-WAIT-1 |
//! | ESTABLISHED | FIN | CLOSE-WAIT |
//! | FIN-WAIT-1 | ACK of our FIN | FIN-WAIT-2 |
//! | FIN-WAIT-1 | FIN, our FIN not yet acked (simultaneous close) | CLOSING |
//! | FIN-WAIT-1 | FIN acking our FIN | TIME-WAIT |
//! | FIN-WAIT-2 | FIN | TIME-WAIT |
//! | FIN-WAIT-2 | orphan timeout | CLOSED |
//! | CLOSE-WAIT | close / shutdown(Write) | LAST-ACK |
//! | CLOSING | ACK of our FIN | TIME-WAIT |
//! | LAST-ACK | ACK of our FIN | CLOSED |
//! | TIME-WAIT | 2*MSL timeout | CLOSED |
//! | any synchronized | acceptable RST, abort, or retries exhausted | CLOSED |

use core::fmt;

/// A connection's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Our SYN is out; waiting for the peer's SYN.
    SynSent,
    /// Both SYNs seen; waiting for the ACK of ours.
    SynReceived,
    /// Open in both directions.
    Established,
    /// We sent FIN; the peer has not acknowledged it.
    FinWait1,
    /// Our FIN is acknowledged; the peer may still send.
    FinWait2,
    /// The peer sent FIN; we may still send.
    CloseWait,
    /// Both sent FIN; ours is not yet acknowledged.
    Closing,
    /// The peer closed first, then we did; waiting for the ACK of our FIN.
    LastAck,
    /// Both directions closed; lingering to absorb stray segments.
    TimeWait,
    /// Gone.
    Closed,
}

impl State {
    /// Whether the handshake has completed (RFC 9293's "synchronized states").
    pub const fn is_synchronized(self) -> bool {
        !matches!(self, Self::SynSent | Self::SynReceived | Self::Closed)
    }

    /// Whether the application may still send (RFC 9293: ESTABLISHED and
    /// CLOSE-WAIT; before the handshake, data is queued).
    pub const fn may_send(self) -> bool {
        matches!(
            self,
            Self::SynSent | Self::SynReceived | Self::Established | Self::CloseWait
        )
    }

    /// Whether the peer may still send us data.
    pub const fn may_recv(self) -> bool {
        matches!(
            self,
            Self::SynSent | Self::SynReceived | Self::Established | Self::FinWait1 | Self::FinWait2
        )
    }

    /// Whether this end has nothing left to deliver: its FIN is
    /// acknowledged (FIN-WAIT-2, TIME-WAIT) or the connection is gone
    /// (CLOSED). What remains of a settled connection is the peer's to
    /// finish, or 2 MSL to wait out; a host that shuts down (`berth`'s
    /// stack thread) or a simulation that ends (`berth sim`) waits for its
    /// connections to settle, and for no more.
    pub const fn is_settled(self) -> bool {
        matches!(self, Self::FinWait2 | Self::TimeWait | Self::Closed)
    }

    /// The RFC 9293 name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::SynSent => "SYN-SENT",
            Self::SynReceived => "SYN-RECEIVED",
            Self::Established => "ESTABLISHED",
            Self::FinWait1 => "FIN-WAIT-1",
            Self::FinWait2 => "FIN-WAIT-2",
            Self::CloseWait => "CLOSE-WAIT",
            Self::Closing => "CLOSING",
            Self::LastAck => "LAST-ACK",
            Self::TimeWait => "TIME-WAIT",
            Self::Closed => "CLOSED",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::State;

    #[test]
    fn settled_once_our_fin_is_acknowledged_or_the_connection_is_gone() {
        use State::*;
        let all = [
            SynSent,
            SynReceived,
            Established,
            FinWait1,
            FinWait2,
            CloseWait,
            Closing,
            LastAck,
            TimeWait,
            Closed,
        ];
        let settled: Vec<_> = all.into_iter().filter(|s| s.is_settled()).collect();
        assert_eq!(settled, [FinWait2, TimeWait, Closed]);
    }
}
