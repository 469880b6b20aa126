//! Administration over HTTP: events, ticket imports, pairing codes and devices.
//!
//! Every request carries `Authorization: Bearer <device token>`; these endpoints need the admin
//! role. Changes to events and tickets go through the writer, so they are log entries every
//! gate receives.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::Json;
use gerbang_core::import::parse_tickets_csv;
use gerbang_core::protocol::{LogBody, Role};
use gerbang_core::{EventRules, Millis};
use serde::{Deserialize, Serialize};

use super::ApiError;
use crate::auth::{self, Device, Refusal};
use crate::hub::Shared;

/// The device making a request, from its bearer token.
pub(crate) struct Caller(pub Device);

impl FromRequestParts<Arc<Shared>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, shared: &Arc<Shared>) -> Result<Self, ApiError> {
        let unauthorized =
            |message: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message);
        let header = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
            unauthorized("this endpoint needs an Authorization: Bearer <token> header")
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| unauthorized("the Authorization header must be \"Bearer <token>\""))?;
        match shared
            .authenticate(token.trim())
            .map_err(ApiError::internal)?
        {
            Ok(device) => Ok(Caller(device)),
            Err(Refusal::Unknown) => Err(unauthorized("this token is not known to the relay")),
            Err(Refusal::Revoked) => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "device_revoked",
                "this device was revoked by an administrator",
            )),
        }
    }
}

/// Roles in order of power: each may do what the ones before it may.
fn rank(role: Role) -> u8 {
    match role {
        Role::Gate => 0,
        Role::Supervisor => 1,
        Role::Admin => 2,
    }
}

impl Caller {
    pub fn role(&self) -> Role {
        self.0.role
    }

    /// Refuses with `403 forbidden`, naming the role needed, unless the caller has at least
    /// `needed`.
    pub fn require(&self, needed: Role) -> Result<(), ApiError> {
        if rank(self.0.role) >= rank(needed) {
            return Ok(());
        }
        let needs = match needed {
            Role::Admin => "an admin token",
            _ => "a supervisor or admin token",
        };
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "{} devices cannot do this; it needs {needs}",
                auth::role_str(self.0.role)
            ),
        ))
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        self.require(Role::Admin)
    }

    /// Reading one event: supervisors and admins any event, a gate only the event it checks.
    pub fn require_event(&self, shared: &Shared, event_id: u32) -> Result<(), ApiError> {
        if self.0.role == Role::Gate && event_id != shared.active_event() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "a gate may read only the event it checks ({}); reading event {event_id} \
                     needs a supervisor or admin token",
                    shared.active_event()
                ),
            ));
        }
        Ok(())
    }
}

/// `POST /api/v1/events`: creates or replaces an event's rules.
pub(crate) async fn put_event(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Json(event): Json<EventRules>,
) -> Result<Json<EventRules>, ApiError> {
    caller.require_admin()?;
    super::events::validate(&event)?;
    shared
        .writer
        .append(LogBody::EventUpdated {
            event: event.clone(),
        })
        .await
        .map_err(ApiError::internal)?;
    if shared.active_event() == 0 {
        *shared
            .active_event
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = event.id;
    }
    Ok(Json(event))
}

/// One bad line of a refused import.
#[derive(Debug, Serialize)]
pub(crate) struct LineError {
    line: u64,
    reason: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct Imported {
    imported: usize,
    /// The log's sequence number after the import.
    head: u64,
}

/// `POST /api/v1/events/{event_id}/tickets`: imports a CSV ticket list (the body, UTF-8). Every
/// bad row is reported with its line; nothing is imported unless every row is good.
pub(crate) async fn import_tickets(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(event_id): Path<u32>,
    body: String,
) -> Result<Json<Imported>, ApiError> {
    caller.require_admin()?;
    let event = shared
        .reader
        .event(event_id)
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("there is no event {event_id}"),
            )
        })?;
    let first_free = shared
        .reader
        .next_ticket_id(event_id)
        .map_err(ApiError::internal)?;
    let tickets = parse_tickets_csv(body.as_bytes(), &event, first_free).map_err(|errors| {
        let mut error = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "import_failed",
            errors.to_string(),
        );
        error.errors = errors
            .errors
            .into_iter()
            .map(|e| LineError {
                line: e.line,
                reason: e.reason,
            })
            .collect();
        error
    })?;
    let count = tickets.len();
    let entries = shared
        .writer
        .append_all(
            tickets
                .into_iter()
                .map(|ticket| LogBody::TicketUpsert { ticket })
                .collect(),
        )
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::CONFLICT,
                "import_failed",
                format!("the tickets could not be stored, so none was imported: {e}"),
            )
        })?;
    let head = match entries.last() {
        Some(entry) => entry.seq,
        None => shared.reader.head().map_err(ApiError::internal)?,
    };
    Ok(Json(Imported {
        imported: count,
        head,
    }))
}

#[derive(Debug, Deserialize)]
pub(crate) struct PairingRequest {
    role: Role,
}

#[derive(Debug, Serialize)]
pub(crate) struct PairingCode {
    code: String,
    role: Role,
    expires_at: Millis,
}

/// `POST /api/v1/pairing-codes`: a one-time code for a new device of the given role.
pub(crate) async fn create_pairing_code(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Json(request): Json<PairingRequest>,
) -> Result<Json<PairingCode>, ApiError> {
    caller.require_admin()?;
    let now = (shared.clock)();
    let conn = shared.devices.lock().unwrap_or_else(|e| e.into_inner());
    let code = auth::create_pairing_code(&conn, request.role, now).map_err(ApiError::internal)?;
    Ok(Json(PairingCode {
        code,
        role: request.role,
        expires_at: now.plus(auth::PAIRING_TTL_MS),
    }))
}

#[derive(Debug, Serialize)]
pub(crate) struct DeviceView {
    device_id: String,
    name: String,
    role: Role,
    revoked: bool,
}

/// `GET /api/v1/devices`: every paired device.
pub(crate) async fn list_devices(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
) -> Result<Json<Vec<DeviceView>>, ApiError> {
    caller.require_admin()?;
    let conn = shared.devices.lock().unwrap_or_else(|e| e.into_inner());
    let devices = auth::list_devices(&conn).map_err(ApiError::internal)?;
    Ok(Json(
        devices
            .into_iter()
            .map(|d| DeviceView {
                device_id: d.id,
                name: d.name,
                role: d.role,
                revoked: d.revoked,
            })
            .collect(),
    ))
}

/// `POST /api/v1/devices/{device_id}/revoke`: the device's token is refused from now on, and
/// its open connections are closed.
pub(crate) async fn revoke_device(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(device_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    if shared
        .revoke_device(&device_id)
        .map_err(ApiError::internal)?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("there is no device {device_id}"),
        ))
    }
}
