//! berth's servers for `--api callback`: discard and echo (`berth up`'s)
//! and source as sessions on the stack thread (`NetStack::serve`), run to
//! completion, speaking the same protocols as the threaded servers of
//! `workload.rs`.

use std::io::ErrorKind;

use berth::{Session, SessionIo};

use super::workload::SOURCE_BYTE;

/// What a session reads at a time.
const CHUNK: usize = 64 * 1024;

/// Discard is `berth up`'s own too (counted into counters nobody reads).
pub(super) use crate::services::Discard;

/// Echo is `berth up`'s own (idle timeout included): what a user gets.
pub(super) use crate::services::Echo;

/// Reads an 8-byte big-endian count, sends that many [`SOURCE_BYTE`]s,
/// closes.
#[derive(Default)]
pub(super) struct Source {
    count: Vec<u8>,
    left: Option<u64>,
}

impl Source {
    fn send(&mut self, io: &mut SessionIo<'_, '_>) {
        static BLOCK: [u8; CHUNK] = [SOURCE_BYTE; CHUNK];
        while let Some(left) = self.left.filter(|&l| l > 0) {
            let n = usize::try_from(left).unwrap_or(CHUNK).min(CHUNK);
            match io.try_write(&BLOCK[..n]) {
                Ok(k) => self.left = Some(left - k as u64),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(_) => return io.abort(),
            }
        }
        if self.left == Some(0) {
            self.left = None;
            io.close();
        }
    }
}

impl Session for Source {
    fn readable(&mut self, io: &mut SessionIo<'_, '_>) {
        berth::session::with_scratch(|buf| {
            loop {
                match io.read(buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) if self.left.is_none() && self.count.len() < 8 => {
                        self.count.extend_from_slice(&buf[..n]);
                        if let Some(c) = self.count.get(..8) {
                            let mut be = [0u8; 8];
                            be.copy_from_slice(c);
                            self.left = Some(u64::from_be_bytes(be));
                            self.send(io);
                        }
                    }
                    Ok(_) => {}
                }
            }
        })
    }

    fn writable(&mut self, io: &mut SessionIo<'_, '_>) {
        self.send(io);
    }
}
