//! gerbang-relay: the small server every gate and supervisor screen talks to.
//!
//! # Layout
//! * [`writer`]: the single writer thread. Group commit of the append-only event log, and the
//!   official verdict of every scan (`gerbang_core::decide` in arrival order, conflicts flagged).
//! * [`store`]: opening the SQLite database (WAL, `synchronous=FULL`) and the reads that serve
//!   catch-up and queries.
//! * [`ws`]: one WebSocket connection: hello, catch-up from a cursor, live entries, pipelined
//!   scan uploads and acks, heartbeats, limits.
//! * [`hub`]: what connections share: database handles, the broadcast of committed entries,
//!   limits, connection counts.
//! * [`auth`]: devices, tokens (stored as hashes), roles, one-time pairing codes.
//! * [`http`]: the routes on the same port, one file per area (events and gates, tickets,
//!   the attendance log, messages, metrics, snapshots, administration).
//! * [`stats`]: live statistics per event, counted from each commit, pushed when they change,
//!   and capacity alerts.
//! * [`metrics`]: operational counters for `GET /metrics` (Prometheus text format).
//! * [`print`]: printable tickets: a minimal PDF writer that streams A4 pages of QR codes.
//! * [`csv`]: RFC 4180 cells and ISO 8601 times for the attendance export.
//! * [`embedded`]: hosting the relay inside another program (the desktop app).
//! * [`demo`]: the demo event ("Seminar Nasional") a new relay can start with.
//! * [`tls`]: the relay's certificate (made on first start, reused after) and its fingerprint;
//!   `listener` runs TLS handshakes beside the accept loop.
//!
//! [`Relay::open`] starts the writer; [`Relay::serve`] accepts connections until told to stop.
//! Tests run the real server in-process on `127.0.0.1:0`.

pub mod auth;
mod csv;
pub mod demo;
pub mod embedded;
pub mod error;
mod http;
pub mod hub;
mod listener;
mod metrics;
mod print;
mod stats;
pub mod store;
pub mod tls;
pub mod writer;
mod ws;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use gerbang_core::protocol::Role;
use gerbang_core::Millis;
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

pub use error::{Error, Result};
pub use hub::Limits;
pub use store::Location;
pub use tls::TlsIdentity;
pub use writer::Writer;

/// How to run a relay.
#[derive(Debug, Clone)]
pub struct Config {
    pub database: Location,
    pub limits: Limits,
    /// The clock; tests may pin it.
    pub clock: fn() -> Millis,
    /// Serve https and wss with this certificate; `None` serves plain http and ws (for a relay
    /// on loopback, or tests).
    pub tls: Option<TlsIdentity>,
}

impl Config {
    pub fn new(database: Location) -> Config {
        Config {
            database,
            limits: Limits::default(),
            clock: system_clock,
            tls: None,
        }
    }
}

/// The wall clock as [`Millis`].
pub fn system_clock() -> Millis {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Millis(since.as_millis() as i64)
}

/// An open relay: its database, writer thread and shared state.
#[derive(Debug)]
pub struct Relay {
    shared: Arc<Shared>,
    writer_thread: Option<std::thread::JoinHandle<()>>,
    tls: Option<TlsIdentity>,
}

use hub::Shared;

impl Relay {
    /// Opens (creating if needed) the database and starts the writer.
    pub fn open(config: Config) -> Result<Relay> {
        let (publish, _) = broadcast::channel(config.limits.live_window);
        // The schema is brought up to date before anything is counted.
        drop(store::open_for_writing(&config.database)?);
        let devices = store::connect(&config.database)?;
        // Counted before the writer starts, so no commit falls between the count and the hook.
        let stats = Arc::new(stats::Stats::load(&devices, config.clock)?);
        let reader = store::Reader::open(&config.database)?;
        let metrics = Arc::new(metrics::Metrics::new(reader.head()?));
        let hook: writer::CommitHook = {
            let (stats, metrics) = (Arc::clone(&stats), Arc::clone(&metrics));
            Box::new(move |batch: &writer::Committed<'_>| {
                stats.committed(batch.entries);
                metrics.committed(batch);
            })
        };
        let (writer, writer_thread) =
            Writer::start_observed(&config.database, publish.clone(), config.clock, hook)?;
        let active_event = reader.first_event_id()?.unwrap_or(0);
        let snapshot_permits = config.limits.concurrent_snapshots.max(1);
        Ok(Relay {
            shared: Arc::new(Shared {
                reader,
                writer,
                location: config.database.clone(),
                devices: Mutex::new(devices),
                publish,
                connections: Arc::new(Mutex::new(HashMap::new())),
                limits: config.limits,
                clock: config.clock,
                shutdown: CancellationToken::new(),
                active_event: Mutex::new(active_event),
                revoked: broadcast::channel(64).0,
                stats,
                metrics,
                snapshots: Arc::new(tokio::sync::Semaphore::new(snapshot_permits)),
            }),
            writer_thread: Some(writer_thread),
            tls: config.tls,
        })
    }

    pub fn writer(&self) -> &Writer {
        &self.shared.writer
    }

    pub fn reader(&self) -> &store::Reader {
        &self.shared.reader
    }

    /// Stops the writer after it commits what is queued, without ever serving (tools that
    /// prepare a database, tests).
    pub async fn close(mut self) {
        self.shared.writer.stop().await;
        if let Some(thread) = self.writer_thread.take() {
            tokio::task::spawn_blocking(move || thread.join())
                .await
                .ok();
        }
    }

    /// A handle for administering the relay while it serves.
    pub fn admin(&self) -> Admin {
        Admin {
            shared: Arc::clone(&self.shared),
        }
    }

    /// The address devices use for a relay listening on `addr`: `wss://` with TLS, else
    /// `ws://` (the HTTP API is the same with `https://` or `http://`).
    pub fn address(&self, addr: std::net::SocketAddr) -> String {
        let scheme = if self.tls.is_some() { "wss" } else { "ws" };
        format!("{scheme}://{addr}")
    }

    /// The fingerprint of the certificate the relay serves, when it serves TLS.
    pub fn fingerprint(&self) -> Option<&str> {
        self.tls.as_ref().map(TlsIdentity::fingerprint)
    }

    /// Serves `listener` in a background task until [`Running::stop`].
    pub fn spawn(self, listener: TcpListener) -> Result<Running> {
        let addr = listener.local_addr()?;
        let admin = self.admin();
        let address = self.address(addr);
        let fingerprint = self.fingerprint().map(str::to_owned);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(self.serve(listener, async move {
            let _ = stopped.await;
        }));
        Ok(Running {
            addr,
            address,
            fingerprint,
            admin,
            stop,
            task,
        })
    }

    /// Serves HTTP and WebSocket on `listener` until `shutdown` completes, then closes every
    /// connection with "going away" and waits for the writer to commit what is pending.
    pub async fn serve(
        mut self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let token = self.shared.shutdown.clone();
        let app = http::router(Arc::clone(&self.shared));
        // Owned by the shutdown token: it ends when the relay stops serving.
        tokio::spawn(stats::push_loop(
            Arc::clone(&self.shared.stats),
            token.clone(),
        ));
        let stop = token.clone();
        tokio::spawn(async move {
            shutdown.await;
            stop.cancel();
        });
        let stopping = async move { token.cancelled().await };
        match &self.tls {
            Some(identity) => {
                // TLS handshakes run beside the accept loop (see `listener`); each accepted
                // socket gets TCP_NODELAY there.
                let listener = listener::TlsListener::new(listener, identity.server_config()?)?;
                axum::serve(listener, app)
                    .with_graceful_shutdown(stopping)
                    .await?;
            }
            None => {
                // Small messages (acks, live entries) go out at once: without TCP_NODELAY, a
                // second small write waits for the peer's delayed ACK (up to 40 ms on Linux).
                let listener = axum::serve::ListenerExt::tap_io(
                    listener,
                    |stream: &mut tokio::net::TcpStream| {
                        if let Err(e) = stream.set_nodelay(true) {
                            tracing::debug!("could not set TCP_NODELAY on a connection: {e}");
                        }
                    },
                );
                axum::serve(listener, app)
                    .with_graceful_shutdown(stopping)
                    .await?;
            }
        }
        // Connections have been told to go; commit what is queued and stop the writer.
        self.shared.writer.stop().await;
        if let Some(thread) = self.writer_thread.take() {
            tokio::task::spawn_blocking(move || thread.join())
                .await
                .ok();
        }
        Ok(())
    }
}

/// A relay serving in a background task: what an app that hosts the relay holds (and tests).
/// Dropping it without [`Running::stop`] leaves the relay serving until the runtime ends.
#[derive(Debug)]
pub struct Running {
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    /// The address devices use: `wss://host:port` or `ws://host:port`.
    pub address: String,
    /// The certificate's SHA-256 fingerprint (for the pairing text's `fp=`), with TLS.
    pub fingerprint: Option<String>,
    pub admin: Admin,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<()>>,
}

impl Running {
    /// The pairing text for a one-time pairing code: this relay's address, the code, and with
    /// TLS the certificate's fingerprint for the gate to pin.
    pub fn pairing_link(&self, code: &str) -> gerbang_core::pairing::PairingLink {
        gerbang_core::pairing::PairingLink {
            relay: self.address.clone(),
            code: code.to_owned(),
            fingerprint: self.fingerprint.clone(),
        }
    }

    /// Stops accepting, closes every connection, commits what is queued, and waits for all of it.
    pub async fn stop(self) -> Result<()> {
        let _ = self.stop.send(());
        match self.task.await {
            Ok(result) => result,
            Err(err) => Err(Error::Invalid(format!("the relay task failed: {err}"))),
        }
    }
}

/// Administration of a running relay, from this process (the desktop app hosting it, tests).
#[derive(Debug, Clone)]
pub struct Admin {
    shared: Arc<Shared>,
}

impl Admin {
    pub fn writer(&self) -> &Writer {
        &self.shared.writer
    }

    pub fn reader(&self) -> &store::Reader {
        &self.shared.reader
    }

    /// Sets the event that gates are told to check in `welcome`.
    pub fn set_active_event(&self, event_id: u32) {
        *self
            .shared
            .active_event
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = event_id;
    }

    /// Registers a device directly and returns its token (the only time it is shown).
    pub fn create_device(&self, name: &str, role: Role) -> Result<(auth::Device, String)> {
        let conn = self
            .shared
            .devices
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        auth::create_device(&conn, name, role, (self.shared.clock)())
    }

    /// The event gates are told to check.
    pub fn active_event(&self) -> u32 {
        self.shared.active_event()
    }

    /// Whether `token` belongs to a device that is not revoked.
    pub fn knows_token(&self, token: &str) -> Result<bool> {
        Ok(self.shared.authenticate(token)?.is_ok())
    }

    pub fn create_pairing_code(&self, role: Role) -> Result<String> {
        let conn = self
            .shared
            .devices
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        auth::create_pairing_code(&conn, role, (self.shared.clock)())
    }

    /// Makes a new random signing key for an event and adds it with
    /// [`Admin::add_signing_key`]: the relay keeps the secret (only it can issue the event's
    /// tickets) and gates receive the public half as a `key_added` log entry.
    pub async fn create_signing_key(&self, event_id: u32) -> Result<gerbang_core::EventKey> {
        let key_id = self.shared.reader.next_key_id(event_id)?.ok_or_else(|| {
            Error::Invalid(format!(
                "event {event_id} already has 255 keys; no more can be made"
            ))
        })?;
        let mut secret = [0u8; 32];
        getrandom::getrandom(&mut secret)
            .map_err(|e| Error::Invalid(format!("no randomness for a signing key: {e}")))?;
        let signer = gerbang_core::EventSigner::from_secret(event_id, key_id, secret);
        self.add_signing_key(&signer).await?;
        Ok(signer.public_key())
    }

    /// The newest key of the event this relay can sign with, if any.
    pub fn signer(&self, event_id: u32) -> Result<Option<gerbang_core::EventSigner>> {
        self.shared.reader.signer(event_id)
    }

    /// Revokes a device: its open connections are closed with `device_revoked` and it is
    /// refused from then on. Returns false if no such device.
    pub fn revoke_device(&self, device_id: &str) -> Result<bool> {
        self.shared.revoke_device(device_id)
    }

    /// Gives the relay an event's signing key: gates get its public half in a `key_added`
    /// entry, and the relay keeps the secret to print signed codes (ticket export). The
    /// event must exist.
    pub async fn add_signing_key(&self, signer: &gerbang_core::EventSigner) -> Result<u64> {
        let key = signer.public_key();
        if self.shared.reader.event(key.event_id)?.is_none() {
            return Err(Error::Invalid(format!(
                "there is no event {}; create it before giving it a key",
                key.event_id
            )));
        }
        let entry = self
            .shared
            .writer
            .configure(writer::Configure::SigningKey {
                key,
                secret: signer.secret(),
            })
            .await?;
        Ok(entry.map_or(0, |e| e.seq))
    }
}

/// Opens a relay with `config` and serves `listener` until `shutdown`. The binary's main is a
/// thin wrapper around this.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    Relay::open(config)?.serve(listener, shutdown).await
}
