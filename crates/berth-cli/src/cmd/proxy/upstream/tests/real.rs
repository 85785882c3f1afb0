//! The clients against real servers, started here on 127.0.0.1: microsocks
//! (CONNECT, user name and password) and Dante's danted (CONNECT, UDP
//! ASSOCIATE). A test whose server is not installed says so and passes;
//! `.ci/run` installs both (Debian `microsocks`, `dante-server`).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

use super::*;
use crate::cmd::proxy::upstream::{ConnectError, FailureKind, Target, Upstream};
use crate::cmd::up::is_root;

const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a server may take to start accepting connections.
const STARTUP: Duration = Duration::from_secs(10);

/// The first of `names` that is an executable file: a path as given, a
/// bare name in `PATH` or the sbin directories (not always in a user's
/// `PATH`).
fn find(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    dirs.extend(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from));
    names.iter().find_map(|name| {
        let candidates: Vec<PathBuf> = if name.contains('/') {
            vec![PathBuf::from(name)]
        } else {
            dirs.iter().map(|d| d.join(name)).collect()
        };
        candidates.into_iter().find(|p| p.is_file())
    })
}

/// A scratch directory of its own for each server.
fn scratch_dir(what: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir =
        std::env::temp_dir().join(format!("berth-upstream-{what}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A server process listening on `addr`; killed, reaped and its scratch
/// directory removed when dropped, a failed test's unwinding included.
struct Server {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Server {
    /// Starts `cmd` (its output to `output.log` in `dir`) and waits until
    /// it accepts connections on `addr`.
    async fn start(mut cmd: Command, addr: SocketAddr, dir: PathBuf) -> Self {
        let log = std::fs::File::create(dir.join("output.log")).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
        let mut server = Self { child, addr, dir };
        server.wait_until_accepting().await;
        server
    }

    /// Retries connecting until one succeeds; fails when the process exits
    /// or the deadline passes.
    async fn wait_until_accepting(&mut self) {
        let deadline = Instant::now() + STARTUP;
        loop {
            if TcpStream::connect(self.addr).await.is_ok() {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("the server exited ({status}):\n{}", self.output());
            }
            assert!(
                Instant::now() < deadline,
                "no connection to {} within {STARTUP:?}:\n{}",
                self.addr,
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// What the server printed, for failure messages.
    fn output(&self) -> String {
        std::fs::read_to_string(self.dir.join("output.log")).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A UDP echo socket on 127.0.0.1 for as long as the test runs.
async fn udp_echo() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0; 2048];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            let _ = socket.send_to(&buf[..n], from).await;
        }
    });
    addr
}

/// microsocks on 127.0.0.1, with `-u USER -P PASSWORD` if given; `None`
/// (the reason printed) if it is not installed.
async fn microsocks(auth: Option<(&str, &str)>) -> Option<Server> {
    let Some(bin) = find(&["microsocks"]) else {
        eprintln!("skipping: microsocks is not installed (Debian package microsocks)");
        return None;
    };
    let addr = closed_port();
    let mut cmd = Command::new(bin);
    cmd.args(["-i", "127.0.0.1", "-p", &addr.port().to_string()]);
    if let Some((user, password)) = auth {
        cmd.args(["-u", user, "-P", password]);
    }
    Some(Server::start(cmd, addr, scratch_dir("microsocks")).await)
}

/// Dante's configuration: clients and destinations on 127.0.0.0/8 only,
/// no authentication, CONNECT and UDP ASSOCIATE allowed. As root, the
/// server needs users to switch to; it runs as `nobody` when it can.
fn dante_config(port: u16) -> String {
    let users = if is_root() {
        "user.privileged: root\nuser.unprivileged: nobody\n"
    } else {
        ""
    };
    format!(
        "logoutput: stderr
internal: 127.0.0.1 port = {port}
external: 127.0.0.1
clientmethod: none
socksmethod: none
{users}client pass {{
    from: 127.0.0.0/8 to: 127.0.0.0/8
}}
socks pass {{
    from: 127.0.0.0/8 to: 127.0.0.0/8
    command: connect udpassociate
    log: connect disconnect error
}}
socks pass {{
    from: 127.0.0.0/8 to: 127.0.0.0/8
    command: udpreply
    log: connect disconnect error
}}
"
    )
}

/// danted on 127.0.0.1; `None` (the reason printed) if it is not installed.
async fn dante() -> Option<Server> {
    let Some(bin) = find(&["/usr/sbin/danted", "danted", "sockd"]) else {
        eprintln!("skipping: Dante's server is not installed (Debian package dante-server)");
        return None;
    };
    let addr = closed_port();
    let dir = scratch_dir("dante");
    let config = dir.join("danted.conf");
    std::fs::write(&config, dante_config(addr.port())).unwrap();
    let mut cmd = Command::new(bin);
    cmd.arg("-f")
        .arg(&config)
        .arg("-p")
        .arg(dir.join("danted.pid"));
    Some(Server::start(cmd, addr, dir).await)
}

fn socks5(server: &Server) -> Upstream {
    format!("socks5://{}", server.addr).parse().unwrap()
}

fn socks5_as(server: &Server, user: &str, password: &str) -> Upstream {
    format!("socks5://{user}:{password}@{}", server.addr)
        .parse()
        .unwrap()
}

#[tokio::test]
async fn microsocks_connect() {
    let Some(server) = microsocks(None).await else {
        return;
    };
    let upstream = socks5(&server);
    let echo = echo_server().await;
    for target in [
        Target::Addr(echo),
        // Resolved by microsocks.
        Target::Name("localhost".into(), echo.port()),
    ] {
        let mut s = upstream.connect(&target, TIMEOUT).await.unwrap();
        assert_echoes(&mut s, target.to_string().as_bytes()).await;
    }
    let e = upstream
        .connect(&Target::Addr(closed_port()), TIMEOUT)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), FailureKind::Refused, "{e}");
    // No UDP in microsocks: "command not supported".
    let e = upstream.udp_associate(TIMEOUT).await.unwrap_err();
    assert!(matches!(e, ConnectError::Socks5Reply(7)), "{e}");
}

#[tokio::test]
async fn microsocks_user_name_and_password() {
    let Some(server) = microsocks(Some(("alice", "s3cret"))).await else {
        return;
    };
    let echo = Target::Addr(echo_server().await);
    let mut s = socks5_as(&server, "alice", "s3cret")
        .connect(&echo, TIMEOUT)
        .await
        .unwrap();
    assert_echoes(&mut s, b"authenticated").await;
    let e = socks5_as(&server, "alice", "guess")
        .connect(&echo, TIMEOUT)
        .await
        .unwrap_err();
    assert!(matches!(e, ConnectError::AuthRejected), "{e}");
    let e = socks5(&server).connect(&echo, TIMEOUT).await.unwrap_err();
    assert!(matches!(e, ConnectError::NoAcceptableMethod), "{e}");
}

#[tokio::test]
async fn dante_connect() {
    let Some(server) = dante().await else {
        return;
    };
    let upstream = socks5(&server);
    let echo = echo_server().await;
    for target in [
        Target::Addr(echo),
        Target::Name("localhost".into(), echo.port()),
    ] {
        let mut s = upstream
            .connect(&target, TIMEOUT)
            .await
            .unwrap_or_else(|e| panic!("{target}: {e}\n{}", server.output()));
        assert_echoes(&mut s, target.to_string().as_bytes()).await;
    }
    let e = upstream
        .connect(&Target::Addr(closed_port()), TIMEOUT)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), FailureKind::Refused, "{e}");
}

#[tokio::test]
async fn dante_udp_associate() {
    let Some(server) = dante().await else {
        return;
    };
    let echo = udp_echo().await;
    let assoc = socks5(&server)
        .udp_associate(TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", server.output()));
    let mut buf = vec![0; 65_535];
    let by_name = Target::Name("localhost".into(), echo.port());
    let sends = [
        (&b"first"[..], Target::Addr(echo)),
        (b"second", Target::Addr(echo)),
        (b"", Target::Addr(echo)),
        // Resolved by Dante; the answer names the address.
        (b"by name", by_name),
    ];
    for (i, (msg, target)) in sends.into_iter().enumerate() {
        assoc.send_to(msg, &target).await.unwrap();
        let (n, from) = tokio::time::timeout(TIMEOUT, assoc.recv_from(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("datagram {i}: no answer\n{}", server.output()))
            .unwrap();
        assert_eq!(&buf[..n], msg);
        assert_eq!(from, Target::Addr(echo));
    }
}

#[test]
fn find_takes_paths_and_bare_names() {
    assert_eq!(find(&["/nonexistent/danted"]), None);
    assert_eq!(find(&["no-such-program-berth"]), None);
    let sh = find(&["/nonexistent/danted", "sh"]).unwrap();
    assert!(sh.is_file() && sh.ends_with("sh"), "{}", sh.display());
}
