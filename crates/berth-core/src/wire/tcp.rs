//! TCP segments (RFC 9293 section 3.1) with the options berth uses: Maximum
//! Segment Size (RFC 9293 section 3.2), Window Scale and Timestamps (RFC 7323),
//! SACK-Permitted and SACK (RFC 2018), parsed and laid out by
//! [`tcp_option`].
//!
//! [`Packet`] is the view, [`Repr`] the parsed header plus a borrowed payload.
//! TCP has no length field: a segment is the whole buffer, so the caller
//! passes exactly the IP payload (never a frame with link padding after it).
//!
//! Sequence and acknowledgment numbers stay raw `u32` here on purpose: the
//! wire layer only moves bytes. The TCP layer wraps them in `tcp::seq::SeqNum`
//! (and the window and window scale in their newtypes, clamping a shift above
//! 14) when it validates a [`Repr`] into a `tcp::Segment`.
//!
//! `Repr::emit` lays options out the way Linux does, four-byte aligned, so
//! berth's segments look like Linux's on the wire: a SYN is `mss, sackOK,
//! TS, nop, wscale` (`mss, nop, nop, sackOK, nop, wscale` without
//! timestamps), a data segment `nop, nop, TS` and then `nop, nop, sack ..`.

use core::fmt;
use core::ops::{BitOr, BitOrAssign};
use std::net::IpAddr;

use super::tcp_option::{self, MAX_SACK_BLOCKS, TcpOption};
use super::view::{Fields, FieldsMut, packet_view};
use super::{ChecksumCaps, Error, IpProtocol, Result, RxChecksum, TxChecksum, checksum};

mod field {
    use core::ops::Range;

    pub(super) const SRC_PORT: Range<usize> = 0..2;
    pub(super) const DST_PORT: Range<usize> = 2..4;
    pub(super) const SEQ_NUM: Range<usize> = 4..8;
    pub(super) const ACK_NUM: Range<usize> = 8..12;
    /// Data Offset (high four bits) and Reserved (low four bits).
    pub(super) const DATA_OFFSET: usize = 12;
    pub(super) const FLAGS: usize = 13;
    pub(super) const WINDOW: Range<usize> = 14..16;
    pub(super) const CHECKSUM: Range<usize> = 16..18;
    pub(super) const URGENT: Range<usize> = 18..20;
    pub(super) const OPTIONS: usize = 20;
}

/// The length of a TCP header without options.
pub const HEADER_LEN: usize = field::OPTIONS;

/// The longest TCP header: a Data Offset of 15 words.
pub const MAX_HEADER_LEN: usize = 60;

/// The most option bytes a header carries.
pub const MAX_OPTIONS_LEN: usize = MAX_HEADER_LEN - HEADER_LEN;

/// The control bits of a TCP header (RFC 9293 section 3.1).
///
/// `Display` prints them the way tcpdump does: `S`, `S.`, `.`, `P.`, `F.`,
/// `R`, with `E` for ECE, `W` for CWR and `U` for URG, and `none` for none.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(u8);

impl Flags {
    /// FIN: no more data from sender.
    pub const FIN: Self = Self(0x01);
    /// SYN: synchronize sequence numbers.
    pub const SYN: Self = Self(0x02);
    /// RST: reset the connection.
    pub const RST: Self = Self(0x04);
    /// PSH: push function.
    pub const PSH: Self = Self(0x08);
    /// ACK: the Acknowledgment Number field is significant.
    pub const ACK: Self = Self(0x10);
    /// URG: the Urgent Pointer field is significant.
    pub const URG: Self = Self(0x20);
    /// ECE: ECN-Echo (RFC 3168).
    pub const ECE: Self = Self(0x40);
    /// CWR: Congestion Window Reduced (RFC 3168).
    pub const CWR: Self = Self(0x80);

    /// No flag set.
    pub const fn empty() -> Self {
        Self(0)
    }

    /// The flags of a header's control-bits octet.
    pub const fn from_bits(bits: u8) -> Self {
        Self(bits)
    }

    /// The control-bits octet.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any flag of `other` is set.
    pub const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// The flags of both.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// These flags without those of `other`.
    pub const fn difference(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    /// Sets (`value == true`) or clears the flags of `other`.
    pub fn set(&mut self, other: Self, value: bool) {
        *self = if value {
            self.union(other)
        } else {
            self.difference(other)
        };
    }

    /// Whether FIN is set.
    pub const fn fin(self) -> bool {
        self.contains(Self::FIN)
    }

    /// Whether SYN is set.
    pub const fn syn(self) -> bool {
        self.contains(Self::SYN)
    }

    /// Whether RST is set.
    pub const fn rst(self) -> bool {
        self.contains(Self::RST)
    }

    /// Whether PSH is set.
    pub const fn psh(self) -> bool {
        self.contains(Self::PSH)
    }

    /// Whether ACK is set.
    pub const fn ack(self) -> bool {
        self.contains(Self::ACK)
    }

    /// Whether URG is set.
    pub const fn urg(self) -> bool {
        self.contains(Self::URG)
    }

    /// Whether ECE is set.
    pub const fn ece(self) -> bool {
        self.contains(Self::ECE)
    }

    /// Whether CWR is set.
    pub const fn cwr(self) -> bool {
        self.contains(Self::CWR)
    }
}

impl BitOr for Flags {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        self.union(rhs)
    }
}

impl BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Self) {
        *self = self.union(rhs);
    }
}

impl fmt::Display for Flags {
    /// tcpdump's letters, in tcpdump's order (FIN SYN RST PSH ACK URG ECE
    /// CWR): `S.` is SYN+ACK, `FP.` FIN+PSH+ACK.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        const LETTERS: [(Flags, char); 8] = [
            (Flags::FIN, 'F'),
            (Flags::SYN, 'S'),
            (Flags::RST, 'R'),
            (Flags::PSH, 'P'),
            (Flags::ACK, '.'),
            (Flags::URG, 'U'),
            (Flags::ECE, 'E'),
            (Flags::CWR, 'W'),
        ];
        for (flag, letter) in LETTERS {
            if self.contains(flag) {
                fmt::Write::write_char(f, letter)?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flags({self})")
    }
}

packet_view! {
    /// A view over a TCP segment: header, options and payload.
    pub struct Packet;
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks that the buffer holds the fixed header and the options the
    /// Data Offset field declares.
    ///
    /// The options themselves are checked by [`Packet::options_iter`] (and so
    /// by [`Repr::parse`]), which yields an error on an illegal length and
    /// never reads past [`Packet::options`].
    pub fn check_len(&self) -> Result<()> {
        let buffer_len = self.buffer.as_ref().len();
        if buffer_len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.1
        //# The number of 32-bit words in the TCP header. This indicates where
        //# the data begins.
        let header_len = usize::from(self.header_len());
        if header_len < HEADER_LEN {
            return Err(Error::Malformed);
        }
        if header_len > buffer_len {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// The Source Port field.
    pub fn src_port(&self) -> u16 {
        self.get_u16(field::SRC_PORT)
    }

    /// The Destination Port field.
    pub fn dst_port(&self) -> u16 {
        self.get_u16(field::DST_PORT)
    }

    /// The Sequence Number field.
    pub fn seq_number(&self) -> u32 {
        self.get_u32(field::SEQ_NUM)
    }

    /// The Acknowledgment Number field, meaningful only when ACK is set.
    pub fn ack_number(&self) -> u32 {
        self.get_u32(field::ACK_NUM)
    }

    /// The header length in bytes: the Data Offset field times four.
    pub fn header_len(&self) -> u8 {
        (self.buffer.as_ref()[field::DATA_OFFSET] >> 4) * 4
    }

    /// The control bits (the Reserved bits next to them are ignored).
    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.1
    //# A set of control bits reserved for future use. Must be zero in
    //# generated segments and must be ignored in received segments if the
    //# corresponding future features are not implemented by the sending or
    //# receiving host.
    pub fn flags(&self) -> Flags {
        Flags::from_bits(self.buffer.as_ref()[field::FLAGS])
    }

    /// The Window field, unscaled.
    pub fn window_len(&self) -> u16 {
        self.get_u16(field::WINDOW)
    }

    /// The Checksum field.
    pub fn checksum(&self) -> u16 {
        self.get_u16(field::CHECKSUM)
    }

    /// The Urgent Pointer field, meaningful only when URG is set.
    pub fn urgent_pointer(&self) -> u16 {
        self.get_u16(field::URGENT)
    }

    /// The options area, padding included: the bytes between the fixed
    /// header and the Data Offset.
    pub fn options(&self) -> &[u8] {
        let end = usize::from(self.header_len()).max(HEADER_LEN);
        &self.buffer.as_ref()[field::OPTIONS..end]
    }

    /// The options, parsed one at a time.
    pub fn options_iter(&self) -> tcp_option::Iter<'_> {
        tcp_option::Iter::new(self.options())
    }

    /// The payload: everything after the header.
    pub fn payload(&self) -> &[u8] {
        let start = usize::from(self.header_len()).max(HEADER_LEN);
        &self.buffer.as_ref()[start..]
    }

    /// The sequence space the segment occupies: the payload, plus one for
    /// SYN and one for FIN.
    pub fn segment_len(&self) -> usize {
        let flags = self.flags();
        self.payload().len() + usize::from(flags.syn()) + usize::from(flags.fin())
    }

    /// Whether the checksum is right for a segment from `src` to `dst`.
    pub fn verify_checksum(&self, src: IpAddr, dst: IpAddr) -> bool {
        let data = self.buffer.as_ref();
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        checksum::combine(&[
            checksum::pseudo_header(src, dst, IpProtocol::Tcp, len),
            checksum::data(data),
        ]) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the Source Port field.
    pub fn set_src_port(&mut self, value: u16) {
        self.set_u16(field::SRC_PORT, value);
    }

    /// Sets the Destination Port field.
    pub fn set_dst_port(&mut self, value: u16) {
        self.set_u16(field::DST_PORT, value);
    }

    /// Sets the Sequence Number field.
    pub fn set_seq_number(&mut self, value: u32) {
        self.set_u32(field::SEQ_NUM, value);
    }

    /// Sets the Acknowledgment Number field.
    pub fn set_ack_number(&mut self, value: u32) {
        self.set_u32(field::ACK_NUM, value);
    }

    /// Sets the Data Offset from a header length in bytes (a multiple of four
    /// from 20 to 60; other values are rounded down and wrap), and clears the
    /// Reserved bits.
    pub fn set_header_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::DATA_OFFSET] = (value >> 2) << 4;
    }

    /// Sets the control bits.
    pub fn set_flags(&mut self, value: Flags) {
        self.buffer.as_mut()[field::FLAGS] = value.bits();
    }

    /// Sets the Window field.
    pub fn set_window_len(&mut self, value: u16) {
        self.set_u16(field::WINDOW, value);
    }

    /// Sets the Checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        self.set_u16(field::CHECKSUM, value);
    }

    /// Sets the Urgent Pointer field.
    pub fn set_urgent_pointer(&mut self, value: u16) {
        self.set_u16(field::URGENT, value);
    }

    /// The options area, mutably, as far as the Data Offset says.
    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.header_len()).max(HEADER_LEN);
        &mut self.buffer.as_mut()[field::OPTIONS..end]
    }

    /// The payload, mutably.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = usize::from(self.header_len()).max(HEADER_LEN);
        &mut self.buffer.as_mut()[start..]
    }

    /// Computes and stores the checksum over the whole buffer (or, for
    /// [`TxChecksum::PseudoHeader`], only the pseudo-header sum for the
    /// device to complete).
    pub fn fill_checksum(&mut self, src: IpAddr, dst: IpAddr, tx: TxChecksum) {
        let len = u32::try_from(self.buffer.as_ref().len()).unwrap_or(u32::MAX);
        let pseudo = checksum::pseudo_header(src, dst, IpProtocol::Tcp, len);
        self.set_checksum(0);
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.1
        //# The TCP checksum is never optional. The sender MUST generate it
        //# (MUST-2) and the receiver MUST check it (MUST-3).
        let value = match tx {
            TxChecksum::PseudoHeader => pseudo,
            TxChecksum::Full => !checksum::combine(&[pseudo, checksum::data(self.buffer.as_ref())]),
        };
        self.set_checksum(value);
    }
}

/// A parsed TCP segment: the header fields, the options berth uses, and a
/// borrowed payload.
///
/// Options other than those below (unknown kinds, No-Operation, End of
/// Option List) are skipped by `parse` and never written by `emit`. When an
/// option appears twice, the last one counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence Number, raw (the TCP layer wraps it in `SeqNum`).
    pub seq_number: u32,
    /// Acknowledgment Number: `Some` exactly when ACK is set. `emit` sets
    /// the ACK bit from this field, whatever `flags` says.
    pub ack_number: Option<u32>,
    /// The control bits, ACK included.
    pub flags: Flags,
    /// The Window field, unscaled.
    pub window_len: u16,
    /// The Urgent Pointer field, kept as sent even without URG.
    pub urgent_pointer: u16,
    /// Maximum Segment Size option; only meaningful on a SYN, but parsed
    /// wherever it is.
    pub max_seg_size: Option<u16>,
    /// Window Scale option: the raw shift count, which may exceed 14.
    pub window_scale: Option<u8>,
    /// Whether the SACK-Permitted option is present.
    pub sack_permitted: bool,
    /// The blocks of a SACK option, present ones first. `emit` writes as
    /// many of them as fit in the 40 option bytes.
    pub sack_ranges: [Option<(u32, u32)>; MAX_SACK_BLOCKS],
    /// Timestamps option: `(TSval, TSecr)`.
    pub timestamp: Option<(u32, u32)>,
    /// The payload.
    pub payload: &'a [u8],
}

/// Bytes of a NOP-padded SACK-Permitted, Window Scale or MSS option, and of
/// the two NOPs, kind and length in front of the SACK blocks.
const ALIGNED_SHORT_OPTION: usize = 4;
/// Bytes of a Timestamps option with the two bytes (NOPs or SACK-Permitted)
/// in front of it.
const ALIGNED_TIMESTAMP: usize = 12;
/// Bytes of one SACK block.
const SACK_BLOCK: usize = 8;

impl<'a> Repr<'a> {
    /// Parses a checked view of a segment sent from `src` to `dst`.
    ///
    /// Fails with [`Error::Checksum`] on a bad checksum (unless `caps` trusts
    /// it), and with [`Error::Malformed`] on an option with an illegal length.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Packet<&'a T>,
        src: IpAddr,
        dst: IpAddr,
        caps: ChecksumCaps,
    ) -> Result<Self> {
        packet.check_len()?;
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.1
        //# The TCP checksum is never optional. The sender MUST generate it
        //# (MUST-2) and the receiver MUST check it (MUST-3).
        if caps.rx == RxChecksum::Verify && !packet.verify_checksum(src, dst) {
            return Err(Error::Checksum);
        }
        let flags = packet.flags();
        let header_len = usize::from(packet.header_len());
        let payload = packet
            .buffer
            .as_ref()
            .get(header_len..)
            .ok_or(Error::Truncated)?;
        let mut repr = Self {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            seq_number: packet.seq_number(),
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.1
            //# If the ACK control bit is set, this field contains the value of
            //# the next sequence number the sender of the segment is expecting
            //# to receive.
            ack_number: flags.ack().then(|| packet.ack_number()),
            flags,
            window_len: packet.window_len(),
            urgent_pointer: packet.urgent_pointer(),
            max_seg_size: None,
            window_scale: None,
            sack_permitted: false,
            sack_ranges: [None; MAX_SACK_BLOCKS],
            timestamp: None,
            payload,
        };
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.1
        //# A TCP implementation MUST be able to receive a TCP Option in any
        //# segment (MUST-5).
        for option in packet.options_iter() {
            match option? {
                TcpOption::MaxSegmentSize(mss) => repr.max_seg_size = Some(mss),
                TcpOption::WindowScale(shift) => repr.window_scale = Some(shift),
                TcpOption::SackPermitted => repr.sack_permitted = true,
                TcpOption::SackRange(ranges) => repr.sack_ranges = ranges,
                TcpOption::Timestamp { tsval, tsecr } => repr.timestamp = Some((tsval, tsecr)),
                TcpOption::EndOfList | TcpOption::NoOperation | TcpOption::Unknown { .. } => {}
            }
        }
        Ok(repr)
    }

    /// Option bytes before the SACK blocks: MSS, Timestamps (with
    /// SACK-Permitted folded in front of it), SACK-Permitted, Window Scale.
    fn fixed_options_len(&self) -> usize {
        let mut len = 0;
        if self.max_seg_size.is_some() {
            len += ALIGNED_SHORT_OPTION;
        }
        if self.timestamp.is_some() {
            len += ALIGNED_TIMESTAMP;
        } else if self.sack_permitted {
            len += ALIGNED_SHORT_OPTION;
        }
        if self.window_scale.is_some() {
            len += ALIGNED_SHORT_OPTION;
        }
        len
    }

    /// How many SACK blocks `emit` writes: the present ones, first first, as
    /// many as fit after the other options.
    //= https://www.rfc-editor.org/rfc/rfc2018#section-3
    //# It is expected that SACK will often be used in
    //# conjunction with the Timestamp option used for RTTM [Jacobson92],
    //# which takes an additional 10 bytes (plus two bytes of padding); thus
    //# a maximum of 3 SACK blocks will be allowed in this case.
    fn sack_blocks(&self) -> usize {
        let room = MAX_OPTIONS_LEN.saturating_sub(self.fixed_options_len() + ALIGNED_SHORT_OPTION);
        self.sack_ranges
            .iter()
            .flatten()
            .count()
            .min(room / SACK_BLOCK)
    }

    /// The header length `emit` writes, options included (at most 60).
    pub fn header_len(&self) -> usize {
        let sack = match self.sack_blocks() {
            0 => 0,
            n => ALIGNED_SHORT_OPTION + n * SACK_BLOCK,
        };
        HEADER_LEN + self.fixed_options_len() + sack
    }

    /// The exact length `emit` writes: header plus payload.
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }

    /// The sequence space the segment occupies: the payload, plus one for
    /// SYN and one for FIN (RFC 9293 section 3.3.1, SEG.LEN).
    pub const fn segment_len(&self) -> usize {
        self.payload.len() + self.flags.syn() as usize + self.flags.fin() as usize
    }

    /// Writes the header and options (checksum zeroed) into a buffer of
    /// exactly [`Repr::buffer_len`] bytes.
    ///
    /// The ACK bit follows `ack_number`, and the Acknowledgment Number is
    /// zero without it. The Reserved bits are zero.
    pub fn emit_header<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let mut flags = self.flags;
        flags.set(Flags::ACK, self.ack_number.is_some());
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_seq_number(self.seq_number);
        packet.set_ack_number(self.ack_number.unwrap_or(0));
        // INVARIANT: header_len() <= MAX_HEADER_LEN (60), so it fits a u8.
        packet.set_header_len(u8::try_from(self.header_len()).unwrap_or(0));
        packet.set_flags(flags);
        packet.set_window_len(self.window_len);
        packet.set_checksum(0);
        packet.set_urgent_pointer(self.urgent_pointer);
        self.emit_options(packet.options_mut());
    }

    /// Writes the options in Linux's order (`tcp_options_write`).
    fn emit_options(&self, mut buf: &mut [u8]) {
        const NOP: TcpOption<'static> = TcpOption::NoOperation;
        if let Some(mss) = self.max_seg_size {
            buf = TcpOption::MaxSegmentSize(mss).emit(buf);
        }
        if let Some((tsval, tsecr)) = self.timestamp {
            if self.sack_permitted {
                buf = TcpOption::SackPermitted.emit(buf);
            } else {
                buf = NOP.emit(NOP.emit(buf));
            }
            buf = TcpOption::Timestamp { tsval, tsecr }.emit(buf);
        } else if self.sack_permitted {
            buf = TcpOption::SackPermitted.emit(NOP.emit(NOP.emit(buf)));
        }
        if let Some(shift) = self.window_scale {
            buf = TcpOption::WindowScale(shift).emit(NOP.emit(buf));
        }
        let blocks = self.sack_blocks();
        if blocks > 0 {
            let mut ranges = [None; MAX_SACK_BLOCKS];
            for (to, from) in ranges
                .iter_mut()
                .zip(self.sack_ranges.iter().flatten())
                .take(blocks)
            {
                *to = Some(*from);
            }
            buf = TcpOption::SackRange(ranges).emit(NOP.emit(NOP.emit(buf)));
        }
        // Nothing is left when header_len() counted right; pad with End of
        // Option List all the same.
        buf.fill(0);
    }

    /// Writes the whole segment, payload and checksum included, into a
    /// buffer of exactly [`Repr::buffer_len`] bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        src: IpAddr,
        dst: IpAddr,
        caps: ChecksumCaps,
    ) {
        self.emit_header(packet);
        packet.payload_mut().copy_from_slice(self.payload);
        packet.fill_checksum(src, dst, caps.tx);
    }
}

#[cfg(test)]
mod tests;
