//! Tickets: the paged list (with each ticket's code for admins), revocation, and printable
//! exports: a PDF of every ticket, or one ticket's QR code as a PNG.
//!
//! A ticket's code is its barcode when it was imported with one (an opaque code), else a
//! signed code the relay issues on the fly with the event's newest signing key whose secret it
//! holds (`POST /api/v1/events/{id}/keys`). Codes are admission credentials: only admins see
//! or print them.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gerbang_core::protocol::{LogBody, Role};
use gerbang_core::{EventRules, EventSigner, Millis, TicketClaims, TicketRecord};
use serde::Serialize;

use super::admin::Caller;
use super::ApiError;
use crate::hub::Shared;
use crate::print::{Card, TicketPdf};

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1_000;
/// Tickets read from SQLite at a time while printing.
const PRINT_PAGE: usize = 200;

fn event_of(shared: &Shared, event_id: u32) -> Result<EventRules, ApiError> {
    shared
        .reader
        .event(event_id)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(format!("there is no event {event_id}")))
}

/// The text to put in a ticket's QR code, if the relay can make one.
fn code_of(ticket: &TicketRecord, signer: Option<&EventSigner>) -> Result<Option<String>, String> {
    if let Some(barcode) = &ticket.barcode {
        return Ok(Some(barcode.clone()));
    }
    let Some(signer) = signer else {
        return Ok(None);
    };
    signer
        .issue(&TicketClaims {
            event_id: ticket.event_id,
            ticket_id: ticket.ticket_id,
            type_id: ticket.type_id,
            valid_from: ticket.valid_from,
            valid_until: ticket.valid_until,
        })
        .map(Some)
        .map_err(|e| format!("ticket {} cannot be signed: {e}", ticket.ticket_id))
}

#[derive(Debug, Serialize)]
pub(crate) struct TicketView {
    ticket_id: u32,
    type_id: u16,
    /// The type's name in the event; null if the event has no such type any more.
    ticket_type: Option<String>,
    holder: String,
    /// Admins only (null for supervisors).
    barcode: Option<String>,
    valid_from: Option<Millis>,
    valid_until: Option<Millis>,
    revoked: bool,
    /// The QR code's text: admins only, and null when the ticket has no barcode and the relay
    /// holds no signing key of the event.
    code: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct TicketPage {
    tickets: Vec<TicketView>,
    /// Pass as `after` for the next page; null on the last page.
    next_after: Option<u32>,
}

/// `GET /api/v1/events/{event_id}/tickets?after=&limit=` (supervisor or admin).
pub(crate) async fn list_tickets(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(event_id): Path<u32>,
    RawQuery(raw): RawQuery,
) -> Result<Json<TicketPage>, ApiError> {
    caller.require(Role::Supervisor)?;
    let event = event_of(&shared, event_id)?;
    let (mut after, mut limit) = (0u32, DEFAULT_LIMIT);
    for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "after" => {
                after = value.parse().map_err(|_| {
                    ApiError::bad_request(format!("after must be a ticket number, not {value:?}"))
                })?;
            }
            "limit" => {
                limit = value
                    .parse()
                    .ok()
                    .filter(|l| (1..=MAX_LIMIT).contains(l))
                    .ok_or_else(|| {
                        ApiError::bad_request(format!("limit must be between 1 and {MAX_LIMIT}"))
                    })?;
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter {other:?}; the ticket list takes after and limit"
                )))
            }
        }
    }
    let admin = caller.role() == Role::Admin;
    let signer = if admin {
        shared.reader.signer(event_id).map_err(ApiError::internal)?
    } else {
        None
    };
    let mut tickets = shared
        .reader
        .tickets(event_id, after, limit + 1)
        .map_err(ApiError::internal)?;
    let more = tickets.len() > limit;
    tickets.truncate(limit);
    let next_after = if more {
        tickets.last().map(|t| t.ticket_id)
    } else {
        None
    };
    let tickets = tickets
        .into_iter()
        .map(|t| {
            let code = if admin {
                code_of(&t, signer.as_ref()).map_err(ApiError::internal)?
            } else {
                None
            };
            Ok(TicketView {
                ticket_id: t.ticket_id,
                type_id: t.type_id,
                ticket_type: event.type_name(t.type_id).map(str::to_owned),
                holder: t.holder,
                barcode: if admin { t.barcode } else { None },
                valid_from: t.valid_from,
                valid_until: t.valid_until,
                revoked: t.revoked,
                code,
            })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(Json(TicketPage {
        tickets,
        next_after,
    }))
}

#[derive(Debug, Serialize)]
pub(crate) struct Revoked {
    event_id: u32,
    ticket_id: u32,
    revoked: bool,
    /// The `ticket_revoked` entry's place in the log; null when it was already revoked.
    seq: Option<u64>,
}

/// `POST /api/v1/events/{event_id}/tickets/{ticket_id}/revoke` (supervisor or admin).
pub(crate) async fn revoke(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path((event_id, ticket_id)): Path<(u32, u32)>,
) -> Result<Json<Revoked>, ApiError> {
    caller.require(Role::Supervisor)?;
    event_of(&shared, event_id)?;
    let ticket = shared
        .reader
        .ticket(event_id, ticket_id)
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::not_found(format!("event {event_id} has no ticket {ticket_id}"))
        })?;
    let seq = if ticket.revoked {
        None
    } else {
        let entry = shared
            .writer
            .append(LogBody::TicketRevoked {
                event_id,
                ticket_id,
            })
            .await
            .map_err(ApiError::internal)?;
        Some(entry.seq)
    };
    Ok(Json(Revoked {
        event_id,
        ticket_id,
        revoked: true,
        seq,
    }))
}

fn no_key(event_id: u32, what: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "no_signing_key",
        format!(
            "{what} no barcode and the relay holds no signing key for event {event_id}, so it \
             has no code to print; create one with POST /api/v1/events/{event_id}/keys"
        ),
    )
}

/// `GET /api/v1/events/{event_id}/tickets/{ticket_id}.png` (admin): the ticket's QR code.
pub(crate) async fn png(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path((event_id, file)): Path<(u32, String)>,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    let ticket_id: u32 = file
        .strip_suffix(".png")
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no such resource {file:?}; a ticket's image is tickets/<ticket number>.png"
            ))
        })?;
    event_of(&shared, event_id)?;
    let ticket = shared
        .reader
        .ticket(event_id, ticket_id)
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::not_found(format!("event {event_id} has no ticket {ticket_id}"))
        })?;
    let signer = shared.reader.signer(event_id).map_err(ApiError::internal)?;
    let code = code_of(&ticket, signer.as_ref())
        .map_err(ApiError::internal)?
        .ok_or_else(|| no_key(event_id, &format!("ticket {ticket_id} has")))?;
    let png = gerbang_core::qr::png(&code, 8).map_err(ApiError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"ticket-{event_id}-{ticket_id}.png\""),
            ),
        ],
        png,
    )
        .into_response())
}

/// `GET /api/v1/events/{event_id}/tickets.pdf` (admin): every ticket not revoked, eight to an
/// A4 page, in ticket number order. Streamed: a blocking task reads [`PRINT_PAGE`] tickets at a
/// time and sends the finished pages through a channel of two.
pub(crate) async fn pdf(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(event_id): Path<u32>,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    let event = event_of(&shared, event_id)?;
    let signer = shared.reader.signer(event_id).map_err(ApiError::internal)?;
    if signer.is_none() {
        let unsigned = shared
            .reader
            .unsigned_tickets(event_id)
            .map_err(ApiError::internal)?;
        if unsigned > 0 {
            return Err(no_key(event_id, &format!("{unsigned} tickets have")));
        }
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    tokio::task::spawn_blocking(move || {
        let fail = |tx: &tokio::sync::mpsc::Sender<_>, message: String| {
            // The status line is long gone: all a client can be told is that the body broke.
            tracing::error!("printing the tickets of event {event_id} failed: {message}");
            let _ = tx.blocking_send(Err(std::io::Error::other(message)));
        };
        let mut pdf = TicketPdf::new();
        let mut after = 0;
        loop {
            let tickets = match shared.reader.tickets(event_id, after, PRINT_PAGE) {
                Ok(tickets) => tickets,
                Err(err) => return fail(&tx, err.to_string()),
            };
            for ticket in tickets.iter().filter(|t| !t.revoked) {
                let code = match code_of(ticket, signer.as_ref()) {
                    Ok(Some(code)) => code,
                    Ok(None) => {
                        return fail(&tx, format!("ticket {} has no code", ticket.ticket_id))
                    }
                    Err(message) => return fail(&tx, message),
                };
                let card = Card {
                    event_name: event.name.clone(),
                    ticket_id: ticket.ticket_id,
                    holder: ticket.holder.clone(),
                    ticket_type: event
                        .type_name(ticket.type_id)
                        .map(str::to_owned)
                        .unwrap_or_else(|| format!("Type {}", ticket.type_id)),
                    code,
                };
                if let Err(err) = pdf.add(card) {
                    return fail(&tx, format!("ticket {}: {err}", ticket.ticket_id));
                }
            }
            if tx.blocking_send(Ok(Bytes::from(pdf.take()))).is_err() {
                return; // The client went away.
            }
            match tickets.last() {
                Some(last) if tickets.len() == PRINT_PAGE => after = last.ticket_id,
                _ => break,
            }
        }
        let empty = format!("{} has no tickets to print.", event.name);
        let _ = tx.blocking_send(Ok(Bytes::from(pdf.finish(&empty))));
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"tickets-event-{event_id}.pdf\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}
