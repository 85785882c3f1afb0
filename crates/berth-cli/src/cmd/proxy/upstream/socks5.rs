//! The SOCKS5 client (RFC 1928): method negotiation, RFC 1929 user name and
//! password, requests. The bytes are `wire`'s; this drives them over a
//! tokio `TcpStream`.

mod wire;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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
