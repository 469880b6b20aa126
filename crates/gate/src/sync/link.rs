//! One connection to the relay, from connect to the end of the link.
//!
//! The session is a loop over four things: messages from the relay (handled in bursts: every
//! message already received is taken before the store is touched, so a catch-up of many
//! batches or a storm of acks costs one transaction, not one each), a heartbeat tick, the
//! outbox's "new scan" notification, and commands from the handle. Store work that may take
//! milliseconds runs on the blocking pool, never on the runtime's threads.

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{FutureExt, SinkExt, StreamExt};
use gerbang_core::protocol::{
    self, ClientMessage, DeviceToken, ErrorCode, LogEntry, ServerMessage, LINK_TIMEOUT,
    PING_INTERVAL,
};
use gerbang_core::Millis;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;

use super::transport::Socket;
use super::{Command, LinkState, Shared, SyncEvent};
use crate::store::{Ack, ScanRecord, Store};

type Sink = SplitSink<Socket, Message>;
type Stream = SplitStream<Socket>;

/// Messages taken from the socket before the store is touched.
const BURST: usize = 64;
/// How often the session checks the heartbeat.
const TICK: Duration = Duration::from_millis(250);

/// How a link ended.
#[derive(Debug)]
pub(super) enum End {
    /// The engine was stopped.
    Stopped,
    /// The relay refused the device for a reason retrying cannot fix.
    Refused { code: ErrorCode, message: String },
    /// The gate cannot connect as it is paired (a `wss://` relay without a fingerprint, a
    /// plain address that is not this machine): a person must pair it again.
    Unusable(String),
    /// The relay said `snapshot_needed`: download the snapshot at `url`, then reconnect.
    Snapshot { url: String, reason: String },
    /// Anything else: the engine retries after a pause. The text is for people.
    Failed(String),
}

#[derive(Debug)]
pub(super) struct Outcome {
    /// The relay accepted the `hello`: the link was good, whatever ended it.
    pub welcomed: bool,
    pub end: End,
}

pub(super) async fn run(shared: &Shared, commands: &mut mpsc::Receiver<Command>) -> Outcome {
    let mut session = Session {
        shared,
        welcomed: false,
        caught_up: false,
        last_sent: 0,
        in_flight: 0,
        ping: None,
        nonce: 0,
        relay_event: None,
        last_seq: 0,
    };
    let end = match session.run(commands).await {
        Ok(()) => End::Stopped,
        Err(end) => end,
    };
    Outcome {
        welcomed: session.welcomed,
        end,
    }
}

struct Session<'a> {
    shared: &'a Shared,
    welcomed: bool,
    /// The relay said `caught_up`: entries from now on are live.
    caught_up: bool,
    /// The `local_seq` of the last scan sent on this link.
    last_sent: u64,
    /// Scans sent and not yet answered.
    in_flight: usize,
    /// The heartbeat in flight: its nonce and when it was sent (monotonic and wall clock).
    ping: Option<(u64, Instant, Millis)>,
    nonce: u64,
    /// The event the relay's `welcome` named.
    relay_event: Option<u32>,
    /// The last `seq` received on this link: the relay sends every entry after the cursor
    /// once, in order, without gaps, and a gap means the stream cannot be trusted.
    last_seq: u64,
}

impl Session<'_> {
    fn store(&self) -> &Arc<Store> {
        &self.shared.store
    }

    fn now(&self) -> Millis {
        (self.shared.config.clock)()
    }

    async fn run(&mut self, commands: &mut mpsc::Receiver<Command>) -> Result<(), End> {
        let (mut sink, mut stream) = match self.connect().await? {
            Some(socket) => socket.split(),
            None => return Ok(()),
        };
        self.hello(&mut sink, &mut stream).await?;
        self.upload(&mut sink).await?;

        let mut last_heard = Instant::now();
        let mut last_ping = Instant::now();
        let mut tick = tokio::time::interval(TICK);
        loop {
            tokio::select! {
                biased;
                () = self.shared.stop.cancelled() => {
                    let frame = CloseFrame { code: CloseCode::Away, reason: "the gate is stopping".into() };
                    // Best effort: the relay treats a vanished gate the same way.
                    let _ = tokio::time::timeout(Duration::from_secs(1), sink.send(Message::Close(Some(frame)))).await;
                    return Ok(());
                }
                message = stream.next() => {
                    last_heard = Instant::now();
                    let mut burst = vec![received(message)?];
                    // A close right behind the last messages (an error, `snapshot_needed`)
                    // ends the link only after those messages are handled.
                    let mut closed = None;
                    while burst.len() < BURST {
                        match stream.next().now_or_never().map(received) {
                            Some(Ok(message)) => burst.push(message),
                            Some(Err(end)) => {
                                closed = Some(end);
                                break;
                            }
                            None => break,
                        }
                    }
                    self.handle(burst, &mut sink).await?;
                    if let Some(end) = closed {
                        return Err(end);
                    }
                }
                _ = tick.tick() => {
                    if last_heard.elapsed() >= LINK_TIMEOUT {
                        return Err(End::Failed(format!(
                            "the relay has not answered for {} seconds; the link is down",
                            LINK_TIMEOUT.as_secs()
                        )));
                    }
                    if last_ping.elapsed() >= PING_INTERVAL {
                        last_ping = Instant::now();
                        self.nonce += 1;
                        self.ping = Some((self.nonce, Instant::now(), self.now()));
                        send(&mut sink, &ClientMessage::Ping { nonce: self.nonce }).await?;
                    }
                }
                () = self.shared.outbox.notified() => self.upload(&mut sink).await?,
                Some(command) = commands.recv() => match command {
                    Command::SendMessage { message_id, to, text } => {
                        send(&mut sink, &ClientMessage::SendMessage { message_id, to, text }).await?;
                    }
                },
            }
        }
    }

    /// Opens the WebSocket; `None` when stopped while connecting.
    async fn connect(&self) -> Result<Option<Socket>, End> {
        let transport = match &self.shared.transport {
            Ok(transport) => transport,
            Err(unusable) => return Err(End::Unusable(unusable.to_string())),
        };
        let relay = transport.relay();
        let config = WebSocketConfig::default()
            .max_message_size(Some(protocol::MAX_MESSAGE_BYTES))
            .max_frame_size(Some(protocol::MAX_MESSAGE_BYTES));
        tokio::select! {
            () = self.shared.stop.cancelled() => Ok(None),
            result = tokio::time::timeout(LINK_TIMEOUT, transport.connect(config)) => match result {
                Err(_) => Err(End::Failed(format!(
                    "the relay at {relay} did not answer within {} seconds",
                    LINK_TIMEOUT.as_secs()
                ))),
                Ok(Err(e)) => Err(End::Failed(e)),
                Ok(Ok(socket)) => Ok(Some(socket)),
            }
        }
    }

    /// Says `hello` and waits for `welcome`.
    async fn hello(&mut self, sink: &mut Sink, stream: &mut Stream) -> Result<(), End> {
        let pairing = &self.shared.config.pairing;
        let cursor = self.store().cursor().map_err(store_failed)?;
        let sent = self.now();
        let started = Instant::now();
        send(
            sink,
            &ClientMessage::Hello {
                token: DeviceToken::new(pairing.token.clone()),
                cursor,
                device_name: pairing.device_name.clone(),
                app_version: self.shared.config.app_version.clone(),
            },
        )
        .await?;
        let answer = tokio::time::timeout(LINK_TIMEOUT, stream.next())
            .await
            .map_err(|_| {
                End::Failed(format!(
                    "the relay did not answer hello within {} seconds",
                    LINK_TIMEOUT.as_secs()
                ))
            })?;
        match decode(received(answer)?)? {
            Some(ServerMessage::Welcome {
                server_time,
                head,
                event_id,
                role,
                ..
            }) => {
                self.welcomed = true;
                self.relay_event = Some(event_id);
                self.last_seq = cursor;
                let offset = clock_offset(sent, self.now(), server_time);
                tracing::debug!(cursor, head, rtt = ?started.elapsed(), "welcomed by the relay");
                self.shared.update(|s| {
                    s.state = LinkState::Connecting;
                    s.head = head;
                    s.cursor = cursor;
                    s.clock_offset_ms = Some(offset);
                    s.refused = None;
                    s.role = Some(role);
                });
                Ok(())
            }
            Some(ServerMessage::Error { code, message }) => Err(refusal(code, message)),
            // Said in place of `welcome` (as the first relays did for a cursor ahead of the
            // log), it means the same.
            Some(ServerMessage::SnapshotNeeded { url, reason, .. }) => {
                Err(End::Snapshot { url, reason })
            }
            Some(other) => Err(End::Failed(format!(
                "the relay answered hello with {:?} instead of welcome",
                other.type_name()
            ))),
            None => Err(End::Failed(
                "the relay answered hello with something that is not a message".into(),
            )),
        }
    }

    /// Handles a burst of messages: entries and acks go to the store in one transaction each.
    async fn handle(&mut self, burst: Vec<Message>, sink: &mut Sink) -> Result<(), End> {
        let mut entries: Vec<LogEntry> = Vec::new();
        let mut acks: Vec<Ack> = Vec::new();
        let mut caught_up = None;
        let mut head = None;
        for message in burst {
            let Some(message) = decode(message)? else {
                continue;
            };
            match message {
                ServerMessage::Entries {
                    entries: batch,
                    head: h,
                } => {
                    entries.extend(batch);
                    head = Some(h);
                }
                ServerMessage::Ack {
                    scan_id,
                    seq,
                    official,
                    conflict,
                } => acks.push(Ack {
                    scan_id,
                    seq,
                    official: official.kind,
                    conflict: conflict.is_some(),
                }),
                ServerMessage::CaughtUp { cursor } => caught_up = Some(cursor),
                ServerMessage::Pong { nonce, server_time } => {
                    if let Some((sent_nonce, _, sent_at)) = self.ping {
                        if sent_nonce == nonce {
                            let offset = clock_offset(sent_at, self.now(), server_time);
                            self.shared.update(|s| s.clock_offset_ms = Some(offset));
                            self.ping = None;
                        }
                    }
                }
                ServerMessage::Stats { stats } => self.emit(SyncEvent::Stats { stats }),
                ServerMessage::Alert { alert } => self.emit(SyncEvent::Alert { alert }),
                ServerMessage::Message { message } => self.emit(SyncEvent::Message { message }),
                ServerMessage::Error { code, message } => {
                    if !code.is_retryable() {
                        return Err(refusal(code, message));
                    }
                    if code == ErrorCode::InvalidMessage {
                        // The relay refused one upload (a scan for an event it does not
                        // know) and keeps the link. The scan stays in the outbox.
                        self.in_flight = self.in_flight.saturating_sub(1);
                        tracing::warn!("the relay refused an upload: {message}");
                        self.shared.update(|s| {
                            s.last_error = Some(format!("the relay refused a scan: {message}"));
                        });
                    } else {
                        return Err(End::Failed(format!("the relay reported {code}: {message}")));
                    }
                }
                ServerMessage::SnapshotNeeded { url, reason, .. } => {
                    return Err(End::Snapshot { url, reason });
                }
                ServerMessage::Welcome { .. } => {
                    return Err(End::Failed(format!(
                        "the relay sent {:?} in the middle of a session",
                        message.type_name()
                    )));
                }
            }
        }

        let gap = self.check_order(&mut entries);
        let mut settled_own = !acks.is_empty();
        if !entries.is_empty() {
            settled_own |= self.apply(entries).await?;
        }
        if let Some(gap) = gap {
            return Err(gap);
        }
        if !acks.is_empty() {
            self.in_flight = self.in_flight.saturating_sub(acks.len());
            let store = Arc::clone(self.store());
            let settled = acks.clone();
            blocking(move || store.ack_scans(&settled)).await?;
            for ack in acks {
                self.emit(SyncEvent::Settled {
                    scan_id: ack.scan_id,
                    seq: ack.seq,
                    official: ack.official,
                    conflict: ack.conflict,
                });
            }
            self.upload(sink).await?;
        }
        let now = self.now();
        if let Some(cursor) = caught_up {
            self.caught_up = true;
            self.follow_relay_event()?;
            self.shared.update(|s| {
                s.state = LinkState::Online;
                s.cursor = s.cursor.max(cursor);
                s.last_error = None;
            });
        }
        let mut failed = None;
        self.shared.update(|s| {
            if let Some(head) = head {
                s.head = s.head.max(head);
            }
            // Read under the status lock: a scan recorded meanwhile is counted after this
            // read, so the depth may be one too high for a moment, never falsely zero.
            if settled_own {
                match self.store().outbox_depth() {
                    Ok(depth) => s.outbox = depth,
                    Err(e) => failed = Some(store_failed(e)),
                }
            }
            if self.caught_up {
                s.last_sync = Some(now);
            }
        });
        failed.map_or(Ok(()), Err)
    }

    /// Keeps the entries up to the first gap in the sequence (entries already received are
    /// harmless: the store skips them) and reports the gap, after which the link must start
    /// over from the cursor.
    fn check_order(&mut self, entries: &mut Vec<LogEntry>) -> Option<End> {
        for (i, entry) in entries.iter().enumerate() {
            if entry.seq <= self.last_seq {
                continue;
            }
            if entry.seq != self.last_seq + 1 {
                let gap = End::Failed(format!(
                    "the relay skipped log entries {} to {}; reconnecting to catch up",
                    self.last_seq + 1,
                    entry.seq - 1
                ));
                entries.truncate(i);
                return Some(gap);
            }
            self.last_seq = entry.seq;
        }
        None
    }

    /// Applies entries with the cursor, and tells subscribers about live scans. Returns
    /// whether any of this gate's own scans were settled (left the outbox).
    async fn apply(&mut self, entries: Vec<LogEntry>) -> Result<bool, End> {
        let store = Arc::clone(self.store());
        let applied = blocking(move || store.apply_entries(&entries)).await?;
        self.shared.update(|s| s.cursor = applied.cursor);
        if self.caught_up {
            for scan in applied.remote_scans {
                self.emit(SyncEvent::RemoteScan { scan });
            }
        }
        Ok(applied.own_scans > 0)
    }

    /// Once caught up, makes the event the relay says gates are checking this gate's active
    /// event (the relay is where the event is chosen; the gate follows).
    fn follow_relay_event(&self) -> Result<(), End> {
        let Some(event_id) = self.relay_event else {
            return Ok(());
        };
        let store = self.store();
        if store.active_event().map_err(store_failed)? != Some(event_id)
            && store.event(event_id).map_err(store_failed)?.is_some()
        {
            store.set_active_event(event_id).map_err(store_failed)?;
        }
        Ok(())
    }

    /// Sends outbox scans after the last one sent, up to the window.
    async fn upload(&mut self, sink: &mut Sink) -> Result<(), End> {
        let window = self.shared.config.upload_window.max(1);
        if self.in_flight >= window {
            return Ok(());
        }
        let batch = self
            .store()
            .outbox_after(self.last_sent, window - self.in_flight)
            .map_err(store_failed)?;
        if batch.is_empty() {
            return Ok(());
        }
        for (local_seq, scan) in batch {
            let message = ClientMessage::Scan {
                scan: to_wire(&scan),
            };
            sink.feed(Message::text(protocol::encode_client(&message)))
                .await
                .map_err(link_broke)?;
            self.last_sent = local_seq;
            self.in_flight += 1;
        }
        sink.flush().await.map_err(link_broke)
    }

    fn emit(&self, event: SyncEvent) {
        // No subscriber is not an error.
        let _ = self.shared.events.send(event);
    }
}

/// A scan as the protocol uploads it.
fn to_wire(scan: &ScanRecord) -> protocol::ScanRecord {
    protocol::ScanRecord {
        scan_id: scan.scan_id,
        event_id: scan.event_id,
        code: scan.code.clone(),
        ticket_id: scan.ticket_id,
        gate: scan.gate.clone(),
        direction: scan.direction,
        at: scan.at,
        local: scan.kind,
    }
}

/// The relay's clock minus ours, assuming the answer was made halfway through the round trip.
fn clock_offset(sent: Millis, received: Millis, server_time: Millis) -> i64 {
    server_time.0 - (sent.0 + (received.0 - sent.0) / 2)
}

fn refusal(code: ErrorCode, message: String) -> End {
    if code.is_retryable() {
        End::Failed(format!("the relay reported {code}: {message}"))
    } else {
        End::Refused { code, message }
    }
}

fn received(
    message: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
) -> Result<Message, End> {
    match message {
        None => Err(End::Failed("the relay closed the connection".into())),
        Some(Err(e)) => Err(link_broke(e)),
        Some(Ok(Message::Close(frame))) => Err(End::Failed(match frame {
            Some(frame) if !frame.reason.is_empty() => {
                format!("the relay closed the connection: {}", frame.reason)
            }
            _ => "the relay closed the connection".into(),
        })),
        Some(Ok(message)) => Ok(message),
    }
}

/// A server message from a frame; `None` for frames that carry none (WebSocket pings).
fn decode(message: Message) -> Result<Option<ServerMessage>, End> {
    match message {
        Message::Text(text) => protocol::decode_server(text.as_str())
            .map(Some)
            .map_err(|e| {
                End::Failed(format!(
                    "the relay sent a message this gate cannot read: {e}"
                ))
            }),
        Message::Binary(_) => Err(End::Failed("the relay sent a binary frame".into())),
        _ => Ok(None),
    }
}

async fn send(sink: &mut Sink, message: &ClientMessage) -> Result<(), End> {
    sink.send(Message::text(protocol::encode_client(message)))
        .await
        .map_err(link_broke)
}

fn link_broke(e: tokio_tungstenite::tungstenite::Error) -> End {
    End::Failed(format!("the link to the relay broke: {e}"))
}

fn store_failed(e: crate::Error) -> End {
    End::Failed(format!("the gate's database failed: {e}"))
}

/// Runs store work on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> crate::Result<T> + Send + 'static,
) -> Result<T, End> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| End::Failed(format!("the gate's database task failed: {e}")))?
        .map_err(store_failed)
}
