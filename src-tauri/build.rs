//! Reads tauri.conf.json and the capabilities, and prepares what `tauri::generate_context!`
//! embeds (the built UI from `../ui/dist`, the icons, the permission manifests).

fn main() {
    tauri_build::build();
}
