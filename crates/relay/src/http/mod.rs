//! The HTTP side of the relay's one port: the WebSocket upgrade and the REST API.
//!
//! * this file: the router, the error shape, health, the WebSocket upgrade and pairing;
//! * [`admin`]: the bearer-token extractor with its role checks, and the administration
//!   endpoints (event creation, ticket imports, pairing codes, devices);
//! * [`events`]: reading and updating events, their statistics and signing keys, and gates;
//! * [`tickets`]: the ticket list, revocation, printable PDF and PNG exports;
//! * [`attendance`]: the attendance log, as JSON pages and as a streamed CSV file;
//! * [`messages`]: operator messages sent over HTTP;
//! * [`metrics`]: `GET /metrics` and the middleware that counts every request;
//! * [`snapshot`]: an event's snapshot, streamed, for devices that are new or far behind.

mod admin;
mod attendance;
mod events;
mod messages;
mod metrics;
mod snapshot;
mod tickets;

use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::auth;
use crate::hub::Shared;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/v1/health", get(health))
        .route("/api/v1/ws", get(websocket))
        .route("/api/v1/pair", post(pair))
        .route(
            "/api/v1/events",
            post(admin::put_event).get(events::list_events),
        )
        .route(
            "/api/v1/events/{event_id}",
            get(events::get_event).put(events::update_event),
        )
        .route("/api/v1/events/{event_id}/stats", get(events::event_stats))
        .route("/api/v1/events/{event_id}/keys", post(events::add_key))
        .route(
            "/api/v1/events/{event_id}/tickets",
            post(admin::import_tickets).get(tickets::list_tickets),
        )
        .route("/api/v1/events/{event_id}/tickets.pdf", get(tickets::pdf))
        .route(
            "/api/v1/events/{event_id}/tickets/{ticket}",
            get(tickets::png),
        )
        .route(
            "/api/v1/events/{event_id}/tickets/{ticket}/revoke",
            post(tickets::revoke),
        )
        .route(
            "/api/v1/events/{event_id}/attendance",
            get(attendance::page),
        )
        .route(
            "/api/v1/events/{event_id}/attendance.csv",
            get(attendance::csv),
        )
        .route("/api/v1/gates", get(events::list_gates))
        .route(
            "/api/v1/gates/{name}",
            get(events::get_gate).put(events::put_gate),
        )
        .route("/api/v1/messages", post(messages::send))
        .route(
            "/api/v1/events/{event_id}/snapshot",
            get(snapshot::snapshot),
        )
        .route("/api/v1/pairing-codes", post(admin::create_pairing_code))
        .route("/api/v1/devices", get(admin::list_devices))
        .route(
            "/api/v1/devices/{device_id}/revoke",
            post(admin::revoke_device),
        )
        .route("/metrics", get(metrics::render))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&shared),
            metrics::count,
        ))
        .with_state(shared)
}

/// An error as every endpoint returns it: a stable code and a sentence for people.
#[derive(Debug, Serialize)]
pub(crate) struct ApiError {
    #[serde(skip)]
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Per-line problems of a refused import.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<admin::LineError>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            errors: Vec::new(),
        }
    }

    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    fn internal(err: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            err.to_string(),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(&self)).into_response()
    }
}

#[derive(Debug, Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
    head: u64,
}

async fn health(State(shared): State<Arc<Shared>>) -> Result<Json<Health>, ApiError> {
    Ok(Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        head: shared.reader.head().map_err(ApiError::internal)?,
    }))
}

async fn websocket(ws: WebSocketUpgrade, State(shared): State<Arc<Shared>>) -> Response {
    let limits = &shared.limits;
    // Small buffers: an idle gate connection must cost kilobytes, not tungstenite's default
    // 128 KiB read buffer. What gates send is small (a scan is about 450 bytes, a ping 30),
    // and a larger frame grows the buffer as needed. 2 KiB rather than 4 KiB saved 2 KiB per
    // idle connection (docs/BENCHMARKS.md); a burst of uploads takes more, smaller reads.
    ws.read_buffer_size(2 * 1024)
        // Messages are queued up to this much before a write, so a burst (the acks of one
        // group commit, the entries it published) goes out in one write; each `send` still
        // writes at once. The buffer keeps its size once grown, so it stays small.
        .write_buffer_size(8 * 1024)
        .max_write_buffer_size(limits.max_message_bytes * 4)
        .max_message_size(limits.max_message_bytes)
        .max_frame_size(limits.max_message_bytes)
        .on_upgrade(move |socket| crate::ws::serve(socket, shared))
}

#[derive(Debug, Deserialize)]
struct PairRequest {
    code: String,
    device_name: String,
}

#[derive(Debug, Serialize)]
struct PairResponse {
    device_id: String,
    device_name: String,
    role: gerbang_core::protocol::Role,
    token: String,
}

async fn pair(
    State(shared): State<Arc<Shared>>,
    Json(request): Json<PairRequest>,
) -> Result<Json<PairResponse>, ApiError> {
    let name = request.device_name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "device_name must have 1 to 64 characters",
        ));
    }
    let now = (shared.clock)();
    let mut conn = shared.devices.lock().unwrap_or_else(|e| e.into_inner());
    match auth::redeem_pairing_code(&mut conn, &request.code, name, now)
        .map_err(ApiError::internal)?
    {
        Ok((device, token)) => Ok(Json(PairResponse {
            device_id: device.id,
            device_name: device.name,
            role: device.role,
            token,
        })),
        Err(reason) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "pairing_refused",
            reason,
        )),
    }
}
