//! A bounded byte queue whose one allocation is made when the first byte
//! comes (an idle stream costs no buffer memory) and grows, by doubling, as
//! the bytes queued at once need it (a stream that exchanges a few bytes
//! never pays for clearing the whole bound), with the contiguous free space
//! exposed so the core can copy straight into it. No RFC.

/// The first allocation of a queue, unless its first write needs more.
const FIRST_ALLOC: usize = 4096;

/// Bytes in FIFO order, at most `capacity` of them, in a ring of
/// `buf.len()` bytes (up to `capacity`).
#[derive(Debug, Default)]
pub(crate) struct ByteQueue {
    buf: Vec<u8>,
    head: usize,
    len: usize,
    capacity: usize,
    /// The ring's first size (at most `capacity`).
    first: usize,
}

impl ByteQueue {
    pub(crate) fn new(capacity: usize) -> Self {
        Self::with_first_alloc(capacity, FIRST_ALLOC)
    }

    fn with_first_alloc(capacity: usize, first: usize) -> Self {
        Self {
            buf: Vec::new(),
            head: 0,
            len: 0,
            capacity,
            first: first.max(1),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Room left.
    pub(crate) fn free(&self) -> usize {
        self.capacity - self.len
    }

    /// The queued bytes, oldest first, as two slices across the wrap.
    pub(crate) fn slices(&self) -> (&[u8], &[u8]) {
        let first = self.len.min(self.buf.len() - self.head);
        (
            self.buf.get(self.head..self.head + first).unwrap_or(&[]),
            self.buf.get(..self.len - first).unwrap_or(&[]),
        )
    }

    /// Drops the `n` oldest bytes (at most all).
    pub(crate) fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        self.len -= n;
        self.head = if self.len == 0 {
            // Empty: start over at the front, so the free space is whole.
            0
        } else {
            (self.head + n) % self.buf.len()
        };
    }

    pub(crate) fn clear(&mut self) {
        self.consume(self.len);
    }

    /// Copies the oldest bytes into `out` without consuming them.
    pub(crate) fn peek(&self, out: &mut [u8]) -> usize {
        let (a, b) = self.slices();
        let n = copy_prefix(out, a);
        n + copy_prefix(out.get_mut(n..).unwrap_or(&mut []), b)
    }

    /// Moves the oldest bytes into `out`.
    pub(crate) fn read(&mut self, out: &mut [u8]) -> usize {
        let n = self.peek(out);
        self.consume(n);
        n
    }

    /// A ring big enough for `want` bytes (at most `capacity`), at least
    /// twice the old one: the queued bytes move to its front.
    fn grow(&mut self, want: usize) {
        let size = want
            .max(self.buf.len() * 2)
            .max(self.first)
            .min(self.capacity);
        if size <= self.buf.len() {
            return;
        }
        let mut buf = Vec::with_capacity(size);
        let (a, b) = self.slices();
        buf.extend_from_slice(a);
        buf.extend_from_slice(b);
        buf.resize(size, 0);
        self.buf = buf;
        self.head = 0;
    }

    /// The free space right after the queued bytes, contiguous (the rest
    /// of it, if any, follows the wrap); fill it, then [`Self::commit`].
    pub(crate) fn free_slice(&mut self) -> &mut [u8] {
        if self.len == self.capacity {
            return &mut [];
        }
        if self.len == self.buf.len() {
            self.grow(self.len + 1);
        }
        let ring = self.buf.len();
        let tail = (self.head + self.len) % ring;
        let end = if tail >= self.head && self.len < ring {
            ring
        } else {
            self.head
        };
        // `tail == head` with bytes queued cannot happen: that is full,
        // and a full ring below `capacity` grew above.
        self.buf.get_mut(tail..end).unwrap_or(&mut [])
    }

    /// Adds the `n` bytes just written into [`Self::free_slice`].
    pub(crate) fn commit(&mut self, n: usize) {
        self.len += n.min(self.free()).min(self.buf.len() - self.len);
    }

    /// Appends what fits of `data`; returns how much.
    pub(crate) fn write(&mut self, mut data: &[u8]) -> usize {
        if self.len + data.len() > self.buf.len() && self.buf.len() < self.capacity {
            // Room for the whole write at once, rather than by doublings.
            self.grow(self.len + data.len());
        }
        let mut total = 0;
        while !data.is_empty() {
            let n = copy_prefix(self.free_slice(), data);
            if n == 0 {
                break;
            }
            self.commit(n);
            total += n;
            data = data.get(n..).unwrap_or(&[]);
        }
        total
    }
}

/// Copies what fits of `src` into the front of `dst`; returns the count.
pub(crate) fn copy_prefix(dst: &mut [u8], src: &[u8]) -> usize {
    let n = dst.len().min(src.len());
    if let (Some(d), Some(s)) = (dst.get_mut(..n), src.get(..n)) {
        d.copy_from_slice(s);
    }
    n
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    #[test]
    fn allocates_on_first_write_and_wraps() {
        let mut q = ByteQueue::new(5);
        assert_eq!(q.free(), 5);
        assert!(q.buf.is_empty(), "no memory before the first byte");
        assert_eq!(q.write(b"abc"), 3);
        let mut out = [0u8; 2];
        assert_eq!(q.read(&mut out), 2);
        assert_eq!(&out, b"ab");
        assert_eq!(q.write(b"defgh"), 4);
        assert_eq!(q.free(), 0);
        assert_eq!(q.free_slice().len(), 0);
        assert_eq!(q.slices(), (&b"cde"[..], &b"fg"[..]));
        let mut all = [0u8; 9];
        assert_eq!(q.peek(&mut all), 5);
        assert_eq!(&all[..5], b"cdefg");
        q.clear();
        assert!(q.is_empty());
        assert_eq!(q.free_slice().len(), 5, "an empty queue's space is whole");
    }

    /// The ring grows as the queued bytes need it, by doubling (or to
    /// what one write needs), never past the bound, and keeps their order
    /// across the wrap.
    #[test]
    fn grows_as_needed_up_to_the_capacity() {
        let mut q = ByteQueue::with_first_alloc(64, 4);
        assert_eq!(q.write(b"ab"), 2);
        assert_eq!(q.buf.len(), 4, "a small write takes the first size");
        let mut out = [0u8; 1];
        assert_eq!(q.read(&mut out), 1);
        // "b" at index 1; "cde" wraps around to fill the ring.
        assert_eq!(q.write(b"cde"), 3);
        assert_eq!(q.buf.len(), 4);
        assert_eq!(q.write(b"f"), 1, "full: the ring doubles");
        assert_eq!(q.buf.len(), 8);
        assert_eq!(q.slices(), (&b"bcdef"[..], &b""[..]));
        assert_eq!(q.write(&[b'x'; 20]), 20, "one write gets room at once");
        assert_eq!(q.buf.len(), 25);
        assert_eq!(q.write(&[b'y'; 100]), 39, "never past the bound");
        assert_eq!(q.buf.len(), 64);
        assert_eq!(q.free_slice().len(), 0);
        let mut all = vec![0u8; 64];
        assert_eq!(q.read(&mut all), 64);
        assert_eq!(&all[..5], b"bcdef");
        // The core's way in: free space, committed.
        let mut q = ByteQueue::with_first_alloc(16, 2);
        let room = q.free_slice();
        assert_eq!(room.len(), 2);
        room.copy_from_slice(b"12");
        q.commit(2);
        assert_eq!(q.free_slice().len(), 2, "full at 2: grown to 4");
        assert_eq!(q.buf.len(), 4);
    }

    #[test]
    fn zero_capacity_takes_nothing() {
        let mut q = ByteQueue::new(0);
        assert_eq!(q.write(b"x"), 0);
        assert_eq!(q.read(&mut [0; 4]), 0);
        assert_eq!(q.free_slice().len(), 0);
    }

    /// Random writes, commits, reads and peeks against a `VecDeque`.
    #[test]
    fn matches_a_vecdeque() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = |bound: usize| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            usize::try_from(rng % bound as u64).unwrap_or(0)
        };
        for (capacity, first) in [(1, 1), (2, 2), (7, 7), (64, 64), (7, 1), (64, 3), (100, 1)] {
            let mut q = ByteQueue::with_first_alloc(capacity, first);
            let mut model = VecDeque::new();
            let mut byte = 0u8;
            for _ in 0..5000 {
                match next(4) {
                    0 => {
                        let data: Vec<u8> = (0..next(2 * capacity + 1))
                            .map(|_| {
                                byte = byte.wrapping_add(1);
                                byte
                            })
                            .collect();
                        let n = q.write(&data);
                        assert_eq!(n, data.len().min(capacity - model.len()));
                        model.extend(&data[..n]);
                    }
                    1 => {
                        let free = q.free_slice();
                        let n = next(free.len() + 1);
                        for b in &mut free[..n] {
                            byte = byte.wrapping_add(1);
                            *b = byte;
                            model.push_back(byte);
                        }
                        q.commit(n);
                    }
                    2 => {
                        let mut out = vec![0u8; next(capacity + 2)];
                        let before = model.len();
                        let n = q.read(&mut out);
                        assert_eq!(n, out.len().min(before));
                        let want: Vec<u8> = model.drain(..n).collect();
                        assert_eq!(&out[..n], &want[..]);
                    }
                    _ => {
                        let mut out = vec![0u8; next(capacity + 2)];
                        let n = q.peek(&mut out);
                        assert_eq!(n, out.len().min(model.len()));
                        assert!(out[..n].iter().eq(model.iter().take(n)));
                    }
                }
                assert_eq!(q.len(), model.len());
                let (a, b) = q.slices();
                assert!(a.iter().chain(b).eq(model.iter()));
            }
        }
    }
}
