//! Taking in a snapshot when the relay says `snapshot_needed`: download it over HTTP(S) (the
//! relay's certificate pinned, as for the WebSocket), then apply it in one transaction with the
//! cursor ([`Store::apply_snapshot`]).
//!
//! The download goes to an anonymous temporary file first and is applied from there,
//! decompressed as it is read. So the gate keeps deciding scans while the bytes cross the
//! network (the store's write lock is taken only to apply), and a download cut off half way
//! changes nothing: it is never applied.

use std::io::{BufReader, Seek, Write};
use std::sync::Arc;
use std::time::Duration;

use flate2::read::GzDecoder;
use tokio::sync::mpsc;

use super::transport::{causes, describe};
use super::{Shared, SnapshotProgress, SnapshotStage};
use crate::store::SnapshotApplied;

/// Time allowed until the relay starts answering: it may be building other gates' snapshots
/// first.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Time allowed between two pieces of the download.
const STALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Downloads and applies the snapshot at `path` (as `snapshot_needed` gave it). `Ok(None)`
/// when the engine was stopped meanwhile; errors are in plain words.
pub(super) async fn fetch(
    shared: &Arc<Shared>,
    path: &str,
) -> Result<Option<SnapshotApplied>, String> {
    let downloaded = tokio::select! {
        () = shared.stop.cancelled() => None,
        downloaded = download(shared, path) => Some(downloaded),
    };
    let result = match downloaded {
        None => Ok(None),
        Some(Err(error)) => Err(error),
        Some(Ok(file)) => apply(shared, file).await,
    };
    shared.update(|s| s.snapshot = None);
    result
}

/// Downloads the snapshot into a temporary file, rewound for reading.
async fn download(shared: &Shared, path: &str) -> Result<std::fs::File, String> {
    // The path comes from the relay; the device token goes only to the relay itself.
    if !path.starts_with("/api/") || path.contains("//") || path.contains("..") {
        return Err(format!(
            "the relay named a snapshot at {path:?}, which is not a path on the relay"
        ));
    }
    let transport = shared.transport.as_ref().map_err(ToString::to_string)?;
    let relay = transport.relay();
    let url = transport.http_url(path);
    let client = transport.http_client()?;
    shared.update(|s| {
        s.snapshot = Some(SnapshotProgress {
            stage: SnapshotStage::Downloading,
            done: 0,
            total: None,
        });
    });
    let request = client
        .get(&url)
        .bearer_auth(&shared.config.pairing.token)
        .send();
    let mut response = tokio::time::timeout(START_TIMEOUT, request)
        .await
        .map_err(|_| {
            format!(
                "the relay did not start sending the snapshot within {} seconds",
                START_TIMEOUT.as_secs()
            )
        })?
        .map_err(|e| describe(&e, relay))?;
    let status = response.status();
    if !status.is_success() {
        #[derive(serde::Deserialize)]
        struct ApiError {
            code: String,
            message: String,
        }
        let body = response.text().await.unwrap_or_default();
        return Err(match serde_json::from_str::<ApiError>(&body) {
            Ok(e) => format!(
                "the relay refused the snapshot ({status}, {}): {}",
                e.code, e.message
            ),
            Err(_) => format!("the relay refused the snapshot ({status})"),
        });
    }
    let total = response.content_length();
    // The file is written on the blocking pool, a chunk at a time, as the chunks arrive.
    let (chunks, to_disk) = mpsc::channel(8);
    let disk = write_to_temporary_file(to_disk);
    let mut received = 0u64;
    loop {
        let chunk = tokio::time::timeout(STALL_TIMEOUT, response.chunk())
            .await
            .map_err(|_| {
                format!(
                    "the snapshot download stalled: nothing for {} seconds",
                    STALL_TIMEOUT.as_secs()
                )
            })?
            .map_err(|e| format!("the snapshot download broke off: {}", causes(&e)))?;
        let Some(chunk) = chunk else { break };
        received += chunk.len() as u64;
        if chunks.send(chunk).await.is_err() {
            // The writer stopped: its error is below.
            break;
        }
        shared.update(|s| {
            s.snapshot = Some(SnapshotProgress {
                stage: SnapshotStage::Downloading,
                done: received,
                total,
            });
        });
    }
    drop(chunks);
    disk.await
        .map_err(|e| format!("the snapshot task failed: {e}"))?
        .map_err(|e| format!("could not keep the snapshot on disk: {e}"))
}

/// Writes the chunks into an anonymous temporary file (gone when closed, even after a crash)
/// on the blocking pool, and hands the file back rewound once the channel closes.
fn write_to_temporary_file<B: AsRef<[u8]> + Send + 'static>(
    mut chunks: mpsc::Receiver<B>,
) -> tokio::task::JoinHandle<std::io::Result<std::fs::File>> {
    tokio::task::spawn_blocking(move || {
        let mut file = tempfile::tempfile()?;
        while let Some(chunk) = chunks.blocking_recv() {
            file.write_all(chunk.as_ref())?;
        }
        file.rewind()?;
        Ok(file)
    })
}

/// Applies a downloaded snapshot on the blocking pool, reporting progress in the status. The
/// engine being stopped cancels it (nothing is kept).
async fn apply(
    shared: &Arc<Shared>,
    file: std::fs::File,
) -> Result<Option<SnapshotApplied>, String> {
    let store = Arc::clone(&shared.store);
    let progress = Arc::clone(shared);
    let applied = tokio::task::spawn_blocking(move || {
        let text = BufReader::with_capacity(
            256 * 1024,
            GzDecoder::new(BufReader::with_capacity(64 * 1024, file)),
        );
        store.apply_snapshot(text, |done, total| {
            progress.update(|s| {
                s.snapshot = Some(SnapshotProgress {
                    stage: SnapshotStage::Applying,
                    done,
                    total: Some(total),
                });
            });
            !progress.stop.is_cancelled()
        })
    })
    .await
    .map_err(|e| format!("the snapshot task failed: {e}"))?;
    match applied {
        Ok(applied) => {
            shared.update(|s| {
                s.cursor = applied.cursor;
                s.head = s.head.max(applied.cursor);
                s.outbox = applied.outbox;
            });
            Ok(Some(applied))
        }
        Err(crate::Error::Cancelled) => Ok(None),
        Err(e) => Err(format!(
            "the snapshot could not be applied, so nothing changed: {e}"
        )),
    }
}
