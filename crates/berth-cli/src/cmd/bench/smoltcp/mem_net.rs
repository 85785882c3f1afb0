//! The in-memory network of the `core` target: one smoltcp `Interface` on
//! a [`MemPhy`] link, holding the server's sockets and the client's, as in
//! smoltcp's `examples/loopback.rs`.

use std::thread;
use std::time::Instant;

use ::smoltcp::iface::{Config, Interface, PollResult, SocketHandle};
use ::smoltcp::socket::tcp;
use ::smoltcp::time::Duration as SmolDuration;
use ::smoltcp::wire::{HardwareAddress, IpAddress};
use anyhow::{Result, anyhow, bail, ensure};

use super::phy::MemPhy;
use super::server::{Server, new_socket};
use super::{
    FIRST_EPHEMERAL, MAX_IP_PACKET, MEM_ADDR, MEM_IDLE, MEM_PREFIX, MIN_IP_MTU, STALL, SocketSet,
    set_addr, smol_now, std_duration,
};

/// What a client's step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// The workload is complete.
    Done,
    /// Bytes or connections moved forward.
    Progress,
    /// Waiting for the network.
    Waiting,
}

/// A workload's client side, stepped once per round of the loop.
pub(super) trait Client {
    fn step(&mut self, net: &mut MemNet) -> Result<Step>;
}

/// One `Interface` on an in-memory link, with the server and the client
/// sockets.
pub(super) struct MemNet {
    base: Instant,
    device: MemPhy,
    iface: Interface,
    sockets: SocketSet,
    pub(super) server: Server,
    /// Client sockets, reused once closed or in TIME-WAIT.
    pub(super) clients: Vec<SocketHandle>,
    next_port: u16,
    /// smoltcp's default delayed-ACK time, restored on reuse.
    ack_delay: Option<SmolDuration>,
}

impl MemNet {
    pub(super) fn new(mtu: usize) -> Result<Self> {
        ensure!(
            (MIN_IP_MTU..=MAX_IP_PACKET).contains(&mtu),
            "MTU {mtu} is outside {MIN_IP_MTU}..={MAX_IP_PACKET}"
        );
        let base = Instant::now();
        let mut device = MemPhy::new(mtu);
        let config = Config::new(HardwareAddress::Ip);
        let mut iface = Interface::new(config, &mut device, smol_now(base));
        set_addr(&mut iface, MEM_ADDR, MEM_PREFIX)?;
        let mut sockets = SocketSet::new(Vec::new());
        let server = Server::new(&mut sockets)?;
        Ok(Self {
            base,
            device,
            iface,
            sockets,
            server,
            clients: Vec::new(),
            next_port: FIRST_EPHEMERAL,
            ack_delay: tcp::Socket::new(
                tcp::SocketBuffer::new(Vec::new()),
                tcp::SocketBuffer::new(Vec::new()),
            )
            .ack_delay(),
        })
    }

    /// Steps `client` until it is done, failing after [`STALL`] without
    /// progress.
    pub(super) fn run(&mut self, client: &mut impl Client) -> Result<()> {
        let mut last_progress = Instant::now();
        loop {
            let (busy, served) = self.poll()?;
            let step = client.step(self)?;
            if step == Step::Done {
                return Ok(());
            }
            if served || step == Step::Progress {
                last_progress = Instant::now();
            } else if last_progress.elapsed() > STALL {
                bail!("smoltcp made no progress for {STALL:?}");
            }
            if !busy && !served && step == Step::Waiting {
                self.idle();
            }
        }
    }

    /// Moves the queued frames and runs the server. Returns whether frames
    /// moved (more may be queued on the link), and whether the
    /// server moved bytes or a connection changed.
    fn poll(&mut self) -> Result<(bool, bool)> {
        let now = smol_now(self.base);
        let busy = self.iface.poll(now, &mut self.device, &mut self.sockets)
            == PollResult::SocketStateChanged;
        let before = self.server.active.len();
        self.server.refill(&mut self.sockets)?;
        let moved = self.server.serve(&mut self.sockets);
        Ok((busy, moved > 0 || self.server.active.len() != before))
    }

    /// Sleeps until smoltcp's next timer, unless something is due now.
    fn idle(&mut self) {
        let now = smol_now(self.base);
        match self.iface.poll_delay(now, &self.sockets) {
            Some(d) if d == SmolDuration::ZERO => {}
            Some(d) => thread::sleep(std_duration(d).min(MEM_IDLE)),
            None => thread::sleep(MEM_IDLE),
        }
    }

    /// Opens a connection to one of [`SERVICES`](super::SERVICES) from a free
    /// client socket.
    pub(super) fn connect(&mut self, port: u16) -> Result<SocketHandle> {
        let free = self
            .clients
            .iter()
            .copied()
            .find(|&h| !self.sockets.get::<tcp::Socket>(h).is_open());
        let handle = match free {
            Some(handle) => handle,
            None => {
                let handle = self.sockets.add(new_socket());
                self.clients.push(handle);
                handle
            }
        };
        let local = self.next_port;
        self.next_port = local.checked_add(1).unwrap_or(FIRST_EPHEMERAL);
        let socket = self.sockets.get_mut::<tcp::Socket>(handle);
        socket.set_ack_delay(self.ack_delay);
        socket
            .connect(
                self.iface.context(),
                (IpAddress::Ipv4(MEM_ADDR), port),
                local,
            )
            .map_err(|e| anyhow!("smoltcp cannot connect: {e}"))?;
        Ok(handle)
    }

    /// Closes the client's side; the peer's FIN will be ACKed at once.
    pub(super) fn close(&mut self, handle: SocketHandle) {
        let socket = self.socket(handle);
        socket.close();
        socket.set_ack_delay(None);
    }

    pub(super) fn socket(&mut self, handle: SocketHandle) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(handle)
    }
}
