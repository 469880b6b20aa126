//! Integration tests of gerbang-core, one binary with a module per area.

mod rules;
mod tickets;

use gerbang_core::{EventKey, EventRules, EventSigner, Millis, TicketClaims, TicketType};

/// 2026-11-21 19:00 in Jakarta (UTC+7), the evening of the test event.
pub const EVENING: Millis = Millis(1_795_262_400_000);
pub const EVENT: u32 = 7;

pub fn signer() -> EventSigner {
    EventSigner::from_secret(EVENT, 1, [42; 32])
}

pub fn rotated_signer() -> EventSigner {
    EventSigner::from_secret(EVENT, 2, [43; 32])
}

pub fn public_keys() -> Vec<EventKey> {
    vec![signer().public_key(), rotated_signer().public_key()]
}

pub fn claims(ticket_id: u32) -> TicketClaims {
    TicketClaims {
        event_id: EVENT,
        ticket_id,
        type_id: 1,
        valid_from: None,
        valid_until: None,
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
