//! The attendance log: every scan of an event, newest first, filtered, as JSON pages
//! (`GET /api/v1/events/{id}/attendance`) or as one streamed CSV file (`attendance.csv`).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gerbang_core::protocol::Role;
use gerbang_core::{Direction, EventRules, Millis, VerdictKind};
use serde::Serialize;

use super::admin::Caller;
use super::ApiError;
use crate::hub::Shared;
use crate::store::{AttendanceFilter, AttendanceRow};

/// Rows per page unless `limit` says otherwise, and the most a page may have.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1_000;
/// Rows the CSV export reads from SQLite at a time: the file is streamed page by page.
const CSV_PAGE: usize = 500;

/// The query string, parsed: the filter, and the page.
struct Query {
    filter: AttendanceFilter,
    before_seq: Option<u64>,
    limit: usize,
    /// Whether `limit` was given (the CSV export refuses it).
    limit_given: bool,
}

fn parse_query(event_id: u32, raw: Option<&str>) -> Result<Query, ApiError> {
    let mut query = Query {
        filter: AttendanceFilter {
            event_id,
            ..AttendanceFilter::default()
        },
        before_seq: None,
        limit: DEFAULT_LIMIT,
        limit_given: false,
    };
    let number = |key: &str, value: &str| -> Result<i64, ApiError> {
        value.trim().parse::<i64>().map_err(|_| {
            ApiError::bad_request(format!("{key} must be a whole number, not {value:?}"))
        })
    };
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let value = value.as_ref();
        match key.as_ref() {
            "gate" => query.filter.gates.push(value.to_owned()),
            "from" => query.filter.from = Some(Millis(number("from", value)?)),
            "to" => query.filter.to = Some(Millis(number("to", value)?)),
            "verdict" => {
                for kind in value.split(',').map(str::trim).filter(|k| !k.is_empty()) {
                    let kind = VerdictKind::parse(kind).ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "unknown verdict {kind:?}; verdicts are: {}",
                            VerdictKind::ALL.map(VerdictKind::as_str).join(", ")
                        ))
                    })?;
                    query.filter.verdicts.push(kind);
                }
            }
            "direction" => {
                query.filter.direction = Some(match value {
                    "entry" => Direction::Entry,
                    "exit" => Direction::Exit,
                    _ => {
                        return Err(ApiError::bad_request(format!(
                            "direction must be entry or exit, not {value:?}"
                        )))
                    }
                });
            }
            "q" => query.filter.q = Some(value.to_owned()),
            "conflict" => {
                query.filter.conflict_only = match value {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => {
                        return Err(ApiError::bad_request(format!(
                            "conflict must be true or false, not {value:?}"
                        )))
                    }
                }
            }
            "before_seq" => {
                let seq = number("before_seq", value)?;
                query.before_seq = Some(
                    u64::try_from(seq)
                        .map_err(|_| ApiError::bad_request("before_seq must not be negative"))?,
                );
            }
            "limit" => {
                let limit = number("limit", value)?;
                if !(1..=MAX_LIMIT as i64).contains(&limit) {
                    return Err(ApiError::bad_request(format!(
                        "limit must be between 1 and {MAX_LIMIT}"
                    )));
                }
                query.limit = limit as usize;
                query.limit_given = true;
            }
            other => {
                // A misspelt filter must not silently return everything.
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter {other:?}; the attendance log takes gate, from, to, \
                     verdict, direction, q, conflict, before_seq and limit"
                )));
            }
        }
    }
    if let (Some(from), Some(to)) = (query.filter.from, query.filter.to) {
        if from >= to {
            return Err(ApiError::bad_request("from must be before to"));
        }
    }
    Ok(query)
}

fn event_for(shared: &Shared, caller: &Caller, event_id: u32) -> Result<EventRules, ApiError> {
    caller.require(Role::Supervisor)?;
    shared
        .reader
        .event(event_id)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(format!("there is no event {event_id}")))
}

#[derive(Debug, Serialize)]
pub(crate) struct Page {
    rows: Vec<AttendanceRow>,
    /// Pass as `before_seq` for the next (older) page; null on the last page.
    next_before_seq: Option<u64>,
}

/// `GET /api/v1/events/{event_id}/attendance` (supervisor or admin).
pub(crate) async fn page(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(event_id): Path<u32>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page>, ApiError> {
    let event = event_for(&shared, &caller, event_id)?;
    let query = parse_query(event_id, raw.as_deref())?;
    let rows = tokio::task::spawn_blocking(move || {
        shared.reader.attendance(
            &query.filter,
            &event.ticket_types,
            query.before_seq,
            query.limit + 1,
        )
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    // One row more than asked tells whether there is a next page, without a count.
    let mut rows = rows;
    let more = rows.len() > query.limit;
    rows.truncate(query.limit);
    let next_before_seq = if more {
        rows.last().map(|r| r.seq)
    } else {
        None
    };
    Ok(Json(Page {
        rows,
        next_before_seq,
    }))
}

/// The CSV header; the columns of [`csv_row`].
const CSV_HEADER: [&str; 12] = [
    "seq",
    "scanned_at",
    "logged_at",
    "gate",
    "direction",
    "official",
    "local",
    "conflict",
    "ticket_id",
    "holder",
    "ticket_type",
    "reason",
];

fn csv_row(out: &mut String, row: &AttendanceRow, offset: i32) {
    let seq = row.seq.to_string();
    let scanned = crate::csv::iso_time(row.scanned_at, offset);
    let logged = crate::csv::iso_time(row.logged_at, offset);
    let ticket = row.ticket_id.map(|t| t.to_string()).unwrap_or_default();
    crate::csv::row(
        out,
        [
            seq.as_str(),
            &scanned,
            &logged,
            &row.gate,
            &row.direction,
            &row.official,
            &row.local,
            if row.conflict { "true" } else { "false" },
            &ticket,
            row.holder.as_deref().unwrap_or(""),
            row.ticket_type.as_deref().unwrap_or(""),
            &row.reason,
        ],
    );
}

/// `GET /api/v1/events/{event_id}/attendance.csv` (supervisor or admin): every matching row,
/// newest first, streamed: a blocking task reads [`CSV_PAGE`] rows at a time and hands each
/// page's text to the response through a channel of two, so memory stays bounded whatever
/// the size of the log, and a client that goes away stops the reading.
pub(crate) async fn csv(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(event_id): Path<u32>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let event = event_for(&shared, &caller, event_id)?;
    let query = parse_query(event_id, raw.as_deref())?;
    if query.limit_given {
        return Err(ApiError::bad_request(
            "the CSV export has every matching row; limit is for the JSON pages",
        ));
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    tokio::task::spawn_blocking(move || {
        let mut text = String::new();
        crate::csv::row(&mut text, CSV_HEADER);
        let mut before = query.before_seq;
        loop {
            let rows =
                match shared
                    .reader
                    .attendance(&query.filter, &event.ticket_types, before, CSV_PAGE)
                {
                    Ok(rows) => rows,
                    Err(err) => {
                        // The header is long gone: all a client can be told is that the body broke.
                        tracing::error!("attendance export of event {event_id} failed: {err}");
                        let _ = tx.blocking_send(Err(std::io::Error::other(err.to_string())));
                        return;
                    }
                };
            for row in &rows {
                csv_row(&mut text, row, event.utc_offset_minutes);
            }
            if tx
                .blocking_send(Ok(Bytes::from(std::mem::take(&mut text))))
                .is_err()
            {
                return; // The client went away.
            }
            if rows.len() < CSV_PAGE {
                return;
            }
            before = rows.last().map(|r| r.seq);
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"attendance-event-{event_id}.csv\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}
