//! Copies out of a stream's receive queue (two contiguous parts, oldest
//! first) into the buffers tokio's reads take: scattered slices
//! (`try_read_vectored`) and a `bytes::BufMut` (`try_read_buf`). No RFC.

/// Copies `parts` (in order) into `dst`'s slices (in order), as much as
/// fits; returns how much.
pub(crate) fn scatter(dst: &mut [std::io::IoSliceMut<'_>], parts: [&[u8]; 2]) -> usize {
    let mut total = 0;
    let mut slices = dst.iter_mut().map(|s| &mut **s);
    let mut cur: &mut [u8] = &mut [];
    for mut part in parts {
        while !part.is_empty() {
            if cur.is_empty() {
                match slices.next() {
                    Some(next) => cur = next,
                    None => return total,
                }
                continue;
            }
            let n = crate::pipe::copy_prefix(cur, part);
            cur = std::mem::take(&mut cur).get_mut(n..).unwrap_or_default();
            part = part.get(n..).unwrap_or_default();
            total += n;
        }
    }
    total
}

/// Appends `parts` (in order) to `buf`, at most `want` bytes; returns how
/// much.
pub(crate) fn put_parts<B: bytes::BufMut>(buf: &mut B, want: usize, parts: [&[u8]; 2]) -> usize {
    let mut total = 0;
    for part in parts {
        let n = part.len().min(want - total);
        buf.put_slice(part.get(..n).unwrap_or_default());
        total += n;
    }
    total
}
