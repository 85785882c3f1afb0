//! A byte ring addressed by position, the storage under
//! [`SendBuffer`](super::send_buffer::SendBuffer) and
//! [`RecvBuffer`](super::recv_buffer::RecvBuffer). It only stores bytes; the
//! buffers decide which positions hold valid data.
//!
//! Its capacity is fixed, its storage is not: a connection starts with none
//! and the storage doubles (up to the capacity) when the buffer asks for
//! more room ([`Ring::reserve`]), as Linux allocates socket buffers as data
//! comes rather than at `socket()`. An idle connection then costs no buffer
//! memory, and creating one touches no pages; the first storage is just
//! large enough for the first data (a 64-byte request gets 64 bytes, not a
//! page to allocate and clear); a bulk transfer reaches full size after a
//! few doublings and never allocates again.
//! No RFC.

use core::ops::Range;

/// Bytes in a ring of fixed capacity and growing storage. Positions are
/// taken modulo the storage's length, so they change when it grows:
/// [`Ring::reserve`] hands back the new position of the live bytes.
#[derive(Debug, Clone)]
pub(super) struct Ring {
    storage: Box<[u8]>,
    capacity: usize,
    /// Storage grows past this only as far as it must: the size its
    /// owner means the buffer to have now (a window, a send buffer that
    /// grows), so that doubling does not allocate far beyond use.
    soft_cap: usize,
    /// Growth may go half again past the storage when the soft cap is
    /// closer than that (see [`Ring::reserve`]); off when memory is short.
    slack: bool,
}

/// The least storage a ring allocates (in tests, one byte, so that the
/// buffers' property tests, whose capacities are small, grow it too).
const MIN_STORAGE: usize = if cfg!(test) { 1 } else { 64 };

/// Copies `min(dst.len(), src.len())` bytes from the front of `src` to the
/// front of `dst` and returns the count.
pub(super) fn copy_prefix(dst: &mut [u8], src: &[u8]) -> usize {
    let n = dst.len().min(src.len());
    if let (Some(d), Some(s)) = (dst.get_mut(..n), src.get(..n)) {
        d.copy_from_slice(s);
    }
    n
}

impl Ring {
    /// A ring that can hold `capacity` bytes; no storage yet.
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            storage: Box::default(),
            capacity,
            soft_cap: capacity,
            slack: true,
        }
    }

    /// The most bytes the ring can hold.
    pub(super) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Sets the size growth aims at, and whether it may grow ahead of it
    /// (see the fields).
    pub(super) fn set_soft_cap(&mut self, soft_cap: usize, slack: bool) {
        self.soft_cap = soft_cap;
        self.slack = slack;
    }

    /// Bytes of storage allocated now.
    pub(super) fn allocated(&self) -> usize {
        self.storage.len()
    }

    /// Makes room for `needed` bytes from the live ones, which are `live`
    /// bytes from position `head` (`needed` and `live` at most the
    /// capacity). Returns the live bytes' position afterwards: `head`
    /// unchanged, or 0 when the storage grew (they are copied to its start).
    /// Storage doubles, up to the soft cap; past it, it grows by half
    /// again with slack (or to `needed`), up to the capacity.
    pub(super) fn reserve(&mut self, head: usize, live: usize, needed: usize) -> usize {
        let needed = needed.min(self.capacity);
        if needed <= self.storage.len() {
            return head;
        }
        let current = self.storage.len();
        // With slack, each growth is at least half the storage again,
        // whatever the soft cap says: an owner whose size grows a little
        // at a time (a send buffer autotuned ACK by ACK) would otherwise
        // have its megabytes copied, and fresh pages faulted in, at every
        // step (2,835 growths for two 30 MB transfers in `berth sim`).
        // The copying stays amortised O(1) a byte, and the storage at
        // most half again the size meant. Without (memory is short: the
        // stack's bound counts storage), exactly as far as the cap.
        let least = if self.slack {
            needed.max(current.saturating_add(current / 2))
        } else {
            needed
        };
        let size = needed
            .checked_next_power_of_two()
            .unwrap_or(needed)
            .max(current.saturating_mul(2))
            .max(MIN_STORAGE)
            .min(self.soft_cap.max(least))
            .min(self.capacity);
        let mut storage = vec![0u8; size].into_boxed_slice();
        let (a, b) = self.slices(head, live);
        let n = copy_prefix(&mut storage, a);
        copy_prefix(storage.get_mut(n..).unwrap_or(&mut []), b);
        self.storage = storage;
        0
    }

    /// `(pos + off) mod storage`, for `pos < storage` and `off <= storage`.
    pub(super) fn wrap_add(&self, pos: usize, off: usize) -> usize {
        let cap = self.storage.len();
        // INVARIANT: a boxed slice holds at most isize::MAX bytes, so the sum
        // of two values no larger than the capacity cannot overflow.
        let sum = pos.saturating_add(off);
        if cap == 0 {
            0
        } else if sum >= cap {
            (sum - cap) % cap
        } else {
            sum
        }
    }

    /// The one or two index ranges that cover `len` bytes (at most the
    /// capacity) starting at position `pos`, wrapping at the end.
    fn split(&self, pos: usize, len: usize) -> (Range<usize>, Range<usize>) {
        let cap = self.storage.len();
        let pos = self.wrap_add(pos, 0);
        let len = len.min(cap);
        let first = len.min(cap - pos);
        (pos..pos + first, 0..len - first)
    }

    /// The stored bytes at `pos..pos + len`, as two slices across the wrap.
    pub(super) fn slices(&self, pos: usize, len: usize) -> (&[u8], &[u8]) {
        let (a, b) = self.split(pos, len);
        (
            self.storage.get(a).unwrap_or(&[]),
            self.storage.get(b).unwrap_or(&[]),
        )
    }

    /// Copies bytes starting at `pos` into `out`, as many as `out` holds (at
    /// most the capacity). Returns the count.
    pub(super) fn read(&self, pos: usize, out: &mut [u8]) -> usize {
        let (a, b) = self.slices(pos, out.len());
        let n = copy_prefix(out, a);
        n + copy_prefix(out.get_mut(n..).unwrap_or(&mut []), b)
    }

    /// Stores `data` starting at `pos` (at most the capacity). Returns the
    /// count.
    pub(super) fn write(&mut self, pos: usize, data: &[u8]) -> usize {
        let (a, b) = self.split(pos, data.len());
        let (d1, d2) = data.split_at_checked(a.len()).unwrap_or((data, &[]));
        let n = copy_prefix(self.storage.get_mut(a).unwrap_or(&mut []), d1);
        n + copy_prefix(self.storage.get_mut(b).unwrap_or(&mut []), d2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_on_demand_keeping_the_live_bytes() {
        let mut r = Ring::new(10_000);
        assert_eq!(r.allocated(), 0, "no storage before it is needed");
        let head = r.reserve(0, 0, 4096);
        assert_eq!((head, r.allocated()), (0, 4096));
        assert_eq!(r.write(4094, b"abcd"), 4);
        // Live: 4 bytes across the wrap; growing copies them to the front.
        let head = r.reserve(4094, 4, 4097);
        assert_eq!((head, r.allocated()), (0, 8192));
        assert_eq!(r.slices(0, 4), (&b"abcd"[..], &[][..]));
        // Capped at the capacity; within the storage nothing moves.
        assert_eq!(r.reserve(0, 4, 50_000), 0);
        assert_eq!(r.allocated(), 10_000);
        assert_eq!(r.reserve(3, 4, 100), 3);
    }

    #[test]
    fn growth_under_a_creeping_soft_cap_is_geometric() {
        // A send buffer autotuned a segment at a time: the size meant
        // grows by 1448 bytes before every write that fills it.
        let mut r = Ring::new(8 << 20);
        let (mut meant, mut growths, mut last) = (64 * 1024, 0, 0);
        while meant < 8 << 20 {
            r.set_soft_cap(meant, true);
            r.reserve(0, 0, meant);
            if r.allocated() != last {
                growths += 1;
                last = r.allocated();
            }
            assert!(r.allocated() >= meant);
            assert!(r.allocated() <= (meant + meant / 2).max(64 * 1024));
            meant += 1448;
        }
        // Half again each time from 64 KiB to 8 MiB: a dozen, not the
        // 5,700 steps the size took.
        assert!(growths <= 14, "{growths} growths");
    }

    #[test]
    fn wraps_reads_and_writes() {
        let mut r = Ring::new(5);
        assert_eq!(r.reserve(0, 0, 5), 0);
        let mut r = Ring {
            storage: vec![0; 5].into_boxed_slice(),
            ..r
        };
        assert_eq!(r.write(3, b"abcd"), 4);
        assert_eq!(r.slices(3, 4), (&b"ab"[..], &b"cd"[..]));
        let mut out = [0u8; 7];
        assert_eq!(r.read(3, &mut out), 5);
        assert_eq!(&out[..4], b"abcd");
        assert_eq!(r.write(0, b"0123456"), 5);
        assert_eq!(r.wrap_add(4, 5), 4);
        assert_eq!(r.wrap_add(4, 1), 0);
    }

    #[test]
    fn zero_capacity_is_inert() {
        let mut r = Ring::new(0);
        assert_eq!(r.reserve(0, 0, 10), 0);
        assert_eq!(r.write(0, b"x"), 0);
        assert_eq!(r.read(7, &mut [0; 3]), 0);
        assert_eq!(r.slices(9, 9), (&[][..], &[][..]));
        assert_eq!(r.wrap_add(3, 3), 0);
    }
}
