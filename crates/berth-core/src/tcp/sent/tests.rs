use proptest::prelude::*;

use super::*;

fn t(ms: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(ms)
}

fn q(n: u32) -> SentQueue {
    // n segments of 100 octets from 1000, sent 1 ms apart.
    let mut q = SentQueue::new();
    for i in 0..n {
        q.on_send(
            SeqNum::new(1000 + i * 100),
            SeqNum::new(1100 + i * 100),
            t(u64::from(i)),
        );
    }
    q
}

fn spans(q: &SentQueue) -> Vec<(u32, u32, bool, bool, bool)> {
    q.iter()
        .map(|s| {
            (
                s.start.get(),
                s.end.get(),
                s.is_sacked(),
                s.is_lost(),
                s.is_retrans(),
            )
        })
        .collect()
}

#[test]
fn sacks_split_entries_and_sacked_neighbours_merge() {
    let mut q = q(5);
    let mut seen = Vec::new();
    let n = q.on_sack(SeqNum::new(1150), SeqNum::new(1300), |s| {
        seen.push((s.start.get(), s.end.get()));
    });
    assert_eq!(n, 150);
    assert_eq!(seen, vec![(1150, 1200), (1200, 1300)]);
    assert_eq!(
        spans(&q),
        vec![
            (1000, 1100, false, false, false),
            (1100, 1150, false, false, false),
            (1150, 1300, true, false, false),
            (1300, 1400, false, false, false),
            (1400, 1500, false, false, false),
        ]
    );
    // Again: nothing new.
    assert_eq!(q.on_sack(SeqNum::new(1150), SeqNum::new(1300), |_| {}), 0);
    assert_eq!(q.sacked_bytes(), 150);
    assert_eq!(q.in_flight(500), 350);
    assert_eq!(q.highest_sacked(), Some(SeqNum::new(1300)));
}

#[test]
fn blocks_outside_the_queue_are_clipped_or_ignored() {
    let mut q = q(2);
    assert_eq!(q.on_sack(SeqNum::new(500), SeqNum::new(900), |_| {}), 0);
    assert_eq!(q.on_sack(SeqNum::new(1200), SeqNum::new(5000), |_| {}), 0);
    assert_eq!(q.on_sack(SeqNum::new(1150), SeqNum::new(5000), |_| {}), 50);
    assert_eq!(q.on_sack(SeqNum::new(1300), SeqNum::new(1200), |_| {}), 0);
    assert_eq!(q.sacked_bytes(), 50);
}

#[test]
fn cumulative_acks_forget_and_report_what_was_not_sacked() {
    let mut q = q(4);
    q.on_sack(SeqNum::new(1100), SeqNum::new(1200), |_| {});
    let mut seen = Vec::new();
    q.on_ack(SeqNum::new(1250), |s| {
        seen.push((s.start.get(), s.end.get()))
    });
    assert_eq!(seen, vec![(1000, 1100), (1200, 1250)]);
    assert_eq!(q.sacked_bytes(), 0);
    assert_eq!(spans(&q)[0], (1250, 1300, false, false, false));
    q.on_ack(SeqNum::new(1400), |_| {});
    assert!(q.is_empty());
}

#[test]
fn rack_marks_what_was_sent_before_the_latest_delivery_once_its_time_is_up() {
    let mut q = q(5);
    // Segments 2 and 4 (sent at 2 and 4 ms) arrive: 0, 1 and 3 are holes.
    let mut latest = None;
    q.on_sack(SeqNum::new(1200), SeqNum::new(1300), |_| {});
    q.on_sack(SeqNum::new(1400), SeqNum::new(1500), |s| {
        latest = Some(s.when())
    });
    let latest = latest.unwrap();
    // RTT 10 ms, no reordering window: at 11 ms segments 0 and 1 (sent
    // at 0 and 1 ms) are lost, 3 (sent at 3 ms) has 2 ms to go.
    let wait = Duration::from_millis(10);
    let timeout = q.rack_detect_loss(latest, wait, t(11));
    assert_eq!(timeout, Some(Duration::from_millis(2)));
    assert_eq!(q.lost_bytes(), 200);
    assert_eq!(q.next_lost(1000), Some((SeqNum::new(1000), 100)));
    // 0 goes again at 12 ms: no longer waiting; 1 is next.
    q.on_retransmit(SeqNum::new(1000), SeqNum::new(1100), t(12));
    assert_eq!(q.next_lost(1000), Some((SeqNum::new(1100), 100)));
    assert_eq!(q.in_flight(500), 500 - 200 - 200 + 100);
    // At 13 ms, 3 is lost too; the retransmission (sent after the latest
    // delivery) is not.
    assert_eq!(q.rack_detect_loss(latest, wait, t(13)), None);
    assert_eq!(q.lost_bytes(), 300);
    // A later delivery (sent at 20 ms) ages the retransmission out too:
    // it was lost again.
    q.on_send(SeqNum::new(1500), SeqNum::new(1600), t(20));
    let mut later = None;
    q.on_sack(SeqNum::new(1500), SeqNum::new(1600), |s| {
        later = Some(s.when())
    });
    assert_eq!(q.retrans_bytes(), 100);
    assert_eq!(q.rack_detect_loss(later.unwrap(), wait, t(40)), None);
    assert_eq!(q.retrans_bytes(), 0);
    assert_eq!(q.next_lost(1000), Some((SeqNum::new(1000), 100)));
}

#[test]
fn a_timeout_marks_all_unsacked_lost_and_undo_unmarks() {
    let mut q = q(4);
    q.on_sack(SeqNum::new(1200), SeqNum::new(1300), |_| {});
    q.mark_all_lost();
    assert_eq!(q.lost_bytes(), 300);
    assert_eq!(q.in_flight(400), 0);
    q.unmark_lost();
    assert_eq!(q.in_flight(400), 300);
    q.clear_sacks();
    assert_eq!(q.in_flight(400), 400);
}

#[test]
fn head_and_oversized_marks() {
    let mut q = q(3);
    q.mark_head_lost(60);
    assert_eq!(q.lost_bytes(), 60);
    assert_eq!(q.next_lost(1000), Some((SeqNum::new(1000), 60)));
    q.mark_lost_longer_than(50);
    // 1060..1100 is 40 long; the other two 100.
    assert_eq!(q.lost_bytes(), 260);
}

#[test]
fn one_burst_is_one_entry() {
    let mut q = SentQueue::new();
    q.on_send(SeqNum::new(0), SeqNum::new(100), t(1));
    q.on_send(SeqNum::new(100), SeqNum::new(200), t(1));
    q.on_send(SeqNum::new(200), SeqNum::new(300), t(2));
    assert_eq!(q.entries(), 2);
    // Not contiguous: ignored.
    q.on_send(SeqNum::new(400), SeqNum::new(500), t(2));
    assert_eq!(q.entries(), 2);
}

#[derive(Debug, Clone)]
enum Op {
    Send(u32, u64),
    Sack(u32, u32),
    Ack(u32),
    Retransmit(u32, u32),
    Rack(u64, u64),
    Timeout,
    Head(u32),
    Undo,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1u32..300, 0u64..5).prop_map(|(n, dt)| Op::Send(n, dt)),
        (0u32..3000, 0u32..3000).prop_map(|(a, b)| Op::Sack(a, b)),
        (0u32..3000).prop_map(Op::Ack),
        (0u32..3000, 1u32..400).prop_map(|(a, n)| Op::Retransmit(a, n)),
        (0u64..50, 0u64..50).prop_map(|(a, b)| Op::Rack(a, b)),
        Just(Op::Timeout),
        (1u32..300).prop_map(Op::Head),
        Just(Op::Undo),
    ]
}

/// Per-octet reference: (sacked, lost, retrans) for each outstanding
/// octet from `una`.
#[derive(Default)]
struct Model {
    una: u32,
    octets: Vec<(bool, bool, bool)>,
}

proptest! {
    #[test]
    fn counters_match_the_marks_and_nothing_panics(base in any::<u32>(), ops in proptest::collection::vec(op(), 0..80)) {
        let mut q = SentQueue::new();
        let mut model = Model::default();
        let mut now = t(0);
        let seq = |off: u32| SeqNum::new(base.wrapping_add(off));
        let mut latest: Option<Latest> = None;
        for op in ops {
            match op {
                Op::Send(n, dt) => {
                    now += Duration::from_millis(dt);
                    let start = model.una + model.octets.len() as u32;
                    q.on_send(seq(start), seq(start + n), now);
                    model.octets.extend(std::iter::repeat_n((false, false, false), n as usize));
                }
                Op::Sack(a, b) => {
                    q.on_sack(seq(a), seq(b), |s| latest = Some(s.when()));
                    for off in a..b {
                        if let Some(o) = off.checked_sub(model.una).and_then(|i| model.octets.get_mut(i as usize)) {
                            *o = (true, false, false);
                        }
                    }
                }
                Op::Ack(a) => {
                    let end = model.una + model.octets.len() as u32;
                    if a > model.una && a <= end {
                        q.on_ack(seq(a), |_| {});
                        model.octets.drain(..(a - model.una) as usize);
                        model.una = a;
                    }
                }
                Op::Retransmit(a, n) => {
                    now += Duration::from_millis(1);
                    q.on_retransmit(seq(a), seq(a + n), now);
                    for off in a..a + n {
                        if let Some(o) = off.checked_sub(model.una).and_then(|i| model.octets.get_mut(i as usize))
                            && !o.0 {
                            o.2 = true;
                        }
                    }
                }
                Op::Rack(wait, dt) => {
                    now += Duration::from_millis(dt);
                    if let Some(latest) = latest {
                        q.rack_detect_loss(latest, Duration::from_millis(wait), now);
                    }
                }
                Op::Timeout => {
                    q.mark_all_lost();
                    for o in &mut model.octets {
                        if !o.0 {
                            *o = (false, true, false);
                        }
                    }
                }
                Op::Head(n) => q.mark_head_lost(n),
                Op::Undo => q.unmark_lost(),
            }
            // Contiguous, sorted, non-empty entries covering the model.
            let mut expect = seq(model.una);
            for s in q.iter() {
                prop_assert_eq!(s.start, expect);
                prop_assert!(s.start.before(s.end));
                expect = s.end;
            }
            if !q.is_empty() {
                prop_assert_eq!(expect, seq(model.una + model.octets.len() as u32));
            }
            // The counters are the marks' sums.
            let sum = |f: fn(&Sent) -> bool| q.iter().filter(|s| f(s)).map(Sent::len).sum::<u32>();
            prop_assert_eq!(q.sacked_bytes(), sum(Sent::is_sacked));
            prop_assert_eq!(q.lost_bytes(), sum(Sent::is_lost));
            prop_assert_eq!(q.retrans_bytes(), sum(Sent::is_retrans));
            prop_assert_eq!(q.awaiting_bytes(), sum(Sent::awaits_retransmission));
            // SACK marks agree with the model's octet by octet.
            for s in q.iter() {
                let from = s.start.wrapping_offset_from(seq(model.una));
                for off in from..from + s.len() {
                    prop_assert_eq!(model.octets[off as usize].0, s.is_sacked());
                }
            }
        }
    }
}
