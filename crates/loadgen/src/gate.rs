//! One gate's WebSocket to the relay, and reading frames cheaply.
//!
//! A load generator reads far more frames than a gate (every gate receives every scan), on
//! the same two cores as the relay it measures, so frames are classified by their start
//! where the relay writes the envelope in its usual order (`v`, then `type`; see
//! `docs/PROTOCOL.md` section 2) and fully decoded otherwise: correct with any relay, cheap
//! with Gerbang's.

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use gerbang_core::protocol::{self, ClientMessage, DeviceToken, ServerMessage};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::target::{Io, Target};
use crate::{Error, Result};

pub type Socket = WebSocketStream<Box<dyn Io>>;
pub type Sink = SplitSink<Socket, Message>;
pub type Stream = SplitStream<Socket>;

/// How every `entries` message of Gerbang's relay starts.
const ENTRIES_PREFIX: &str = r#"{"v":1,"type":"entries","entries":["#;
/// How every log entry in it starts: `seq` is its first field.
const ENTRY_START: &str = r#"{"seq":"#;
const ACK_PREFIX: &str = r#"{"v":1,"type":"ack","#;
/// How every `stats` message starts: a load generator does not read them.
const STATS_PREFIX: &str = r#"{"v":1,"type":"stats","#;

/// Finds the next entry's start; built once (a searcher per frame costs as much as the search).
static ENTRY_FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(ENTRY_START));

/// A gate connected and caught up.
pub struct Connected {
    pub sink: Sink,
    pub stream: Stream,
    /// The `seq` the relay caught this gate up to: live entries follow it.
    pub cursor: u64,
}

impl std::fmt::Debug for Connected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connected")
            .field("cursor", &self.cursor)
            .finish_non_exhaustive()
    }
}

/// Connects a gate with `token`, says `hello` with `cursor`, and reads until `caught_up`.
pub async fn connect(target: &Target, token: &str, cursor: u64) -> Result<Connected> {
    let stream = target.connect_stream().await?;
    // Small buffers, as the relay's own: thousands of these live in one process.
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .max_message_size(Some(protocol::MAX_MESSAGE_BYTES));
    let (socket, _) =
        tokio_tungstenite::client_async_with_config(target.ws_url(), stream, Some(config))
            .await
            .map_err(|e| Error::Connect(format!("WebSocket to {}: {e}", target.address)))?;
    let (mut sink, mut stream) = socket.split();
    let hello = ClientMessage::Hello {
        token: DeviceToken::new(token),
        cursor,
        device_name: "gerbang-loadgen".into(),
        app_version: env!("CARGO_PKG_VERSION").into(),
    };
    sink.send(Message::text(protocol::encode_client(&hello)))
        .await
        .map_err(|e| Error::Connect(e.to_string()))?;
    loop {
        let text = match stream.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                return Err(Error::Connect(format!(
                    "the relay closed the connection before caught_up: {frame:?}"
                )))
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(Error::Connect(e.to_string())),
            None => {
                return Err(Error::Connect(
                    "the relay closed the connection before caught_up".into(),
                ))
            }
        };
        match protocol::decode_server(text.as_str()) {
            Ok(ServerMessage::CaughtUp { cursor }) => {
                return Ok(Connected {
                    sink,
                    stream,
                    cursor,
                })
            }
            Ok(ServerMessage::Error { code, message }) => {
                return Err(Error::Connect(format!("refused ({code:?}): {message}")))
            }
            Ok(ServerMessage::SnapshotNeeded { reason, .. }) => {
                return Err(Error::Connect(format!(
                    "the relay wants a snapshot first ({reason}); say hello with a cursor near its head"
                )))
            }
            Ok(_) => {}
            Err(e) => return Err(Error::Protocol(format!("{e}: {text}"))),
        }
    }
}

/// A frame from the relay, read only as far as a load generator needs.
#[derive(Debug)]
pub enum Frame {
    /// An `entries` message: the `seq` of each entry it carries, in order.
    Entries(Vec<u64>),
    /// A `stats` message, not read (200 gates' counters, several times a second, to each).
    Stats,
    /// Any other message, decoded.
    Other(ServerMessage),
}

/// Reads a text frame from the relay.
pub fn classify(text: &str) -> Result<Frame> {
    if let Some(rest) = text.strip_prefix(ENTRIES_PREFIX) {
        // A log entry is `{"seq":N,...}` and nothing inside one is an object with a `seq`
        // key, so each occurrence starts an entry (a test checks it against the encoder).
        let mut seqs = Vec::with_capacity(1);
        let mut rest = rest;
        while let Some(at) = ENTRY_FINDER.find(rest.as_bytes()) {
            rest = &rest[at + ENTRY_START.len()..];
            let end = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            let seq = rest[..end]
                .parse()
                .map_err(|_| Error::Protocol(format!("an entry without a seq: {text}")))?;
            seqs.push(seq);
        }
        return Ok(Frame::Entries(seqs));
    }
    if text.starts_with(STATS_PREFIX) {
        return Ok(Frame::Stats);
    }
    let decoded =
        protocol::decode_server(text).map_err(|e| Error::Protocol(format!("{e}: {text}")))?;
    Ok(match decoded {
        ServerMessage::Entries { entries, .. } => {
            Frame::Entries(entries.iter().map(|e| e.seq).collect())
        }
        other => Frame::Other(other),
    })
}

/// Whether a text frame may be an `ack` (cheap; a full decode says for sure).
pub fn may_be_ack(text: &str) -> bool {
    text.starts_with(ACK_PREFIX)
        || !(text.starts_with(ENTRIES_PREFIX) || text.starts_with(STATS_PREFIX))
}

#[cfg(test)]
mod tests {
    use gerbang_core::protocol::{LogBody, LogEntry, OperatorMessage, ScanRecord};
    use gerbang_core::{Direction, Millis, Verdict, VerdictKind};

    use super::*;

    fn scan(seq: u64) -> LogEntry {
        LogEntry {
            seq,
            at: Millis(1_795_262_400_000),
            body: LogBody::Scan {
                scan: ScanRecord {
                    scan_id: uuid::Uuid::now_v7(),
                    event_id: 1,
                    code: r#"{"seq":1} looks like an entry but is text"#.into(),
                    ticket_id: Some(7),
                    gate: "Gerbang {\"seq\":9}".into(),
                    direction: Direction::Entry,
                    at: Millis(1_795_262_400_000),
                    local: VerdictKind::Admitted,
                },
                official: Verdict {
                    kind: VerdictKind::Admitted,
                    ticket_id: Some(7),
                    holder: Some("Siti".into()),
                    ticket_type: None,
                    reason: "Welcome.".into(),
                    previous: None,
                },
                conflict: None,
            },
        }
    }

    #[test]
    fn entries_frames_give_every_seq_and_nothing_else() {
        let message = LogEntry {
            seq: 12,
            at: Millis(1),
            body: LogBody::Message {
                message: OperatorMessage {
                    message_id: uuid::Uuid::now_v7(),
                    from: "x".into(),
                    to: None,
                    text: "{\"seq\":99}".into(),
                    at: Millis(1),
                },
            },
        };
        for entries in [vec![scan(10)], vec![scan(10), scan(11), message]] {
            let want: Vec<u64> = entries.iter().map(|e| e.seq).collect();
            let text = protocol::encode_server(&ServerMessage::Entries { entries, head: 12 });
            match classify(&text).unwrap() {
                Frame::Entries(seqs) => assert_eq!(seqs, want),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn other_frames_are_decoded() {
        let text = protocol::encode_server(&ServerMessage::CaughtUp { cursor: 4 });
        assert!(matches!(
            classify(&text).unwrap(),
            Frame::Other(ServerMessage::CaughtUp { cursor: 4 })
        ));
        assert!(classify("{").is_err());
    }

    #[test]
    fn stats_frames_are_skipped_and_are_not_acks() {
        let text = protocol::encode_server(&ServerMessage::Stats {
            stats: protocol::EventStats {
                event_id: 1,
                issued: 10,
                admitted: 2,
                inside_now: 2,
                capacity: None,
                remaining: None,
                per_gate: Vec::new(),
                at: Millis(1),
            },
        });
        assert!(matches!(classify(&text).unwrap(), Frame::Stats));
        assert!(!may_be_ack(&text));
    }
}
