//! The SOCKS5 client (RFC 1928): method negotiation, RFC 1929 user name and
//! password, CONNECT and UDP ASSOCIATE. The bytes are `wire`'s; this drives
//! them over a tokio `TcpStream`.

mod udp;
mod wire;

use std::net::{Ipv4Addr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, lookup_host};

pub(crate) use udp::UdpAssociation;

use super::{ConnectError, Credentials, Target};

/// Asks the SOCKS5 server at the other end of `stream` to CONNECT to
/// `target`; on success the stream carries the destination's bytes, the
/// first of them unread.
pub(super) async fn connect(
    mut stream: TcpStream,
    auth: Option<&Credentials>,
    target: &Target,
) -> Result<TcpStream, ConnectError> {
    negotiate(&mut stream, auth).await?;
    //= https://www.rfc-editor.org/rfc/rfc1928#section-6
    //# If the reply code (REP value of X'00') indicates a success, and the
    //# request was either a BIND or a CONNECT, the client may now start
    //# passing data.
    request(&mut stream, wire::CMD_CONNECT, target).await?;
    Ok(stream)
}

/// Asks the SOCKS5 server at the other end of `control` for a UDP
/// association, and sets up the local end of it.
pub(super) async fn udp_associate(
    mut control: TcpStream,
    auth: Option<&Credentials>,
) -> Result<UdpAssociation, ConnectError> {
    negotiate(&mut control, auth).await?;
    // Where datagrams will come from is not known here: a NAT on the way
    // changes it, and the server sees that, not this.
    //= https://www.rfc-editor.org/rfc/rfc1928#section-6
    //# If the
    //# client is not in possesion of the information at the time of the UDP
    //# ASSOCIATE, the client MUST use a port number and address of all
    //# zeros.
    let zeros = Target::Addr(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0));
    let bound = request(&mut control, wire::CMD_UDP_ASSOCIATE, &zeros).await?;
    let relay = relay_addr(bound, &control).await?;
    UdpAssociation::open(control, relay).await
}

/// The relay's address from the reply to UDP ASSOCIATE.
async fn relay_addr(bound: Target, control: &TcpStream) -> Result<SocketAddr, ConnectError> {
    //= https://www.rfc-editor.org/rfc/rfc1928#section-6
    //# In the reply to a UDP ASSOCIATE request, the BND.PORT and BND.ADDR
    //# fields indicate the port number/address where the client MUST send
    //# UDP request messages to be relayed.
    let relay = match bound {
        // A server whose relay listens on its wildcard address says so:
        // the relay is at the address the server was reached on.
        Target::Addr(a) if a.ip().is_unspecified() => {
            let server = control.peer_addr().map_err(ConnectError::Exchange)?;
            SocketAddr::new(server.ip(), a.port())
        }
        Target::Addr(a) => a,
        Target::Name(name, port) => lookup_host((name.as_str(), port))
            .await
            .ok()
            .and_then(|mut addrs| addrs.next())
            .ok_or_else(|| {
                ConnectError::Protocol(format!("the relay's name `{name}` does not resolve"))
            })?,
    };
    if relay.port() == 0 {
        return Err(ConnectError::Protocol("the relay's port is 0".into()));
    }
    Ok(relay)
}

/// The method negotiation, and the user name and password if the server
/// chooses them.
async fn negotiate(stream: &mut TcpStream, auth: Option<&Credentials>) -> Result<(), ConnectError> {
    send(stream, &wire::greeting(auth.is_some())).await?;
    let mut selection = [0; 2];
    receive(stream, &mut selection).await?;
    match (wire::method(selection, auth.is_some())?, auth) {
        (wire::Method::None, _) => Ok(()),
        //= https://www.rfc-editor.org/rfc/rfc1929#section-2
        //# Once the SOCKS V5 server has started, and the client has selected the
        //# Username/Password Authentication protocol, the Username/Password
        //# subnegotiation begins.
        (wire::Method::Password, Some(auth)) => {
            send(stream, &wire::password_request(auth)?).await?;
            let mut status = [0; 2];
            receive(stream, &mut status).await?;
            wire::password_status(status)
        }
        // `wire::method` accepts the password method only when offered.
        (wire::Method::Password, None) => Err(ConnectError::Protocol(
            "the server chose a method that was not offered".into(),
        )),
    }
}

/// Sends a request and reads its reply, exactly: BND.ADDR/BND.PORT, which
/// this returns, is the last byte taken from the stream.
async fn request(stream: &mut TcpStream, cmd: u8, dst: &Target) -> Result<Target, ConnectError> {
    send(stream, &wire::request(cmd, dst)?).await?;
    let mut reply = Vec::with_capacity(22);
    loop {
        match wire::reply(&reply)? {
            wire::Reply::Need(n) => {
                let have = reply.len();
                reply.resize(n, 0);
                receive(stream, &mut reply[have..]).await?;
            }
            wire::Reply::Done(bound) => return Ok(bound),
        }
    }
}

async fn send(stream: &mut TcpStream, msg: &[u8]) -> Result<(), ConnectError> {
    stream.write_all(msg).await.map_err(ConnectError::Exchange)
}

async fn receive(stream: &mut TcpStream, buf: &mut [u8]) -> Result<(), ConnectError> {
    stream
        .read_exact(buf)
        .await
        .map(drop)
        .map_err(ConnectError::Exchange)
}
