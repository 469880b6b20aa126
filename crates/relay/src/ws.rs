//! One WebSocket connection: hello, catch-up from the client's cursor, then live entries in
//! one direction and scans, messages and heartbeats in the other.
//!
//! Every connection reads the shared broadcast of committed entries through its own bounded
//! window: a client that falls too far behind is disconnected (it catches up from its cursor
//! when it comes back) instead of slowing the hub or growing memory.

use std::collections::VecDeque;
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::{FutureExt, SinkExt};
use gerbang_core::protocol::{
    self, ClientMessage, ErrorCode, LogBody, OperatorMessage, Role, ServerMessage,
};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::time::{timeout, Instant};

use crate::auth::{self, Refusal};
use crate::hub::{ConnectionSlot, Shared};
use crate::metrics::ConnectionGauge;
use crate::stats::{Notice, NoticeKind};
use crate::writer::PendingAck;

/// Why a connection ends, and what the client is told.
struct Close {
    code: ErrorCode,
    message: String,
}

impl Close {
    fn new(code: ErrorCode, message: impl Into<String>) -> Close {
        Close {
            code,
            message: message.into(),
        }
    }
}

/// What to tell a client whose frame could not be read: `too_large` for a frame over the
/// limit (the WebSocket layer refuses it before the protocol sees it), else the link broke and
/// nobody is listening, but the close says why anyway.
fn read_failed(error: &axum::Error, limit: usize) -> Close {
    // tungstenite's capacity error, "Space limit exceeded: Message too long: N > M", reaches
    // us only as text through axum's error type.
    let text = error.to_string();
    if text.contains("too long") || text.contains("Space limit") {
        Close::new(
            ErrorCode::TooLarge,
            format!("a frame was over the {limit}-byte limit"),
        )
    } else {
        Close::new(
            ErrorCode::InvalidMessage,
            format!("the frame could not be read: {text}"),
        )
    }
}

pub(crate) async fn serve(mut socket: WebSocket, shared: Arc<Shared>) {
    let outcome = Session::start(&mut socket, &shared).await;
    let close = match outcome {
        Ok(Started::Live(mut session)) => session.run(&mut socket, &shared).await,
        Ok(Started::SnapshotNeeded) => {
            // Nothing went wrong: the client downloads the snapshot and comes back.
            let _ = socket
                .send(Message::Close(Some(CloseFrame {
                    code: 1000,
                    reason: Utf8Bytes::from_static("snapshot needed"),
                })))
                .await;
            return;
        }
        Err(close) => Some(close),
    };
    match close {
        Some(close) => {
            shared.metrics.refused(close.code);
            let error = ServerMessage::Error {
                code: close.code,
                message: close.message.clone(),
            };
            let _ = socket
                .send(Message::Text(protocol::encode_server(&error).into()))
                .await;
            let _ = socket
                .send(Message::Close(Some(CloseFrame {
                    code: close.code.close_code(),
                    reason: Utf8Bytes::from(truncate_reason(&close.message)),
                })))
                .await;
        }
        None => {
            // Shutting down or the client left: say goodbye if the socket still listens.
            let _ = socket
                .send(Message::Close(Some(CloseFrame {
                    code: 1001,
                    reason: Utf8Bytes::from_static("relay going away"),
                })))
                .await;
        }
    }
}

/// Why a client must start over from a snapshot instead of catching up from its cursor, if it
/// must (see `docs/PROTOCOL.md`, section 4.2).
fn snapshot_reason(cursor: u64, head: u64, event_id: u32, limit: u64) -> Option<String> {
    if cursor > head {
        // The client has applied entries this log does not have: the relay's database was
        // replaced or restored. Its copy cannot be patched.
        Some(format!(
            "your cursor {cursor} is ahead of this relay's log (head {head}): the relay's data \
             was reset or restored, so your copy must be replaced"
        ))
    } else if event_id != 0 && head - cursor > limit {
        Some(format!(
            "cursor {cursor} is {} entries behind; a snapshot is faster",
            head - cursor
        ))
    } else {
        None
    }
}

/// How a connection goes on after `hello`.
enum Started {
    /// Caught up: the live session.
    Live(Box<Session>),
    /// Told `snapshot_needed`; the connection ends normally.
    SnapshotNeeded,
}

/// Close reasons are limited to 123 bytes by RFC 6455.
fn truncate_reason(message: &str) -> String {
    let mut end = message.len().min(120);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    message[..end].to_owned()
}

struct Session {
    device: auth::Device,
    /// Held for the connection's life; dropping it frees the device's connection slot.
    _slot: ConnectionSlot,
    live: tokio::sync::broadcast::Receiver<Arc<crate::writer::Published>>,
    /// Devices revoked while connected.
    revoked: tokio::sync::broadcast::Receiver<String>,
    /// Statistics and capacity alerts (see [`Session::wants`]).
    notices: tokio::sync::broadcast::Receiver<Arc<Notice>>,
    /// The fingerprint of the figures last sent, per event.
    stats_sent: std::collections::HashMap<u32, u64>,
    /// Counts this connection in the metrics while it lives.
    _gauge: ConnectionGauge,
    /// The last sequence number sent, so live entries already sent by catch-up are skipped.
    sent: u64,
    /// Scans uploaded and not yet durable, oldest first; acks go out in this order.
    pending: VecDeque<(uuid::Uuid, PendingAck)>,
    /// Scans received in this burst of frames and not yet handed to the writer: their
    /// signatures are checked together (see [`Session::submit_received`]).
    received: Vec<protocol::ScanRecord>,
    bucket: TokenBucket,
}

impl Session {
    async fn start(socket: &mut WebSocket, shared: &Arc<Shared>) -> Result<Started, Close> {
        let limits = &shared.limits;
        let first = match timeout(limits.hello_timeout, socket.recv()).await {
            Err(_) => {
                return Err(Close::new(
                    ErrorCode::NotHelloFirst,
                    "no hello within the time allowed",
                ))
            }
            Ok(Some(Err(e))) => return Err(read_failed(&e, limits.max_message_bytes)),
            Ok(None) => {
                return Err(Close::new(
                    ErrorCode::NotHelloFirst,
                    "connection closed before hello",
                ))
            }
            Ok(Some(Ok(message))) => message,
        };
        let Message::Text(text) = first else {
            return Err(Close::new(
                ErrorCode::NotHelloFirst,
                "the first message must be a hello text frame",
            ));
        };
        let hello = protocol::decode_client(text.as_str())
            .map_err(|e| Close::new(e.code(), e.to_string()))?;
        let ClientMessage::Hello { token, cursor, .. } = hello else {
            return Err(Close::new(
                ErrorCode::NotHelloFirst,
                "the first message must be hello",
            ));
        };
        let device = match shared.authenticate(&token) {
            Ok(Ok(device)) => device,
            Ok(Err(Refusal::Unknown)) => {
                return Err(Close::new(
                    ErrorCode::Unauthorized,
                    "this device token is not known to the relay; pair again",
                ))
            }
            Ok(Err(Refusal::Revoked)) => {
                return Err(Close::new(
                    ErrorCode::DeviceRevoked,
                    "this device was revoked by an administrator",
                ))
            }
            Err(err) => return Err(Close::new(ErrorCode::Internal, err.to_string())),
        };
        let slot = shared.claim_slot(&device.id).ok_or_else(|| {
            Close::new(
                ErrorCode::TooManyConnections,
                format!(
                    "this device already has {} connections open",
                    limits.connections_per_device
                ),
            )
        })?;

        // Subscribe before reading the head, so no entry committed in between is missed.
        let live = shared.publish.subscribe();
        let notices = shared.stats.notices.subscribe();
        let head = shared
            .reader
            .head()
            .map_err(|e| Close::new(ErrorCode::Internal, e.to_string()))?;
        let event_id = shared.active_event();
        let welcome = ServerMessage::Welcome {
            server_time: (shared.clock)(),
            device_id: device.id.clone(),
            device_name: device.name.clone(),
            role: device.role,
            event_id,
            cursor,
            head,
        };
        send(socket, &welcome).await?;
        let gauge = shared.metrics.connected(device.role);
        if let Some(reason) = snapshot_reason(cursor, head, event_id, limits.snapshot_after) {
            send(
                socket,
                &ServerMessage::SnapshotNeeded {
                    reason,
                    url: gerbang_core::snapshot::snapshot_path(event_id),
                    head,
                },
            )
            .await?;
            return Ok(Started::SnapshotNeeded);
        }
        let mut session = Session {
            device,
            _slot: slot,
            live,
            revoked: shared.revoked.subscribe(),
            notices,
            stats_sent: std::collections::HashMap::new(),
            _gauge: gauge,
            sent: cursor,
            pending: VecDeque::new(),
            received: Vec::new(),
            bucket: TokenBucket::new(limits.messages_per_second, limits.message_burst),
        };
        session.catch_up(socket, shared, head).await?;
        // The current figures at once; changes follow as they happen.
        for notice in shared.stats.current() {
            session.notify(socket, shared, &notice).await?;
        }
        Ok(Started::Live(Box::new(session)))
    }

    /// Sends a statistics or alert notice if this connection wants it and has not sent the
    /// same figures last.
    async fn notify(
        &mut self,
        socket: &mut WebSocket,
        shared: &Shared,
        notice: &Notice,
    ) -> Result<(), Close> {
        if !self.wants(shared, notice.event_id, notice.kind) {
            return Ok(());
        }
        if notice.kind == NoticeKind::Stats
            && self.stats_sent.insert(notice.event_id, notice.figures) == Some(notice.figures)
        {
            return Ok(());
        }
        send_text(socket, notice.json.clone()).await
    }

    /// Whether this connection is sent a notice: supervisors and admins get every event's
    /// statistics and capacity alerts; a gate gets the statistics of the event it checks (its
    /// counters), and no alerts.
    fn wants(&self, shared: &Shared, event_id: u32, kind: NoticeKind) -> bool {
        match (self.device.role, kind) {
            (Role::Supervisor | Role::Admin, _) => true,
            (Role::Gate, NoticeKind::Stats) => event_id == shared.active_event(),
            (Role::Gate, NoticeKind::Alert) => false,
        }
    }

    /// Streams every entry after the cursor up to `head` in batches, then `caught_up`.
    async fn catch_up(
        &mut self,
        socket: &mut WebSocket,
        shared: &Shared,
        head: u64,
    ) -> Result<(), Close> {
        while self.sent < head {
            let entries = shared
                .reader
                .entries_after(self.sent, shared.limits.catch_up_batch)
                .map_err(|e| Close::new(ErrorCode::Internal, e.to_string()))?;
            let Some(last) = entries.last() else { break };
            let last = last.seq;
            // Split under the message size limit; an entry too large alone was refused when
            // it was written, so this only fails on a damaged database.
            let messages = protocol::encode_entries(&entries, head)
                .map_err(|e| Close::new(ErrorCode::Internal, e.to_string()))?;
            for message in messages {
                send_text(socket, message.into()).await?;
            }
            self.sent = last;
        }
        send(socket, &ServerMessage::CaughtUp { cursor: self.sent }).await
    }

    /// The live loop. Returns why it ended (`None` for a normal end).
    async fn run(&mut self, socket: &mut WebSocket, shared: &Arc<Shared>) -> Option<Close> {
        let idle = shared.limits.idle_timeout;
        let mut deadline = Instant::now() + idle;
        loop {
            tokio::select! {
                incoming = socket.recv() => {
                    deadline = Instant::now() + idle;
                    // Every frame already received is handled now (a gate uploading its
                    // outbox sends many scans back to back), so their signatures are checked
                    // together before they go to the writer.
                    let mut next = Some(incoming);
                    let mut frames = 0;
                    while let Some(incoming) = next.take() {
                        if let Err(end) = self.receive(socket, shared, incoming).await {
                            // What arrived before the end is still handed to the writer and
                            // recorded, but no ack goes out: the gate re-uploads what it has no
                            // ack for, and the relay replays the first one (idempotent by id).
                            let _ = self.submit_received(shared).await;
                            return end;
                        }
                        frames += 1;
                        if frames < RECEIVE_BURST {
                            next = socket.recv().now_or_never();
                        }
                    }
                    if let Err(close) = self.submit_received(shared).await {
                        return Some(close);
                    }
                }
                ack = next_ack(&mut self.pending) => {
                    self.pending.pop_front();
                    if let Err(close) = self.send_acks(socket, shared, ack).await {
                        return Some(close);
                    }
                }
                live = self.live.recv() => match live {
                    Ok(published) => {
                        if let Err(close) = self.send_live(socket, shared, published).await {
                            return Some(close);
                        }
                    }
                    Err(RecvError::Lagged(missed)) => return Some(lagged(shared, missed)),
                    Err(RecvError::Closed) => return None,
                },
                notice = self.notices.recv() => match notice {
                    Ok(notice) => {
                        if let Err(close) = self.notify(socket, shared, &notice).await {
                            return Some(close);
                        }
                    }
                    // Statistics are snapshots: one missed is made good by the next.
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return None,
                },
                revoked = self.revoked.recv() => match revoked {
                    Ok(device_id) if device_id == self.device.id => {
                        return Some(Close::new(ErrorCode::DeviceRevoked, "this device was revoked by an administrator"));
                    }
                    // Lagged: many revocations at once; this device's is checked at its next hello.
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return None,
                },
                _ = tokio::time::sleep_until(deadline) => {
                    // No frame, not even a ping, for LINK_TIMEOUT: the link is dead. Nobody is
                    // listening for an error; just let the connection go.
                    return None;
                }
                _ = shared.shutdown.cancelled() => {
                    // Let pending acks reach the client: their scans are committed or will be.
                    while let Some((scan_id, pending)) = self.pending.pop_front() {
                        if let Ok(ack) = pending.await {
                            let _ = send(socket, &ServerMessage::Ack { scan_id, seq: ack.seq, official: ack.official, conflict: ack.conflict }).await;
                        }
                    }
                    return None;
                }
            }
        }
    }

    /// Sends the ack of the oldest pending scan and of every later one whose commit is
    /// already done too, in one write: a group commit resolves many of a connection's scans
    /// at once, and one write (one TLS record, one system call) instead of one per ack is
    /// much of what a busy relay spends.
    async fn send_acks(
        &mut self,
        socket: &mut WebSocket,
        shared: &Shared,
        first: Result<(uuid::Uuid, crate::writer::ScanAck), Refused>,
    ) -> Result<(), Close> {
        let mut next = Some(first);
        while let Some(ack) = next.take() {
            let message = match ack {
                Ok((scan_id, ack)) => ServerMessage::Ack {
                    scan_id,
                    seq: ack.seq,
                    official: ack.official,
                    conflict: ack.conflict,
                },
                // The scan itself is unacceptable (an event this relay does not have): say
                // so and keep the link; the gate keeps the scan.
                Err(Refused::Scan(message)) => refusal(shared, ErrorCode::InvalidMessage, message),
                Err(Refused::Relay(close)) => return Err(close),
            };
            feed(socket, protocol::encode_server(&message).into()).await?;
            if let Some((scan_id, pending)) = self.pending.front_mut() {
                let scan_id = *scan_id;
                if let Some(result) = pending.now_or_never() {
                    self.pending.pop_front();
                    next = Some(settled(scan_id, result));
                }
            }
        }
        flush(socket).await
    }

    /// Sends a commit's entries and every other commit's already waiting in the broadcast, in
    /// one write (see [`Session::send_acks`]): a gate among hundreds receives every entry, and
    /// a connection that finds several commits waiting sends them as one message, not one each.
    async fn send_live(
        &mut self,
        socket: &mut WebSocket,
        shared: &Shared,
        first: Arc<crate::writer::Published>,
    ) -> Result<(), Close> {
        let mut waiting = Vec::with_capacity(4);
        let mut next = Some(first);
        while let Some(published) = next.take() {
            // Catch-up may already have sent it.
            if published.last_seq() > self.sent {
                waiting.push(published);
            }
            if waiting.len() < LIVE_BURST {
                next = match self.live.try_recv() {
                    Ok(published) => Some(published),
                    Err(TryRecvError::Empty | TryRecvError::Closed) => None,
                    Err(TryRecvError::Lagged(missed)) => return Err(lagged(shared, missed)),
                };
            }
        }
        let Some(last) = waiting.last().map(|p| p.last_seq()) else {
            return Ok(());
        };
        for message in crate::writer::pack_live(&waiting, self.sent) {
            feed(socket, message).await?;
        }
        self.sent = last;
        if matches!(self.device.role, Role::Supervisor | Role::Admin) {
            for alert in waiting.iter().flat_map(|p| &p.alerts) {
                feed(socket, alert.clone()).await?;
            }
        }
        flush(socket).await
    }

    /// One frame from the client. `Err` ends the connection: `None` normally (the client
    /// closed), or with a close to send.
    async fn receive(
        &mut self,
        socket: &mut WebSocket,
        shared: &Shared,
        incoming: Option<Result<Message, axum::Error>>,
    ) -> Result<(), Option<Close>> {
        match incoming {
            None | Some(Ok(Message::Close(_))) => Err(None),
            Some(Err(e)) => Err(Some(read_failed(&e, shared.limits.max_message_bytes))),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
            Some(Ok(Message::Binary(_))) => Err(Some(Close::new(
                ErrorCode::MalformedJson,
                "binary frames are not part of the protocol; send JSON text",
            ))),
            Some(Ok(Message::Text(text))) => {
                if !self.bucket.take(Instant::now()) {
                    return Err(Some(Close::new(
                        ErrorCode::RateLimited,
                        "too many messages; slow down and reconnect",
                    )));
                }
                self.handle(socket, shared, text.as_str())
                    .await
                    .map_err(Some)
            }
        }
    }

    /// Hands the scans received so far to the writer, in order (their acks follow in the same
    /// order).
    async fn submit_received(&mut self, shared: &Shared) -> Result<(), Close> {
        if self.received.is_empty() {
            return Ok(());
        }
        let scans = std::mem::take(&mut self.received);
        let ids: Vec<uuid::Uuid> = scans.iter().map(|scan| scan.scan_id).collect();
        let acks = shared
            .writer
            .submit_scans(scans)
            .await
            .map_err(|e| Close::new(ErrorCode::Internal, e.to_string()))?;
        self.pending.extend(ids.into_iter().zip(acks));
        Ok(())
    }

    async fn handle(
        &mut self,
        socket: &mut WebSocket,
        shared: &Shared,
        text: &str,
    ) -> Result<(), Close> {
        let message = match protocol::decode_client(text) {
            Ok(message) => message,
            // A bad message is refused with a clear error, but the connection stays: one
            // damaged frame must not cost a gate its link.
            Err(err)
                if err.code() == ErrorCode::InvalidMessage
                    || err.code() == ErrorCode::UnknownType =>
            {
                return send(socket, &refusal(shared, err.code(), err.to_string())).await;
            }
            Err(err) => return Err(Close::new(err.code(), err.to_string())),
        };
        match message {
            ClientMessage::Hello { .. } => Err(Close::new(
                ErrorCode::InvalidMessage,
                "hello was already received on this connection",
            )),
            ClientMessage::Ping { nonce } => {
                send(
                    socket,
                    &ServerMessage::Pong {
                        nonce,
                        server_time: (shared.clock)(),
                    },
                )
                .await
            }
            ClientMessage::Scan { scan } => {
                if self.device.role == Role::Supervisor {
                    return send(
                        socket,
                        &refusal(
                            shared,
                            ErrorCode::Forbidden,
                            "supervisor screens cannot upload scans; pair this device as a gate"
                                .into(),
                        ),
                    )
                    .await;
                }
                if let Some(problem) = oversized(&scan) {
                    // Every log entry must fit in a message to every device; a gate keeps at
                    // most 512 characters of a code. Refused, and the link stays.
                    let message = format!("scan {} was not recorded: {problem}", scan.scan_id);
                    return send(socket, &refusal(shared, ErrorCode::InvalidMessage, message))
                        .await;
                }
                if self.pending.len() + self.received.len() >= shared.limits.max_pending_acks {
                    // Wait for the oldest before taking more: bounded memory per connection.
                    self.submit_received(shared).await?;
                    if let Some((scan_id, pending)) = self.pending.pop_front() {
                        // A scan the writer refused is answered with an error, as in the live
                        // loop; the link stays.
                        let first = settled(scan_id, pending.await);
                        self.send_acks(socket, shared, first).await?;
                    }
                }
                self.received.push(scan);
                Ok(())
            }
            ClientMessage::SendMessage {
                message_id,
                to,
                text,
            } => {
                // After the scans sent before it.
                self.submit_received(shared).await?;
                let text = text.trim();
                if text.is_empty() || text.chars().count() > 500 {
                    return send(
                        socket,
                        &refusal(
                            shared,
                            ErrorCode::InvalidMessage,
                            "a message must have 1 to 500 characters".into(),
                        ),
                    )
                    .await;
                }
                let body = LogBody::Message {
                    message: OperatorMessage {
                        message_id,
                        from: self.device.name.clone(),
                        to,
                        text: text.to_owned(),
                        at: (shared.clock)(),
                    },
                };
                shared
                    .writer
                    .append(body)
                    .await
                    .map_err(|e| Close::new(ErrorCode::Internal, e.to_string()))?;
                Ok(())
            }
        }
    }
}

/// The oldest pending ack, when it resolves; never resolves when nothing is pending.
/// Why a pending scan got no ack.
enum Refused {
    /// This scan cannot be recorded; the connection is fine.
    Scan(String),
    /// The relay itself failed; the connection ends.
    Relay(Close),
}

async fn next_ack(
    pending: &mut VecDeque<(uuid::Uuid, PendingAck)>,
) -> Result<(uuid::Uuid, crate::writer::ScanAck), Refused> {
    match pending.front_mut() {
        Some((scan_id, ack)) => {
            let scan_id = *scan_id;
            settled(scan_id, ack.await)
        }
        None => std::future::pending().await,
    }
}

/// A pending scan's outcome, named by its scan id: its ack, or why it has none.
fn settled(
    scan_id: uuid::Uuid,
    result: crate::Result<crate::writer::ScanAck>,
) -> Result<(uuid::Uuid, crate::writer::ScanAck), Refused> {
    result
        .map(|ack| (scan_id, ack))
        .map_err(|e| refused(scan_id, e))
}

fn refused(scan_id: uuid::Uuid, error: crate::Error) -> Refused {
    match error {
        crate::Error::Invalid(reason) => {
            Refused::Scan(format!("scan {scan_id} was not recorded: {reason}"))
        }
        e => Refused::Relay(Close::new(
            ErrorCode::Internal,
            format!("the relay could not record scan {scan_id}: {e}"),
        )),
    }
}

/// The longest scanned code, in bytes, a relay logs: 512 characters (what a gate keeps) of
/// UTF-8.
pub const MAX_SCAN_CODE_BYTES: usize = 4 * 512;
/// The longest gate name, in bytes, a relay logs.
pub const MAX_GATE_NAME_BYTES: usize = 1024;

/// Why a scan is too large to log (every entry must fit in one message to every device).
fn oversized(scan: &protocol::ScanRecord) -> Option<String> {
    if scan.code.len() > MAX_SCAN_CODE_BYTES {
        return Some(format!(
            "its code is {} bytes; a relay logs at most {MAX_SCAN_CODE_BYTES}",
            scan.code.len()
        ));
    }
    if scan.gate.len() > MAX_GATE_NAME_BYTES {
        return Some(format!(
            "its gate name is {} bytes; at most {MAX_GATE_NAME_BYTES}",
            scan.gate.len()
        ));
    }
    None
}

/// Frames already received that are handled before the loop looks at anything else (acks,
/// live entries): a gate's uploaded scans arrive back to back and are submitted together.
const RECEIVE_BURST: usize = 64;

/// Published messages (commits) sent in one write at most; then the loop looks at the client's side again.
const LIVE_BURST: usize = 256;

/// The close for a connection that fell more than the live window (in published messages)
/// behind.
fn lagged(shared: &Shared, missed: u64) -> Close {
    shared.metrics.slow_client();
    Close::new(
        ErrorCode::RateLimited,
        format!(
            "this connection fell {missed} commits behind the live stream; reconnect to catch up from your cursor"
        ),
    )
}

/// An `error` message that leaves the connection open, counted in the metrics.
fn refusal(shared: &Shared, code: ErrorCode, message: String) -> ServerMessage {
    shared.metrics.refused(code);
    ServerMessage::Error { code, message }
}

async fn send(socket: &mut WebSocket, message: &ServerMessage) -> Result<(), Close> {
    send_text(socket, protocol::encode_server(message).into()).await
}

/// Queues a message without writing it yet (up to the write buffer's size); [`flush`] writes.
async fn feed(socket: &mut WebSocket, text: Utf8Bytes) -> Result<(), Close> {
    socket
        .feed(Message::Text(text))
        .await
        .map_err(|_| Close::new(ErrorCode::Internal, "the connection broke while sending"))
}

async fn flush(socket: &mut WebSocket) -> Result<(), Close> {
    socket
        .flush()
        .await
        .map_err(|_| Close::new(ErrorCode::Internal, "the connection broke while sending"))
}

async fn send_text(socket: &mut WebSocket, text: Utf8Bytes) -> Result<(), Close> {
    socket
        .send(Message::Text(text))
        .await
        .map_err(|_| Close::new(ErrorCode::Internal, "the connection broke while sending"))
}

/// A token bucket: `burst` messages at once, refilled at `per_second`.
#[derive(Debug)]
struct TokenBucket {
    tokens: f64,
    per_second: f64,
    burst: f64,
    at: Instant,
}

impl TokenBucket {
    fn new(per_second: u32, burst: u32) -> TokenBucket {
        TokenBucket {
            tokens: f64::from(burst),
            per_second: f64::from(per_second),
            burst: f64::from(burst),
            at: Instant::now(),
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.at = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn snapshots_are_for_cursors_ahead_of_the_log_or_too_far_behind_it() {
        let reason = |cursor, head, event| snapshot_reason(cursor, head, event, 100);
        // Caught up, a little behind, exactly at the limit: catch-up.
        assert_eq!(reason(500, 500, 7), None);
        assert_eq!(reason(450, 500, 7), None);
        assert_eq!(reason(400, 500, 7), None);
        assert_eq!(reason(0, 100, 7), None);
        // More than the limit behind, a new device included.
        assert_eq!(
            reason(399, 500, 7).as_deref(),
            Some("cursor 399 is 101 entries behind; a snapshot is faster")
        );
        assert!(reason(0, 101, 7).is_some());
        // No event yet: there is nothing to take a snapshot of, so the log it is.
        assert_eq!(reason(0, 5_000, 0), None);
        // Ahead of the log: always.
        assert!(reason(501, 500, 7)
            .unwrap()
            .contains("ahead of this relay's log"));
        assert!(reason(1, 0, 0).is_some());
    }

    #[test]
    fn token_bucket_allows_a_burst_then_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10, 3);
        bucket.at = start;
        assert!((0..3).all(|_| bucket.take(start)));
        assert!(!bucket.take(start));
        assert!(bucket.take(start + Duration::from_millis(100)));
        assert!(!bucket.take(start + Duration::from_millis(100)));
    }
}
