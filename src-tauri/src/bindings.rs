//! The UI's TypeScript types, generated from the Rust ones (ts-rs), so they are never written
//! twice. This test regenerates them and fails when `ui/src/lib/bindings/` differs: run it with
//! `UPDATE_BINDINGS=1` (`UPDATE_BINDINGS=1 cargo test -p gerbang-app bindings`) after changing
//! a type that crosses IPC, and commit the result.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ts_rs::{Config, TS};

use crate::dto::*;
use crate::error::IpcError;

/// Exports every IPC type (with what it contains) into `dir`.
fn export_all(dir: &Path) {
    // Integers cross IPC as JSON numbers; every one we send (times in ms, sequence numbers,
    // counts) is far below 2^53, where a number stops being exact.
    let cfg = Config::new().with_large_int("number").with_out_dir(dir);
    AppSnapshot::export_all(&cfg).unwrap();
    ScanResult::export_all(&cfg).unwrap();
    ScanSource::export_all(&cfg).unwrap();
    AttendancePage::export_all(&cfg).unwrap();
    ExportProgress::export_all(&cfg).unwrap();
    Dashboard::export_all(&cfg).unwrap();
    MessageView::export_all(&cfg).unwrap();
    GateUpdate::export_all(&cfg).unwrap();
    PairingOffer::export_all(&cfg).unwrap();
    DemoTicket::export_all(&cfg).unwrap();
    CameraPreview::export_all(&cfg).unwrap();
    CameraList::export_all(&cfg).unwrap();
    CameraScan::export_all(&cfg).unwrap();
    gerbang_gate::camera::CameraStatus::export_all(&cfg).unwrap();
    IpcError::export_all(&cfg).unwrap();
    gerbang_gate::LogFilter::export_all(&cfg).unwrap();
    gerbang_gate::Attendee::export_all(&cfg).unwrap();
}

fn read_dir(dir: &Path) -> BTreeMap<String, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ts"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn bindings_are_up_to_date() {
    let committed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/bindings");
    let fresh = tempfile::tempdir().unwrap();
    export_all(fresh.path());
    let generated = read_dir(fresh.path());
    assert!(generated.contains_key("AppSnapshot.ts"), "{generated:?}");
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        let _ = std::fs::remove_dir_all(&committed);
        std::fs::create_dir_all(&committed).unwrap();
        for (name, text) in &generated {
            std::fs::write(committed.join(name), text).unwrap();
        }
        return;
    }
    let on_disk = read_dir(&committed);
    let stale: Vec<&String> = generated
        .iter()
        .filter(|(name, text)| on_disk.get(*name) != Some(text))
        .map(|(name, _)| name)
        .chain(on_disk.keys().filter(|name| !generated.contains_key(*name)))
        .collect();
    assert!(
        stale.is_empty(),
        "ui/src/lib/bindings is out of date ({stale:?}); regenerate it with \
         `UPDATE_BINDINGS=1 cargo test -p gerbang-app bindings` and commit the result"
    );
}
