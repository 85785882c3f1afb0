//! Socket options and calls that std and tokio users reach for: UDP peek
//! and readiness.

use std::net::SocketAddr;

use super::{A4, B4, Pair};
use crate::stack::SocketError;
use crate::testing::Faults;

/// A peeked datagram stays queued: the next peek and the next receive
/// return it again, and only the receive takes it.
#[test]
fn udp_peek_leaves_the_datagram_queued() {
    let mut p = Pair::new(Faults::default());
    let server = p.b.udp_bind(SocketAddr::new(B4, 7)).unwrap();
    let client = p.a.udp_bind(SocketAddr::new(A4, 0)).unwrap();
    assert_eq!(p.b.udp_peek_datagram(server), Err(SocketError::WouldBlock));
    assert!(!p.b.udp_can_recv(server).unwrap());
    assert!(p.a.udp_can_send(client).unwrap());
    let to = SocketAddr::new(B4, 7);
    p.a.udp_send_to(client, b"one", to).unwrap();
    p.a.udp_send_to(client, b"two", to).unwrap();
    p.run_until(|p| p.b.udp_can_recv(server).unwrap());
    let first = p.b.udp_peek_datagram(server).unwrap();
    assert_eq!(first.data, b"one");
    assert_eq!(first.from, p.a.local_addr(client).unwrap());
    assert_eq!(p.b.udp_peek_datagram(server).unwrap(), first);
    assert_eq!(p.b.udp_recv_datagram(server).unwrap(), first);
    assert_eq!(p.b.udp_recv_datagram(server).unwrap().data, b"two");
    assert_eq!(p.b.udp_recv_datagram(server), Err(SocketError::WouldBlock));
}
