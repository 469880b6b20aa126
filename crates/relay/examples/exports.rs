//! Measures what the statistics hook costs the writer, and the two streamed exports.
//!
//! ```sh
//! cargo run --release -p gerbang-relay --example exports [-- SCANS TICKETS]
//! ```
//!
//! 1. Ingest: SCANS scans (default 50,000) pipelined into a writer without the hook
//!    (`Writer::start`, the baseline) and into a relay with it (`Relay::open`: statistics and
//!    metrics counted from every commit), each on its own fresh database; scans per second.
//! 2. `tickets.pdf` of TICKETS tickets (default 10,000): time, size, and how much the
//!    process's peak memory grew while it was made.
//! 3. `attendance.csv` of all the scans: time and size, against a plain `SELECT` of the same
//!    rows (the baseline).
//!
//! Results go in docs/BENCHMARKS.md ("Relay: statistics hook and exports").

use std::time::Instant;

use gerbang_core::protocol::{LogBody, Role, ScanRecord};
use gerbang_core::{
    Direction, EventRules, EventSigner, Millis, TicketClaims, TicketRecord, TicketType, VerdictKind,
};
use gerbang_relay::{Config, Location, Relay, Writer};

const EVENT: u32 = 1;

fn event() -> EventRules {
    EventRules {
        id: EVENT,
        name: "Seminar Nasional".into(),
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
    }
}

fn signer() -> EventSigner {
    EventSigner::from_secret(EVENT, 1, [7; 32])
}

fn tickets(n: u32) -> Vec<LogBody> {
    (1..=n)
        .map(|ticket_id| LogBody::TicketUpsert {
            ticket: TicketRecord {
                event_id: EVENT,
                ticket_id,
                type_id: 1,
                holder: format!("Peserta Nomor {ticket_id}"),
                barcode: None,
                valid_from: None,
                valid_until: None,
                revoked: false,
            },
        })
        .collect()
}

/// Scans of signed codes: each ticket admitted, then every further scan `already_used`.
fn scans(n: usize, codes: &[String]) -> Vec<ScanRecord> {
    (0..n)
        .map(|i| ScanRecord {
            scan_id: uuid::Uuid::now_v7(),
            event_id: EVENT,
            code: codes[i % codes.len()].clone(),
            ticket_id: None,
            gate: format!("Gerbang {}", i % 4),
            direction: Direction::Entry,
            at: Millis(1_795_262_400_000 + i as i64),
            local: VerdictKind::Admitted,
        })
        .collect()
}

/// Sends every scan at once (pipelined), then waits for every ack: scans per second.
async fn ingest(writer: &Writer, scans: Vec<ScanRecord>) -> f64 {
    let n = scans.len();
    let started = Instant::now();
    let mut pending = Vec::with_capacity(n);
    for scan in scans {
        pending.push(writer.submit_scan(scan).await.unwrap());
    }
    for ack in pending {
        ack.await.unwrap();
    }
    n as f64 / started.elapsed().as_secs_f64()
}

/// Peak resident memory of this process so far, in MiB (Linux).
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let n_scans: usize = args.next().map_or(50_000, |a| a.parse().unwrap());
    let n_tickets: u32 = args.next().map_or(10_000, |a| a.parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let codes: Vec<String> = (1..=n_tickets.min(5_000))
        .map(|ticket_id| {
            signer()
                .issue(&TicketClaims {
                    event_id: EVENT,
                    ticket_id,
                    type_id: 1,
                    valid_from: None,
                    valid_until: None,
                })
                .unwrap()
        })
        .collect();
    let setup = |writer: Writer| async move {
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
        writer.append_all(tickets(n_tickets)).await.unwrap();
    };

    // 1. The baseline: a writer without the hook.
    let location = Location::file(dir.path().join("baseline.sqlite3"));
    let (writer, thread) = Writer::start(
        &location,
        tokio::sync::broadcast::channel(16).0,
        gerbang_relay::system_clock,
    )
    .unwrap();
    setup(writer.clone()).await;
    let baseline = ingest(&writer, scans(n_scans, &codes)).await;
    writer.stop().await;
    drop(writer);
    thread.join().unwrap();

    let relay = Relay::open(Config::new(Location::file(
        dir.path().join("relay.sqlite3"),
    )))
    .unwrap();
    setup(relay.writer().clone()).await;
    let hooked = ingest(relay.writer(), scans(n_scans, &codes)).await;
    println!(
        "ingest, {n_scans} scans: baseline (no hook) {baseline:.0}/s, relay (statistics and \
         metrics hook) {hooked:.0}/s, ratio {:.2}",
        hooked / baseline
    );

    relay.admin().add_signing_key(&signer()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = relay.spawn(listener).unwrap();
    let (_, token) = running.admin.create_device("Admin", Role::Admin).unwrap();
    let base = format!("http://{}/api/v1/events/{EVENT}", running.addr);
    let client = reqwest::Client::new();

    // 2. The PDF, read as a stream (so the client holds only a chunk at a time).
    let before = peak_mib();
    let started = Instant::now();
    let mut response = client
        .get(format!("{base}/tickets.pdf"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let mut bytes = 0;
    while let Some(chunk) = response.chunk().await.unwrap() {
        bytes += chunk.len();
    }
    let took = started.elapsed();
    println!(
        "tickets.pdf, {n_tickets} tickets: {:.2} s ({:.0} tickets/s), {:.1} MiB, {} pages; \
         peak memory {before:.0} -> {:.0} MiB",
        took.as_secs_f64(),
        f64::from(n_tickets) / took.as_secs_f64(),
        bytes as f64 / 1_048_576.0,
        n_tickets.div_ceil(8),
        peak_mib()
    );

    // 3. The CSV, against a plain SELECT of the same rows.
    let before = peak_mib();
    let started = Instant::now();
    let mut response = client
        .get(format!("{base}/attendance.csv"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let mut bytes = 0;
    while let Some(chunk) = response.chunk().await.unwrap() {
        bytes += chunk.len();
    }
    let csv = started.elapsed();
    let started = Instant::now();
    let conn = rusqlite::Connection::open(dir.path().join("relay.sqlite3")).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT seq, scanned_at, at, gate, body FROM log WHERE kind = 'scan' ORDER BY seq DESC",
        )
        .unwrap();
    let mut rows = stmt.query([]).unwrap();
    let mut n = 0;
    while let Some(row) = rows.next().unwrap() {
        let body: String = row.get(4).unwrap();
        n += body.len().min(1);
    }
    let select = started.elapsed();
    println!(
        "attendance.csv, {n} rows: {:.2} s ({:.0} rows/s), {:.1} MiB; plain SELECT {:.2} s; \
         ratio {:.1}; peak memory {before:.0} -> {:.0} MiB",
        csv.as_secs_f64(),
        n as f64 / csv.as_secs_f64(),
        bytes as f64 / 1_048_576.0,
        select.as_secs_f64(),
        csv.as_secs_f64() / select.as_secs_f64(),
        peak_mib()
    );
    running.stop().await.unwrap();
}
