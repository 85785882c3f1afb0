//! A blocking echo server and client on two stacks joined in memory, with
//! `std::net`'s names (no root needed).
//!
//! ```text
//! cargo run -p berth --example blocking_echo
//! ```

use std::io::{Read, Write};
use std::net::Shutdown;
use std::thread;

use berth::NetStack;
use berth::net::{TcpListener, TcpStream};
use berth_device::Medium;
use berth_device::channel::ChannelDevice;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    let server = NetStack::builder()
        .addr("198.18.0.2".parse()?)
        .build(left)?;
    let client = NetStack::builder()
        .addr("198.18.0.1".parse()?)
        .build(right)?;

    let listener = TcpListener::bind(&server, "198.18.0.2:7")?;
    println!("echo server on {}", listener.local_addr()?);
    let echo = thread::spawn(move || -> std::io::Result<()> {
        let (mut stream, peer) = listener.accept()?;
        println!("server: connection from {peer}");
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf)? {
                0 => return Ok(()), // the client shut down writing
                n => stream.write_all(&buf[..n])?,
            }
        }
    });

    let mut stream = TcpStream::connect(&client, "198.18.0.2:7")?;
    for line in ["hello", "from", "berth"] {
        stream.write_all(line.as_bytes())?;
        let mut back = vec![0u8; line.len()];
        stream.read_exact(&mut back)?;
        println!(
            "client: sent {line:?}, got {:?}",
            String::from_utf8_lossy(&back)
        );
    }
    stream.shutdown(Shutdown::Write)?;
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest)?;
    echo.join().map_err(|_| "echo thread panicked")??;
    println!("client: end of stream, {} bytes after shutdown", rest.len());
    Ok(())
}
