//! The commands the UI calls, and the data they return.
//!
//! Field names are the wire format the UI reads (`ui/src/lib/api.ts` mirrors them), so renaming
//! one is a breaking change for the UI.

use serde::Serialize;

/// What the UI shows about the running build, e.g. in its footer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppInfo {
    /// The product name from tauri.conf.json (`productName`).
    pub name: String,
    /// This crate's version.
    pub version: String,
    /// gerbang-core's version. gerbang-core does not export a `VERSION` constant yet, so this is
    /// the workspace version it shares with this crate (both use `version.workspace = true`).
    pub core_version: String,
}

impl AppInfo {
    /// The versions compiled into this binary, under the given product name.
    pub fn new(name: &str) -> Self {
        let version = env!("CARGO_PKG_VERSION");
        Self {
            name: name.to_owned(),
            version: version.to_owned(),
            core_version: version.to_owned(),
        }
    }
}

/// Returns the app's name and versions; cannot fail.
#[tauri::command]
pub fn app_info(app: tauri::AppHandle) -> AppInfo {
    AppInfo::new(&app.package_info().name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_info_serialises_to_the_shape_the_ui_reads() {
        let info = AppInfo::new("Gerbang");
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "name": "Gerbang",
                "version": env!("CARGO_PKG_VERSION"),
                "core_version": env!("CARGO_PKG_VERSION"),
            })
        );
    }
}
