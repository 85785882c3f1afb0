//! The TCP services as sessions on the stack thread (`NetStack::serve`):
//! each connection is a small state machine, no thread of its own, and
//! each reply leaves in the turn its request came in.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use berth::{Session, SessionIo};

use super::{Counters, daytime, http, patterns};

/// RFC 862: sends back what it receives; reads only while what it wrote
/// has gone out (a slow reader closes the window, as with a thread that
/// blocks in `write`).
pub(crate) struct Echo;

impl Session for Echo {
    fn readable(&mut self, io: &mut SessionIo<'_, '_>) {
        berth::session::with_scratch(|buf| {
            while io.buffered() == 0 {
                match io.read(buf) {
                    Ok(0) => return io.close(),
                    Ok(n) => {
                        if io.write(&buf[..n]).is_err() {
                            return io.abort();
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                    Err(_) => return io.abort(),
                }
            }
        })
    }

    fn writable(&mut self, io: &mut SessionIo<'_, '_>) {
        self.readable(io);
    }
}

/// RFC 863: reads and drops everything; closes after the end of stream.
pub(crate) struct Discard(pub(crate) Arc<Counters>);

impl Session for Discard {
    fn readable(&mut self, io: &mut SessionIo<'_, '_>) {
        berth::session::with_scratch(|buf| {
            loop {
                match io.read(buf) {
                    Ok(0) => return io.close(),
                    Ok(n) => {
                        self.0.discarded.fetch_add(n as u64, Ordering::Relaxed);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                    Err(_) => return io.abort(),
                }
            }
        })
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
}

/// RFC 867: the date and time, then close.
pub(crate) struct Daytime;

impl Session for Daytime {
    fn opened(&mut self, io: &mut SessionIo<'_, '_>) {
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
        }
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
    fn readable(&mut self, io: &mut SessionIo<'_, '_>) {
        self.serve(io);
    }

    fn writable(&mut self, io: &mut SessionIo<'_, '_>) {
        self.serve(io);
    }
}
