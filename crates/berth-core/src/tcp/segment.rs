//! [`Segment`]: a received TCP segment after parsing, the state machine's
//! input type (docs/ARCHITECTURE.md rule 5: parse, don't validate).
//!
//! The wire layer keeps raw `u32`s; here sequence numbers become [`SeqNum`]
//! and windows [`UnscaledWindowSize`]. The checksum was verified and the ports
//! matched by the port table before a segment gets here, so the segment
//! carries neither. Also here: the reply RFC 9293 section 3.10.7.1 prescribes
//! for a segment that reaches no connection ([`reset_for`]), and the one
//! builder of an RST ([`Reset`]'s `emit`), which a connection and the
//! stack both use.

use std::net::SocketAddr;

use crate::wire::{ChecksumCaps, TcpFlags as Flags, TcpPacket, TcpRepr};

use super::seq::{SeqNum, UnscaledWindowSize};

/// The largest number of SACK blocks a segment carries (RFC 2018 section 3).
pub(crate) const MAX_SACK_BLOCKS: usize = 4;

/// A received segment, as the state machine sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Segment<'a> {
    /// SEG.SEQ.
    pub seq: SeqNum,
    /// SEG.ACK, present exactly when the ACK bit is set.
    pub ack: Option<SeqNum>,
    /// The control bits (ACK is reflected in `ack`).
    pub flags: Flags,
    /// SEG.WND as carried, before the peer's window scale is applied.
    pub wnd: UnscaledWindowSize,
    /// The MSS option.
    pub mss: Option<u16>,
    /// The Window Scale option's shift count, unclamped.
    pub window_scale: Option<u8>,
    /// The SACK-Permitted option.
    pub sack_permitted: bool,
    /// SACK blocks `[left, right)`.
    pub sack_blocks: [Option<(SeqNum, SeqNum)>; MAX_SACK_BLOCKS],
    /// The Timestamps option: (TSval, TSecr).
    pub timestamp: Option<(u32, u32)>,
    /// The IP header said Congestion Experienced (RFC 3168 section 5): a
    /// router on the way marked it instead of dropping it.
    pub ce: bool,
    /// The data.
    pub payload: &'a [u8],
}

impl<'a> Segment<'a> {
    /// The segment a parsed header describes.
    pub(crate) fn from_repr(repr: &TcpRepr<'a>) -> Self {
        let mut sack_blocks = [None; MAX_SACK_BLOCKS];
        for (out, block) in sack_blocks.iter_mut().zip(repr.sack_ranges.iter()) {
            *out = block.map(|(l, r)| (SeqNum::new(l), SeqNum::new(r)));
        }
        Self {
            seq: SeqNum::new(repr.seq_number),
            ack: repr.ack_number.map(SeqNum::new),
            flags: repr.flags,
            wnd: UnscaledWindowSize::new(repr.window_len),
            mss: repr.max_seg_size,
            window_scale: repr.window_scale,
            sack_permitted: repr.sack_permitted,
            sack_blocks,
            timestamp: repr.timestamp,
            ce: false,
            payload: repr.payload,
        }
    }

    /// Whether SYN is set.
    pub(crate) fn syn(&self) -> bool {
        self.flags.contains(Flags::SYN)
    }

    /// Whether FIN is set.
    pub(crate) fn fin(&self) -> bool {
        self.flags.contains(Flags::FIN)
    }

    /// Whether RST is set.
    pub(crate) fn rst(&self) -> bool {
        self.flags.contains(Flags::RST)
    }

    /// SEG.LEN: the octets of sequence space the segment occupies, SYN and
    /// FIN included.
    pub(crate) fn len(&self) -> u32 {
        // A payload is at most 65535 octets (it came in one IP packet).
        let data = u32::try_from(self.payload.len()).unwrap_or(u32::MAX);
        data.saturating_add(u32::from(self.syn()))
            .saturating_add(u32::from(self.fin()))
    }

    /// The sequence number just past the segment.
    pub(crate) fn end(&self) -> SeqNum {
        self.seq + self.len()
    }
}

/// The header of a reset: its sequence and acknowledgment numbers and flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reset {
    /// SEQ of the RST.
    pub seq: SeqNum,
    /// ACK of the RST, when the ACK bit is to be set.
    pub ack: Option<SeqNum>,
}

impl Reset {
    /// Writes this RST from `local` to `remote` at the front of `buf`, and
    /// returns its length (`None` if `buf` is too short). The one place an
    /// RST is built, for a connection and for the stack alike: no window,
    /// no data, no option but the Timestamps a connection that negotiated
    /// them passes (RFC 7323 section 3.2), the ACK bit exactly when `ack`
    /// is set.
    pub(crate) fn emit(
        &self,
        local: SocketAddr,
        remote: SocketAddr,
        timestamp: Option<(u32, u32)>,
        checksums: ChecksumCaps,
        buf: &mut [u8],
    ) -> Option<usize> {
        let flags = if self.ack.is_some() {
            Flags::RST | Flags::ACK
        } else {
            Flags::RST
        };
        let repr = TcpRepr {
            src_port: local.port(),
            dst_port: remote.port(),
            seq_number: self.seq.get(),
            ack_number: self.ack.map(SeqNum::get),
            flags,
            window_len: 0,
            urgent_pointer: 0,
            max_seg_size: None,
            window_scale: None,
            sack_permitted: false,
            sack_ranges: [None; crate::wire::tcp_option::MAX_SACK_BLOCKS],
            timestamp,
            payload: &[],
        };
        let len = repr.buffer_len();
        let out = buf.get_mut(..len)?;
        repr.emit(
            &mut TcpPacket::new_unchecked(out),
            local.ip(),
            remote.ip(),
            checksums,
        );
        Some(len)
    }
}

/// The reset to send in answer to `seg` when no connection exists for it
/// (CLOSED), or `None` when nothing may be sent.
pub(crate) fn reset_for(seg: &Segment<'_>) -> Option<Reset> {
    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.1
    //# An incoming segment containing a RST is discarded.
    if seg.rst() {
        return None;
    }
    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.1
    //# If the ACK bit is off, sequence number zero is used,
    //#
    //# <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
    //#
    //# If the ACK bit is on,
    //#
    //# <SEQ=SEG.ACK><CTL=RST>
    Some(match seg.ack {
        None => Reset {
            seq: SeqNum::new(0),
            ack: Some(seg.end()),
        },
        Some(ack) => Reset {
            seq: ack,
            ack: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn ends() -> (SocketAddr, SocketAddr) {
        (
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2)), 80),
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)), 40000),
        )
    }

    fn parse(buf: &[u8], local: SocketAddr, remote: SocketAddr) -> TcpRepr<'_> {
        TcpRepr::parse(
            &TcpPacket::new_checked(buf).unwrap(),
            local.ip(),
            remote.ip(),
            ChecksumCaps::FULL,
        )
        .unwrap()
    }

    #[test]
    fn reset_emit_sets_ack_bit_and_only_timestamps() {
        let (local, remote) = ends();
        let mut buf = [0u8; 60];
        let rst = Reset {
            seq: SeqNum::new(0),
            ack: Some(SeqNum::new(1001)),
        };
        let len = rst
            .emit(local, remote, None, ChecksumCaps::FULL, &mut buf)
            .unwrap();
        assert_eq!(len, 20);
        let repr = parse(&buf[..len], local, remote);
        assert_eq!(repr.flags, Flags::RST | Flags::ACK);
        assert_eq!((repr.seq_number, repr.ack_number), (0, Some(1001)));
        assert_eq!(
            (repr.src_port, repr.dst_port, repr.window_len),
            (80, 40000, 0)
        );

        let rst = Reset {
            seq: SeqNum::new(7),
            ack: None,
        };
        let len = rst
            .emit(local, remote, Some((5, 6)), ChecksumCaps::FULL, &mut buf)
            .unwrap();
        let repr = parse(&buf[..len], local, remote);
        assert_eq!(repr.flags, Flags::RST);
        assert_eq!((repr.seq_number, repr.ack_number), (7, None));
        assert_eq!(repr.timestamp, Some((5, 6)));
        assert_eq!(repr.max_seg_size, None);
        assert!(repr.payload.is_empty());
        // A buffer too short for it: nothing written.
        assert_eq!(
            rst.emit(
                local,
                remote,
                Some((5, 6)),
                ChecksumCaps::FULL,
                &mut buf[..20]
            ),
            None
        );
    }
}
