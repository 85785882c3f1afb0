//! Sequence numbers and windows, the arithmetic the rest of TCP leans on.
//!
//! [`SeqNum`] is a point in the 2^32 sequence space of RFC 9293 §3.4. It adds
//! and subtracts modulo 2^32 and is compared only with
//! [`before`](SeqNum::before)/[`after`](SeqNum::after) and friends: it
//! implements neither `PartialOrd` nor `Ord`, because wrapping order is not a
//! total order (docs/ARCHITECTURE.md rule 6). [`is_acceptable`] is the
//! segment acceptability test of RFC 9293 §3.10.7.4.
//!
//! The window types carry RFC 7323 §2 window scaling in their types:
//! [`UnscaledWindowSize`] is the 16-bit header field, [`WindowScale`] a shift
//! of at most 14, and `UnscaledWindowSize << WindowScale` gives a
//! [`WindowSize`], which can never exceed `65535 << 14`.

use core::cmp::Ordering;
use core::fmt;
use core::ops::{Add, AddAssign, Shl, Shr, Sub, SubAssign};

/// A TCP sequence number. Arithmetic wraps modulo 2^32.
///
/// Ordering: for two numbers less than 2^31 apart, `a.before(b)` means `b` is
/// reached from `a` by moving forward. Numbers exactly 2^31 apart are
/// ambiguous in serial arithmetic (RFC 1982); TCP never compares such pairs
/// (windows are below 2^30), and this type breaks the tie by raw value so that
/// for *every* pair exactly one of `before`, `==`, `after` holds and
/// `a.before(b) == b.after(a)`.
//= https://www.rfc-editor.org/rfc/rfc9293#section-3.4
//# Since the space is finite, all arithmetic dealing with sequence numbers
//# must be performed modulo 2^32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct SeqNum(u32);

/// Half the sequence space: the distance at which order becomes ambiguous.
const HALF: u32 = 1 << 31;

impl SeqNum {
    /// The sequence number with this raw value (for example from a header).
    pub(crate) const fn new(raw: u32) -> Self {
        Self(raw)
    }

    /// The raw value, for writing into a header.
    pub(crate) const fn get(self) -> u32 {
        self.0
    }

    /// Serial-number order of `self` relative to `other` (see the type docs).
    fn serial_cmp(self, other: Self) -> Ordering {
        let d = self.0.wrapping_sub(other.0);
        match d {
            0 => Ordering::Equal,
            HALF => self.0.cmp(&other.0),
            d if d < HALF => Ordering::Greater,
            _ => Ordering::Less,
        }
    }

    /// `self` comes strictly before `other` in sequence space.
    pub(crate) fn before(self, other: Self) -> bool {
        self.serial_cmp(other) == Ordering::Less
    }

    /// `self` comes strictly after `other` in sequence space.
    pub(crate) fn after(self, other: Self) -> bool {
        self.serial_cmp(other) == Ordering::Greater
    }

    /// `self` is `other` or comes before it.
    pub(crate) fn before_or_eq(self, other: Self) -> bool {
        self.serial_cmp(other) != Ordering::Greater
    }

    /// `self` is `other` or comes after it.
    pub(crate) fn after_or_eq(self, other: Self) -> bool {
        self.serial_cmp(other) != Ordering::Less
    }

    /// The earlier of the two (either one when equal).
    pub(crate) fn earliest(self, other: Self) -> Self {
        if self.before(other) { self } else { other }
    }

    /// The later of the two (either one when equal).
    pub(crate) fn latest(self, other: Self) -> Self {
        if self.after(other) { self } else { other }
    }

    /// The forward distance from `base` to `self`, modulo 2^32.
    ///
    /// Equal to `self - base` whenever `base.before_or_eq(self)` (and the
    /// two are less than 2^31 apart); use it to turn a sequence number into an
    /// offset from a window edge once the order is known.
    pub(crate) const fn wrapping_offset_from(self, base: Self) -> u32 {
        self.0.wrapping_sub(base.0)
    }

    /// `start <= self < start + len` in sequence space.
    ///
    /// Measured as the forward distance from `start`, so it is exact for any
    /// `len` up to 2^32 - 1 and `len == 0` contains nothing.
    pub(crate) const fn in_window(self, start: Self, len: u32) -> bool {
        self.wrapping_offset_from(start) < len
    }
}

impl fmt::Display for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Add<u32> for SeqNum {
    type Output = Self;
    /// Moves forward `rhs` octets, wrapping modulo 2^32.
    fn add(self, rhs: u32) -> Self {
        Self(self.0.wrapping_add(rhs))
    }
}

impl AddAssign<u32> for SeqNum {
    fn add_assign(&mut self, rhs: u32) {
        *self = *self + rhs;
    }
}

impl Sub<u32> for SeqNum {
    type Output = Self;
    /// Moves back `rhs` octets, wrapping modulo 2^32.
    fn sub(self, rhs: u32) -> Self {
        Self(self.0.wrapping_sub(rhs))
    }
}

impl SubAssign<u32> for SeqNum {
    fn sub_assign(&mut self, rhs: u32) {
        *self = *self - rhs;
    }
}

impl Sub for SeqNum {
    type Output = i32;
    /// The signed distance from `rhs` to `self`: positive when `self` is
    /// after `rhs`. Pairs exactly 2^31 apart give `i32::MIN` both ways.
    fn sub(self, rhs: Self) -> i32 {
        // Reinterpreting the two's-complement bits is the point: the wrapped
        // difference read as signed is the serial-number distance.
        self.0.wrapping_sub(rhs.0) as i32
    }
}

/// RFC 9293's segment acceptability test: may a segment that starts at
/// `seg_seq` and occupies `seg_len` sequence numbers (SYN and FIN count one
/// each) be processed, given the receive window `rcv_nxt`, `rcv_wnd`?
///
/// This is the table exactly. Note what it implies: a segment that starts
/// before `rcv_nxt` *and* ends past the window's right edge fails it
/// (neither its first nor its last octet is inside), even though it carries
/// the bytes we want. A peer that respects our window never sends one.
pub(crate) fn is_acceptable(
    seg_seq: SeqNum,
    seg_len: u32,
    rcv_nxt: SeqNum,
    rcv_wnd: WindowSize,
) -> bool {
    let wnd = rcv_wnd.get();
    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
    //# There are four cases for the acceptability test for an incoming
    //# segment:
    match (seg_len, wnd) {
        // 0 0: SEG.SEQ = RCV.NXT
        (0, 0) => seg_seq == rcv_nxt,
        // 0 >0: RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
        (0, _) => seg_seq.in_window(rcv_nxt, wnd),
        // >0 0: not acceptable
        (_, 0) => false,
        // >0 >0: RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
        //     or RCV.NXT =< SEG.SEQ+SEG.LEN-1 < RCV.NXT+RCV.WND
        (len, _) => {
            seg_seq.in_window(rcv_nxt, wnd)
                || (seg_seq + len.saturating_sub(1)).in_window(rcv_nxt, wnd)
        }
    }
}

/// The 16-bit window field of a TCP header, before any scaling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnscaledWindowSize(u16);

impl UnscaledWindowSize {
    /// A zero window.
    pub const ZERO: Self = Self(0);
    /// The largest header value.
    pub const MAX: Self = Self(u16::MAX);

    /// The window field with this raw value.
    pub const fn new(raw: u16) -> Self {
        Self(raw)
    }

    /// The raw value, for writing into a header.
    pub const fn get(self) -> u16 {
        self.0
    }
}

impl From<u16> for UnscaledWindowSize {
    fn from(raw: u16) -> Self {
        Self(raw)
    }
}

/// A window scale shift count (RFC 7323 §2), at most 14.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct WindowScale(u8);

impl WindowScale {
    /// No scaling.
    pub const ZERO: Self = Self(0);

    //= https://www.rfc-editor.org/rfc/rfc7323#section-2.3
    //# Thus, the shift count MUST be limited to 14 (which allows windows of
    //# 2^30 = 1 GiB).
    /// The largest shift, 14 (RFC 7323 §2.3).
    pub const MAX: Self = Self(14);

    /// The shift `shift`, or `None` above 14.
    pub const fn new(shift: u8) -> Option<Self> {
        if shift <= Self::MAX.0 {
            Some(Self(shift))
        } else {
            None
        }
    }

    /// The shift to use for a Window Scale option received from a peer.
    pub const fn from_option(shift_cnt: u8) -> Self {
        //= https://www.rfc-editor.org/rfc/rfc7323#section-2.3
        //# If a Window Scale option is received with a shift.cnt value larger
        //# than 14, the TCP SHOULD log the error but MUST use 14 instead of the
        //# specified value.
        if shift_cnt <= Self::MAX.0 {
            Self(shift_cnt)
        } else {
            Self::MAX
        }
    }

    /// The smallest shift whose largest window (`65535 << shift`) is at least
    /// `window`: what to offer in a SYN for a receive buffer that size.
    pub fn covering(window: WindowSize) -> Self {
        let mut shift = 0u8;
        while shift < Self::MAX.0 && (u32::from(u16::MAX) << shift) < window.get() {
            shift += 1;
        }
        Self(shift)
    }

    /// The shift count.
    pub const fn get(self) -> u8 {
        self.0
    }
}

/// A window in octets after scaling: at most `65535 << 14`, the largest
/// window RFC 7323 can express.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct WindowSize(u32);

impl WindowSize {
    /// A zero window.
    pub const ZERO: Self = Self(0);
    /// `65535 << 14` octets (RFC 7323 §2.3 limits the shift to 14).
    pub const MAX: Self = Self((u16::MAX as u32) << 14);

    /// The window `octets`, or `None` above [`WindowSize::MAX`].
    pub const fn new(octets: u32) -> Option<Self> {
        if octets <= Self::MAX.0 {
            Some(Self(octets))
        } else {
            None
        }
    }

    /// The window `octets`, capped at [`WindowSize::MAX`].
    pub const fn new_saturating(octets: u32) -> Self {
        if octets <= Self::MAX.0 {
            Self(octets)
        } else {
            Self::MAX
        }
    }

    /// The window `octets` (a buffer's free space), capped at
    /// [`WindowSize::MAX`].
    pub fn from_usize_saturating(octets: usize) -> Self {
        Self::new_saturating(u32::try_from(octets).unwrap_or(u32::MAX))
    }

    /// The window in octets.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// `self - octets`, or zero.
    pub const fn saturating_sub(self, octets: u32) -> Self {
        Self(self.0.saturating_sub(octets))
    }

    /// `self + octets`, capped at [`WindowSize::MAX`].
    pub const fn saturating_add(self, octets: u32) -> Self {
        Self::new_saturating(self.0.saturating_add(octets))
    }
}

impl From<UnscaledWindowSize> for WindowSize {
    fn from(w: UnscaledWindowSize) -> Self {
        Self(u32::from(w.0))
    }
}

impl Shl<WindowScale> for UnscaledWindowSize {
    type Output = WindowSize;
    /// Scales a received window field: `SND.WND = SEG.WND << Snd.Wind.Shift`.
    /// Cannot exceed [`WindowSize::MAX`] because the shift is at most 14.
    fn shl(self, scale: WindowScale) -> WindowSize {
        WindowSize(u32::from(self.0) << scale.0)
    }
}

impl Shr<WindowScale> for WindowSize {
    type Output = UnscaledWindowSize;
    /// The header field that advertises this window: shifted right (rounding
    /// down) and saturated at 65535 when the window is too big for the scale.
    fn shr(self, scale: WindowScale) -> UnscaledWindowSize {
        UnscaledWindowSize(u16::try_from(self.0 >> scale.0).unwrap_or(u16::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(raw: u32) -> SeqNum {
        SeqNum::new(raw)
    }

    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.4
    //= type=test
    //# Since the space is finite, all arithmetic dealing with sequence numbers
    //# must be performed modulo 2^32.
    #[test]
    fn arithmetic_wraps() {
        assert_eq!(s(u32::MAX) + 1, s(0));
        assert_eq!(s(0) - 1, s(u32::MAX));
        assert_eq!(s(5) - s(u32::MAX - 4), 10);
        assert_eq!(s(u32::MAX - 4) - s(5), -10);
        assert!(s(u32::MAX).before(s(0)));
        assert!(s(0).after(s(u32::MAX)));
        assert_eq!(s(3).wrapping_offset_from(s(u32::MAX)), 4);
        let mut x = s(u32::MAX);
        x += 2;
        assert_eq!(x, s(1));
        x -= 3;
        assert_eq!(x, s(u32::MAX - 1));
        assert_eq!(s(7).to_string(), "7");
    }

    #[test]
    fn half_space_tie_is_broken_consistently() {
        let (a, b) = (s(10), s(10 + HALF));
        assert_eq!(a - b, i32::MIN);
        assert_eq!(b - a, i32::MIN);
        assert!(a.before(b));
        assert!(b.after(a));
        assert!(!b.before(a));
    }

    #[test]
    fn earliest_latest_and_window() {
        assert_eq!(s(u32::MAX).earliest(s(2)), s(u32::MAX));
        assert_eq!(s(u32::MAX).latest(s(2)), s(2));
        assert!(s(1).in_window(s(u32::MAX), 3));
        assert!(!s(2).in_window(s(u32::MAX), 3));
        assert!(!s(5).in_window(s(5), 0));
    }

    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
    //= type=test
    //# There are four cases for the acceptability test for an incoming
    //# segment:
    #[test]
    fn acceptability_table() {
        let nxt = s(u32::MAX - 9); // the window straddles the wrap
        let w10 = WindowSize::new(10).unwrap();
        // 0 0
        assert!(is_acceptable(nxt, 0, nxt, WindowSize::ZERO));
        assert!(!is_acceptable(nxt + 1, 0, nxt, WindowSize::ZERO));
        // 0 >0
        assert!(is_acceptable(nxt + 9, 0, nxt, w10));
        assert!(!is_acceptable(nxt + 10, 0, nxt, w10));
        assert!(!is_acceptable(nxt - 1, 0, nxt, w10));
        // >0 0
        assert!(!is_acceptable(nxt, 1, nxt, WindowSize::ZERO));
        // >0 >0: first octet inside, last octet inside, neither
        assert!(is_acceptable(nxt + 9, 100, nxt, w10));
        assert!(is_acceptable(nxt - 5, 6, nxt, w10));
        assert!(!is_acceptable(nxt - 5, 5, nxt, w10));
        assert!(!is_acceptable(nxt + 10, 1, nxt, w10));
        // straddles both edges: the table as written rejects it
        assert!(!is_acceptable(nxt - 1, 12, nxt, w10));
    }

    //= https://www.rfc-editor.org/rfc/rfc7323#section-2.3
    //= type=test
    //# If a Window Scale option is received with a shift.cnt value larger
    //# than 14, the TCP SHOULD log the error but MUST use 14 instead of the
    //# specified value.
    #[test]
    fn window_scale_limits() {
        assert_eq!(WindowScale::new(14), Some(WindowScale::MAX));
        assert_eq!(WindowScale::new(15), None);
        assert_eq!(WindowScale::from_option(15), WindowScale::MAX);
        assert_eq!(WindowScale::from_option(255), WindowScale::MAX);
        assert_eq!(WindowScale::from_option(7).get(), 7);
    }

    #[test]
    fn window_scaling() {
        let max = UnscaledWindowSize::MAX << WindowScale::MAX;
        assert_eq!(max, WindowSize::MAX);
        assert_eq!(max.get(), 65535 << 14);
        assert_eq!(WindowSize::new(WindowSize::MAX.get() + 1), None);
        assert_eq!(WindowSize::new_saturating(u32::MAX), WindowSize::MAX);
        assert_eq!(
            WindowSize::from_usize_saturating(usize::MAX),
            WindowSize::MAX
        );
        let w = WindowSize::new(1 << 20).unwrap();
        assert_eq!(w >> WindowScale::ZERO, UnscaledWindowSize::MAX);
        assert_eq!((w >> WindowScale::new(5).unwrap()).get(), 1 << 15);
        assert_eq!(
            (WindowSize::new(1023).unwrap() >> WindowScale::new(4).unwrap()).get(),
            63
        );
        assert_eq!(WindowSize::from(UnscaledWindowSize::new(9)).get(), 9);
        assert_eq!(WindowSize::MAX.saturating_add(1), WindowSize::MAX);
        assert_eq!(WindowSize::ZERO.saturating_sub(1), WindowSize::ZERO);
    }

    #[test]
    fn scale_covering_a_buffer() {
        let cover = |n: u32| WindowScale::covering(WindowSize::new(n).unwrap()).get();
        assert_eq!(cover(0), 0);
        assert_eq!(cover(65535), 0);
        assert_eq!(cover(65536), 1);
        assert_eq!(cover(4 << 20), 7);
        assert_eq!(cover(WindowSize::MAX.get()), 14);
    }

    fn seq() -> impl Strategy<Value = SeqNum> {
        any::<u32>().prop_map(SeqNum::new)
    }

    proptest! {
        #[test]
        fn totality(a in seq(), b in seq()) {
            let n = [a.before(b), a == b, a.after(b)].iter().filter(|x| **x).count();
            prop_assert_eq!(n, 1);
        }

        #[test]
        fn before_after_inverse(a in seq(), b in seq()) {
            prop_assert_eq!(a.before(b), b.after(a));
            prop_assert_eq!(a.before_or_eq(b), b.after_or_eq(a));
            prop_assert_eq!(a.before_or_eq(b), a.before(b) || a == b);
            prop_assert_eq!(a.after_or_eq(b), !a.before(b));
        }

        #[test]
        fn transitive_inside_half_space(a in seq(), d1 in 1u32..HALF, d2 in 1u32..HALF) {
            prop_assume!(d1.checked_add(d2).is_some_and(|d| d < HALF));
            let (b, c) = (a + d1, a + d1 + d2);
            prop_assert!(a.before(b) && b.before(c));
            prop_assert!(a.before(c));
            prop_assert!(c.after(a));
        }

        #[test]
        fn wrap_around(a in seq(), d in 1u32..HALF) {
            let b = a + d;
            prop_assert!(a.before(b));
            prop_assert_eq!(b - a, i32::try_from(d).unwrap());
            prop_assert_eq!(b - d, a);
            prop_assert_eq!(b.wrapping_offset_from(a), d);
            prop_assert!(a.in_window(a, d) && !b.in_window(a, d));
            prop_assert_eq!(a.earliest(b), a);
            prop_assert_eq!(b.earliest(a), a);
            prop_assert_eq!(a.latest(b), b);
        }

        #[test]
        fn sub_is_consistent_with_order(a in seq(), b in seq()) {
            let d = a - b;
            if d != i32::MIN {
                prop_assert_eq!(d < 0, a.before(b));
                prop_assert_eq!(d > 0, a.after(b));
                prop_assert_eq!(b + d as u32, a);
            }
        }

        #[test]
        fn acceptability_never_panics(q in seq(), len in any::<u32>(), n in seq(), w in any::<u32>()) {
            let w = WindowSize::new_saturating(w);
            let ok = is_acceptable(q, len, n, w);
            if w == WindowSize::ZERO && len > 0 {
                prop_assert!(!ok);
            }
        }

        #[test]
        fn scaling_round_trips(raw in any::<u16>(), shift in 0u8..=14) {
            let scale = WindowScale::new(shift).unwrap();
            let w = UnscaledWindowSize::new(raw) << scale;
            prop_assert!(w <= WindowSize::MAX);
            prop_assert_eq!(w >> scale, UnscaledWindowSize::new(raw));
        }

        #[test]
        fn shr_rounds_down_and_saturates(w in 0u32..=WindowSize::MAX.get(), shift in 0u8..=14) {
            let scale = WindowScale::new(shift).unwrap();
            let adv = WindowSize::new(w).unwrap() >> scale;
            prop_assert!((adv << scale).get() <= w);
            if (w >> shift) <= u32::from(u16::MAX) {
                prop_assert_eq!(u32::from(adv.get()), w >> shift);
            } else {
                prop_assert_eq!(adv, UnscaledWindowSize::MAX);
            }
        }

        #[test]
        fn covering_is_smallest(w in 0u32..=WindowSize::MAX.get()) {
            let s = WindowScale::covering(WindowSize::new(w).unwrap());
            prop_assert!((UnscaledWindowSize::MAX << s).get() >= w);
            if s.get() > 0 {
                let smaller = WindowScale::new(s.get() - 1).unwrap();
                prop_assert!((UnscaledWindowSize::MAX << smaller).get() < w);
            }
        }
    }
}
