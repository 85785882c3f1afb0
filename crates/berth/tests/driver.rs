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

/// More than two of the stack thread's read batches (64 frames each).
const FRAMES: u16 = 150;

/// Frames that arrive together, more than one read batch's worth, are all
/// read even when nothing else happens afterwards: the device is polled
/// edge-triggered, so the frames left after a batch raise no new event and
/// once waited for other traffic or a timer (seconds, or for ever).
#[test]
fn frames_beyond_one_batch_are_read_without_more_traffic() {
    let (left, mut right) = ChannelDevice::pair(1500, Medium::Ip).unwrap();
    let stack = NetStack::builder()
        .addr("198.18.0.2".parse().unwrap())
        .seed(2)
        .build(left)
        .unwrap();
    let rx = UdpSocket::bind(&stack, "198.18.0.2:5000").unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(10))).unwrap();

    // The far end: a sans-IO stack whose datagrams go into the link.
    let mut far = Stack::new(StackConfig {
        addrs: vec!["198.18.0.1".parse().unwrap()],
        seed: 1,
        ..StackConfig::default()
    });
    let tx = far.udp_bind("198.18.0.1:4000".parse().unwrap()).unwrap();
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
