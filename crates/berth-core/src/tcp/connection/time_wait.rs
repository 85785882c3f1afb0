//! TIME-WAIT, in one place: entering it, what a segment can still do to a
//! connection in it (a retransmitted FIN restarts the 2 MSL timer, RFC 9293
//! 3.10.7.4; a new SYN may reopen the 4-tuple, RFC 6191 and Linux), and what
//! the port table needs to reuse the 4-tuple (Linux `tcp_tw_reuse`). A reset
//! in TIME-WAIT follows RFC 1337 in `on_rst`, with the other states' resets.

use crate::tcp::State;
use crate::tcp::segment::Segment;
use crate::time::Instant;

use super::input::ts_before;
use super::timers::Timers;
use super::{Connection, Events, Pending};

impl Connection {
    /// Enters TIME-WAIT: every other timer stops, the 2 MSL timer starts.
    pub(super) fn enter_time_wait(&mut self, now: Instant) {
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
        //# FIN-WAIT-2 STATE
        //#    Enter the TIME-WAIT state.  Start the time-wait timer, turn off
        //#    the other timers.
        self.set_state(State::TimeWait);
        self.timers = Timers::default();
        self.timers.close = Some(now + self.cfg.time_wait);
        self.events.insert(Events::CLOSED);
    }

    /// Whether `seg` is a SYN that may start a new incarnation of the
    /// connection in TIME-WAIT: the port table then forgets this one and
    /// gives the SYN to a listener.
    pub(super) fn time_wait_reopens(&self, now: Instant, seg: &Segment<'_>) -> bool {
        if self.state != State::TimeWait || !seg.syn() || seg.ack.is_some() || seg.rst() {
            return false;
        }
        // Linux (tcp_timewait_state_process) and RFC 6191: a new SYN whose
        // sequence number or timestamp is past the old connection's may
        // reopen it.
        let newer_ts = match (seg.timestamp, self.ts_recent) {
            (Some((val, _)), Some((recent, _))) => ts_before(recent, val),
            _ => false,
        };
        //= https://www.rfc-editor.org/rfc/rfc6191#section-2
        //# Otherwise, silently drop the incoming SYN segment, thus leaving
        //# the previous incarnation of the connection in the TIME-WAIT
        //# state.
        // A SYN whose timestamp PAWS rejects never reopens, whatever its
        // sequence number (Linux: `!paws_reject` in
        // tcp_timewait_state_process). The RFC drops it silently; Linux
        // answers with an ACK (TCP_TW_ACK), and so do we: it goes on to the
        // PAWS check.
        (seg.seq.after(self.rcv_nxt) || newer_ts) && !self.paws_rejects(now, seg)
    }

    /// A FIN in TIME-WAIT is the peer's, again (our ACK of it was lost):
    /// acknowledge it and restart the 2 MSL timer. Whether it was one.
    pub(super) fn time_wait_fin_again(&mut self, now: Instant, seg: &Segment<'_>) -> bool {
        if self.state != State::TimeWait || !seg.fin() || seg.rst() {
            return false;
        }
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
        //# The only thing that can arrive in this state is a retransmission of
        //# the remote FIN.  Acknowledge it, and restart the 2 MSL timeout.
        self.pending.insert(Pending::ACK);
        self.timers.close = Some(now + self.cfg.time_wait);
        true
    }

    /// When TIME-WAIT began, if the connection is in it.
    pub(crate) fn time_wait_since(&self) -> Option<Instant> {
        if self.state != State::TimeWait {
            return None;
        }
        self.timers.close.map(|end| end - self.cfg.time_wait)
    }

    /// Whether both ends send timestamps (RFC 7323), which lets a new
    /// incarnation of the 4-tuple be told from the old one's stray segments.
    pub(crate) fn uses_timestamps(&self) -> bool {
        self.opts.timestamps
    }
}
