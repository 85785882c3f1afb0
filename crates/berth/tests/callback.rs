//! Per-port callbacks on the stack thread: an echo service with no thread of
//! its own serves several blocking clients; its events arrive in order.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::Shutdown;
use std::sync::{Arc, Mutex};

use berth::net::TcpStream;
use berth::{NetStack, PortEvent};
use berth_device::Medium;
use berth_device::channel::ChannelDevice;

#[test]
fn callback_echo_serves_clients() {
    let (left, right) = ChannelDevice::pair(1500, Medium::Ip).unwrap();
    let host = NetStack::builder()
        .addr("198.18.0.2".parse().unwrap())
        .seed(2)
        .build(left)
        .unwrap();
    let peer = NetStack::builder()
        .addr("198.18.0.1".parse().unwrap())
        .seed(1)
        .build(right)
        .unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    let port = host
        .listen_with("198.18.0.2:7", move |ctx, event| {
            seen.lock().unwrap().push(event);
            if let PortEvent::Readable(conn) = event {
                let mut buf = [0u8; 4096];
                loop {
                    match ctx.recv(conn, &mut buf) {
                        Ok(0) => {
                            // End of stream: finish our side too.
                            let _ = ctx.shutdown_write(conn);
                            break;
                        }
                        Ok(n) => {
                            ctx.send(conn, &buf[..n]).unwrap();
                        }
                        Err(_) => break,
                    }
                }
            }
        })
        .unwrap();
    assert_eq!(port.local_addr().unwrap(), "198.18.0.2:7".parse().unwrap());
    for i in 0..5 {
        let mut c = TcpStream::connect(&peer, "198.18.0.2:7").unwrap();
        let msg = format!("message {i}");
        c.write_all(msg.as_bytes()).unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut back = String::new();
        c.read_to_string(&mut back).unwrap();
        assert_eq!(back, msg);
    }
    let log = log.lock().unwrap();
    let accepted = log
        .iter()
        .filter(|e| matches!(e, PortEvent::Accepted { .. }))
        .count();
    assert_eq!(accepted, 5);
    assert!(log.iter().any(|e| matches!(e, PortEvent::Readable(_))));
    // Every Accepted comes before any other event of its connection.
    for (i, e) in log.iter().enumerate() {
        if let PortEvent::Readable(c) | PortEvent::Writable(c) | PortEvent::Closed(c) = e {
            assert!(
                log[..i]
                    .iter()
                    .any(|p| matches!(p, PortEvent::Accepted { conn, .. } if conn == c))
            );
        }
    }
}
