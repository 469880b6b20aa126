//! Operator messages over HTTP, for screens and scripts without a WebSocket.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use gerbang_core::protocol::{LogBody, OperatorMessage, Role};
use serde::{Deserialize, Serialize};

use super::admin::Caller;
use super::ApiError;
use crate::hub::Shared;

#[derive(Debug, Deserialize)]
pub(crate) struct MessageRequest {
    /// Made by the sender, like `send_message`'s; one is made when absent.
    message_id: Option<uuid::Uuid>,
    /// A gate name; absent or null for everyone.
    to: Option<String>,
    text: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct Sent {
    /// The message's place in the log.
    seq: u64,
    message: OperatorMessage,
}

/// `POST /api/v1/messages` (supervisor or admin): becomes a `message` log entry, exactly as the
/// WebSocket's `send_message`, so every device receives it.
pub(crate) async fn send(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Json(request): Json<MessageRequest>,
) -> Result<Json<Sent>, ApiError> {
    caller.require(Role::Supervisor)?;
    let text = request.text.trim();
    if text.is_empty() || text.chars().count() > 500 {
        return Err(ApiError::bad_request(
            "a message must have 1 to 500 characters",
        ));
    }
    let to = request
        .to
        .map(|to| to.trim().to_owned())
        .filter(|to| !to.is_empty());
    let message = OperatorMessage {
        message_id: request.message_id.unwrap_or_else(uuid::Uuid::now_v7),
        from: caller.0.name.clone(),
        to,
        text: text.to_owned(),
        at: (shared.clock)(),
    };
    let entry = shared
        .writer
        .append(LogBody::Message {
            message: message.clone(),
        })
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(Sent {
        seq: entry.seq,
        message,
    }))
}
