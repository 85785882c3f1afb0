//! The send queue: one fixed-capacity ring that holds the bytes the
//! application has written and the peer has not yet acknowledged, sent or
//! not (RFC 9293 §3.3.1, the send sequence space from SND.UNA onwards).
//!
//! Offsets count from the first unacknowledged byte, so this module knows
//! nothing of sequence numbers: the connection maps `SND.UNA + offset` to a
//! sequence number, and accounts for SYN and FIN, which occupy sequence
//! space but no buffer bytes. Everything a peer can influence (`ack`
//! counts, offsets and lengths derived from its segments) is clamped, never
//! trusted: no input makes these methods panic.

use super::ring::Ring;

/// Unacknowledged and unsent bytes, oldest first.
#[derive(Debug, Clone)]
pub(crate) struct SendBuffer {
    ring: Ring,
    /// Ring position of the first unacknowledged byte.
    head: usize,
    /// Bytes held, from `head`.
    len: usize,
}

impl SendBuffer {
    /// An empty buffer that holds up to `capacity` bytes; its storage grows
    /// as data comes (see the private `Ring`).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            ring: Ring::new(capacity),
            head: 0,
            len: 0,
        }
    }

    /// The size the buffer is meant to have now: its storage doubles as
    /// data comes, but not beyond this unless the data needs it, or (with
    /// `slack`) by half again of what it has, so that a size that creeps
    /// up does not copy the buffer at every step.
    pub(crate) fn set_soft_cap(&mut self, size: usize, slack: bool) {
        self.ring.set_soft_cap(size, slack);
    }

    /// Bytes of storage allocated now (it grows as data comes).
    pub(crate) fn allocated(&self) -> usize {
        self.ring.allocated()
    }

    /// The most bytes the buffer can hold.
    pub(crate) fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// Bytes held: unacknowledged (sent or not) plus unsent.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Nothing is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Room left for [`write`](Self::write).
    pub(crate) fn free(&self) -> usize {
        self.capacity().saturating_sub(self.len)
    }

    /// Appends as much of `data` as fits; returns how many bytes were taken.
    pub(crate) fn write(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.free());
        self.head = self.ring.reserve(self.head, self.len, self.len + n);
        let tail = self.ring.wrap_add(self.head, self.len);
        let n = self.ring.write(tail, data.get(..n).unwrap_or(&[]));
        self.len += n;
        n
    }

    /// Drops up to `n` bytes from the front, because the peer acknowledged
    /// them; returns how many were dropped (`n` clamped to [`len`](Self::len)).
    pub(crate) fn ack(&mut self, n: usize) -> usize {
        let n = n.min(self.len);
        self.len -= n;
        self.head = if self.len == 0 {
            0
        } else {
            self.ring.wrap_add(self.head, n)
        };
        n
    }

    #[cfg(test)]
    /// The held bytes at `offset..offset + len` from the front (clamped to
    /// what is held), as two slices across the ring's wrap; the second is
    /// empty when the range does not wrap. For copying a segment's payload.
    pub(crate) fn slices(&self, offset: usize, len: usize) -> (&[u8], &[u8]) {
        if offset >= self.len {
            return (&[], &[]);
        }
        let len = len.min(self.len - offset);
        self.ring.slices(self.ring.wrap_add(self.head, offset), len)
    }

    /// Copies the held bytes from `offset` on into `out`, as many as fit or
    /// are held; returns the count.
    pub(crate) fn copy_out(&self, offset: usize, out: &mut [u8]) -> usize {
        let n = self.len.saturating_sub(offset).min(out.len());
        let pos = self.ring.wrap_add(self.head, offset.min(self.len));
        self.ring.read(pos, out.get_mut(..n).unwrap_or(&mut []))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    #[test]
    fn write_ack_wrap() {
        let mut b = SendBuffer::new(8);
        assert!(b.is_empty());
        assert_eq!(b.write(b"hello world"), 8);
        assert_eq!((b.len(), b.free()), (8, 0));
        assert_eq!(b.ack(5), 5);
        assert_eq!(b.write(b"XYZWV!"), 5);
        assert_eq!(b.slices(0, 100), (&b" wo"[..], &b"XYZWV"[..]));
        assert_eq!(b.slices(2, 3), (&b"o"[..], &b"XY"[..]));
        assert_eq!(b.slices(8, 1), (&[][..], &[][..]));
        let mut out = [0u8; 5];
        assert_eq!(b.copy_out(1, &mut out), 5);
        assert_eq!(&out, b"woXYZ");
        assert_eq!(b.ack(usize::MAX), 8);
        assert!(b.is_empty());
        assert_eq!(b.copy_out(0, &mut out), 0);
    }

    #[test]
    fn zero_capacity() {
        let mut b = SendBuffer::new(0);
        assert_eq!(b.write(b"x"), 0);
        assert_eq!(b.ack(1), 0);
        assert_eq!(b.slices(0, 1), (&[][..], &[][..]));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Write(Vec<u8>),
        Ack(usize),
        Slices(usize, usize),
        CopyOut(usize, usize),
    }

    /// Offsets and lengths the peer could make up: mostly small, sometimes
    /// absurd.
    fn untrusted() -> impl Strategy<Value = usize> {
        prop_oneof![4 => 0usize..80, 1 => any::<usize>()]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Op::Write),
            untrusted().prop_map(Op::Ack),
            (untrusted(), untrusted()).prop_map(|(o, l)| Op::Slices(o, l)),
            (untrusted(), 0usize..80).prop_map(|(o, l)| Op::CopyOut(o, l)),
        ]
    }

    proptest! {
        #[test]
        fn matches_vecdeque(cap in 0usize..64, ops in proptest::collection::vec(op(), 0..60)) {
            let mut b = SendBuffer::new(cap);
            let mut model: VecDeque<u8> = VecDeque::new();
            for op in ops {
                match op {
                    Op::Write(data) => {
                        let n = b.write(&data);
                        let want = data.len().min(cap - model.len());
                        prop_assert_eq!(n, want);
                        model.extend(&data[..want]);
                    }
                    Op::Ack(n) => {
                        let want = n.min(model.len());
                        prop_assert_eq!(b.ack(n), want);
                        model.drain(..want);
                    }
                    Op::Slices(o, l) => {
                        let (x, y) = b.slices(o, l);
                        let got: Vec<u8> = x.iter().chain(y).copied().collect();
                        let want: Vec<u8> = model.iter().skip(o).take(l).copied().collect();
                        prop_assert_eq!(got, want);
                    }
                    Op::CopyOut(o, l) => {
                        let mut out = vec![0u8; l];
                        let n = b.copy_out(o, &mut out);
                        let want: Vec<u8> = model.iter().skip(o).take(l).copied().collect();
                        prop_assert_eq!(&out[..n], &want[..]);
                    }
                }
                prop_assert_eq!(b.len(), model.len());
                prop_assert_eq!(b.free(), cap - model.len());
            }
        }
    }
}
