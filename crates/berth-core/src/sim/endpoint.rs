//! What sits at either end of a [`super::Pair`]: anything that takes frames
//! in and puts frames out, with timers. A [`Stack`] is the endpoint of every
//! simulation but the TCP-level one, which joins two bare connections
//! (`tcp/connection/tests/sim.rs`).

use crate::config::Medium;
use crate::stack::Stack;
use crate::time::Instant;

/// Octets of an Ethernet header, which an Ethernet frame carries beyond
/// the MTU.
const ETHERNET_HEADER: usize = 14;

/// A host on one end of a [`super::Pair`].
pub trait Endpoint {
    /// The longest frame it sends: the room each [`Endpoint::poll_transmit`]
    /// is given.
    fn frame_len(&self) -> usize;

    /// The next frame to send, written into `buf`: its length.
    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize>;

    /// [`Endpoint::poll_transmit`] to a device that splits long TCP
    /// segments: also the payload size to split the frame at, when it is
    /// one. An endpoint that never sends one keeps this default.
    fn poll_transmit_gso(&mut self, now: Instant, buf: &mut [u8]) -> Option<(usize, Option<u16>)> {
        self.poll_transmit(now, buf).map(|n| (n, None))
    }

    /// A frame arrives.
    fn handle_frame(&mut self, now: Instant, frame: &[u8]);

    /// When its next timer is due.
    fn poll_timeout(&self) -> Option<Instant>;

    /// Runs the timers due at `now`.
    fn handle_timeout(&mut self, now: Instant);

    /// What it holds, for the report of a run that got stuck.
    fn describe(&self) -> String {
        String::new()
    }
}

impl Endpoint for Stack {
    /// The MTU, and the link header on Ethernet.
    fn frame_len(&self) -> usize {
        match self.config().medium {
            Medium::Ip => self.config().mtu,
            Medium::Ethernet(_) => self.config().mtu + ETHERNET_HEADER,
        }
    }

    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        Self::poll_transmit(self, now, buf)
    }

    fn poll_transmit_gso(&mut self, now: Instant, buf: &mut [u8]) -> Option<(usize, Option<u16>)> {
        Self::poll_transmit_gso(self, now, buf)
    }

    fn handle_frame(&mut self, now: Instant, frame: &[u8]) {
        Self::handle_frame(self, now, frame);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        Self::poll_timeout(self)
    }

    fn handle_timeout(&mut self, now: Instant) {
        Self::handle_timeout(self, now);
    }

    /// Each socket and its TCP state (none for a listener or a UDP socket).
    fn describe(&self) -> String {
        let sockets: Vec<_> = self
            .sockets()
            .into_iter()
            .map(|h| (h, self.tcp_state(h).ok()))
            .collect();
        format!("{sockets:?}")
    }
}
