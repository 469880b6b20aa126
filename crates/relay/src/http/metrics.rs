//! `GET /metrics`, and the middleware that counts every HTTP response by route and status.
//!
//! `/metrics` needs no token: Prometheus scrapers are simplest without one, and what it shows
//! is aggregate counters (no names, codes or tokens). A relay exposed beyond a trusted network
//! should keep the path behind its reverse proxy.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::hub::Shared;

pub(crate) async fn render(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        shared.metrics.render(),
    )
}

/// Counts the response under the route's template (`/api/v1/events/{event_id}`), so ids do
/// not multiply the series; requests that match no route count as `unmatched`.
pub(crate) async fn count(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    shared
        .metrics
        .http_request(&route, response.status().as_u16());
    response
}
