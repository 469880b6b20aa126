//! `GET /api/v1/events/{event_id}/snapshot`: one event's snapshot, gzip-compressed JSON lines,
//! streamed as it is read (format: `gerbang_core::snapshot`; `docs/PROTOCOL.md`, "Snapshots").
//!
//! The snapshot is read and compressed on the blocking pool, in 64 KiB chunks handed to the
//! response through a small channel: the response never holds more than a few chunks, however
//! many tickets there are, and a client that stops reading stops the reading (and is given up
//! on after [`STALL_TIMEOUT`]).

use std::io::{self, Write};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use flate2::write::GzEncoder;
use flate2::Compression;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::admin::Caller;
use super::ApiError;
use crate::hub::Shared;
use crate::store::snapshot::Snapshot;

/// Compressed bytes per chunk of the response.
const CHUNK: usize = 64 * 1024;
/// Chunks waiting for the client, at most.
const CHUNKS_IN_FLIGHT: usize = 4;
/// A client that takes nothing for this long is given up on.
const STALL_TIMEOUT: Duration = Duration::from_secs(30);
/// The response header with the snapshot's `seq`, for clients that want it before the body.
pub(crate) const SEQ_HEADER: &str = "gerbang-snapshot-seq";

/// Any paired device may download a snapshot: gates and supervisor screens both keep a copy.
pub(crate) async fn snapshot(
    State(shared): State<Arc<Shared>>,
    _caller: Caller,
    Path(event_id): Path<u32>,
) -> Result<Response, ApiError> {
    // Wait for a turn before opening the read transaction: every snapshot being built costs a
    // core and keeps the WAL from being checkpointed past its start.
    let permit = Arc::clone(&shared.snapshots)
        .acquire_owned()
        .await
        .map_err(ApiError::internal)?;
    let (location, now) = (shared.location.clone(), (shared.clock)());
    let opened = tokio::task::spawn_blocking(move || Snapshot::open(&location, event_id, now))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let Some(snapshot) = opened else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("there is no event {event_id}"),
        ));
    };
    let seq = snapshot.header().seq;

    let (chunks, body) = mpsc::channel::<io::Result<Bytes>>(CHUNKS_IN_FLIGHT);
    let sink = ChunkSink {
        buf: Vec::with_capacity(CHUNK),
        chunks: chunks.clone(),
        runtime: tokio::runtime::Handle::current(),
        shutdown: shared.shutdown.clone(),
    };
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        if let Err(e) = produce(snapshot, sink) {
            // The response has started: the only way left to say "this is not whole" is to
            // break the body off, which the client sees as a cut download. If the channel is
            // full the client is not reading anyway; the body then ends without gzip's trailer
            // and without the snapshot's end line, which every client checks.
            tracing::warn!("snapshot of event {event_id} at seq {seq} not completed: {e}");
            let _ = chunks.try_send(Err(e));
        }
    });
    let stream = futures_util::stream::unfold(body, |mut body| async move {
        body.recv().await.map(|chunk| (chunk, body))
    });
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/gzip"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(SEQ_HEADER, HeaderValue::from(seq));
    Ok(response)
}

/// Writes the whole snapshot through gzip into the chunk sink.
fn produce(snapshot: Snapshot, sink: ChunkSink) -> io::Result<()> {
    // Level 1: ticket lists compress almost as well as at the default level, at a fraction of
    // the relay's time (the relay may serve many gates at once).
    let gzip = GzEncoder::new(sink, Compression::fast());
    // Lines are written a field at a time; the compressor gets them in large pieces (it costs
    // a call into it per write, however small).
    let mut lines = io::BufWriter::with_capacity(CHUNK, gzip);
    snapshot.write(&mut lines).map_err(|e| match e {
        crate::Error::Io(e) => e,
        other => io::Error::other(other.to_string()),
    })?;
    let gzip = lines.into_inner().map_err(io::IntoInnerError::into_error)?;
    let mut sink = gzip.finish()?;
    sink.send()
}

/// Collects compressed bytes and hands them to the response in chunks.
struct ChunkSink {
    buf: Vec<u8>,
    chunks: mpsc::Sender<io::Result<Bytes>>,
    /// To wait on the channel (with a timeout) from the blocking thread.
    runtime: tokio::runtime::Handle,
    /// The relay is stopping: give up, so shutdown does not wait for a slow download.
    shutdown: CancellationToken,
}

impl ChunkSink {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        let (chunks, shutdown) = (&self.chunks, &self.shutdown);
        self.runtime.block_on(async {
            tokio::select! {
                sent = tokio::time::timeout(STALL_TIMEOUT, chunks.send(Ok(chunk))) => match sent {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(_)) => Err(io::Error::new(io::ErrorKind::BrokenPipe, "the client went away")),
                    Err(_) => Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("the client read nothing for {} seconds", STALL_TIMEOUT.as_secs()),
                    )),
                },
                () = shutdown.cancelled() => Err(io::Error::other("the relay is stopping")),
            }
        })
    }
}

impl Write for ChunkSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
