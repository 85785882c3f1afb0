//! The byte patterns the services send, computed once: chargen's rotating
//! lines (RFC 864) and HTTP `/bytes/N`'s checkable sequence. A writer takes
//! a slice at any offset, so sending costs a copy into the connection and
//! nothing more.

use std::sync::OnceLock;

/// RFC 864: 72-character lines rotating through the 95 printable ASCII
/// characters; the sequence repeats every 95 lines.
const LINE: usize = 74;
const LINES: usize = 95;
/// One cycle of chargen's output.
pub(crate) const CHARGEN_CYCLE: usize = LINE * LINES;

/// 251 divides no power of two: `/bytes/N`'s pattern repeats every 251
/// bytes, and a block of 251 * 256 is a whole number of periods.
const BYTES_PERIOD: usize = 251;
const BYTES_BLOCK: usize = BYTES_PERIOD * 256;

/// Two cycles of chargen's lines back to back, so that any offset in the
/// first has a whole cycle after it.
fn chargen_twice() -> &'static [u8] {
    static TWICE: OnceLock<Vec<u8>> = OnceLock::new();
    TWICE.get_or_init(|| {
        let mut v = Vec::with_capacity(2 * CHARGEN_CYCLE);
        for line in 0..2 * LINES {
            v.extend((0..72).map(|i| b' ' + ((line + i) % 95) as u8));
            v.extend_from_slice(b"\r\n");
        }
        v
    })
}

/// Chargen's output from `offset` (taken modulo the cycle): one cycle of
/// it.
pub(crate) fn chargen_at(offset: usize) -> &'static [u8] {
    let start = offset % CHARGEN_CYCLE;
    chargen_twice()
        .get(start..start + CHARGEN_CYCLE)
        .unwrap_or_default()
}

/// The byte at offset `i` of `/bytes/N`: a fixed pattern clients can check.
pub(crate) fn pattern_byte(i: u64) -> u8 {
    (i % BYTES_PERIOD as u64) as u8
}

/// `/bytes/N` from offset `offset`: at most `max` bytes of it (and at
/// least one period, when `max` allows).
pub(crate) fn bytes_at(offset: u64, max: usize) -> &'static [u8] {
    static BLOCK: OnceLock<Vec<u8>> = OnceLock::new();
    let block = BLOCK.get_or_init(|| (0..2 * BYTES_BLOCK as u64).map(pattern_byte).collect());
    let start = (offset % BYTES_PERIOD as u64) as usize;
    block
        .get(start..start + max.min(BYTES_BLOCK))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chargen_lines_rotate() {
        let c = chargen_at(0);
        assert_eq!(&c[..3], b" !\"");
        assert_eq!(&c[72..74], b"\r\n");
        assert_eq!(c[74], b'!', "the second line starts one later");
        assert_eq!(chargen_at(CHARGEN_CYCLE + 5), chargen_at(5));
        assert_eq!(chargen_at(74)[..10], c[74..84]);
    }

    #[test]
    fn bytes_from_any_offset() {
        for offset in [0u64, 1, 250, 251, 1 << 40] {
            let s = bytes_at(offset, 1000);
            assert_eq!(s.len(), 1000);
            assert!(
                s.iter()
                    .enumerate()
                    .all(|(i, &b)| b == pattern_byte(offset + i as u64))
            );
        }
        assert_eq!(bytes_at(3, usize::MAX).len(), BYTES_BLOCK);
    }
}
