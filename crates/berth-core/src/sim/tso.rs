//! A device that splits long TCP segments (TCP segmentation offload) in
//! front of one side of a [`super::Pair`]: a stack whose device splits
//! (`StackConfig::tso_max`) hands it segments longer than the MTU, and it
//! cuts them as the Linux kernel cuts a TSO packet from a TUN device
//! (`tcp_gso_segment`, here berth's own software fallback,
//! [`split_tcp_segment`]): payload cut at the given size, sequence numbers
//! advanced, FIN and PSH on the last piece only, every header and checksum
//! made whole. Such a device completes checksums too: a segment that fits
//! one piece comes with the pseudo-header sum and leaves whole.

use crate::stack::split_tcp_segment;

/// A TSO device, and what it did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tso {
    /// Refuse every n-th long segment (0: never), as a device whose queue
    /// is full: the segment is lost.
    pub refuse_every: usize,
    /// Long segments handed to it.
    pub long: usize,
    /// Long segments refused.
    pub refused: usize,
    /// Long segments it could not split (not a TCP segment as a TSO packet
    /// must be): dropped. A stack that sends one is wrong.
    pub unsplittable: usize,
    /// Frames it put on the link longer than the side's frame length: only
    /// split segments may exceed the MTU, and their pieces must not. A
    /// stack that sends one is wrong.
    pub oversized: usize,
}

impl Tso {
    /// The room it gives the stack for one frame: the longest IP packet.
    pub(super) const ROOM: usize = 65535;

    /// Takes `frame` from the stack (`gso`: for a TCP segment whose
    /// checksum is left to the device, the payload size to split it at) and
    /// hands what goes on the link, at most `frame_len` octets each when
    /// the stack is right, to `emit`. Only segments longer than
    /// `frame_len` count as long (and may be refused).
    pub(super) fn take(
        &mut self,
        frame: &[u8],
        gso: Option<u16>,
        frame_len: usize,
        mut emit: impl FnMut(&[u8]),
    ) {
        let Some(seg) = gso else {
            self.oversized += usize::from(frame.len() > frame_len);
            emit(frame);
            return;
        };
        if frame.len() > frame_len {
            self.long += 1;
            if self.refuse_every > 0 && self.long.is_multiple_of(self.refuse_every) {
                self.refused += 1;
                return;
            }
        }
        let oversized = &mut self.oversized;
        let pieces = split_tcp_segment(frame, seg, |piece| {
            *oversized += usize::from(piece.len() > frame_len);
            emit(piece);
        });
        self.unsplittable += usize::from(pieces == 0);
    }
}
