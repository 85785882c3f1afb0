//! smoltcp's side of the services: echo, discard, source, and the loss
//! workloads' verify and pattern, on a pool of listening sockets per port,
//! run once per round by the in-memory network and by `serve`.

use ::smoltcp::socket::tcp;
use anyhow::{Result, anyhow};

use super::super::checked::{self, Check};
use super::{
    CHUNK, DISCARD, ECHO, LISTEN_POOL, PATTERN, SERVICES, SOCKET_BUFFER, SOURCE, SOURCE_BYTE,
    SocketSet, VERIFY,
};
use ::smoltcp::iface::SocketHandle;

/// The server side of the services, on a pool of sockets.
pub(super) struct Server {
    /// Sockets in LISTEN, with their port.
    pub(super) listening: Vec<(SocketHandle, u16)>,
    /// Sockets with a connection, with their service.
    pub(super) active: Vec<(SocketHandle, Conn)>,
    /// Closed sockets, ready to listen again.
    pub(super) free: Vec<SocketHandle>,
    /// Echo's copy from the receive buffer to the send buffer.
    scratch: Vec<u8>,
    /// Bytes read by discard.
    pub(super) discarded: u64,
}

/// A connection's service, with its progress.
#[derive(Debug, Clone, Copy)]
pub(super) enum Conn {
    Discard,
    Echo,
    /// Source (or pattern), reading the request: `read` bytes of `count`
    /// so far.
    SourceRequest {
        count: [u8; 8],
        read: usize,
        pattern: bool,
    },
    /// Source (or pattern), sending: `sent` bytes so far, `left` to go.
    SourceSend {
        sent: u64,
        left: u64,
        pattern: bool,
    },
    /// Verify: the stream so far; `answered` once the answer is queued.
    Verify {
        check: Check,
        answered: bool,
    },
}

impl Conn {
    /// A new connection to `port`, one of [`SERVICES`].
    fn new(port: u16) -> Self {
        match port {
            DISCARD => Self::Discard,
            ECHO => Self::Echo,
            VERIFY => Self::Verify {
                check: Check::default(),
                answered: false,
            },
            _ => Self::SourceRequest {
                count: [0; 8],
                read: 0,
                pattern: port == PATTERN,
            },
        }
    }

    fn port(self) -> u16 {
        match self {
            Self::Discard => DISCARD,
            Self::Echo => ECHO,
            Self::Verify { .. } => VERIFY,
            Self::SourceRequest { pattern, .. } | Self::SourceSend { pattern, .. } => {
                if pattern {
                    PATTERN
                } else {
                    SOURCE
                }
            }
        }
    }
}

impl Server {
    pub(super) fn new(sockets: &mut SocketSet) -> Result<Self> {
        let mut server = Self {
            listening: Vec::new(),
            active: Vec::new(),
            free: Vec::new(),
            scratch: vec![0; CHUNK],
            discarded: 0,
        };
        server.refill(sockets)?;
        Ok(server)
    }

    /// Moves listeners that took a connection to the active list, then
    /// brings each port back to [`LISTEN_POOL`] listeners, reusing closed
    /// sockets first.
    pub(super) fn refill(&mut self, sockets: &mut SocketSet) -> Result<()> {
        let Self {
            listening, active, ..
        } = self;
        listening.retain(|&(handle, port)| {
            let still = sockets.get::<tcp::Socket>(handle).is_listening();
            if !still {
                active.push((handle, Conn::new(port)));
            }
            still
        });
        for port in SERVICES {
            let ready = self.listening.iter().filter(|(_, p)| *p == port).count();
            for _ in ready..LISTEN_POOL {
                let handle = match self.free.pop() {
                    Some(handle) => handle,
                    None => sockets.add(new_socket()),
                };
                sockets
                    .get_mut::<tcp::Socket>(handle)
                    .listen(port)
                    .map_err(|e| anyhow!("smoltcp cannot listen on port {port}: {e}"))?;
                self.listening.push((handle, port));
            }
        }
        Ok(())
    }

    /// Runs its service on every connection, and retires the sockets whose
    /// connection ended. Returns the bytes moved.
    pub(super) fn serve(&mut self, sockets: &mut SocketSet) -> usize {
        let Self {
            listening,
            active,
            free,
            scratch,
            discarded,
        } = self;
        let mut moved = 0;
        active.retain_mut(|(handle, conn)| {
            let socket = sockets.get_mut::<tcp::Socket>(*handle);
            moved += match conn {
                Conn::Discard => {
                    let n = discard(socket);
                    *discarded += n as u64;
                    n
                }
                Conn::Echo => echo(socket, scratch),
                Conn::Verify { check, answered } => verify(socket, check, answered),
                Conn::SourceRequest { .. } | Conn::SourceSend { .. } => source(socket, conn),
            };
            if socket.is_listening() {
                // A half-open connection was reset: smoltcp listens again.
                listening.push((*handle, conn.port()));
                false
            } else if !socket.is_open() {
                free.push(*handle);
                false
            } else {
                true
            }
        });
        moved
    }
}

/// Reads and drops everything; closes after end of stream. Returns the
/// bytes read.
fn discard(socket: &mut tcp::Socket<'_>) -> usize {
    let total = drain(socket);
    close_at_eof(socket);
    total
}

/// Reads and drops what was received. Returns the bytes read.
fn drain(socket: &mut tcp::Socket<'_>) -> usize {
    let mut total = 0;
    // The receive buffer is a ring: its data is in at most two pieces.
    for _ in 0..2 {
        if !socket.can_recv() {
            break;
        }
        match socket.recv(|data| (data.len(), data.len())) {
            Ok(n) => total += n,
            Err(_) => {
                socket.abort();
                return total;
            }
        }
    }
    total
}

/// Checks what was received; once the peer's stream has ended, queues the
/// answer (the check's report) and closes. Returns the bytes read.
fn verify(socket: &mut tcp::Socket<'_>, check: &mut Check, answered: &mut bool) -> usize {
    let mut total = 0;
    // The receive buffer is a ring: its data is in at most two pieces.
    for _ in 0..2 {
        if !socket.can_recv() {
            break;
        }
        let read = socket.recv(|data| {
            check.feed(data);
            (data.len(), data.len())
        });
        match read {
            Ok(n) => total += n,
            Err(_) => {
                socket.abort();
                return total;
            }
        }
    }
    if !*answered && fin_received(socket) && !socket.can_recv() {
        let report = check.report();
        match socket.send_slice(&report) {
            Ok(n) if n == report.len() => {
                *answered = true;
                socket.close();
            }
            // Never expected: nothing else was ever sent. Drop the
            // connection rather than answer half.
            _ => socket.abort(),
        }
    }
    total
}

/// Moves what was received to the send buffer, as far as it has room;
/// closes after end of stream once everything is echoed. Returns the bytes
/// echoed.
fn echo(socket: &mut tcp::Socket<'_>, scratch: &mut [u8]) -> usize {
    let mut total = 0;
    for _ in 0..=SOCKET_BUFFER / CHUNK {
        if !socket.can_recv() || !socket.can_send() {
            break;
        }
        let room = socket.send_capacity() - socket.send_queue();
        let Some(buf) = scratch.get_mut(..room.min(CHUNK)) else {
            break;
        };
        let copied = socket
            .recv_slice(buf)
            .ok()
            .and_then(|n| buf.get(..n))
            .map(|data| (data.len(), socket.send_slice(data)));
        match copied {
            Some((n, Ok(sent))) if sent == n => total += n,
            // Never expected: the room was checked. Drop the connection
            // rather than lose bytes silently.
            _ => {
                socket.abort();
                return total;
            }
        }
    }
    close_at_eof(socket);
    total
}

/// Reads the 8-byte count, then fills the send buffer until that many
/// bytes are sent, then closes. Bytes after the count are dropped, and the
/// peer's end of stream does not cut the answer short. Returns the bytes
/// read and sent.
fn source(socket: &mut tcp::Socket<'_>, conn: &mut Conn) -> usize {
    let mut total = 0;
    if let Conn::SourceRequest {
        count,
        read,
        pattern,
    } = conn
    {
        while socket.can_recv() {
            let Some(rest) = count.get_mut(*read..).filter(|rest| !rest.is_empty()) else {
                break;
            };
            match socket.recv_slice(rest) {
                Ok(n) => {
                    *read += n;
                    total += n;
                }
                Err(_) => {
                    socket.abort();
                    return total;
                }
            }
        }
        if *read < count.len() {
            // A peer that ends its stream before the count gets nothing.
            close_at_eof(socket);
            return total;
        }
        *conn = Conn::SourceSend {
            sent: 0,
            left: u64::from_be_bytes(*count),
            pattern: *pattern,
        };
    }
    total += drain(socket);
    let Conn::SourceSend {
        sent,
        left,
        pattern,
    } = conn
    else {
        return total;
    };
    while *left > 0 && socket.can_send() {
        let want = usize::try_from(*left).unwrap_or(usize::MAX);
        let (offset, pattern) = (*sent, *pattern);
        let queued = socket.send(|buf| {
            let n = buf.len().min(want);
            if let Some(piece) = buf.get_mut(..n) {
                if pattern {
                    checked::fill(piece, offset);
                } else {
                    piece.fill(SOURCE_BYTE);
                }
            }
            (n, n)
        });
        match queued {
            Ok(0) => break,
            Ok(n) => {
                *left -= n as u64;
                *sent += n as u64;
                total += n;
            }
            Err(_) => {
                socket.abort();
                return total;
            }
        }
    }
    if *left == 0 && socket.may_send() {
        socket.close();
    }
    total
}

/// Closes our side once the peer's FIN has been read.
fn close_at_eof(socket: &mut tcp::Socket<'_>) {
    if socket.state() == tcp::State::CloseWait && !socket.can_recv() {
        socket.close();
    }
}

/// A socket with berth's default buffers and smoltcp's default options.
pub(super) fn new_socket() -> tcp::Socket<'static> {
    tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; SOCKET_BUFFER]),
        tcp::SocketBuffer::new(vec![0; SOCKET_BUFFER]),
    )
}

/// Whether the peer's FIN has arrived (the stream has an end).
pub(super) fn fin_received(socket: &tcp::Socket<'_>) -> bool {
    matches!(
        socket.state(),
        tcp::State::CloseWait | tcp::State::LastAck | tcp::State::Closing | tcp::State::TimeWait
    )
}
