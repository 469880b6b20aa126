//! The shipped configuration: what the window, the bundle and the capabilities promise.
//!
//! These files are read by Tauri's build script and macros, not by our code, so a typo or an
//! accidental widening would otherwise only show up in a running app.

use serde_json::Value;
use std::path::Path;

fn read_json(relative: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|err| panic!("{} is not valid JSON: {err}", path.display()))
}

#[test]
fn the_app_serves_the_built_ui_without_a_dev_server() {
    let conf = read_json("tauri.conf.json");
    assert_eq!(conf["identifier"], "id.gerbang.app");
    assert_eq!(conf["productName"], "Gerbang");
    assert_eq!(conf["build"]["frontendDist"], "../ui/dist");
    // A devUrl would make debug builds load a Vite server instead of the embedded ui/dist.
    assert!(
        conf["build"].get("devUrl").is_none(),
        "devUrl must stay unset"
    );
}

#[test]
fn one_main_window_titled_gerbang() {
    let conf = read_json("tauri.conf.json");
    let windows = conf["app"]["windows"]
        .as_array()
        .expect("app.windows is a list");
    assert_eq!(windows.len(), 1);
    let main = &windows[0];
    assert_eq!(main["label"], "main");
    assert_eq!(main["title"], "Gerbang");
    assert_eq!(
        (main["width"].as_f64(), main["height"].as_f64()),
        (Some(1280.0), Some(800.0))
    );
}

#[test]
fn bundle_is_a_deb_with_icons_that_exist() {
    let conf = read_json("tauri.conf.json");
    assert_eq!(conf["bundle"]["targets"], serde_json::json!(["deb"]));
    let icons = conf["bundle"]["icon"]
        .as_array()
        .expect("bundle.icon is a list");
    assert!(!icons.is_empty());
    for icon in icons {
        let icon = icon.as_str().expect("icon paths are strings");
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(icon);
        assert!(
            path.is_file(),
            "{icon} does not exist; run scripts/make-icons.sh"
        );
    }
}

// The main window may listen to events, open a save dialog and call the app's commands, each
// by name; nothing else. Widening this list is a security decision: change this test with it,
// on purpose. Every command in src/commands.rs must be granted (else the UI cannot call it),
// and nothing that is not a command.
#[test]
fn the_main_window_gets_its_commands_and_nothing_more() {
    let capability = read_json("capabilities/default.json");
    assert_eq!(capability["windows"], serde_json::json!(["main"]));
    let granted: Vec<&str> = capability["permissions"]
        .as_array()
        .expect("permissions is a list")
        .iter()
        .map(|p| p.as_str().expect("permissions are names"))
        .collect();
    let (commands, others): (Vec<&str>, Vec<&str>) =
        granted.iter().partition(|p| p.starts_with("allow-"));
    assert_eq!(
        others,
        [
            "core:event:allow-listen",
            "core:event:allow-unlisten",
            "dialog:allow-save"
        ]
    );
    let source =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/commands.rs"))
            .unwrap();
    let mut defined: Vec<String> = source
        .split("#[tauri::command]")
        .skip(1)
        .map(|rest| {
            let signature = rest.trim_start();
            let after_fn = signature.split_once("fn ").expect("a command is a fn").1;
            let name: String = after_fn
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            format!("allow-{}", name.replace('_', "-"))
        })
        .collect();
    defined.sort();
    let mut commands: Vec<String> = commands.iter().map(|c| c.to_string()).collect();
    commands.sort();
    assert_eq!(commands, defined);
    let build =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("build.rs")).unwrap();
    for command in &defined {
        let name = command.trim_start_matches("allow-").replace('-', "_");
        assert!(
            build.contains(&format!("\"{name}\"")),
            "build.rs does not declare the command {name}"
        );
    }
}
