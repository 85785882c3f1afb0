//! The simulator itself: a stuck run ends and says why, a clock that moves
//! by itself runs the timers, the tap sees every frame, and a TSO device
//! that refuses long segments loses them without losing the stream.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::*;
use crate::config::StackConfig;
use crate::stack::{SocketError, Stack};
use crate::tcp::State;
use crate::time::{Duration, Instant};

const A: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1));
const B: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2));

fn pair(faults: Faults) -> Pair {
    let stack = |addr, seed| {
        Stack::new(StackConfig {
            addrs: vec![addr],
            seed,
            ..StackConfig::default()
        })
    };
    Pair::new(
        stack(A, 1),
        stack(B, 2),
        Link::new(faults, 3),
        Link::new(faults, 4),
    )
}

/// Counts the frames each side put on its link.
#[derive(Debug, Default)]
struct Count([u64; 2]);

impl Tap<Stack> for Count {
    fn frame(&mut self, _: Instant, from: Side, _: &[u8]) {
        self.0[usize::from(from == Side::B)] += 1;
    }
}

#[test]
fn a_run_with_nothing_scheduled_is_stuck() {
    let mut p = pair(Faults::default());
    let err = p.run_until(|_| false).unwrap_err();
    assert_eq!(err.why, StuckReason::NothingScheduled);
    assert_eq!(err.at, Instant::ZERO);
}

#[test]
fn a_run_past_its_limit_is_stuck_and_says_what_each_side_held() {
    let mut p = pair(Faults {
        loss: 1.0,
        ..Faults::default()
    });
    p.limit = Duration::from_secs(5);
    let c =
        p.a.tcp_connect(p.now, SocketAddr::new(B, 80), None)
            .unwrap();
    let err = p.run_until(|_| false).unwrap_err();
    assert_eq!(err.why, StuckReason::TimeLimit(Duration::from_secs(5)));
    assert!(err.at <= Instant::from_secs(5), "{}", err.at);
    assert!(err.a.contains("SynSent"), "{err}");
    assert_eq!(p.a.tcp_state(c), Ok(State::SynSent));
}

/// An endpoint that always has a frame to send.
struct Chatter;

impl Endpoint for Chatter {
    fn frame_len(&self) -> usize {
        64
    }
    fn poll_transmit(&mut self, _: Instant, buf: &mut [u8]) -> Option<usize> {
        buf[0] = 0x45;
        Some(1)
    }
    fn handle_frame(&mut self, _: Instant, _: &[u8]) {}
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    fn handle_timeout(&mut self, _: Instant) {}
}

#[test]
fn endless_output_is_stuck() {
    let link = |seed| Link::new(Faults::default(), seed);
    let mut p = Pair::new(Chatter, Chatter, link(1), link(2));
    let err = p.run_until(|_| false).unwrap_err();
    assert_eq!(err.why, StuckReason::Endless);
}

/// A clock that moves a millisecond each time it is read.
struct Ticking;

impl Clock for Ticking {
    fn now(&mut self, last: Instant) -> Instant {
        last + Duration::from_millis(1)
    }
    fn wait_until(&mut self, last: Instant, next: Instant) -> Instant {
        next.max(self.now(last))
    }
}

/// Without a jump to the next event, steps alone run the timers once the
/// clock has passed them: the lost SYN goes again after its RTO.
#[test]
fn a_clock_that_moves_by_itself_runs_the_timers() {
    let mut p = pair(Faults {
        loss: 1.0,
        ..Faults::default()
    })
    .with_tap(Count::default())
    .with_clock(Ticking);
    p.a.tcp_connect(p.now, SocketAddr::new(B, 80), None)
        .unwrap();
    for _ in 0..1500 {
        p.step();
    }
    assert!(p.now >= Instant::from_millis(1500), "{}", p.now);
    assert_eq!(p.tap.0, [2, 0], "the SYN and its retransmission");
}

#[test]
fn the_tap_sees_every_frame() {
    let mut p = pair(Faults {
        delay: Duration::from_millis(3),
        duplicate: 0.2,
        ..Faults::default()
    })
    .with_tap(Count::default());
    let l = p.b.tcp_listen(SocketAddr::new(B, 80), 4).unwrap();
    let c =
        p.a.tcp_connect(p.now, SocketAddr::new(B, 80), None)
            .unwrap();
    p.run_until(|p| p.a.tcp_state(c) == Ok(State::Established) && p.b.tcp_accept(l).is_ok())
        .unwrap();
    assert_eq!(p.tap.0, [p.ab.stats.sent, p.ba.stats.sent]);
    assert!(p.tap.0[0] >= 2 && p.tap.0[1] >= 1);
}

/// A device that refuses every third long segment loses it; TCP repairs
/// the loss and the stream arrives whole.
#[test]
fn a_refusing_tso_device_loses_segments_not_the_stream() {
    let mut p = pair(Faults {
        delay: Duration::from_millis(2),
        ..Faults::default()
    });
    p.a = Stack::new(StackConfig {
        addrs: vec![A],
        seed: 1,
        tso_max: 65535,
        ..StackConfig::default()
    });
    p.a_tso = Some(Tso {
        refuse_every: 3,
        ..Tso::default()
    });
    let l = p.b.tcp_listen(SocketAddr::new(B, 80), 4).unwrap();
    let c =
        p.a.tcp_connect(p.now, SocketAddr::new(B, 80), None)
            .unwrap();
    let data: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    let (mut sent, mut got, mut server) = (0, Vec::new(), None);
    let mut buf = vec![0u8; 65536];
    p.run_until(|p| {
        if let Ok(n) = p.a.tcp_send(c, &data[sent..]) {
            sent += n;
        }
        server = server.or_else(|| p.b.tcp_accept(l).unwrap().map(|(s, _)| s));
        if let Some(s) = server {
            loop {
                match p.b.tcp_recv(s, &mut buf) {
                    Ok(n) if n > 0 => got.extend_from_slice(&buf[..n]),
                    Ok(_) | Err(SocketError::WouldBlock) => break,
                    Err(e) => panic!("{e}"),
                }
            }
        }
        got.len() == data.len()
    })
    .unwrap();
    assert!(got == data, "the stream arrived intact");
    let tso = p.a_tso.unwrap();
    assert!(tso.refused > 0 && tso.refused == tso.long / 3, "{tso:?}");
    assert_eq!((tso.unsplittable, tso.oversized), (0, 0));
}

/// A link without jitter keeps packets in order cheaply; one that is
/// handed an earlier time than before still delivers by time.
#[test]
fn a_link_delivers_by_time_even_when_time_runs_backwards() {
    let mut link = Link::new(
        Faults {
            delay: Duration::from_millis(10),
            ..Faults::default()
        },
        1,
    );
    link.send(Instant::from_millis(5), b"late");
    link.send(Instant::from_millis(1), b"early");
    assert_eq!(link.next_arrival(), Some(Instant::from_millis(11)));
    assert_eq!(link.recv(Instant::from_millis(20)).unwrap(), b"early");
    assert_eq!(link.recv(Instant::from_millis(20)).unwrap(), b"late");
    assert!(link.is_idle());
}

/// The application runs after every step: it sees each flight of
/// segments arrive, and the run ends as soon as it is done.
#[test]
fn run_interleaved_runs_the_application_between_the_packets() {
    let mut p = pair(Faults::default());
    let l = p.b.tcp_listen(SocketAddr::new(B, 80), 4).unwrap();
    let c =
        p.a.tcp_connect(p.now, SocketAddr::new(B, 80), None)
            .unwrap();
    let data = vec![7u8; 200_000];
    let (mut sent, mut got, mut reads, mut server) = (0, 0, 0, None);
    let mut frames = Vec::new();
    let mut buf = vec![0u8; 65536];
    p.run_interleaved(|p| {
        frames.push(p.ab.stats.sent);
        let mut turn = Turn::Idle;
        if let Ok(n) = p.a.tcp_send(c, &data[sent..])
            && n > 0
        {
            sent += n;
            turn = Turn::Busy;
        }
        server = server.or_else(|| p.b.tcp_accept(l).unwrap().map(|(s, _)| s));
        if let Some(s) = server
            && let Ok(n) = p.b.tcp_recv(s, &mut buf)
            && n > 0
        {
            got += n;
            reads += 1;
            turn = Turn::Busy;
        }
        if got == data.len() { Turn::Done } else { turn }
    })
    .unwrap();
    assert!(reads >= 3, "{reads} reads: a flight each");
    // A turn after each step: each flight of `a`'s (1, 10, 20, 40, ...
    // segments, as its window opens) between two turns.
    assert!(
        frames.windows(2).filter(|w| w[1] > w[0]).count() >= 4,
        "{frames:?}"
    );
    // An application that waits for what never comes is stuck.
    assert_eq!(
        p.run_interleaved(|_| Turn::Idle).unwrap_err().why,
        StuckReason::NothingScheduled
    );
}
