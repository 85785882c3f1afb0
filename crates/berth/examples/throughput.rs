//! Bulk throughput between two stacks joined in memory, through the
//! blocking API (no root needed): one connection, client to server.
//!
//! ```text
//! cargo run --release -p berth --example throughput -- [MiB]
//! ```

use std::io::{Read, Write};
use std::thread;
use std::time::Instant;

use berth::NetStack;
use berth::net::{TcpListener, TcpStream};
use berth_device::Medium;
use berth_device::channel::ChannelDevice;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mib: usize = std::env::args().nth(1).map_or(Ok(100), |a| a.parse())?;
    let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    let server = NetStack::builder()
        .addr("198.18.0.2".parse()?)
        .build(left)?;
    let client = NetStack::builder()
        .addr("198.18.0.1".parse()?)
        .build(right)?;
    let listener = TcpListener::bind(&server, "198.18.0.2:9")?;
    let sink = thread::spawn(move || -> std::io::Result<usize> {
        let (mut stream, _) = listener.accept()?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0;
        loop {
            match stream.read(&mut buf)? {
                0 => return Ok(total),
                n => total += n,
            }
        }
    });
    let mut stream = TcpStream::connect(&client, "198.18.0.2:9")?;
    let chunk = vec![0x5au8; 64 * 1024];
    let start = Instant::now();
    for _ in 0..mib * 16 {
        stream.write_all(&chunk)?;
    }
    stream.shutdown(std::net::Shutdown::Write)?;
    let got = sink.join().map_err(|_| "sink panicked")??;
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(got, mib * 1024 * 1024);
    let c = client.stats();
    println!(
        "{mib} MiB in {secs:.3} s: {:.2} Gbit/s; client stats {c:?}",
        got as f64 * 8.0 / secs / 1e9
    );
    Ok(())
}
