//! The `gerbang` binary: starts the desktop app. Everything lives in the library, so tests can
//! reach it.

// Without this, a Windows release build would open a console window beside the app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    if let Err(err) = gerbang_app::run() {
        eprintln!("gerbang: the app could not start: {err}");
        std::process::exit(1);
    }
}
