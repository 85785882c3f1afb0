//! The TCP services as sessions on the stack thread (`NetStack::serve`):
//! each connection is a small state machine, no thread of its own, and
//! each reply leaves in the turn its request came in.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use berth::{Session, SessionIo};

use super::{Counters, daytime, http, patterns};

/// How long a connection may make no progress (nothing read, nothing
/// taken by the peer) before it is aborted: a reset, never a FIN that
/// would pass a cut stream for a whole one.
const IDLE: Duration = Duration::from_secs(120);
/// The whole request head must arrive within this (nginx's
/// `client_header_timeout`): a client trickling one byte at a time cannot
/// hold a connection for ever.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// A kept-alive connection may wait this long for its next request
/// (nginx's `keepalive_timeout` is 75 s); it is then closed.
const KEEPALIVE: Duration = Duration::from_secs(75);

/// RFC 862: sends back what it receives; reads only while what it wrote
/// has gone out (a slow reader closes the window, as with a thread that
/// blocks in `write`).
#[derive(Default)]
pub(crate) struct Echo {
    /// Reading stopped with an answer still buffered: room in the send
    /// buffer resumes it. Otherwise room is no news (the peer's ACK of an
    /// answer that went out whole comes with every exchange).
    held: bool,
}

impl Session for Echo {
    fn opened(&mut self, io: &mut SessionIo<'_, '_>) {
        io.set_timeout(Some(IDLE));
    }

    fn readable(&mut self, io: &mut SessionIo<'_, '_>) {
        io.set_timeout(Some(IDLE));
        self.held = berth::session::with_scratch(|buf| {
            while io.buffered() == 0 {
                match io.read(buf) {
                    Ok(0) => io.close(),
                    Ok(n) => {
                        if io.write(&buf[..n]).is_ok() {
                            continue;
                        }
                        io.abort();
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => io.abort(),
                }
                return false;
            }
            true
        });
    }

    fn writable(&mut self, io: &mut SessionIo<'_, '_>) {
        if self.held {
            self.readable(io);
        }
    }
}

/// RFC 863: reads and drops everything; closes after the end of stream.
pub(crate) struct Discard(pub(crate) Arc<Counters>);

impl Session for Discard {
    fn opened(&mut self, io: &mut SessionIo<'_, '_>) {
        io.set_timeout(Some(IDLE));
    }

    fn readable(&mut self, io: &mut SessionIo<'_, '_>) {
        io.set_timeout(Some(IDLE));
        // Counted, not copied (Linux's MSG_TRUNC).
        loop {
            match io.read_with(|a, b| a.len() + b.len()) {
                Ok(0) => return io.close(),
                Ok(n) => {
                    self.0.discarded.fetch_add(n as u64, Ordering::Relaxed);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(_) => return io.abort(),
            }
        }
    }
}

/// RFC 864: sends rotating lines for as long as the client stays, and
/// drops what the client sends.
#[derive(Default)]
pub(crate) struct Chargen {
    offset: usize,
}

impl Chargen {
    fn fill(&mut self, io: &mut SessionIo<'_, '_>) {
        // Progress: the client takes what is sent.
        io.set_timeout(Some(IDLE));
        loop {
            match io.try_write(patterns::chargen_at(self.offset)) {
                Ok(n) => self.offset = (self.offset + n) % patterns::CHARGEN_CYCLE,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(_) => return io.abort(),
            }
        }
    }
}

impl Session for Chargen {
    fn opened(&mut self, io: &mut SessionIo<'_, '_>) {
        self.fill(io);
    }

    fn readable(&mut self, io: &mut SessionIo<'_, '_>) {
        berth::session::with_scratch(|buf| {
            // The end of the client's stream does not stop the lines.
            while let Ok(1..) = io.read(buf) {}
        })
    }

    fn writable(&mut self, io: &mut SessionIo<'_, '_>) {
        self.fill(io);
    }

    fn stopping(&mut self, io: &mut SessionIo<'_, '_>) {
        // The lines never end: whatever stops them cuts them.
        io.abort();
    }
}

/// RFC 867: the date and time, then close.
pub(crate) struct Daytime;

impl Session for Daytime {
    fn opened(&mut self, io: &mut SessionIo<'_, '_>) {
        // Bounds how long the answer may wait for a peer that reads nothing.
        io.set_timeout(Some(IDLE));
        let _ = io.write(daytime().as_bytes());
        io.close();
    }

    fn readable(&mut self, io: &mut SessionIo<'_, '_>) {
        berth::session::with_scratch(|buf| while let Ok(1..) = io.read(buf) {})
    }
}

/// HTTP/1.1 (`http.rs`): requests in turn on one connection; `/bytes/N`
/// streams from the precomputed pattern as the client reads.
pub(crate) struct Http {
    root: Option<Arc<PathBuf>>,
    counters: Arc<Counters>,
    /// Received and not yet used.
    input: Vec<u8>,
    /// Request body bytes still to skip.
    skip: usize,
    /// A `/bytes/N` body being sent: the offset reached and the bytes left.
    streaming: Option<(u64, u64)>,
    /// Close once the current response is out.
    close_after: bool,
    /// The client's stream ended.
    eof: bool,
    /// What the timer stands for now.
    waiting: Waiting,
}

/// What an HTTP connection's timer bounds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Waiting {
    /// The next request, between requests (`KEEPALIVE`; graceful close).
    Idle,
    /// The rest of a request head (`HEAD_TIMEOUT`; graceful close, as
    /// nginx does).
    Head,
    /// The client to take the response (`IDLE`, pushed back at each
    /// progress; abort).
    Send,
}

impl Http {
    pub(crate) fn new(root: Option<Arc<PathBuf>>, counters: Arc<Counters>) -> Self {
        Self {
            root,
            counters,
            input: Vec::new(),
            skip: 0,
            streaming: None,
            close_after: false,
            eof: false,
            waiting: Waiting::Head,
        }
    }

    /// Arms the timer for what the connection waits for now; the head
    /// deadline runs from the request's first byte and is not pushed back.
    fn arm(&mut self, io: &mut SessionIo<'_, '_>) {
        let waiting = if self.streaming.is_some() || io.buffered() > 0 {
            Waiting::Send
        } else if self.input.is_empty() && self.skip == 0 {
            Waiting::Idle
        } else {
            Waiting::Head
        };
        match waiting {
            Waiting::Send => io.set_timeout(Some(IDLE)),
            Waiting::Head if self.waiting != Waiting::Head => io.set_timeout(Some(HEAD_TIMEOUT)),
            Waiting::Idle if self.waiting != Waiting::Idle => io.set_timeout(Some(KEEPALIVE)),
            _ => {}
        }
        self.waiting = waiting;
    }

    /// Sends what the current `/bytes/N` body can; whether it is done.
    fn stream(&mut self, io: &mut SessionIo<'_, '_>) -> bool {
        while let Some((offset, left)) = self.streaming {
            if left == 0 {
                self.streaming = None;
                break;
            }
            let max = usize::try_from(left).unwrap_or(usize::MAX);
            match io.try_write(patterns::bytes_at(offset, max)) {
                Ok(n) => self.streaming = Some((offset + n as u64, left - n as u64)),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
                Err(_) => {
                    io.abort();
                    return false;
                }
            }
        }
        true
    }

    /// Answers the requests that are complete in `input`, until one needs
    /// the connection to drain first; reads more when all are answered.
    fn serve(&mut self, io: &mut SessionIo<'_, '_>) {
        loop {
            if !self.stream(io) || io.buffered() > 0 {
                // Resumed from `writable`.
                return;
            }
            if self.close_after {
                return io.close();
            }
            let skip = self.skip.min(self.input.len());
            self.input.drain(..skip);
            self.skip -= skip;
            if self.skip == 0 {
                match http::parse(&self.input) {
                    http::Head::Complete(req, len) => {
                        self.input.drain(..len);
                        self.skip = req.body_len;
                        self.counters.http_requests.fetch_add(1, Ordering::Relaxed);
                        let root = self.root.as_deref().map(PathBuf::as_path);
                        self.answer(io, http::respond(&req, root));
                        continue;
                    }
                    http::Head::TooLarge => {
                        self.answer(io, http::too_large());
                        continue;
                    }
                    http::Head::Incomplete => {}
                }
            }
            if self.eof {
                return io.close();
            }
            let read = berth::session::with_scratch(|buf| {
                let n = io.read(buf)?;
                self.input.extend_from_slice(&buf[..n]);
                Ok::<_, std::io::Error>(n)
            });
            match read {
                Ok(0) => self.eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(_) => return io.abort(),
            }
        }
    }

    fn answer(&mut self, io: &mut SessionIo<'_, '_>, response: http::Response) {
        let _ = io.write(&response.head);
        match response.body {
            http::Body::Fixed(body) => {
                let _ = io.write(&body);
            }
            http::Body::Pattern(n) => self.streaming = Some((0, n)),
        }
        self.close_after = response.close;
    }
}

impl Session for Http {
    fn opened(&mut self, io: &mut SessionIo<'_, '_>) {
        // The first request's head is due from the start.
        io.set_timeout(Some(HEAD_TIMEOUT));
    }

    fn readable(&mut self, io: &mut SessionIo<'_, '_>) {
        self.serve(io);
        self.arm(io);
    }

    fn writable(&mut self, io: &mut SessionIo<'_, '_>) {
        self.serve(io);
        self.arm(io);
    }

    fn timeout(&mut self, io: &mut SessionIo<'_, '_>) {
        match self.waiting {
            // Nothing half-sent: a plain close.
            Waiting::Idle | Waiting::Head => io.close(),
            Waiting::Send => io.abort(),
        }
    }

    fn stopping(&mut self, io: &mut SessionIo<'_, '_>) {
        if self.streaming.is_some() || io.buffered() > 0 {
            // A response not all handed over: the client must see it cut.
            io.abort();
        } else {
            io.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use berth::NetStack;
    use berth::net::TcpStream;
    use berth_device::Medium;
    use berth_device::channel::ChannelDevice;

    use super::*;

    /// Far more than the buffers between the two ends hold, and no reading
    /// until they are full: the echo's answers back up, it stops reading
    /// (`held`), and room in its send buffer must start it again, or the
    /// stream stalls with the rest of it unread.
    #[test]
    fn echo_sends_back_a_stream_longer_than_its_buffers() {
        const TOTAL: usize = 8 << 20;
        let (left, right) = ChannelDevice::pair(1500, Medium::Ip).unwrap();
        let server = NetStack::builder()
            .addr("198.18.0.2".parse().unwrap())
            .seed(2)
            .build(left)
            .unwrap();
        let client = NetStack::builder()
            .addr("198.18.0.1".parse().unwrap())
            .seed(1)
            .build(right)
            .unwrap();
        let _port = server.serve("198.18.0.2:7", |_| Echo::default()).unwrap();
        let mut stream = TcpStream::connect(&client, "198.18.0.2:7").unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let sent: Vec<u8> = (0..TOTAL).map(|i| (i * 7 % 251) as u8).collect();
        let mut writer = stream.try_clone().unwrap();
        let data = sent.clone();
        let writing = std::thread::spawn(move || {
            writer.write_all(&data).unwrap();
            writer.shutdown(std::net::Shutdown::Write).unwrap();
        });
        // Held: the server's connection has input it does not read, and
        // output it cannot send (the client reads nothing yet).
        let held = || {
            server.with_stack(|s| {
                s.sockets().into_iter().any(|h| {
                    s.tcp_info(h)
                        .is_ok_and(|i| i.local.port() == 7 && i.recv_queue > 0 && i.send_queue > 0)
                })
            })
        };
        let since = std::time::Instant::now();
        while !held() {
            assert!(
                since.elapsed() < Duration::from_secs(10),
                "the echo never held"
            );
            std::thread::yield_now();
        }
        let mut back = Vec::with_capacity(TOTAL);
        stream.read_to_end(&mut back).unwrap();
        writing.join().unwrap();
        assert_eq!(back.len(), TOTAL);
        assert!(back == sent, "the echo differs");
    }
}
