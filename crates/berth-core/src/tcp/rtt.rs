//! The retransmission timeout: an RFC 6298 estimator of the round-trip time
//! (SRTT, RTTVAR) with alpha = 1/8, beta = 1/4, K = 4 and clock granularity
//! G, giving RTO with exponential backoff.
//!
//! The estimator only does arithmetic. The connection owns the timer, reads
//! the time from its arguments, and decides which measurements are valid:
//!
//! **Karn's rule is the caller's.** Call [`RttEstimator::sample`] only with
//! unambiguous measurements. Without timestamps that means never timing a
//! segment that was retransmitted. With RFC 7323 timestamps in use the echoed
//! TSecr says which transmission an ACK answers, so retransmitted segments may
//! be timed too (and every ACK that acknowledges new data can give a sample).
//!
//! Bounds are configuration ([`RttConfig`]). The defaults follow Linux rather
//! than RFC 6298 (2.4) on the minimum: 200 ms instead of 1 s. RFC 6298 asks
//! for 1 s because coarse timers and delayed ACKs made smaller values fire
//! spuriously; the RFC itself expects "that at some future point, research
//! may show that a smaller minimum RTO is acceptable or superior". berth runs
//! with microsecond timers, mostly opposite Linux peers whose delayed ACK is
//! at most 200 ms, and a 1 s floor would make every loss on a short path cost
//! a second. Linux's own formula differs in one more way that we do not copy:
//! it floors the variance term at 200 ms (so its RTO is at least SRTT + 200
//! ms), where we floor the RTO itself, as RFC 6298 (2.4) does. The maximum,
//! 120 s, is Linux's `TCP_RTO_MAX`.
//!
//! Also the caller's: RFC 6298 (5.7) (re-initialise RTO to 3 s after a timed
//! out SYN) and the optional clearing of SRTT/RTTVAR after repeated backoffs.

use crate::time::Duration;

/// RFC 6298 (2.1): the RTO before any measurement, 1 s.
pub(crate) const INITIAL_RTO: Duration = Duration::from_secs(1);
/// The minimum RTO, 200 ms: Linux's `TCP_RTO_MIN` (RFC 6298 (2.4) says 1 s;
/// see the module docs for why we follow Linux).
pub(crate) const MIN_RTO: Duration = Duration::from_millis(200);
/// The maximum RTO, 120 s: Linux's `TCP_RTO_MAX` (RFC 6298 (2.5): any
/// maximum "provided it is at least 60 seconds").
pub(crate) const MAX_RTO: Duration = Duration::from_secs(120);
/// The clock granularity G, 1 ms: the resolution the runtime's timers fire
/// at, not the microseconds of [`crate::time::Instant`].
pub(crate) const GRANULARITY: Duration = Duration::from_millis(1);

/// RFC 6298 (2.2): K = 4.
const K: u32 = 4;

/// Settings for an [`RttEstimator`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RttConfig {
    /// The RTO until the first measurement.
    pub initial_rto: Duration,
    /// No computed or backed-off RTO is below this.
    pub min_rto: Duration,
    /// No computed or backed-off RTO is above this. If it is below
    /// `min_rto`, it wins.
    pub max_rto: Duration,
    /// The clock granularity G.
    pub granularity: Duration,
}

impl Default for RttConfig {
    fn default() -> Self {
        Self {
            initial_rto: INITIAL_RTO,
            min_rto: MIN_RTO,
            max_rto: MAX_RTO,
            granularity: GRANULARITY,
        }
    }
}

impl RttConfig {
    /// `rto` within `min_rto..=max_rto` (`max_rto` if they cross).
    fn bound(&self, rto: Duration) -> Duration {
        rto.max(self.min_rto).min(self.max_rto)
    }
}

/// SRTT, RTTVAR and the RTO derived from them, with backoff.
#[derive(Debug, Clone)]
pub(crate) struct RttEstimator {
    config: RttConfig,
    /// `None` until the first measurement.
    srtt: Option<Duration>,
    rttvar: Duration,
    /// The RTO as last computed, before backoff.
    base_rto: Duration,
    /// Doublings since the last measurement or [`reset_backoff`](Self::reset_backoff).
    backoffs: u32,
}

impl RttEstimator {
    /// An estimator with no measurement yet.
    pub(crate) fn new(config: RttConfig) -> Self {
        //= https://www.rfc-editor.org/rfc/rfc6298#section-2
        //# (2.1) Until a round-trip time (RTT) measurement has been made for a
        //# segment sent between the sender and receiver, the sender SHOULD
        //# set RTO <- 1 second, though the "backing off" on repeated
        //# retransmission discussed in (5.5) still applies.
        Self {
            config,
            srtt: None,
            rttvar: Duration::ZERO,
            base_rto: config.bound(config.initial_rto),
            backoffs: 0,
        }
    }

    /// Takes the measurement `r`. Only pass unambiguous measurements (Karn's
    /// rule, see the module docs). Clears any backoff.
    pub(crate) fn sample(&mut self, r: Duration) {
        match self.srtt {
            None => {
                //= https://www.rfc-editor.org/rfc/rfc6298#section-2
                //# (2.2) When the first RTT measurement R is made, the host MUST set
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(srtt) => {
                //= https://www.rfc-editor.org/rfc/rfc6298#section-2
                //# (2.3) When a subsequent RTT measurement R' is made, a host MUST set
                //#
                //#          RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|
                //#          SRTT <- (1 - alpha) * SRTT + alpha * R'
                //#
                //# The value of SRTT used in the update to RTTVAR is its value
                //# before updating SRTT itself using the second assignment.
                let delta = srtt.abs_diff(r);
                self.rttvar = self.rttvar.saturating_mul(3).saturating_add(delta) / 4;
                self.srtt = Some(srtt.saturating_mul(7).saturating_add(r) / 8);
            }
        }
        let srtt = self.srtt.unwrap_or(r);
        //= https://www.rfc-editor.org/rfc/rfc6298#section-4
        //# However, if the K*RTTVAR term in the RTO calculation equals zero, the
        //# variance term MUST be rounded to G seconds (i.e., use the equation
        //# given in step 2.3).
        let variance = self.rttvar.saturating_mul(K).max(self.config.granularity);
        //= https://www.rfc-editor.org/rfc/rfc6298#section-2
        //# (2.4) Whenever RTO is computed, if it is less than 1 second, then the
        //# RTO SHOULD be rounded up to 1 second.
        // With `min_rto` from the config: 200 ms by default (module docs).
        self.base_rto = self.config.bound(srtt.saturating_add(variance));
        //= https://www.rfc-editor.org/rfc/rfc6298#section-5
        //# Note that after retransmitting, once a new RTT measurement is
        //# obtained (which can only happen when new data has been sent and
        //# acknowledged), the computations outlined in Section 2 are performed,
        //# including the computation of RTO, which may result in "collapsing"
        //# RTO back down after it has been subject to exponential back off
        //# (rule 5.5).
        self.backoffs = 0;
    }

    /// The retransmission timer expired: back off (double the RTO, up to the
    /// maximum).
    pub(crate) fn on_timeout(&mut self) {
        //= https://www.rfc-editor.org/rfc/rfc6298#section-5
        //# (5.5) The host MUST set RTO <- RTO * 2 ("back off the timer").  The
        //# maximum value discussed in (2.5) above may be used to provide
        //# an upper bound to this doubling operation.
        self.backoffs = self.backoffs.saturating_add(1);
    }

    /// Forgets the backoff without a measurement, for a caller that wants
    /// RTO to collapse on an ACK of new data it could not time.
    pub(crate) fn reset_backoff(&mut self) {
        self.backoffs = 0;
    }

    /// The RTO to arm the retransmission timer with: the computed RTO doubled
    /// once per timeout since the last measurement, within the bounds.
    pub(crate) fn rto(&self) -> Duration {
        let factor = 1u32.checked_shl(self.backoffs).unwrap_or(u32::MAX);
        //= https://www.rfc-editor.org/rfc/rfc6298#section-2
        //# (2.5) A maximum value MAY be placed on RTO provided it is at least 60
        //# seconds.
        self.config.bound(self.base_rto.saturating_mul(factor))
    }

    /// The smoothed round-trip time, once there is a measurement.
    pub(crate) fn srtt(&self) -> Option<Duration> {
        self.srtt
    }

    #[cfg(test)]
    /// The round-trip time variation (zero before the first measurement).
    pub(crate) fn rttvar(&self) -> Duration {
        self.rttvar
    }

    #[cfg(test)]
    /// Timeouts since the last measurement or backoff reset: how many
    /// consecutive retransmissions the current RTO reflects.
    pub(crate) fn backoffs(&self) -> u32 {
        self.backoffs
    }
}

impl Default for RttEstimator {
    fn default() -> Self {
        Self::new(RttConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    /// The RFC's own numbers: no floor and a granularity that never matters.
    fn unbounded() -> RttConfig {
        RttConfig {
            min_rto: Duration::ZERO,
            granularity: Duration::ZERO,
            ..RttConfig::default()
        }
    }

    //= https://www.rfc-editor.org/rfc/rfc6298#section-2
    //= type=test
    //# (2.1) Until a round-trip time (RTT) measurement has been made for a
    //# segment sent between the sender and receiver, the sender SHOULD
    //# set RTO <- 1 second, though the "backing off" on repeated
    //# retransmission discussed in (5.5) still applies.
    #[test]
    fn initial_rto_and_its_backoff() {
        let mut e = RttEstimator::default();
        assert_eq!(e.rto(), Duration::from_secs(1));
        assert_eq!(e.srtt(), None);
        e.on_timeout();
        assert_eq!(e.rto(), Duration::from_secs(2));
        assert_eq!(e.backoffs(), 1);
    }

    //= https://www.rfc-editor.org/rfc/rfc6298#section-2
    //= type=test
    //# (2.2) When the first RTT measurement R is made, the host MUST set
    #[test]
    fn first_measurement() {
        let mut e = RttEstimator::new(unbounded());
        e.sample(ms(100));
        assert_eq!(e.srtt(), Some(ms(100)));
        assert_eq!(e.rttvar(), ms(50));
        // RTO <- SRTT + max (G, K*RTTVAR) = 100 + 4 * 50
        assert_eq!(e.rto(), ms(300));
    }

    //= https://www.rfc-editor.org/rfc/rfc6298#section-2
    //= type=test
    //# (2.3) When a subsequent RTT measurement R' is made, a host MUST set
    #[test]
    fn subsequent_measurement_in_the_rfc_order() {
        let mut e = RttEstimator::new(unbounded());
        e.sample(ms(100));
        e.sample(ms(300));
        // RTTVAR = 3/4 * 50 + 1/4 * |100 - 300| = 87.5 ms, using the old SRTT
        // (with the new SRTT, 125 ms, it would be 81.25 ms).
        assert_eq!(e.rttvar(), us(87_500));
        // SRTT = 7/8 * 100 + 1/8 * 300 = 125 ms
        assert_eq!(e.srtt(), Some(ms(125)));
        assert_eq!(e.rto(), ms(125 + 350));
        e.sample(ms(200));
        // RTTVAR = 3/4 * 87.5 + 1/4 * 75 = 84.375; SRTT = 7/8 * 125 + 25 = 134.375
        assert_eq!(e.rttvar(), us(84_375));
        assert_eq!(e.srtt(), Some(us(134_375)));
    }

    //= https://www.rfc-editor.org/rfc/rfc6298#section-4
    //= type=test
    //# However, if the K*RTTVAR term in the RTO calculation equals zero, the
    //# variance term MUST be rounded to G seconds (i.e., use the equation
    //# given in step 2.3).
    #[test]
    fn granularity_floors_the_variance_term() {
        let mut e = RttEstimator::new(RttConfig {
            granularity: ms(10),
            ..unbounded()
        });
        e.sample(Duration::ZERO);
        assert_eq!(e.rttvar(), Duration::ZERO);
        assert_eq!(e.rto(), ms(10));
        for _ in 0..100 {
            e.sample(ms(40));
        }
        // RTTVAR has decayed below G / K, so the G term is what is added.
        assert!(e.rttvar() * K < ms(10));
        assert_eq!(e.rto(), e.srtt().unwrap() + ms(10));
    }

    //= https://www.rfc-editor.org/rfc/rfc6298#section-2
    //= type=test
    //# (2.4) Whenever RTO is computed, if it is less than 1 second, then the
    //# RTO SHOULD be rounded up to 1 second.
    #[test]
    fn minimum_rto() {
        let mut rfc = RttEstimator::new(RttConfig {
            min_rto: Duration::from_secs(1),
            ..RttConfig::default()
        });
        rfc.sample(ms(10));
        assert_eq!(rfc.rto(), Duration::from_secs(1));
        // Our default floor is Linux's 200 ms.
        let mut e = RttEstimator::default();
        e.sample(ms(10));
        assert_eq!(e.rto(), ms(200));
        e.sample(ms(1000));
        assert!(e.rto() > ms(200));
    }

    //= https://www.rfc-editor.org/rfc/rfc6298#section-5
    //= type=test
    //# (5.5) The host MUST set RTO <- RTO * 2 ("back off the timer").  The
    //# maximum value discussed in (2.5) above may be used to provide
    //# an upper bound to this doubling operation.
    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let mut e = RttEstimator::default();
        e.sample(ms(100)); // RTO 300 ms
        let mut expected = ms(300);
        for _ in 0..9 {
            e.on_timeout();
            expected *= 2;
            assert_eq!(e.rto(), expected.min(MAX_RTO));
        }
        for _ in 0..100 {
            e.on_timeout();
        }
        assert_eq!(e.rto(), MAX_RTO);
        assert_eq!(e.backoffs(), 109);
    }

    //= https://www.rfc-editor.org/rfc/rfc6298#section-5
    //= type=test
    //# Note that after retransmitting, once a new RTT measurement is
    //# obtained (which can only happen when new data has been sent and
    //# acknowledged), the computations outlined in Section 2 are performed,
    //# including the computation of RTO, which may result in "collapsing"
    //# RTO back down after it has been subject to exponential back off
    //# (rule 5.5).
    #[test]
    fn measurement_collapses_backoff() {
        let mut e = RttEstimator::default();
        e.sample(ms(100));
        e.on_timeout();
        e.on_timeout();
        assert_eq!(e.rto(), ms(1200));
        e.sample(ms(100));
        assert_eq!(e.backoffs(), 0);
        assert!(e.rto() < ms(400));
        e.on_timeout();
        e.reset_backoff();
        assert!(e.rto() < ms(400));
    }

    //= https://www.rfc-editor.org/rfc/rfc6298#section-2
    //= type=test
    //# (2.5) A maximum value MAY be placed on RTO provided it is at least 60
    //# seconds.
    #[test]
    fn maximum_and_crossed_bounds() {
        let mut e = RttEstimator::default();
        e.sample(Duration::from_secs(500));
        assert_eq!(e.rto(), MAX_RTO);
        let crossed = RttConfig {
            min_rto: ms(500),
            max_rto: ms(100),
            ..RttConfig::default()
        };
        let mut e = RttEstimator::new(crossed);
        assert_eq!(e.rto(), ms(100));
        e.sample(ms(1));
        assert_eq!(e.rto(), ms(100));
    }

    proptest! {
        #[test]
        fn rto_stays_in_bounds(
            samples in proptest::collection::vec(
                prop_oneof![(0u64..10_000_000).prop_map(us), any::<u64>().prop_map(Duration::from_micros),
                            Just(Duration::MAX)],
                0..20),
            timeouts in 0u32..100,
        ) {
            let mut e = RttEstimator::default();
            for s in samples {
                e.sample(s);
                prop_assert!(e.rto() >= MIN_RTO && e.rto() <= MAX_RTO);
            }
            for _ in 0..timeouts {
                let before = e.rto();
                e.on_timeout();
                prop_assert!(e.rto() >= before && e.rto() <= MAX_RTO);
            }
        }
    }
}
