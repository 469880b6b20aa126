//! Measures the latency of each `record_scan` on a gate database of 1,000,000 tickets, against
//! a plain primary-key lookup on the same file, and prints percentiles (criterion reports only
//! means), then the same for scans 700 ms apart, as at a real gate.
//!
//! ```text
//! cargo run --release -p gerbang-gate --example scan_latency [TICKETS] [SCANS]
//! ```

#[path = "../benches/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use gerbang_core::{Millis, VerdictKind};
use rusqlite::OptionalExtension;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let tickets: u32 = args.next().map_or(Ok(support::TICKETS), |a| a.parse())?;
    let scans: usize = args.next().map_or(Ok(20_000), |a| a.parse())?;

    let dir = tempfile::tempdir()?;
    let path = dir.path().join("gate.db");
    let (store, load) = support::build(&path, tickets);
    println!(
        "loaded {tickets} tickets (half signed, half opaque) in {:.2} s ({:.1} µs per ticket)",
        load.as_secs_f64(),
        load.as_secs_f64() * 1e6 / f64::from(tickets)
    );

    let mut rng = support::Rng::new(0x0067_6572_6261_6e67);
    let ids = rng.distinct(scans, tickets);
    let signer = support::signer();
    let codes: Vec<String> = ids.iter().map(|&id| support::code(&signer, id)).collect();

    // record_scan: each a different ticket, so each is a first entry (admitted), written with
    // its outbox row in one transaction.
    let now = Millis(1_795_262_400_000);
    let mut signed = Vec::with_capacity(scans);
    let mut opaque = Vec::with_capacity(scans);
    let mut in_order = Vec::with_capacity(scans);
    for (i, (id, code)) in ids.iter().zip(&codes).enumerate() {
        let at = now.plus(i as i64 * 10);
        let start = Instant::now();
        let outcome = store.record_scan(code, at)?;
        let took = start.elapsed();
        assert_eq!(outcome.verdict.kind, VerdictKind::Admitted, "ticket {id}");
        if id % 2 == 0 {
            signed.push(took);
        } else {
            opaque.push(took);
        }
        in_order.push(took);
    }
    let mut all: Vec<Duration> = in_order.clone();
    let slowest: Vec<usize> = {
        let mut by_time: Vec<(usize, Duration)> = in_order.iter().copied().enumerate().collect();
        by_time.sort_by_key(|&(_, d)| std::cmp::Reverse(d));
        by_time.iter().take(5).map(|&(i, _)| i).collect()
    };

    // The baseline: the same tickets by primary key, on a connection of its own to the file.
    let conn = rusqlite::Connection::open(&path)?;
    let mut lookups = Vec::with_capacity(scans);
    for id in &ids {
        let start = Instant::now();
        let found = conn
            .prepare_cached(
                "SELECT event_id, ticket_id, type_id, holder, barcode, valid_from, valid_until,
                        revoked
                 FROM tickets WHERE event_id = ?1 AND ticket_id = ?2",
            )?
            .query_row([support::EVENT, *id], |row| row.get::<_, String>(3))
            .optional()?;
        lookups.push(start.elapsed());
        assert!(found.is_some());
    }

    let scan = Summary::of(&mut all);
    let pk = Summary::of(&mut lookups);
    println!("record_scan  {} ({scans} scans)", scan);
    println!("  signed     {}", Summary::of(&mut signed));
    println!("  opaque     {}", Summary::of(&mut opaque));
    let slowest: Vec<String> = slowest
        .iter()
        .map(|&i| {
            format!(
                "#{i} (ticket {}, {:.1} ms)",
                ids[i],
                in_order[i].as_secs_f64() * 1e3
            )
        })
        .collect();
    println!("  slowest: {}", slowest.join(", "));
    println!("pk lookup    {}", pk);
    println!(
        "ratio record_scan / pk lookup: p50 {:.1}x, p99 {:.1}x",
        scan.p50.as_secs_f64() / pk.p50.as_secs_f64(),
        scan.p99.as_secs_f64() / pk.p99.as_secs_f64()
    );

    // At a real gate scans are seconds apart, so the background checkpoint thread has always
    // caught up before the next one: measure that too (fresh tickets, one every 700 ms).
    let sparse_ids = rng.distinct(40, tickets);
    let mut sparse = Vec::new();
    for (i, id) in sparse_ids.iter().enumerate() {
        let code = support::code(&signer, *id);
        std::thread::sleep(Duration::from_millis(700));
        let start = Instant::now();
        let outcome = store.record_scan(&code, now.plus(Millis::HOUR + i as i64 * 700))?;
        sparse.push(start.elapsed());
        // The random pick may repeat a ticket of the fast run; either verdict is a full scan.
        assert!(matches!(
            outcome.verdict.kind,
            VerdictKind::Admitted | VerdictKind::AlreadyUsed
        ));
    }
    println!(
        "sparse scans {} (40 scans, 700 ms apart)",
        Summary::of(&mut sparse)
    );

    // Manual search, for the record.
    for query in ["budi santoso", "jos mart", "b", "EXT-00"] {
        let start = Instant::now();
        let found = store.search(support::EVENT, query, 20)?;
        println!(
            "search {query:>14?}: {:>2} results in {:>8.3} ms",
            found.len(),
            start.elapsed().as_secs_f64() * 1e3
        );
    }
    let start = Instant::now();
    let counters = store.counters(support::EVENT, Some("Gerbang A"))?;
    println!(
        "counters (issued {}, admitted {}): {:.3} ms",
        counters.issued,
        counters.admitted,
        start.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}

struct Summary {
    p50: Duration,
    p99: Duration,
    p999: Duration,
    max: Duration,
    mean: Duration,
}

impl Summary {
    fn of(samples: &mut [Duration]) -> Summary {
        samples.sort();
        let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
        Summary {
            p50: at(0.50),
            p99: at(0.99),
            p999: at(0.999),
            max: *samples.last().unwrap(),
            mean: samples.iter().sum::<Duration>() / samples.len() as u32,
        }
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        write!(
            f,
            "p50 {:>7.1} µs  p99 {:>7.1} µs  p99.9 {:>7.1} µs  max {:>8.1} µs  mean {:>7.1} µs",
            us(self.p50),
            us(self.p99),
            us(self.p999),
            us(self.max),
            us(self.mean)
        )
    }
}
