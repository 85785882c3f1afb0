//! A fixed-capacity byte ring addressed by position, the storage under
//! [`SendBuffer`](super::send_buffer::SendBuffer) and
//! [`RecvBuffer`](super::recv_buffer::RecvBuffer). It only stores bytes; the
//! buffers decide which positions hold valid data. It is allocated once, when
//! the socket is created, and never again (STYLE rule 13). No RFC.

use core::ops::Range;

/// Bytes in a ring of fixed capacity.
#[derive(Debug, Clone)]
pub(super) struct Ring {
    storage: Box<[u8]>,
}

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
    /// A ring of `capacity` zeroed bytes.
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            storage: vec![0; capacity].into_boxed_slice(),
        }
    }

    /// The number of bytes the ring holds.
    pub(super) fn capacity(&self) -> usize {
        self.storage.len()
    }

    /// `(pos + off) mod capacity`, for `pos < capacity` and `off <= capacity`.
    pub(super) fn wrap_add(&self, pos: usize, off: usize) -> usize {
        let cap = self.capacity();
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
        let cap = self.capacity();
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
    fn wraps_reads_and_writes() {
        let mut r = Ring::new(5);
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
        assert_eq!(r.write(0, b"x"), 0);
        assert_eq!(r.read(7, &mut [0; 3]), 0);
        assert_eq!(r.slices(9, 9), (&[][..], &[][..]));
        assert_eq!(r.wrap_add(3, 3), 0);
    }
}
