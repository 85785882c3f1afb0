//! Differences from `std::net` and `tokio::net`: what a program written
//! against them keeps, what it changes, and what berth does not do (yet).
//!
//! This module holds no items; it is documentation only.
//!
//! # What stays the same
//!
//! - **Names and signatures.** [`net`](crate::net) has `std::net`'s
//!   [`TcpListener`](crate::net::TcpListener),
//!   [`TcpStream`](crate::net::TcpStream) (with `Read` and `Write` for
//!   `TcpStream` and `&TcpStream`), [`UdpSocket`](crate::net::UdpSocket),
//!   [`Incoming`](crate::net::Incoming) and
//!   [`ToSocketAddrs`](crate::net::ToSocketAddrs); `berth::tokio_net`
//!   (feature `tokio`) has `tokio::net`'s `TcpListener`, `TcpStream` (with
//!   `AsyncRead`, `AsyncWrite`, `split`, `into_split` and the halves of
//!   `tokio::net::tcp`), `TcpSocket` and `UdpSocket`. Methods have the
//!   same names, arguments and return types, `async fn`s their `poll_*`
//!   and `try_*` twins, readiness is tokio's own `Interest` and `Ready`,
//!   and `try_read_buf`/`recv_buf` take `bytes::BufMut`.
//! - **Error kinds.** Each failure has the `io::ErrorKind` std gives on
//!   Linux; the [crate documentation](crate#errors-as-std-on-linux) has
//!   the table. A read or write timeout expires with `WouldBlock`, as
//!   std's do on Unix (not `TimedOut`); a zero timeout is `InvalidInput`.
//! - **Behaviour.** Dropping a stream closes it gracefully (a FIN after
//!   the data), or with a reset if received data was left unread, as
//!   `close(2)` does; `shutdown`, `peek`, `take_error` (`SO_ERROR`,
//!   reported once), `set_nodelay`, `set_ttl` (64 unless set),
//!   `set_nonblocking`, `set_broadcast` and `try_clone` behave as on
//!   Linux. A UDP datagram longer than the buffer is truncated and the
//!   rest dropped. `connect` tries each address in turn.
//! - **axum and hyper.** With the `axum` feature, `axum::serve` takes a
//!   `berth::tokio_net::TcpListener` as it takes tokio's; hyper runs over
//!   `hyper_util::rt::TokioIo<berth::tokio_net::TcpStream>`.
//!
//! # What changes
//!
//! - **The stack argument.** Every constructor takes the
//!   [`NetStack`](crate::NetStack) first: `TcpListener::bind(&stack,
//!   addr)`, `TcpStream::connect(&stack, addr)`,
//!   `TcpStream::connect_timeout(&stack, &addr, timeout)`,
//!   `UdpSocket::bind(&stack, addr)` and, in `tokio_net`,
//!   `TcpSocket::new_v4(&stack)` / `new_v6(&stack)`. Nothing else
//!   changes: porting a program is changing its imports and adding that
//!   argument. The stack must outlive its sockets: once it is dropped,
//!   their calls fail with `NotConnected`.
//! - **No name resolution.** berth never asks the host's resolver (it
//!   would ask the host's network, not berth's). `localhost` is
//!   127.0.0.1 then ::1; any other name is `InvalidInput`, with a message
//!   that says to pass an address. Resolve names yourself (a DNS query
//!   over a berth `UdpSocket`, say) and pass addresses.
//! - **A stack is its own host.** Each stack has its own addresses,
//!   routes ([`NetStackBuilder`](crate::NetStackBuilder)) and its own
//!   loopback (127.0.0.0/8 and ::1 reach the stack itself, never the
//!   operating system's sockets). A socket bound to `[::]` takes IPv6
//!   only (Linux's `IPV6_V6ONLY`); bind `0.0.0.0` too for IPv4.
//! - **No file descriptors.** berth's sockets are not the kernel's:
//!   there is no `AsRawFd`/`AsFd`/`FromRawFd`, and `from_std`/`into_std`
//!   convert between berth's blocking and async types, not std's. The
//!   closure given to tokio's `try_io`/`async_io` does its I/O with the
//!   socket's own `try_*` methods.
//! - **No tokio reactor.** `berth::tokio_net` uses tokio's I/O traits
//!   only; the stack thread wakes tasks itself, so the sockets work on any
//!   executor. Timeouts are the runtime's (`tokio::time::timeout`).
//! - **`SO_LINGER`.** `set_linger(Some(d))` with `d` under a second (Linux
//!   keeps whole seconds) makes the close abortive: a reset, and unsent
//!   data dropped. A longer `d` never makes a drop wait: the connection
//!   closes gracefully in the background, as without it. This is why
//!   berth does not deprecate tokio's `set_linger`.
//! - **Buffer sizes.** tokio's `TcpSocket::set_send_buffer_size` and
//!   `set_recv_buffer_size` fix the buffers of the socket's connections
//!   (between 2 KiB and the stack's largest); the getters return the
//!   bytes of data, not twice the size as Linux's do.
//! - **`IP_TOS` and `IPV6_TCLASS`.** `set_tos_v4` on an IPv6 socket, or
//!   `set_tclass_v6` on an IPv4 one, is `InvalidInput` (Linux takes
//!   `IP_TOS` on an IPv6 socket for its IPv4-mapped traffic, which berth's
//!   sockets do not have), and so is a value over 255 (Linux's `IP_TOS`
//!   keeps its low byte). On TCP only the DSCP bits are taken, as on
//!   Linux; a UDP socket sends the byte whole.
//! - **`TCP_MAXSEG` before a connection.** `mss()` on a listener or a
//!   tokio `TcpSocket` without `set_mss` reads the MSS its connections
//!   will announce (the MTU less the headers), where Linux reads 536.
//! - **Listen backlogs.** As in each library: 128 for
//!   `net::TcpListener::bind`, 1024 for `tokio_net::TcpListener::bind`,
//!   what `TcpSocket::listen` is given.
//!
//! # Not supported
//!
//! These fail with `io::ErrorKind::Unsupported`, and why:
//!
//! | call | why |
//! | --- | --- |
//! | tokio's `TcpSocket::set_reuseport(true)` (`SO_REUSEPORT`) | a berth port has one listener; `false` is accepted, and `reuseport()` is `false` |
//! | tokio's `TcpSocket::bind_device(Some(_))` and `UdpSocket::bind_device(Some(_))` (`SO_BINDTODEVICE`) | a stack has one device, which all its sockets use; `None` is accepted, and `device()` is `None` |
//!
//! Multicast is there with std's and tokio's names (`join_multicast_v4`
//! and the rest): IGMPv3 and MLDv2 reports, delivery to every socket on
//! the group's port as Linux's `IP_MULTICAST_ALL`; the interface
//! argument must name the stack's own (an address of it, or index 0).
//!
//! These methods do not exist yet (a program that calls them does not
//! compile):
//!
//! | methods | why |
//! | --- | --- |
//! | tokio's `TcpStream::set_quickack`/`quickack` (`TCP_QUICKACK`) | not implemented yet |
//! | tokio's `TcpSocket::from_std_stream` | there is no std stream to take: berth's sockets have no descriptor |
//! | std's `TcpListener::set_only_v6`/`only_v6` (deprecated in std) | a `[::]` socket is always IPv6-only |
//! | `AsRawFd`, `AsFd`, `FromRawFd`, `IntoRawFd` and tokio's `AsyncFd` use | no kernel descriptor exists |
//!
//! # What berth adds
//!
//! - The options std leaves to socket2 and tokio to its `TcpSocket`, with
//!   socket2's names, on the streams of both facades, on
//!   [`net::TcpListener`](crate::net::TcpListener) (its streams inherit
//!   them, as Linux's accepted sockets do) and on tokio's `TcpSocket`:
//!   `set_mss`/`mss` (`TCP_MAXSEG`; socket2 0.6 calls them
//!   `set_tcp_mss`/`tcp_mss`), `set_cork`/`cork` (`TCP_CORK`; 0.6:
//!   `set_tcp_cork`), `set_tos_v4`/`tos_v4` and `set_tclass_v6`/
//!   `tclass_v6` (also on UDP sockets), `set_keepalive`/`keepalive`, and
//!   `set_tcp_keepalive` with a [`TcpKeepalive`](crate::net::TcpKeepalive)
//!   and `tcp_keepalive_time`/`_interval`/`_retries` (`TCP_KEEPIDLE`,
//!   `TCP_KEEPINTVL`, `TCP_KEEPCNT`). Values Linux refuses with `EINVAL`
//!   are `InvalidInput`.
//! - [`TcpListener::accept_timeout`](crate::net::TcpListener::accept_timeout),
//!   [`TcpStream::abort`](crate::net::TcpStream::abort) (a reset now),
//!   [`TcpStream::info`](crate::net::TcpStream::info) (the connection's
//!   `TCP_INFO`), and `Debug` that shows addresses and state.
//! - Transparent sockets for proxies:
//!   [`TcpListener::bind_transparent`](crate::net::TcpListener::bind_transparent),
//!   [`UdpSocket::bind_transparent`](crate::net::UdpSocket::bind_transparent).
//! - Servers and clients without a thread per connection, run on the
//!   stack thread: [`NetStack::serve`](crate::NetStack::serve),
//!   [`NetStack::listen_with`](crate::NetStack::listen_with),
//!   [`NetStack::connect_session`](crate::NetStack::connect_session),
//!   [`NetStack::connect_with`](crate::NetStack::connect_with) and
//!   [`NetStack::udp_with`](crate::NetStack::udp_with); and
//!   [`server::Server`](crate::server::Server), the acceptor/worker pool
//!   for blocking handlers.
//!
//! # Examples
//!
//! A std program ported: the imports change, and the constructors take the
//! stack.
//!
//! ```
//! # use berth_device::{channel::ChannelDevice, Medium};
//! # let (device, _other_end) = ChannelDevice::pair(1500, Medium::Ip)?;
//! use std::io::{ErrorKind, Write};
//! use berth::{NetStack, net::{TcpListener, TcpStream}};
//!
//! let stack = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(device)?;
//!
//! // std: TcpListener::bind("127.0.0.1:8080")
//! let listener = TcpListener::bind(&stack, "127.0.0.1:8080")?;
//! // std: TcpStream::connect("localhost:8080")
//! let mut stream = TcpStream::connect(&stack, "localhost:8080")?;
//! stream.write_all(b"the rest is unchanged")?;
//!
//! // Names other than localhost are not resolved:
//! let e = TcpStream::connect(&stack, "example.com:80").unwrap_err();
//! assert_eq!(e.kind(), ErrorKind::InvalidInput);
//! # std::io::Result::Ok(())
//! ```
