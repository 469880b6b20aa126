//! Durable ingest: scans per second through the relay's writer, with group commit (many scans in
//! flight, as gates upload) against one commit per scan (each scan waits for its own fsync),
//! side by side on the same machine and disk.
//!
//! ```text
//! cargo run --release -p gerbang-relay --example ingest [SCANS]
//! ```

use std::time::Instant;

use gerbang_core::protocol::{LogBody, ScanRecord};
use gerbang_core::{
    Direction, EventRules, EventSigner, Millis, TicketClaims, TicketType, VerdictKind,
};
use gerbang_relay::{Config, Location, Relay, Writer};

const EVENT: u32 = 1;

fn scans(signer: &EventSigner, from: u32, count: u32) -> Vec<ScanRecord> {
    (from..from + count)
        .map(|ticket_id| ScanRecord {
            scan_id: uuid::Uuid::now_v7(),
            event_id: EVENT,
            code: signer
                .issue(&TicketClaims {
                    event_id: EVENT,
                    ticket_id,
                    type_id: 1,
                    valid_from: None,
                    valid_until: None,
                })
                .unwrap(),
            ticket_id: Some(ticket_id),
            gate: format!("Gerbang {}", ticket_id % 20),
            direction: Direction::Entry,
            at: Millis(1_795_262_400_000),
            local: VerdictKind::Admitted,
        })
        .collect()
}

/// All scans in flight at once, submitted from several tasks as several gates' connections
/// do (each checks its scans' signatures before they reach the writer): the writer folds
/// whatever is queued into one transaction. Each task submits `burst` scans at a time, as a
/// connection does with the frames that arrived together (their signatures are checked as
/// one batch); 1 checks each signature on its own.
async fn grouped(writer: &Writer, batch: Vec<ScanRecord>, burst: usize) -> f64 {
    const GATES: usize = 8;
    let n = batch.len();
    let mut shares: Vec<Vec<ScanRecord>> = vec![Vec::new(); GATES];
    for (i, scan) in batch.into_iter().enumerate() {
        shares[i % GATES].push(scan);
    }
    let start = Instant::now();
    let tasks: Vec<_> = shares
        .into_iter()
        .map(|share| {
            let writer = writer.clone();
            tokio::spawn(async move {
                let mut pending = Vec::with_capacity(share.len());
                let mut share = share.into_iter().peekable();
                while share.peek().is_some() {
                    let scans: Vec<ScanRecord> = share.by_ref().take(burst).collect();
                    pending.extend(writer.submit_scans(scans).await.unwrap());
                }
                for ack in pending {
                    assert_eq!(ack.await.unwrap().official.kind, VerdictKind::Admitted);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// One scan at a time: every scan is its own transaction and its own fsync.
async fn one_by_one(writer: &Writer, batch: Vec<ScanRecord>) -> f64 {
    let n = batch.len();
    let start = Instant::now();
    for scan in batch {
        assert_eq!(
            writer.scan(scan).await.unwrap().official.kind,
            VerdictKind::Admitted
        );
    }
    n as f64 / start.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let total: u32 = std::env::args()
        .nth(1)
        .map_or(50_000, |a| a.parse().expect("SCANS is a number"));
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::open(Config::new(Location::file(
        dir.path().join("relay.sqlite3"),
    )))
    .unwrap();
    let signer = EventSigner::from_secret(EVENT, 1, [3; 32]);
    let writer = relay.writer().clone();
    writer
        .append(LogBody::EventUpdated {
            event: EventRules {
                id: EVENT,
                name: "Bench".into(),
                doors_open: None,
                doors_close: None,
                capacity: None,
                reentry: true,
                max_entries_per_day: None,
                max_entries_total: None,
                utc_offset_minutes: 420,
                ticket_types: vec![TicketType {
                    id: 1,
                    name: "Reguler".into(),
                }],
            },
        })
        .await
        .unwrap();
    writer
        .append(LogBody::KeyAdded {
            key: signer.public_key(),
        })
        .await
        .unwrap();

    // One commit per scan is slow; a smaller sample says enough.
    let single = (total / 25).max(200);
    println!(
        "durable ingest (synchronous=FULL), {} on {}",
        total,
        dir.path().display()
    );
    let base = one_by_one(&writer, scans(&signer, 1, single)).await;
    println!("  one commit per scan:   {base:>9.0} scans/s  ({single} scans)");
    let group = grouped(&writer, scans(&signer, single + 1, total), 1).await;
    println!(
        "  group commit:          {group:>9.0} scans/s  ({total} scans, signatures one by one)"
    );
    let burst = grouped(&writer, scans(&signer, single + total + 1, total), 64).await;
    println!("  group commit:          {burst:>9.0} scans/s  ({total} scans, bursts of 64 checked together)");
    println!(
        "  ratio:                 {:>9.1}x, {:.1}x",
        group / base,
        burst / base
    );
    relay.close().await;
}
