//! [`Pair`]: two endpoints joined by a [`Link`] each way, stepped together.
//!
//! A step moves everything due now: each side's frames onto its link
//! (through its TSO device, if it has one, and past the tap), then each
//! link's arrivals into the other side. [`Pair::run_until`] steps until
//! nothing moves, asks the caller (the application) whether it is done,
//! and otherwise goes on at the next event: the earliest of both sides'
//! timers and both links' deliveries, which virtual time jumps to.
//! [`Pair::run_interleaved`] runs the application after every step instead.
//! A run that cannot end stops with [`Stuck`]: nothing scheduled, past its
//! time limit, or output without end at one instant.

use crate::sim::clock::{Clock, Virtual};
use crate::sim::endpoint::Endpoint;
use crate::sim::link::Link;
use crate::sim::tap::{Side, Tap};
use crate::sim::tso::Tso;
use crate::stack::Stack;
use crate::time::{Duration, Instant};

/// How long one run ([`Pair::run_until`], [`Pair::run_interleaved`]) may
/// take on the pair's clock, unless told otherwise ([`Pair::limit`]).
pub const DEFAULT_LIMIT: Duration = Duration::from_secs(3600);

/// Frames one side may send in one step, and steps that move something at
/// one instant, before the run counts as endless output. Far beyond any
/// real burst: ten thousand connections opening at once send ten thousand
/// SYNs.
const ENDLESS: usize = 1 << 20;

/// Two endpoints (stacks, unless `E` says otherwise) joined by a link each
/// way, in the time of clock `C` (virtual unless told), watched by tap `T`.
#[derive(Debug)]
pub struct Pair<E = Stack, T = (), C = Virtual> {
    /// One side; it sends on `ab`.
    pub a: E,
    /// The other side; it sends on `ba`.
    pub b: E,
    /// The link from `a` to `b`.
    pub ab: Link,
    /// The link from `b` to `a`.
    pub ba: Link,
    /// The time of the last step. A test may move it forward itself.
    pub now: Instant,
    /// What watches the frames and the steps.
    pub tap: T,
    /// Where the time comes from.
    pub clock: C,
    /// How long one run may take on the clock before it gives up
    /// ([`DEFAULT_LIMIT`] unless set).
    pub limit: Duration,
    /// A TSO device in front of `a`: `a` is polled with room for long
    /// segments, which the device splits.
    pub a_tso: Option<Tso>,
    /// A TSO device in front of `b`.
    pub b_tso: Option<Tso>,
    /// A step gave up on a side sending without end.
    endless: bool,
    /// The frame being moved.
    buf: Vec<u8>,
}

/// What the application did in its turn of [`Pair::run_interleaved`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// It is finished: the run ends.
    Done,
    /// It did something that may have output (sent, received, accepted,
    /// closed): the pair steps again before it waits.
    Busy,
    /// It waits for the network.
    Idle,
}

/// The bounds of one run: its deadline, and the steps taken at the
/// current instant.
struct Bounds {
    deadline: Instant,
    instant: Instant,
    steps: usize,
}

impl Bounds {
    fn new(now: Instant, limit: Duration) -> Self {
        Self {
            deadline: now + limit,
            instant: now,
            steps: 0,
        }
    }
}

/// Why a run gave up, when, and what each side held then.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{why} at {at}: a {a} b {b}")]
pub struct Stuck {
    /// Why.
    pub why: StuckReason,
    /// When.
    pub at: Instant,
    /// What `a` held ([`Endpoint::describe`]).
    pub a: String,
    /// What `b` held.
    pub b: String,
}

/// Why a run gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StuckReason {
    /// Nothing is scheduled: no timer, nothing in flight, and the caller
    /// not done.
    #[error("nothing scheduled")]
    NothingScheduled,
    /// The next event is past the run's time limit.
    #[error("not done within {0:?}")]
    TimeLimit(Duration),
    /// A side sent without end, or frames moved without end, at one
    /// instant.
    #[error("endless output")]
    Endless,
}

impl<E: Endpoint> Pair<E> {
    /// `a` and `b` joined by `ab` and `ba`, at virtual time zero, with no
    /// tap and no TSO device.
    pub fn new(a: E, b: E, ab: Link, ba: Link) -> Self {
        Self {
            a,
            b,
            ab,
            ba,
            now: Instant::ZERO,
            tap: (),
            clock: Virtual,
            limit: DEFAULT_LIMIT,
            a_tso: None,
            b_tso: None,
            endless: false,
            buf: Vec::new(),
        }
    }
}

impl<E: Endpoint, T: Tap<E>, C: Clock> Pair<E, T, C> {
    /// The same pair, watched by `tap`.
    pub fn with_tap<U: Tap<E>>(self, tap: U) -> Pair<E, U, C> {
        Pair {
            a: self.a,
            b: self.b,
            ab: self.ab,
            ba: self.ba,
            now: self.now,
            tap,
            clock: self.clock,
            limit: self.limit,
            a_tso: self.a_tso,
            b_tso: self.b_tso,
            endless: self.endless,
            buf: self.buf,
        }
    }

    /// The same pair in the time of `clock`, starting at the time it reads.
    pub fn with_clock<D: Clock>(self, mut clock: D) -> Pair<E, T, D> {
        Pair {
            a: self.a,
            b: self.b,
            ab: self.ab,
            ba: self.ba,
            now: clock.now(self.now),
            tap: self.tap,
            clock,
            limit: self.limit,
            a_tso: self.a_tso,
            b_tso: self.b_tso,
            endless: self.endless,
            buf: self.buf,
        }
    }

    /// Moves everything due now: whether anything moved. When the clock
    /// has moved on since the last step (a wall clock), the timers due by
    /// then run first.
    pub fn step(&mut self) -> bool {
        let now = self.clock.now(self.now);
        if now > self.now {
            self.now = now;
            self.a.handle_timeout(now);
            self.b.handle_timeout(now);
        }
        let mut moved = self.transmit(Side::A);
        moved |= self.transmit(Side::B);
        moved |= deliver(self.now, &mut self.ab, &mut self.b);
        moved |= deliver(self.now, &mut self.ba, &mut self.a);
        if moved {
            self.tap.stepped(self.now, &self.a, &self.b);
        }
        moved
    }

    /// When the next thing happens: the earliest of both sides' timers and
    /// both links' next deliveries.
    pub fn next_event(&self) -> Option<Instant> {
        [
            self.a.poll_timeout(),
            self.b.poll_timeout(),
            self.ab.next_arrival(),
            self.ba.next_arrival(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs until `done` holds. Steps until nothing moves, then asks
    /// `done` (the application's turn: it may send, receive, close), then
    /// goes on at the next event, whose timers run: each event settles
    /// before the application looks, as a test's script wants. Gives up
    /// when nothing is scheduled, when the next event is more than
    /// [`Pair::limit`] after the start, or on output without end.
    pub fn run_until(&mut self, mut done: impl FnMut(&mut Self) -> bool) -> Result<(), Stuck> {
        let mut bounds = Bounds::new(self.now, self.limit);
        loop {
            while self.bounded_step(&mut bounds)? {}
            if done(self) {
                return Ok(());
            }
            // The application may have queued work: move it before waiting.
            if self.bounded_step(&mut bounds)? {
                continue;
            }
            self.wait_for_next_event(&bounds)?;
        }
    }

    /// Runs `app` and a step in turn, until `app` is [`Turn::Done`]: the
    /// application runs between the packets, as a program does on a busy
    /// host (and as `berth bench` runs smoltcp beside berth), rather than
    /// once things settle. The pair goes on at the next event only when
    /// `app` is [`Turn::Idle`] and the step after it moved nothing. Gives up
    /// as [`Pair::run_until`] does.
    pub fn run_interleaved(&mut self, mut app: impl FnMut(&mut Self) -> Turn) -> Result<(), Stuck> {
        let mut bounds = Bounds::new(self.now, self.limit);
        loop {
            let turn = app(self);
            if turn == Turn::Done {
                return Ok(());
            }
            if !self.bounded_step(&mut bounds)? && turn == Turn::Idle {
                self.wait_for_next_event(&bounds)?;
            }
        }
    }

    /// A step, counted against the run's bound on output without end.
    fn bounded_step(&mut self, bounds: &mut Bounds) -> Result<bool, Stuck> {
        if self.now != bounds.instant {
            bounds.instant = self.now;
            bounds.steps = 0;
        }
        bounds.steps += 1;
        let moved = self.step();
        if self.endless || bounds.steps > ENDLESS {
            self.endless = false;
            return Err(self.stuck(StuckReason::Endless));
        }
        Ok(moved)
    }

    /// Nothing moves and the application waits: goes on at the next event
    /// and runs the timers due then, unless nothing is scheduled or the
    /// next event is past the run's deadline.
    fn wait_for_next_event(&mut self, bounds: &Bounds) -> Result<(), Stuck> {
        let Some(next) = self.next_event() else {
            return Err(self.stuck(StuckReason::NothingScheduled));
        };
        if next > bounds.deadline {
            return Err(self.stuck(StuckReason::TimeLimit(self.limit)));
        }
        self.now = self.clock.wait_until(self.now, next);
        self.a.handle_timeout(self.now);
        self.b.handle_timeout(self.now);
        Ok(())
    }

    fn stuck(&self, why: StuckReason) -> Stuck {
        Stuck {
            why,
            at: self.now,
            a: self.a.describe(),
            b: self.b.describe(),
        }
    }

    /// Puts everything `from` has to send on its link: whether it sent
    /// anything.
    fn transmit(&mut self, from: Side) -> bool {
        let now = self.now;
        let (host, tso, link) = match from {
            Side::A => (&mut self.a, &mut self.a_tso, &mut self.ab),
            Side::B => (&mut self.b, &mut self.b_tso, &mut self.ba),
        };
        let tap = &mut self.tap;
        let frame_len = host.frame_len();
        let room = if tso.is_some() {
            Tso::ROOM.max(frame_len)
        } else {
            frame_len
        };
        if self.buf.len() < room {
            self.buf.resize(room, 0);
        }
        let buf = self.buf.get_mut(..room).unwrap_or_default();
        let mut frames = 0;
        while frames < ENDLESS {
            let polled = match tso {
                Some(_) => host.poll_transmit_gso(now, buf),
                None => host.poll_transmit(now, buf).map(|n| (n, None)),
            };
            let Some((n, gso)) = polled else {
                break;
            };
            let frame = buf.get(..n).unwrap_or_default();
            frames += 1;
            let mut put = |frame: &[u8]| {
                tap.frame(now, from, frame);
                link.send(now, frame);
            };
            match tso {
                Some(tso) => tso.take(frame, gso, frame_len, put),
                None => put(frame),
            }
        }
        self.endless |= frames >= ENDLESS;
        frames > 0
    }
}

/// Hands everything `link` delivers by `now` to `to`: whether anything
/// arrived.
fn deliver<E: Endpoint>(now: Instant, link: &mut Link, to: &mut E) -> bool {
    let mut moved = false;
    while let Some(frame) = link.recv(now) {
        to.handle_frame(now, &frame);
        link.recycle(frame);
        moved = true;
    }
    moved
}
