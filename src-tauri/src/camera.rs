//! The camera on the scan screen: `gerbang_gate::camera::CameraService` started in the
//! background, its codes recorded as scans, its status and previews pushed to the window.
//!
//! Events: `camera-status` ([`CameraStatus`]) when it changes, `camera-preview`
//! ([`CameraPreview`], at most ~15 a second), `camera-scan` ([`CameraScan`]) for each code the
//! camera read (once per sighting; the store's duplicate window agrees with the camera's), and
//! `camera-pairing` (the text) for a relay's pairing QR code, which is not a ticket.

use std::sync::{Arc, PoisonError};

use base64::Engine as _;
use gerbang_gate::camera::{CameraConfig, CameraService, CameraStatus};
use tauri::{AppHandle, Emitter, Manager};
use tokio::sync::broadcast::error::RecvError;

use crate::dto::{CameraPreview, CameraScan, ScanResult};
use crate::state::AppState;

pub const CAMERA_STATUS: &str = "camera-status";
pub const CAMERA_PREVIEW: &str = "camera-preview";
pub const CAMERA_SCAN: &str = "camera-scan";
/// A pairing QR code held up to the camera: its text (a string), for the settings screen to
/// pair with. It is never recorded as a scan.
pub const CAMERA_PAIRING: &str = "camera-pairing";

/// Starts the camera the gate's settings choose (unless the operator turned it off), replacing
/// one that runs, and forwards its streams to the window until it is stopped.
pub fn restart(app: &AppHandle) -> anyhow::Result<()> {
    let state = app.state::<AppState>();
    stop(&state);
    if !state.prefs()?.camera {
        let _ = app.emit(CAMERA_STATUS, &CameraStatus::Stopped);
        return Ok(());
    }
    let config = CameraConfig {
        duplicate_window: state.store().duplicate_window(),
        ..CameraConfig::default()
    };
    let service = CameraService::start_camera(config, state.store().camera()?)?;
    let (mut status, mut codes, mut previews) =
        (service.status(), service.codes(), service.previews());
    *state.camera.lock().unwrap_or_else(PoisonError::into_inner) = Some(service);

    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let station = Arc::clone(&app.state::<AppState>().station);
        let _ = app.emit(CAMERA_STATUS, &*status.borrow_and_update());
        loop {
            tokio::select! {
                changed = status.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let now = status.borrow_and_update().clone();
                    let _ = app.emit(CAMERA_STATUS, &now);
                }
                changed = previews.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let preview = previews.borrow_and_update().clone();
                    if let Some(preview) = preview {
                        let jpeg = base64::engine::general_purpose::STANDARD.encode(&preview.jpeg);
                        let _ = app.emit(CAMERA_PREVIEW, &CameraPreview {
                            jpeg: format!("data:image/jpeg;base64,{jpeg}"),
                            width: preview.width,
                            height: preview.height,
                            codes: preview.codes.clone(),
                        });
                    }
                }
                code = codes.recv() => match code {
                    Ok(code) if code.text.starts_with(gerbang_core::pairing::PAIRING_PREFIX) => {
                        let _ = app.emit(CAMERA_PAIRING, &code.text);
                    }
                    Ok(code) => {
                        let state = app.state::<AppState>();
                        match station.scan(&code.text) {
                            Ok(outcome) => {
                                let counters = crate::commands::counters(&state).unwrap_or_default();
                                let result = ScanResult {
                                    scan_id: outcome.scan_id,
                                    verdict: outcome.verdict,
                                    duplicate: outcome.duplicate,
                                    at: outcome.at,
                                    counters,
                                };
                                let _ = app.emit(CAMERA_SCAN, &CameraScan { text: code.text, result });
                            }
                            Err(err) => tracing::warn!("a camera scan was not recorded: {err}"),
                        }
                    }
                    // Codes are never dropped by the service unless this task falls far behind.
                    Err(RecvError::Lagged(n)) => tracing::warn!("{n} camera codes were missed"),
                    Err(RecvError::Closed) => break,
                },
            }
        }
    });
    Ok(())
}

/// Stops the camera, if one runs (its threads are joined off the async runtime).
pub fn stop(state: &AppState) {
    let service = state
        .camera
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    if let Some(service) = service {
        std::thread::spawn(move || service.stop());
    }
}
