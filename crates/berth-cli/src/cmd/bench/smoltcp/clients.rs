//! The client side of each in-memory workload (bulk, download, rr, crr),
//! stepped once per round of [`MemNet::run`].

use ::smoltcp::iface::SocketHandle;
use ::smoltcp::socket::tcp;
use anyhow::{Result, anyhow, ensure};

use super::mem_net::{Client, MemNet, Step};
use super::server::fin_received;
use super::{CHUNK, ECHO, SOURCE_BYTE};

/// Fails if the connection was reset or refused.
fn check_alive(socket: &tcp::Socket<'_>) -> Result<()> {
    ensure!(
        socket.state() != tcp::State::Closed,
        "smoltcp's connection was reset"
    );
    Ok(())
}

/// Writes `left` bytes, shuts down writing, reads to end of stream.
pub(super) struct Bulk {
    pub(super) handle: SocketHandle,
    pub(super) left: u64,
    pub(super) chunk: Vec<u8>,
    pub(super) closed: bool,
}

impl Client for Bulk {
    fn step(&mut self, net: &mut MemNet) -> Result<Step> {
        let mut step = Step::Waiting;
        let socket = net.socket(self.handle);
        check_alive(socket)?;
        while self.left > 0 && socket.can_send() {
            let want = usize::try_from(self.left).map_or(CHUNK, |left| left.min(CHUNK));
            let data = self.chunk.get(..want).unwrap_or_default();
            let n = socket
                .send_slice(data)
                .map_err(|e| anyhow!("smoltcp send: {e}"))?;
            if n == 0 {
                break;
            }
            self.left -= n as u64;
            step = Step::Progress;
        }
        ensure!(!socket.can_recv(), "the discard server sent data back");
        if self.closed && fin_received(socket) {
            return Ok(Step::Done);
        }
        if self.left == 0 && !self.closed && socket.may_send() {
            net.close(self.handle);
            self.closed = true;
            step = Step::Progress;
        }
        Ok(step)
    }
}

/// Writes the 8-byte request, reads to the end of stream, closes.
pub(super) struct Download {
    pub(super) handle: SocketHandle,
    pub(super) request: [u8; 8],
    pub(super) sent: usize,
    pub(super) want: u64,
    pub(super) got: u64,
}

impl Client for Download {
    fn step(&mut self, net: &mut MemNet) -> Result<Step> {
        let mut step = Step::Waiting;
        let socket = net.socket(self.handle);
        check_alive(socket)?;
        let rest = self.request.get(self.sent..).unwrap_or_default();
        if !rest.is_empty() && socket.can_send() {
            self.sent += socket
                .send_slice(rest)
                .map_err(|e| anyhow!("smoltcp send: {e}"))?;
            step = Step::Progress;
        }
        // The receive buffer is a ring: its data is in at most two pieces.
        for _ in 0..2 {
            if !socket.can_recv() {
                break;
            }
            let (n, intact) = socket
                .recv(|data| {
                    let intact = data.iter().all(|&b| b == SOURCE_BYTE);
                    (data.len(), (data.len(), intact))
                })
                .map_err(|e| anyhow!("smoltcp recv: {e}"))?;
            ensure!(intact, "the source server sent other bytes");
            self.got += n as u64;
            step = Step::Progress;
        }
        ensure!(
            self.got <= self.want,
            "the source server sent more than {} bytes",
            self.want
        );
        if fin_received(socket) && !socket.can_recv() {
            ensure!(
                self.got == self.want,
                "the source server closed after {} bytes of {}",
                self.got,
                self.want
            );
            net.close(self.handle);
            return Ok(Step::Done);
        }
        Ok(step)
    }
}

/// `rounds` times: write `msg`, read it back.
pub(super) struct Rr {
    pub(super) handle: SocketHandle,
    pub(super) rounds: u64,
    pub(super) round: u64,
    pub(super) sent: usize,
    pub(super) got: usize,
    pub(super) msg: Vec<u8>,
}

impl Rr {
    /// This round's message: different bytes in each round.
    pub(super) fn fill(&mut self) {
        let seed = self.round;
        for (i, b) in self.msg.iter_mut().enumerate() {
            *b = seed.wrapping_add(i as u64) as u8;
        }
    }
}

impl Client for Rr {
    fn step(&mut self, net: &mut MemNet) -> Result<Step> {
        if self.round == self.rounds {
            net.close(self.handle);
            return Ok(Step::Done);
        }
        let mut step = Step::Waiting;
        let socket = net.socket(self.handle);
        check_alive(socket)?;
        let rest = self.msg.get(self.sent..).unwrap_or_default();
        if !rest.is_empty() && socket.can_send() {
            let n = socket
                .send_slice(rest)
                .map_err(|e| anyhow!("smoltcp send: {e}"))?;
            self.sent += n;
            step = Step::Progress;
        }
        while self.got < self.msg.len() && socket.can_recv() {
            let expected = self.msg.get(self.got..).unwrap_or_default();
            let (n, same) = socket
                .recv(|data| {
                    let n = data.len().min(expected.len());
                    (n, (n, data.get(..n) == expected.get(..n)))
                })
                .map_err(|e| anyhow!("smoltcp recv: {e}"))?;
            ensure!(same, "round {}: the echo differs", self.round);
            self.got += n;
            step = Step::Progress;
        }
        ensure!(
            !fin_received(socket) || self.got == self.msg.len(),
            "the echo server closed in round {}",
            self.round
        );
        if self.got == self.msg.len() {
            self.round += 1;
            self.sent = 0;
            self.got = 0;
            self.fill();
            step = Step::Progress;
        }
        Ok(step)
    }
}

/// `conns` times: connect, write one byte, read it back, close.
pub(super) struct Crr {
    pub(super) conns: u64,
    pub(super) done: u64,
    /// The open connection, and whether its byte was sent.
    pub(super) current: Option<(SocketHandle, bool)>,
}

impl Client for Crr {
    fn step(&mut self, net: &mut MemNet) -> Result<Step> {
        let byte = self.done as u8;
        let Some((handle, sent)) = self.current else {
            if self.done == self.conns {
                return Ok(Step::Done);
            }
            self.current = Some((net.connect(ECHO)?, false));
            return Ok(Step::Progress);
        };
        let socket = net.socket(handle);
        check_alive(socket)?;
        if !sent {
            if !socket.can_send() {
                return Ok(Step::Waiting);
            }
            let n = socket
                .send_slice(&[byte])
                .map_err(|e| anyhow!("smoltcp send: {e}"))?;
            self.current = Some((handle, n == 1));
            return Ok(Step::Progress);
        }
        if !socket.can_recv() {
            ensure!(
                !fin_received(socket),
                "connection {}: closed before the echo",
                self.done
            );
            return Ok(Step::Waiting);
        }
        let mut back = [0u8; 1];
        let n = socket
            .recv_slice(&mut back)
            .map_err(|e| anyhow!("smoltcp recv: {e}"))?;
        ensure!(
            n == 1 && back[0] == byte,
            "connection {}: the echo differs",
            self.done
        );
        net.close(handle);
        self.current = None;
        self.done += 1;
        Ok(Step::Progress)
    }
}
