//! Events (read, update, statistics, signing keys) and gates (which ticket types each admits).

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gerbang_core::protocol::{EventStats, LogBody, Role};
use gerbang_core::{EventKey, EventRules, EventSigner};
use serde::{Deserialize, Serialize};

use super::admin::Caller;
use super::ApiError;
use crate::hub::Shared;
use crate::writer::Configure;

/// Checks an event's rules before they are logged: what a gate could not apply sensibly is
/// refused here, with what to change.
pub(crate) fn validate(event: &EventRules) -> Result<(), ApiError> {
    if event.id == 0 || event.name.trim().is_empty() {
        return Err(ApiError::bad_request(
            "an event needs an id above 0 and a name",
        ));
    }
    if event.name.chars().count() > 200 {
        return Err(ApiError::bad_request(
            "an event's name may have at most 200 characters",
        ));
    }
    if let (Some(open), Some(close)) = (event.doors_open, event.doors_close) {
        if open >= close {
            return Err(ApiError::bad_request(
                "doors_open must be before doors_close",
            ));
        }
    }
    if !(-12 * 60..=14 * 60).contains(&event.utc_offset_minutes) {
        return Err(ApiError::bad_request(
            "utc_offset_minutes must be between -720 and 840 (UTC-12:00 to UTC+14:00)",
        ));
    }
    let mut ids = HashSet::new();
    for t in &event.ticket_types {
        if t.name.trim().is_empty() {
            return Err(ApiError::bad_request(format!(
                "ticket type {} has no name",
                t.id
            )));
        }
        if !ids.insert(t.id) {
            return Err(ApiError::bad_request(format!(
                "ticket type {} appears twice; type ids must be unique",
                t.id
            )));
        }
    }
    Ok(())
}

fn no_event(event_id: u32) -> ApiError {
    ApiError::not_found(format!("there is no event {event_id}"))
}

fn event_of(shared: &Shared, event_id: u32) -> Result<EventRules, ApiError> {
    shared
        .reader
        .event(event_id)
        .map_err(ApiError::internal)?
        .ok_or_else(|| no_event(event_id))
}

/// `GET /api/v1/events`: every event (supervisor or admin).
pub(crate) async fn list_events(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
) -> Result<Json<Vec<EventRules>>, ApiError> {
    caller.require(Role::Supervisor)?;
    Ok(Json(shared.reader.events().map_err(ApiError::internal)?))
}

/// `GET /api/v1/events/{event_id}`: one event (a gate: only the event it checks).
pub(crate) async fn get_event(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(event_id): Path<u32>,
) -> Result<Json<EventRules>, ApiError> {
    caller.require_event(&shared, event_id)?;
    Ok(Json(event_of(&shared, event_id)?))
}

/// `PUT /api/v1/events/{event_id}`: replaces an existing event's rules (admin). The body is the
/// whole EventRules; its `id`, if given, must be the path's.
pub(crate) async fn update_event(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(event_id): Path<u32>,
    Json(mut body): Json<serde_json::Value>,
) -> Result<Json<EventRules>, ApiError> {
    caller.require_admin()?;
    match body.get("id") {
        None => {
            if let Some(object) = body.as_object_mut() {
                object.insert("id".into(), event_id.into());
            }
        }
        Some(id) if id.as_u64() == Some(u64::from(event_id)) => {}
        Some(id) => {
            return Err(ApiError::bad_request(format!(
                "the body's id {id} is not the event in the path ({event_id}); an event's id \
                 cannot change"
            )))
        }
    }
    let event: EventRules = serde_json::from_value(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not an event's rules: {e}")))?;
    validate(&event)?;
    event_of(&shared, event_id)?;
    shared
        .writer
        .append(LogBody::EventUpdated {
            event: event.clone(),
        })
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(event))
}

/// `GET /api/v1/events/{event_id}/stats`: the live figures, the same object `stats` pushes.
pub(crate) async fn event_stats(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(event_id): Path<u32>,
) -> Result<Json<EventStats>, ApiError> {
    caller.require_event(&shared, event_id)?;
    event_of(&shared, event_id)?;
    shared
        .stats
        .event(event_id)
        .map(Json)
        .ok_or_else(|| no_event(event_id))
}

/// `POST /api/v1/events/{event_id}/keys`: a new signing key for the event (admin). The relay
/// keeps the secret; gates receive the public key in a `key_added` entry.
pub(crate) async fn add_key(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(event_id): Path<u32>,
) -> Result<(StatusCode, Json<EventKey>), ApiError> {
    caller.require_admin()?;
    event_of(&shared, event_id)?;
    let key_id = shared
        .reader
        .next_key_id(event_id)
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "too_many_keys",
                format!("event {event_id} has used all 255 key ids"),
            )
        })?;
    let mut secret = [0u8; 32];
    getrandom::getrandom(&mut secret).map_err(ApiError::internal)?;
    let signer = EventSigner::from_secret(event_id, key_id, secret);
    let key = signer.public_key();
    shared
        .writer
        .configure(Configure::SigningKey { key, secret })
        .await
        .map_err(ApiError::internal)?;
    Ok((StatusCode::CREATED, Json(key)))
}

/// A gate as the relay knows it.
#[derive(Debug, Serialize)]
pub(crate) struct GateView {
    name: String,
    /// Ticket type ids admitted here; empty admits every type.
    allowed_types: Vec<u16>,
}

/// `GET /api/v1/gates`: every configured gate (supervisor or admin).
pub(crate) async fn list_gates(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
) -> Result<Json<Vec<GateView>>, ApiError> {
    caller.require(Role::Supervisor)?;
    let gates = shared.reader.gates().map_err(ApiError::internal)?;
    Ok(Json(
        gates
            .into_iter()
            .map(|(name, allowed_types)| GateView {
                name,
                allowed_types,
            })
            .collect(),
    ))
}

/// `GET /api/v1/gates/{name}`: one gate's settings (any role: a gate reads its own). A gate
/// never configured admits every type, so it is answered as such rather than 404.
pub(crate) async fn get_gate(
    State(shared): State<Arc<Shared>>,
    _caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<GateView>, ApiError> {
    let gates = shared.reader.gates().map_err(ApiError::internal)?;
    let allowed_types = gates
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, types)| types)
        .unwrap_or_default();
    Ok(Json(GateView {
        name,
        allowed_types,
    }))
}

#[derive(Debug, Deserialize)]
pub(crate) struct GateRequest {
    allowed_types: Vec<u16>,
}

/// `PUT /api/v1/gates/{name}`: sets the ticket types a gate admits (admin). The relay's
/// official verdicts use it from the next scan on.
pub(crate) async fn put_gate(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(name): Path<String>,
    Json(request): Json<GateRequest>,
) -> Result<Json<GateView>, ApiError> {
    caller.require_admin()?;
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(ApiError::bad_request(
            "a gate's name must have 1 to 64 characters",
        ));
    }
    let mut allowed_types = request.allowed_types;
    allowed_types.sort_unstable();
    allowed_types.dedup();
    // Every type must exist in some event, so a typo does not silently lock a gate.
    let known: HashSet<u16> = shared
        .reader
        .events()
        .map_err(ApiError::internal)?
        .iter()
        .flat_map(|e| e.ticket_types.iter().map(|t| t.id))
        .collect();
    if let Some(unknown) = allowed_types.iter().find(|t| !known.contains(t)) {
        return Err(ApiError::bad_request(format!(
            "ticket type {unknown} is not a type of any event; known types: {}",
            {
                let mut known: Vec<_> = known.iter().map(u16::to_string).collect();
                known.sort();
                known.join(", ")
            }
        )));
    }
    shared
        .writer
        .configure(Configure::Gate {
            name: name.clone(),
            allowed_types: allowed_types.clone(),
        })
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(GateView {
        name,
        allowed_types,
    }))
}
