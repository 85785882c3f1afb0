//! The acceptor/worker server (`berth::server::Server`): one acceptor
//! thread hands connections to a pool of workers; a few clients each send a
//! line and read the answer. Two stacks joined in memory, no root needed.
//!
//! ```text
//! cargo run -p berth --example worker_pool
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;
use std::thread;

use berth::NetStack;
use berth::net::{TcpListener, TcpStream};
use berth::server::Server;
use berth_device::Medium;
use berth_device::channel::ChannelDevice;

const CLIENTS: usize = 8;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    let host = NetStack::builder()
        .addr("198.18.0.2".parse()?)
        .build(left)?;
    let peer = Arc::new(
        NetStack::builder()
            .addr("198.18.0.1".parse()?)
            .build(right)?,
    );

    let listener = TcpListener::bind(&host, "198.18.0.2:7")?;
    // 3 workers, at most 4 accepted connections waiting for one.
    let server = Server::start(listener, 3, 4, |stream, peer| {
        let worker = thread::current().name().unwrap_or("?").to_owned();
        let mut line = String::new();
        BufReader::new(&stream).read_line(&mut line)?;
        let mut stream = stream;
        write!(stream, "{worker} served {peer}: {}", line.to_uppercase())
    })?;

    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let peer = peer.clone();
            thread::spawn(move || -> std::io::Result<String> {
                let mut s = TcpStream::connect(&peer, "198.18.0.2:7")?;
                writeln!(s, "hello from client {i}")?;
                s.shutdown(Shutdown::Write)?;
                let mut answer = String::new();
                s.read_to_string(&mut answer)?;
                Ok(answer)
            })
        })
        .collect();
    for c in clients {
        let answer = c.join().map_err(|_| "client thread panicked")??;
        print!("{answer}");
    }
    // Each client read to the end of its stream, and a connection is
    // counted before it closes: the stats have every client.
    let stats = server.stats();
    println!("all {CLIENTS} clients answered: {stats:?}");
    server.shutdown_timeout(std::time::Duration::from_secs(5));
    Ok(())
}
