//! The commands the UI calls. Each reads its state and arguments, makes one call into
//! `gerbang-gate` or `gerbang-relay`, and maps the result; blocking database work runs off the
//! async runtime's threads only where it can take long (exports).

use std::sync::PoisonError;

use gerbang_core::protocol::Role;
use gerbang_core::{GateRules, Millis};
use gerbang_gate::camera::CameraStatus;
use gerbang_gate::{Attendee, LogFilter};
use tauri::ipc::Channel;
use tauri::State;
use uuid::Uuid;

use crate::dto::{
    AppInfo, AppSnapshot, AttendancePage, CameraList, Dashboard, DemoTicket, EventSummary,
    ExportProgress, GateCounters, GateSetup, Hosting, MessageView, PairingOffer, Prefs, ScanResult,
    ScanSource,
};
use crate::error::{ErrorKind, IpcError};
use crate::state::AppState;

type Result<T> = std::result::Result<T, IpcError>;

/// How far back the dashboard's arrivals chart reaches, and its bucket.
const ARRIVALS_WINDOW_MS: i64 = 4 * Millis::HOUR;
const ARRIVALS_BUCKET_MS: i64 = 5 * Millis::MINUTE;

/// Everything the UI needs for its first frame.
#[tauri::command]
pub async fn app_snapshot(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
) -> Result<AppSnapshot> {
    let hosting = state.hosted.lock().await.as_ref().map(|h| Hosting {
        url: h.public_url().to_owned(),
        listen: h.addr().to_string(),
    });
    let sync = state.station.status().borrow().clone();
    let snapshot = AppSnapshot {
        info: AppInfo {
            name: app.package_info().name.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            data_dir: state.data_dir.display().to_string(),
        },
        gate: gate_setup(&state)?,
        event: event_summary(&state)?,
        counters: counters(&state)?,
        role: sync.role,
        sync,
        hosting,
        prefs: state.prefs()?,
    };
    crate::note_ready();
    Ok(snapshot)
}

/// Decides and records a scanned or typed code.
#[tauri::command]
pub fn scan(state: State<'_, AppState>, text: String, source: ScanSource) -> Result<ScanResult> {
    tracing::debug!(?source, "scan");
    let outcome = state.station.scan(&text)?;
    scan_result(&state, outcome)
}

/// Admits a ticket by its holder's name, picked from the search (no code to scan).
#[tauri::command]
pub fn admit_by_name(
    state: State<'_, AppState>,
    event_id: u32,
    ticket_id: u32,
) -> Result<ScanResult> {
    let outcome = state.station.admit_by_name(event_id, ticket_id)?;
    scan_result(&state, outcome)
}

/// A recorded scan with the counters it changed, as the window shows it.
fn scan_result(state: &AppState, outcome: gerbang_gate::store::ScanOutcome) -> Result<ScanResult> {
    Ok(ScanResult {
        scan_id: outcome.scan_id,
        verdict: outcome.verdict,
        duplicate: outcome.duplicate,
        at: outcome.at,
        counters: counters(state)?,
    })
}

/// The event's and this gate's counters.
#[tauri::command]
pub fn gate_counters(state: State<'_, AppState>) -> Result<GateCounters> {
    counters(&state)
}

/// Finds tickets by name, number or barcode, offline.
#[tauri::command]
pub fn find_attendees(state: State<'_, AppState>, query: String) -> Result<Vec<Attendee>> {
    let Some(event_id) = state.store().active_event()? else {
        return Ok(Vec::new());
    };
    Ok(state.store().find_attendees(event_id, &query, 20)?)
}

/// One page of the attendance log, with the filter's total.
#[tauri::command]
pub fn attendance(
    state: State<'_, AppState>,
    filter: LogFilter,
    offset: u64,
    limit: u32,
) -> Result<AttendancePage> {
    Ok(AttendancePage {
        rows: state.store().attendance(&filter, offset, limit as usize)?,
        total: state.store().attendance_count(&filter)?,
        offset,
    })
}

/// Writes the filtered log to `path` as CSV, reporting progress on `progress`.
#[tauri::command]
pub async fn export_attendance(
    state: State<'_, AppState>,
    filter: LogFilter,
    path: String,
    progress: Channel<ExportProgress>,
) -> Result<u64> {
    let store = std::sync::Arc::clone(state.station.store());
    tauri::async_runtime::spawn_blocking(move || {
        let file = std::fs::File::create(&path).map_err(|e| {
            IpcError::new(
                ErrorKind::InvalidInput,
                format!("cannot write {path}: {e}; choose another place"),
            )
        })?;
        let out = std::io::BufWriter::new(file);
        Ok(store.export_attendance_csv(&filter, out, |done, total| {
            // A closed window is not an export failure.
            let _ = progress.send(ExportProgress { done, total });
        })?)
    })
    .await
    .map_err(|e| IpcError::new(ErrorKind::Internal, format!("the export stopped: {e}")))?
}

/// The supervisor's dashboard.
#[tauri::command]
pub fn dashboard(state: State<'_, AppState>) -> Result<Dashboard> {
    let now = state.station.now();
    let store = state.store();
    let event = event_summary(&state)?;
    let Some(event_id) = event.as_ref().map(|e| e.id) else {
        return Ok(Dashboard {
            event: None,
            counters: Default::default(),
            stats: None,
            arrivals: Vec::new(),
            gates: Vec::new(),
            conflicts: Vec::new(),
            alerts: Vec::new(),
            now,
        });
    };
    let conflicts = LogFilter {
        event_id,
        conflicts_only: true,
        ..LogFilter::default()
    };
    let alerts = state.alerts.lock().unwrap_or_else(PoisonError::into_inner);
    Ok(Dashboard {
        event,
        counters: store.counters(event_id, None)?,
        stats: state
            .stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .filter(|s| s.event_id == event_id),
        // To the end of the current bucket: a scan from a gate whose clock is a little ahead
        // still counts, one from a wrong clock far ahead does not.
        arrivals: store.arrivals(
            event_id,
            now.plus(-ARRIVALS_WINDOW_MS),
            now.plus(ARRIVALS_BUCKET_MS),
            ARRIVALS_BUCKET_MS,
        )?,
        gates: store.gate_activity(event_id, now)?,
        conflicts: store.attendance(&conflicts, 0, 20)?,
        alerts: alerts.iter().rev().cloned().collect(),
        now,
    })
}

/// Operator messages, newest first.
#[tauri::command]
pub fn messages(state: State<'_, AppState>) -> Result<Vec<MessageView>> {
    Ok(state
        .store()
        .messages(200)?
        .into_iter()
        .map(MessageView::from)
        .collect())
}

/// Sends an operator message to one gate, or to everyone with `to: null`.
#[tauri::command]
pub fn send_message(state: State<'_, AppState>, to: Option<String>, text: String) -> Result<Uuid> {
    let to = to.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    Ok(state.station.send_message(to, &text)?)
}

/// Renames the gate, switches entry/exit, or changes the ticket types it admits.
#[tauri::command]
pub fn set_gate(state: State<'_, AppState>, gate: GateSetup) -> Result<GateSetup> {
    let name = gate.name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(IpcError::new(
            ErrorKind::InvalidInput,
            "a gate's name needs 1 to 64 characters",
        ));
    }
    state.store().set_gate_rules(&GateRules {
        gate: name.to_owned(),
        direction: gate.direction,
        allowed_types: gate.allowed_types,
    })?;
    gate_setup(&state)
}

/// Stores the operator's preferences (turning the camera on or off at once).
#[tauri::command]
pub fn set_prefs(app: tauri::AppHandle, state: State<'_, AppState>, prefs: Prefs) -> Result<Prefs> {
    if !matches!(prefs.language.as_str(), "id" | "en") {
        return Err(IpcError::new(
            ErrorKind::InvalidInput,
            format!("no language {:?}; choose \"id\" or \"en\"", prefs.language),
        ));
    }
    let camera_changed = state.prefs()?.camera != prefs.camera;
    state.set_prefs(&prefs)?;
    if camera_changed {
        crate::camera::restart(&app)?;
    }
    Ok(prefs)
}

/// What the camera is doing now (the `camera-status` event tells each change after this).
#[tauri::command]
pub fn camera_status(state: State<'_, AppState>) -> CameraStatus {
    state
        .camera
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .map_or(CameraStatus::Stopped, |camera| {
            camera.status().borrow().clone()
        })
}

/// The cameras the system knows, and the chosen one.
#[tauri::command]
pub async fn cameras(state: State<'_, AppState>) -> Result<CameraList> {
    // Listing opens device files; keep it off the async threads.
    let cameras = tauri::async_runtime::spawn_blocking(gerbang_gate::camera::list_cameras)
        .await
        .map_err(|e| IpcError::new(ErrorKind::Internal, e.to_string()))?
        .map_err(|e| IpcError::new(ErrorKind::Internal, e.to_string()))?;
    Ok(CameraList {
        cameras,
        chosen: state.store().camera()?,
    })
}

/// Chooses the camera by its number in the list (`null`: the first the system lists) and
/// restarts the camera with it.
#[tauri::command]
pub fn choose_camera(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    index: Option<u32>,
) -> Result<()> {
    let choice = match index {
        Some(index) => {
            let known = gerbang_gate::camera::list_cameras()
                .map_err(|e| IpcError::new(ErrorKind::Internal, e.to_string()))?;
            let info = known.iter().find(|c| c.index == index).ok_or_else(|| {
                IpcError::new(
                    ErrorKind::NotFound,
                    format!("there is no camera number {index}; plug it in and look again"),
                )
            })?;
            Some(gerbang_gate::camera::CameraChoice::from(info))
        }
        None => None,
    };
    state.store().set_camera(choice.as_ref())?;
    crate::camera::restart(&app)?;
    Ok(())
}

/// Pairs with another relay from its pairing text; this laptop stops hosting.
#[tauri::command]
pub async fn pair(state: State<'_, AppState>, text: String) -> Result<String> {
    let paired = state.pair(&text).await.map_err(|e| match e
        .downcast::<gerbang_gate::station::StationPairError>()
    {
        Ok(e) => IpcError::from(e),
        Err(e) => IpcError::from(e),
    })?;
    Ok(paired.device_name)
}

/// Hosts the relay on this laptop again (and links the gate to it).
#[tauri::command]
pub async fn host_relay(state: State<'_, AppState>) -> Result<()> {
    Ok(state.host_relay().await?)
}

/// A one-time pairing text (and its QR code) for another device to join the hosted relay.
#[tauri::command]
pub async fn pairing_offer(state: State<'_, AppState>, role: Role) -> Result<PairingOffer> {
    let hosted = state.hosted.lock().await;
    let hosted = hosted.as_ref().ok_or_else(|| {
        IpcError::new(
            ErrorKind::NotReady,
            "this laptop does not host the relay; pairing codes come from the relay's host",
        )
    })?;
    let link = hosted.pairing_link(role)?;
    let text = link.to_string();
    let qr_svg = gerbang_core::qr::svg(&text)
        .map_err(|e| IpcError::new(ErrorKind::Internal, e.to_string()))?;
    Ok(PairingOffer {
        code: link.code,
        text,
        role,
        qr_svg,
        expires_in_minutes: (gerbang_relay::auth::PAIRING_TTL_MS / Millis::MINUTE) as u32,
    })
}

/// Demo tickets with their QR codes, to print or show on a phone: only on a laptop that
/// hosts the relay (it holds the event's signing key).
#[tauri::command]
pub async fn demo_tickets(
    state: State<'_, AppState>,
    first: u32,
    count: u32,
) -> Result<Vec<DemoTicket>> {
    let hosted = state.hosted.lock().await;
    let hosted = hosted.as_ref().ok_or_else(|| {
        IpcError::new(
            ErrorKind::NotReady,
            "demo tickets are made by the relay's host; this laptop does not host it",
        )
    })?;
    let event_id = hosted.admin().active_event();
    gerbang_relay::demo::issue_tickets(hosted.admin(), event_id, first, count.min(100) as usize)?
        .into_iter()
        .map(|t| {
            let qr_svg = gerbang_core::qr::svg(&t.code)
                .map_err(|e| IpcError::new(ErrorKind::Internal, e.to_string()))?;
            Ok(DemoTicket {
                ticket_id: t.ticket_id,
                holder: t.holder,
                ticket_type: t.ticket_type,
                code: t.code,
                qr_svg,
            })
        })
        .collect()
}

fn gate_setup(state: &AppState) -> Result<GateSetup> {
    let rules = state.store().gate_rules()?.ok_or_else(|| {
        IpcError::new(
            ErrorKind::NotReady,
            "this gate has no name yet; set one in Settings",
        )
    })?;
    Ok(GateSetup {
        name: rules.gate,
        direction: rules.direction,
        allowed_types: rules.allowed_types,
    })
}

fn event_summary(state: &AppState) -> Result<Option<EventSummary>> {
    let store = state.store();
    let Some(event_id) = store.active_event()? else {
        return Ok(None);
    };
    Ok(store.event(event_id)?.map(|e| EventSummary {
        id: e.id,
        name: e.name,
        capacity: e.capacity,
        utc_offset_minutes: e.utc_offset_minutes,
        ticket_types: e.ticket_types,
    }))
}

pub(crate) fn counters(state: &AppState) -> Result<GateCounters> {
    let store = state.store();
    let Some(event_id) = store.active_event()? else {
        return Ok(GateCounters::default());
    };
    let gate = store.gate_rules()?.map(|g| g.gate);
    Ok(GateCounters {
        event: store.counters(event_id, None)?,
        gate: store.counters(event_id, gate.as_deref())?,
    })
}
