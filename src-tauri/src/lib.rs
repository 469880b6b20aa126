//! gerbang-app: the Tauri v2 shell around Gerbang's libraries.
//!
//! # Layout
//! * [`state`]: what the app holds ([`AppState`]: the gate's station, the hosted relay) and
//!   how it starts (host the relay with the demo event on a first run, or link to the paired
//!   relay).
//! * [`camera`]: the camera service started in the background, its codes recorded as scans, its
//!   status and previews pushed to the window.
//! * [`commands`]: the `#[tauri::command]`s the UI calls with `invoke`.
//! * [`updates`]: the `gate-update` event that pushes status, counters and what other gates
//!   did to the UI, a few times a second at most.
//! * [`dto`]: the shapes that cross IPC and are not library types.
//! * [`error`]: [`IpcError`], the `{ kind, message }` shape every failed command returns.
//!
//! # Invariants
//! No business logic here: a command reads its state and arguments, makes one call into
//! `gerbang-gate` or `gerbang-relay`, and maps the result. The UI is the built `ui/dist`,
//! embedded at compile time, so `ui` must be built (`npm run build`) before this crate. Every
//! type crossing IPC derives `ts_rs::TS`, and `ui/src/lib/bindings/` is generated from them
//! (see the `bindings` test).

pub mod camera;
pub mod commands;
pub mod dto;
pub mod error;
pub mod rendering;
pub mod state;
pub mod updates;

#[cfg(test)]
mod bindings;

pub use error::{ErrorKind, IpcError};
pub use state::AppState;

use std::sync::{Once, OnceLock};
use std::time::Instant;

use tauri::Manager;

/// When `run` began: start-up time is measured from here.
static STARTED: OnceLock<Instant> = OnceLock::new();

/// Logs, once, how long after start the window asked for its first snapshot: from then on it
/// draws the scan screen and takes scans (`scripts/bench-app.sh` reads this line).
pub(crate) fn note_ready() {
    static READY: Once = Once::new();
    READY.call_once(|| {
        if let Some(started) = STARTED.get() {
            tracing::info!(
                "ready to scan {} ms after start",
                started.elapsed().as_millis()
            );
        }
    });
}

/// Builds the app, registers the commands and runs the event loop until the last window closes.
pub fn run() -> tauri::Result<()> {
    STARTED.get_or_init(Instant::now);
    rendering::apply_cpu_rendering_defaults();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GERBANG_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
    tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .setup(|app| {
            let dir = state::data_dir(app.handle())?;
            let state = AppState::open(&dir)?;
            app.manage(state);
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                let state = handle.state::<AppState>();
                if let Err(err) = state.start().await {
                    tracing::error!("{err:#}");
                }
            });
            tauri::async_runtime::spawn(updates::run(app.handle().clone()));
            // No camera is a status the scan screen shows, not a reason not to start.
            if let Err(err) = camera::restart(app.handle()) {
                tracing::warn!("the camera could not start: {err:#}");
            }
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_snapshot,
            commands::scan,
            commands::admit_by_name,
            commands::gate_counters,
            commands::find_attendees,
            commands::attendance,
            commands::export_attendance,
            commands::dashboard,
            commands::messages,
            commands::send_message,
            commands::set_gate,
            commands::set_prefs,
            commands::pair,
            commands::host_relay,
            commands::pairing_offer,
            commands::demo_tickets,
            commands::camera_status,
            commands::cameras,
            commands::choose_camera,
        ])
        .run(tauri::generate_context!())
}
