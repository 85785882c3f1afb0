//! The model behind the pictures: TCP segments grouped into connections
//! (by 4-tuple, both directions) and, per direction, the segments sent and
//! the ACKs that direction's sender made of the other's data.
//!
//! Sequence numbers are relative to the direction's ISN (the SYN is 0, the
//! first data byte 1, as in tcptrace and Wireshark; without a SYN in the
//! capture, the first byte seen is 1) and unwrapped to 64 bits, so transfers
//! past 4 GiB keep climbing. A segment that occupies sequence space (data,
//! SYN or FIN) and starts below the highest sequence number already sent in
//! its direction is a retransmission, the rule tcptrace and Wireshark use.
//! A SYN on a 4-tuple whose connection had ended (FIN or RST) starts a new
//! connection.

use std::collections::HashMap;
use std::net::SocketAddr;

use berth_core::wire::tcp_option::MAX_SACK_BLOCKS;

use super::decode::TcpSeg;

/// RFC 7323 section 2.3: a shift count above 14 is used as 14.
const MAX_WSCALE: u8 = 14;

/// One segment, placed in its direction's sequence space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegRec {
    /// Microseconds, on the capture's clock.
    pub(crate) t: u64,
    /// Relative sequence number (a SYN's own; its payload, if any, starts
    /// one later).
    pub(crate) start: i64,
    /// Payload bytes.
    pub(crate) len: u32,
    pub(crate) syn: bool,
    pub(crate) fin: bool,
    pub(crate) rst: bool,
    /// Its sequence space was sent before.
    pub(crate) retransmit: bool,
}

/// One acknowledgment, in the sequence space of the data it acknowledges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AckRec {
    pub(crate) t: u64,
    pub(crate) ack: i64,
    /// The advertised window in bytes, scaled.
    pub(crate) window: u64,
    pub(crate) sack: [Option<(i64, i64)>; MAX_SACK_BLOCKS],
}

/// One direction of a connection.
#[derive(Debug, Clone)]
pub(crate) struct Dir {
    pub(crate) from: SocketAddr,
    pub(crate) to: SocketAddr,
    /// The raw sequence number that is relative 0.
    base: Option<u32>,
    /// The latest relative sequence number, for unwrapping.
    reference: i64,
    pub(crate) syn_seen: bool,
    /// The Window Scale this side offered in its SYN.
    wscale: Option<u8>,
    /// The highest relative sequence number sent (end of the highest
    /// segment), if any was.
    high: Option<i64>,
    /// The end of the highest payload byte sent.
    pub(crate) payload_high: i64,
    /// The segments this side sent.
    pub(crate) segs: Vec<SegRec>,
    /// The ACKs this side sent (of the other direction's data).
    pub(crate) acks: Vec<AckRec>,
    /// Segments with sequence space that were retransmissions.
    pub(crate) retransmits: u64,
    /// Payload bytes sent, retransmissions included.
    pub(crate) payload_bytes: u64,
}

impl Dir {
    fn new(from: SocketAddr, to: SocketAddr) -> Self {
        Self {
            from,
            to,
            base: None,
            reference: 0,
            syn_seen: false,
            wscale: None,
            high: None,
            payload_high: 1,
            segs: Vec::new(),
            acks: Vec::new(),
            retransmits: 0,
            payload_bytes: 0,
        }
    }

    /// The relative, unwrapped position of a raw sequence number; `first`
    /// is what it is when this direction has no origin yet.
    fn relative(&mut self, raw: u32, first: i64) -> i64 {
        let base = *self
            .base
            .get_or_insert_with(|| raw.wrapping_sub(first as u32));
        let offset = raw.wrapping_sub(base);
        let delta = offset.wrapping_sub(self.reference as u32) as i32;
        self.reference + i64::from(delta)
    }

    /// Whether this direction carried payload.
    pub(crate) fn has_data(&self) -> bool {
        self.payload_bytes > 0
    }

    /// Whether this direction is worth a picture: it carried data, or it
    /// retransmitted (a SYN that never got an answer, a FIN resent).
    pub(crate) fn is_drawn(&self) -> bool {
        self.has_data() || self.retransmits > 0
    }

    /// Payload bytes sent, counting each byte once (the highest sent).
    pub(crate) fn payload_sent(&self) -> u64 {
        u64::try_from(self.payload_high - 1).unwrap_or(0)
    }
}

/// One connection: `dirs[0]` is the client's data (up), `dirs[1]` the
/// server's (down).
#[derive(Debug, Clone)]
pub(crate) struct Conn {
    /// 1-based, in order of first appearance.
    pub(crate) number: usize,
    pub(crate) dirs: [Dir; 2],
    pub(crate) first_t: u64,
    pub(crate) last_t: u64,
    /// A FIN was sent in each direction.
    fin: [bool; 2],
    rst: bool,
}

impl Conn {
    pub(crate) fn client(&self) -> SocketAddr {
        self.dirs[0].from
    }

    pub(crate) fn server(&self) -> SocketAddr {
        self.dirs[0].to
    }

    /// Whether the Window Scale negotiation was seen (both SYNs).
    pub(crate) fn scale_known(&self) -> bool {
        self.dirs[0].syn_seen && self.dirs[1].syn_seen
    }

    /// The shift applied to the windows that direction `d` sends.
    pub(crate) fn wscale(&self, d: usize) -> u8 {
        match (self.dirs[0].wscale, self.dirs[1].wscale) {
            (Some(_), Some(_)) => self.dirs[d].wscale.unwrap_or(0).min(MAX_WSCALE),
            _ => 0,
        }
    }

    fn ended(&self) -> bool {
        self.rst || (self.fin[0] && self.fin[1])
    }

    fn add(&mut self, t: u64, seg: &TcpSeg) {
        let d = usize::from(seg.src != self.dirs[0].from);
        let o = 1 - d;
        self.last_t = self.last_t.max(t);
        let syn = seg.flags.syn();
        let fin = seg.flags.fin();
        self.rst |= seg.flags.rst();
        self.fin[d] |= fin;
        let scale = self.wscale(d);
        let dir = &mut self.dirs[d];
        if syn {
            dir.syn_seen = true;
            dir.wscale = seg.wscale;
        }
        // With a SYN the ISN is relative 0; otherwise the first byte is 1.
        let start = dir.relative(seg.seq, if syn { 0 } else { 1 });
        let space = i64::from(seg.payload_len) + i64::from(syn) + i64::from(fin);
        let retransmit = space > 0 && dir.high.is_some_and(|h| start < h);
        if space > 0 {
            let end = start + space;
            dir.high = Some(dir.high.map_or(end, |h| h.max(end)));
            dir.reference = dir.reference.max(end);
        }
        if seg.payload_len > 0 {
            let first_data = start + i64::from(syn);
            dir.payload_high = dir
                .payload_high
                .max(first_data + i64::from(seg.payload_len));
            dir.payload_bytes += u64::from(seg.payload_len);
        }
        dir.retransmits += u64::from(retransmit);
        if space > 0 || seg.flags.rst() {
            dir.segs.push(SegRec {
                t,
                start,
                len: seg.payload_len,
                syn,
                fin,
                rst: seg.flags.rst(),
                retransmit,
            });
        }
        let Some(ack) = seg.ack else {
            return;
        };
        //= https://www.rfc-editor.org/rfc/rfc7323#section-2.2
        //# The window field in a segment where the SYN bit is set (i.e., a
        //# <SYN> or <SYN,ACK>) MUST NOT be scaled.
        let window = u64::from(seg.window) << if syn { 0 } else { scale };
        let other = &mut self.dirs[o];
        let ack = other.relative(ack, 1);
        let mut sack = [None; MAX_SACK_BLOCKS];
        for (slot, block) in sack.iter_mut().zip(seg.sack) {
            *slot = block.map(|(l, r)| (other.relative(l, 1), other.relative(r, 1)));
        }
        self.dirs[d].acks.push(AckRec {
            t,
            ack,
            window,
            sack,
        });
    }
}

/// A slot of the 4-tuple table.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Kept(usize),
    /// Past the limit of connections kept: only counted.
    Dropped,
}

/// All connections of a capture.
#[derive(Debug)]
pub(crate) struct Tracker {
    pub(crate) conns: Vec<Conn>,
    live: HashMap<(SocketAddr, SocketAddr), Slot>,
    max_conns: usize,
    /// Connections seen past `max_conns`, not kept.
    pub(crate) dropped_conns: u64,
}

fn key(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
    if a <= b { (a, b) } else { (b, a) }
}

impl Tracker {
    /// Keeps the segments of the first `max_conns` connections.
    pub(crate) fn new(max_conns: usize) -> Self {
        Self {
            conns: Vec::new(),
            live: HashMap::new(),
            max_conns,
            dropped_conns: 0,
        }
    }

    /// Adds a segment seen at `t` microseconds.
    pub(crate) fn add(&mut self, t: u64, seg: &TcpSeg) {
        let k = key(seg.src, seg.dst);
        let opening = seg.flags.syn() && seg.ack.is_none();
        let slot = match self.live.get(&k) {
            Some(Slot::Kept(i)) => {
                let reopened = opening
                    && self.conns.get(*i).is_some_and(|c| {
                        c.ended()
                            && c.dirs[usize::from(seg.src != c.client())].base != Some(seg.seq)
                    });
                if reopened { None } else { Some(Slot::Kept(*i)) }
            }
            Some(Slot::Dropped) => Some(Slot::Dropped),
            None => None,
        };
        let slot = slot.unwrap_or_else(|| self.open(k, t, seg));
        if let Slot::Kept(i) = slot
            && let Some(c) = self.conns.get_mut(i)
        {
            c.add(t, seg);
        }
    }

    fn open(&mut self, k: (SocketAddr, SocketAddr), t: u64, seg: &TcpSeg) -> Slot {
        if self.conns.len() >= self.max_conns {
            self.dropped_conns += 1;
            self.live.insert(k, Slot::Dropped);
            return Slot::Dropped;
        }
        // The client: the SYN's sender; without one, the higher port (the
        // ephemeral one, most likely).
        let client_is_src = if seg.flags.syn() {
            seg.ack.is_none()
        } else {
            seg.src.port() >= seg.dst.port()
        };
        let (client, server) = if client_is_src {
            (seg.src, seg.dst)
        } else {
            (seg.dst, seg.src)
        };
        let i = self.conns.len();
        self.conns.push(Conn {
            number: i + 1,
            dirs: [Dir::new(client, server), Dir::new(server, client)],
            first_t: t,
            last_t: t,
            fin: [false; 2],
            rst: false,
        });
        self.live.insert(k, Slot::Kept(i));
        Slot::Kept(i)
    }

    /// The connection and direction index of data sent from `from` to `to`.
    pub(crate) fn find(&self, from: SocketAddr, to: SocketAddr) -> Option<(&Conn, usize)> {
        let Some(Slot::Kept(i)) = self.live.get(&key(from, to)) else {
            return None;
        };
        let c = self.conns.get(*i)?;
        Some((c, usize::from(c.dirs[0].from != from)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_core::wire::TcpFlags;

    fn seg(from: &str, to: &str, seq: u32, ack: Option<u32>, flags: TcpFlags, len: u32) -> TcpSeg {
        TcpSeg {
            src: from.parse().unwrap(),
            dst: to.parse().unwrap(),
            seq,
            ack,
            flags,
            window: 1000,
            wscale: flags.syn().then_some(2),
            sack: [None; MAX_SACK_BLOCKS],
            payload_len: len,
        }
    }

    const C: &str = "10.0.0.1:50000";
    const S: &str = "10.0.0.2:80";

    #[test]
    fn a_handshake_data_a_retransmission_and_wraparound() {
        let mut t = Tracker::new(10);
        let isn = u32::MAX - 1000;
        t.add(0, &seg(C, S, isn, None, TcpFlags::SYN, 0));
        t.add(
            1,
            &seg(
                S,
                C,
                7,
                Some(isn.wrapping_add(1)),
                TcpFlags::SYN | TcpFlags::ACK,
                0,
            ),
        );
        let ack = Some(8);
        for i in 0..4u32 {
            let seq = isn.wrapping_add(1 + i * 1000);
            t.add(2 + u64::from(i), &seg(C, S, seq, ack, TcpFlags::ACK, 1000));
        }
        // The second segment again: seq 1001 is below the highest sent.
        t.add(
            9,
            &seg(C, S, isn.wrapping_add(1001), ack, TcpFlags::ACK, 1000),
        );
        let mut sack = seg(S, C, 8, Some(isn.wrapping_add(1001)), TcpFlags::ACK, 0);
        sack.sack[0] = Some((isn.wrapping_add(2001), isn.wrapping_add(4001)));
        t.add(10, &sack);
        assert_eq!(t.conns.len(), 1);
        let c = &t.conns[0];
        assert_eq!(c.client(), C.parse().unwrap());
        let up = &c.dirs[0];
        let starts: Vec<i64> = up.segs.iter().map(|s| s.start).collect();
        assert_eq!(starts, [0, 1, 1001, 2001, 3001, 1001], "SYN, data, rexmit");
        let rexmits: Vec<bool> = up.segs.iter().map(|s| s.retransmit).collect();
        assert_eq!(rexmits, [false, false, false, false, false, true]);
        assert_eq!(up.retransmits, 1);
        assert_eq!(up.payload_sent(), 4000);
        let down = &c.dirs[1];
        let last = down.acks.last().unwrap();
        assert_eq!(last.ack, 1001);
        assert_eq!(last.sack[0], Some((2001, 4001)));
        assert_eq!(last.window, 1000 << 2, "scaled after the handshake");
        assert_eq!(down.acks[0].window, 1000, "a SYN's window is not scaled");
        assert!(!down.has_data());
        assert_eq!(t.find(S.parse().unwrap(), C.parse().unwrap()).unwrap().1, 1);
    }

    #[test]
    fn mid_stream_capture_and_reuse() {
        let mut t = Tracker::new(10);
        // No SYN: the higher port is the client; its first byte is 1.
        t.add(5, &seg(S, C, 500, Some(900), TcpFlags::ACK, 100));
        let c = &t.conns[0];
        assert_eq!(c.client(), C.parse().unwrap());
        assert_eq!(c.dirs[1].segs[0].start, 1);
        assert_eq!(c.dirs[0].acks.len(), 0);
        assert!(!c.scale_known());
        t.add(
            6,
            &seg(C, S, 900, Some(600), TcpFlags::RST | TcpFlags::ACK, 0),
        );
        // A new SYN on the same 4-tuple after the reset: a new connection.
        t.add(7, &seg(C, S, 5, None, TcpFlags::SYN, 0));
        assert_eq!(t.conns.len(), 2);
        assert_eq!(t.conns[1].number, 2);
        assert_eq!(t.conns[1].first_t, 7);
    }

    #[test]
    fn an_unanswered_syn_is_drawn() {
        let mut t = Tracker::new(10);
        t.add(0, &seg(C, S, 77, None, TcpFlags::SYN, 0));
        let once = t.conns[0].dirs[0].is_drawn();
        t.add(1_000_000, &seg(C, S, 77, None, TcpFlags::SYN, 0));
        let up = &t.conns[0].dirs[0];
        assert!(!once && up.is_drawn() && !up.has_data());
        assert_eq!(up.retransmits, 1);
        assert_eq!(t.conns.len(), 1, "a SYN resent is the same connection");
    }

    #[test]
    fn connections_past_the_limit_are_counted_only() {
        let mut t = Tracker::new(1);
        t.add(0, &seg(C, S, 1, None, TcpFlags::SYN, 0));
        t.add(0, &seg("10.0.0.1:50001", S, 1, None, TcpFlags::SYN, 0));
        t.add(1, &seg("10.0.0.1:50001", S, 2, None, TcpFlags::ACK, 10));
        assert_eq!(t.conns.len(), 1);
        assert_eq!(t.dropped_conns, 1);
    }
}
