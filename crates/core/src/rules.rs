//! Check-in rules: [`decide`] turns a scanned code and what is known about it into a
//! [`Verdict`].
//!
//! The same function decides at the gate (offline, against the gate's cache) and at the relay
//! (the official result, in arrival order), so it depends on nothing but its arguments.

use serde::{Deserialize, Serialize};

use crate::ticket::{Code, CodeError, Keyring};
use crate::time::Millis;

/// Whether a gate lets people in or records them leaving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Direction {
    Entry,
    Exit,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Entry => "entry",
            Direction::Exit => "exit",
        }
    }
}

/// A kind of ticket (regular, VIP, staff, ...), named for the operator.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TicketType {
    pub id: u16,
    pub name: String,
}

/// Everything about an event that bears on a check-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EventRules {
    pub id: u32,
    pub name: String,
    /// No entry before the doors open.
    pub doors_open: Option<Millis>,
    /// No entry once the doors close.
    pub doors_close: Option<Millis>,
    /// The most people inside at once.
    pub capacity: Option<u32>,
    /// Whether a ticket that has left may come back in.
    pub reentry: bool,
    /// Limits on admissions per ticket; a "day" is a local calendar day.
    pub max_entries_per_day: Option<u32>,
    pub max_entries_total: Option<u32>,
    /// The venue's offset from UTC in minutes (Jakarta: 420), for days and clock times.
    pub utc_offset_minutes: i32,
    pub ticket_types: Vec<TicketType>,
}

impl EventRules {
    pub fn type_name(&self, type_id: u16) -> Option<&str> {
        self.ticket_types
            .iter()
            .find(|t| t.id == type_id)
            .map(|t| t.name.as_str())
    }
}

/// What a gate is set up to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GateRules {
    /// The gate's name as shown to people ("Gerbang A").
    pub gate: String,
    pub direction: Direction,
    /// Ticket types admitted here; empty means all.
    pub allowed_types: Vec<u16>,
}

/// What the cache knows about one ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TicketRecord {
    pub event_id: u32,
    pub ticket_id: u32,
    pub type_id: u16,
    pub holder: String,
    /// The printed barcode of a ticket imported from another system (an opaque code).
    pub barcode: Option<String>,
    pub valid_from: Option<Millis>,
    pub valid_until: Option<Millis>,
    pub revoked: bool,
}

/// An accepted passage through a gate: an admission or a recorded exit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Movement {
    pub at: Millis,
    pub gate: String,
    pub direction: Direction,
}

/// Stable, machine-readable verdict kinds. The UI, the logs and the protocol match on these,
/// never on the reason text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum VerdictKind {
    Admitted,
    ExitRecorded,
    AlreadyUsed,
    UnknownTicket,
    /// Recognisably a Gerbang code, but damaged or unreadable.
    Malformed,
    /// A well-formed code whose signature does not verify.
    Forged,
    Revoked,
    WrongEvent,
    TypeNotAllowed,
    NotYetValid,
    Expired,
    EntriesExhausted,
    HallFull,
    /// An exit scan for a ticket that is not inside: nothing to record.
    NotInside,
}

impl VerdictKind {
    pub const ALL: [VerdictKind; 14] = [
        VerdictKind::Admitted,
        VerdictKind::ExitRecorded,
        VerdictKind::AlreadyUsed,
        VerdictKind::UnknownTicket,
        VerdictKind::Malformed,
        VerdictKind::Forged,
        VerdictKind::Revoked,
        VerdictKind::WrongEvent,
        VerdictKind::TypeNotAllowed,
        VerdictKind::NotYetValid,
        VerdictKind::Expired,
        VerdictKind::EntriesExhausted,
        VerdictKind::HallFull,
        VerdictKind::NotInside,
    ];

    /// The snake_case name used in JSON, SQLite and CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictKind::Admitted => "admitted",
            VerdictKind::ExitRecorded => "exit_recorded",
            VerdictKind::AlreadyUsed => "already_used",
            VerdictKind::UnknownTicket => "unknown_ticket",
            VerdictKind::Malformed => "malformed",
            VerdictKind::Forged => "forged",
            VerdictKind::Revoked => "revoked",
            VerdictKind::WrongEvent => "wrong_event",
            VerdictKind::TypeNotAllowed => "type_not_allowed",
            VerdictKind::NotYetValid => "not_yet_valid",
            VerdictKind::Expired => "expired",
            VerdictKind::EntriesExhausted => "entries_exhausted",
            VerdictKind::HallFull => "hall_full",
            VerdictKind::NotInside => "not_inside",
        }
    }

    pub fn parse(s: &str) -> Option<VerdictKind> {
        VerdictKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// True for the verdicts that let a person through and change who is inside.
    pub fn is_accepted(self) -> bool {
        matches!(self, VerdictKind::Admitted | VerdictKind::ExitRecorded)
    }
}

/// The outcome of a scan, with what the operator needs on screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Verdict {
    pub kind: VerdictKind,
    /// The ticket, when the code identified one.
    pub ticket_id: Option<u32>,
    pub holder: Option<String>,
    pub ticket_type: Option<String>,
    /// A plain-language English reason, for logs and the command line. The UI words its own
    /// text from `kind` and the fields, in the operator's language.
    pub reason: String,
    /// For `already_used`: the admission that used the ticket (when, which gate).
    pub previous: Option<Movement>,
}

/// A scan to decide.
#[derive(Debug, Clone, Copy)]
pub struct Scan<'a> {
    /// The scanned text as classified by [`Code::parse`].
    pub code: &'a Result<Code, CodeError>,
    pub now: Millis,
}

/// Everything known at the place of decision.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub event: &'a EventRules,
    pub gate: &'a GateRules,
    pub keys: &'a Keyring,
    /// The cache's record of the ticket, if it has one.
    pub ticket: Option<&'a TicketRecord>,
    /// The ticket's accepted movements, oldest first, in the order they were recorded (the
    /// relay's order where known, which is immune to gates' clocks disagreeing).
    pub history: &'a [Movement],
    /// People inside the hall now, as best known here.
    pub inside_now: u32,
}

/// Decides a scan. Pure: the same arguments always give the same verdict.
///
/// Order of checks, so that the most useful reason wins: the code itself (damaged, forged,
/// wrong event, unknown); for exits, only whether the ticket is inside; for entries, the
/// ticket (revoked), the gate's types, time windows, whether it is in use, limits, and last
/// the hall's capacity.
pub fn decide(scan: &Scan<'_>, ctx: &Context<'_>) -> Verdict {
    let event = ctx.event;
    let code = match scan.code {
        Ok(code) => code,
        Err(err) if err.is_malformed() => {
            return Verdict::bare(VerdictKind::Malformed, format!("Unreadable ticket: {err}."))
        }
        Err(err) => return Verdict::bare(VerdictKind::Forged, format!("Forged ticket: {err}.")),
    };

    // Who the ticket is, and the facts it carries. A signed code's own claims win over the
    // cache (they are signed); the cache adds the holder's name and revocation.
    let (ticket_id, type_id, valid_from, valid_until) = match code {
        Code::Signed(signed) => {
            let claims = &signed.claims;
            if claims.event_id != event.id {
                return Verdict::bare(
                    VerdictKind::WrongEvent,
                    format!(
                        "This ticket is for another event (event {}); this gate checks {}.",
                        claims.event_id, event.name
                    ),
                );
            }
            if let Err(err) = ctx.keys.verify(signed) {
                return Verdict::bare(VerdictKind::Forged, format!("Forged ticket: {err}."));
            }
            (
                claims.ticket_id,
                claims.type_id,
                claims.valid_from,
                claims.valid_until,
            )
        }
        Code::Manual {
            event_id,
            ticket_id,
        } => match ctx.ticket {
            _ if *event_id != event.id => {
                return Verdict::bare(
                    VerdictKind::WrongEvent,
                    format!(
                        "This ticket is for another event (event {event_id}); this gate checks {}.",
                        event.name
                    ),
                )
            }
            Some(t) if t.event_id == event.id && t.ticket_id == *ticket_id => {
                (t.ticket_id, t.type_id, t.valid_from, t.valid_until)
            }
            _ => {
                return Verdict::bare(
                    VerdictKind::UnknownTicket,
                    format!("No ticket {ticket_id} is known for {}.", event.name),
                )
            }
        },
        Code::Opaque(text) => match ctx.ticket {
            None => {
                return Verdict::bare(
                    VerdictKind::UnknownTicket,
                    format!(
                        "No ticket with code {:?} is known for {}.",
                        shorten(text),
                        event.name
                    ),
                )
            }
            Some(t) if t.event_id != event.id => {
                return Verdict::bare(
                    VerdictKind::WrongEvent,
                    format!(
                        "This ticket is for another event (event {}); this gate checks {}.",
                        t.event_id, event.name
                    ),
                )
            }
            Some(t) => (t.ticket_id, t.type_id, t.valid_from, t.valid_until),
        },
    };

    let out = Outcome {
        ticket_id,
        holder: ctx.ticket.map(|t| t.holder.clone()),
        ticket_type: event.type_name(type_id).map(str::to_owned),
    };
    let tz = event.utc_offset_minutes;
    let now = scan.now;

    // Exits come before revocation: a person inside whose ticket was revoked still leaves, and
    // "inside now" must count them out.
    let inside_since = inside_since(ctx.history);
    if ctx.gate.direction == Direction::Exit {
        return match inside_since {
            Some(_) => out.verdict(VerdictKind::ExitRecorded, "Exit recorded.".into()),
            None => out.verdict(
                VerdictKind::NotInside,
                "This ticket is not inside; no exit recorded.".into(),
            ),
        };
    }

    if ctx.ticket.is_some_and(|t| t.revoked) {
        return out.verdict(
            VerdictKind::Revoked,
            "This ticket was cancelled or re-issued.".into(),
        );
    }

    if !ctx.gate.allowed_types.is_empty() && !ctx.gate.allowed_types.contains(&type_id) {
        let name = out.ticket_type.as_deref().unwrap_or("This type of");
        let reason = format!("{name} tickets are not admitted at {}.", ctx.gate.gate);
        return out.verdict(VerdictKind::TypeNotAllowed, reason);
    }

    let not_before = [
        (valid_from, "The ticket is valid from"),
        (event.doors_open, "The doors open at"),
    ];
    for (at, what) in not_before {
        if let Some(at) = at.filter(|&at| now < at) {
            let reason = format!("{what} {}.", at.local_hhmm(tz));
            return out.verdict(VerdictKind::NotYetValid, reason);
        }
    }
    let not_after = [
        (valid_until, "The ticket expired at"),
        (event.doors_close, "The doors closed at"),
    ];
    for (at, what) in not_after {
        if let Some(at) = at.filter(|&at| now >= at) {
            let reason = format!("{what} {}.", at.local_hhmm(tz));
            return out.verdict(VerdictKind::Expired, reason);
        }
    }

    let admissions = || {
        ctx.history
            .iter()
            .filter(|m| m.direction == Direction::Entry)
    };
    if let Some(entry) = inside_since {
        return out.already_used(entry, tz);
    }
    if !event.reentry {
        if let Some(first) = admissions().next() {
            return out.already_used(first, tz);
        }
    }
    let total = admissions().count();
    if let Some(max) = event.max_entries_total.filter(|&m| total >= m as usize) {
        return out.verdict(
            VerdictKind::EntriesExhausted,
            format!("All {max} entries of this ticket are used."),
        );
    }
    let today = now.local_day(tz);
    let today_count = admissions().filter(|m| m.at.local_day(tz) == today).count();
    if let Some(max) = event
        .max_entries_per_day
        .filter(|&m| today_count >= m as usize)
    {
        return out.verdict(
            VerdictKind::EntriesExhausted,
            format!("All {max} entries for today are used."),
        );
    }

    if let Some(capacity) = event.capacity.filter(|&c| ctx.inside_now >= c) {
        return out.verdict(
            VerdictKind::HallFull,
            format!("The hall is full ({capacity} inside)."),
        );
    }

    out.verdict(VerdictKind::Admitted, "Welcome.".into())
}

/// The admission that has the ticket inside now, if its last movement was an entry.
fn inside_since(history: &[Movement]) -> Option<&Movement> {
    history.last().filter(|m| m.direction == Direction::Entry)
}

fn shorten(text: &str) -> String {
    const MAX: usize = 40;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// What a verdict says about the ticket, whatever the outcome.
struct Outcome {
    ticket_id: u32,
    holder: Option<String>,
    ticket_type: Option<String>,
}

impl Outcome {
    fn verdict(self, kind: VerdictKind, reason: String) -> Verdict {
        Verdict {
            kind,
            ticket_id: Some(self.ticket_id),
            holder: self.holder,
            ticket_type: self.ticket_type,
            reason,
            previous: None,
        }
    }

    fn already_used(self, used: &Movement, tz: i32) -> Verdict {
        let reason = format!("Already used at {}, {}.", used.gate, used.at.local_hhmm(tz));
        Verdict {
            previous: Some(used.clone()),
            ..self.verdict(VerdictKind::AlreadyUsed, reason)
        }
    }
}

impl Verdict {
    fn bare(kind: VerdictKind, reason: String) -> Verdict {
        Verdict {
            kind,
            ticket_id: None,
            holder: None,
            ticket_type: None,
            reason,
            previous: None,
        }
    }
}
