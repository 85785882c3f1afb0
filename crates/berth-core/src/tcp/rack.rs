//! RACK's state (RFC 8985 section 6): the most recently sent segment that
//! has been delivered, the RTT it measured, the minimum RTT, whether the
//! path reorders, and the reordering window that follows from these and
//! adapts with D-SACK. The marking itself walks the sender's queue
//! ([`super::sent::SentQueue::rack_detect_loss`]); the connection calls the
//! steps in the order of RFC 8985 6.2 on every ACK.

use crate::time::{Duration, Instant};

use super::sent::{Latest, Sent};
use super::seq::SeqNum;

/// DupThresh (RFC 5681, RFC 6675 section 2): three segments SACKed above
/// a hole (or three duplicate ACKs) signal a loss.
pub(crate) const DUP_THRESH: u32 = 3;

/// How long a minimum RTT sample is kept (Linux `tcp_min_rtt_wlen`: 300 s).
const MIN_RTT_WINDOW: Duration = Duration::from_secs(300);

/// RACK.reo_wnd_persist's starting value: DSACK-free recoveries before the
/// reordering window multiplier resets (RFC 8985 6.2 step 4).
const REO_WND_PERSIST: u32 = 16;

/// The RACK variables of RFC 8985 section 6.1.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rack {
    /// RACK.xmit_ts and RACK.end_seq.
    latest: Option<Latest>,
    /// RACK.rtt: the RTT of `latest`.
    rtt: Duration,
    /// RACK.min_RTT, with when it was measured.
    min_rtt: Option<(Duration, Instant)>,
    /// RACK.fack: the highest end sequence delivered.
    fack: Option<SeqNum>,
    /// RACK.fack before the ACK being processed.
    prior_fack: Option<SeqNum>,
    /// RACK.reordering_seen.
    reordering_seen: bool,
    /// RACK.reo_wnd_mult (0 read as 1).
    reo_wnd_mult: u32,
    /// RACK.reo_wnd_persist.
    reo_wnd_persist: u32,
    /// RACK.dsack_round: SND.NXT when the multiplier last grew.
    dsack_round: Option<SeqNum>,
}

impl Rack {
    /// No delivery seen yet.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// RACK.xmit_ts and RACK.end_seq, once a segment has been delivered.
    pub(crate) fn latest(&self) -> Option<Latest> {
        self.latest
    }

    /// RACK.min_RTT, once measured.
    pub(crate) fn min_rtt(&self) -> Option<Duration> {
        self.min_rtt.map(|(rtt, _)| rtt)
    }

    #[cfg(test)]
    /// Whether reordering has been seen on the path.
    pub(crate) fn reordering_seen(&self) -> bool {
        self.reordering_seen
    }

    /// Feeds an RTT sample (one that passed Karn's rule) to the minimum
    /// filter: the minimum over the last five minutes, approximately (a
    /// sample older than that is replaced by the next one).
    pub(crate) fn on_rtt_sample(&mut self, rtt: Duration, now: Instant) {
        match self.min_rtt {
            Some((min, at)) if rtt > min && now.saturating_duration_since(at) < MIN_RTT_WINDOW => {}
            _ => self.min_rtt = Some((rtt, now)),
        }
    }

    /// An ACK is about to be processed: what it delivers is compared with
    /// what was delivered before it.
    pub(crate) fn begin_ack(&mut self) {
        self.prior_fack = self.fack;
    }

    /// RFC 8985 6.2 steps 2 and 3 for one segment newly delivered
    /// (cumulatively or selectively acknowledged). `orig_echoed`: the
    /// ACK's timestamp echo shows it answers a transmission before this
    /// segment's last one.
    pub(crate) fn on_delivered(&mut self, seg: &Sent, now: Instant, orig_echoed: bool) {
        //= https://www.rfc-editor.org/rfc/rfc8985#section-6.2
        //# If Segment.end_seq > RACK.fack:
        //#     RACK.fack = Segment.end_seq
        //# Else if Segment.end_seq < RACK.fack AND
        //#         Segment.retransmitted is FALSE:
        //#     RACK.reordering_seen = TRUE
        // Against RACK.fack as it was before this ACK (Linux compares with
        // `prior_fack`): one ACK that covers a segment cumulatively and a
        // later one selectively shows no reordering, whatever the order
        // they are processed in.
        if let Some(fack) = self.prior_fack
            && seg.end.before(fack)
            && !seg.ever_retrans()
        {
            self.reordering_seen = true;
        }
        if self.fack.is_none_or(|fack| seg.end.after(fack)) {
            self.fack = Some(seg.end);
        }
        let rtt = now.saturating_duration_since(seg.xmit);
        if seg.ever_retrans() {
            //= https://www.rfc-editor.org/rfc/rfc8985#section-6.2
            //# If Segment.retransmitted is TRUE:
            //#     If ACK.ts_option.echo_reply < Segment.xmit_ts:
            //#        Return
            //#     If rtt < RACK.min_rtt:
            //#        Return
            if orig_echoed || self.min_rtt().is_some_and(|min| rtt < min) {
                // Which transmission arrived is unknown, so there is no
                // RTT; but one sent no earlier than the first did. Segments
                // sent before that and still missing are as late as if the
                // original had been delivered (Linux skips the segment
                // entirely: a tail loss behind a SACKed loss probe then
                // waited for the RTO, found at 5% loss over TUN).
                let first = seg.first_sent();
                if self.latest.is_none_or(|l| first.sent_after(&l)) {
                    self.latest = Some(first);
                    if self.rtt.is_zero() {
                        // No delivery timed yet: the path's minimum.
                        self.rtt = self.min_rtt().unwrap_or_default();
                    }
                }
                return;
            }
        }
        //# RACK.rtt = rtt
        //# If RACK_sent_after(Segment.xmit_ts, Segment.end_seq
        //#                    RACK.xmit_ts, RACK.end_seq):
        //#     RACK.xmit_ts = Segment.xmit_ts
        //#     RACK.end_seq = Segment.end_seq
        let when = seg.when();
        if self.latest.is_none_or(|l| when.sent_after(&l)) {
            self.rtt = rtt;
            self.latest = Some(when);
        }
    }

    /// RFC 8985 6.2 step 4, its D-SACK part: an ACK carried a D-SACK block.
    pub(crate) fn on_dsack(&mut self, snd_nxt: SeqNum) {
        //= https://www.rfc-editor.org/rfc/rfc8985#section-6.2
        //# If RACK.dsack_round is None AND
        //#    any DSACK option is present on latest received ACK:
        //#     RACK.dsack_round = SND.NXT
        //#     RACK.reo_wnd_mult += 1
        //#     RACK.reo_wnd_persist = 16
        if self.dsack_round.is_none() {
            self.dsack_round = Some(snd_nxt);
            self.reo_wnd_mult = self.reo_wnd_mult.max(1).saturating_add(1);
            self.reo_wnd_persist = REO_WND_PERSIST;
        }
    }

    /// RFC 8985 6.2 step 4: the round that grew the multiplier ends when
    /// SND.UNA passes it.
    pub(crate) fn on_snd_una(&mut self, snd_una: SeqNum) {
        //# If RACK.dsack_round is not None AND
        //#    SND.UNA >= RACK.dsack_round:
        //#     RACK.dsack_round = None
        if self.dsack_round.is_some_and(|r| snd_una.after_or_eq(r)) {
            self.dsack_round = None;
        }
    }

    /// RFC 8985 6.2 step 4: leaving fast or RTO recovery.
    pub(crate) fn on_recovery_exit(&mut self) {
        //# Else if exiting Fast or RTO recovery:
        //#     RACK.reo_wnd_persist -= 1
        //#     If RACK.reo_wnd_persist <= 0:
        //#         RACK.reo_wnd_mult = 1
        self.reo_wnd_persist = self.reo_wnd_persist.saturating_sub(1);
        if self.reo_wnd_persist == 0 {
            self.reo_wnd_mult = 1;
        }
    }

    /// RACK.reo_wnd (RFC 8985 6.2 step 4): zero until reordering is seen
    /// if recovery is under way or DupThresh segments are SACKed;
    /// otherwise a quarter of the minimum RTT per multiplier step, capped
    /// at SRTT.
    pub(crate) fn reo_wnd(
        &self,
        in_recovery: bool,
        segs_sacked: u32,
        srtt: Option<Duration>,
    ) -> Duration {
        //= https://www.rfc-editor.org/rfc/rfc8985#section-6.2
        //# If RACK.reordering_seen is FALSE:
        //#     If in Fast or RTO recovery:
        //#         Return 0
        //#     Else if RACK.segs_sacked >= DupThresh:
        //#         Return 0
        //# Return min(RACK.reo_wnd_mult * RACK.min_RTT / 4, SRTT)
        if !self.reordering_seen && (in_recovery || segs_sacked >= DUP_THRESH) {
            return Duration::ZERO;
        }
        let min_rtt = self.min_rtt().unwrap_or(Duration::ZERO);
        let wnd = min_rtt.saturating_mul(self.reo_wnd_mult.max(1)) / 4;
        srtt.map_or(wnd, |srtt| wnd.min(srtt))
    }

    /// How long after its transmission a segment sent before RACK's latest
    /// delivery counts as lost: RACK.rtt + RACK.reo_wnd.
    pub(crate) fn wait(&self, reo_wnd: Duration) -> Duration {
        self.rtt.saturating_add(reo_wnd)
    }

    /// Forgets what RACK learnt from deliveries (RACK.xmit_ts, RACK.fack)
    /// when SACK information is discarded (the receiver reneged).
    pub(crate) fn on_sacks_cleared(&mut self) {
        self.fack = None;
        self.prior_fack = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> Instant {
        Instant::ZERO + Duration::from_millis(ms)
    }

    fn sent(start: u32, end: u32, xmit_ms: u64) -> Sent {
        let mut q = super::super::sent::SentQueue::new();
        q.on_send(SeqNum::new(start), SeqNum::new(end), t(xmit_ms));
        *q.iter().next().unwrap()
    }

    #[test]
    fn the_latest_delivery_is_the_most_recently_sent() {
        let mut r = Rack::new();
        r.begin_ack();
        r.on_delivered(&sent(200, 300, 5), t(20), false);
        // In the same ACK: no reordering.
        r.on_delivered(&sent(50, 100, 2), t(20), false);
        assert!(!r.reordering_seen());
        assert_eq!(r.latest().unwrap().end, SeqNum::new(300));
        assert_eq!(r.wait(Duration::ZERO), Duration::from_millis(15));
        // 100..200 arrives in a later ACK than 300: reordering.
        r.begin_ack();
        r.on_delivered(&sent(100, 200, 3), t(20), false);
        assert!(r.reordering_seen());
    }

    #[test]
    fn the_reordering_window_is_a_quarter_min_rtt_and_grows_with_dsack() {
        let mut r = Rack::new();
        r.on_rtt_sample(Duration::from_millis(40), t(0));
        r.on_rtt_sample(Duration::from_millis(80), t(1));
        assert_eq!(r.min_rtt(), Some(Duration::from_millis(40)));
        let srtt = Some(Duration::from_millis(50));
        assert_eq!(r.reo_wnd(false, 0, srtt), Duration::from_millis(10));
        // Without reordering seen: zero in recovery or with DupThresh SACKed.
        assert_eq!(r.reo_wnd(true, 0, srtt), Duration::ZERO);
        assert_eq!(r.reo_wnd(false, 3, srtt), Duration::ZERO);
        r.on_dsack(SeqNum::new(1000));
        r.on_dsack(SeqNum::new(2000));
        assert_eq!(r.reo_wnd(false, 0, srtt), Duration::from_millis(20));
        r.on_snd_una(SeqNum::new(1000));
        r.on_dsack(SeqNum::new(3000));
        // Capped at SRTT.
        assert_eq!(r.reo_wnd(false, 0, srtt), Duration::from_millis(30));
        for _ in 0..16 {
            r.on_recovery_exit();
        }
        assert_eq!(r.reo_wnd(false, 0, srtt), Duration::from_millis(10));
    }

    #[test]
    fn an_ambiguous_retransmission_gives_its_first_transmission_time() {
        let mut r = Rack::new();
        r.on_rtt_sample(Duration::from_millis(40), t(0));
        let mut q = super::super::sent::SentQueue::new();
        q.on_send(SeqNum::new(0), SeqNum::new(100), t(0));
        q.on_retransmit(SeqNum::new(0), SeqNum::new(100), t(100));
        let s = *q.iter().next().unwrap();
        // 10 ms after the retransmission: shorter than the minimum RTT, so
        // the ACK answers the original.
        // It gives no RTT, but RACK.xmit_ts moves to the original's
        // transmission: some copy sent no earlier than it arrived.
        r.on_delivered(&s, t(110), false);
        assert_eq!(r.latest().unwrap().xmit, t(0));
        let mut r = Rack::new();
        r.on_rtt_sample(Duration::from_millis(40), t(0));
        r.on_delivered(&s, t(150), true);
        assert_eq!(r.latest().unwrap().xmit, t(0));
        r.on_delivered(&s, t(150), false);
        assert_eq!(r.latest().unwrap().xmit, t(100));
    }
}
