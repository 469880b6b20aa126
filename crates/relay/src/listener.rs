//! Accepting connections on the relay's one port with TLS: the handshakes run in their own
//! tasks, beside the accept loop, so a slow, broken or plain-HTTP client never holds up the
//! others; finished handshakes are handed to axum like plain sockets.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::timeout;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::task::AbortOnDropHandle;

/// Handshakes in progress at most; more connections wait in the kernel's accept queue.
const MAX_HANDSHAKES: usize = 256;
/// Time a new connection has to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The first byte of every TLS connection: a handshake record.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// A TCP listener that hands out TLS streams whose handshake is done.
pub(crate) struct TlsListener {
    local: SocketAddr,
    accepted: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    /// The accept loop; it ends when the listener is dropped (the relay stops serving).
    _task: AbortOnDropHandle<()>,
}

impl TlsListener {
    pub(crate) fn new(
        listener: TcpListener,
        config: Arc<rustls::ServerConfig>,
    ) -> io::Result<TlsListener> {
        let local = listener.local_addr()?;
        let (tx, accepted) = mpsc::channel(16);
        let task = tokio::spawn(accept_loop(listener, TlsAcceptor::from(config), tx));
        Ok(TlsListener {
            local,
            accepted,
            _task: AbortOnDropHandle::new(task),
        })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(accepted) => accepted,
            // The accept loop only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    // Owned here: dropping the loop (the relay stops) aborts handshakes in progress.
    let mut handshakes = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept(), if handshakes.len() < MAX_HANDSHAKES => match accepted {
                Ok((stream, peer)) => {
                    // Small messages (acks, live entries) go out at once; see `Relay::serve`.
                    if let Err(e) = stream.set_nodelay(true) {
                        tracing::debug!("could not set TCP_NODELAY on a connection: {e}");
                    }
                    handshakes.spawn(handshake(acceptor.clone(), stream, peer));
                }
                Err(e) => accept_failed(e).await,
            },
            Some(done) = handshakes.join_next() => {
                if let Ok(Some(connection)) = done {
                    if ready.send(connection).await.is_err() {
                        return;
                    }
                }
            }
            () = ready.closed() => return,
        }
    }
}

/// The TLS handshake of one connection; `None` when it failed, which concerns nobody else.
async fn handshake(
    acceptor: TlsAcceptor,
    mut stream: TcpStream,
    peer: SocketAddr,
) -> Option<(TlsStream<TcpStream>, SocketAddr)> {
    let mut first = [0u8; 1];
    match timeout(HANDSHAKE_TIMEOUT, stream.peek(&mut first)).await {
        Ok(Ok(1)) if first[0] != TLS_HANDSHAKE_RECORD => {
            // Someone typed http:// or ws://: say what this port speaks instead of dropping
            // the connection without a word.
            answer_plain(&mut stream).await;
            return None;
        }
        Ok(Ok(1)) => {}
        _ => return None,
    }
    match timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some((tls, peer)),
        Ok(Err(e)) => {
            tracing::debug!("TLS handshake with {peer} failed: {e}");
            None
        }
        Err(_) => {
            tracing::debug!("TLS handshake with {peer} took too long");
            None
        }
    }
}

/// A plain-HTTP answer for a client that did not start TLS.
async fn answer_plain(stream: &mut TcpStream) {
    const TEXT: &str = "This Gerbang relay speaks TLS: use https:// or wss://, and pair gates \
                        with the pairing text the relay shows (it carries the certificate's \
                        fingerprint).\n";
    // Read what the client sent (its request head, usually), so that closing does not reset
    // the connection before the client reads the answer.
    let mut request = [0u8; 4096];
    let _ = timeout(Duration::from_millis(200), stream.read(&mut request)).await;
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{TEXT}",
        TEXT.len()
    );
    let _ = timeout(HANDSHAKE_TIMEOUT, async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}

/// What to do when accepting fails: a connection that went away before it was accepted is
/// nobody's problem; anything else (out of file descriptors) is logged and retried after a
/// pause, as hyper and axum do.
async fn accept_failed(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!("accepting a connection failed: {e}");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
