//! Helpers shared by the end-to-end tests: a relay with a demo event, gate stores set up for
//! it, and a minimal uploader that drains a gate's outbox over the real WebSocket protocol.
//!
//! The uploader is deliberately small: the gate's own sync engine (with reconnects, catch-up
//! and heartbeats) is a later piece; these tests check that the pieces built so far fit.

use std::path::Path;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use gerbang_core::protocol::{self, ClientMessage, LogBody, ScanRecord, ServerMessage};
use gerbang_core::{
    Direction, EventRules, EventSigner, GateRules, TicketClaims, TicketRecord, TicketType,
};
use gerbang_gate::Store;
use gerbang_relay::{Admin, Config, Location, Relay};
use tokio_tungstenite::tungstenite::Message;

pub const EVENT: u32 = 1;
/// Bounds every wait on a condition.
pub const DEADLINE: Duration = Duration::from_secs(10);

pub fn signer() -> EventSigner {
    EventSigner::from_secret(EVENT, 1, [11; 32])
}

pub fn event() -> EventRules {
    EventRules {
        id: EVENT,
        name: "Seminar Nasional".into(),
        doors_open: None,
        doors_close: None,
        capacity: Some(2_000),
        reentry: true,
        max_entries_per_day: None,
        max_entries_total: None,
        utc_offset_minutes: 420,
        ticket_types: vec![TicketType {
            id: 1,
            name: "Reguler".into(),
        }],
    }
}

pub fn ticket(ticket_id: u32) -> TicketRecord {
    TicketRecord {
        event_id: EVENT,
        ticket_id,
        type_id: 1,
        holder: format!("Peserta {ticket_id}"),
        barcode: None,
        valid_from: None,
        valid_until: None,
        revoked: false,
    }
}

pub fn code(ticket_id: u32) -> String {
    signer()
        .issue(&TicketClaims {
            event_id: EVENT,
            ticket_id,
            type_id: 1,
            valid_from: None,
            valid_until: None,
        })
        .unwrap()
}

/// A relay on a temporary database, serving on 127.0.0.1 with a port from the OS, with the
/// event, its key and tickets 1 to 100.
#[derive(Debug)]
pub struct TestRelay {
    pub addr: std::net::SocketAddr,
    pub admin: Admin,
    running: gerbang_relay::Running,
    _dir: tempfile::TempDir,
}

impl TestRelay {
    pub async fn start() -> TestRelay {
        let dir = tempfile::tempdir().unwrap();
        let relay = Relay::open(Config::new(Location::file(
            dir.path().join("relay.sqlite3"),
        )))
        .unwrap();
        let writer = relay.writer();
        writer
            .append(LogBody::EventUpdated { event: event() })
            .await
            .unwrap();
        writer
            .append(LogBody::KeyAdded {
                key: signer().public_key(),
            })
            .await
            .unwrap();
        for id in 1..=100 {
            writer
                .append(LogBody::TicketUpsert { ticket: ticket(id) })
                .await
                .unwrap();
        }
        relay.admin().set_active_event(EVENT);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = relay.spawn(listener).unwrap();
        TestRelay {
            addr: running.addr,
            admin: running.admin.clone(),
            running,
            _dir: dir,
        }
    }

    pub async fn stop(self) {
        tokio::time::timeout(DEADLINE, self.running.stop())
            .await
            .expect("the relay did not stop in time")
            .unwrap();
    }
}

/// A gate's store on a real SQLite file, set up for the event, gate `name`, entry.
pub fn gate_store(path: &Path, name: &str) -> Store {
    let store = Store::open(path).unwrap();
    store.upsert_event(&event()).unwrap();
    store.add_key(signer().public_key()).unwrap();
    store
        .set_gate_rules(&GateRules {
            gate: name.into(),
            direction: Direction::Entry,
            allowed_types: vec![],
        })
        .unwrap();
    store.set_active_event(EVENT).unwrap();
    store.load_tickets(EVENT, (1..=100).map(ticket)).unwrap();
    store
}

/// Uploads every scan in the store's outbox over one WebSocket connection, pipelined, and
/// records each ack in the store. Returns the acks as the relay sent them.
pub async fn upload_outbox(
    store: &Store,
    addr: std::net::SocketAddr,
    token: &str,
) -> Vec<ServerMessage> {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}{}", protocol::WS_PATH))
        .await
        .unwrap();
    let send = |message: ClientMessage| Message::text(protocol::encode_client(&message));
    ws.send(send(ClientMessage::Hello {
        token: token.into(),
        cursor: store.cursor().unwrap(),
        device_name: "e2e".into(),
        app_version: "0".into(),
    }))
    .await
    .unwrap();
    let pending = store.outbox_batch(10_000).unwrap();
    for scan in &pending {
        ws.send(send(ClientMessage::Scan {
            scan: ScanRecord {
                scan_id: scan.scan_id,
                event_id: scan.event_id,
                code: scan.code.clone(),
                ticket_id: scan.ticket_id,
                gate: scan.gate.clone(),
                direction: scan.direction,
                at: scan.at,
                local: scan.kind,
            },
        }))
        .await
        .unwrap();
    }
    let mut acks = Vec::new();
    while acks.len() < pending.len() {
        let frame = tokio::time::timeout(DEADLINE, ws.next())
            .await
            .expect("no ack before the deadline")
            .expect("the relay closed the connection")
            .unwrap();
        let Message::Text(text) = frame else { continue };
        let message = protocol::decode_server(text.as_str()).unwrap();
        if let ServerMessage::Ack {
            scan_id,
            seq,
            official,
            conflict,
        } = &message
        {
            store
                .ack_scan(*scan_id, *seq, official.kind, conflict.is_some())
                .unwrap();
            acks.push(message);
        }
    }
    acks
}
