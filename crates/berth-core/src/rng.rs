//! The workspace's random numbers: SplitMix64 seeded from the
//! configuration, so a seeded stack (and every test and simulation) runs the
//! same each time. The stack, the virtual-time link ([`crate::sim`]) and
//! `berth-device`'s wall-clock fault injector all draw from this one
//! generator. Security-relevant values (ISNs, SYN cookies) additionally go
//! through keyed SipHash with a secret drawn from here (RFC 6528).

/// SplitMix64 (Steele, Lea and Flood, 2014): small, fast, seedable and good
/// enough for fault injection and port choice; not a CSPRNG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`, from the top 53 bits of one draw.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`. Draws only when `p > 0`, so a fault that
    /// is off does not shift the stream of the others.
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.next_f64() <= p
    }

    /// A number in `0..n` (0 when `n` is 0, without a draw).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn matches_the_reference_values() {
        // Reference outputs of splitmix64.c for seed 1234567.
        let mut rng = Rng::new(1_234_567);
        let expected = [
            6_457_827_717_110_365_317u64,
            3_203_168_211_198_807_973,
            9_817_491_932_198_370_423,
            4_593_380_528_125_082_431,
            16_408_922_859_458_223_821,
        ];
        for want in expected {
            assert_eq!(rng.next_u64(), want);
        }
    }

    #[test]
    fn degenerate_arguments_do_not_draw() {
        let mut rng = Rng::new(1);
        assert!(!rng.chance(0.0));
        assert_eq!(rng.below(0), 0);
        assert_eq!(rng, Rng::new(1));
    }
}
