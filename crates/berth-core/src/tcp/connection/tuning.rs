//! Buffers that grow to fill long paths, the way Linux sizes them: the
//! receive buffer by dynamic right-sizing (DRS, Linux
//! `tcp_rcv_space_adjust`: the window offered follows twice what the
//! application read in the last round trip, and more while the sender is
//! still in slow start) and the send buffer to twice the congestion window
//! (`tcp_sndbuf_expand`), each up to its configured maximum. Memory is
//! charged by use: the rings hold storage only for what they hold, and the
//! stack reports memory pressure (then nothing grows) or exhaustion (then
//! what may be sent to us shrinks to what is already allocated, as Linux
//! clamps windows under `tcp_mem` pressure).
//!
//! The receiver's round trip comes from the timestamp echo on the peer's
//! data (Linux `tcp_rcv_rtt_measure_ts`), or from how long the peer takes
//! to fill the window we offered (`tcp_rcv_rtt_measure`), or else from our
//! own smoothed RTT.

use crate::time::{Duration, Instant};

use super::super::congestion::CongestionControl;
use super::Connection;

/// The smallest buffer either direction is clamped to under memory
/// exhaustion (Linux `tcp_rmem[0]` and `tcp_wmem[0]`: 4096).
pub(super) const MIN_BUFFER: usize = 4096;

/// How short the stack is of buffer memory, as it tells each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum MemoryPressure {
    /// Buffers grow as their connections need.
    #[default]
    None,
    /// No buffer grows (Linux: above `tcp_mem[1]`).
    Pressure,
    /// Buffers shrink to what they hold (Linux: above `tcp_mem[2]`).
    Exhausted,
}

/// The receive side's sizing state.
#[derive(Debug, Clone, Copy)]
pub(super) struct RcvTuning {
    /// The receive buffer's current size: what the window we offer is made
    /// from. Grows from `TcpConfig::recv_buffer` toward `recv_buffer_max`.
    pub(super) space: usize,
    /// Bytes the application has read, in all.
    pub(super) copied: u64,
    /// `copied` and the time at the start of the current measurement.
    mark: (u64, Instant),
    /// What the application read in the last measured round trip (Linux
    /// `rcvq_space.space`).
    per_rtt: u64,
    /// The receiver's RTT estimate.
    rtt: Option<Duration>,
    /// Without timestamps: RCV.NXT must pass this before a window-fill
    /// sample is taken, and when the measurement began.
    fill: Option<(super::super::seq::SeqNum, Instant)>,
}

impl RcvTuning {
    pub(super) fn new(space: usize, mss: u16, now: Instant) -> Self {
        Self {
            space,
            copied: 0,
            mark: (0, now),
            // Linux: min(window, TCP_INIT_CWND * advmss).
            per_rtt: (10 * u64::from(mss)).min(space as u64),
            rtt: None,
            fill: None,
        }
    }

    /// Folds a receiver RTT sample in (Linux `tcp_rcv_rtt_update`: an
    /// eighth of each new sample, or the sample if smaller).
    fn sample(&mut self, rtt: Duration) {
        let rtt = rtt.max(Duration::from_micros(1));
        self.rtt = Some(match self.rtt {
            Some(old) if rtt >= old => old - old / 8 + rtt / 8,
            _ => rtt,
        });
    }
}

impl Connection {
    /// What the receive buffer may grow to: the configured maximum, or the
    /// initial size when tuning is off.
    fn recv_buffer_max(&self) -> usize {
        self.cfg.recv_buffer_max.max(self.cfg.recv_buffer)
    }

    /// What the send buffer may grow to.
    fn send_buffer_max(&self) -> usize {
        self.cfg.send_buffer_max.max(self.cfg.send_buffer)
    }

    /// Bytes of buffer storage the connection holds now (what the stack
    /// charges against its memory bound).
    pub(crate) fn buffer_memory(&self) -> usize {
        self.recv_buf.allocated() + self.send_buf.allocated()
    }

    /// The stack's memory state. Under exhaustion both buffers shrink to
    /// what they hold (at least 4096 bytes each): the window we offer
    /// closes as data arrives, and the application's writes wait.
    pub(crate) fn set_memory_pressure(&mut self, pressure: MemoryPressure) {
        self.memory = pressure;
        if pressure == MemoryPressure::Exhausted {
            let rcv_floor = self.recv_buf.allocated().max(MIN_BUFFER);
            self.rcv_tuning.space = self.rcv_tuning.space.min(rcv_floor);
            let snd_floor = self.send_buf.allocated().max(MIN_BUFFER);
            self.snd_space = self.snd_space.min(snd_floor);
        }
        self.update_soft_caps();
    }

    /// Tells the rings the sizes meant now, so that their storage grows
    /// no further than use needs.
    pub(super) fn update_soft_caps(&mut self) {
        let rounding = 1usize << self.opts.rcv_wscale.get();
        // Storage may run ahead of the sizes only while memory is plenty:
        // past three quarters of the stack's bound it grows exactly.
        let slack = self.memory == MemoryPressure::None;
        self.recv_buf
            .set_soft_cap(self.rcv_tuning.space.saturating_add(rounding), slack);
        self.send_buf.set_soft_cap(self.snd_space, slack);
    }

    /// A data segment arrived in order at `now`, with the timestamp echo
    /// `ecr` (if any): the receiver's RTT, then DRS.
    pub(super) fn rcv_space_adjust(&mut self, now: Instant, ecr: Option<u32>) {
        if let Some(ecr) = ecr.filter(|&e| e != 0) {
            // Our clock's milliseconds since the TSval the peer echoes.
            let elapsed = self.ts_val(now).wrapping_sub(ecr);
            if elapsed < 120_000 {
                self.rcv_tuning
                    .sample(Duration::from_millis(u64::from(elapsed.max(1))));
            }
        } else {
            // How long the peer takes to send the window we offered.
            match self.rcv_tuning.fill {
                Some((edge, since)) if !self.rcv_nxt.before(edge) => {
                    self.rcv_tuning.sample(now.saturating_duration_since(since));
                    self.rcv_tuning.fill = None;
                }
                Some(_) => {}
                None => self.rcv_tuning.fill = Some((self.rcv_adv, now)),
            }
        }
        let Some(rtt) = self.rcv_tuning.rtt.or(self.rtt.srtt()) else {
            return;
        };
        let (mark_copied, mark_time) = self.rcv_tuning.mark;
        if now.saturating_duration_since(mark_time) < rtt {
            return;
        }
        let copied = self.rcv_tuning.copied - mark_copied;
        let before = self.rcv_tuning.per_rtt.max(1);
        if copied > before && self.memory == MemoryPressure::None {
            // Linux's reasoning: twice what arrived in a round trip copes
            // with losses, and a sender in slow start doubles its rate
            // each round trip, so the window must lead it.
            let mss = u64::from(self.cfg.mss);
            let mut window = 2 * copied + 16 * mss;
            let grow = window.saturating_mul(copied - before) / before;
            window = window.saturating_add(2 * grow);
            let target = usize::try_from(window)
                .unwrap_or(usize::MAX)
                .min(self.recv_buffer_max());
            if target > self.rcv_tuning.space {
                self.rcv_tuning.space = target;
                self.update_soft_caps();
            }
        }
        self.rcv_tuning.per_rtt = copied;
        self.rcv_tuning.mark = (self.rcv_tuning.copied, now);
    }

    /// After an ACK: the send buffer follows cwnd (twice it, Linux
    /// `tcp_sndbuf_expand`) while the sender used the window it had and
    /// memory allows.
    pub(super) fn snd_space_adjust(&mut self) {
        if self.memory != MemoryPressure::None || self.recovery.is_some() {
            return;
        }
        let want = (self.cc.cwnd() as usize)
            .saturating_mul(2)
            .min(self.send_buffer_max());
        if want > self.snd_space {
            self.snd_space = want;
            self.update_soft_caps();
        }
    }
}
