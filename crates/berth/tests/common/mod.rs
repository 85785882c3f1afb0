//! What the in-memory test binaries share: two stacks on the two ends of
//! an in-memory IP link. Each binary uses a part of it.
#![allow(dead_code, clippy::unwrap_used)]

use berth::NetStack;
use berth_device::Medium;
use berth_device::channel::ChannelDevice;

/// A server stack (198.18.0.2, 2001:2::2, seed 2) and a client stack
/// (198.18.0.1, 2001:2::1, seed 1) on an in-memory link, MTU 1500.
pub(crate) fn pair() -> (NetStack, NetStack) {
    let (left, right) = ChannelDevice::pair(1500, Medium::Ip).unwrap();
    pair_on(left, right)
}

/// The stacks of [`pair`] on the two ends of a link of the caller's.
pub(crate) fn pair_on(left: ChannelDevice, right: ChannelDevice) -> (NetStack, NetStack) {
    let server = NetStack::builder()
        .addr("198.18.0.2".parse().unwrap())
        .addr("2001:2::2".parse().unwrap())
        .seed(2)
        .build(left)
        .unwrap();
    let client = NetStack::builder()
        .addr("198.18.0.1".parse().unwrap())
        .addr("2001:2::1".parse().unwrap())
        .seed(1)
        .build(right)
        .unwrap();
    (server, client)
}
