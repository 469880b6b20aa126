//! The sync engine: one background task that keeps a gate's cache and the relay's log in step.
//!
//! [`SyncEngine::start`] spawns the task on the current tokio runtime. It connects to the
//! relay, says `hello` with the cursor, applies every log entry after it (in one transaction
//! with the cursor, see [`Store::apply_entries`]), uploads the outbox pipelined, and from then
//! on applies live entries and uploads each new scan at once. When the link fails it reconnects
//! with exponential backoff and jitter ([`backoff`]); heartbeats find a silent link within
//! [`LINK_TIMEOUT`](gerbang_core::protocol::LINK_TIMEOUT) plus one heartbeat.
//!
//! The gate decides scans without the engine: [`Store::record_scan`] writes the scan and its
//! outbox row; the caller then calls [`SyncEngine::scan_recorded`] so the upload starts without
//! waiting. Nothing the engine does can lose a scan: a scan leaves the outbox only in the
//! transaction that records the relay's acknowledgement.
//!
//! # What the UI and the CLI see
//! * [`SyncEngine::status`]: a `watch` of [`SyncStatus`] (online / connecting / offline /
//!   refused, outbox depth, last sync, clock offset, last error in plain words).
//! * [`SyncEngine::subscribe`]: a `broadcast` of [`SyncEvent`]s (scans from other gates,
//!   verdicts of this gate's scans, stats, alerts, messages). A subscriber that falls behind
//!   misses events (`RecvError::Lagged`), never slows the engine; the store has everything.

pub mod backoff;
mod link;
pub mod pairing;
mod snapshot;
pub mod tls;
pub mod transport;

use std::sync::Arc;

use gerbang_core::protocol::{Alert, ErrorCode, EventStats, OperatorMessage};
use gerbang_core::Millis;
use serde::Serialize;
use tokio::sync::{broadcast, mpsc, watch, Notify};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::store::{Pairing, ScanOutcome, ScanRecord, Store};

/// Where the wall clock comes from; tests give gates skewed clocks.
pub type Clock = Arc<dyn Fn() -> Millis + Send + Sync>;

/// The wall clock.
pub fn system_clock() -> Millis {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Millis(i64::try_from(now.as_millis()).unwrap_or(i64::MAX))
}

/// How the engine is set up.
#[derive(Clone)]
pub struct SyncConfig {
    pub pairing: Pairing,
    /// Sent in `hello`, for the relay's logs.
    pub app_version: String,
    pub clock: Clock,
    /// Backoff between connection attempts.
    pub backoff: backoff::Policy,
    /// Scans uploaded and not yet acknowledged, at most (at least 1): enough to keep a slow
    /// link busy, few enough that a link that dies re-sends little.
    pub upload_window: usize,
}

impl std::fmt::Debug for SyncConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncConfig")
            .field("relay", &self.pairing.relay)
            .field("device_name", &self.pairing.device_name)
            .field("app_version", &self.app_version)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

impl SyncConfig {
    pub fn new(pairing: Pairing) -> SyncConfig {
        SyncConfig {
            pairing,
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
            clock: Arc::new(system_clock),
            backoff: backoff::Policy::default(),
            upload_window: DEFAULT_UPLOAD_WINDOW,
        }
    }
}

/// The state of the link to the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum LinkState {
    /// Connecting, or connected and catching up.
    Connecting,
    /// Connected and caught up: scans reach other gates at once.
    Online,
    /// Not connected; the engine retries after a pause.
    Offline,
    /// The relay refused this device for good (revoked, unknown token, incompatible version):
    /// the engine has stopped. A person must pair the gate again.
    Refused,
    /// The engine was stopped.
    Stopped,
}

impl LinkState {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Connecting => "connecting",
            LinkState::Online => "online",
            LinkState::Offline => "offline",
            LinkState::Refused => "refused",
            LinkState::Stopped => "stopped",
        }
    }
}

/// What the UI shows about sync, always.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncStatus {
    pub state: LinkState,
    /// The relay's address.
    pub relay: String,
    /// Scans not yet acknowledged by the relay.
    pub outbox: u64,
    /// The last log entry applied.
    pub cursor: u64,
    /// The relay's latest entry, as last heard.
    pub head: u64,
    /// When the gate last heard from the relay that it is up to date (wall clock).
    pub last_sync: Option<Millis>,
    /// The relay's clock minus this gate's, in milliseconds, measured on heartbeats.
    pub clock_offset_ms: Option<i64>,
    /// The last thing that went wrong, in plain words; cleared when the link is healthy.
    pub last_error: Option<String>,
    /// The relay's error code when it refused the device.
    pub refused: Option<ErrorCode>,
    /// The role the relay gave this device, from its last `welcome`.
    pub role: Option<gerbang_core::protocol::Role>,
    /// A snapshot on its way in, while it is (see [`SnapshotProgress`]).
    pub snapshot: Option<SnapshotProgress>,
}

/// How far a snapshot download has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SnapshotProgress {
    pub stage: SnapshotStage,
    /// Downloading: compressed bytes received. Applying: items (tickets, scans, ...) applied.
    pub done: u64,
    /// Downloading: the download's size, when the relay says it (it streams snapshots, so
    /// usually not). Applying: the items in the snapshot.
    pub total: Option<u64>,
}

/// The two halves of taking in a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum SnapshotStage {
    /// Receiving it from the relay; the gate scans as usual meanwhile.
    Downloading,
    /// Loading it into the database in one transaction; scans wait until it is done.
    Applying,
}

/// Something the relay told the gate, for the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum SyncEvent {
    /// A scan at another gate reached this one.
    RemoteScan {
        scan: ScanRecord,
    },
    /// The relay settled one of this gate's scans; `conflict` when another gate had admitted
    /// the ticket first.
    Settled {
        scan_id: Uuid,
        seq: u64,
        official: gerbang_core::VerdictKind,
        conflict: bool,
    },
    Stats {
        stats: EventStats,
    },
    Alert {
        alert: Alert,
    },
    Message {
        message: OperatorMessage,
    },
    /// The gate took in a snapshot from the relay (it was new, or far behind) and catches up
    /// from its `seq`.
    Snapshot {
        applied: crate::store::SnapshotApplied,
    },
}

/// Commands from the handle to the link.
#[derive(Debug)]
enum Command {
    SendMessage {
        message_id: Uuid,
        to: Option<String>,
        text: String,
    },
}

/// Why [`SyncEngine::send_message`] did not take a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("the message is empty")]
    Empty,
    #[error("the message is longer than {MAX_MESSAGE_CHARS} characters")]
    TooLong,
    #[error("too many messages are waiting for the relay; try again when the gate is online")]
    Full,
    #[error("the sync engine has stopped")]
    Stopped,
}

/// The default [`SyncConfig::upload_window`].
pub const DEFAULT_UPLOAD_WINDOW: usize = 256;

/// The longest operator message.
pub const MAX_MESSAGE_CHARS: usize = 500;
/// Messages that may wait for the link.
const COMMAND_QUEUE: usize = 16;
/// Sync events a slow subscriber may fall behind by before it misses some.
const EVENT_QUEUE: usize = 1024;

/// What the engine's task shares with its handle.
struct Shared {
    store: Arc<Store>,
    config: SyncConfig,
    /// How to reach the relay, or why its address cannot be used (checked once, at start).
    transport: Result<transport::Transport, transport::AddressError>,
    status: watch::Sender<SyncStatus>,
    events: broadcast::Sender<SyncEvent>,
    outbox: Notify,
    stop: CancellationToken,
}

impl Shared {
    fn update(&self, f: impl FnOnce(&mut SyncStatus)) {
        self.status.send_modify(f);
    }
}

/// A running sync engine. Dropping it stops the engine (without waiting).
pub struct SyncEngine {
    shared: Arc<Shared>,
    commands: mpsc::Sender<Command>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SyncEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncEngine")
            .field("status", &*self.shared.status.borrow())
            .finish_non_exhaustive()
    }
}

impl SyncEngine {
    /// Starts the engine on the current tokio runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn start(store: Arc<Store>, config: SyncConfig) -> SyncEngine {
        let (status, _) = watch::channel(SyncStatus {
            state: LinkState::Connecting,
            relay: config.pairing.relay.clone(),
            outbox: store.outbox_depth().unwrap_or(0),
            cursor: store.cursor().unwrap_or(0),
            head: 0,
            last_sync: None,
            clock_offset_ms: None,
            last_error: None,
            refused: None,
            role: None,
            snapshot: None,
        });
        let (events, _) = broadcast::channel(EVENT_QUEUE);
        let (commands, receiver) = mpsc::channel(COMMAND_QUEUE);
        let transport =
            transport::Transport::new(&config.pairing.relay, config.pairing.fingerprint.as_deref());
        let shared = Arc::new(Shared {
            store,
            transport,
            config,
            status,
            events,
            outbox: Notify::new(),
            stop: CancellationToken::new(),
        });
        let task = tokio::spawn(run(Arc::clone(&shared), receiver));
        SyncEngine {
            shared,
            commands,
            task: Some(task),
        }
    }

    /// The sync status, updated as it changes.
    pub fn status(&self) -> watch::Receiver<SyncStatus> {
        self.shared.status.subscribe()
    }

    /// What the relay tells the gate from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<SyncEvent> {
        self.shared.events.subscribe()
    }

    /// Tells the engine a scan was recorded, so it uploads it now. A duplicate sighting
    /// recorded nothing and changes nothing.
    pub fn scan_recorded(&self, outcome: &ScanOutcome) {
        if !outcome.duplicate {
            self.shared.update(|s| s.outbox += 1);
            self.shared.outbox.notify_one();
        }
    }

    /// Sends an operator message (to one gate, or with `to: None` to everyone). It waits for
    /// the link if the gate is offline; it comes back to every device, this one included, as a
    /// [`SyncEvent::Message`] once it is in the relay's log.
    pub fn send_message(&self, to: Option<String>, text: &str) -> Result<Uuid, SendError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(SendError::Empty);
        }
        if text.chars().count() > MAX_MESSAGE_CHARS {
            return Err(SendError::TooLong);
        }
        let message_id = Uuid::now_v7();
        self.commands
            .try_send(Command::SendMessage {
                message_id,
                to,
                text: text.to_owned(),
            })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => SendError::Full,
                mpsc::error::TrySendError::Closed(_) => SendError::Stopped,
            })?;
        Ok(message_id)
    }

    /// Stops the engine: closes the link with "going away" and waits for the task to end.
    pub async fn stop(mut self) {
        self.shared.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SyncEngine {
    fn drop(&mut self) {
        self.shared.stop.cancel();
    }
}

/// The engine's task: links, one after the other, with backoff between them.
async fn run(shared: Arc<Shared>, mut commands: mpsc::Receiver<Command>) {
    let mut backoff = backoff::Backoff::new(shared.config.backoff);
    // Set by a snapshot just applied: the next link goes at once, without a pause, unless it
    // too ends in a snapshot (a relay that keeps asking is not asked again without a pause).
    let mut after_snapshot = false;
    loop {
        shared.update(|s| s.state = LinkState::Connecting);
        let outcome = link::run(&shared, &mut commands).await;
        if outcome.welcomed {
            backoff.reset();
        }
        let snapshot_again = after_snapshot;
        after_snapshot = false;
        match outcome.end {
            link::End::Stopped => break,
            link::End::Refused { code, message } => {
                tracing::warn!(%code, "the relay refused this gate: {message}");
                shared.update(|s| {
                    s.state = LinkState::Refused;
                    s.refused = Some(code);
                    s.last_error = Some(refusal_text(code, &message));
                });
                // Nothing to retry: wait to be stopped.
                shared.stop.cancelled().await;
                break;
            }
            link::End::Unusable(message) => {
                tracing::warn!("this gate cannot connect as paired: {message}");
                shared.update(|s| {
                    s.state = LinkState::Refused;
                    s.last_error = Some(message);
                });
                shared.stop.cancelled().await;
                break;
            }
            link::End::Failed(error) => {
                tracing::info!("link to the relay ended: {error}");
                shared.update(|s| {
                    s.state = LinkState::Offline;
                    s.last_error = Some(error);
                });
            }
            link::End::Snapshot { url, reason } => {
                tracing::info!("the relay sends this gate to a snapshot: {reason}");
                match snapshot::fetch(&shared, &url).await {
                    Ok(None) => break,
                    Ok(Some(applied)) => {
                        tracing::info!(
                            tickets = applied.tickets,
                            scans = applied.scans,
                            cursor = applied.cursor,
                            "snapshot applied"
                        );
                        // No subscriber is not an error.
                        let _ = shared.events.send(SyncEvent::Snapshot { applied });
                        if !snapshot_again {
                            after_snapshot = true;
                            continue;
                        }
                    }
                    Err(error) => {
                        tracing::warn!("the snapshot failed: {error}");
                        shared.update(|s| {
                            s.state = LinkState::Offline;
                            s.last_error = Some(error);
                        });
                    }
                }
            }
        }
        let pause = backoff.next_delay();
        tokio::select! {
            () = shared.stop.cancelled() => break,
            () = tokio::time::sleep(pause) => {}
        }
    }
    shared.update(|s| {
        if s.state != LinkState::Refused {
            s.state = LinkState::Stopped;
        }
    });
}

/// What a gate operator reads when the relay refuses the device.
fn refusal_text(code: ErrorCode, message: &str) -> String {
    match code {
        ErrorCode::DeviceRevoked => format!(
            "this gate was removed from the relay by an administrator ({message}); \
             pair it again to keep syncing"
        ),
        ErrorCode::Unauthorized => {
            format!("the relay does not know this gate's token ({message}); pair it again")
        }
        ErrorCode::UnknownVersion => format!(
            "this app and the relay speak different protocol versions ({message}); \
             update the older one"
        ),
        _ => format!("the relay refused this gate: {message}"),
    }
}
