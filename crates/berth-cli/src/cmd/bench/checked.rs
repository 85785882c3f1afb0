//! The transfers `berth bench --loss` times: bulk and download of a fixed
//! number of bytes, timed to completion, every byte checked, and each
//! transfer bounded in time, so that a stack that stalls or corrupts data
//! under loss is reported as such instead of hanging the bench.
//!
//! The bytes are a pattern: byte `i` of a stream is `i mod 251`, as in
//! `berth up`'s `/bytes/N`. A byte lost, duplicated, moved or changed
//! anywhere shows at the first offset where the stream and the pattern
//! differ, for the cost of a comparison (no hash on the timed path).
//!
//! - bulk: the client sends `bytes` of the pattern to the verify service
//!   and shuts down its side; verify answers with the bytes it read and how
//!   many of them, from the first, were the pattern (8 bytes big-endian
//!   each), then closes. Both must equal `bytes`.
//! - download: the client asks the pattern service for `bytes` (8 bytes,
//!   big-endian, as source) and checks what arrives up to the close.
//!
//! Each blocking call waits at most [`STALL`] or the time the transfer has
//! left: a transfer that outlives its limit fails as [`TimedOut`], one
//! where nothing moved for [`STALL`] fails as stalled.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

use super::dial::Dial;

/// The pattern's period (a prime, so no power-of-two segment or buffer
/// size lines up with it).
const PERIOD: usize = 251;
/// The write size: a whole number of periods, about 64 KiB.
const CHUNK: usize = PERIOD * 261;

/// The pattern from offset 0, one period longer than a chunk, so that a
/// chunk-long slice of it starts at any phase.
static REFERENCE: LazyLock<Vec<u8>> =
    LazyLock::new(|| (0..CHUNK + PERIOD).map(|i| (i % PERIOD) as u8).collect());

/// How long a transfer under loss may go without moving a byte before it
/// fails as stalled: far beyond the few retransmission timeouts in a row
/// (200 ms, doubling) that a 5% loss makes likely, far below a deadlock
/// waiting for the whole limit.
pub(crate) const STALL: Duration = Duration::from_secs(60);

/// The pattern at stream offset `offset`, at most [`CHUNK`] bytes of it
/// (fewer if `len` is smaller).
fn pattern_at(offset: u64, len: usize) -> &'static [u8] {
    let phase = (offset % PERIOD as u64) as usize;
    REFERENCE
        .get(phase..phase + len.min(CHUNK))
        .unwrap_or_default()
}

/// Fills `buf` with the pattern from stream offset `offset` (for smoltcp's
/// pattern service, which writes into its socket's buffer, and the tests).
#[cfg(any(test, feature = "smoltcp"))]
pub(crate) fn fill(buf: &mut [u8], offset: u64) {
    let mut at = offset;
    for piece in buf.chunks_mut(CHUNK) {
        piece.copy_from_slice(pattern_at(at, piece.len()));
        at += piece.len() as u64;
    }
}

/// A stream checked against the pattern as it arrives.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Check {
    received: u64,
    /// The offset of the first byte that is not the pattern's.
    first_bad: Option<u64>,
}

impl Check {
    /// Takes the next bytes of the stream.
    pub(crate) fn feed(&mut self, data: &[u8]) {
        if self.first_bad.is_none() {
            let mut at = self.received;
            for piece in data.chunks(CHUNK) {
                let want = pattern_at(at, piece.len());
                if piece != want {
                    let i = piece.iter().zip(want).position(|(a, b)| a != b);
                    self.first_bad = Some(at + i.unwrap_or(0) as u64);
                    break;
                }
                at += piece.len() as u64;
            }
        }
        self.received += data.len() as u64;
    }

    /// The bytes received so far.
    pub(crate) fn received(&self) -> u64 {
        self.received
    }

    /// How many bytes, from the first, are the pattern.
    fn intact(&self) -> u64 {
        self.first_bad.unwrap_or(self.received)
    }

    /// The verify service's answer: the bytes received, then the intact
    /// ones, 8 bytes big-endian each.
    pub(crate) fn report(&self) -> [u8; 16] {
        let mut out = [0; 16];
        let (received, intact) = out.split_at_mut(8);
        received.copy_from_slice(&self.received.to_be_bytes());
        intact.copy_from_slice(&self.intact().to_be_bytes());
        out
    }
}

/// Fails unless `received` bytes, `intact` of them the pattern, are the
/// `bytes` expected.
fn ensure_complete(received: u64, intact: u64, bytes: u64) -> anyhow::Result<()> {
    ensure!(
        received == bytes && intact == bytes,
        "{received} bytes arrived of {bytes}, {}",
        if intact == received {
            "all of them right".to_owned()
        } else {
            format!("the first wrong one at offset {intact}")
        }
    );
    Ok(())
}

/// A transfer that did not finish within its limit.
#[derive(Debug)]
pub(crate) struct TimedOut {
    limit: Duration,
    /// What it was doing.
    doing: &'static str,
    /// Bytes moved (sent, or received) by then.
    moved: u64,
    bytes: u64,
}

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "timed out after {} s {}, {} of {} bytes moved",
            self.limit.as_secs(),
            self.doing,
            self.moved,
            self.bytes
        )
    }
}

impl std::error::Error for TimedOut {}

/// A transfer's time bounds.
struct Clock {
    start: Instant,
    limit: Duration,
    bytes: u64,
}

impl Clock {
    fn start(limit: Duration, bytes: u64) -> Self {
        Self {
            start: Instant::now(),
            limit,
            bytes,
        }
    }

    /// Bounds the next blocking call on `stream`: the time left, at most
    /// [`STALL`]. Fails once no time is left.
    fn arm<D: Dial>(
        &self,
        stream: &D::Stream,
        doing: &'static str,
        moved: u64,
    ) -> anyhow::Result<()> {
        let left = self.limit.saturating_sub(self.start.elapsed());
        if left < Duration::from_millis(1) {
            return Err(self.timed_out(doing, moved).into());
        }
        D::set_timeout(stream, left.min(STALL)).context("setting a socket timeout")?;
        Ok(())
    }

    fn timed_out(&self, doing: &'static str, moved: u64) -> TimedOut {
        TimedOut {
            limit: self.limit,
            doing,
            moved,
            bytes: self.bytes,
        }
    }

    /// What a failed call means: a timeout at the limit, a stall before
    /// it, or another error.
    fn failed(&self, e: io::Error, doing: &'static str, moved: u64) -> anyhow::Error {
        let waited = matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        );
        if !waited {
            return anyhow::Error::new(e)
                .context(format!("{doing}, {moved} of {} bytes moved", self.bytes));
        }
        if self.start.elapsed() + Duration::from_millis(10) >= self.limit {
            self.timed_out(doing, moved).into()
        } else {
            anyhow::anyhow!(
                "stalled {doing}: nothing moved for {} s, {moved} of {} bytes moved",
                STALL.as_secs(),
                self.bytes
            )
        }
    }
}

/// Sends `bytes` of the pattern to a verify service and checks its
/// answer; fails after `limit`.
pub(crate) fn bulk<D: Dial>(
    d: &D,
    verify: SocketAddr,
    bytes: u64,
    limit: Duration,
) -> anyhow::Result<Duration> {
    let clock = Clock::start(limit, bytes);
    let mut s = d.dial(verify).context("connecting to verify")?;
    let mut sent = 0u64;
    while sent < bytes {
        let piece = pattern_at(sent, usize::try_from(bytes - sent).unwrap_or(CHUNK));
        clock.arm::<D>(&s, "sending", sent)?;
        match s.write(piece) {
            Ok(0) => bail!("the connection closed after {sent} of {bytes} bytes"),
            Ok(n) => sent += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(clock.failed(e, "sending", sent)),
        }
    }
    D::shutdown_write(&s).context("shutting down the sending side")?;
    let mut answer = [0u8; 17];
    let mut got = 0;
    loop {
        clock.arm::<D>(&s, "waiting for verify's answer", sent)?;
        // Empty once a 17th byte arrived: the read returns 0 and ends this.
        match s.read(answer.get_mut(got..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(clock.failed(e, "waiting for verify's answer", sent)),
        }
    }
    let took = clock.start.elapsed();
    let field = |range: std::ops::Range<usize>| {
        answer
            .get(range)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_be_bytes)
    };
    let (Some(received), Some(intact), 16) = (field(0..8), field(8..16), got) else {
        bail!("verify answered {got} bytes (16 expected)");
    };
    ensure_complete(received, intact, bytes).context("at the verify server")?;
    Ok(took)
}

/// Asks a pattern service for `bytes` and checks them up to its close;
/// fails after `limit`.
pub(crate) fn download<D: Dial>(
    d: &D,
    pattern: SocketAddr,
    bytes: u64,
    limit: Duration,
) -> anyhow::Result<Duration> {
    let clock = Clock::start(limit, bytes);
    let mut s = d.dial(pattern).context("connecting to pattern")?;
    clock.arm::<D>(&s, "asking", 0)?;
    s.write_all(&bytes.to_be_bytes())
        .map_err(|e| clock.failed(e, "asking", 0))?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut check = Check::default();
    loop {
        clock.arm::<D>(&s, "receiving", check.received())?;
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                check.feed(buf.get(..n).unwrap_or_default());
                ensure!(
                    check.received() <= bytes,
                    "the pattern server sent more than {bytes} bytes"
                );
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(clock.failed(e, "receiving", check.received())),
        }
    }
    let took = clock.start.elapsed();
    ensure_complete(check.received, check.intact(), bytes)?;
    Ok(took)
}

/// The verify service on one connection (see the module's doc).
pub(crate) fn verify_conn<S: Read + Write>(mut s: S) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut check = Check::default();
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => check.feed(buf.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
    let _ = s.write_all(&check.report());
}

/// The pattern service on one connection: reads the 8-byte count, sends
/// that many bytes of the pattern, closes.
pub(crate) fn pattern_conn<S: Read + Write>(mut s: S) {
    let mut count = [0u8; 8];
    if s.read_exact(&mut count).is_err() {
        return;
    }
    let bytes = u64::from_be_bytes(count);
    let mut sent = 0u64;
    while sent < bytes {
        let piece = pattern_at(sent, usize::try_from(bytes - sent).unwrap_or(CHUNK));
        match s.write(piece) {
            Ok(0) => return,
            Ok(n) => sent += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pattern a writer produces in pieces of any size is the one a
    /// checker expects in pieces of other sizes.
    #[test]
    fn pieces_line_up() {
        let mut stream = vec![0u8; 300_000];
        let mut at = 0;
        for len in [1, 250, 251, 252, 65_536, CHUNK, 100_000]
            .into_iter()
            .cycle()
        {
            let Some(piece) = stream.get_mut(at..(at + len).min(300_000)) else {
                break;
            };
            fill(piece, at as u64);
            at += len;
        }
        assert!(
            stream
                .iter()
                .enumerate()
                .all(|(i, &b)| b == (i % 251) as u8)
        );
        let mut check = Check::default();
        for piece in stream.chunks(7_919) {
            check.feed(piece);
        }
        assert_eq!(check.report()[..8], 300_000u64.to_be_bytes());
        assert_eq!(check.intact(), 300_000);
        assert!(ensure_complete(check.received(), check.intact(), 300_000).is_ok());
    }

    /// A byte changed, dropped or repeated is found where it happened.
    #[test]
    fn damage_is_found_where_it_is() {
        let mut stream = vec![0u8; 200_000];
        fill(&mut stream, 0);
        let mut changed = stream.clone();
        changed[123_456] ^= 1;
        let mut dropped = stream.clone();
        dropped.remove(70_000);
        let mut repeated = stream.clone();
        repeated.insert(5, repeated[5]);
        for (damaged, at) in [(changed, 123_456), (dropped, 70_000), (repeated, 6)] {
            let mut check = Check::default();
            for piece in damaged.chunks(65_536) {
                check.feed(piece);
            }
            assert_eq!(check.intact(), at);
            assert!(ensure_complete(check.received(), check.intact(), 200_000).is_err());
        }
    }
}
