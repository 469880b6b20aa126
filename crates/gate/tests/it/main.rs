//! Integration tests of gerbang-gate, one binary with a module per area.

mod attendance;
mod camera;
mod cli;
mod crash;
mod decode;
mod outbox;
mod remote;
mod scans;
mod serial;
mod snapshot;
mod tickets;

use gerbang_core::{
    Direction, EventRules, EventSigner, GateRules, Millis, TicketClaims, TicketRecord, TicketType,
};
use gerbang_gate::Store;

/// 2026-11-21 19:00 in Jakarta (UTC+7), the evening of the test event.
pub const EVENING: Millis = Millis(1_795_262_400_000);
pub const EVENT: u32 = 7;
/// Another event the gate knows, whose tickets must be told apart from unknown ones.
pub const OTHER_EVENT: u32 = 8;

pub fn signer() -> EventSigner {
    EventSigner::from_secret(EVENT, 1, [42; 32])
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

pub fn other_event() -> EventRules {
    EventRules {
        id: OTHER_EVENT,
        name: "Konser Malam".into(),
        ..event()
    }
}

pub fn gate(name: &str, direction: Direction) -> GateRules {
    GateRules {
        gate: name.into(),
        direction,
        allowed_types: vec![],
    }
}

pub fn ticket(ticket_id: u32, holder: &str, barcode: Option<&str>) -> TicketRecord {
    TicketRecord {
        event_id: EVENT,
        ticket_id,
        type_id: 1,
        holder: holder.into(),
        barcode: barcode.map(str::to_owned),
        valid_from: None,
        valid_until: None,
        revoked: false,
    }
}

/// The text of signed ticket `ticket_id` of the test event.
pub fn signed(ticket_id: u32) -> String {
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

/// A gate set up for the test event at "Gerbang A" (entry), knowing:
/// * signed tickets 100 "Budi Santoso" and 101 "José Martínez" (Reguler);
/// * opaque tickets 200 "Siti Nurhaliza" (`EXT-200`, VIP) and 201 "Agus Salim" (`EXT-201`,
///   revoked);
/// * in the other event, opaque ticket 300 "Dewi Lestari" (`KONSER-300`).
///
/// Signed ticket 150 is valid but not in the cache (sold after the last sync).
pub fn setup(store: &Store) {
    store.upsert_event(&event()).unwrap();
    store.upsert_event(&other_event()).unwrap();
    store.add_key(signer().public_key()).unwrap();
    store.set_active_event(EVENT).unwrap();
    store
        .set_gate_rules(&gate("Gerbang A", Direction::Entry))
        .unwrap();
    let vip = |mut t: TicketRecord| {
        t.type_id = 2;
        t
    };
    let revoked = |mut t: TicketRecord| {
        t.revoked = true;
        t
    };
    store
        .load_tickets(
            EVENT,
            [
                ticket(100, "Budi Santoso", None),
                ticket(101, "José Martínez", None),
                vip(ticket(200, "Siti Nurhaliza", Some("EXT-200"))),
                revoked(ticket(201, "Agus Salim", Some("EXT-201"))),
            ],
        )
        .unwrap();
    store
        .load_tickets(
            OTHER_EVENT,
            [TicketRecord {
                event_id: OTHER_EVENT,
                ..ticket(300, "Dewi Lestari", Some("KONSER-300"))
            }],
        )
        .unwrap();
}

pub fn test_store() -> Store {
    let store = Store::open_in_memory().unwrap();
    setup(&store);
    store
}
