//! gerbang-app: the Tauri v2 shell around Gerbang's libraries.
//!
//! # Layout
//! * [`commands`]: the `#[tauri::command]`s the UI calls with `invoke`, and the DTOs they return.
//! * [`error`]: [`IpcError`], the `{ kind, message }` shape every failed command returns.
//!
//! # Invariants
//! No business logic here: a command reads its state and arguments, makes one call into
//! `gerbang-gate` or `gerbang-relay`, and maps the result. The UI is the built `ui/dist`,
//! embedded at compile time, so `ui` must be built (`npm run build`) before this crate.

pub mod commands;
pub mod error;

pub use error::{ErrorKind, IpcError};

/// Builds the app, registers the commands and runs the event loop until the last window closes.
pub fn run() -> tauri::Result<()> {
    tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![commands::app_info])
        .run(tauri::generate_context!())
}
