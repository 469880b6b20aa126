//! A gate station: what a gate app holds while it runs. The store, and the link to a relay
//! that may be started, replaced (pairing with another relay) or stopped while the app runs.
//!
//! The sync engine is per pairing; the station gives its users (the desktop app's shell) one
//! status `watch` and one event `broadcast` that outlive any engine, and forwards the current
//! engine's into them, so a UI subscribes once at start-up and never has to know that a pairing
//! changed underneath.

use std::sync::{Arc, Mutex, PoisonError};

use gerbang_core::pairing::{PairingError, PairingLink};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::store::{Pairing, ScanOutcome, Store};
use crate::sync::pairing::{self, PairError, Paired};
use crate::sync::{Clock, LinkState, SendError, SyncConfig, SyncEngine, SyncEvent, SyncStatus};
use crate::Result;

/// Events a slow subscriber may fall behind by before it misses some (the store has them all).
const EVENT_QUEUE: usize = 1024;

/// The running link: an engine and the task that forwards its streams.
struct Link {
    engine: SyncEngine,
    forwarder: JoinHandle<()>,
}

/// A gate's store and its (optional) link to a relay.
pub struct Station {
    store: Arc<Store>,
    clock: Clock,
    /// The current link, replaced by [`Station::connect`] and taken by
    /// [`Station::disconnect`]. A std mutex: it is held only to swap the option, never across
    /// an `.await` (stopping an engine happens after it is taken out).
    link: Mutex<Option<Link>>,
    /// The status of whichever engine runs; "stopped" with the store's outbox when none does.
    status: watch::Sender<SyncStatus>,
    events: broadcast::Sender<SyncEvent>,
}

impl std::fmt::Debug for Station {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Station")
            .field("status", &*self.status.borrow())
            .finish_non_exhaustive()
    }
}

impl Station {
    /// A station with no link yet.
    pub fn new(store: Arc<Store>, clock: Clock) -> Station {
        let status = watch::Sender::new(stopped_status(&store, String::new()));
        Station {
            store,
            clock,
            link: Mutex::new(None),
            status,
            events: broadcast::channel(EVENT_QUEUE).0,
        }
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The wall clock this station decides scans by.
    pub fn now(&self) -> gerbang_core::Millis {
        (self.clock)()
    }

    /// The sync status, whichever engine runs.
    pub fn status(&self) -> watch::Receiver<SyncStatus> {
        self.status.subscribe()
    }

    /// What relays tell this gate, from now on, whichever engine runs.
    pub fn subscribe(&self) -> broadcast::Receiver<SyncEvent> {
        self.events.subscribe()
    }

    /// Decides and records a scan, then hands it to the engine for upload (if one runs; else
    /// it waits in the outbox for the next link).
    pub fn scan(&self, text: &str) -> Result<ScanOutcome> {
        let outcome = self.store.record_scan(text, self.now())?;
        self.recorded(outcome)
    }

    /// Admits a ticket by its holder's name ([`Store::admit_by_name`]) and sends it on.
    pub fn admit_by_name(&self, event_id: u32, ticket_id: u32) -> Result<ScanOutcome> {
        let outcome = self.store.admit_by_name(event_id, ticket_id, self.now())?;
        self.recorded(outcome)
    }

    /// Hands a recorded scan to the link, or counts it in the outbox while there is none.
    fn recorded(&self, outcome: ScanOutcome) -> Result<ScanOutcome> {
        let link = self.link.lock().unwrap_or_else(PoisonError::into_inner);
        match &*link {
            Some(link) => link.engine.scan_recorded(&outcome),
            None if !outcome.duplicate => self.status.send_modify(|s| s.outbox += 1),
            None => {}
        }
        Ok(outcome)
    }

    /// Sends an operator message through the current link.
    pub fn send_message(&self, to: Option<String>, text: &str) -> Result<Uuid, SendError> {
        let link = self.link.lock().unwrap_or_else(PoisonError::into_inner);
        match &*link {
            Some(link) => link.engine.send_message(to, text),
            None => Err(SendError::Stopped),
        }
    }

    /// Starts syncing with `config`'s relay, stopping the previous link first. Must be called
    /// inside a tokio runtime.
    pub async fn connect(&self, config: SyncConfig) {
        self.disconnect().await;
        let engine = SyncEngine::start(Arc::clone(&self.store), config);
        let forwarder = tokio::spawn(forward(
            engine.status(),
            engine.subscribe(),
            self.status.clone(),
            self.events.clone(),
        ));
        let previous = self
            .link
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .replace(Link { engine, forwarder });
        // Two connects racing: stop the loser too.
        if let Some(previous) = previous {
            stop(previous).await;
        }
    }

    /// Stops syncing (the outbox keeps what is not yet uploaded).
    pub async fn disconnect(&self) {
        let link = self
            .link
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(link) = link {
            let relay = link.engine_relay();
            stop(link).await;
            self.status.send_replace(stopped_status(&self.store, relay));
        }
    }

    /// Whether a link is running.
    pub fn is_connected(&self) -> bool {
        self.link
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// Pairs with the relay named in `text` (the pairing text, or its QR's content) as
    /// `device_name`, stores the pairing and starts syncing with it.
    ///
    /// The current link stops first: pairing with another relay starts the cache over
    /// ([`Store::set_pairing`]), and an engine still applying the old relay's log must not
    /// write into it afterwards. If pairing fails, the gate links to its previous relay again.
    pub async fn pair(&self, text: &str, device_name: &str) -> Result<Paired, StationPairError> {
        let link = PairingLink::parse(text.trim())?;
        let was_connected = self.is_connected();
        self.disconnect().await;
        let paired = match pairing::pair(&self.store, &link, device_name).await {
            Ok(paired) => paired,
            Err(err) => {
                if was_connected {
                    if let Ok(Some(previous)) = self.store.pairing() {
                        self.connect(self.config(previous)).await;
                    }
                }
                return Err(err.into());
            }
        };
        let pairing = self
            .store
            .pairing()
            .map_err(PairError::from)?
            .ok_or_else(|| PairError::Unexpected("the pairing was not stored".into()))?;
        self.connect(self.config(pairing)).await;
        Ok(paired)
    }

    fn config(&self, pairing: Pairing) -> SyncConfig {
        let mut config = SyncConfig::new(pairing);
        config.clock = Arc::clone(&self.clock);
        config
    }
}

/// Why [`Station::pair`] failed.
#[derive(Debug, thiserror::Error)]
pub enum StationPairError {
    #[error("this is not a pairing text: {0}")]
    Text(#[from] PairingError),
    #[error(transparent)]
    Pair(#[from] PairError),
}

impl Link {
    fn engine_relay(&self) -> String {
        self.engine.status().borrow().relay.clone()
    }
}

async fn stop(link: Link) {
    link.engine.stop().await;
    // The engine's channels closed; the forwarder ends by itself, but do not wait on it if it
    // is parked on a slow subscriber.
    link.forwarder.abort();
}

/// The status shown when no engine runs.
fn stopped_status(store: &Store, relay: String) -> SyncStatus {
    SyncStatus {
        state: LinkState::Stopped,
        relay,
        outbox: store.outbox_depth().unwrap_or(0),
        cursor: store.cursor().unwrap_or(0),
        head: 0,
        last_sync: None,
        clock_offset_ms: None,
        last_error: None,
        refused: None,
        role: None,
        snapshot: None,
    }
}

/// Copies one engine's status and events into the station's, until the engine is gone.
async fn forward(
    mut status: watch::Receiver<SyncStatus>,
    mut events: broadcast::Receiver<SyncEvent>,
    into_status: watch::Sender<SyncStatus>,
    into_events: broadcast::Sender<SyncEvent>,
) {
    into_status.send_replace(status.borrow_and_update().clone());
    loop {
        tokio::select! {
            changed = status.changed() => {
                if changed.is_err() {
                    break;
                }
                into_status.send_replace(status.borrow_and_update().clone());
            }
            event = events.recv() => match event {
                // No subscriber is not an error: the UI may not be listening yet.
                Ok(event) => { let _ = into_events.send(event); }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
    }
}
