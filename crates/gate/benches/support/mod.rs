//! A gate database of realistic size for benchmarks, shared by `benches/store.rs` and
//! `examples/scan_latency.rs` (which includes this file with `#[path]`).

#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use gerbang_core::{
    Direction, EventRules, EventSigner, GateRules, TicketClaims, TicketRecord, TicketType,
};
use gerbang_gate::Store;

pub const EVENT: u32 = 1;
pub const TICKETS: u32 = 1_000_000;

pub fn signer() -> EventSigner {
    EventSigner::from_secret(EVENT, 1, [7; 32])
}

/// An event without time windows or capacity, so every first scan of a ticket is admitted.
pub fn event() -> EventRules {
    EventRules {
        id: EVENT,
        name: "Festival".into(),
        doors_open: None,
        doors_close: None,
        capacity: None,
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

const FIRST: [&str; 16] = [
    "Budi", "Siti", "Agus", "Dewi", "Eko", "Fitri", "Hendra", "Indah", "Joko", "Kartika", "Lukas",
    "Maya", "Nur", "Putri", "Rudi", "José",
];
const LAST: [&str; 16] = [
    "Santoso",
    "Rahayu",
    "Wijaya",
    "Lestari",
    "Pratama",
    "Hidayat",
    "Saputra",
    "Kusuma",
    "Nugroho",
    "Wibowo",
    "Susanto",
    "Halim",
    "Setiawan",
    "Gunawan",
    "Martínez",
    "Tanoto",
];

/// Ticket `id`: even numbers are signed tickets (known by number), odd numbers opaque ones
/// with a barcode.
pub fn ticket(id: u32) -> TicketRecord {
    let h = id.wrapping_mul(2_654_435_761);
    TicketRecord {
        event_id: EVENT,
        ticket_id: id,
        type_id: 1 + (id % 10 == 0) as u16,
        holder: format!(
            "{} {} {}",
            FIRST[(h >> 8) as usize % 16],
            FIRST[(h >> 16) as usize % 16],
            LAST[(h >> 24) as usize % 16]
        ),
        barcode: (id % 2 == 1).then(|| barcode(id)),
        valid_from: None,
        valid_until: None,
        revoked: false,
    }
}

pub fn barcode(id: u32) -> String {
    format!("EXT-{:010}", id.wrapping_mul(2_654_435_761))
}

/// What a scanner reads from ticket `id`.
pub fn code(signer: &EventSigner, id: u32) -> String {
    if id % 2 == 0 {
        let t = ticket(id);
        signer
            .issue(&TicketClaims {
                event_id: EVENT,
                ticket_id: id,
                type_id: t.type_id,
                valid_from: None,
                valid_until: None,
            })
            .unwrap()
    } else {
        barcode(id)
    }
}

/// Creates a gate database at `path` with `n` tickets; returns it and how long the ticket
/// load took.
pub fn build(path: &Path, n: u32) -> (Store, Duration) {
    let store = Store::open(path).unwrap();
    store.upsert_event(&event()).unwrap();
    store.add_key(signer().public_key()).unwrap();
    store.set_active_event(EVENT).unwrap();
    store
        .set_gate_rules(&GateRules {
            gate: "Gerbang A".into(),
            direction: Direction::Entry,
            allowed_types: vec![],
        })
        .unwrap();
    let start = Instant::now();
    let loaded = store.load_tickets(EVENT, (0..n).map(ticket)).unwrap();
    let took = start.elapsed();
    assert_eq!(loaded, n as usize);
    (store, took)
}

/// A small, seeded random number generator (xorshift64*), so runs are repeatable without a
/// dependency.
#[derive(Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// The numbers below `n`, shuffled (Fisher-Yates).
    pub fn shuffled(&mut self, n: u32) -> Vec<u32> {
        let mut out: Vec<u32> = (0..n).collect();
        for i in (1..out.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            out.swap(i, j);
        }
        out
    }

    /// `count` distinct numbers below `below`, in random order.
    pub fn distinct(&mut self, count: usize, below: u32) -> Vec<u32> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let n = (self.next_u64() % u64::from(below)) as u32;
            if seen.insert(n) {
                out.push(n);
            }
        }
        out
    }
}
