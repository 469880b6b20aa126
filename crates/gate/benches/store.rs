//! Benchmarks of the gate store on a file database of 1,000,000 tickets (half signed, half
//! opaque): `record_scan` of a fresh ticket each iteration (so each is admitted and written),
//! and, as the baseline, a plain primary-key lookup of a ticket on the same file.
//!
//! The database is built once per run, in a temporary directory (about 5 s). Criterion reports
//! means; `examples/scan_latency.rs` reports percentiles.

mod support;

use std::cell::Cell;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use gerbang_core::{Millis, VerdictKind};

fn store(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gate.db");
    let (store, _) = support::build(&path, support::TICKETS);
    let signer = support::signer();
    let mut rng = support::Rng::new(0x5ca1_ab1e);
    // Every ticket once, in random order: signed ones for one benchmark, opaque for the other.
    let order = rng.shuffled(support::TICKETS);
    let (mut signed, mut opaque): (Vec<u32>, Vec<u32>) = order.iter().partition(|&&id| id % 2 == 0);
    let now = Cell::new(Millis(1_795_262_400_000));

    let mut group = c.benchmark_group("record_scan");
    for (name, ids) in [("signed", &mut signed), ("opaque", &mut opaque)] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    // Outside the timing: pick a ticket not scanned yet and make its code.
                    let id = ids.pop().expect("more iterations than tickets");
                    now.set(now.get().plus(10));
                    support::code(&signer, id)
                },
                |code| {
                    let outcome = store.record_scan(&code, now.get()).unwrap();
                    debug_assert_eq!(outcome.verdict.kind, VerdictKind::Admitted);
                    outcome
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();

    let conn = rusqlite::Connection::open(&path).unwrap();
    c.bench_function("pk_lookup", |b| {
        b.iter_batched(
            || (rng.next_u64() % u64::from(support::TICKETS)) as u32,
            |id| {
                conn.prepare_cached(
                    "SELECT event_id, ticket_id, type_id, holder, barcode, valid_from,
                            valid_until, revoked
                     FROM tickets WHERE event_id = ?1 AND ticket_id = ?2",
                )
                .unwrap()
                .query_row([support::EVENT, id], |row| row.get::<_, String>(3))
                .unwrap()
            },
            BatchSize::SmallInput,
        );
    });
}

criterion_group!(benches, store);
criterion_main!(benches);
