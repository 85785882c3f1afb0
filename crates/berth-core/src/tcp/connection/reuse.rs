//! What the port table needs to know to reuse a 4-tuple whose previous
//! incarnation lingers in TIME-WAIT (RFC 6191, Linux `tcp_tw_reuse`).

use crate::tcp::State;
use crate::time::Instant;

use super::Connection;

impl Connection {
    /// When TIME-WAIT began, if the connection is in it.
    pub fn time_wait_since(&self) -> Option<Instant> {
        if self.state != State::TimeWait {
            return None;
        }
        self.timers.close.map(|end| end - self.cfg.time_wait)
    }

    /// Whether both ends send timestamps (RFC 7323), which lets a new
    /// incarnation of the 4-tuple be told from the old one's stray segments.
    pub fn uses_timestamps(&self) -> bool {
        self.opts.timestamps
    }
}
