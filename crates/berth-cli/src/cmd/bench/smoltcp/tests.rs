use std::io::{Read, Write};
use std::net::Shutdown;

use berth::NetStack;
use berth::net::TcpStream;
use berth_device::channel::ChannelDevice;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use super::clients::Crr;
use super::mem_net::MemNet;
use super::*;

#[test]
fn mem_bulk_moves_every_byte() {
    mem_bulk(4 << 20, 1500).unwrap();
}

#[test]
fn mem_download_moves_every_byte() {
    mem_download(4 << 20, 1500).unwrap();
}

#[test]
fn mem_runs_at_other_mtus() {
    mem_bulk(1 << 20, 576).unwrap();
    mem_download(1 << 20, 9000).unwrap();
    mem_rr(10, 5000, 65535).unwrap();
    assert!(mem_bulk(1, 40).is_err());
}

#[test]
fn mem_rr_echoes_every_round() {
    mem_rr(1000, 64, 1500).unwrap();
}

#[test]
fn mem_rr_echoes_messages_larger_than_a_segment() {
    mem_rr(20, 200_000, 1500).unwrap();
}

#[test]
fn mem_crr_reuses_sockets() {
    mem_crr(50, 1500).unwrap();
}

#[test]
fn client_sockets_are_reused_across_connections() {
    let mut net = MemNet::new(1500).unwrap();
    let mut client = Crr {
        conns: 200,
        done: 0,
        current: None,
    };
    net.run(&mut client).unwrap();
    assert!(
        net.clients.len() <= 4,
        "{} client sockets",
        net.clients.len()
    );
    let server_sockets =
        net.server.listening.len() + net.server.active.len() + net.server.free.len();
    // A pool of listeners per service, and room for one pool more.
    assert!(
        server_sockets <= (SERVICES.len() + 1) * LISTEN_POOL,
        "{server_sockets} server sockets"
    );
}

/// `serve` at 198.18.0.2 on one end of an in-memory link, and a berth
/// stack at 198.18.0.1 on the other.
fn serve_on_a_link() -> (NetStack, Arc<AtomicBool>, thread::JoinHandle<Result<()>>) {
    let (left, right) = ChannelDevice::pair(1500, berth_device::Medium::Ip).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let server = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || serve(Box::new(left), Ipv4Addr::new(198, 18, 0, 2), 24, stop))
    };
    let stack = NetStack::builder()
        .addr("198.18.0.1".parse().unwrap())
        .build(right)
        .unwrap();
    (stack, stop, server)
}

/// A berth client drives `serve` over an in-memory link.
#[test]
fn serve_answers_a_berth_client() {
    let (stack, stop, server) = serve_on_a_link();
    let timeout = Some(Duration::from_secs(10));

    // Bulk: 2 MiB to discard; end of stream means every byte arrived.
    let mut bulk = TcpStream::connect(&stack, "198.18.0.2:9").unwrap();
    bulk.set_read_timeout(timeout).unwrap();
    bulk.set_write_timeout(timeout).unwrap();
    let chunk = vec![0xa5; CHUNK];
    for _ in 0..(2 << 20) / CHUNK {
        bulk.write_all(&chunk).unwrap();
    }
    bulk.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    bulk.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());

    // Echo: one exchange larger than a segment, then end of stream.
    let mut echo = TcpStream::connect(&stack, "198.18.0.2:7").unwrap();
    echo.set_read_timeout(timeout).unwrap();
    let msg: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
    echo.write_all(&msg).unwrap();
    let mut back = vec![0; msg.len()];
    echo.read_exact(&mut back).unwrap();
    assert_eq!(back, msg);
    echo.shutdown(Shutdown::Write).unwrap();
    echo.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());

    // Connections one after another, more than the listener pool.
    for i in 0..3 * LISTEN_POOL as u8 {
        let mut conn = TcpStream::connect(&stack, "198.18.0.2:7").unwrap();
        conn.set_read_timeout(timeout).unwrap();
        conn.write_all(&[i]).unwrap();
        let mut one = [0u8; 1];
        conn.read_exact(&mut one).unwrap();
        assert_eq!(one[0], i);
        conn.shutdown(Shutdown::Write).unwrap();
        conn.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
    }

    // Dropped while the server still answers, so closes complete.
    drop(stack);
    stop.store(true, Ordering::Relaxed);
    server.join().unwrap().unwrap();
}
/// A berth client downloads from `serve`'s source port.
#[test]
fn serve_sources_to_a_berth_client() {
    let (stack, stop, server) = serve_on_a_link();
    let timeout = Some(Duration::from_secs(10));

    // Sizes around the segment size and the socket buffer, the count
    // written in two pieces once, and a client that ends its stream
    // right after the count.
    for (i, want) in [0u64, 1, 1460, 3 << 20].into_iter().enumerate() {
        let mut conn = TcpStream::connect(&stack, "198.18.0.2:19").unwrap();
        conn.set_read_timeout(timeout).unwrap();
        let count = want.to_be_bytes();
        if i == 1 {
            conn.write_all(&count[..3]).unwrap();
            thread::sleep(Duration::from_millis(20));
            conn.write_all(&count[3..]).unwrap();
        } else {
            conn.write_all(&count).unwrap();
        }
        if i == 2 {
            conn.shutdown(Shutdown::Write).unwrap();
        }
        let mut got = Vec::new();
        conn.read_to_end(&mut got).unwrap();
        assert_eq!(got.len() as u64, want);
        assert!(got.iter().all(|&b| b == SOURCE_BYTE));
    }

    // A client that ends its stream before the whole count gets nothing.
    let mut short = TcpStream::connect(&stack, "198.18.0.2:19").unwrap();
    short.set_read_timeout(timeout).unwrap();
    short.write_all(&[0, 0, 0]).unwrap();
    short.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    short.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());

    drop(stack);
    stop.store(true, Ordering::Relaxed);
    server.join().unwrap().unwrap();
}
