//! The data that crosses IPC and is not already a library type: what the UI reads at start,
//! the gate's settings, the operator's preferences, and the shapes of pages and updates.
//!
//! Every type here (and every library type it contains) derives `ts_rs::TS`; the test in
//! `bindings.rs` writes them to `ui/src/lib/bindings/`, so the UI never declares them twice.

use gerbang_core::protocol::{Alert, EventStats, OperatorMessage, Role};
use gerbang_core::{Direction, Millis, TicketType, Verdict, VerdictKind};
use gerbang_gate::sync::{SyncEvent, SyncStatus};
use gerbang_gate::{ArrivalBucket, Counters, GateActivity, LogRow, StoredMessage};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

/// Everything the UI needs to draw its first frame, in one call.
#[derive(Debug, Clone, Serialize, TS)]
pub struct AppSnapshot {
    pub info: AppInfo,
    pub gate: GateSetup,
    pub event: Option<EventSummary>,
    pub counters: GateCounters,
    pub sync: SyncStatus,
    pub hosting: Option<Hosting>,
    pub prefs: Prefs,
    /// The role the relay gave this device, once it said `welcome` (a supervisor screen
    /// cannot scan).
    pub role: Option<Role>,
}

/// What the UI shows about the running build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct AppInfo {
    /// The product name from tauri.conf.json (`productName`).
    pub name: String,
    pub version: String,
    /// Where the app keeps its data (the gate's database, a hosted relay's).
    pub data_dir: String,
}

/// How this gate is set up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct GateSetup {
    /// The gate's name as others see it ("Gerbang A").
    pub name: String,
    pub direction: Direction,
    /// Ticket type ids admitted here; empty admits all.
    pub allowed_types: Vec<u16>,
}

/// The event this gate checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct EventSummary {
    pub id: u32,
    pub name: String,
    pub capacity: Option<u32>,
    pub utc_offset_minutes: i32,
    pub ticket_types: Vec<TicketType>,
}

/// The counters on the scan screen: the event's, and this gate's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, TS)]
pub struct GateCounters {
    pub event: Counters,
    pub gate: Counters,
}

/// The relay this laptop hosts, when it hosts one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Hosting {
    /// The address other devices connect to (`ws://192.168.1.10:8420`).
    pub url: String,
    /// Where it listens.
    pub listen: String,
}

/// A pairing text for another device, with its QR code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct PairingOffer {
    pub text: String,
    pub code: String,
    pub role: Role,
    /// The pairing text as an SVG QR code, to show on screen.
    pub qr_svg: String,
    pub expires_in_minutes: u32,
}

/// The operator's preferences, kept with the gate's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct Prefs {
    /// `"id"` (Bahasa Indonesia) or `"en"`.
    pub language: String,
    pub sounds: bool,
    /// Show "Ticket holder" instead of names on the scan screen (privacy at a busy door).
    pub hide_names: bool,
    /// Whether to scan with the camera (the choice of camera is kept with the gate's
    /// settings); off, the gate scans with a USB scanner and manual entry only.
    pub camera: bool,
}

impl Default for Prefs {
    fn default() -> Prefs {
        Prefs {
            language: "id".into(),
            sounds: true,
            hide_names: false,
            camera: true,
        }
    }
}

/// Where a scanned text came from, for the log of the operator's actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ScanSource {
    /// A USB scanner typing into the window (keyboard wedge).
    Wedge,
    /// Typed or chosen from the name search by the operator.
    Manual,
    /// The camera.
    Camera,
}

/// The answer to a scan, as the scan screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ScanResult {
    pub scan_id: Uuid,
    pub verdict: Verdict,
    /// The camera saw the same code again: nothing new was recorded.
    pub duplicate: bool,
    pub at: Millis,
    /// The counters after this scan.
    pub counters: GateCounters,
}

/// A page of the attendance log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct AttendancePage {
    pub rows: Vec<LogRow>,
    /// Rows the filter selects in all.
    pub total: u64,
    pub offset: u64,
}

/// Progress of a CSV export, streamed on a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
pub struct ExportProgress {
    pub done: u64,
    pub total: u64,
}

/// The supervisor's dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Dashboard {
    pub event: Option<EventSummary>,
    pub counters: Counters,
    /// The relay's live figures, when it has sent some recently.
    pub stats: Option<EventStats>,
    /// Admissions per gate per 5 minutes.
    pub arrivals: Vec<ArrivalBucket>,
    pub gates: Vec<GateActivity>,
    /// The latest conflicts, newest first.
    pub conflicts: Vec<LogRow>,
    /// Alerts received since the app started, newest first.
    pub alerts: Vec<Alert>,
    pub now: Millis,
}

/// A message for the messages screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct MessageView {
    pub message_id: Uuid,
    pub from: String,
    pub to: Option<String>,
    pub text: String,
    pub at: Millis,
}

impl From<StoredMessage> for MessageView {
    fn from(m: StoredMessage) -> MessageView {
        m.message.into()
    }
}

impl From<OperatorMessage> for MessageView {
    fn from(m: OperatorMessage) -> MessageView {
        MessageView {
            message_id: m.message_id,
            from: m.from,
            to: m.to,
            text: m.text,
            at: m.at,
        }
    }
}

/// What changed since the last update, pushed to the UI as the `gate-update` event at most a
/// few times a second (a gate catching up applies thousands of entries a second; the UI needs
/// to redraw, not to hear of each).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct GateUpdate {
    pub sync: SyncStatus,
    pub counters: GateCounters,
    pub role: Option<Role>,
    /// Scans at other gates since the last update, newest last (at most the last 20).
    pub remote_scans: Vec<RemoteScan>,
    /// Scans of this gate the relay decided differently, or flagged.
    pub settled: Vec<Settled>,
    pub alerts: Vec<Alert>,
    pub messages: Vec<MessageView>,
    /// Set when the relay's live figures changed.
    pub stats: Option<EventStats>,
    /// Remote scans left out of `remote_scans` because there were more than 20.
    pub remote_scans_dropped: u32,
}

/// A scan at another gate, for a toast.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct RemoteScan {
    pub gate: String,
    pub holder: Option<String>,
    pub verdict: VerdictKind,
    pub at: Millis,
    pub conflict: bool,
}

/// The relay's verdict on one of this gate's scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
pub struct Settled {
    pub scan_id: Uuid,
    pub official: VerdictKind,
    pub conflict: bool,
}

impl RemoteScan {
    pub fn of(event: &SyncEvent) -> Option<RemoteScan> {
        match event {
            SyncEvent::RemoteScan { scan } => Some(RemoteScan {
                gate: scan.gate.clone(),
                holder: scan.holder.clone(),
                verdict: scan.official.unwrap_or(scan.kind),
                at: scan.at,
                conflict: scan.conflict,
            }),
            _ => None,
        }
    }
}

/// A demo ticket to print or show on a phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct DemoTicket {
    pub ticket_id: u32,
    pub holder: String,
    pub ticket_type: Option<String>,
    /// The signed code the QR carries.
    pub code: String,
    pub qr_svg: String,
}

/// A preview frame for the scan screen, pushed as the `camera-preview` event (at most about
/// 15 a second).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct CameraPreview {
    /// `data:image/jpeg;base64,…`, ready for an `<img src>`.
    pub jpeg: String,
    pub width: u32,
    pub height: u32,
    /// The codes in this frame, their corners in preview pixels, to outline.
    pub codes: Vec<gerbang_gate::camera::PreviewCode>,
}

/// A code the camera read and the gate recorded, pushed as the `camera-scan` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct CameraScan {
    /// The code's text, as read.
    pub text: String,
    pub result: ScanResult,
}

/// The cameras, and which one is chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct CameraList {
    pub cameras: Vec<gerbang_gate::camera::CameraInfo>,
    /// The operator's choice; `None`: the first camera the system lists.
    pub chosen: Option<gerbang_gate::camera::CameraChoice>,
}
