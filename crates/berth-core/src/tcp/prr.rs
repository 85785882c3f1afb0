//! Proportional Rate Reduction (RFC 6937): how much a sender in loss
//! recovery (or reducing for ECN) may send on each ACK, so that the window
//! comes down to ssthresh smoothly over one round trip instead of in a
//! burst of silence followed by a burst of segments, and so that a large
//! loss does not leave the window far below ssthresh (the slow-start
//! reduction bound, PRR-SSRB).
//!
//! Counted in bytes; the sender sends whole segments while the allowance
//! covers one.

/// PRR's state for one recovery episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Prr {
    /// RecoverFS: FlightSize when recovery began.
    recover_fs: u32,
    /// prr_delivered: bytes delivered to the receiver since then.
    delivered: u32,
    /// prr_out: bytes sent since then.
    out: u32,
    /// What may be in flight: pipe + sndcnt as of the last ACK (Linux sets
    /// cwnd so). Losses found later leave pipe, and make room under it.
    cwnd: u32,
}

impl Prr {
    /// Recovery begins with `flight` bytes outstanding.
    pub(crate) fn new(flight: u32) -> Self {
        //= https://www.rfc-editor.org/rfc/rfc6937#section-3.1
        //# prr_delivered = 0         // Total bytes delivered during recovery
        //# prr_out = 0               // Total bytes sent during recovery
        //# RecoverFS = snd.nxt-snd.una // FlightSize right before recovery
        Self {
            recover_fs: flight.max(1),
            delivered: 0,
            out: 0,
            cwnd: 0,
        }
    }

    /// An ACK delivered `delivered` bytes (the change in SND.UNA plus the
    /// change in SACKed bytes, RFC 6937's DeliveredData); `pipe` is what is
    /// in flight after it, `ssthresh` the target. Sets the window:
    /// pipe + sndcnt.
    pub(crate) fn on_ack(&mut self, delivered: u32, pipe: u32, ssthresh: u32, mss: u32) {
        //# prr_delivered += DeliveredData
        self.delivered = self.delivered.saturating_add(delivered);
        //# pipe = (RFC 6675 pipe algorithm)
        //# if (pipe > ssthresh) {
        //#    // Proportional Rate Reduction
        //#    sndcnt = CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out
        //# } else {
        //#    // Two versions of the Reduction Bound
        //#    if (conservative) {    // PRR-CRB
        //#      limit = prr_delivered - prr_out
        //#    } else {               // PRR-SSRB
        //#      limit = MAX(prr_delivered - prr_out, DeliveredData) + MSS
        //#    }
        //#    // Attempt to catch up, as permitted by limit
        //#    sndcnt = MIN(ssthresh - pipe, limit)
        //# }
        let sndcnt = if pipe > ssthresh {
            let target = (u64::from(self.delivered) * u64::from(ssthresh))
                .div_ceil(u64::from(self.recover_fs));
            u32::try_from(target)
                .unwrap_or(u32::MAX)
                .saturating_sub(self.out)
        } else {
            let limit = self
                .delivered
                .saturating_sub(self.out)
                .max(delivered)
                .saturating_add(mss);
            (ssthresh - pipe).min(limit)
        };
        // Linux (tcp_cwnd_reduction) and RFC 6937bis: the first ACK of
        // recovery always lets the fast retransmission go.
        let sndcnt = if self.out == 0 {
            sndcnt.max(mss)
        } else {
            sndcnt
        };
        self.cwnd = pipe.saturating_add(sndcnt);
    }

    /// What may be in flight now.
    pub(crate) fn cwnd(&self) -> u32 {
        self.cwnd
    }

    /// `bytes` were sent.
    pub(crate) fn on_sent(&mut self, bytes: u32) {
        //# On any data transmission or retransmission:
        //# prr_out += (data sent)
        self.out = self.out.saturating_add(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: u32 = 1000;

    /// RFC 6937 section 3.1's example: 20 segments in flight, one lost,
    /// ssthresh 10: PRR sends one segment for every two delivered.
    #[test]
    fn proportional_part_sends_half_as_much_as_is_delivered() {
        let mut prr = Prr::new(20 * MSS);
        let mut sent = Vec::new();
        // The loss is detected on the third duplicate ACK (three segments
        // delivered); then each ACK delivers one.
        let mut pipe = 20 * MSS - 4 * MSS;
        prr.on_ack(3 * MSS, pipe, 10 * MSS, MSS);
        for _ in 0..16 {
            let mut n = 0;
            while prr.cwnd() >= pipe + MSS {
                prr.on_sent(MSS);
                pipe += MSS;
                n += 1;
            }
            sent.push(n);
            pipe -= MSS;
            prr.on_ack(MSS, pipe, 10 * MSS, MSS);
        }
        // Counted in bytes: the fast retransmission on the first ACK (3
        // delivered, halved: 1.5 segments), then one every other ACK.
        assert_eq!(&sent[..12], [1, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
        // 19 segments delivered, 9 sent: the flight is down to ssthresh.
        let total: u32 = sent.iter().sum();
        assert_eq!(total, 9);
        assert_eq!(pipe, 10 * MSS - MSS);
    }

    #[test]
    fn the_reduction_bound_catches_up_after_a_large_loss() {
        // Half of the flight lost: pipe falls below ssthresh, and PRR-SSRB
        // lets the sender grow back toward it by one MSS more than
        // delivered per ACK, like slow start.
        let mut prr = Prr::new(20 * MSS);
        prr.on_ack(MSS, 4 * MSS, 10 * MSS, MSS);
        assert_eq!(prr.cwnd(), 6 * MSS);
        prr.on_sent(2 * MSS);
        prr.on_ack(MSS, 5 * MSS, 10 * MSS, MSS);
        assert_eq!(prr.cwnd(), 7 * MSS);
        // Never beyond ssthresh.
        prr.on_ack(5 * MSS, 9 * MSS, 10 * MSS, MSS);
        assert_eq!(prr.cwnd(), 10 * MSS);
    }

    #[test]
    fn the_first_ack_always_lets_the_retransmission_go() {
        let mut prr = Prr::new(100 * MSS);
        prr.on_ack(1, 99 * MSS, 50 * MSS, MSS);
        assert_eq!(prr.cwnd(), 100 * MSS);
    }
}
