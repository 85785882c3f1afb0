//! Packet capture in the classic pcap format (what tcpdump `-w` writes and
//! Wireshark/tshark read): a [`PcapWriter`] that takes explicit timestamps,
//! for deterministic captures of simulations, and a [`PcapDevice`]
//! middleware that records every frame crossing a device, both directions,
//! stamped with the wall clock.
//!
//! Format: a 24-byte global header (magic `0xa1b2c3d4` written in native
//! byte order, version 2.4, snap length, link type), then per packet a
//! 16-byte record header (seconds, microseconds, captured length, original
//! length) and the captured bytes. Link types: [`LinkType::Raw`] (101,
//! raw IPv4/IPv6, for [`Medium::Ip`]) and [`LinkType::Ethernet`] (1, for
//! [`Medium::Ethernet`]).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::fd::RawFd;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::{Device, Medium, Received};

/// The pcap magic number for microsecond timestamps.
pub const MAGIC: u32 = 0xa1b2_c3d4;

/// The snap length [`PcapDevice`] uses: larger than any frame we carry.
pub const DEFAULT_SNAPLEN: u32 = 262_144;

/// What the captured frames carry (the global header's `network` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// `LINKTYPE_ETHERNET` (1): Ethernet II frames.
    Ethernet,
    /// `LINKTYPE_RAW` (101): raw IPv4/IPv6 packets, version from the first
    /// nibble.
    Raw,
}

impl LinkType {
    /// The number in the file header.
    pub fn code(self) -> u32 {
        match self {
            Self::Ethernet => 1,
            Self::Raw => 101,
        }
    }
}

impl From<Medium> for LinkType {
    fn from(medium: Medium) -> Self {
        match medium {
            Medium::Ip => Self::Raw,
            Medium::Ethernet => Self::Ethernet,
        }
    }
}

/// Writes a pcap stream to `W`. Buffering is the caller's choice (wrap a
/// file in a `BufWriter`).
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
    snaplen: u32,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header and returns the writer. Frames longer than
    /// `snaplen` are truncated to it (their original length is kept).
    pub fn new(mut out: W, link_type: LinkType, snaplen: u32) -> io::Result<Self> {
        let mut header = [0u8; 24];
        header[0..4].copy_from_slice(&MAGIC.to_ne_bytes());
        header[4..6].copy_from_slice(&2u16.to_ne_bytes());
        header[6..8].copy_from_slice(&4u16.to_ne_bytes());
        // thiszone (8..12) and sigfigs (12..16) stay zero.
        header[16..20].copy_from_slice(&snaplen.to_ne_bytes());
        header[20..24].copy_from_slice(&link_type.code().to_ne_bytes());
        out.write_all(&header)?;
        Ok(Self { out, snaplen })
    }

    /// Appends one frame stamped `timestamp`: time since the Unix epoch for
    /// real captures, or virtual time since the start of a simulation
    /// (tools then show dates in January 1970, and the same run gives the
    /// same bytes). Microsecond resolution; seconds wrap past `u32::MAX`.
    pub fn write_packet(&mut self, timestamp: Duration, frame: &[u8]) -> io::Result<()> {
        let caplen = frame.len().min(self.snaplen as usize);
        let orig_len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let mut record = [0u8; 16];
        // Truncation to 32-bit seconds is the format's.
        record[0..4].copy_from_slice(&(timestamp.as_secs() as u32).to_ne_bytes());
        record[4..8].copy_from_slice(&timestamp.subsec_micros().to_ne_bytes());
        // `caplen` is at most `snaplen`, a u32.
        record[8..12].copy_from_slice(&(caplen as u32).to_ne_bytes());
        record[12..16].copy_from_slice(&orig_len.to_ne_bytes());
        self.out.write_all(&record)?;
        self.out.write_all(&frame[..caplen])
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// Gives the underlying writer back (not flushed).
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// A device that records every frame it receives from, and every frame
/// accepted by, the device it wraps, stamped with the wall clock.
///
/// Where it sits decides what it sees: `PcapDevice<FaultDevice<Tun>>`
/// captures what the stack sends and receives, `FaultDevice<PcapDevice<Tun>>`
/// what crosses the kernel's interface.
///
/// A failed capture write never breaks the link: the first error is kept
/// ([`PcapDevice::error`]) and capturing stops.
#[derive(Debug)]
pub struct PcapDevice<D: Device, W: Write> {
    inner: D,
    writer: PcapWriter<W>,
    error: Option<io::Error>,
    /// The wall clock at creation, and a monotonic clock to advance it:
    /// timestamps then never go backwards within one capture.
    start_wall: Duration,
    start: Instant,
    /// Where an offloaded segment's checksum is completed for the capture.
    scratch: Vec<u8>,
}

impl<D: Device> PcapDevice<D, BufWriter<File>> {
    /// Captures `inner`'s frames to a new file at `path` (truncated if it
    /// exists).
    pub fn create<P: AsRef<Path>>(inner: D, path: P) -> io::Result<Self> {
        let file = BufWriter::new(File::create(path)?);
        Self::new(inner, file)
    }
}

impl<D: Device, W: Write> PcapDevice<D, W> {
    /// Captures `inner`'s frames to `out`, with the link type of its medium.
    pub fn new(inner: D, out: W) -> io::Result<Self> {
        let writer = PcapWriter::new(out, inner.medium().into(), DEFAULT_SNAPLEN)?;
        Ok(Self {
            inner,
            writer,
            error: None,
            start_wall: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default(),
            start: Instant::now(),
            scratch: Vec::new(),
        })
    }

    /// The wrapped device.
    pub fn inner(&self) -> &D {
        &self.inner
    }

    /// The wrapped device, mutably (frames moved through it directly are
    /// not captured).
    pub fn inner_mut(&mut self) -> &mut D {
        &mut self.inner
    }

    /// The first capture error, after which capturing stopped.
    pub fn error(&self) -> Option<&io::Error> {
        self.error.as_ref()
    }

    /// Flushes the capture.
    pub fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }

    /// Splits into the wrapped device and the capture writer (not flushed).
    pub fn into_parts(self) -> (D, W) {
        (self.inner, self.writer.into_inner())
    }

    fn capture(&mut self, frame: &[u8]) {
        if self.error.is_some() {
            return;
        }
        let timestamp = self.start_wall + self.start.elapsed();
        if let Err(e) = self.writer.write_packet(timestamp, frame) {
            self.error = Some(e);
        }
    }
}

impl<D: Device, W: Write + Send> Device for PcapDevice<D, W> {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        let received = self.inner.recv(buf)?;
        if let Some(len) = received {
            self.capture(&buf[..len.min(buf.len())]);
        }
        Ok(received)
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<bool> {
        let sent = self.inner.send(frame)?;
        if sent {
            self.capture(frame);
        }
        Ok(sent)
    }

    fn mtu(&self) -> usize {
        self.inner.mtu()
    }

    fn medium(&self) -> Medium {
        self.inner.medium()
    }

    fn raw_fd(&self) -> Option<RawFd> {
        self.inner.raw_fd()
    }

    fn poll_at(&self) -> Option<Instant> {
        self.inner.poll_at()
    }

    fn recv_capacity(&self) -> usize {
        self.inner.recv_capacity()
    }

    /// Captured as received: a checksum the kernel left undone shows as
    /// wrong, as in a capture on the host.
    fn recv_frame(&mut self, buf: &mut [u8]) -> io::Result<Option<Received>> {
        let received = self.inner.recv_frame(buf)?;
        if let Some(r) = received {
            self.capture(&buf[..r.len.min(buf.len())]);
        }
        Ok(received)
    }

    fn tso_max(&self) -> usize {
        self.inner.tso_max()
    }

    /// Captured as one segment, however long (as tcpdump on a sending
    /// host shows a TSO segment), with the checksum the device completes
    /// already complete: the capture shows what goes on the wire, where a
    /// capture on the host would show the pseudo-header sum.
    fn send_tcp_segments(&mut self, packet: &[u8], seg_payload: u16) -> io::Result<bool> {
        let sent = self.inner.send_tcp_segments(packet, seg_payload)?;
        if sent && self.error.is_none() {
            let mut whole = std::mem::take(&mut self.scratch);
            whole.clear();
            whole.extend_from_slice(packet);
            crate::vnet::complete_tcp_checksum(&mut whole);
            self.capture(&whole);
            self.scratch = whole;
        }
        Ok(sent)
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;
    use crate::channel::ChannelDevice;

    /// The ones' complement sum of `data` folded to 16 bits (RFC 1071).
    fn checksum(chunks: &[&[u8]]) -> u16 {
        let mut sum = 0u32;
        for chunk in chunks {
            for pair in chunk.chunks(2) {
                let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
                sum += u32::from(word);
            }
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    /// An IPv4 UDP packet 198.18.0.1:40000 -> 198.18.0.2:40001, built by
    /// hand with both checksums.
    fn ipv4_udp(payload: &[u8]) -> Vec<u8> {
        let (src, dst) = ([198, 18, 0, 1], [198, 18, 0, 2]);
        let udp_len = (8 + payload.len()) as u16;
        let total = 20 + udp_len;
        let mut ip = vec![
            0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 17, 0, 0, // ver/ihl .. proto, csum
        ];
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        ip.extend_from_slice(&src);
        ip.extend_from_slice(&dst);
        let ip_sum = checksum(&[&ip]);
        ip[10..12].copy_from_slice(&ip_sum.to_be_bytes());

        let mut udp = Vec::new();
        udp.extend_from_slice(&40000u16.to_be_bytes());
        udp.extend_from_slice(&40001u16.to_be_bytes());
        udp.extend_from_slice(&udp_len.to_be_bytes());
        udp.extend_from_slice(&[0, 0]);
        udp.extend_from_slice(payload);
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&src);
        pseudo.extend_from_slice(&dst);
        pseudo.extend_from_slice(&[0, 17]);
        pseudo.extend_from_slice(&udp_len.to_be_bytes());
        let udp_sum = checksum(&[&pseudo, &udp]);
        udp[6..8].copy_from_slice(&udp_sum.to_be_bytes());

        ip.extend_from_slice(&udp);
        ip
    }

    /// The same packet in an Ethernet II frame.
    fn ethernet_udp(payload: &[u8]) -> Vec<u8> {
        let mut frame = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
        frame.extend_from_slice(&ipv4_udp(payload));
        frame
    }

    fn u32_at(bytes: &[u8], at: usize) -> u32 {
        u32::from_ne_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
    }

    /// The (seconds, microseconds, caplen, len) of each record.
    fn records(bytes: &[u8]) -> Vec<(u32, u32, u32, u32)> {
        let mut out = Vec::new();
        let mut at = 24;
        while at < bytes.len() {
            let rec = (
                u32_at(bytes, at),
                u32_at(bytes, at + 4),
                u32_at(bytes, at + 8),
                u32_at(bytes, at + 12),
            );
            at += 16 + rec.2 as usize;
            out.push(rec);
        }
        assert_eq!(at, bytes.len(), "records end where the file ends");
        out
    }

    #[test]
    fn header_and_records_are_laid_out_as_the_format_says() {
        let mut writer = PcapWriter::new(Vec::new(), LinkType::Raw, 64).unwrap();
        let packet = ipv4_udp(b"berth");
        writer
            .write_packet(Duration::new(5, 123_456_789), &packet)
            .unwrap();
        writer.write_packet(Duration::ZERO, &[0xab; 100]).unwrap();
        let bytes = writer.into_inner();

        assert_eq!(u32_at(&bytes, 0), 0xa1b2_c3d4);
        assert_eq!(
            &bytes[4..8],
            &[2u16.to_ne_bytes(), 4u16.to_ne_bytes()].concat()[..]
        );
        assert_eq!(&bytes[8..16], &[0u8; 8]);
        assert_eq!(u32_at(&bytes, 16), 64);
        assert_eq!(u32_at(&bytes, 20), 101);
        assert_eq!(
            records(&bytes),
            vec![
                (5, 123_456, packet.len() as u32, packet.len() as u32),
                (0, 0, 64, 100), // truncated to the snap length
            ]
        );
        assert_eq!(&bytes[40..40 + packet.len()], &packet[..]);
        assert_eq!(bytes.len(), 24 + 16 + packet.len() + 16 + 64);
    }

    /// A TCP segment handed over with its checksum left to the device is
    /// captured with the checksum complete, as the wire will carry it; the
    /// device gets it as it was handed over.
    #[test]
    fn an_offloaded_segment_is_captured_with_its_checksum_complete() {
        let (a, mut b) = ChannelDevice::pair_offloaded(1500).unwrap();
        let mut dev = PcapDevice::new(a, Vec::new()).unwrap();
        // IPv4 198.18.0.1 -> 198.18.0.2, TCP with 5 bytes of payload, its
        // checksum field the pseudo-header sum (not inverted).
        let (src, dst) = ([198u8, 18, 0, 1], [198u8, 18, 0, 2]);
        let mut tcp = vec![0u8; 20];
        tcp[0..2].copy_from_slice(&80u16.to_be_bytes());
        tcp[2..4].copy_from_slice(&40000u16.to_be_bytes());
        tcp[12] = 5 << 4;
        tcp[13] = 0x18; // PSH, ACK
        tcp.extend_from_slice(b"hello");
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&src);
        pseudo.extend_from_slice(&dst);
        pseudo.extend_from_slice(&[0, 6]);
        pseudo.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
        let partial = !checksum(&[&pseudo]);
        tcp[16..18].copy_from_slice(&partial.to_be_bytes());
        let mut packet = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 6, 0, 0];
        packet[2..4].copy_from_slice(&((20 + tcp.len()) as u16).to_be_bytes());
        packet.extend_from_slice(&src);
        packet.extend_from_slice(&dst);
        let ip_sum = checksum(&[&packet]);
        packet[10..12].copy_from_slice(&ip_sum.to_be_bytes());
        packet.extend_from_slice(&tcp);
        assert_ne!(checksum(&[&pseudo, &packet[20..]]), 0, "not yet complete");

        assert!(dev.send_tcp_segments(&packet, 1460).unwrap());
        let mut buf = vec![0u8; b.recv_capacity()];
        let r = b.recv_frame(&mut buf).unwrap().unwrap();
        assert_eq!(&buf[..r.len], &packet[..], "handed over as it was");
        let (_, bytes) = dev.into_parts();
        assert_eq!(records(&bytes).len(), 1);
        let captured = &bytes[40..];
        assert_eq!(captured.len(), packet.len());
        assert_eq!(checksum(&[&pseudo, &captured[20..]]), 0, "complete");
        assert_eq!(&captured[..36], &packet[..36]);
        assert_eq!(&captured[38..], &packet[38..]);
    }

    #[test]
    fn device_captures_both_directions_with_its_medium() {
        let (a, mut b) = ChannelDevice::pair(1500, Medium::Ethernet).unwrap();
        let mut dev = PcapDevice::new(a, Vec::new()).unwrap();
        let mut buf = [0u8; 1500];
        assert!(dev.send(&ethernet_udp(b"out")).unwrap());
        assert_eq!(b.recv(&mut buf).unwrap(), Some(14 + 28 + 3));
        assert!(b.send(&ethernet_udp(b"in!")).unwrap());
        assert_eq!(dev.recv(&mut buf).unwrap(), Some(14 + 28 + 3));
        assert_eq!(dev.recv(&mut buf).unwrap(), None);
        assert!(dev.error().is_none());
        let (_, bytes) = dev.into_parts();
        assert_eq!(u32_at(&bytes, 20), 1);
        let recs = records(&bytes);
        assert_eq!(recs.len(), 2);
        assert!(recs.iter().all(|r| r.2 == 45 && r.3 == 45));
        assert!(recs[0].0 > 1_600_000_000, "wall-clock seconds");
    }

    /// Runs `tshark -r path` and returns its summary lines, or `None` (with
    /// the reason printed) when tshark is not installed.
    fn tshark(path: &Path) -> Option<Vec<String>> {
        if !Path::new("/usr/bin/tshark").exists() {
            println!("skipped: /usr/bin/tshark is not installed");
            return None;
        }
        let output = Command::new("/usr/bin/tshark")
            .arg("-n")
            .arg("-r")
            .arg(path)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "tshark failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8(output.stdout).unwrap();
        Some(text.lines().map(str::to_owned).collect())
    }

    fn temp_path(tag: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("berth-pcap-{tag}-{}.pcap", std::process::id()))
    }

    #[test]
    fn tshark_reads_raw_ip_captures() {
        let path = temp_path("raw");
        let mut writer = PcapWriter::new(
            BufWriter::new(File::create(&path).unwrap()),
            LinkType::Raw,
            65_535,
        )
        .unwrap();
        for i in 0..3u64 {
            let payload = format!("berth {i}");
            writer
                .write_packet(
                    Duration::from_millis(1500 * i),
                    &ipv4_udp(payload.as_bytes()),
                )
                .unwrap();
        }
        writer.flush().unwrap();
        drop(writer);
        let lines = tshark(&path);
        std::fs::remove_file(&path).unwrap();
        let Some(lines) = lines else { return };
        assert_eq!(lines.len(), 3, "{lines:?}");
        for line in &lines {
            assert!(line.contains("198.18.0.1"), "{line}");
            assert!(line.contains(" UDP "), "protocol column: {line}");
            assert!(line.contains("Len=7"), "{line}");
        }
    }

    #[test]
    fn tshark_reads_ethernet_captures_of_a_device() {
        let path = temp_path("eth");
        let (a, mut b) = ChannelDevice::pair(1514, Medium::Ethernet).unwrap();
        let mut dev = PcapDevice::create(a, &path).unwrap();
        let mut buf = [0u8; 1514];
        for _ in 0..2 {
            assert!(dev.send(&ethernet_udp(b"hello")).unwrap());
            b.recv(&mut buf).unwrap();
        }
        dev.flush().unwrap();
        drop(dev);
        let lines = tshark(&path);
        std::fs::remove_file(&path).unwrap();
        let Some(lines) = lines else { return };
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines.iter().all(|l| l.contains(" UDP ")), "{lines:?}");
    }
}
