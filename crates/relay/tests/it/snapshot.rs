//! Snapshots: when the relay sends a client to one, what it holds (the same as a catch-up from
//! zero gives), who may download it, and that it is one consistent moment of a log that keeps
//! growing while it streams.

use std::collections::BTreeMap;
use std::io::BufReader;

use flate2::read::GzDecoder;
use gerbang_core::protocol::{LogBody, LogEntry, OperatorMessage, Role, ServerMessage};
use gerbang_core::snapshot::{SnapshotHeader, SnapshotItem, SnapshotReader};
use gerbang_core::{
    Direction, EventRules, EventSigner, Millis, TicketRecord, TicketType, VerdictKind,
};
use reqwest::StatusCode;

use crate::{scan, signer, Client, TestRelay, EVENT};

/// Downloads a snapshot with `token`; the status, the `gerbang-snapshot-seq` header and the
/// body (still compressed).
async fn download(
    relay: &TestRelay,
    event_id: u32,
    token: Option<&str>,
) -> (StatusCode, Option<u64>, Vec<u8>) {
    let mut request = reqwest::Client::new().get(format!(
        "http://{}/api/v1/events/{event_id}/snapshot",
        relay.addr
    ));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    if status == StatusCode::OK {
        assert_eq!(response.headers()["content-type"], "application/gzip");
    }
    let seq = response
        .headers()
        .get("gerbang-snapshot-seq")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (status, seq, response.bytes().await.unwrap().to_vec())
}

/// Decompresses and reads a whole snapshot, checking it.
fn read(body: &[u8]) -> (SnapshotHeader, Vec<SnapshotItem>) {
    let mut reader = SnapshotReader::new(BufReader::new(GzDecoder::new(body))).unwrap();
    let header = reader.header().clone();
    let mut items = Vec::new();
    while let Some(item) = reader.next_item().unwrap() {
        items.push(item);
    }
    (header, items)
}

/// What a device holds of one event: the same whether it came from the log or a snapshot.
#[derive(Debug, Default, PartialEq)]
struct View {
    events: BTreeMap<u32, EventRules>,
    /// Public key (hex) and retired flag.
    keys: BTreeMap<(u32, u8), (String, bool)>,
    tickets: BTreeMap<u32, TicketRecord>,
    scans: BTreeMap<u64, LogBody>,
    messages: BTreeMap<u64, OperatorMessage>,
}

/// The view a device has after applying `log` from the start (the relay's own rules for
/// revocations of unknown tickets and retirements included).
fn view_of_log(log: &[LogEntry], event_id: u32) -> View {
    let mut view = View::default();
    for entry in log {
        match &entry.body {
            LogBody::EventUpdated { event } => {
                view.events.insert(event.id, event.clone());
            }
            LogBody::KeyAdded { key } => {
                view.keys.insert(
                    (key.event_id, key.key_id),
                    (key.public_key.to_string(), false),
                );
            }
            LogBody::KeyRetired { event_id, key_id } => {
                if let Some(key) = view.keys.get_mut(&(*event_id, *key_id)) {
                    key.1 = true;
                }
            }
            LogBody::TicketUpsert { ticket } if ticket.event_id == event_id => {
                view.tickets.insert(ticket.ticket_id, ticket.clone());
            }
            LogBody::TicketRevoked {
                event_id: e,
                ticket_id,
            } if *e == event_id => {
                view.tickets
                    .entry(*ticket_id)
                    .or_insert_with(|| TicketRecord {
                        event_id,
                        ticket_id: *ticket_id,
                        type_id: 0,
                        holder: String::new(),
                        barcode: None,
                        valid_from: None,
                        valid_until: None,
                        revoked: true,
                    })
                    .revoked = true;
            }
            LogBody::Scan { scan, .. } if scan.event_id == event_id => {
                view.scans.insert(entry.seq, entry.body.clone());
            }
            LogBody::Message { message } => {
                view.messages.insert(entry.seq, message.clone());
            }
            _ => {}
        }
    }
    view
}

fn view_of_snapshot(items: &[SnapshotItem]) -> View {
    let mut view = View::default();
    for item in items {
        match item {
            SnapshotItem::Event { event } => {
                view.events.insert(event.id, event.clone());
            }
            SnapshotItem::Key { key, retired } => {
                view.keys.insert(
                    (key.event_id, key.key_id),
                    (key.public_key.to_string(), *retired),
                );
            }
            SnapshotItem::Ticket { ticket } => {
                view.tickets.insert(ticket.ticket_id, ticket.clone());
            }
            SnapshotItem::Entry { entry } => match &entry.body {
                LogBody::Message { message } => {
                    view.messages.insert(entry.seq, message.clone());
                }
                body => {
                    view.scans.insert(entry.seq, body.clone());
                }
            },
            SnapshotItem::Header(_) | SnapshotItem::End { .. } => {}
        }
    }
    view
}

fn second_event() -> EventRules {
    EventRules {
        id: 2,
        name: "Konser".into(),
        doors_open: None,
        doors_close: None,
        capacity: None,
        reentry: false,
        max_entries_per_day: None,
        max_entries_total: None,
        utc_offset_minutes: 420,
        ticket_types: vec![TicketType {
            id: 1,
            name: "Festival".into(),
        }],
    }
}

#[tokio::test]
async fn a_snapshot_holds_what_a_catch_up_from_zero_gives() {
    let relay = TestRelay::start().await;
    let writer = relay.admin.writer();
    let at = Millis(1_795_262_400_000);
    // Admissions, a conflict (a second offline admission), an exit and a refusal.
    writer
        .scan(scan(1, "Gerbang A", at, VerdictKind::Admitted))
        .await
        .unwrap();
    let conflict = writer
        .scan(scan(1, "Gerbang B", at.plus(1_000), VerdictKind::Admitted))
        .await
        .unwrap();
    assert!(conflict.conflict.is_some());
    writer
        .scan(scan(2, "Gerbang A", at.plus(2_000), VerdictKind::Admitted))
        .await
        .unwrap();
    writer
        .scan(gerbang_core::protocol::ScanRecord {
            direction: Direction::Exit,
            ..scan(2, "Keluar", at.plus(3_000), VerdictKind::ExitRecorded)
        })
        .await
        .unwrap();
    // A revocation of a known ticket and of one the relay never stored; a key rotation.
    for ticket_id in [3, 99] {
        writer
            .append(LogBody::TicketRevoked {
                event_id: EVENT,
                ticket_id,
            })
            .await
            .unwrap();
    }
    let rotated = EventSigner::from_secret(EVENT, 2, [6; 32]).public_key();
    writer
        .append(LogBody::KeyAdded { key: rotated })
        .await
        .unwrap();
    writer
        .append(LogBody::KeyRetired {
            event_id: EVENT,
            key_id: signer().public_key().key_id,
        })
        .await
        .unwrap();
    writer
        .scan(scan(4, "Gerbang A", at.plus(4_000), VerdictKind::Admitted))
        .await
        .unwrap();
    // A message, and another event with a ticket and a scan, which the snapshot of event 1
    // leaves out (except the event's rules).
    let mut supervisor = relay.client("Koordinator", Role::Supervisor).await;
    supervisor
        .send(&gerbang_core::protocol::ClientMessage::SendMessage {
            message_id: uuid::Uuid::now_v7(),
            to: None,
            text: "Pintu C tutup".into(),
        })
        .await;
    writer
        .append(LogBody::EventUpdated {
            event: second_event(),
        })
        .await
        .unwrap();
    writer
        .append(LogBody::TicketUpsert {
            ticket: TicketRecord {
                event_id: 2,
                ..crate::ticket(5)
            },
        })
        .await
        .unwrap();
    writer
        .scan(gerbang_core::protocol::ScanRecord {
            event_id: 2,
            ..scan(5, "Gerbang A", at.plus(5_000), VerdictKind::Admitted)
        })
        .await
        .unwrap();
    supervisor
        .until(|m| {
            matches!(m, ServerMessage::Entries { entries, .. }
                if entries.iter().any(|e| matches!(e.body, LogBody::Message { .. })))
        })
        .await;

    let (_, gate) = relay.token("Gerbang C", Role::Gate);
    let (status, seq, body) = download(&relay, EVENT, Some(&gate)).await;
    assert_eq!(status, StatusCode::OK);
    let (header, items) = read(&body);
    let log = relay.admin.reader().entries_after(0, usize::MAX).unwrap();
    assert_eq!(header.seq, log.last().unwrap().seq, "as of the head");
    assert_eq!(seq, Some(header.seq));
    assert_eq!(header.event_id, EVENT);
    let expected = view_of_log(&log, EVENT);
    assert_eq!(expected.events.len(), 2);
    assert_eq!(expected.scans.len(), 5);
    assert_eq!(expected.tickets[&99].holder, "");
    assert!(expected.keys[&(EVENT, 1)].1, "the first key is retired");
    assert_eq!(view_of_snapshot(&items), expected);
    relay.stop().await;
}

#[tokio::test]
async fn a_snapshot_is_one_moment_of_a_log_that_keeps_growing() {
    let relay = TestRelay::start().await;
    let writer = relay.admin.writer().clone();
    // Enough tickets that the snapshot takes a while to stream.
    let tickets: Vec<LogBody> = (11..=20_010)
        .map(|id| LogBody::TicketUpsert {
            ticket: crate::ticket(id),
        })
        .collect();
    writer.append_all(tickets).await.unwrap();
    let (_, gate) = relay.token("Gerbang C", Role::Gate);

    // Scans keep coming while the snapshot is read.
    let scanning = tokio::spawn(async move {
        for ticket_id in 1..=300 {
            writer
                .scan(scan(
                    ticket_id,
                    "Gerbang A",
                    Millis(1_795_262_400_000),
                    VerdictKind::Admitted,
                ))
                .await
                .unwrap();
        }
    });
    let (status, _, body) = download(&relay, EVENT, Some(&gate)).await;
    scanning.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    // The reader checked the counts against the header; the content is the log up to `seq`.
    let (header, items) = read(&body);
    let log = relay.admin.reader().entries_after(0, usize::MAX).unwrap();
    let until: Vec<LogEntry> = log.into_iter().filter(|e| e.seq <= header.seq).collect();
    assert_eq!(view_of_snapshot(&items), view_of_log(&until, EVENT));
    assert_eq!(header.counts.tickets, 20_010);
    relay.stop().await;
}

#[tokio::test]
async fn any_paired_device_may_download_a_snapshot_of_an_event_that_exists() {
    let relay = TestRelay::start().await;
    let (status, _, body) = download(&relay, EVENT, None).await;
    let error: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
    for role in Role::ALL {
        let (_, token) = relay.token(role.as_str(), role);
        let (status, _, _) = download(&relay, EVENT, Some(&token)).await;
        assert_eq!(status, StatusCode::OK, "{role:?}");
    }
    let (_, token) = relay.token("Gerbang A", Role::Gate);
    let (status, _, body) = download(&relay, 404, Some(&token)).await;
    let error: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    assert_eq!(error["message"], "there is no event 404");
    relay.stop().await;
}

/// What the relay answers a `hello` with `cursor`: the `snapshot_needed` message and the close
/// code if it sends the client to a snapshot, else `None` (the client was caught up).
async fn answer(
    relay: &TestRelay,
    token: &str,
    cursor: u64,
) -> Option<(ServerMessage, Option<u16>)> {
    let mut client = Client::connect(relay.addr).await;
    client.hello(token, cursor).await;
    assert!(matches!(client.recv().await, ServerMessage::Welcome { .. }));
    match client.recv().await {
        message @ ServerMessage::SnapshotNeeded { .. } => {
            let (after, close) = client.closed().await;
            assert_eq!(after, None, "nothing follows snapshot_needed but the close");
            Some((message, close))
        }
        ServerMessage::CaughtUp { .. } => None,
        _ => {
            client
                .until(|m| matches!(m, ServerMessage::CaughtUp { .. }))
                .await;
            None
        }
    }
}

#[tokio::test]
async fn a_client_is_sent_to_a_snapshot_when_too_far_behind_or_ahead_of_the_log() {
    let relay = TestRelay::start_with(|config| config.limits.snapshot_after = 5).await;
    let (_, token) = relay.token("Gerbang A", Role::Gate);
    let head = relay.admin.reader().head().unwrap();
    assert_eq!(head, 12, "the seed: an event, a key, ten tickets");

    // Up to the limit behind: caught up from the log.
    assert_eq!(answer(&relay, &token, head - 5).await, None);
    assert_eq!(answer(&relay, &token, head).await, None);
    // More than the limit behind (a new device, too), or ahead of the log: a snapshot.
    for (cursor, reason) in [
        (
            head - 6,
            "cursor 6 is 6 entries behind; a snapshot is faster",
        ),
        (0, "cursor 0 is 12 entries behind; a snapshot is faster"),
        (
            head + 1,
            "your cursor 13 is ahead of this relay's log (head 12): the relay's data was reset \
             or restored, so your copy must be replaced",
        ),
    ] {
        let (message, close) = answer(&relay, &token, cursor).await.expect("a snapshot");
        assert_eq!(
            message,
            ServerMessage::SnapshotNeeded {
                reason: reason.into(),
                url: "/api/v1/events/1/snapshot".into(),
                head,
            }
        );
        assert_eq!(close, Some(1000), "a normal close");
    }
    relay.stop().await;
}
