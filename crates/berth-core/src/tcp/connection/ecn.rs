//! Explicit Congestion Notification (RFC 3168): negotiated in the
//! handshake (an ECN-setup SYN carries ECE and CWR, the SYN-ACK that
//! accepts it ECE alone), then new data goes out ECN-capable (ECT(0)), a
//! receiver that sees Congestion Experienced echoes ECE on its ACKs until
//! the sender says CWR, and the sender answers an echo with one window
//! reduction per round trip, paced by PRR, without retransmitting.
//!
//! Linux's default (`tcp_ecn = 2`) is [`EcnMode::Passive`]: accept ECN
//! when the peer asks, never ask.

use crate::time::Instant;
use crate::wire::TcpFlags as Flags;

use super::super::EcnMode;
use super::super::congestion::CongestionControl;
use super::super::prr::Prr;
use super::super::segment::Segment;
use super::recovery::{Phase, Recovery};
use super::{Connection, Pending};

/// The connection's ECN state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct EcnState {
    /// Both ends agreed in the handshake.
    pub(super) negotiated: bool,
    /// We saw CE and echo ECE until the peer sends CWR (receiver).
    pub(super) echo: bool,
    /// Our next new data segment carries CWR (sender).
    pub(super) cwr_pending: bool,
    /// The segment `poll_transmit` just wrote is ECN-capable.
    pub(super) last_ect: bool,
}

impl Connection {
    /// The flags our SYN (`active`) or SYN-ACK adds for ECN.
    pub(super) fn ecn_syn_flags(&self, active: bool) -> Flags {
        if active {
            //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.1
            //# Before a TCP connection can use ECN, Host A sends an ECN-setup
            //# SYN packet to Host B, and Host B sends an ECN-setup SYN-ACK
            //# packet to Host A.
            // A retransmitted SYN asks no more (Linux tcp_ecn_clear_syn): a
            // middlebox may drop ECN-setup SYNs.
            if self.cfg.ecn == EcnMode::On && self.retries == 0 {
                return Flags::ECE | Flags::CWR;
            }
        } else if self.ecn.negotiated {
            //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.1
            //# An ECN-setup SYN-ACK packet is a SYN-ACK packet
            //# with the ECE flag set but the CWR flag not set.
            return Flags::ECE;
        }
        Flags::empty()
    }

    /// The peer's SYN, taken by a listener: ECN is on if it asks and we
    /// accept.
    pub(super) fn ecn_on_syn(&mut self, syn: &Segment<'_>) {
        //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.1
        //# An ECN-setup SYN packet is a SYN packet with the ECE and CWR flags
        //# set.
        self.ecn.negotiated = self.cfg.ecn != EcnMode::Off
            && syn.flags.contains(Flags::ECE)
            && syn.flags.contains(Flags::CWR);
    }

    /// The peer's SYN-ACK, in SYN-SENT: ECN is on if we asked and it
    /// accepted.
    pub(super) fn ecn_on_syn_ack(&mut self, syn_ack: &Segment<'_>) {
        self.ecn.negotiated = self.cfg.ecn == EcnMode::On
            && syn_ack.flags.contains(Flags::ECE)
            && !syn_ack.flags.contains(Flags::CWR);
    }

    /// A segment arrived: as receiver, note CE and CWR; as sender, answer
    /// ECE.
    pub(super) fn ecn_on_segment(&mut self, now: Instant, seg: &Segment<'_>) {
        if !self.ecn.negotiated || seg.syn() {
            return;
        }
        //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.3
        //# When a TCP receives a CWR packet, it stops setting the ECE flag
        //# in its ACKs.
        if seg.flags.contains(Flags::CWR) {
            self.ecn.echo = false;
        }
        //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.3
        //# After a TCP receives a CE packet, the TCP sets the ECE flag in the
        //# ACK packets it sends until it receives a CWR packet from the
        //# other TCP.
        if seg.ce {
            self.stats.ecn_ce_received += 1;
            self.ecn.echo = true;
            // Linux answers CE at once (quick-ack mode).
            self.pending.insert(Pending::ACK);
        }
        if seg.flags.contains(Flags::ECE) && seg.ack.is_some() {
            self.ecn_congestion(now);
        }
    }

    /// The peer echoed congestion: one window reduction per round trip,
    /// paced by PRR, nothing retransmitted (Linux's CWR state).
    fn ecn_congestion(&mut self, now: Instant) {
        //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.2
        //# The sender's congestion window should
        //# be reduced at most once per window of data.
        if self.recovery.is_some() || self.snd_una == self.snd_nxt {
            return;
        }
        //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.2
        //# If the sender receives an ECN-Echo (ECE) ACK
        //# packet (that is, an ACK packet with the ECN-Echo flag set in the TCP
        //# header), then the sender knows that congestion was encountered in
        //# the network on the path from the sender to the receiver.  The
        //# indication of congestion should be treated just as a congestion loss
        //# in non-ECN-Capable TCP.
        let outstanding = u32::try_from(self.flight_size()).unwrap_or(u32::MAX);
        let base = self
            .cc
            .cwnd()
            .max(outstanding.min(self.cc.cwnd().saturating_mul(2)));
        self.cc.on_enter_recovery(now, base);
        self.recovery = Some(Recovery {
            phase: Phase::Cwr,
            point: self.snd_nxt,
            prr: Prr::new(outstanding),
            frto: None,
        });
        // An ECN reduction is not undone (the congestion was real).
        self.undo = None;
        self.stats.ecn_reductions += 1;
        self.ecn_reduced();
    }

    /// Our window was reduced (for ECN or for a loss): the next new data
    /// segment says so with CWR.
    pub(super) fn ecn_reduced(&mut self) {
        //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.2
        //# the TCP sender then sets the CWR flag in the TCP header of the
        //# first new data packet sent after the window reduction
        if self.ecn.negotiated {
            self.ecn.cwr_pending = true;
        }
    }

    /// The flags a data segment from `poll_data` adds (CWR once after a
    /// reduction), and whether it goes ECN-capable: new data only.
    pub(super) fn ecn_data_flags(&mut self, len: u32) -> Flags {
        if !self.ecn.negotiated || len == 0 {
            return Flags::empty();
        }
        self.ecn.last_ect = true;
        if core::mem::take(&mut self.ecn.cwr_pending) {
            Flags::CWR
        } else {
            Flags::empty()
        }
    }

    /// The ECE a segment with ACK carries while we echo congestion.
    pub(super) fn ecn_ack_flags(&self) -> Flags {
        if self.ecn.negotiated && self.ecn.echo {
            Flags::ECE
        } else {
            Flags::empty()
        }
    }

    /// After `poll_transmit`: whether the segment it just wrote is
    /// ECN-capable (the IP header carries ECT(0)). Pure ACKs, window
    /// probes, retransmissions and SYNs are not.
    //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.4
    //# the TCP data sender MUST NOT set either ECT codepoint in
    //# the IP header of pure ACK packets
    //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.5
    //# the TCP data sender MUST NOT set either an
    //# ECT codepoint or the CWR bit on retransmitted packets.
    pub(crate) fn take_ect(&mut self) -> bool {
        core::mem::take(&mut self.ecn.last_ect)
    }

    #[cfg(test)]
    /// Whether ECN was negotiated.
    pub(crate) fn ecn_negotiated(&self) -> bool {
        self.ecn.negotiated
    }
}
