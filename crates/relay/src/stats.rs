//! Live statistics per event, kept incrementally from what the writer commits.
//!
//! The counts are read from SQLite once, when the relay opens ([`Stats::load`]); from then on
//! the writer thread hands every committed batch to [`Stats::committed`], which updates them
//! with a few hash-map operations per entry: nothing here ever counts the log again. Because
//! the writer calls it after the commit and before it answers anyone, a client that holds an
//! ack and then asks for statistics finds its scan counted.
//!
//! Pushing is separate from counting: [`push_loop`] looks every [`PUSH_INTERVAL`] at each
//! event's figures and broadcasts a `stats` message only for the events whose figures differ
//! from the last ones pushed. However many scans arrive, an event's dashboards get at most
//! four messages a second, and none while nothing changes. The one change that needs no scan,
//! the last-minute counts falling as time passes, is seen by the same comparison.
//!
//! Capacity alerts are raised here too: when the number inside reaches a threshold of the
//! capacity ([`THRESHOLDS`]) from below, once per upward crossing (a threshold is armed again
//! when the number inside falls back under it). A relay that starts above a threshold does
//! not raise it again.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use gerbang_core::protocol::{
    self, Alert, AlertKind, CapacityCrossed, EventStats, GateThroughput, LogBody, LogEntry,
    ServerMessage,
};
use gerbang_core::{EventRules, Millis, VerdictKind};
use rusqlite::Connection;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};

/// How often changed statistics are pushed, at most: four times a second per event.
pub const PUSH_INTERVAL: Duration = Duration::from_millis(250);
/// Capacity thresholds that raise an alert, in percent, lowest first.
pub const THRESHOLDS: [u32; 2] = [90, 100];
/// The window of [`GateThroughput::last_minute`], in seconds.
const WINDOW_SECS: usize = 60;

/// What the stats module tells connections, encoded once for all of them.
#[derive(Debug)]
pub(crate) struct Notice {
    pub event_id: u32,
    pub kind: NoticeKind,
    /// For statistics, a fingerprint of the figures (`at` left out), so a connection sends
    /// each event's figures once even when they reach it twice (the current figures after
    /// catch-up, then the same in the next push); 0 for alerts.
    pub figures: u64,
    /// The whole `stats` or `alert` message.
    pub json: Utf8Bytes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoticeKind {
    Stats,
    /// A capacity alert: for supervisors and admins only.
    Alert,
}

/// A ticket's state as the counts need it, as bits: cheap for a million tickets.
const EXISTS: u8 = 1;
const REVOKED: u8 = 2;
const ADMITTED: u8 = 4;

fn is_issued(flags: u8) -> bool {
    flags & EXISTS != 0 && flags & REVOKED == 0
}

/// One gate's counts. The last minute is 60 one-second buckets, each stamped with the second
/// it counts, so a bucket left from an earlier minute is recognised and not summed.
#[derive(Debug, Clone)]
struct GateCounts {
    admitted: u32,
    exits: u32,
    recent: [(i64, u32); WINDOW_SECS],
}

impl Default for GateCounts {
    fn default() -> GateCounts {
        GateCounts {
            admitted: 0,
            exits: 0,
            recent: [(i64::MIN, 0); WINDOW_SECS],
        }
    }
}

impl GateCounts {
    fn moved(&mut self, second: i64) {
        let slot = &mut self.recent[second.rem_euclid(WINDOW_SECS as i64) as usize];
        if slot.0 == second {
            slot.1 += 1;
        } else {
            *slot = (second, 1);
        }
    }

    /// Movements in the 60 seconds up to and including `now_second`.
    fn last_minute(&self, now_second: i64) -> u32 {
        self.recent
            .iter()
            .filter(|(second, _)| {
                *second <= now_second && *second > now_second - WINDOW_SECS as i64
            })
            .map(|(_, n)| n)
            .sum()
    }
}

#[derive(Debug, Default)]
struct EventCounts {
    name: String,
    capacity: Option<u32>,
    /// Every ticket the counts have seen, by id.
    tickets: HashMap<u32, u8>,
    issued: u32,
    admitted: u32,
    inside: u32,
    gates: BTreeMap<String, GateCounts>,
    /// Per threshold: true while the number inside is under it, so reaching it raises an alert.
    armed: [bool; THRESHOLDS.len()],
    /// The figures last pushed (with `at` zeroed), to push only changes.
    pushed: Option<EventStats>,
}

impl EventCounts {
    fn set_ticket(&mut self, ticket_id: u32, flags: u8) {
        let old = self.tickets.get(&ticket_id).copied().unwrap_or(0);
        let new = flags | (old & ADMITTED);
        match (is_issued(old), is_issued(new)) {
            (false, true) => self.issued += 1,
            (true, false) => self.issued = self.issued.saturating_sub(1),
            _ => {}
        }
        self.tickets.insert(ticket_id, new);
    }

    fn admit_ticket(&mut self, ticket_id: u32) {
        let flags = self.tickets.entry(ticket_id).or_insert(0);
        if *flags & ADMITTED == 0 {
            *flags |= ADMITTED;
            self.admitted += 1;
        }
    }

    /// Which thresholds are reached now; arms those under. Returns the highest threshold
    /// newly reached, if any.
    fn crossed(&mut self) -> Option<u32> {
        let mut raised = None;
        for (i, percent) in THRESHOLDS.iter().enumerate() {
            let reached = match self.capacity {
                Some(capacity) => {
                    u64::from(self.inside) * 100 >= u64::from(capacity) * u64::from(*percent)
                }
                None => false,
            };
            if reached && self.armed[i] {
                raised = Some(*percent);
            }
            self.armed[i] = !reached;
        }
        raised
    }

    fn figures(&self, event_id: u32, at: Millis) -> EventStats {
        let second = at.0.div_euclid(Millis::SECOND);
        EventStats {
            event_id,
            issued: self.issued,
            admitted: self.admitted,
            inside_now: self.inside,
            capacity: self.capacity,
            remaining: self.capacity.map(|c| c.saturating_sub(self.inside)),
            per_gate: self
                .gates
                .iter()
                .map(|(gate, counts)| GateThroughput {
                    gate: gate.clone(),
                    admitted: counts.admitted,
                    exits: counts.exits,
                    last_minute: counts.last_minute(second),
                })
                .collect(),
            at,
        }
    }
}

/// The live counts of every event.
pub(crate) struct Stats {
    /// A std mutex: held for a few map operations by the writer thread, a request or the push
    /// loop, never across an `.await`.
    events: Mutex<HashMap<u32, EventCounts>>,
    /// Stats pushes and capacity alerts, to every connection (each filters by its role).
    pub notices: broadcast::Sender<Arc<Notice>>,
    clock: fn() -> Millis,
}

impl std::fmt::Debug for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stats").finish_non_exhaustive()
    }
}

impl Stats {
    /// Counts everything already committed: once, at start. The writer must not commit
    /// anything between this and the first [`Stats::committed`] (the relay loads before it
    /// hands out the writer).
    pub fn load(conn: &Connection, clock: fn() -> Millis) -> Result<Stats> {
        let mut events: HashMap<u32, EventCounts> = HashMap::new();
        let mut stmt = conn.prepare("SELECT id, rules FROM events")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, String>(1)?)))? {
            let (id, json) = row?;
            let rules: EventRules = serde_json::from_str(&json)
                .map_err(|e| Error::Corrupt(format!("event {id}: {e}")))?;
            let counts = events.entry(id).or_default();
            counts.name = rules.name;
            counts.capacity = rules.capacity;
        }
        let mut stmt = conn.prepare("SELECT event_id, ticket_id, revoked FROM tickets")?;
        for row in stmt.query_map([], |r| {
            Ok((
                r.get::<_, u32>(0)?,
                r.get::<_, u32>(1)?,
                r.get::<_, bool>(2)?,
            ))
        })? {
            let (event_id, ticket_id, revoked) = row?;
            let flags = EXISTS | if revoked { REVOKED } else { 0 };
            events
                .entry(event_id)
                .or_default()
                .set_ticket(ticket_id, flags);
        }
        let mut stmt = conn.prepare(
            "SELECT DISTINCT event_id, ticket_id FROM log
             WHERE kind = 'scan' AND official = 'admitted' AND ticket_id IS NOT NULL",
        )?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, u32>(1)?)))? {
            let (event_id, ticket_id) = row?;
            events.entry(event_id).or_default().admit_ticket(ticket_id);
        }
        let mut stmt = conn.prepare(
            "SELECT event_id, gate, sum(official = 'admitted'), sum(official = 'exit_recorded')
             FROM log WHERE kind = 'scan' GROUP BY event_id, gate",
        )?;
        for row in stmt.query_map([], |r| {
            Ok((
                r.get::<_, u32>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, u32>(2)?,
                r.get::<_, u32>(3)?,
            ))
        })? {
            let (event_id, gate, admitted, exits) = row?;
            let counts = events.entry(event_id).or_default();
            // Inside is admissions minus exits, never below 0, as the writer counts it.
            counts.inside =
                (i64::from(counts.inside) + i64::from(admitted) - i64::from(exits)).max(0) as u32;
            let gate = counts.gates.entry(gate).or_default();
            gate.admitted = admitted;
            gate.exits = exits;
        }
        // The last minute, by each scan's own time (bounded by the relay's commit time).
        let now = clock();
        let mut stmt = conn.prepare(
            "SELECT event_id, gate, min(scanned_at, at) FROM log
             WHERE kind = 'scan' AND official IN ('admitted', 'exit_recorded')
               AND scanned_at > ?1",
        )?;
        for row in stmt.query_map([now.0 - WINDOW_SECS as i64 * Millis::SECOND], |r| {
            Ok((
                r.get::<_, u32>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })? {
            let (event_id, gate, at) = row?;
            if let Some(gate) = events
                .get_mut(&event_id)
                .and_then(|e| e.gates.get_mut(&gate))
            {
                gate.moved(at.div_euclid(Millis::SECOND));
            }
        }
        for counts in events.values_mut() {
            // Thresholds already reached at start were alerted before (or not at all): not now.
            counts.crossed();
        }
        Ok(Stats {
            events: Mutex::new(events),
            notices: broadcast::channel(256).0,
            clock,
        })
    }

    /// The writer's hook: counts a batch of committed entries.
    pub fn committed(&self, entries: &[&LogEntry]) {
        let mut alerts = Vec::new();
        {
            let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
            for entry in entries {
                if let Some(alert) = apply(&mut events, entry) {
                    alerts.push(alert);
                }
            }
        }
        for (event_id, alert) in alerts {
            let json = protocol::encode_server(&ServerMessage::Alert { alert });
            // Nobody connected is fine: alerts are live notifications.
            let _ = self.notices.send(Arc::new(Notice {
                event_id,
                kind: NoticeKind::Alert,
                figures: 0,
                json: json.into(),
            }));
        }
    }

    /// The figures of one event now; `None` if the relay has never heard of it.
    pub fn event(&self, event_id: u32) -> Option<EventStats> {
        let events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        events
            .get(&event_id)
            .map(|counts| counts.figures(event_id, (self.clock)()))
    }

    /// Every event's current `stats` notice, for a connection that has just caught up.
    pub fn current(&self) -> Vec<Notice> {
        let now = (self.clock)();
        let events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        let mut ids: Vec<u32> = events.keys().copied().collect();
        ids.sort_unstable();
        ids.into_iter()
            .map(|id| stats_notice(events[&id].figures(id, now)))
            .collect()
    }

    /// The `stats` notices of the events whose figures changed since they were last pushed;
    /// remembers these as pushed.
    pub fn changed(&self) -> Vec<Notice> {
        let now = (self.clock)();
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        for (id, counts) in events.iter_mut() {
            let figures = counts.figures(*id, now);
            let unstamped = EventStats {
                at: Millis(0),
                ..figures.clone()
            };
            if counts.pushed.as_ref() != Some(&unstamped) {
                counts.pushed = Some(unstamped);
                out.push(stats_notice(figures));
            }
        }
        out.sort_unstable_by_key(|n| n.event_id);
        out
    }
}

/// A `stats` notice; its fingerprint leaves `at` out.
fn stats_notice(figures: EventStats) -> Notice {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let unstamped = EventStats {
        at: Millis(0),
        ..figures.clone()
    };
    serde_json::to_string(&unstamped)
        .expect("statistics serialise")
        .hash(&mut hasher);
    Notice {
        event_id: figures.event_id,
        kind: NoticeKind::Stats,
        figures: hasher.finish(),
        json: protocol::encode_server(&ServerMessage::Stats { stats: figures }).into(),
    }
}

/// Counts one entry; returns a capacity alert if it made the number inside reach a threshold.
fn apply(events: &mut HashMap<u32, EventCounts>, entry: &LogEntry) -> Option<(u32, Alert)> {
    let event_id = match &entry.body {
        LogBody::Scan { scan, official, .. } => {
            let counts = events.entry(scan.event_id).or_default();
            let gate = counts.gates.entry(scan.gate.clone()).or_default();
            // A scan's own time, but never later than the relay's commit: a gate whose clock
            // runs ahead must not keep its scans in "the last minute" for longer.
            let second = scan.at.0.min(entry.at.0).div_euclid(Millis::SECOND);
            match official.kind {
                VerdictKind::Admitted => {
                    gate.admitted += 1;
                    gate.moved(second);
                    counts.inside += 1;
                    if let Some(ticket_id) = official.ticket_id.or(scan.ticket_id) {
                        counts.admit_ticket(ticket_id);
                    }
                }
                VerdictKind::ExitRecorded => {
                    gate.exits += 1;
                    gate.moved(second);
                    counts.inside = counts.inside.saturating_sub(1);
                }
                _ => return None,
            }
            scan.event_id
        }
        LogBody::TicketUpsert { ticket } => {
            let flags = EXISTS | if ticket.revoked { REVOKED } else { 0 };
            events
                .entry(ticket.event_id)
                .or_default()
                .set_ticket(ticket.ticket_id, flags);
            return None;
        }
        LogBody::TicketRevoked {
            event_id,
            ticket_id,
        } => {
            events
                .entry(*event_id)
                .or_default()
                .set_ticket(*ticket_id, EXISTS | REVOKED);
            return None;
        }
        LogBody::EventUpdated { event } => {
            let counts = events.entry(event.id).or_default();
            counts.name.clone_from(&event.name);
            counts.capacity = event.capacity;
            event.id
        }
        LogBody::KeyAdded { .. } | LogBody::KeyRetired { .. } | LogBody::Message { .. } => {
            return None
        }
    };
    let counts = events.get_mut(&event_id)?;
    let percent = counts.crossed()?;
    let capacity = counts.capacity.unwrap_or(0);
    let text = if percent >= 100 {
        format!(
            "{} is full: {} inside, capacity {capacity}. Gates refuse entries until people leave.",
            display_name(&counts.name, event_id),
            counts.inside
        )
    } else {
        format!(
            "{} has reached {percent}% of its capacity: {} inside, capacity {capacity}.",
            display_name(&counts.name, event_id),
            counts.inside
        )
    };
    Some((
        event_id,
        Alert {
            // The entry that made the crossing: an admission or an event update, never a
            // conflicting scan (those move nobody), so its seq is unique among alerts.
            alert_id: entry.seq,
            kind: AlertKind::CapacityThreshold,
            at: entry.at,
            text,
            scans: Vec::new(),
            capacity: Some(CapacityCrossed {
                event_name: counts.name.clone(),
                percent,
                inside: counts.inside,
                capacity,
            }),
        },
    ))
}

fn display_name(name: &str, event_id: u32) -> String {
    if name.is_empty() {
        format!("Event {event_id}")
    } else {
        name.to_owned()
    }
}

/// Pushes changed statistics every [`PUSH_INTERVAL`] until `shutdown`.
pub(crate) async fn push_loop(stats: Arc<Stats>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(PUSH_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        if stats.notices.receiver_count() == 0 {
            // Nobody listens: leave `pushed` as it is, so the first listener's next tick is
            // compared with what was last actually pushed (it got the current figures anyway).
            continue;
        }
        for notice in stats.changed() {
            let _ = stats.notices.send(Arc::new(notice));
        }
    }
}

#[cfg(test)]
mod tests {
    use gerbang_core::protocol::ScanRecord;
    use gerbang_core::{Direction, TicketRecord, Verdict};

    use super::*;

    const T: i64 = 1_795_262_400_000;

    fn clock() -> Millis {
        Millis(T)
    }

    fn empty() -> Stats {
        Stats {
            events: Mutex::new(HashMap::new()),
            notices: broadcast::channel(16).0,
            clock,
        }
    }

    fn event(capacity: Option<u32>) -> LogBody {
        LogBody::EventUpdated {
            event: EventRules {
                id: 1,
                name: "Seminar".into(),
                doors_open: None,
                doors_close: None,
                capacity,
                reentry: true,
                max_entries_per_day: None,
                max_entries_total: None,
                utc_offset_minutes: 420,
                ticket_types: vec![],
            },
        }
    }

    fn ticket(ticket_id: u32, revoked: bool) -> LogBody {
        LogBody::TicketUpsert {
            ticket: TicketRecord {
                event_id: 1,
                ticket_id,
                type_id: 1,
                holder: "x".into(),
                barcode: None,
                valid_from: None,
                valid_until: None,
                revoked,
            },
        }
    }

    fn scan(ticket_id: u32, gate: &str, at: i64, kind: VerdictKind) -> LogBody {
        LogBody::Scan {
            scan: ScanRecord {
                scan_id: uuid::Uuid::now_v7(),
                event_id: 1,
                code: String::new(),
                ticket_id: Some(ticket_id),
                gate: gate.into(),
                direction: if kind == VerdictKind::ExitRecorded {
                    Direction::Exit
                } else {
                    Direction::Entry
                },
                at: Millis(at),
                local: kind,
            },
            official: Verdict {
                kind,
                ticket_id: Some(ticket_id),
                holder: None,
                ticket_type: None,
                reason: String::new(),
                previous: None,
            },
            conflict: None,
        }
    }

    /// Feeds bodies as committed entries (seq from 1, relay time T) and returns the alerts.
    fn feed(stats: &Stats, bodies: Vec<LogBody>) -> Vec<String> {
        let mut alerts = stats.notices.subscribe();
        let entries: Vec<LogEntry> = bodies
            .into_iter()
            .enumerate()
            .map(|(i, body)| LogEntry {
                seq: i as u64 + 1,
                at: Millis(T),
                body,
            })
            .collect();
        stats.committed(&entries.iter().collect::<Vec<_>>());
        let mut out = Vec::new();
        while let Ok(notice) = alerts.try_recv() {
            out.push(notice.json.as_str().to_owned());
        }
        out
    }

    #[test]
    fn counts_follow_tickets_scans_and_revocations() {
        let stats = empty();
        let mut bodies = vec![
            event(Some(10)),
            ticket(1, false),
            ticket(2, false),
            ticket(3, true),
        ];
        bodies.push(scan(1, "A", T - 1_000, VerdictKind::Admitted));
        bodies.push(scan(1, "B", T - 500, VerdictKind::ExitRecorded));
        bodies.push(scan(1, "A", T - 400, VerdictKind::Admitted));
        bodies.push(scan(2, "B", T - 120_000, VerdictKind::Admitted));
        bodies.push(scan(9, "B", T, VerdictKind::UnknownTicket));
        bodies.push(LogBody::TicketRevoked {
            event_id: 1,
            ticket_id: 2,
        });
        bodies.push(ticket(3, false));
        feed(&stats, bodies);
        let s = stats.event(1).unwrap();
        assert_eq!(
            (s.issued, s.admitted, s.inside_now, s.capacity, s.remaining),
            (2, 2, 2, Some(10), Some(8))
        );
        let gates: Vec<_> = s
            .per_gate
            .iter()
            .map(|g| (g.gate.as_str(), g.admitted, g.exits, g.last_minute))
            .collect();
        // Gate B's admission two minutes ago is not in its last minute.
        assert_eq!(gates, [("A", 2, 0, 2), ("B", 1, 1, 1)]);
    }

    #[test]
    fn a_threshold_alerts_once_per_upward_crossing() {
        let stats = empty();
        let mut alerts = feed(&stats, vec![event(Some(10))]);
        for t in 1..=9 {
            alerts.extend(feed(&stats, vec![scan(t, "A", T, VerdictKind::Admitted)]));
        }
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert!(alerts[0].contains("reached 90%"), "{}", alerts[0]);
        // Down to 8 and back to 9: a second crossing. Then 10: full.
        alerts.extend(feed(
            &stats,
            vec![scan(1, "A", T, VerdictKind::ExitRecorded)],
        ));
        alerts.extend(feed(&stats, vec![scan(1, "A", T, VerdictKind::Admitted)]));
        alerts.extend(feed(&stats, vec![scan(10, "A", T, VerdictKind::Admitted)]));
        alerts.extend(feed(&stats, vec![scan(11, "A", T, VerdictKind::Admitted)]));
        assert_eq!(alerts.len(), 3, "{alerts:?}");
        assert!(alerts[2].contains("is full"), "{}", alerts[2]);
    }

    #[test]
    fn only_changes_are_pushed() {
        let stats = empty();
        feed(&stats, vec![event(None), ticket(1, false)]);
        assert_eq!(stats.changed().len(), 1);
        assert_eq!(stats.changed().len(), 0);
        feed(&stats, vec![scan(1, "A", T, VerdictKind::Admitted)]);
        feed(&stats, vec![scan(1, "A", T, VerdictKind::AlreadyUsed)]);
        assert_eq!(stats.changed().len(), 1);
        assert_eq!(stats.changed().len(), 0);
    }
}
