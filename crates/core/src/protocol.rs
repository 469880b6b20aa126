//! The wire protocol between devices (gates, supervisor screens) and the relay.
//!
//! One WebSocket per device; every frame is a text frame holding one JSON object with the
//! protocol version `v`, the message `type`, and the message's fields beside them:
//!
//! ```json
//! {"v":1,"type":"ping","nonce":7}
//! ```
//!
//! `docs/PROTOCOL.md` is the specification a client in another language is written from; the
//! types here are its reference, and this module's tests check that every example in that
//! document is exactly what these types encode.
//!
//! Decoding ([`decode_client`], [`decode_server`]) checks a frame in a fixed order, so that the
//! peer hears about the most basic problem first: size, then JSON syntax, then the version,
//! then the type, then the fields. Each failure has a stable [`ErrorCode`], which the relay
//! also sends in its `error` message. Decoding never panics, whatever the input.
//!
//! Compatibility within version 1: receivers ignore object fields they do not know, so a new
//! *optional* field can be added without a new version. A new message type, enum value (error
//! code, alert kind, verdict kind, role) or required field is not understood by older peers and
//! needs either a new version or a peer known to understand it.

use std::fmt;
use std::time::Duration;

use serde::de::{self, DeserializeOwned, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use crate::rules::{Direction, EventRules, TicketRecord, Verdict, VerdictKind};
use crate::ticket::EventKey;
use crate::time::Millis;

/// The protocol version this build speaks, sent as `v` in every message.
pub const PROTOCOL_VERSION: u16 = 1;
/// Every version this build can decode.
pub const SUPPORTED_VERSIONS: &[u16] = &[PROTOCOL_VERSION];
/// The largest message either side accepts, in bytes of UTF-8 text. A relay splits catch-up
/// batches to stay under it (see [`encode_entries`]).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// The relay's WebSocket endpoint, on the same host and port as its HTTP API.
pub const WS_PATH: &str = "/api/v1/ws";
/// How often a client sends `ping`, so that both sides see a frame at least this often.
pub const PING_INTERVAL: Duration = Duration::from_secs(2);
/// Without any frame from the peer for this long, either side considers the link dead and
/// closes it (the client then reconnects). More than two ping intervals, so one late ping is
/// not a disconnection.
pub const LINK_TIMEOUT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------------
// Shared types
// ---------------------------------------------------------------------------------------------

/// What a paired device may do. Fixed at pairing; the relay tells the device in `welcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Role {
    /// Scans tickets and uploads the scans; receives the log.
    Gate,
    /// Watches: receives the log, statistics and alerts, sends operator messages. May not
    /// upload scans.
    Supervisor,
    /// Everything a gate and a supervisor may do, and the relay's administration (HTTP API).
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Gate, Role::Supervisor, Role::Admin];

    /// The snake_case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Gate => "gate",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }
}

/// A device's secret token, sent in `hello`. Its `Debug` output is redacted so that logging a
/// message never leaks a token.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeviceToken(String);

impl DeviceToken {
    pub fn new(token: impl Into<String>) -> DeviceToken {
        DeviceToken(token.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DeviceToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceToken(<redacted>)")
    }
}

impl std::ops::Deref for DeviceToken {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for DeviceToken {
    fn from(token: String) -> DeviceToken {
        DeviceToken(token)
    }
}

impl From<&str> for DeviceToken {
    fn from(token: &str) -> DeviceToken {
        DeviceToken(token.to_owned())
    }
}

/// One scan as a gate made it: uploaded from the gate's outbox, and, once logged, part of a
/// `scan` log entry that every device receives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ScanRecord {
    /// Made at the gate (UUID v7) when the scan is recorded locally. Uploads are idempotent by
    /// this id: the relay logs a scan id once and answers a repeat with the same ack.
    pub scan_id: Uuid,
    pub event_id: u32,
    /// The scanned text, exactly as the gate decided it.
    pub code: String,
    /// The ticket the code identified, if any. In a log entry, the relay's identification.
    pub ticket_id: Option<u32>,
    /// The gate's name as shown to people ("Gerbang A").
    pub gate: String,
    pub direction: Direction,
    /// When the scan was made, by the gate's clock. Time windows are judged at this instant.
    pub at: Millis,
    /// What the gate decided, offline, before the relay saw the scan.
    pub local: VerdictKind,
}

/// Why a scan the gate accepted is not the official admission: another scan of the same
/// ticket reached the relay first. Both scans stay in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Conflict {
    /// The earlier scan, the official admission.
    pub first_scan_id: Uuid,
    pub first_gate: String,
    /// When the earlier scan was made (its gate's clock).
    pub first_at: Millis,
}

/// A text message between operators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OperatorMessage {
    /// Made by the sender; a receiver shows a message id once.
    pub message_id: Uuid,
    /// The sending device's name, as the relay knows it.
    pub from: String,
    /// A gate name; `None` for everyone.
    pub to: Option<String>,
    pub text: String,
    /// When the relay accepted it (relay clock).
    pub at: Millis,
}

/// One entry of the relay's event log, the system of record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// The entry's place in the log: 1, 2, 3, ... without gaps. A device's cursor is the
    /// `seq` of the last entry it applied.
    pub seq: u64,
    /// When the relay committed it (relay clock).
    pub at: Millis,
    pub body: LogBody,
}

/// What a log entry records, tagged by `"kind"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LogBody {
    /// A scan, with the relay's official verdict in arrival order. Refused scans are logged
    /// too; only `admitted` and `exit_recorded` move people.
    Scan {
        scan: ScanRecord,
        /// The relay's decision, with what an operator needs on screen. A repeated upload of
        /// the same scan id is answered with this same verdict.
        official: Verdict,
        /// Set when the gate admitted the ticket but another admission came first.
        conflict: Option<Conflict>,
    },
    /// A ticket was created or changed.
    TicketUpsert { ticket: TicketRecord },
    /// A ticket was cancelled or re-issued: refuse it from now on.
    TicketRevoked { event_id: u32, ticket_id: u32 },
    /// A new verifying key for an event's signed tickets.
    KeyAdded { key: EventKey },
    /// A key was retired: codes it signed are refused from now on.
    KeyRetired { event_id: u32, key_id: u8 },
    /// An event was created or its rules changed.
    EventUpdated { event: EventRules },
    /// An operator message.
    Message { message: OperatorMessage },
}

impl LogBody {
    /// Every `kind`, in declaration order.
    pub const KINDS: [&'static str; 7] = [
        "scan",
        "ticket_upsert",
        "ticket_revoked",
        "key_added",
        "key_retired",
        "event_updated",
        "message",
    ];

    /// The `kind` tag of this entry, as in JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            LogBody::Scan { .. } => "scan",
            LogBody::TicketUpsert { .. } => "ticket_upsert",
            LogBody::TicketRevoked { .. } => "ticket_revoked",
            LogBody::KeyAdded { .. } => "key_added",
            LogBody::KeyRetired { .. } => "key_retired",
            LogBody::EventUpdated { .. } => "event_updated",
            LogBody::Message { .. } => "message",
        }
    }
}

/// Live counts for one event, for dashboards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EventStats {
    pub event_id: u32,
    /// Tickets that exist and are not revoked.
    pub issued: u32,
    /// Tickets admitted at least once.
    pub admitted: u32,
    /// People inside now: admissions minus recorded exits.
    pub inside_now: u32,
    pub capacity: Option<u32>,
    /// Places left (`capacity - inside_now`, never below 0); `None` without a capacity.
    pub remaining: Option<u32>,
    /// Every gate that has recorded a scan, by name.
    pub per_gate: Vec<GateThroughput>,
    /// When these counts were taken (relay clock).
    pub at: Millis,
}

/// One gate's counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GateThroughput {
    pub gate: String,
    /// Admissions at this gate (`admitted` verdicts).
    pub admitted: u32,
    /// Exits recorded at this gate (`exit_recorded` verdicts).
    pub exits: u32,
    /// Admissions and exits in the last 60 seconds.
    pub last_minute: u32,
}

/// Something a supervisor should look at now. Alerts are live notifications, not log
/// entries: a client that was disconnected does not receive the ones it missed (a conflict is
/// also recorded in its `scan` log entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Alert {
    /// Unique within the relay, so a client can show each alert once.
    pub alert_id: u64,
    pub kind: AlertKind,
    /// When the relay raised it (relay clock).
    pub at: Millis,
    /// What happened, in plain English, for display as is.
    pub text: String,
    /// The scans concerned; for a conflict, both: the official first, then the conflicting one.
    pub scans: Vec<ScanRecord>,
    /// For `capacity_threshold`: the figures `text` states, so a client can say it in its own
    /// language. Absent for other kinds, and from older relays (a client then shows `text`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub capacity: Option<CapacityCrossed>,
}

/// How full an event was when it crossed a capacity threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CapacityCrossed {
    /// The event's name; empty if it has none.
    pub event_name: String,
    /// The threshold crossed, in percent of the capacity: 90 or 100.
    pub percent: u32,
    /// People inside when it was crossed.
    pub inside: u32,
    pub capacity: u32,
}

/// What an alert is about. Clients display `text` for any kind; the kind chooses an icon or a
/// sound. Not exhaustive: more kinds will come, and a client should not need changing for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum AlertKind {
    /// Two gates admitted the same ticket while cut off from each other.
    Conflict,
    /// The number inside crossed a warning threshold of the hall's capacity.
    CapacityThreshold,
    /// An administrator revoked a device; it can no longer connect.
    DeviceRevoked,
    /// A gate's clock disagrees with the relay's by more than the relay tolerates, so the
    /// times of its scans (and time-window verdicts) are suspect.
    ClockSkew,
}

impl AlertKind {
    pub const ALL: [AlertKind; 4] = [
        AlertKind::Conflict,
        AlertKind::CapacityThreshold,
        AlertKind::DeviceRevoked,
        AlertKind::ClockSkew,
    ];

    /// The snake_case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Conflict => "conflict",
            AlertKind::CapacityThreshold => "capacity_threshold",
            AlertKind::DeviceRevoked => "device_revoked",
            AlertKind::ClockSkew => "clock_skew",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

/// A message from a device (gate, supervisor, admin) to the relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// The first message on every connection. The protocol version is the envelope's `v`.
    Hello {
        token: DeviceToken,
        /// The `seq` of the last log entry the device applied; 0 for none.
        cursor: u64,
        /// The device's own name for itself, for the relay's logs.
        device_name: String,
        /// The app's version ("0.1.0"), for the relay's logs and compatibility decisions.
        app_version: String,
    },
    /// Uploads one scan from the outbox. Idempotent by `scan.scan_id`; answered by `ack`.
    Scan { scan: ScanRecord },
    /// Sends an operator message; it reaches everyone as a `message` log entry.
    SendMessage {
        /// Made by the sender; sending the same id twice sends one message.
        message_id: Uuid,
        /// A gate name; `None` for everyone.
        to: Option<String>,
        text: String,
    },
    /// Heartbeat, every [`PING_INTERVAL`]; the relay answers `pong` with the same nonce.
    Ping { nonce: u64 },
}

/// A message from the relay to a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The answer to a valid `hello`.
    Welcome {
        server_time: Millis,
        /// The relay's id for this device.
        device_id: String,
        /// The name the relay knows this device by (set at pairing).
        device_name: String,
        role: Role,
        /// The event gates are checking now.
        event_id: u32,
        /// The relay streams the entries after this `seq`: the cursor from `hello`. (A cursor
        /// ahead of `head` is answered with `snapshot_needed` instead.)
        cursor: u64,
        /// The latest `seq` in the log when the connection started.
        head: u64,
    },
    /// A scan is durable in the log. Sent once per uploaded scan, in upload order.
    Ack {
        scan_id: Uuid,
        /// The scan's place in the log.
        seq: u64,
        official: Verdict,
        conflict: Option<Conflict>,
    },
    /// Log entries in `seq` order, both during catch-up and live.
    Entries {
        entries: Vec<LogEntry>,
        /// The latest `seq` in the log when this message was sent.
        head: u64,
    },
    /// Catch-up is done: every entry up to `cursor` was sent; live entries follow.
    CaughtUp { cursor: u64 },
    /// The client's cursor cannot be served from the log: it must download a snapshot over
    /// HTTP, then reconnect with the snapshot's `seq` as its cursor.
    SnapshotNeeded {
        /// Why, in plain English, for the client's logs.
        reason: String,
        /// The path of the HTTP snapshot endpoint ("/api/v1/events/1/snapshot"), relative to
        /// the relay's base address.
        url: String,
        head: u64,
    },
    /// Live counts for the dashboard.
    Stats { stats: EventStats },
    /// An operator message sent outside the log (for example a notice from the relay).
    Message { message: OperatorMessage },
    /// Something for supervisors to look at.
    Alert { alert: Alert },
    /// The answer to `ping`.
    Pong { nonce: u64, server_time: Millis },
    /// A refusal. If the relay then closes the connection it uses [`ErrorCode::close_code`].
    Error { code: ErrorCode, message: String },
}

impl ClientMessage {
    /// Every `type` a client may send, in declaration order.
    pub const TYPES: [&'static str; 4] = ["hello", "scan", "send_message", "ping"];

    /// This message's `type`, as in JSON.
    pub fn type_name(&self) -> &'static str {
        match self {
            ClientMessage::Hello { .. } => "hello",
            ClientMessage::Scan { .. } => "scan",
            ClientMessage::SendMessage { .. } => "send_message",
            ClientMessage::Ping { .. } => "ping",
        }
    }
}

impl ServerMessage {
    /// Every `type` the relay may send, in declaration order.
    pub const TYPES: [&'static str; 10] = [
        "welcome",
        "ack",
        "entries",
        "caught_up",
        "snapshot_needed",
        "stats",
        "message",
        "alert",
        "pong",
        "error",
    ];

    /// This message's `type`, as in JSON.
    pub fn type_name(&self) -> &'static str {
        match self {
            ServerMessage::Welcome { .. } => "welcome",
            ServerMessage::Ack { .. } => "ack",
            ServerMessage::Entries { .. } => "entries",
            ServerMessage::CaughtUp { .. } => "caught_up",
            ServerMessage::SnapshotNeeded { .. } => "snapshot_needed",
            ServerMessage::Stats { .. } => "stats",
            ServerMessage::Message { .. } => "message",
            ServerMessage::Alert { .. } => "alert",
            ServerMessage::Pong { .. } => "pong",
            ServerMessage::Error { .. } => "error",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Stable, machine-readable error codes: what the relay sends in `error` and what
/// [`ProtocolError::code`] reports. Clients match on these, never on the message text.
///
/// Exhaustive on purpose: a new code must make every client decide whether to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ErrorCode {
    /// The frame is not valid JSON, or not a text frame.
    MalformedJson,
    /// The frame is over [`MAX_MESSAGE_BYTES`].
    TooLarge,
    /// `v` is missing or not a supported version.
    UnknownVersion,
    /// `type` names no message this side knows.
    UnknownType,
    /// The message is not an object, has no `type`, or its fields are missing or of the wrong
    /// type; or it is not valid at this point (a second `hello`).
    InvalidMessage,
    /// The token in `hello` is missing or not known to the relay.
    Unauthorized,
    /// The device was revoked by an administrator.
    DeviceRevoked,
    /// The device's role may not do this (a supervisor uploading a scan).
    Forbidden,
    /// Too many messages, or the client fell too far behind the live stream.
    RateLimited,
    /// The device already has as many connections open as the relay allows.
    TooManyConnections,
    /// The first message was not `hello`, or did not come in time.
    NotHelloFirst,
    /// The relay failed (storage, a bug). Not the client's fault.
    Internal,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 12] = [
        ErrorCode::MalformedJson,
        ErrorCode::TooLarge,
        ErrorCode::UnknownVersion,
        ErrorCode::UnknownType,
        ErrorCode::InvalidMessage,
        ErrorCode::Unauthorized,
        ErrorCode::DeviceRevoked,
        ErrorCode::Forbidden,
        ErrorCode::RateLimited,
        ErrorCode::TooManyConnections,
        ErrorCode::NotHelloFirst,
        ErrorCode::Internal,
    ];

    /// The snake_case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::UnknownVersion => "unknown_version",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::InvalidMessage => "invalid_message",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::DeviceRevoked => "device_revoked",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::TooManyConnections => "too_many_connections",
            ErrorCode::NotHelloFirst => "not_hello_first",
            ErrorCode::Internal => "internal",
        }
    }

    /// The WebSocket close code (RFC 6455, section 7.4.1) the relay uses when it closes the
    /// connection after an `error` with this code.
    pub fn close_code(self) -> u16 {
        match self {
            // 1002: the peer broke the protocol's rules.
            ErrorCode::UnknownVersion | ErrorCode::UnknownType | ErrorCode::NotHelloFirst => 1002,
            // 1007: the payload is not what a message of its kind must contain.
            ErrorCode::MalformedJson | ErrorCode::InvalidMessage => 1007,
            // 1008: refused by policy (who the device is, what it may do).
            ErrorCode::Unauthorized | ErrorCode::DeviceRevoked | ErrorCode::Forbidden => 1008,
            ErrorCode::TooLarge => 1009,
            ErrorCode::Internal => 1011,
            // 1013: try again later.
            ErrorCode::RateLimited | ErrorCode::TooManyConnections => 1013,
        }
    }

    /// Whether reconnecting (with backoff) can help. `false` needs a person: pair the device
    /// again, or update the app or the relay.
    pub fn is_retryable(self) -> bool {
        !matches!(
            self,
            ErrorCode::UnknownVersion
                | ErrorCode::Unauthorized
                | ErrorCode::DeviceRevoked
                | ErrorCode::Forbidden
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a frame could not be decoded. Each variant says what was wrong and maps to one
/// [`ErrorCode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error(
        "the message is {len} bytes; the limit is {MAX_MESSAGE_BYTES} bytes (send large data in \
         several messages)"
    )]
    TooLarge { len: usize },
    #[error("the message is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("{}", unknown_version(.received.as_deref()))]
    UnknownVersion {
        /// The JSON text of `v` as received; `None` when there was no `v`.
        received: Option<String>,
    },
    #[error("unknown message type {received:?}; expected one of: {}", .expected.join(", "))]
    UnknownType {
        received: String,
        expected: &'static [&'static str],
    },
    #[error("{}", invalid_message(.message_type.as_deref(), .reason))]
    InvalidMessage {
        /// The message's `type`, when it had a known one.
        message_type: Option<String>,
        /// Serde's explanation.
        reason: String,
    },
}

fn unknown_version(received: Option<&str>) -> String {
    let supported = SUPPORTED_VERSIONS
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    match received {
        None => format!(
            "the message has no protocol version \"v\"; this side supports version {supported}"
        ),
        Some(v) => format!(
            "protocol version {v} is not supported; this side supports version {supported} \
             (update the app or the relay, whichever is older)"
        ),
    }
}

fn invalid_message(message_type: Option<&str>, reason: &str) -> String {
    match message_type {
        Some(t) => format!("invalid {t:?} message: {reason}"),
        None => format!("invalid message: {reason}"),
    }
}

impl ProtocolError {
    /// The stable code for this error, to send in an `error` message.
    pub fn code(&self) -> ErrorCode {
        match self {
            ProtocolError::TooLarge { .. } => ErrorCode::TooLarge,
            ProtocolError::MalformedJson(_) => ErrorCode::MalformedJson,
            ProtocolError::UnknownVersion { .. } => ErrorCode::UnknownVersion,
            ProtocolError::UnknownType { .. } => ErrorCode::UnknownType,
            ProtocolError::InvalidMessage { .. } => ErrorCode::InvalidMessage,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding and decoding
// ---------------------------------------------------------------------------------------------

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::ClientMessage {}
    impl Sealed for super::ServerMessage {}
}

/// A top-level message: [`ClientMessage`] or [`ServerMessage`].
pub trait WireMessage: Serialize + DeserializeOwned + sealed::Sealed {
    /// Every `type` of this direction.
    const TYPES: &'static [&'static str];
}

impl WireMessage for ClientMessage {
    const TYPES: &'static [&'static str] = &ClientMessage::TYPES;
}

impl WireMessage for ServerMessage {
    const TYPES: &'static [&'static str] = &ServerMessage::TYPES;
}

/// A message with its version, as it goes on the wire: `{"v":1,"type":...,...}`.
#[derive(Serialize)]
struct Framed<'a, M> {
    v: u16,
    #[serde(flatten)]
    message: &'a M,
}

/// Encodes a message as the text of one frame. The caller keeps it under
/// [`MAX_MESSAGE_BYTES`]; for batches of log entries use [`encode_entries`].
pub fn encode<M: WireMessage>(message: &M) -> String {
    serde_json::to_string(&Framed {
        v: PROTOCOL_VERSION,
        message,
    })
    // Every field is a string, number, bool, list or string-keyed object: nothing can fail.
    .expect("protocol messages always serialise")
}

/// [`encode`] for messages a device sends.
pub fn encode_client(message: &ClientMessage) -> String {
    encode(message)
}

/// [`encode`] for messages the relay sends.
pub fn encode_server(message: &ServerMessage) -> String {
    encode(message)
}

/// Decodes a frame a device sent (the relay's side).
pub fn decode_client(text: &str) -> Result<ClientMessage, ProtocolError> {
    decode(text)
}

/// Decodes a frame the relay sent (a device's side).
pub fn decode_server(text: &str) -> Result<ServerMessage, ProtocolError> {
    decode(text)
}

fn decode<M: WireMessage>(text: &str) -> Result<M, ProtocolError> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(ProtocolError::TooLarge { len: text.len() });
    }
    // A first pass reads only `v` and `type` (skipping, but checking the syntax of, the rest),
    // so that version and type are judged before any field is.
    let head: Head = serde_json::from_str(text).map_err(|err| match err.classify() {
        serde_json::error::Category::Data => ProtocolError::InvalidMessage {
            message_type: None,
            reason: err.to_string(),
        },
        _ => ProtocolError::MalformedJson(err.to_string()),
    })?;
    match &head.v {
        Some(v)
            if v.as_u64()
                .is_some_and(|v| SUPPORTED_VERSIONS.iter().any(|&s| u64::from(s) == v)) => {}
        v => {
            return Err(ProtocolError::UnknownVersion {
                received: v.as_ref().map(|v| shorten(&v.to_string())),
            })
        }
    }
    let message_type = match head.message_type {
        Some(serde_json::Value::String(t)) if M::TYPES.contains(&t.as_str()) => t,
        Some(serde_json::Value::String(t)) => {
            return Err(ProtocolError::UnknownType {
                received: shorten(&t),
                expected: M::TYPES,
            })
        }
        Some(other) => {
            return Err(ProtocolError::InvalidMessage {
                message_type: None,
                reason: format!(
                    "\"type\" must be a string, not {}",
                    shorten(&other.to_string())
                ),
            })
        }
        None => {
            return Err(ProtocolError::InvalidMessage {
                message_type: None,
                reason: "the message has no \"type\"".into(),
            })
        }
    };
    // `v` is an unknown field to the message types, and unknown fields are ignored.
    serde_json::from_str(text).map_err(|err| ProtocolError::InvalidMessage {
        message_type: Some(message_type),
        reason: err.to_string(),
    })
}

/// Keeps a peer's text in an error message short (it may be most of a 64 KiB frame).
fn shorten(text: &str) -> String {
    const MAX: usize = 40;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// The envelope of a frame: its version and type, whatever their JSON types.
struct Head {
    v: Option<serde_json::Value>,
    message_type: Option<serde_json::Value>,
}

impl<'de> Deserialize<'de> for Head {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Head, D::Error> {
        #[derive(Deserialize)]
        #[serde(field_identifier, rename_all = "lowercase")]
        enum Field {
            V,
            Type,
            #[serde(other)]
            Other,
        }

        struct HeadVisitor;

        impl<'de> Visitor<'de> for HeadVisitor {
            type Value = Head;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Head, A::Error> {
                let mut head = Head {
                    v: None,
                    message_type: None,
                };
                while let Some(field) = map.next_key::<Field>()? {
                    let (slot, name) = match field {
                        Field::V => (&mut head.v, "v"),
                        Field::Type => (&mut head.message_type, "type"),
                        Field::Other => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    if slot.is_some() {
                        return Err(de::Error::duplicate_field(name));
                    }
                    *slot = Some(map.next_value()?);
                }
                Ok(head)
            }
        }

        // Only an object: a derived struct would also accept a JSON array.
        deserializer.deserialize_map(HeadVisitor)
    }
}

/// Encodes log entries as `entries` messages of at most [`MAX_MESSAGE_BYTES`] each, in order,
/// as few as fit. Each message is exactly what [`encode`] gives for its entries.
///
/// Fails with [`ProtocolError::TooLarge`] if one entry alone does not fit in a message: the
/// relay must refuse such a change when it is made, since no device could receive it.
pub fn encode_entries(entries: &[LogEntry], head: u64) -> Result<Vec<String>, ProtocolError> {
    let json: Vec<String> = entries
        .iter()
        .map(|entry| serde_json::to_string(entry).expect("log entries always serialise"))
        .collect();
    let packed = pack_entries(json.iter().map(String::as_str), head)?;
    Ok(packed.into_iter().map(|p| p.text).collect())
}

/// An `entries` message made by [`pack_entries`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedEntries {
    pub text: String,
    /// Where each entry's object is in `text`, in order.
    pub entries: Vec<std::ops::Range<usize>>,
}

/// [`encode_entries`] for entries already encoded as LogEntry JSON objects (as
/// `serde_json::to_string` writes them), saying where each entry is in its message: a relay
/// that keeps each entry's JSON packs it without encoding it again, and can pack a part of a
/// message again.
pub fn pack_entries<'a>(
    entries: impl IntoIterator<Item = &'a str>,
    head: u64,
) -> Result<Vec<PackedEntries>, ProtocolError> {
    // The layout `encode` produces for `ServerMessage::Entries`; a test checks they agree.
    let prefix = format!(r#"{{"v":{PROTOCOL_VERSION},"type":"entries","entries":["#);
    let suffix = format!(r#"],"head":{head}}}"#);
    let empty = prefix.len() + suffix.len();
    let mut messages = Vec::new();
    let mut current = PackedEntries {
        text: prefix.clone(),
        entries: Vec::new(),
    };
    for json in entries {
        if empty + json.len() > MAX_MESSAGE_BYTES {
            return Err(ProtocolError::TooLarge {
                len: empty + json.len(),
            });
        }
        let separator = usize::from(!current.entries.is_empty());
        if current.text.len() + separator + json.len() + suffix.len() > MAX_MESSAGE_BYTES {
            current.text.push_str(&suffix);
            let next = PackedEntries {
                text: prefix.clone(),
                entries: Vec::new(),
            };
            messages.push(std::mem::replace(&mut current, next));
        }
        if !current.entries.is_empty() {
            current.text.push(',');
        }
        let start = current.text.len();
        current.text.push_str(json);
        current.entries.push(start..current.text.len());
    }
    if !current.entries.is_empty() {
        current.text.push_str(&suffix);
        messages.push(current);
    }
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use expect_test::{expect, Expect};
    use proptest::prelude::*;

    use super::*;
    use crate::rules::{Movement, TicketType};
    use crate::ticket::{EventSigner, TicketClaims};

    /// The examples every snapshot, the round trips and `docs/PROTOCOL.md` share.
    mod examples {
        use super::*;

        /// The test event: 2026-11-21 19:00 in Jakarta (UTC+7) is its evening.
        pub const EVENT: u32 = 7;
        pub const EVENING: Millis = Millis(1_795_262_400_000);
        /// A real signed code for ticket 1042 of event 7, signed by [`signer`] (checked below).
        pub const CODE: &str = "GB:W500007000007N0100P40O+A$LB SE :Q*LQXQBLZU H5B7D7+H%TCJ1G%L54%A8LJ$MQYV5%.A/SUEF2J32HPLPZ5UJ8CRIOH89%N/JHSNH4SBIQ220";

        /// Key 1 of event 7, from a published secret: for examples and tests only.
        pub fn signer() -> EventSigner {
            EventSigner::from_secret(EVENT, 1, [42; 32])
        }

        pub fn claims() -> TicketClaims {
            TicketClaims {
                event_id: EVENT,
                ticket_id: 1042,
                type_id: 1,
                valid_from: None,
                valid_until: None,
            }
        }

        /// A UUID v7 made `ms` after the evening began, with fixed "random" bits.
        pub fn uuid(ms: i64, fill: u8) -> Uuid {
            uuid::Builder::from_unix_timestamp_millis(EVENING.plus(ms).0 as u64, &[fill; 10])
                .into_uuid()
        }

        pub fn scan() -> ScanRecord {
            ScanRecord {
                scan_id: uuid(1_500, 0xa1),
                event_id: EVENT,
                code: CODE.into(),
                ticket_id: Some(1042),
                gate: "Gerbang B".into(),
                direction: Direction::Entry,
                at: EVENING.plus(1_500),
                local: VerdictKind::Admitted,
            }
        }

        /// The scan that reached the relay first, at another gate.
        pub fn first_scan() -> ScanRecord {
            ScanRecord {
                scan_id: uuid(-120_000, 0xb2),
                gate: "Gerbang A".into(),
                at: EVENING.plus(-120_000),
                ..scan()
            }
        }

        pub fn conflict() -> Conflict {
            let first = first_scan();
            Conflict {
                first_scan_id: first.scan_id,
                first_gate: first.gate,
                first_at: first.at,
            }
        }

        /// The official verdict on [`scan`]: [`first_scan`] came first.
        pub fn already_used() -> Verdict {
            Verdict {
                kind: VerdictKind::AlreadyUsed,
                ticket_id: Some(1042),
                holder: Some("Siti Rahayu".into()),
                ticket_type: Some("Reguler".into()),
                reason: "Already used at Gerbang A, 18:58.".into(),
                previous: Some(Movement {
                    at: EVENING.plus(-120_000),
                    gate: "Gerbang A".into(),
                    direction: Direction::Entry,
                }),
            }
        }

        pub fn operator_message() -> OperatorMessage {
            OperatorMessage {
                message_id: uuid(30_000, 0xc3),
                from: "Supervisor 1".into(),
                to: Some("Gerbang B".into()),
                text: "Open the second lane, please.".into(),
                at: EVENING.plus(30_000),
            }
        }

        pub fn event() -> EventRules {
            EventRules {
                id: EVENT,
                name: "Seminar Nasional".into(),
                doors_open: Some(EVENING.plus(-Millis::HOUR)),
                doors_close: Some(EVENING.plus(3 * Millis::HOUR)),
                capacity: Some(1_000),
                reentry: true,
                max_entries_per_day: None,
                max_entries_total: None,
                utc_offset_minutes: 7 * 60,
                ticket_types: vec![
                    TicketType {
                        id: 1,
                        name: "Reguler".into(),
                    },
                    TicketType {
                        id: 2,
                        name: "VIP".into(),
                    },
                ],
            }
        }

        /// An entry the relay committed `ms` after the evening began.
        pub fn entry(seq: u64, ms: i64, body: LogBody) -> LogEntry {
            LogEntry {
                seq,
                at: EVENING.plus(ms),
                body,
            }
        }

        pub fn hello() -> ClientMessage {
            ClientMessage::Hello {
                token: "gbt_8mQ2xK4vZ7nR1pW9sT3yL6cF0hJ5dA".into(),
                cursor: 41_200,
                device_name: "Gerbang B laptop".into(),
                app_version: "0.1.0".into(),
            }
        }

        pub fn scan_message() -> ClientMessage {
            ClientMessage::Scan { scan: scan() }
        }

        pub fn send_message() -> ClientMessage {
            ClientMessage::SendMessage {
                message_id: uuid(30_000, 0xc3),
                to: Some("Gerbang B".into()),
                text: "Open the second lane, please.".into(),
            }
        }

        pub fn ping() -> ClientMessage {
            ClientMessage::Ping { nonce: 17 }
        }

        pub fn client() -> Vec<ClientMessage> {
            vec![hello(), scan_message(), send_message(), ping()]
        }

        pub fn welcome() -> ServerMessage {
            ServerMessage::Welcome {
                server_time: EVENING.plus(12),
                device_id: "dev_0b7f3c".into(),
                device_name: "Gerbang B".into(),
                role: Role::Gate,
                event_id: EVENT,
                cursor: 41_200,
                head: 41_530,
            }
        }

        pub fn ack() -> ServerMessage {
            ServerMessage::Ack {
                scan_id: scan().scan_id,
                seq: 41_531,
                official: already_used(),
                conflict: Some(conflict()),
            }
        }

        pub fn entries() -> ServerMessage {
            ServerMessage::Entries {
                entries: vec![
                    entry(
                        41_201,
                        -600_000,
                        LogBody::TicketRevoked {
                            event_id: EVENT,
                            ticket_id: 76,
                        },
                    ),
                    entry(
                        41_202,
                        -590_000,
                        LogBody::Message {
                            message: OperatorMessage {
                                message_id: uuid(-590_000, 0xe5),
                                from: "Supervisor 1".into(),
                                to: None,
                                text: "Gerbang C is closed; send people to A or B.".into(),
                                at: EVENING.plus(-590_000),
                            },
                        },
                    ),
                ],
                head: 41_530,
            }
        }

        pub fn caught_up() -> ServerMessage {
            ServerMessage::CaughtUp { cursor: 41_530 }
        }

        pub fn snapshot_needed() -> ServerMessage {
            ServerMessage::SnapshotNeeded {
                reason: "cursor 0 is 41530 entries behind; a snapshot is faster".into(),
                url: "/api/v1/events/7/snapshot".into(),
                head: 41_530,
            }
        }

        pub fn stats() -> ServerMessage {
            ServerMessage::Stats {
                stats: EventStats {
                    event_id: EVENT,
                    issued: 1_200,
                    admitted: 640,
                    inside_now: 598,
                    capacity: Some(1_000),
                    remaining: Some(402),
                    per_gate: vec![
                        GateThroughput {
                            gate: "Gerbang A".into(),
                            admitted: 350,
                            exits: 30,
                            last_minute: 12,
                        },
                        GateThroughput {
                            gate: "Gerbang B".into(),
                            admitted: 290,
                            exits: 12,
                            last_minute: 9,
                        },
                    ],
                    at: EVENING.plus(2_000),
                },
            }
        }

        pub fn message() -> ServerMessage {
            ServerMessage::Message {
                message: OperatorMessage {
                    message_id: uuid(60_000, 0xd4),
                    from: "relay".into(),
                    to: None,
                    text: "The relay restarts at 22:00 for five minutes.".into(),
                    at: EVENING.plus(60_000),
                },
            }
        }

        pub fn alert() -> ServerMessage {
            ServerMessage::Alert {
                alert: Alert {
                    alert_id: 41_531,
                    kind: AlertKind::Conflict,
                    at: EVENING.plus(1_503),
                    text: "Ticket 1042 was admitted twice: first at Gerbang A (official), then \
                           at Gerbang B while it was offline; holder Siti Rahayu."
                        .into(),
                    scans: vec![first_scan(), scan()],
                    capacity: None,
                },
            }
        }

        pub fn pong() -> ServerMessage {
            ServerMessage::Pong {
                nonce: 17,
                server_time: EVENING.plus(2_010),
            }
        }

        pub fn error() -> ServerMessage {
            ServerMessage::Error {
                code: ErrorCode::InvalidMessage,
                message: "invalid \"ping\" message: missing field `nonce`".into(),
            }
        }

        pub fn server() -> Vec<ServerMessage> {
            vec![
                welcome(),
                ack(),
                entries(),
                caught_up(),
                snapshot_needed(),
                stats(),
                message(),
                alert(),
                pong(),
                error(),
            ]
        }

        pub fn scan_entry() -> LogEntry {
            entry(
                41_531,
                1_503,
                LogBody::Scan {
                    scan: scan(),
                    official: already_used(),
                    conflict: Some(conflict()),
                },
            )
        }

        pub fn ticket_upsert() -> LogEntry {
            entry(
                41_532,
                20_000,
                LogBody::TicketUpsert {
                    ticket: TicketRecord {
                        event_id: EVENT,
                        ticket_id: 1043,
                        type_id: 2,
                        holder: "Budi Santoso".into(),
                        barcode: Some("8991234567890".into()),
                        valid_from: None,
                        valid_until: Some(EVENING.plus(3 * Millis::HOUR)),
                        revoked: false,
                    },
                },
            )
        }

        pub fn ticket_revoked() -> LogEntry {
            entry(
                41_533,
                25_000,
                LogBody::TicketRevoked {
                    event_id: EVENT,
                    ticket_id: 77,
                },
            )
        }

        pub fn key_added() -> LogEntry {
            entry(
                41_534,
                26_000,
                LogBody::KeyAdded {
                    key: signer().public_key(),
                },
            )
        }

        pub fn key_retired() -> LogEntry {
            entry(
                41_535,
                27_000,
                LogBody::KeyRetired {
                    event_id: EVENT,
                    key_id: 1,
                },
            )
        }

        pub fn event_updated() -> LogEntry {
            entry(41_536, 28_000, LogBody::EventUpdated { event: event() })
        }

        pub fn message_entry() -> LogEntry {
            entry(
                41_537,
                30_000,
                LogBody::Message {
                    message: operator_message(),
                },
            )
        }

        pub fn log_entries() -> Vec<LogEntry> {
            vec![
                scan_entry(),
                ticket_upsert(),
                ticket_revoked(),
                key_added(),
                key_retired(),
                event_updated(),
                message_entry(),
            ]
        }
    }

    /// What the snapshot tests need of a message or a log entry.
    trait Sample: fmt::Debug + PartialEq + Sized {
        /// Its `type` or `kind`.
        fn tag(&self) -> &'static str;
        /// Exactly what goes on the wire.
        fn wire(&self) -> String;
        /// The same JSON, key for key in the same order, indented for people.
        fn pretty(&self) -> String;
        fn decode(text: &str) -> Result<Self, String>;
    }

    fn pretty_message<M: WireMessage>(message: &M) -> String {
        serde_json::to_string_pretty(&Framed {
            v: PROTOCOL_VERSION,
            message,
        })
        .unwrap()
    }

    impl Sample for ClientMessage {
        fn tag(&self) -> &'static str {
            self.type_name()
        }
        fn wire(&self) -> String {
            encode(self)
        }
        fn pretty(&self) -> String {
            pretty_message(self)
        }
        fn decode(text: &str) -> Result<Self, String> {
            decode_client(text).map_err(|e| e.to_string())
        }
    }

    impl Sample for ServerMessage {
        fn tag(&self) -> &'static str {
            self.type_name()
        }
        fn wire(&self) -> String {
            encode(self)
        }
        fn pretty(&self) -> String {
            pretty_message(self)
        }
        fn decode(text: &str) -> Result<Self, String> {
            decode_server(text).map_err(|e| e.to_string())
        }
    }

    impl Sample for LogEntry {
        fn tag(&self) -> &'static str {
            self.body.kind()
        }
        fn wire(&self) -> String {
            serde_json::to_string(self).unwrap()
        }
        fn pretty(&self) -> String {
            serde_json::to_string_pretty(self).unwrap()
        }
        fn decode(text: &str) -> Result<Self, String> {
            serde_json::from_str(text).map_err(|e| e.to_string())
        }
    }

    /// Snapshots the JSON of `sample`, checks that it and its wire form decode back to it and
    /// that its tag is the one in the JSON. Returns the tag, so a test can show it covered all.
    // Both by value so that call sites read `check(message, expect![[...]])`.
    #[allow(clippy::needless_pass_by_value)]
    fn check<S: Sample>(sample: S, expect: Expect) -> &'static str {
        let pretty = sample.pretty();
        expect.assert_eq(&pretty);
        let wire = sample.wire();
        assert!(!wire.contains('\n'), "one line on the wire: {wire}");
        assert_eq!(
            S::decode(&wire).as_ref(),
            Ok(&sample),
            "round trip of {wire}"
        );
        assert_eq!(
            S::decode(&pretty).as_ref(),
            Ok(&sample),
            "round trip of {pretty}"
        );
        // Same keys in the same order: the pretty form is the wire form, indented.
        assert_eq!(compact(&pretty), wire);
        let tag = sample.tag();
        let field = if wire.starts_with(r#"{"v":"#) {
            "type"
        } else {
            "kind"
        };
        assert!(
            wire.contains(&format!(r#""{field}":"{tag}""#)),
            "{tag} in {wire}"
        );
        tag
    }

    /// Drops the whitespace between JSON tokens, keeping strings as they are.
    fn compact(json: &str) -> String {
        let (mut out, mut in_string, mut escaped) = (String::new(), false, false);
        for c in json.chars() {
            if in_string {
                in_string = escaped || c != '"';
                escaped = !escaped && c == '\\';
            } else if c.is_whitespace() {
                continue;
            } else {
                in_string = c == '"';
            }
            out.push(c);
        }
        out
    }

    #[test]
    fn client_messages() {
        let checked = [
            check(
                examples::hello(),
                expect![[r#"
                {
                  "v": 1,
                  "type": "hello",
                  "token": "gbt_8mQ2xK4vZ7nR1pW9sT3yL6cF0hJ5dA",
                  "cursor": 41200,
                  "device_name": "Gerbang B laptop",
                  "app_version": "0.1.0"
                }"#]],
            ),
            check(
                examples::scan_message(),
                expect![[r#"
                {
                  "v": 1,
                  "type": "scan",
                  "scan": {
                    "scan_id": "01a1fdfa-4bdc-71a1-a1a1-a1a1a1a1a1a1",
                    "event_id": 7,
                    "code": "GB:W500007000007N0100P40O+A$LB SE :Q*LQXQBLZU H5B7D7+H%TCJ1G%L54%A8LJ$MQYV5%.A/SUEF2J32HPLPZ5UJ8CRIOH89%N/JHSNH4SBIQ220",
                    "ticket_id": 1042,
                    "gate": "Gerbang B",
                    "direction": "entry",
                    "at": 1795262401500,
                    "local": "admitted"
                  }
                }"#]],
            ),
            check(
                examples::send_message(),
                expect![[r#"
                {
                  "v": 1,
                  "type": "send_message",
                  "message_id": "01a1fdfa-bb30-73c3-83c3-c3c3c3c3c3c3",
                  "to": "Gerbang B",
                  "text": "Open the second lane, please."
                }"#]],
            ),
            check(
                examples::ping(),
                expect![[r#"
                {
                  "v": 1,
                  "type": "ping",
                  "nonce": 17
                }"#]],
            ),
        ];
        assert_eq!(checked, ClientMessage::TYPES);
    }

    #[test]
    fn server_messages() {
        let checked = [
            check(
                examples::welcome(),
                expect![[r#"
                {
                  "v": 1,
                  "type": "welcome",
                  "server_time": 1795262400012,
                  "device_id": "dev_0b7f3c",
                  "device_name": "Gerbang B",
                  "role": "gate",
                  "event_id": 7,
                  "cursor": 41200,
                  "head": 41530
                }"#]],
            ),
            check(
                examples::ack(),
                expect![[r#"
                {
                  "v": 1,
                  "type": "ack",
                  "scan_id": "01a1fdfa-4bdc-71a1-a1a1-a1a1a1a1a1a1",
                  "seq": 41531,
                  "official": {
                    "kind": "already_used",
                    "ticket_id": 1042,
                    "holder": "Siti Rahayu",
                    "ticket_type": "Reguler",
                    "reason": "Already used at Gerbang A, 18:58.",
                    "previous": {
                      "at": 1795262280000,
                      "gate": "Gerbang A",
                      "direction": "entry"
                    }
                  },
                  "conflict": {
                    "first_scan_id": "01a1fdf8-7140-72b2-b2b2-b2b2b2b2b2b2",
                    "first_gate": "Gerbang A",
                    "first_at": 1795262280000
                  }
                }"#]],
            ),
            check(
                examples::entries(),
                expect![[r#"
                {
                  "v": 1,
                  "type": "entries",
                  "entries": [
                    {
                      "seq": 41201,
                      "at": 1795261800000,
                      "body": {
                        "kind": "ticket_revoked",
                        "event_id": 7,
                        "ticket_id": 76
                      }
                    },
                    {
                      "seq": 41202,
                      "at": 1795261810000,
                      "body": {
                        "kind": "message",
                        "message": {
                          "message_id": "01a1fdf1-4550-75e5-a5e5-e5e5e5e5e5e5",
                          "from": "Supervisor 1",
                          "to": null,
                          "text": "Gerbang C is closed; send people to A or B.",
                          "at": 1795261810000
                        }
                      }
                    }
                  ],
                  "head": 41530
                }"#]],
            ),
            check(
                examples::caught_up(),
                expect![[r#"
                {
                  "v": 1,
                  "type": "caught_up",
                  "cursor": 41530
                }"#]],
            ),
            check(
                examples::snapshot_needed(),
                expect![[r#"
                {
                  "v": 1,
                  "type": "snapshot_needed",
                  "reason": "cursor 0 is 41530 entries behind; a snapshot is faster",
                  "url": "/api/v1/events/7/snapshot",
                  "head": 41530
                }"#]],
            ),
            check(
                examples::stats(),
                expect![[r#"
                {
                  "v": 1,
                  "type": "stats",
                  "stats": {
                    "event_id": 7,
                    "issued": 1200,
                    "admitted": 640,
                    "inside_now": 598,
                    "capacity": 1000,
                    "remaining": 402,
                    "per_gate": [
                      {
                        "gate": "Gerbang A",
                        "admitted": 350,
                        "exits": 30,
                        "last_minute": 12
                      },
                      {
                        "gate": "Gerbang B",
                        "admitted": 290,
                        "exits": 12,
                        "last_minute": 9
                      }
                    ],
                    "at": 1795262402000
                  }
                }"#]],
            ),
            check(
                examples::message(),
                expect![[r#"
                {
                  "v": 1,
                  "type": "message",
                  "message": {
                    "message_id": "01a1fdfb-3060-74d4-94d4-d4d4d4d4d4d4",
                    "from": "relay",
                    "to": null,
                    "text": "The relay restarts at 22:00 for five minutes.",
                    "at": 1795262460000
                  }
                }"#]],
            ),
            check(
                examples::alert(),
                expect![[r#"
                {
                  "v": 1,
                  "type": "alert",
                  "alert": {
                    "alert_id": 41531,
                    "kind": "conflict",
                    "at": 1795262401503,
                    "text": "Ticket 1042 was admitted twice: first at Gerbang A (official), then at Gerbang B while it was offline; holder Siti Rahayu.",
                    "scans": [
                      {
                        "scan_id": "01a1fdf8-7140-72b2-b2b2-b2b2b2b2b2b2",
                        "event_id": 7,
                        "code": "GB:W500007000007N0100P40O+A$LB SE :Q*LQXQBLZU H5B7D7+H%TCJ1G%L54%A8LJ$MQYV5%.A/SUEF2J32HPLPZ5UJ8CRIOH89%N/JHSNH4SBIQ220",
                        "ticket_id": 1042,
                        "gate": "Gerbang A",
                        "direction": "entry",
                        "at": 1795262280000,
                        "local": "admitted"
                      },
                      {
                        "scan_id": "01a1fdfa-4bdc-71a1-a1a1-a1a1a1a1a1a1",
                        "event_id": 7,
                        "code": "GB:W500007000007N0100P40O+A$LB SE :Q*LQXQBLZU H5B7D7+H%TCJ1G%L54%A8LJ$MQYV5%.A/SUEF2J32HPLPZ5UJ8CRIOH89%N/JHSNH4SBIQ220",
                        "ticket_id": 1042,
                        "gate": "Gerbang B",
                        "direction": "entry",
                        "at": 1795262401500,
                        "local": "admitted"
                      }
                    ]
                  }
                }"#]],
            ),
            check(
                examples::pong(),
                expect![[r#"
                {
                  "v": 1,
                  "type": "pong",
                  "nonce": 17,
                  "server_time": 1795262402010
                }"#]],
            ),
            check(
                examples::error(),
                expect![[r#"
                {
                  "v": 1,
                  "type": "error",
                  "code": "invalid_message",
                  "message": "invalid \"ping\" message: missing field `nonce`"
                }"#]],
            ),
        ];
        assert_eq!(checked, ServerMessage::TYPES);
    }

    #[test]
    fn log_bodies() {
        let checked = [
            check(
                examples::scan_entry(),
                expect![[r#"
                {
                  "seq": 41531,
                  "at": 1795262401503,
                  "body": {
                    "kind": "scan",
                    "scan": {
                      "scan_id": "01a1fdfa-4bdc-71a1-a1a1-a1a1a1a1a1a1",
                      "event_id": 7,
                      "code": "GB:W500007000007N0100P40O+A$LB SE :Q*LQXQBLZU H5B7D7+H%TCJ1G%L54%A8LJ$MQYV5%.A/SUEF2J32HPLPZ5UJ8CRIOH89%N/JHSNH4SBIQ220",
                      "ticket_id": 1042,
                      "gate": "Gerbang B",
                      "direction": "entry",
                      "at": 1795262401500,
                      "local": "admitted"
                    },
                    "official": {
                      "kind": "already_used",
                      "ticket_id": 1042,
                      "holder": "Siti Rahayu",
                      "ticket_type": "Reguler",
                      "reason": "Already used at Gerbang A, 18:58.",
                      "previous": {
                        "at": 1795262280000,
                        "gate": "Gerbang A",
                        "direction": "entry"
                      }
                    },
                    "conflict": {
                      "first_scan_id": "01a1fdf8-7140-72b2-b2b2-b2b2b2b2b2b2",
                      "first_gate": "Gerbang A",
                      "first_at": 1795262280000
                    }
                  }
                }"#]],
            ),
            check(
                examples::ticket_upsert(),
                expect![[r#"
                {
                  "seq": 41532,
                  "at": 1795262420000,
                  "body": {
                    "kind": "ticket_upsert",
                    "ticket": {
                      "event_id": 7,
                      "ticket_id": 1043,
                      "type_id": 2,
                      "holder": "Budi Santoso",
                      "barcode": "8991234567890",
                      "valid_from": null,
                      "valid_until": 1795273200000,
                      "revoked": false
                    }
                  }
                }"#]],
            ),
            check(
                examples::ticket_revoked(),
                expect![[r#"
                {
                  "seq": 41533,
                  "at": 1795262425000,
                  "body": {
                    "kind": "ticket_revoked",
                    "event_id": 7,
                    "ticket_id": 77
                  }
                }"#]],
            ),
            check(
                examples::key_added(),
                expect![[r#"
                {
                  "seq": 41534,
                  "at": 1795262426000,
                  "body": {
                    "kind": "key_added",
                    "key": {
                      "event_id": 7,
                      "key_id": 1,
                      "public_key": "197f6b23e16c8532c6abc838facd5ea789be0c76b2920334039bfa8b3d368d61"
                    }
                  }
                }"#]],
            ),
            check(
                examples::key_retired(),
                expect![[r#"
                {
                  "seq": 41535,
                  "at": 1795262427000,
                  "body": {
                    "kind": "key_retired",
                    "event_id": 7,
                    "key_id": 1
                  }
                }"#]],
            ),
            check(
                examples::event_updated(),
                expect![[r#"
                {
                  "seq": 41536,
                  "at": 1795262428000,
                  "body": {
                    "kind": "event_updated",
                    "event": {
                      "id": 7,
                      "name": "Seminar Nasional",
                      "doors_open": 1795258800000,
                      "doors_close": 1795273200000,
                      "capacity": 1000,
                      "reentry": true,
                      "max_entries_per_day": null,
                      "max_entries_total": null,
                      "utc_offset_minutes": 420,
                      "ticket_types": [
                        {
                          "id": 1,
                          "name": "Reguler"
                        },
                        {
                          "id": 2,
                          "name": "VIP"
                        }
                      ]
                    }
                  }
                }"#]],
            ),
            check(
                examples::message_entry(),
                expect![[r#"
                {
                  "seq": 41537,
                  "at": 1795262430000,
                  "body": {
                    "kind": "message",
                    "message": {
                      "message_id": "01a1fdfa-bb30-73c3-83c3-c3c3c3c3c3c3",
                      "from": "Supervisor 1",
                      "to": "Gerbang B",
                      "text": "Open the second lane, please.",
                      "at": 1795262430000
                    }
                  }
                }"#]],
            ),
        ];
        assert_eq!(checked, LogBody::KINDS);
    }

    #[test]
    fn wire_form_is_compact_with_version_first() {
        let wire = [examples::ping().wire(), examples::pong().wire()].join("\n");
        expect![[r#"
            {"v":1,"type":"ping","nonce":17}
            {"v":1,"type":"pong","nonce":17,"server_time":1795262402010}"#]]
        .assert_eq(&wire);
    }

    #[test]
    fn the_example_code_is_a_real_ticket() {
        let issued = examples::signer().issue(&examples::claims()).unwrap();
        assert_eq!(issued, examples::CODE);
    }

    #[test]
    fn the_error_example_is_a_real_error() {
        let err = decode_client(r#"{"v":1,"type":"ping"}"#).unwrap_err();
        let real = ServerMessage::Error {
            code: err.code(),
            message: err.to_string(),
        };
        assert_eq!(real, examples::error());
    }

    /// Decodes each text as a client message and renders `name: code: message`.
    #[allow(clippy::needless_pass_by_value)]
    fn check_errors(cases: &[(&str, &str)], expect: Expect) {
        let out: String = cases
            .iter()
            .map(|(name, text)| match decode_client(text) {
                Ok(message) => format!("{name}: decoded {message:?}\n"),
                Err(err) => format!("{name}: {}: {err}\n", err.code()),
            })
            .collect();
        expect.assert_eq(&out);
    }

    #[test]
    fn decode_errors_name_the_problem() {
        let too_large = format!("{{\"x\":\"{}\"", "a".repeat(MAX_MESSAGE_BYTES));
        check_errors(
            &[
                ("too large (and not JSON)", &too_large),
                ("malformed json", r#"{"v":2,"type":"pong""#),
                ("trailing text", r#"{"v":1,"type":"ping","nonce":1} x"#),
                ("not an object", r#"[1,"ping",3]"#),
                ("missing v", r#"{"type":"ping","nonce":1}"#),
                ("v=2", r#"{"v":2,"type":"nope"}"#),
                ("v as a string", r#"{"v":"1","type":"ping","nonce":1}"#),
                ("duplicate v", r#"{"v":1,"v":1,"type":"ping","nonce":1}"#),
                ("unknown type", r#"{"v":1,"type":"teleport","nonce":1}"#),
                ("a server type sent to the relay", &examples::pong().wire()),
                ("missing type", r#"{"v":1,"nonce":1}"#),
                ("type not a string", r#"{"v":1,"type":3}"#),
                ("missing field", r#"{"v":1,"type":"ping"}"#),
                ("wrong field type", r#"{"v":1,"type":"ping","nonce":"1"}"#),
                (
                    "negative cursor",
                    r#"{"v":1,"type":"hello","token":"t","cursor":-1,"device_name":"A","app_version":"0.1.0"}"#,
                ),
                (
                    "unknown fields are ignored",
                    r#"{"v":1,"type":"ping","nonce":1,"later":true}"#,
                ),
            ],
            expect![[r#"
                too large (and not JSON): too_large: the message is 65543 bytes; the limit is 65536 bytes (send large data in several messages)
                malformed json: malformed_json: the message is not valid JSON: EOF while parsing an object at line 1 column 20
                trailing text: malformed_json: the message is not valid JSON: trailing characters at line 1 column 33
                not an object: invalid_message: invalid message: invalid type: sequence, expected a JSON object at line 1 column 0
                missing v: unknown_version: the message has no protocol version "v"; this side supports version 1
                v=2: unknown_version: protocol version 2 is not supported; this side supports version 1 (update the app or the relay, whichever is older)
                v as a string: unknown_version: protocol version "1" is not supported; this side supports version 1 (update the app or the relay, whichever is older)
                duplicate v: invalid_message: invalid message: duplicate field `v` at line 1 column 10
                unknown type: unknown_type: unknown message type "teleport"; expected one of: hello, scan, send_message, ping
                a server type sent to the relay: unknown_type: unknown message type "pong"; expected one of: hello, scan, send_message, ping
                missing type: invalid_message: invalid message: the message has no "type"
                type not a string: invalid_message: invalid message: "type" must be a string, not 3
                missing field: invalid_message: invalid "ping" message: missing field `nonce`
                wrong field type: invalid_message: invalid "ping" message: invalid type: string "1", expected u64
                negative cursor: invalid_message: invalid "hello" message: invalid value: integer `-1`, expected u64
                unknown fields are ignored: decoded Ping { nonce: 1 }
            "#]],
        );
    }

    #[test]
    fn the_size_limit_is_inclusive() {
        let ping = examples::ping().wire();
        let at_limit = format!("{ping}{}", " ".repeat(MAX_MESSAGE_BYTES - ping.len()));
        assert_eq!(decode_client(&at_limit), Ok(examples::ping()));
        let over = format!("{at_limit} ");
        assert_eq!(
            decode_client(&over).map_err(|e| e.code()),
            Err(ErrorCode::TooLarge)
        );
    }

    #[test]
    fn error_codes_close_codes_and_retries() {
        let out: String = ErrorCode::ALL
            .iter()
            .map(|&code| {
                // The name in JSON is the one `as_str` gives.
                assert_eq!(
                    serde_json::to_string(&code).unwrap(),
                    format!("\"{}\"", code.as_str())
                );
                let retry = if code.is_retryable() { "retry" } else { "stop" };
                format!("{:<22} {} {retry}\n", code.as_str(), code.close_code())
            })
            .collect();
        expect![[r#"
            malformed_json         1007 retry
            too_large              1009 retry
            unknown_version        1002 stop
            unknown_type           1002 retry
            invalid_message        1007 retry
            unauthorized           1008 stop
            device_revoked         1008 stop
            forbidden              1008 stop
            rate_limited           1013 retry
            too_many_connections   1013 retry
            not_hello_first        1002 retry
            internal               1011 retry
        "#]]
        .assert_eq(&out);
    }

    #[test]
    fn enum_names_match_serde() {
        for role in Role::ALL {
            assert_eq!(serde_json::to_value(role).unwrap(), role.as_str());
        }
        for kind in AlertKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }

    #[test]
    fn tokens_stay_out_of_logs() {
        let debug = format!("{:?}", examples::hello());
        assert!(!debug.contains("gbt_"), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
    }

    #[test]
    fn packed_entries_say_where_each_entry_is() {
        let json: Vec<String> = (0..300)
            .flat_map(|_| examples::log_entries())
            .enumerate()
            .map(|(n, e)| {
                serde_json::to_string(&LogEntry {
                    seq: n as u64 + 1,
                    ..e
                })
                .unwrap()
            })
            .collect();
        let packed = pack_entries(json.iter().map(String::as_str), 9).unwrap();
        assert!(packed.len() > 1, "{} messages", packed.len());
        let found: Vec<&str> = packed
            .iter()
            .flat_map(|p| p.entries.iter().map(|r| &p.text[r.clone()]))
            .collect();
        assert_eq!(found, json.iter().map(String::as_str).collect::<Vec<_>>());
    }

    #[test]
    fn entries_are_split_to_fit_and_encoded_as_encode_would() {
        let one = examples::scan_entry();
        // Entries of every kind, many times over: several messages' worth.
        let entries: Vec<LogEntry> = (0..400)
            .flat_map(|i| examples::log_entries().into_iter().map(move |e| (i, e)))
            .enumerate()
            .map(|(n, (_, e))| LogEntry {
                seq: n as u64 + 1,
                ..e
            })
            .collect();
        let head = entries.len() as u64;
        let messages = encode_entries(&entries, head).unwrap();
        assert!(messages.len() > 1, "{} messages", messages.len());
        let mut seen = Vec::new();
        for text in &messages {
            assert!(text.len() <= MAX_MESSAGE_BYTES);
            let decoded = decode_server(text).unwrap();
            // Byte for byte what `encode` makes of the same message.
            assert_eq!(&encode(&decoded), text);
            let ServerMessage::Entries { entries, head: h } = decoded else {
                panic!("not entries: {text}")
            };
            assert_eq!(h, head);
            seen.extend(entries);
        }
        assert_eq!(seen, entries);
        // Packed: no message could have taken the next one's first entry.
        for pair in messages.windows(2) {
            let next_first = decode_server(&pair[1]).unwrap();
            let ServerMessage::Entries { entries: next, .. } = next_first else {
                unreachable!()
            };
            let first_len = serde_json::to_string(&next[0]).unwrap().len();
            assert!(pair[0].len() + 1 + first_len > MAX_MESSAGE_BYTES);
        }

        assert_eq!(encode_entries(&[], 5), Ok(vec![]));
        assert_eq!(
            encode_entries(std::slice::from_ref(&one), 41_531).unwrap(),
            vec![encode(&ServerMessage::Entries {
                entries: vec![one.clone()],
                head: 41_531
            })]
        );
        let huge = LogEntry {
            body: LogBody::Message {
                message: OperatorMessage {
                    text: "x".repeat(MAX_MESSAGE_BYTES),
                    ..examples::operator_message()
                },
            },
            ..one
        };
        assert_eq!(
            encode_entries(&[huge], 1).map_err(|e| e.code()),
            Err(ErrorCode::TooLarge)
        );
    }

    /// The specification shows every example exactly as encoded, and every code and kind.
    #[test]
    fn protocol_md_agrees_with_the_code() {
        let doc = include_str!("../../../docs/PROTOCOL.md");
        let mut missing = Vec::new();
        let samples = examples::client()
            .iter()
            .map(Sample::pretty)
            .chain(examples::server().iter().map(Sample::pretty))
            .chain(examples::log_entries().iter().map(Sample::pretty))
            .collect::<Vec<_>>();
        for sample in samples {
            if !doc.contains(&format!("```json\n{sample}\n```")) {
                missing.push(sample);
            }
        }
        for code in ErrorCode::ALL {
            let row = format!("| `{}` | {} |", code.as_str(), code.close_code());
            if !doc.contains(&row) {
                missing.push(row);
            }
        }
        for kind in VerdictKind::ALL {
            let row = format!("| `{}` |", kind.as_str());
            if !doc.contains(&row) {
                missing.push(row);
            }
        }
        for kind in AlertKind::ALL {
            let row = format!("| `{}` |", kind.as_str());
            if !doc.contains(&row) {
                missing.push(row);
            }
        }
        let headings = ClientMessage::TYPES
            .iter()
            .chain(&ServerMessage::TYPES)
            .map(|t| format!("### `{t}`"))
            .chain(LogBody::KINDS.iter().map(|k| format!("### Entry `{k}`")));
        missing.extend(headings.filter(|h| !doc.contains(h.as_str())));
        assert!(
            missing.is_empty(),
            "docs/PROTOCOL.md lacks:\n{}",
            missing.join("\n\n")
        );
    }

    /// Every example's wire text, for mutation.
    fn example_wires() -> Vec<String> {
        examples::client()
            .iter()
            .map(Sample::wire)
            .chain(examples::server().iter().map(Sample::wire))
            .collect()
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in any::<String>()) {
            let _ = decode_client(&text);
            let _ = decode_server(&text);
        }

        #[test]
        fn json_shaped_text_never_panics(
            text in r#"\{("(v|type|nonce|scan|[a-z_]{1,6})":(-?[0-9]{1,3}|"[a-z_]{0,12}"|null|true|\[\]|\{\}),?){0,6}\}"#
        ) {
            let _ = decode_client(&text);
            let _ = decode_server(&text);
        }

        /// Damaged real messages reach the deeper checks (fields, nested types).
        #[test]
        fn damaged_messages_never_panic(
            which in any::<prop::sample::Index>(),
            at in any::<prop::sample::Index>(),
            cut in 0usize..8,
            insert in r#"[\[\]{}",:0-9a-z\\ -]{0,4}"#,
        ) {
            let wires = example_wires();
            let wire = which.get(&wires);
            let mut start = at.index(wire.len() + 1);
            while !wire.is_char_boundary(start) {
                start -= 1;
            }
            let mut end = (start + cut).min(wire.len());
            while !wire.is_char_boundary(end) {
                end -= 1;
            }
            let damaged = format!("{}{insert}{}", &wire[..start], &wire[end..]);
            for result in [decode_client(&damaged).err(), decode_server(&damaged).err()].into_iter().flatten() {
                // Every error has a code and says something.
                prop_assert!(!result.to_string().is_empty());
            }
        }
    }
}
