//! Reading packet captures: classic pcap (either byte order, microsecond or
//! nanosecond timestamps) and pcapng (Section Header, Interface Description
//! and Enhanced Packet blocks; others are skipped). Records come out one at
//! a time, so a capture of any size is read in constant memory.
//!
//! A damaged file never panics: a cut-off last record ends the capture (as
//! when tcpdump was killed), and a record header that cannot be right (a
//! length beyond [`MAX_RECORD`]) stops the reading with the reason kept in
//! [`Reader::damage`].

use std::io::{self, Read};

use anyhow::bail;

/// The largest record accepted (pcapng blocks and pcap captured lengths).
pub(crate) const MAX_RECORD: usize = 16 << 20;

/// Classic pcap magic, microsecond timestamps (as read little-endian).
const PCAP_US: u32 = 0xa1b2_c3d4;
/// Classic pcap magic, nanosecond timestamps.
const PCAP_NS: u32 = 0xa1b2_3c4d;
/// pcapng Section Header Block type (a palindrome: the same in both orders).
const NG_SHB: u32 = 0x0a0d_0d0a;
/// pcapng byte-order magic.
const NG_BOM: u32 = 0x1a2b_3c4d;
/// pcapng Interface Description Block.
const NG_IDB: u32 = 1;
/// pcapng Enhanced Packet Block.
const NG_EPB: u32 = 6;
/// pcapng option `if_tsresol` of an IDB.
const NG_IF_TSRESOL: u16 = 9;

/// One captured packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    /// Microseconds since the Unix epoch (or since the capture's origin).
    pub(crate) t_us: u64,
    /// The link type (LINKTYPE_*).
    pub(crate) link: u32,
    /// The captured bytes.
    pub(crate) data: Vec<u8>,
    /// The length on the wire (more than `data.len()` when cut by the snap
    /// length).
    pub(crate) orig_len: usize,
}

#[derive(Debug, Clone, Copy)]
struct Interface {
    link: u32,
    /// Timestamp units per second.
    units: u128,
}

enum Kind {
    Pcap { big: bool, nanos: bool, link: u32 },
    Ng { big: bool, ifaces: Vec<Interface> },
}

/// Reads records from a capture.
pub(crate) struct Reader<R: Read> {
    r: R,
    kind: Kind,
    /// Why reading stopped early, if it did.
    pub(crate) damage: Option<String>,
    /// Records skipped: no timestamp (pcapng simple packets), an unknown
    /// interface.
    pub(crate) skipped: u64,
}

fn u16_at(b: &[u8], at: usize, big: bool) -> u16 {
    let mut a = [0; 2];
    if let Some(s) = b.get(at..at + 2) {
        a.copy_from_slice(s);
    }
    if big {
        u16::from_be_bytes(a)
    } else {
        u16::from_le_bytes(a)
    }
}

fn u32_at(b: &[u8], at: usize, big: bool) -> u32 {
    let mut a = [0; 4];
    if let Some(s) = b.get(at..at + 4) {
        a.copy_from_slice(s);
    }
    if big {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    }
}

/// Fills `buf`; `Ok(false)` if the input ended before the first byte,
/// `UnexpectedEof` if it ended part-way.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<bool> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) if got == 0 => return Ok(false),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

fn tsresol(v: u8) -> u128 {
    let exp = u32::from(v & 0x7f);
    if v & 0x80 != 0 {
        1u128.checked_shl(exp).unwrap_or(1_000_000)
    } else {
        10u128.checked_pow(exp).unwrap_or(1_000_000)
    }
}

impl<R: Read> Reader<R> {
    /// Reads the file header; fails if this is not a capture we know.
    pub(crate) fn new(mut r: R) -> anyhow::Result<Self> {
        let mut head = [0u8; 4];
        if !read_full(&mut r, &mut head)? {
            bail!("empty file, not a capture");
        }
        let magic = u32::from_le_bytes(head);
        let kind = match magic {
            PCAP_US | PCAP_NS => Some((false, magic == PCAP_NS)),
            m if m.swap_bytes() == PCAP_US || m.swap_bytes() == PCAP_NS => {
                Some((true, m.swap_bytes() == PCAP_NS))
            }
            _ => None,
        };
        if let Some((big, nanos)) = kind {
            let mut rest = [0u8; 20];
            if !read_full(&mut r, &mut rest)? {
                bail!("pcap file header cut short");
            }
            let link = u32_at(&rest, 16, big) & 0x0fff_ffff;
            return Ok(Self {
                r,
                kind: Kind::Pcap { big, nanos, link },
                damage: None,
                skipped: 0,
            });
        }
        if magic == NG_SHB {
            let mut reader = Self {
                r,
                kind: Kind::Ng {
                    big: false,
                    ifaces: Vec::new(),
                },
                damage: None,
                skipped: 0,
            };
            reader.section_header()?;
            return Ok(reader);
        }
        bail!(
            "not a pcap or pcapng capture (magic {magic:#010x}); convert it with \
             `editcap -F pcap IN OUT` or `tcpdump -r IN -w OUT`"
        )
    }

    /// The rest of a Section Header Block, its type already read.
    fn section_header(&mut self) -> anyhow::Result<()> {
        let mut lb = [0u8; 8];
        if !read_full(&mut self.r, &mut lb)? {
            bail!("pcapng section header cut short");
        }
        let big = match u32::from_le_bytes([lb[4], lb[5], lb[6], lb[7]]) {
            NG_BOM => false,
            m if m.swap_bytes() == NG_BOM => true,
            m => bail!("pcapng section header with a bad byte-order magic {m:#010x}"),
        };
        let total = u32_at(&lb, 0, big) as usize;
        if total < 28 || !total.is_multiple_of(4) || total > MAX_RECORD {
            bail!("pcapng section header of impossible length {total}");
        }
        // Type, length and magic are read; skip the rest of the block.
        let mut rest = vec![0u8; total - 12];
        if !read_full(&mut self.r, &mut rest)? {
            bail!("pcapng section header cut short");
        }
        self.kind = Kind::Ng {
            big,
            ifaces: Vec::new(),
        };
        Ok(())
    }

    /// The next record, `None` at the end (or where the file is damaged).
    pub(crate) fn next_record(&mut self) -> io::Result<Option<Record>> {
        loop {
            if self.damage.is_some() {
                return Ok(None);
            }
            let step = match self.kind {
                Kind::Pcap { big, nanos, link } => self.pcap_record(big, nanos, link),
                Kind::Ng { big, .. } => self.ng_block(big),
            };
            match step {
                Ok(Step::Record(r)) => return Ok(Some(r)),
                Ok(Step::Skip) => {}
                Ok(Step::End) => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    self.damage = Some("the last record is cut short".into());
                    return Ok(None);
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn pcap_record(&mut self, big: bool, nanos: bool, link: u32) -> io::Result<Step> {
        let mut h = [0u8; 16];
        if !read_full(&mut self.r, &mut h)? {
            return Ok(Step::End);
        }
        let secs = u64::from(u32_at(&h, 0, big));
        let frac = u64::from(u32_at(&h, 4, big));
        let caplen = u32_at(&h, 8, big) as usize;
        let orig_len = u32_at(&h, 12, big) as usize;
        if caplen > MAX_RECORD {
            self.damage = Some(format!("a record claims {caplen} captured bytes"));
            return Ok(Step::End);
        }
        let mut data = vec![0u8; caplen];
        if caplen > 0 && !read_full(&mut self.r, &mut data)? {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let frac_us = if nanos { frac / 1000 } else { frac };
        Ok(Step::Record(Record {
            t_us: secs.saturating_mul(1_000_000).saturating_add(frac_us),
            link,
            data,
            orig_len: orig_len.max(caplen),
        }))
    }

    fn ng_block(&mut self, big: bool) -> io::Result<Step> {
        let mut h = [0u8; 8];
        if !read_full(&mut self.r, &mut h)? {
            return Ok(Step::End);
        }
        let btype = u32_at(&h, 0, big);
        if btype == NG_SHB {
            // A new section, perhaps of the other byte order.
            return match self.section_header() {
                Ok(()) => Ok(Step::Skip),
                Err(e) => {
                    self.damage = Some(format!("{e:#}"));
                    Ok(Step::End)
                }
            };
        }
        let total = u32_at(&h, 4, big) as usize;
        if total < 12 || !total.is_multiple_of(4) || total > MAX_RECORD {
            self.damage = Some(format!("a pcapng block of impossible length {total}"));
            return Ok(Step::End);
        }
        let mut body = vec![0u8; total - 8];
        if !read_full(&mut self.r, &mut body)? {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        // The trailing copy of the length is not part of the body.
        body.truncate(total - 12);
        let Kind::Ng { ifaces, .. } = &mut self.kind else {
            return Ok(Step::Skip);
        };
        match btype {
            NG_IDB => {
                let link = u32::from(u16_at(&body, 0, big));
                let mut units = 1_000_000;
                let mut at = 8;
                while at + 4 <= body.len() {
                    let code = u16_at(&body, at, big);
                    let len = usize::from(u16_at(&body, at + 2, big));
                    if code == 0 {
                        break;
                    }
                    if code == NG_IF_TSRESOL
                        && len == 1
                        && let Some(&v) = body.get(at + 4)
                    {
                        units = tsresol(v);
                    }
                    at += 4 + len.div_ceil(4) * 4;
                }
                ifaces.push(Interface { link, units });
                Ok(Step::Skip)
            }
            NG_EPB => {
                let iface = u32_at(&body, 0, big) as usize;
                let Some(i) = ifaces.get(iface).copied() else {
                    self.skipped += 1;
                    return Ok(Step::Skip);
                };
                let ts =
                    (u128::from(u32_at(&body, 4, big)) << 32) | u128::from(u32_at(&body, 8, big));
                let caplen = u32_at(&body, 12, big) as usize;
                let orig_len = u32_at(&body, 16, big) as usize;
                let Some(data) = body.get(20..20 + caplen) else {
                    self.skipped += 1;
                    return Ok(Step::Skip);
                };
                let t_us = ts.saturating_mul(1_000_000) / i.units.max(1);
                Ok(Step::Record(Record {
                    t_us: u64::try_from(t_us).unwrap_or(u64::MAX),
                    link: i.link,
                    data: data.to_vec(),
                    orig_len: orig_len.max(caplen),
                }))
            }
            // Simple Packet Blocks carry no timestamp; name resolution,
            // statistics and custom blocks carry no packet.
            3 => {
                self.skipped += 1;
                Ok(Step::Skip)
            }
            _ => Ok(Step::Skip),
        }
    }
}

enum Step {
    Record(Record),
    Skip,
    End,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcap(big: bool, records: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let w32 = |v: u32| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let w16 = |v: u16| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut f = Vec::new();
        f.extend(w32(PCAP_US));
        f.extend(w16(2));
        f.extend(w16(4));
        f.extend([0; 8]);
        f.extend(w32(65535));
        f.extend(w32(101));
        for (s, us, data) in records {
            f.extend(w32(*s));
            f.extend(w32(*us));
            f.extend(w32(data.len() as u32));
            f.extend(w32(data.len() as u32));
            f.extend(*data);
        }
        f
    }

    fn all(bytes: &[u8]) -> (Vec<Record>, Option<String>) {
        let mut r = Reader::new(bytes).unwrap();
        let mut out = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            out.push(rec);
        }
        (out, r.damage)
    }

    #[test]
    fn classic_pcap_both_byte_orders() {
        for big in [false, true] {
            let f = pcap(big, &[(1, 5, b"abc"), (2, 0, b"")]);
            let (recs, damage) = all(&f);
            assert_eq!(damage, None);
            assert_eq!(recs.len(), 2);
            assert_eq!(recs[0].t_us, 1_000_005);
            assert_eq!(recs[0].link, 101);
            assert_eq!(recs[0].data, b"abc");
            assert_eq!(recs[1].t_us, 2_000_000);
        }
    }

    #[test]
    fn a_cut_off_tail_ends_the_capture() {
        let f = pcap(false, &[(1, 0, b"abcdef"), (2, 0, b"ghijkl")]);
        for cut in 24..f.len() {
            let (recs, _) = all(&f[..cut]);
            assert!(recs.len() <= 2);
        }
        let (recs, damage) = all(&f[..f.len() - 2]);
        assert_eq!(recs.len(), 1);
        assert!(damage.is_some());
    }

    #[test]
    fn not_a_capture() {
        assert!(Reader::new(&b""[..]).is_err());
        assert!(Reader::new(&b"hello world, not a pcap"[..]).is_err());
        assert!(Reader::new(&pcap(false, &[])[..10]).is_err());
    }

    #[test]
    fn pcapng_with_nanosecond_interface() {
        let mut f = Vec::new();
        let block = |f: &mut Vec<u8>, t: u32, body: &[u8]| {
            let len = (12 + body.len().div_ceil(4) * 4) as u32;
            f.extend(t.to_le_bytes());
            f.extend(len.to_le_bytes());
            f.extend(body);
            f.resize(f.len() + (body.len().div_ceil(4) * 4 - body.len()), 0);
            f.extend(len.to_le_bytes());
        };
        let mut shb = Vec::new();
        shb.extend(NG_BOM.to_le_bytes());
        shb.extend(1u16.to_le_bytes());
        shb.extend(0u16.to_le_bytes());
        shb.extend((-1i64).to_le_bytes());
        block(&mut f, NG_SHB, &shb);
        let mut idb = Vec::new();
        idb.extend(228u16.to_le_bytes());
        idb.extend(0u16.to_le_bytes());
        idb.extend(0u32.to_le_bytes());
        idb.extend(NG_IF_TSRESOL.to_le_bytes());
        idb.extend(1u16.to_le_bytes());
        idb.extend([9, 0, 0, 0]);
        idb.extend([0, 0, 0, 0]);
        block(&mut f, NG_IDB, &idb);
        let ts: u64 = 3_000_000_123_456; // ns
        let mut epb = Vec::new();
        epb.extend(0u32.to_le_bytes());
        epb.extend(((ts >> 32) as u32).to_le_bytes());
        epb.extend((ts as u32).to_le_bytes());
        epb.extend(3u32.to_le_bytes());
        epb.extend(40u32.to_le_bytes());
        epb.extend(b"xyz");
        block(&mut f, NG_EPB, &epb);
        // An EPB of an interface never described is skipped.
        let mut bad = epb.clone();
        bad[0] = 7;
        block(&mut f, NG_EPB, &bad);
        let mut r = Reader::new(&f[..]).unwrap();
        let rec = r.next_record().unwrap().unwrap();
        assert_eq!(rec.t_us, 3_000_000_123);
        assert_eq!(rec.link, 228);
        assert_eq!(rec.data, b"xyz");
        assert_eq!(rec.orig_len, 40);
        assert_eq!(r.next_record().unwrap(), None);
        assert_eq!(r.skipped, 1);
        assert_eq!(r.damage, None);
    }
}
