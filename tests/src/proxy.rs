//! A fault-injecting TCP proxy: gates connect to it instead of the relay, and a test cuts the
//! link, black-holes it, delays it, or drops a connection in the middle of a frame.
//!
//! Every accepted connection is pumped in both directions by two tasks that check the proxy's
//! [`Mode`] for every chunk. Modes apply to open connections at once and to new ones.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward everything, each chunk after `delay`.
    Pass { delay: Duration },
    /// Close every connection and refuse new ones (accept, then close at once): a cable
    /// pulled, as the gate sees it.
    Cut,
    /// Keep connections open but forward nothing, in either direction: a dead Wi-Fi
    /// access point. Only heartbeats can tell. What was sent is held, not lost (TCP never
    /// delivers a stream with a hole): if the connection is still open when the link heals,
    /// it arrives then, late.
    Blackhole,
}

/// A proxy in front of `target`, on 127.0.0.1 with a port from the OS.
#[derive(Debug)]
pub struct FaultProxy {
    pub addr: SocketAddr,
    mode: watch::Sender<Mode>,
    target: Arc<Mutex<SocketAddr>>,
    /// Set: the next chunk from the client is forwarded only in half, then both sides close.
    tear_next_upload: Arc<std::sync::atomic::AtomicBool>,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(target: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (mode, _) = watch::channel(Mode::Pass {
            delay: Duration::ZERO,
        });
        let target = Arc::new(Mutex::new(target));
        let tear = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(accept_loop(
            listener,
            mode.clone(),
            Arc::clone(&target),
            Arc::clone(&tear),
            Arc::clone(&accepted),
        ));
        FaultProxy {
            addr,
            mode,
            target,
            tear_next_upload: tear,
            accepted,
            task,
        }
    }

    /// The relay address a gate behind this proxy pairs with.
    pub fn relay_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// The same through TLS: the proxy forwards bytes, so the gate's TLS session is with the
    /// relay itself.
    pub fn relay_url_tls(&self) -> String {
        format!("wss://{}", self.addr)
    }

    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    pub fn heal(&self) {
        self.set(Mode::Pass {
            delay: Duration::ZERO,
        });
    }

    /// Points new connections at another address (a relay restarted on a new port).
    pub fn retarget(&self, target: SocketAddr) {
        *self.target.lock().unwrap() = target;
    }

    /// Forwards only the first half of the next chunk the client sends, then closes the
    /// connection: the relay sees a frame cut off in the middle.
    pub fn tear_next_upload(&self) {
        self.tear_next_upload.store(true, Ordering::SeqCst);
    }

    /// Connections accepted so far (reconnects show up here).
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.set(Mode::Cut);
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    mode: watch::Sender<Mode>,
    target: Arc<Mutex<SocketAddr>>,
    tear: Arc<std::sync::atomic::AtomicBool>,
    accepted: Arc<AtomicUsize>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            return;
        };
        accepted.fetch_add(1, Ordering::SeqCst);
        if *mode.borrow() == Mode::Cut {
            drop(client);
            continue;
        }
        let target = *target.lock().unwrap();
        let mode = mode.subscribe();
        let tear = Arc::clone(&tear);
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(target).await else {
                return;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            let up = pump(client_read, server_write, mode.clone(), Some(tear));
            let down = pump(server_read, client_write, mode, None);
            // When either direction ends, the connection is over: dropping both halves
            // closes both sockets.
            tokio::select! {
                () = up => {}
                () = down => {}
            }
        });
    }
}

/// Copies `from` to `to` chunk by chunk, obeying the mode.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    mut mode: watch::Receiver<Mode>,
    tear: Option<Arc<std::sync::atomic::AtomicBool>>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = tokio::select! {
            read = from.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
            changed = mode.changed() => {
                if changed.is_err() || *mode.borrow() == Mode::Cut {
                    return;
                }
                continue;
            }
        };
        // Hold the chunk through a black hole; give up on a cut.
        let current = match mode.wait_for(|m| *m != Mode::Blackhole).await {
            Ok(current) => *current,
            Err(_) => return,
        };
        match current {
            Mode::Cut | Mode::Blackhole => return,
            Mode::Pass { delay } => {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
            }
        }
        if let Some(tear) = &tear {
            if tear.swap(false, Ordering::SeqCst) {
                let half = (n / 2).max(1);
                let _ = to.write_all(&buf[..half]).await;
                let _ = to.flush().await;
                return;
            }
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
