//! What every connection and request shares: the database handles, the writer, the broadcast
//! of committed entries, limits and per-device connection counts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gerbang_core::Millis;
use rusqlite::Connection;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::auth::{self, Device, Refusal};
use crate::error::Result;
use crate::metrics::Metrics;
use crate::stats::Stats;
use crate::store::{Location, Reader};
use crate::writer::{Published, Writer};

/// Limits that keep one client from hurting the others. Every refusal has a stable error code.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest WebSocket message accepted, in bytes.
    pub max_message_bytes: usize,
    /// Sustained messages per second per connection, and the burst allowed above it (a gate
    /// back from an outage uploads its whole outbox at once).
    pub messages_per_second: u32,
    pub message_burst: u32,
    /// Connections one device may have open at once.
    pub connections_per_device: usize,
    /// Time a new connection has to send hello.
    pub hello_timeout: Duration,
    /// A connection that sends nothing (not even a ping) for this long is dropped.
    pub idle_timeout: Duration,
    /// Entries per `entries` message during catch-up.
    pub catch_up_batch: usize,
    /// Scans one connection may have in flight before the relay waits for their commits.
    pub max_pending_acks: usize,
    /// Published messages (a commit's entries each, usually) a connection may fall behind the
    /// live stream before it is disconnected.
    pub live_window: usize,
    /// A client whose cursor is more than this many entries behind the log's head is told
    /// `snapshot_needed` instead of being caught up entry by entry: a new gate on a relay
    /// with a long log, or a gate back from a long absence. A snapshot is smaller (tickets as
    /// they are now rather than every change, other events left out, compressed) and loads in
    /// bulk.
    pub snapshot_after: u64,
    /// Snapshots being built at once, at most; more requests wait their turn. Each holds a read
    /// transaction and a core compressing.
    pub concurrent_snapshots: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_message_bytes: gerbang_core::protocol::MAX_MESSAGE_BYTES,
            messages_per_second: 5_000,
            message_burst: 20_000,
            connections_per_device: 4,
            hello_timeout: Duration::from_secs(10),
            idle_timeout: gerbang_core::protocol::LINK_TIMEOUT,
            catch_up_batch: 1_000,
            max_pending_acks: 4_096,
            live_window: 8_192,
            snapshot_after: 50_000,
            concurrent_snapshots: 2,
        }
    }
}

pub(crate) struct Shared {
    /// Where the database is: snapshots open their own read connection, so a long download
    /// never holds the shared reader.
    pub location: Location,
    pub reader: Reader,
    pub writer: Writer,
    /// Devices and pairing codes change rarely and are not part of the event log; they use
    /// their own connection. A std mutex: never held across an `.await`.
    pub devices: Mutex<Connection>,
    /// Committed entries, in order, to every connection.
    pub publish: broadcast::Sender<Arc<Published>>,
    /// Open connections per device id, for `connections_per_device`.
    pub connections: Arc<Mutex<HashMap<String, usize>>>,
    pub limits: Limits,
    pub clock: fn() -> Millis,
    /// Cancelled when the relay shuts down; every connection watches it.
    pub shutdown: CancellationToken,
    /// The event gates are checking, told to them in `welcome`.
    pub active_event: Mutex<u32>,
    /// Ids of devices just revoked: their open connections end at once.
    pub revoked: broadcast::Sender<String>,
    /// Live statistics per event, counted by the writer's commit hook and pushed by
    /// [`crate::stats::push_loop`].
    pub stats: Arc<Stats>,
    /// Counters for `GET /metrics`.
    pub metrics: Arc<Metrics>,
    /// Permits for building snapshots (`Limits::concurrent_snapshots`).
    pub snapshots: Arc<tokio::sync::Semaphore>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl Shared {
    /// Revokes a device: its token is refused from now on and its open connections are
    /// closed with `device_revoked`. Returns false if there is no such device.
    pub fn revoke_device(&self, device_id: &str) -> Result<bool> {
        let conn = self.devices.lock().unwrap_or_else(|e| e.into_inner());
        let revoked = auth::revoke_device(&conn, device_id, (self.clock)())?;
        drop(conn);
        if revoked {
            // No open connection means no receiver; that is fine.
            let _ = self.revoked.send(device_id.to_owned());
        }
        Ok(revoked)
    }

    pub fn authenticate(&self, token: &str) -> Result<Result<Device, Refusal>> {
        let conn = self.devices.lock().unwrap_or_else(|e| e.into_inner());
        auth::authenticate(&conn, token)
    }

    pub fn active_event(&self) -> u32 {
        *self.active_event.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes one of the device's connection slots, or `None` when all are in use.
    pub fn claim_slot(&self, device_id: &str) -> Option<ConnectionSlot> {
        let mut counts = self.connections.lock().unwrap_or_else(|e| e.into_inner());
        let count = counts.entry(device_id.to_owned()).or_default();
        if *count >= self.limits.connections_per_device {
            return None;
        }
        *count += 1;
        Some(ConnectionSlot {
            device_id: device_id.to_owned(),
            counts: Arc::clone(&self.connections),
        })
    }
}

/// One open connection of a device; gives its slot back when dropped, however it ends.
pub(crate) struct ConnectionSlot {
    device_id: String,
    counts: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = counts.get_mut(&self.device_id) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.device_id);
            }
        }
    }
}
