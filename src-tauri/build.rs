//! Reads tauri.conf.json and the capabilities, and prepares what `tauri::generate_context!`
//! embeds (the built UI from `../ui/dist`, the icons, the permission manifests).
//!
//! The app's own commands are declared here so that each gets an `allow-<command>`
//! permission: the main window's capability (`capabilities/default.json`) grants exactly the
//! ones the UI uses, and a command left out of it cannot be called from the window.

/// Every `#[tauri::command]` in `src/commands.rs`.
const COMMANDS: &[&str] = &[
    "app_snapshot",
    "scan",
    "admit_by_name",
    "gate_counters",
    "find_attendees",
    "attendance",
    "export_attendance",
    "dashboard",
    "messages",
    "send_message",
    "set_gate",
    "set_prefs",
    "pair",
    "host_relay",
    "pairing_offer",
    "demo_tickets",
    "camera_status",
    "cameras",
    "choose_camera",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri-build failed");
}
