//! What `gerbang-gate` prints: a line of text per verdict or status, or with `--json` one JSON
//! object per line, each with a `type` field. The field names are stable (docs/CLI.md).
//!
//! Verdicts and sync output go to stdout; with text output, notes and errors go to stderr so a
//! script reading verdicts is not confused by them. With `--json`, everything is on stdout.

use std::io::Write;
use std::path::Path;

use gerbang_core::import::ImportErrors;
use gerbang_gate::camera::{CameraInfo, CameraStatus};
use gerbang_gate::serial::{PortInfo, SerialStatus};
use gerbang_gate::sync::pairing::Paired;
use gerbang_gate::sync::{SyncEvent, SyncStatus};
use gerbang_gate::{Counters, ScanOutcome, Store};
use serde::Serialize;
use serde_json::json;

#[derive(Debug)]
pub struct Output {
    json: bool,
}

/// What `status` shows without a relay.
#[derive(Debug, Serialize)]
pub struct LocalStatus {
    pub relay: Option<String>,
    pub device_name: Option<String>,
    pub gate: Option<String>,
    pub direction: Option<&'static str>,
    pub event_id: Option<u32>,
    pub event_name: Option<String>,
    pub counters: Option<Counters>,
    pub outbox: u64,
    pub cursor: u64,
}

pub fn local_status(store: &Store) -> anyhow::Result<LocalStatus> {
    let pairing = store.pairing()?;
    let gate = store.gate_rules()?;
    let event_id = store.active_event()?;
    let event = match event_id {
        Some(id) => store.event(id)?,
        None => None,
    };
    let counters = match event_id {
        Some(id) => Some(store.counters(id, None)?),
        None => None,
    };
    Ok(LocalStatus {
        relay: pairing.as_ref().map(|p| p.relay.clone()),
        device_name: pairing.map(|p| p.device_name),
        direction: gate.as_ref().map(|g| g.direction.as_str()),
        gate: gate.map(|g| g.gate),
        event_id,
        event_name: event.map(|e| e.name),
        counters,
        outbox: store.outbox_depth()?,
        cursor: store.cursor()?,
    })
}

impl Output {
    pub fn new(json: bool) -> Output {
        Output { json }
    }

    fn line(&self, value: &impl Serialize) {
        let mut stdout = std::io::stdout().lock();
        // A closed stdout (a pipe whose reader left) is not worth a panic.
        let _ = serde_json::to_writer(&mut stdout, value);
        let _ = writeln!(stdout);
        let _ = stdout.flush();
    }

    fn text(&self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{text}");
        let _ = stdout.flush();
    }

    pub fn verdict(&self, input: &str, outcome: &ScanOutcome) {
        let v = &outcome.verdict;
        if self.json {
            self.line(&json!({
                "type": "verdict",
                "input": input,
                "scan_id": outcome.scan_id,
                "duplicate": outcome.duplicate,
                "at": outcome.at,
                "kind": v.kind,
                "ticket_id": v.ticket_id,
                "holder": v.holder,
                "ticket_type": v.ticket_type,
                "reason": v.reason,
                "previous": v.previous,
            }));
            return;
        }
        let mut text = format!("{:<16}", v.kind.as_str().to_uppercase());
        if let Some(holder) = &v.holder {
            text.push_str(holder);
            if let Some(t) = &v.ticket_type {
                text.push_str(&format!(" ({t})"));
            }
            text.push_str(": ");
        }
        text.push_str(&v.reason);
        if outcome.duplicate {
            text.push_str(" [same scan as a moment ago]");
        }
        self.text(&text);
    }

    pub fn error(&self, input: &str, message: &str) {
        if self.json {
            self.line(&json!({ "type": "error", "input": input, "message": message }));
        } else {
            eprintln!("error: {message}");
        }
    }

    pub fn note(&self, message: &str) {
        if self.json {
            self.line(&json!({ "type": "note", "message": message }));
        } else {
            eprintln!("{message}");
        }
    }

    /// The last word of a command that failed.
    pub fn fatal(&self, message: &str) {
        if self.json {
            self.line(&json!({ "type": "fatal", "message": message }));
        } else {
            eprintln!("gerbang-gate: {message}");
        }
    }

    pub fn paired(&self, relay: &str, paired: &Paired) {
        if self.json {
            self.line(&json!({
                "type": "paired",
                "relay": relay,
                "device_id": paired.device_id,
                "device_name": paired.device_name,
                "role": paired.role,
            }));
        } else {
            self.text(&format!(
                "Paired with {relay} as {:?} ({}). Start syncing with `gerbang-gate run`.",
                paired.device_name,
                paired.role.as_str()
            ));
        }
    }

    /// One image file's codes: `{"file", "codes", "ms"}`, or `{"file", "error", "ms"}`.
    pub fn decoded(
        &self,
        file: &Path,
        result: &Result<Vec<String>, gerbang_gate::decode::DecodeFileError>,
        ms: f64,
    ) {
        let ms = (ms * 10.0).round() / 10.0;
        match (self.json, result) {
            (true, Ok(codes)) => self.line(&json!({ "file": file, "codes": codes, "ms": ms })),
            (true, Err(e)) => self.line(&json!({ "file": file, "error": e.to_string(), "ms": ms })),
            (false, Ok(codes)) if codes.is_empty() => {
                self.text(&format!("{}: no code ({ms} ms)", file.display()));
            }
            (false, Ok(codes)) => {
                for code in codes {
                    self.text(&format!("{}: {code}", file.display()));
                }
            }
            (false, Err(e)) => eprintln!("error: {e}"),
        }
    }

    pub fn unpaired(&self, wiped: bool, unsent: u64) {
        if self.json {
            self.line(&json!({ "type": "unpaired", "wiped": wiped, "unsent": unsent }));
        } else if wiped {
            self.text(&format!(
                "Unpaired, and the gate's data is deleted ({unsent} unsent scan(s) with it)."
            ));
        } else {
            self.text(&format!(
                "Unpaired. {unsent} unsent scan(s) are kept for the next relay this gate pairs with."
            ));
        }
    }

    pub fn imported(&self, file: &Path, event_id: u32, imported: usize) {
        if self.json {
            self.line(&json!({
                "type": "imported",
                "file": file,
                "event_id": event_id,
                "imported": imported,
            }));
        } else {
            self.text(&format!(
                "Imported {imported} ticket(s) from {} into event {event_id}.",
                file.display()
            ));
        }
    }

    pub fn import_errors(&self, file: &Path, errors: &ImportErrors) {
        for e in &errors.errors {
            if self.json {
                self.line(&json!({
                    "type": "import_error",
                    "file": file,
                    "line": e.line,
                    "reason": e.reason,
                }));
            } else {
                eprintln!("{}:{}: {}", file.display(), e.line, e.reason);
            }
        }
    }

    pub fn status(&self, status: &LocalStatus) {
        if self.json {
            let mut value = serde_json::to_value(status).unwrap_or_default();
            value["type"] = "status".into();
            self.line(&value);
            return;
        }
        let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
        self.text(&format!("Relay:   {}", or_none(&status.relay)));
        self.text(&format!(
            "Gate:    {} ({})",
            or_none(&status.gate),
            status.direction.unwrap_or("entry")
        ));
        match (status.event_id, &status.event_name) {
            (Some(id), Some(name)) => self.text(&format!("Event:   {name} (#{id})")),
            _ => self.text("Event:   (none; pair with a relay or import tickets)"),
        }
        if let Some(c) = status.counters {
            self.text(&format!(
                "Counts:  {} issued, {} admitted, {} inside now, {} exits, {} refused",
                c.issued, c.admitted, c.inside_now, c.exits, c.refused
            ));
        }
        self.text(&format!(
            "Outbox:  {} scan(s) waiting for the relay (cursor {})",
            status.outbox, status.cursor
        ));
    }

    pub fn sync_status(&self, status: &SyncStatus) {
        if self.json {
            let mut value = serde_json::to_value(status).unwrap_or_default();
            value["type"] = "sync".into();
            self.line(&value);
            return;
        }
        let mut text = format!(
            "[{}] {} · outbox {}",
            status.state.as_str(),
            status.relay,
            status.outbox
        );
        if let Some(error) = &status.last_error {
            text.push_str(&format!(" · {error}"));
        }
        eprintln!("{text}");
    }

    pub fn sync_event(&self, event: &SyncEvent) {
        if self.json {
            self.line(event);
            return;
        }
        match event {
            SyncEvent::RemoteScan { scan } => eprintln!(
                "  at {}: {} {}",
                scan.gate,
                scan.official.unwrap_or(scan.kind).as_str(),
                scan.holder.as_deref().unwrap_or(&scan.code)
            ),
            SyncEvent::Settled { conflict: true, .. } => {
                eprintln!("  CONFLICT: another gate admitted this ticket first");
            }
            SyncEvent::Settled { .. } | SyncEvent::Stats { .. } => {}
            SyncEvent::Alert { alert } => eprintln!("  ALERT: {}", alert.text),
            SyncEvent::Message { message } => {
                eprintln!("  message from {}: {}", message.from, message.text);
            }
            SyncEvent::Snapshot { applied } => eprintln!(
                "  loaded the relay's snapshot: {} tickets, {} scans, up to entry {}",
                applied.tickets, applied.scans, applied.cursor
            ),
        }
    }

    /// `cameras`: one line per camera.
    pub fn cameras(&self, cameras: &[CameraInfo]) {
        if self.json {
            for camera in cameras {
                let mut value = serde_json::to_value(camera).unwrap_or_default();
                value["type"] = "camera_device".into();
                self.line(&value);
            }
            return;
        }
        if cameras.is_empty() {
            eprintln!("No camera found.");
        }
        for c in cameras {
            self.text(&format!("{:>3}  {}  ({})", c.index, c.name, c.description));
        }
    }

    /// `ports`: one line per serial port.
    pub fn ports(&self, ports: &[PortInfo]) {
        if self.json {
            for port in ports {
                let mut value = serde_json::to_value(port).unwrap_or_default();
                value["type"] = "port".into();
                self.line(&value);
            }
            return;
        }
        if ports.is_empty() {
            eprintln!("No serial port found.");
        }
        for p in ports {
            let mut text = format!("{}  {}", p.name, p.kind);
            if let (Some(vid), Some(pid)) = (p.vid, p.pid) {
                text.push_str(&format!(" {vid:04x}:{pid:04x}"));
            }
            for name in [&p.manufacturer, &p.product].into_iter().flatten() {
                text.push_str(&format!("  {name}"));
            }
            self.text(&text);
        }
    }

    /// `run --camera`: the camera's state whenever it changes.
    pub fn camera_status(&self, status: &CameraStatus) {
        if self.json {
            let mut value = serde_json::to_value(status).unwrap_or_default();
            value["type"] = "camera".into();
            self.line(&value);
            return;
        }
        match status {
            CameraStatus::Running {
                camera,
                width,
                height,
                format,
                fps,
            } => eprintln!(
                "[camera] {camera}: {width}x{height} {}, {fps} frames/s",
                format.name()
            ),
            CameraStatus::NoCamera { message }
            | CameraStatus::Busy { message }
            | CameraStatus::Disconnected { message }
            | CameraStatus::Error { message } => eprintln!("[camera] {message}"),
            CameraStatus::Starting => eprintln!("[camera] starting"),
            CameraStatus::Ended => eprintln!("[camera] the recording has ended"),
            CameraStatus::Stopped => eprintln!("[camera] stopped"),
        }
    }

    /// `run --serial`: the port's state whenever it changes.
    pub fn serial_status(&self, status: &SerialStatus) {
        if self.json {
            let mut value = serde_json::to_value(status).unwrap_or_default();
            value["type"] = "serial".into();
            self.line(&value);
            return;
        }
        match status {
            SerialStatus::Opening => eprintln!("[serial] opening"),
            SerialStatus::Reading { port } => eprintln!("[serial] reading {port}"),
            SerialStatus::Missing { message } | SerialStatus::Error { message } => {
                eprintln!("[serial] {message}");
            }
            SerialStatus::Stopped => eprintln!("[serial] stopped"),
        }
    }
}
