//! The stack thread's device loop (no root needed: an in-memory link).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::Duration;

use berth::NetStack;
use berth::net::UdpSocket;
use berth_core::config::StackConfig;
use berth_core::stack::Stack;
use berth_core::time::Instant;
use berth_device::channel::ChannelDevice;
use berth_device::{Device, Medium};

/// A stack at 198.18.0.2 on one end of an in-memory link, the link's other
/// end, and the far end: a sans-IO stack at 198.18.0.1 whose datagrams
/// from port 4000 go into the link by hand.
fn linked() -> (
    NetStack,
    ChannelDevice,
    Stack,
    berth_core::handle::SocketHandle,
) {
    let (left, right) = ChannelDevice::pair(1500, Medium::Ip).unwrap();
    let stack = NetStack::builder()
        .addr("198.18.0.2".parse().unwrap())
        .seed(2)
        .build(left)
        .unwrap();
    let mut far = Stack::new(StackConfig {
        addrs: vec!["198.18.0.1".parse().unwrap()],
        seed: 1,
        ..StackConfig::default()
    });
    let tx = far.udp_bind("198.18.0.1:4000".parse().unwrap()).unwrap();
    (stack, right, far, tx)
}

/// More than two of the stack thread's read batches (64 frames each).
const FRAMES: u16 = 150;

/// Frames that arrive together, more than one read batch's worth, are all
/// read even when nothing else happens afterwards. Under the edge-triggered
/// watch the device once had, the frames left after a batch raised no new
/// event and waited for other traffic or a timer (seconds, or for ever);
/// now a turn that is not told the device is readable does not read it,
/// so the level-triggered watch must report them.
#[test]
fn frames_beyond_one_batch_are_read_without_more_traffic() {
    let (stack, mut right, mut far, tx) = linked();
    let rx = UdpSocket::bind(&stack, "198.18.0.2:5000").unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let to: SocketAddr = "198.18.0.2:5000".parse().unwrap();
    // The stack's lock is held while every frame is queued, so the stack
    // thread finds them all waiting at its next turn.
    stack.with_stack(|_| {
        let mut buf = [0u8; 1500];
        for i in 0..FRAMES {
            far.udp_send_to(tx, &i.to_be_bytes(), to).unwrap();
            let n = far.poll_transmit(Instant::ZERO, &mut buf).unwrap();
            assert!(right.send(&buf[..n]).unwrap(), "frame {i} not queued");
        }
    });

    let mut buf = [0u8; 16];
    for i in 0..FRAMES {
        let (n, from) = rx
            .recv_from(&mut buf)
            .unwrap_or_else(|e| panic!("datagram {i} of {FRAMES}: {e}"));
        assert_eq!(&buf[..n], &i.to_be_bytes());
        assert_eq!(from, "198.18.0.1:4000".parse::<SocketAddr>().unwrap());
    }
}

/// Request/response traffic brings the stack thread down to reading one
/// frame per wake-up (the device is watched level-triggered, so the read
/// that would only find the queue empty is spared; `link::ReadPolicy`).
/// Frames that then arrive together are still all read and answered
/// without more traffic: each one left unread makes the next wait return
/// at once.
#[test]
fn a_burst_after_exchanges_is_read_whole_one_frame_at_a_time() {
    const EXCHANGES: u16 = 8;
    const BURST: u16 = 40;
    let (stack, mut right, mut far, tx) = linked();
    let echo = UdpSocket::bind(&stack, "198.18.0.2:7").unwrap();
    echo.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let server = std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        for _ in 0..EXCHANGES + BURST {
            let (n, from) = echo.recv_from(&mut buf).unwrap();
            echo.send_to(&buf[..n], from).unwrap();
        }
    });

    let to: SocketAddr = "198.18.0.2:7".parse().unwrap();
    let mut frame = [0u8; 1500];
    let mut send = |far: &mut Stack, right: &mut ChannelDevice, i: u16| {
        far.udp_send_to(tx, &i.to_be_bytes(), to).unwrap();
        let n = far.poll_transmit(Instant::ZERO, &mut frame).unwrap();
        assert!(right.send(&frame[..n]).unwrap(), "frame {i} not queued");
    };
    // The echoes of `want`, in order, each within 10 s.
    let echoes = |far: &mut Stack, right: &mut ChannelDevice, want: std::ops::Range<u16>| {
        let mut buf = [0u8; 1500];
        for i in want {
            loop {
                let mut got = [0u8; 16];
                if let Ok((n, _)) = far.udp_recv_from(tx, &mut got) {
                    assert_eq!(&got[..n], &i.to_be_bytes());
                    break;
                }
                let readable =
                    berth_device::wait_readable(right.raw_fd().unwrap(), Duration::from_secs(10))
                        .unwrap();
                assert!(readable, "no echo of datagram {i} within 10 s");
                while let Some(r) = right.recv_frame(&mut buf).unwrap() {
                    far.handle_frame(Instant::ZERO, &buf[..r.len]);
                }
            }
        }
    };

    for i in 0..EXCHANGES {
        send(&mut far, &mut right, i);
        echoes(&mut far, &mut right, i..i + 1);
    }
    // The whole burst is queued before the stack thread looks again.
    stack.with_stack(|_| {
        for i in EXCHANGES..EXCHANGES + BURST {
            send(&mut far, &mut right, i);
        }
    });
    echoes(&mut far, &mut right, EXCHANGES..EXCHANGES + BURST);
    server.join().unwrap();
}
