//! The demo event a new relay can start with, so a new user scans within a minute: "Seminar
//! Nasional", a campus hall's evening seminar, with a few thousand tickets held by people with
//! Indonesian names.
//!
//! Everything is generated from the ticket number, so two relays seeded alike hold the same
//! tickets; the signing key is random per relay (it is a real key: only this relay can issue
//! more tickets for its demo event).

use gerbang_core::protocol::LogBody;
use gerbang_core::{EventRules, TicketClaims, TicketRecord, TicketType};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::Admin;

/// The demo event's id.
pub const DEMO_EVENT: u32 = 1;

/// How many tickets the demo event has unless told otherwise.
pub const DEMO_TICKETS: u32 = 3_000;

/// The demo event's rules: open doors (no time window), a hall of 2,500, re-entry allowed,
/// Jakarta time.
pub fn demo_event() -> EventRules {
    EventRules {
        id: DEMO_EVENT,
        name: "Seminar Nasional".into(),
        doors_open: None,
        doors_close: None,
        capacity: Some(2_500),
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
            TicketType {
                id: 3,
                name: "Panitia".into(),
            },
        ],
    }
}

const GIVEN: [&str; 40] = [
    "Budi", "Siti", "Agus", "Dewi", "Rizky", "Putri", "Andi", "Ayu", "Fajar", "Indah", "Hendra",
    "Lestari", "Joko", "Wulan", "Yusuf", "Nur", "Dimas", "Rina", "Bayu", "Fitri", "Eko", "Sri",
    "Arif", "Intan", "Galih", "Maya", "Teguh", "Ratna", "Wahyu", "Annisa", "Ilham", "Nadia",
    "Reza", "Kartika", "Surya", "Mega", "Yoga", "Dian", "Hadi", "Citra",
];

const FAMILY: [&str; 30] = [
    "Santoso",
    "Nurhaliza",
    "Wijaya",
    "Lestari",
    "Pratama",
    "Saputra",
    "Hidayat",
    "Kusuma",
    "Setiawan",
    "Rahmawati",
    "Siregar",
    "Nasution",
    "Harahap",
    "Simanjuntak",
    "Sitompul",
    "Purnomo",
    "Gunawan",
    "Susanto",
    "Wibowo",
    "Halim",
    "Tanjung",
    "Pangaribuan",
    "Hutapea",
    "Manurung",
    "Sembiring",
    "Ginting",
    "Tarigan",
    "Damanik",
    "Situmorang",
    "Syahputra",
];

/// The holder of demo ticket `ticket_id`: a given and a family name, varied so that names
/// repeat rarely (searching for one finds a handful, as in a real hall).
pub fn demo_holder(ticket_id: u32) -> String {
    let n = ticket_id as usize;
    let given = GIVEN[n % GIVEN.len()];
    let family = FAMILY[(n / GIVEN.len() + n * 7) % FAMILY.len()];
    format!("{given} {family}")
}

/// The type of demo ticket `ticket_id`: mostly Reguler, one in ten VIP, the first twenty
/// Panitia (the organisers).
pub fn demo_type(ticket_id: u32) -> u16 {
    if ticket_id <= 20 {
        3
    } else if ticket_id % 10 == 0 {
        2
    } else {
        1
    }
}

/// Creates the demo event with `tickets` tickets on a relay whose log is empty, and makes it
/// the event gates check. Returns false (and changes nothing) when the relay already has an
/// event: the demo never overwrites real data.
pub async fn seed_demo(admin: &Admin, tickets: u32) -> Result<bool> {
    if admin.reader().first_event_id()?.is_some() {
        return Ok(false);
    }
    let writer = admin.writer();
    writer
        .append(LogBody::EventUpdated {
            event: demo_event(),
        })
        .await?;
    admin.create_signing_key(DEMO_EVENT).await?;
    let bodies = (1..=tickets)
        .map(|ticket_id| LogBody::TicketUpsert {
            ticket: TicketRecord {
                event_id: DEMO_EVENT,
                ticket_id,
                type_id: demo_type(ticket_id),
                holder: demo_holder(ticket_id),
                barcode: None,
                valid_from: None,
                valid_until: None,
                revoked: false,
            },
        })
        .collect();
    writer.append_all(bodies).await?;
    admin.set_active_event(DEMO_EVENT);
    Ok(true)
}

/// A ticket with the code to print on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuedTicket {
    pub ticket_id: u32,
    pub holder: String,
    pub ticket_type: Option<String>,
    /// The signed code (or, for a ticket from another system, its barcode).
    pub code: String,
}

/// Up to `count` of an event's tickets from number `first` on, each with its code, for
/// printing or showing on a screen. Needs the event's signing key (see
/// [`Admin::create_signing_key`]) for tickets without a barcode; revoked tickets are left out.
pub fn issue_tickets(
    admin: &Admin,
    event_id: u32,
    first: u32,
    count: usize,
) -> Result<Vec<IssuedTicket>> {
    let event = admin
        .reader()
        .event(event_id)?
        .ok_or_else(|| Error::Invalid(format!("the relay has no event {event_id}")))?;
    let signer = admin.signer(event_id)?;
    let tickets = admin
        .reader()
        .tickets(event_id, first.saturating_sub(1), count)?;
    tickets
        .into_iter()
        .filter(|t| !t.revoked)
        .map(|t| {
            let code = match (&t.barcode, &signer) {
                (Some(barcode), _) => barcode.clone(),
                (None, Some(signer)) => signer
                    .issue(&TicketClaims {
                        event_id,
                        ticket_id: t.ticket_id,
                        type_id: t.type_id,
                        valid_from: t.valid_from,
                        valid_until: t.valid_until,
                    })
                    .map_err(|e| Error::Invalid(format!("ticket {}: {e}", t.ticket_id)))?,
                (None, None) => {
                    return Err(Error::Invalid(format!(
                        "the relay holds no signing key for {}; it cannot issue its tickets",
                        event.name
                    )))
                }
            };
            Ok(IssuedTicket {
                ticket_id: t.ticket_id,
                ticket_type: event.type_name(t.type_id).map(str::to_owned),
                holder: t.holder,
                code,
            })
        })
        .collect()
}
