//! Fault injection on a real device: [`FaultDevice`] wraps any [`Device`]
//! and loses, duplicates, corrupts (one flipped bit), delays (with jitter),
//! reorders (holds a frame back by an extra delay) and rate-limits frames,
//! each direction with its own [`FaultConfig`]. The smoltcp
//! `FaultInjector` idea, for the wall clock: a held frame is released by the
//! first `recv` or `send` call after it comes due, and [`Device::poll_at`]
//! tells the runtime when that is.
//!
//! Every decision comes from a SplitMix64 stream per direction
//! (`berth-core`'s [`Rng`], the workspace's one generator), seeded from one
//! `u64`: the same seed, configuration and sequence of frames give the same
//! faults. (Delivery *times* follow the wall clock; the
//! `*_at` methods take the time as an argument for tests.) The in-memory
//! link [`berth_core::sim::Link`] is the virtual-time counterpart.
//!
//! "Inbound" frames are the ones read from the wrapped device (`recv`),
//! "outbound" the ones written to it (`send`).

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::io;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use berth_core::rng::Rng;

use crate::{Device, Medium};

/// The faults applied to one direction. `Default` applies none.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultConfig {
    /// Probability that a frame is lost.
    pub loss: f64,
    /// Probability that a frame arrives twice.
    pub duplicate: f64,
    /// Probability that one bit of a frame (of each copy) is flipped.
    pub corrupt: f64,
    /// Fixed delay added to every frame.
    pub delay: Duration,
    /// Extra delay, uniform in `[0, jitter]`, per frame. Jitter larger than
    /// the spacing of frames reorders them, as netem's does.
    pub jitter: Duration,
    /// Probability that a frame is held back by a further `reorder_delay`,
    /// letting later frames overtake it.
    pub reorder: f64,
    /// How long a reordered frame is held back.
    pub reorder_delay: Duration,
    /// Link rate in bytes per second (0: unlimited). Each frame occupies the
    /// link for `len / rate` and queues behind the previous ones.
    pub rate: u64,
    /// The longest queue the rate limit builds before it drops frames
    /// (tail drop).
    pub rate_backlog: Duration,
    /// The most frames held (delayed) at once; more are dropped.
    pub max_held: usize,
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            loss: 0.0,
            duplicate: 0.0,
            corrupt: 0.0,
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            reorder: 0.0,
            reorder_delay: Duration::ZERO,
            rate: 0,
            rate_backlog: Duration::from_millis(100),
            max_held: 65_536,
        }
    }
}

/// Which way a frame goes through a [`FaultDevice`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Read from the wrapped device (`recv`).
    Inbound,
    /// Written to the wrapped device (`send`).
    Outbound,
}

/// What happened to the frames of one direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Frames that came in (before faults).
    pub frames: u64,
    /// Copies handed on: returned by `recv`, or accepted by the wrapped
    /// device's `send`.
    pub delivered: u64,
    /// Frames lost on purpose (`loss`).
    pub lost: u64,
    /// Frames sent twice.
    pub duplicated: u64,
    /// Copies with a flipped bit.
    pub corrupted: u64,
    /// Copies held for later (delay, jitter, reorder or rate).
    pub delayed: u64,
    /// Copies held back for reordering.
    pub reordered: u64,
    /// Copies dropped because the rate limit's queue was full.
    pub rate_dropped: u64,
    /// Copies dropped because `max_held` frames were already held.
    pub overflow_dropped: u64,
    /// Outbound copies the wrapped device refused (`send` returned false).
    pub refused: u64,
}

/// A frame waiting for its release time.
#[derive(Debug)]
struct Held {
    release: Instant,
    /// Arrival order, to keep frames due at the same time in order.
    seq: u64,
    frame: Vec<u8>,
}

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Held {}
impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Held {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.release, self.seq).cmp(&(other.release, other.seq))
    }
}

/// The fate of one copy of a frame.
#[derive(Debug, Clone, Copy)]
struct Plan {
    release: Instant,
    /// The bit to flip, if any.
    flip: Option<usize>,
}

/// One direction: its faults, random stream, held frames and counters.
#[derive(Debug)]
struct Lane {
    config: FaultConfig,
    rng: Rng,
    held: BinaryHeap<Reverse<Held>>,
    next_seq: u64,
    /// When the rate-limited link finishes sending what it already has.
    link_free: Option<Instant>,
    stats: FaultStats,
}

impl Lane {
    fn new(config: FaultConfig, seed: u64) -> Self {
        Self {
            config,
            rng: Rng::new(seed),
            held: BinaryHeap::new(),
            next_seq: 0,
            link_free: None,
            stats: FaultStats::default(),
        }
    }

    /// Decides the fate of a `len`-byte frame arriving at `now`: `[]` when
    /// lost, else one or two copies (`None` for a copy the rate limit
    /// dropped). The random draws happen in a fixed order: loss, duplicate,
    /// then per copy corrupt (+ bit), jitter, reorder.
    fn plan(&mut self, now: Instant, len: usize) -> [Option<Plan>; 2] {
        self.stats.frames += 1;
        if self.rng.chance(self.config.loss) {
            self.stats.lost += 1;
            return [None, None];
        }
        let copies = if self.rng.chance(self.config.duplicate) {
            self.stats.duplicated += 1;
            2
        } else {
            1
        };
        let mut plans = [None, None];
        for plan in plans.iter_mut().take(copies) {
            *plan = self.plan_copy(now, len);
        }
        plans
    }

    fn plan_copy(&mut self, now: Instant, len: usize) -> Option<Plan> {
        let flip = if len > 0 && self.rng.chance(self.config.corrupt) {
            self.stats.corrupted += 1;
            Some(self.rng.below(len as u64 * 8) as usize)
        } else {
            None
        };
        let mut release = now;
        if self.config.rate > 0 {
            let start = self.link_free.map_or(now, |free| free.max(now));
            if start.duration_since(now) > self.config.rate_backlog {
                self.stats.rate_dropped += 1;
                return None;
            }
            let nanos = (len as u128 * 1_000_000_000) / u128::from(self.config.rate);
            release = start + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
            self.link_free = Some(release);
        }
        release += self.config.delay;
        let jitter = u64::try_from(self.config.jitter.as_nanos()).unwrap_or(u64::MAX);
        if jitter > 0 {
            release += Duration::from_nanos(self.rng.below(jitter.saturating_add(1)));
        }
        if self.rng.chance(self.config.reorder) {
            self.stats.reordered += 1;
            release += self.config.reorder_delay;
        }
        Some(Plan { release, flip })
    }

    /// Holds a copy of `frame` (with the plan's bit flipped) until its
    /// release time.
    fn hold(&mut self, plan: Plan, frame: &[u8], spare: &mut Vec<Vec<u8>>) {
        if self.held.len() >= self.config.max_held {
            self.stats.overflow_dropped += 1;
            return;
        }
        let mut copy = spare.pop().unwrap_or_default();
        copy.clear();
        copy.extend_from_slice(frame);
        flip(&mut copy, plan.flip);
        self.stats.delayed += 1;
        self.held.push(Reverse(Held {
            release: plan.release,
            seq: self.next_seq,
            frame: copy,
        }));
        self.next_seq += 1;
    }

    /// The earliest held frame if it is due at `now`.
    fn pop_due(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.held.peek()?.0.release > now {
            return None;
        }
        self.held.pop().map(|Reverse(held)| held.frame)
    }

    fn next_release(&self) -> Option<Instant> {
        self.held.peek().map(|Reverse(held)| held.release)
    }
}

/// Flips bit `bit` of `frame` (bit 0 is the top bit of byte 0).
fn flip(frame: &mut [u8], bit: Option<usize>) {
    if let Some(bit) = bit
        && let Some(byte) = frame.get_mut(bit / 8)
    {
        *byte ^= 0x80 >> (bit % 8);
    }
}

/// The most frames one `recv` call reads from the wrapped device while it
/// holds or drops them, so that a busy link cannot keep the call going.
pub const MAX_READS_PER_RECV: usize = 256;

/// Spare buffers kept for held frames, so that a steady delay does not
/// allocate per frame.
const MAX_SPARE: usize = 256;

/// A device that injects seeded faults into the frames of the device it
/// wraps. See the [module documentation](self).
///
/// The inbound stream is an [`Rng`] seeded with the first output of
/// `Rng::new(seed)`, the outbound stream with the second.
#[derive(Debug)]
pub struct FaultDevice<D: Device> {
    inner: D,
    inbound: Lane,
    outbound: Lane,
    spare: Vec<Vec<u8>>,
    /// A copy of an outbound frame whose bit is flipped.
    scratch: Vec<u8>,
}

impl<D: Device> FaultDevice<D> {
    /// Wraps `inner`, applying `config` in both directions.
    pub fn new(inner: D, seed: u64, config: FaultConfig) -> Self {
        Self::with_directions(inner, seed, config.clone(), config)
    }

    /// Wraps `inner` with separate faults for each direction.
    pub fn with_directions(
        inner: D,
        seed: u64,
        inbound: FaultConfig,
        outbound: FaultConfig,
    ) -> Self {
        let mut seeds = Rng::new(seed);
        let inbound = Lane::new(inbound, seeds.next_u64());
        let outbound = Lane::new(outbound, seeds.next_u64());
        Self {
            inner,
            inbound,
            outbound,
            spare: Vec::new(),
            scratch: Vec::new(),
        }
    }

    fn lane(&self, direction: Direction) -> &Lane {
        match direction {
            Direction::Inbound => &self.inbound,
            Direction::Outbound => &self.outbound,
        }
    }

    /// The faults of one direction.
    pub fn config(&self, direction: Direction) -> &FaultConfig {
        &self.lane(direction).config
    }

    /// Changes the faults of one direction from now on (held frames keep
    /// their release times).
    pub fn set_config(&mut self, direction: Direction, config: FaultConfig) {
        match direction {
            Direction::Inbound => self.inbound.config = config,
            Direction::Outbound => self.outbound.config = config,
        }
    }

    /// The counters of one direction.
    pub fn stats(&self, direction: Direction) -> FaultStats {
        self.lane(direction).stats
    }

    /// Frames held in one direction, waiting for their release time.
    pub fn held(&self, direction: Direction) -> usize {
        self.lane(direction).held.len()
    }

    /// The wrapped device.
    pub fn inner(&self) -> &D {
        &self.inner
    }

    /// The wrapped device, mutably.
    pub fn inner_mut(&mut self) -> &mut D {
        &mut self.inner
    }

    /// Unwraps the device; held frames are dropped.
    pub fn into_inner(self) -> D {
        self.inner
    }

    /// The earliest release time of a held frame, either direction.
    fn own_poll_at(&self) -> Option<Instant> {
        match (self.inbound.next_release(), self.outbound.next_release()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Writes the outbound frames due at `now` to the wrapped device.
    pub fn flush_at(&mut self, now: Instant) -> io::Result<()> {
        while let Some(frame) = self.outbound.pop_due(now) {
            let sent = self.inner.send(&frame);
            self.recycle(frame);
            self.count_sent(sent?);
        }
        Ok(())
    }

    fn count_sent(&mut self, sent: bool) {
        if sent {
            self.outbound.stats.delivered += 1;
        } else {
            self.outbound.stats.refused += 1;
        }
    }

    fn recycle(&mut self, frame: Vec<u8>) {
        if self.spare.len() < MAX_SPARE {
            self.spare.push(frame);
        }
    }

    /// [`Device::recv`] at time `now`: releases due outbound frames, then
    /// returns a due held inbound frame or the next frame of the wrapped
    /// device that passes undelayed. Frames to hold are read and held, up
    /// to [`MAX_READS_PER_RECV`] per call; `Ok(None)` then leaves the rest
    /// in the wrapped device, whose descriptor stays readable.
    pub fn recv_at(&mut self, now: Instant, buf: &mut [u8]) -> io::Result<Option<usize>> {
        self.flush_at(now)?;
        let mut reads = 0;
        loop {
            if let Some(frame) = self.inbound.pop_due(now) {
                let len = frame.len().min(buf.len());
                buf[..len].copy_from_slice(&frame[..len]);
                self.recycle(frame);
                self.inbound.stats.delivered += 1;
                return Ok(Some(len));
            }
            if reads == MAX_READS_PER_RECV {
                break;
            }
            reads += 1;
            let Some(len) = self.inner.recv(buf)? else {
                return Ok(None);
            };
            let len = len.min(buf.len());
            let frame = &mut buf[..len];
            let [first, second] = self.inbound.plan(now, frame.len());
            // The second copy is taken from the pristine frame first; if it
            // is due now, the loop returns it on the next call.
            if let Some(plan) = second {
                self.inbound.hold(plan, frame, &mut self.spare);
            }
            match first {
                Some(plan) if plan.release <= now => {
                    flip(frame, plan.flip);
                    self.inbound.stats.delivered += 1;
                    return Ok(Some(frame.len()));
                }
                Some(plan) => self.inbound.hold(plan, frame, &mut self.spare),
                None => {}
            }
        }
        Ok(None)
    }

    /// [`Device::send`] at time `now`. Returns `Ok(false)` only when the
    /// wrapped device refused an undelayed frame; lost and held frames count
    /// as sent, as on a wire.
    pub fn send_at(&mut self, now: Instant, frame: &[u8]) -> io::Result<bool> {
        self.flush_at(now)?;
        let [first, second] = self.outbound.plan(now, frame.len());
        let mut accepted = true;
        if let Some(plan) = first {
            if plan.release <= now {
                let sent = match plan.flip {
                    None => self.inner.send(frame)?,
                    Some(_) => {
                        self.scratch.clear();
                        self.scratch.extend_from_slice(frame);
                        flip(&mut self.scratch, plan.flip);
                        self.inner.send(&self.scratch)?
                    }
                };
                self.count_sent(sent);
                accepted = sent;
            } else {
                self.outbound.hold(plan, frame, &mut self.spare);
            }
        }
        if let Some(plan) = second {
            self.outbound.hold(plan, frame, &mut self.spare);
            self.flush_at(now)?;
        }
        Ok(accepted)
    }
}

impl<D: Device> Device for FaultDevice<D> {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        self.recv_at(Instant::now(), buf)
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<bool> {
        self.send_at(Instant::now(), frame)
    }

    fn mtu(&self) -> usize {
        self.inner.mtu()
    }

    /// What the inner device may hand over. Its TSO is not passed on: a
    /// fault should hit one segment, not the 44 of a long one.
    fn recv_capacity(&self) -> usize {
        self.inner.recv_capacity()
    }

    fn medium(&self) -> Medium {
        self.inner.medium()
    }

    fn raw_fd(&self) -> Option<RawFd> {
        self.inner.raw_fd()
    }

    fn poll_at(&self) -> Option<Instant> {
        match (self.own_poll_at(), self.inner.poll_at()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    /// A device with scripted inbound frames that records what is sent.
    #[derive(Debug, Default)]
    struct Script {
        inbound: VecDeque<Vec<u8>>,
        sent: Vec<Vec<u8>>,
    }

    impl Device for Script {
        fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
            Ok(self.inbound.pop_front().map(|frame| {
                buf[..frame.len()].copy_from_slice(&frame);
                frame.len()
            }))
        }
        fn send(&mut self, frame: &[u8]) -> io::Result<bool> {
            self.sent.push(frame.to_vec());
            Ok(true)
        }
        fn mtu(&self) -> usize {
            1500
        }
        fn raw_fd(&self) -> Option<RawFd> {
            None
        }
    }

    fn frame(i: u32) -> Vec<u8> {
        let mut f = vec![0u8; 64];
        f[..4].copy_from_slice(&i.to_be_bytes());
        f
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Sends `n` frames 1 ms apart, stepping time, and returns what reached
    /// the wrapped device.
    fn run_outbound(seed: u64, config: FaultConfig, n: u32) -> (Vec<Vec<u8>>, FaultStats) {
        let t0 = Instant::now();
        let mut dev = FaultDevice::new(Script::default(), seed, config);
        for i in 0..n {
            dev.send_at(t0 + ms(u64::from(i)), &frame(i)).unwrap();
        }
        // Far enough in the future for every delayed frame.
        dev.flush_at(t0 + Duration::from_secs(3600)).unwrap();
        assert_eq!(dev.poll_at(), None);
        let stats = dev.stats(Direction::Outbound);
        (dev.into_inner().sent, stats)
    }

    #[test]
    fn no_faults_pass_everything_through_in_order() {
        let (sent, stats) = run_outbound(1, FaultConfig::default(), 100);
        assert_eq!(sent, (0..100).map(frame).collect::<Vec<_>>());
        assert_eq!(stats.frames, 100);
        assert_eq!(stats.delivered, 100);
        assert_eq!(stats.delayed, 0);
    }

    #[test]
    fn loss_rate_is_the_seeded_one() {
        let seed = 42;
        let config = FaultConfig {
            loss: 0.1,
            ..FaultConfig::default()
        };
        let (sent, stats) = run_outbound(seed, config, 10_000);

        // The same draws by hand: the outbound stream is seeded with the
        // second output of Rng::new(seed), and loss is its only draw.
        let mut seeds = Rng::new(seed);
        seeds.next_u64();
        let mut rng = Rng::new(seeds.next_u64());
        let expected_lost = (0..10_000).filter(|_| rng.chance(0.1)).count() as u64;

        assert_eq!(stats.lost, expected_lost);
        assert_eq!(sent.len() as u64, 10_000 - expected_lost);
        assert!((900..1100).contains(&expected_lost), "{expected_lost}");
    }

    #[test]
    fn same_seed_same_faults_other_seed_other_faults() {
        let config = FaultConfig {
            loss: 0.05,
            duplicate: 0.05,
            corrupt: 0.05,
            delay: ms(10),
            jitter: ms(5),
            reorder: 0.05,
            reorder_delay: ms(20),
            ..FaultConfig::default()
        };
        let a = run_outbound(7, config.clone(), 2_000);
        let b = run_outbound(7, config.clone(), 2_000);
        let c = run_outbound(8, config, 2_000);
        assert_eq!(a, b);
        assert_ne!(a.0, c.0);
        let stats = a.1;
        assert!(stats.lost > 0 && stats.duplicated > 0 && stats.corrupted > 0);
        assert!(stats.reordered > 0);
        assert_eq!(
            stats.delivered,
            stats.frames - stats.lost + stats.duplicated,
            "{stats:?}"
        );
    }

    #[test]
    fn corruption_flips_exactly_one_bit() {
        let config = FaultConfig {
            corrupt: 1.0,
            ..FaultConfig::default()
        };
        let (sent, stats) = run_outbound(3, config, 50);
        assert_eq!(stats.corrupted, 50);
        for (i, got) in sent.iter().enumerate() {
            let want = frame(i as u32);
            let flipped: u32 = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (a ^ b).count_ones())
                .sum();
            assert_eq!(flipped, 1);
        }
    }

    #[test]
    fn duplicates_arrive_twice() {
        let config = FaultConfig {
            duplicate: 1.0,
            ..FaultConfig::default()
        };
        let (sent, _) = run_outbound(3, config, 3);
        let want: Vec<_> = (0..3).flat_map(|i| [frame(i), frame(i)]).collect();
        assert_eq!(sent, want);
    }

    #[test]
    fn delay_holds_frames_until_due_and_poll_at_says_when() {
        let t0 = Instant::now();
        let config = FaultConfig {
            delay: ms(50),
            ..FaultConfig::default()
        };
        let mut script = Script::default();
        script.inbound.push_back(frame(1));
        let mut dev = FaultDevice::new(script, 9, config);
        let mut buf = [0u8; 1500];

        assert!(dev.send_at(t0, &frame(2)).unwrap());
        assert_eq!(dev.recv_at(t0, &mut buf).unwrap(), None);
        assert_eq!(dev.held(Direction::Inbound), 1);
        assert_eq!(dev.held(Direction::Outbound), 1);
        assert_eq!(dev.poll_at(), Some(t0 + ms(50)));
        assert!(dev.inner().sent.is_empty());

        assert_eq!(dev.recv_at(t0 + ms(49), &mut buf).unwrap(), None);
        assert_eq!(dev.recv_at(t0 + ms(50), &mut buf).unwrap(), Some(64));
        assert_eq!(&buf[..64], &frame(1)[..]);
        // The same call released the outbound frame.
        assert_eq!(dev.inner().sent, vec![frame(2)]);
        assert_eq!(dev.poll_at(), None);
    }

    #[test]
    fn reorder_lets_later_frames_overtake() {
        let config = FaultConfig {
            reorder: 0.3,
            reorder_delay: ms(5),
            ..FaultConfig::default()
        };
        let (sent, stats) = run_outbound(11, config, 200);
        assert_eq!(sent.len(), 200);
        assert!(stats.reordered > 0);
        let order: Vec<u32> = sent
            .iter()
            .map(|f| u32::from_be_bytes([f[0], f[1], f[2], f[3]]))
            .collect();
        assert!(order.windows(2).any(|w| w[0] > w[1]));
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..200).collect::<Vec<_>>());
    }

    #[test]
    fn rate_limit_spaces_frames_and_drops_past_the_backlog() {
        let t0 = Instant::now();
        // 64-byte frames at 6400 B/s: 10 ms each; a 25 ms backlog.
        let config = FaultConfig {
            rate: 6_400,
            rate_backlog: ms(25),
            ..FaultConfig::default()
        };
        let mut dev = FaultDevice::new(Script::default(), 1, config);
        for i in 0..5 {
            dev.send_at(t0, &frame(i)).unwrap();
        }
        let stats = dev.stats(Direction::Outbound);
        // Queue starts at 0, 10, 20 ms: three fit, 30 and 40 ms do not.
        assert_eq!(stats.rate_dropped, 2);
        assert_eq!(dev.poll_at(), Some(t0 + ms(10)));
        dev.flush_at(t0 + ms(20)).unwrap();
        assert_eq!(dev.inner().sent.len(), 2);
        dev.flush_at(t0 + ms(30)).unwrap();
        assert_eq!(dev.inner().sent, vec![frame(0), frame(1), frame(2)]);
    }

    #[test]
    fn one_recv_reads_a_bounded_number_of_frames() {
        let config = FaultConfig {
            delay: ms(1),
            ..FaultConfig::default()
        };
        let mut script = Script::default();
        script.inbound.extend((0..300).map(frame));
        let mut dev = FaultDevice::new(script, 1, config);
        let t0 = Instant::now();
        let mut buf = [0u8; 1500];
        assert_eq!(dev.recv_at(t0, &mut buf).unwrap(), None);
        assert_eq!(dev.held(Direction::Inbound), MAX_READS_PER_RECV);
        assert_eq!(dev.recv_at(t0, &mut buf).unwrap(), None);
        assert_eq!(dev.held(Direction::Inbound), 300);
        for i in 0..300 {
            assert_eq!(dev.recv_at(t0 + ms(1), &mut buf).unwrap(), Some(64));
            assert_eq!(&buf[..64], &frame(i)[..]);
        }
        assert_eq!(dev.recv_at(t0 + ms(1), &mut buf).unwrap(), None);
    }

    #[test]
    fn stacks_on_real_devices_through_the_device_trait() {
        use crate::channel::ChannelDevice;
        use crate::pcap::PcapDevice;

        let (a, mut b) = ChannelDevice::pair(1500, Medium::Ip).unwrap();
        let outbound = FaultConfig {
            delay: Duration::from_secs(3600),
            ..FaultConfig::default()
        };
        let fault = FaultDevice::with_directions(a, 1, FaultConfig::default(), outbound);
        let mut dev = PcapDevice::new(fault, Vec::new()).unwrap();
        let mut buf = [0u8; 1500];
        assert_eq!(dev.poll_at(), None);
        assert!(dev.send(&frame(1)).unwrap());
        // Held for an hour: nothing on the wire, and poll_at says so.
        assert_eq!(b.recv(&mut buf).unwrap(), None);
        assert!(dev.poll_at().is_some_and(|t| t > Instant::now()));
        assert!(b.send(&frame(2)).unwrap());
        assert_eq!(dev.recv(&mut buf).unwrap(), Some(64));
        assert_eq!(&buf[..64], &frame(2)[..]);
        assert_eq!(dev.mtu(), 1500);
        assert_eq!(dev.medium(), Medium::Ip);
        assert!(dev.raw_fd().is_some());
        assert_eq!(dev.inner().held(Direction::Outbound), 1);
    }

    #[test]
    fn directions_are_configured_separately() {
        let lossy = FaultConfig {
            loss: 1.0,
            ..FaultConfig::default()
        };
        let mut script = Script::default();
        script.inbound.push_back(frame(1));
        let mut dev = FaultDevice::with_directions(script, 5, FaultConfig::default(), lossy);
        let mut buf = [0u8; 1500];
        let now = Instant::now();
        assert!(dev.send_at(now, &frame(2)).unwrap());
        assert_eq!(dev.recv_at(now, &mut buf).unwrap(), Some(64));
        assert!(dev.inner().sent.is_empty());
        assert_eq!(dev.stats(Direction::Outbound).lost, 1);
        assert_eq!(dev.stats(Direction::Inbound).delivered, 1);
    }
}
