//! [`Decoder`]: fuzz bytes read as a [`Setup`] and [`Action`]s. Bytes that
//! run out read as 0, so every input is a valid run.

use super::{Action, Frags, IcmpSpec, Num, Setup, TcpSpec, Tuple};
use crate::wire::TcpFlags;
use crate::wire::tcp_option::MAX_SACK_BLOCKS;

/// Reads fuzz bytes as a setup and actions.
#[derive(Debug)]
pub struct Decoder<'a> {
    data: &'a [u8],
}

impl<'a> Decoder<'a> {
    /// A decoder over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = usize::from(self.u8()).min(max).min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head.to_vec()
    }

    /// The setup: the first bytes.
    pub fn setup(&mut self) -> Setup {
        let bits = self.u8();
        Setup {
            seed: u64::from(self.u32()),
            mtu: [1500, 1280, 576, 1500][usize::from(bits & 3)],
            timestamps: bits & 4 == 0,
            sack: bits & 8 == 0,
            window_scaling: bits & 16 == 0,
            keepalive: bits & 32 != 0,
            recv_buffer: 1024 << (self.u8() % 5),
        }
    }

    /// The actions: the rest, at most `max` of them.
    pub fn actions(&mut self, max: usize) -> Vec<Action> {
        let mut out = Vec::new();
        while !self.data.is_empty() && out.len() < max {
            let op = self.u8();
            out.push(match op % 32 {
                0..=9 => Action::Tcp(self.tcp(), self.frags(op)),
                10 | 11 => Action::Udp {
                    tuple: self.tuple(),
                    len: self.u16() % 3000,
                    frags: self.frags(op),
                },
                12 | 13 => Action::Icmp(self.icmp()),
                14 => Action::RawIp {
                    v6: op & 0x80 != 0,
                    proto: self.u8(),
                    payload: self.bytes(255),
                    frags: self.frags(op),
                },
                15 => Action::Raw(self.bytes(255)),
                16 | 17 => Action::Advance(if op & 0x80 != 0 {
                    u32::from(self.u8()) * 1000
                } else {
                    u32::from(self.u16() % 2000)
                }),
                18 | 19 => Action::NextTimer,
                20 => Action::Accept,
                21 | 22 => Action::Recv {
                    conn: self.u8(),
                    max: self.u16(),
                },
                23 => Action::Send {
                    conn: self.u8(),
                    len: self.u16() % 20000,
                },
                24 => Action::Shutdown(self.u8()),
                25 => Action::Close(self.u8()),
                26 => Action::Abort(self.u8()),
                27 => Action::Connect {
                    port: self.u8(),
                    v6: op & 0x80 != 0,
                },
                28 => Action::UdpRecv,
                29 => Action::UdpSend {
                    tuple: self.tuple(),
                    len: self.u16() % 5000,
                },
                30 => Action::Relisten,
                _ => Action::SetOption {
                    target: self.u8(),
                    option: self.u8(),
                    value: u32::from(self.u16()),
                },
            });
        }
        out
    }

    fn tuple(&mut self) -> Tuple {
        let t = self.u8();
        if t & 0x80 != 0 {
            Tuple::Active(t & 0x7f)
        } else {
            Tuple::Passive(t)
        }
    }

    fn num(&mut self) -> Num {
        let sel = self.u8();
        // Mostly near the numbers in play, sometimes up to +-2^15, sometimes
        // anything.
        let delta = if sel & 0x80 == 0 {
            i32::from(self.u8() as i8)
        } else {
            i32::from(self.u16() as i16)
        };
        match sel & 7 {
            0 | 1 => Num::StackAck(delta),
            2 | 3 => Num::StackNxt(delta),
            4 | 5 => Num::PeerIsn(delta),
            6 => Num::StackAck(0),
            _ => Num::Raw(self.u32()),
        }
    }

    fn tcp(&mut self) -> TcpSpec {
        let tuple = self.tuple();
        let shape = self.u8();
        let flags = self.u8();
        let flags = match shape & 3 {
            // A SYN: the handshake's first step, or a SYN-ACK to our SYN.
            0 => TcpFlags::SYN.bits() | (flags & TcpFlags::ACK.bits()),
            // Plain ACK, PSH and FIN segments.
            1 | 2 => TcpFlags::ACK.bits() | (flags & (TcpFlags::FIN.bits() | TcpFlags::PSH.bits())),
            // Anything (RST, URG, ECE, CWR, none at all).
            _ => flags,
        };
        let seq = self.num();
        let ack = (flags & TcpFlags::ACK.bits() != 0).then(|| self.num());
        let opts = self.u8();
        let mss = (opts & 1 != 0).then(|| self.u16());
        let ws = (opts & 2 != 0).then(|| self.u8() % 16);
        let sack_perm = opts & 4 != 0;
        let nblocks = usize::from((opts >> 3) & 7).min(MAX_SACK_BLOCKS);
        let sack = (0..nblocks).map(|_| (self.num(), self.num())).collect();
        let ts = (opts & 0x40 != 0).then(|| {
            let val = self.u32();
            let ecr = (self.u8() & 1 == 1).then(|| self.u32());
            (val, ecr)
        });
        let len = if shape & 4 != 0 { self.u16() % 1600 } else { 0 };
        TcpSpec {
            tuple,
            seq,
            ack,
            flags,
            wnd: if shape & 8 != 0 { self.u16() } else { 65535 },
            mss,
            ws,
            sack_perm,
            sack,
            ts,
            len,
            bad_checksum: shape & 0xf0 == 0xf0,
        }
    }

    /// Fragments a quarter of the time the op byte says so.
    fn frags(&mut self, op: u8) -> Option<Frags> {
        if op & 0x60 != 0x60 {
            return None;
        }
        let bits = self.u8();
        Some(Frags {
            unit: self.u8() % 32,
            order: bits & 3,
            drop: (bits & 4 != 0).then_some(bits >> 4),
            duplicate: bits & 8 != 0,
            overlap: bits & 0x80 != 0 && bits & 4 == 0,
        })
    }

    fn icmp(&mut self) -> IcmpSpec {
        let kind = self.u8();
        IcmpSpec {
            tuple: self.tuple(),
            kind,
            code: self.u8(),
            rest: self.u32().to_be_bytes(),
            quote_len: usize::from(self.u8()),
            from_router: kind & 0x80 != 0,
        }
    }
}
