//! The stack's device led from a tokio runtime ([`lead_device`]): the
//! async twin of a blocked thread leading it (`lead.rs`).

use std::future::Future;
use std::io;
use std::os::fd::OwnedFd;
use std::task::Poll;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use crate::NetStack;
use crate::shared::LedTurn;

/// Registers a descriptor of its own for `fd`'s file with the runtime's
/// reactor: it stays open for as long as tokio holds it, whatever becomes
/// of the stack's.
fn register(fd: std::os::fd::RawFd) -> io::Result<AsyncFd<OwnedFd>> {
    // The deprecation is about a `T` whose descriptor could close or
    // change under tokio; an `OwnedFd` the `AsyncFd` owns cannot.
    #[allow(deprecated)]
    AsyncFd::with_interest(berth_device::duplicate(fd)?, Interest::READABLE)
}

/// Reads the stack's device on the tokio runtime that runs this future,
/// whenever no thread leads it: a segment for a task of this runtime then
/// wakes the runtime's thread directly, which runs the stack's turn and
/// then the task, instead of the stack thread reading it and waking the
/// runtime (one context switch per exchange instead of two, as the kernel
/// has). Spawn it once on a runtime that serves berth sockets; the runtime
/// needs its I/O driver (`enable_io`, or `enable_all`). It returns when
/// the stack stops or its device fails.
///
/// While the runtime is busy elsewhere for longer than a millisecond, the
/// stack thread reads the device again, as it does without this future.
/// A stack that serves callback ports (`listen_with`, `serve`) keeps its
/// device on the stack thread: there this future only adds a wake-up of
/// the runtime per frame, so do not spawn it beside them. A stack without
/// a device descriptor returns at once.
///
/// # Examples
///
/// ```
/// use berth::{NetStack, tokio_net::{TcpListener, lead_device}};
/// use berth_device::{channel::ChannelDevice, Medium};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (left, _right) = ChannelDevice::pair(1500, Medium::Ip)?;
/// let stack = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
/// tokio::spawn(lead_device(&stack));
/// let listener = TcpListener::bind(&stack, "198.18.0.2:7").await?;
/// # drop(listener);
/// # Ok(())
/// # }
/// ```
pub fn lead_device(stack: &NetStack) -> impl Future<Output = io::Result<()>> + Send + 'static {
    let shared = stack.shared.clone();
    async move {
        // Declared first, dropped last: the descriptors below stay open
        // until tokio has let go of them.
        let shared = shared;
        let Some(lead) = shared.lead.as_ref() else {
            return Ok(());
        };
        let device = register(lead.device_fd)?;
        // Rung when the stack takes its device back (it stops, say).
        let bell = register(lead.bell.raw_fd())?;
        loop {
            let woken = std::future::poll_fn(|cx| {
                if let Poll::Ready(guard) = device.poll_read_ready(cx) {
                    return Poll::Ready(guard.map(|g| (Some(g), false)));
                }
                match bell.poll_read_ready(cx) {
                    Poll::Ready(guard) => Poll::Ready(guard.map(|mut g| {
                        // A blocking leader clears the bell; this only looks.
                        g.clear_ready();
                        (None, true)
                    })),
                    Poll::Pending => Poll::Pending,
                }
            })
            .await?;
            match woken {
                (Some(mut guard), _) => match shared.lead_once() {
                    None | Some(LedTurn::Failed) => return Ok(()),
                    // Edge-triggered: ready again only once a read found
                    // the device empty.
                    Some(LedTurn::Drained) => guard.clear_ready(),
                    // More waits: read it after the runtime's other tasks.
                    Some(LedTurn::Full) => {
                        drop(guard);
                        let mut yielded = false;
                        std::future::poll_fn(|cx| {
                            if yielded {
                                return Poll::Ready(());
                            }
                            yielded = true;
                            cx.waker().wake_by_ref();
                            Poll::Pending
                        })
                        .await;
                    }
                },
                (None, _) => {
                    if shared.lock().shutdown {
                        return Ok(());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::lead_device;
    use crate::lead::tests::{pair, turns};
    use crate::tokio_net::{TcpListener, TcpStream};

    #[tokio::test(flavor = "current_thread")]
    async fn a_runtime_leads_the_device_for_its_tasks_and_lets_go_when_the_stack_stops() {
        let (server, client) = pair();
        let led = tokio::spawn(lead_device(&server));
        let listener = TcpListener::bind(&server, "198.18.0.2:7").await.unwrap();
        let echo = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 64];
            loop {
                match s.read(&mut buf).await.unwrap() {
                    0 => return,
                    n => s.write_all(&buf[..n]).await.unwrap(),
                }
            }
        });
        let mut c = TcpStream::connect(&client, "198.18.0.2:7").await.unwrap();
        for i in 0..100u8 {
            c.write_all(&[i; 16]).await.unwrap();
            let mut back = [0u8; 16];
            c.read_exact(&mut back).await.unwrap();
            assert_eq!(back, [i; 16]);
        }
        drop(c);
        echo.await.unwrap();
        assert!(turns(&server) > 0, "the runtime never led the device");
        // Its task ends once the stack stops (a bound on a hang).
        drop(server);
        tokio::time::timeout(Duration::from_secs(30), led)
            .await
            .expect("lead_device outlived its stack")
            .unwrap()
            .unwrap();
    }
}
