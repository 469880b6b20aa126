//! Pushes what changes to the UI: one `gate-update` event at most every
//! [`UPDATE_INTERVAL`], carrying the sync status, the counters, and what the relay said since
//! the last one. A gate catching up applies thousands of entries a second; the UI needs to
//! redraw a few times a second, not to hear of each.

use std::sync::Arc;
use std::time::Duration;

use gerbang_gate::sync::SyncEvent;
use tauri::{AppHandle, Emitter, Manager};
use tokio::sync::broadcast::error::RecvError;

use crate::dto::{GateUpdate, MessageView, RemoteScan, Settled};
use crate::state::AppState;

/// The event name the UI listens to.
pub const GATE_UPDATE: &str = "gate-update";
/// The quickest the UI is updated; the first change after a quiet spell goes out at once.
pub const UPDATE_INTERVAL: Duration = Duration::from_millis(150);
/// Remote scans carried by one update; the rest are counted.
const REMOTE_SCANS_KEPT: usize = 20;

/// What has accumulated since the last update.
#[derive(Debug, Default)]
pub struct Pending {
    pub dirty: bool,
    pub remote_scans: Vec<RemoteScan>,
    pub remote_scans_dropped: u32,
    pub settled: Vec<Settled>,
    pub alerts: Vec<gerbang_core::protocol::Alert>,
    pub messages: Vec<MessageView>,
    pub stats: Option<gerbang_core::protocol::EventStats>,
}

impl Pending {
    /// Adds one event from the sync engine.
    pub fn add(&mut self, event: SyncEvent) {
        self.dirty = true;
        if let Some(scan) = RemoteScan::of(&event) {
            if self.remote_scans.len() == REMOTE_SCANS_KEPT {
                self.remote_scans.remove(0);
                self.remote_scans_dropped += 1;
            }
            self.remote_scans.push(scan);
            return;
        }
        match event {
            SyncEvent::Settled {
                scan_id,
                official,
                conflict,
                ..
            } => self.settled.push(Settled {
                scan_id,
                official,
                conflict,
            }),
            SyncEvent::Alert { alert } => self.alerts.push(alert),
            SyncEvent::Message { message } => self.messages.push(message.into()),
            SyncEvent::Stats { stats } => self.stats = Some(stats),
            // The status shows the snapshot's progress; the counters come with the update.
            SyncEvent::RemoteScan { .. } | SyncEvent::Snapshot { .. } => {}
        }
    }
}

/// Runs until the app exits: forwards the station's status and events to the window.
pub async fn run(app: AppHandle) {
    let state = app.state::<AppState>();
    let station = Arc::clone(&state.station);
    let mut status = station.status();
    let mut events = station.subscribe();
    let mut pending = Pending {
        dirty: true,
        ..Pending::default()
    };
    let mut next_allowed = tokio::time::Instant::now();
    loop {
        // Gather until something is pending, then until the interval since the last update
        // has passed.
        let wait = tokio::time::sleep_until(next_allowed);
        tokio::select! {
            changed = status.changed() => {
                if changed.is_err() {
                    return;
                }
                pending.dirty = true;
            }
            event = events.recv() => match event {
                Ok(event) => pending.add(event),
                Err(RecvError::Lagged(_)) => pending.dirty = true,
                Err(RecvError::Closed) => return,
            },
            () = wait, if pending.dirty => {
                let taken = std::mem::take(&mut pending);
                for alert in &taken.alerts {
                    state.remember_alert(alert.clone());
                }
                if let Some(stats) = &taken.stats {
                    state.remember_stats(stats.clone());
                }
                let sync = status.borrow_and_update().clone();
                let counters = crate::commands::counters(&state).unwrap_or_default();
                let update = GateUpdate {
                    role: sync.role,
                    sync,
                    counters,
                    remote_scans: taken.remote_scans,
                    remote_scans_dropped: taken.remote_scans_dropped,
                    settled: taken.settled,
                    alerts: taken.alerts,
                    messages: taken.messages,
                    stats: taken.stats,
                };
                if let Err(err) = app.emit(GATE_UPDATE, &update) {
                    tracing::warn!("could not update the window: {err}");
                }
                next_allowed = tokio::time::Instant::now() + UPDATE_INTERVAL;
            }
        }
    }
}
