//! The snapshot format: everything a device needs to decide scans for one event as of one log
//! `seq`, as the relay serves it at `GET /api/v1/events/{event_id}/snapshot` (gzip-compressed;
//! see `docs/PROTOCOL.md`, "Snapshots").
//!
//! A snapshot is UTF-8 text, one JSON object per line (`\n`), each tagged by `"item"`, in this
//! order:
//!
//! 1. one `header`: format name and version, the event, the `seq` it was taken at, and how many
//!    of each item follow;
//! 2. every `event` the relay knows (rules of all events, so later log entries about any event
//!    apply);
//! 3. every `key` (public keys only, with a retired flag);
//! 4. every `ticket` of the event, revoked ones included;
//! 5. `entry` lines: log entries exactly as catch-up sends them: the latest operator messages
//!    (at most [`MAX_SNAPSHOT_MESSAGES`]), then every scan of the event, each kind in `seq` order;
//! 6. one `end`, so a cut stream is never mistaken for a whole one.
//!
//! [`SnapshotReader`] reads and checks all of it (order, counts, the event of every ticket and
//! scan, `seq` bounds) and hands out the items one at a time, so a million tickets never sit in
//! memory. Like the rest of this crate it does no I/O of its own: it reads any [`BufRead`].

use std::io::BufRead;

use serde::{Deserialize, Serialize};

use crate::protocol::{LogBody, LogEntry};
use crate::rules::{EventRules, TicketRecord};
use crate::ticket::EventKey;
use crate::time::Millis;

/// The `format` of every snapshot header.
pub const SNAPSHOT_FORMAT: &str = "gerbang-snapshot";
/// The snapshot format version this code writes and reads.
pub const SNAPSHOT_VERSION: u16 = 1;
/// Operator messages a snapshot carries at most: the latest ones.
pub const MAX_SNAPSHOT_MESSAGES: u64 = 1_000;
/// The longest line a reader accepts, in bytes. The longest real line is a log entry (at most
/// 64 KiB, like every protocol message) or an event with many ticket types.
pub const MAX_SNAPSHOT_LINE: usize = 1024 * 1024;

/// The path of an event's snapshot on the relay.
pub fn snapshot_path(event_id: u32) -> String {
    format!("/api/v1/events/{event_id}/snapshot")
}

/// The first line of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotHeader {
    /// Always [`SNAPSHOT_FORMAT`].
    pub format: String,
    /// [`SNAPSHOT_VERSION`].
    pub version: u16,
    /// The event whose tickets and scans the snapshot carries.
    pub event_id: u32,
    /// The log entry the snapshot is as of: every entry up to and including it is in it. A
    /// device that applies the snapshot continues from here (its cursor).
    pub seq: u64,
    /// When the relay took it (relay clock).
    pub at: Millis,
    /// How many lines of each item follow.
    pub counts: SnapshotCounts,
}

/// How many of each item a snapshot holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotCounts {
    pub events: u64,
    pub keys: u64,
    pub tickets: u64,
    /// Log entries: operator messages and the event's scans.
    pub entries: u64,
}

impl SnapshotCounts {
    /// Items between the header and the end line.
    pub fn total(&self) -> u64 {
        self.events + self.keys + self.tickets + self.entries
    }
}

/// One line of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "item", rename_all = "snake_case")]
pub enum SnapshotItem {
    Header(SnapshotHeader),
    /// An event's rules.
    Event {
        event: EventRules,
    },
    /// A verifying key; a retired key verifies nothing but stays on record.
    Key {
        key: EventKey,
        retired: bool,
    },
    Ticket {
        ticket: TicketRecord,
    },
    /// A log entry of kind `scan` (of the snapshot's event) or `message`.
    Entry {
        entry: LogEntry,
    },
    /// The last line: the number of items between the header and this line.
    End {
        items: u64,
    },
}

impl SnapshotItem {
    /// The item as one line of a snapshot, with its `\n`.
    pub fn to_line(&self) -> String {
        let mut line = serde_json::to_string(self).expect("snapshot items serialise");
        line.push('\n');
        line
    }

    fn name(&self) -> &'static str {
        match self {
            SnapshotItem::Header(_) => "header",
            SnapshotItem::Event { .. } => "event",
            SnapshotItem::Key { .. } => "key",
            SnapshotItem::Ticket { .. } => "ticket",
            SnapshotItem::Entry { .. } => "entry",
            SnapshotItem::End { .. } => "end",
        }
    }

    /// Where the item may appear: sections come in this order.
    fn section(&self) -> u8 {
        match self {
            SnapshotItem::Header(_) => 0,
            SnapshotItem::Event { .. } => 1,
            SnapshotItem::Key { .. } => 2,
            SnapshotItem::Ticket { .. } => 3,
            SnapshotItem::Entry { .. } => 4,
            SnapshotItem::End { .. } => 5,
        }
    }
}

/// Why a snapshot was refused. Every variant says where, so a broken relay can be found.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("the snapshot could not be read: {0}")]
    Read(#[from] std::io::Error),
    #[error("the snapshot is empty")]
    Empty,
    #[error("line {line} of the snapshot is longer than {MAX_SNAPSHOT_LINE} bytes")]
    LineTooLong { line: u64 },
    #[error("line {line} of the snapshot is not valid: {reason}")]
    Invalid { line: u64, reason: String },
    #[error(
        "this is snapshot format {found:?} version {version}; this app reads {SNAPSHOT_FORMAT:?} \
         version {SNAPSHOT_VERSION}: update the older of the app and the relay"
    )]
    Unsupported { found: String, version: u16 },
    #[error("the snapshot ends after line {line} without its end line: it was cut off")]
    Truncated { line: u64 },
    #[error("the snapshot's header announced {announced} {what}, but it holds {found}")]
    CountsDiffer {
        what: &'static str,
        announced: u64,
        found: u64,
    },
}

/// Reads a snapshot line by line, checking it as it goes; see the module documentation.
#[derive(Debug)]
pub struct SnapshotReader<R> {
    reader: R,
    header: SnapshotHeader,
    /// The line number of the last line read (the header is line 1).
    line: u64,
    seen: SnapshotCounts,
    section: u8,
    /// The last `seq` of each entry kind, which must increase.
    last_scan: u64,
    last_message: u64,
    done: bool,
    buf: Vec<u8>,
}

impl<R: BufRead> SnapshotReader<R> {
    /// Reads and checks the header.
    pub fn new(mut reader: R) -> Result<SnapshotReader<R>, SnapshotError> {
        let mut buf = Vec::new();
        if !read_line(&mut reader, &mut buf, 1)? {
            return Err(SnapshotError::Empty);
        }
        // The format and version first, so a future format gets a clear refusal rather than a
        // complaint about some field.
        #[derive(Deserialize)]
        struct Format {
            item: String,
            format: String,
            version: u16,
        }
        let format: Format = serde_json::from_slice(&buf).map_err(|e| SnapshotError::Invalid {
            line: 1,
            reason: format!("the first line must be the snapshot header ({e})"),
        })?;
        if format.item != "header" {
            return Err(SnapshotError::Invalid {
                line: 1,
                reason: format!("the first line must be the header, not {:?}", format.item),
            });
        }
        if format.format != SNAPSHOT_FORMAT || format.version != SNAPSHOT_VERSION {
            return Err(SnapshotError::Unsupported {
                found: format.format,
                version: format.version,
            });
        }
        let header = match parse(&buf, 1)? {
            SnapshotItem::Header(header) => header,
            _ => unreachable!("the item tag was checked above"),
        };
        Ok(SnapshotReader {
            reader,
            header,
            line: 1,
            seen: SnapshotCounts::default(),
            section: 0,
            last_scan: 0,
            last_message: 0,
            done: false,
            buf,
        })
    }

    pub fn header(&self) -> &SnapshotHeader {
        &self.header
    }

    /// The next item (never the header or the end line), or `None` once the end line was read
    /// and every count matched the header.
    pub fn next_item(&mut self) -> Result<Option<SnapshotItem>, SnapshotError> {
        if self.done {
            return Ok(None);
        }
        self.line += 1;
        let line = self.line;
        if !read_line(&mut self.reader, &mut self.buf, line)? {
            return Err(SnapshotError::Truncated { line: line - 1 });
        }
        let item = parse(&self.buf, line)?;
        let invalid = |reason: String| SnapshotError::Invalid { line, reason };
        if item.section() < self.section || matches!(item, SnapshotItem::Header(_)) {
            return Err(invalid(format!(
                "a {} line cannot come after the {} lines",
                item.name(),
                section_name(self.section)
            )));
        }
        self.section = item.section();
        let event_id = self.header.event_id;
        let snapshot_seq = self.header.seq;
        match &item {
            SnapshotItem::Header(_) => {}
            SnapshotItem::Event { .. } => self.seen.events += 1,
            SnapshotItem::Key { .. } => self.seen.keys += 1,
            SnapshotItem::Ticket { ticket } => {
                if ticket.event_id != event_id {
                    return Err(invalid(format!(
                        "ticket {} is of event {}, not of the snapshot's event {event_id}",
                        ticket.ticket_id, ticket.event_id
                    )));
                }
                self.seen.tickets += 1;
            }
            SnapshotItem::Entry { entry } => {
                if entry.seq == 0 || entry.seq > snapshot_seq {
                    return Err(invalid(format!(
                        "entry {} is outside the snapshot, which is as of entry {snapshot_seq}",
                        entry.seq
                    )));
                }
                let last = match &entry.body {
                    LogBody::Scan { scan, .. } if scan.event_id == event_id => &mut self.last_scan,
                    LogBody::Scan { scan, .. } => {
                        return Err(invalid(format!(
                            "scan entry {} is of event {}, not of the snapshot's event {event_id}",
                            entry.seq, scan.event_id
                        )))
                    }
                    LogBody::Message { .. } => &mut self.last_message,
                    other => {
                        return Err(invalid(format!(
                            "a snapshot carries scan and message entries, not {:?}",
                            other.kind()
                        )))
                    }
                };
                if entry.seq <= *last {
                    return Err(invalid(format!(
                        "entry {} comes after entry {}: entries of a kind must be in seq order",
                        entry.seq, *last
                    )));
                }
                *last = entry.seq;
                self.seen.entries += 1;
            }
            SnapshotItem::End { items } => {
                let announced = self.header.counts;
                let checks = [
                    ("events", announced.events, self.seen.events),
                    ("keys", announced.keys, self.seen.keys),
                    ("tickets", announced.tickets, self.seen.tickets),
                    ("entries", announced.entries, self.seen.entries),
                    ("items", *items, self.seen.total()),
                ];
                for (what, announced, found) in checks {
                    if announced != found {
                        return Err(SnapshotError::CountsDiffer {
                            what,
                            announced,
                            found,
                        });
                    }
                }
                // Nothing may follow the end line.
                self.buf.clear();
                if read_line(&mut self.reader, &mut self.buf, line + 1)? {
                    return Err(SnapshotError::Invalid {
                        line: line + 1,
                        reason: "nothing may follow the end line".into(),
                    });
                }
                self.done = true;
                return Ok(None);
            }
        }
        Ok(Some(item))
    }
}

fn section_name(section: u8) -> &'static str {
    ["header", "event", "key", "ticket", "entry", "end"][usize::from(section.min(5))]
}

fn parse(line: &[u8], number: u64) -> Result<SnapshotItem, SnapshotError> {
    serde_json::from_slice(line).map_err(|e| SnapshotError::Invalid {
        line: number,
        reason: e.to_string(),
    })
}

/// Reads one line into `buf` (without its `\n`); false at the end of the input. Lines are
/// bounded, so a hostile stream cannot make the reader hold an endless line.
fn read_line(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    line: u64,
) -> Result<bool, SnapshotError> {
    use std::io::Read;
    buf.clear();
    let limit = MAX_SNAPSHOT_LINE as u64 + 1;
    let n = reader.by_ref().take(limit).read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(false);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
    } else if n as u64 == limit {
        return Err(SnapshotError::LineTooLong { line });
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{OperatorMessage, ScanRecord};
    use crate::rules::{Direction, TicketType, Verdict, VerdictKind};

    fn event() -> EventRules {
        EventRules {
            id: 7,
            name: "Seminar Nasional".into(),
            doors_open: None,
            doors_close: None,
            capacity: Some(1_000),
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

    fn ticket(event_id: u32, ticket_id: u32) -> TicketRecord {
        TicketRecord {
            event_id,
            ticket_id,
            type_id: 1,
            holder: "Siti Rahayu".into(),
            barcode: None,
            valid_from: None,
            valid_until: None,
            revoked: false,
        }
    }

    fn scan_entry(seq: u64, event_id: u32) -> LogEntry {
        LogEntry {
            seq,
            at: Millis(1_795_262_401_503),
            body: LogBody::Scan {
                scan: ScanRecord {
                    scan_id: uuid::Uuid::from_u128(u128::from(seq)),
                    event_id,
                    code: "EXT-1".into(),
                    ticket_id: Some(1),
                    gate: "Gerbang A".into(),
                    direction: Direction::Entry,
                    at: Millis(1_795_262_401_500),
                    local: VerdictKind::Admitted,
                },
                official: Verdict {
                    kind: VerdictKind::Admitted,
                    ticket_id: Some(1),
                    holder: Some("Siti Rahayu".into()),
                    ticket_type: Some("Reguler".into()),
                    reason: "Admitted.".into(),
                    previous: None,
                },
                conflict: None,
            },
        }
    }

    fn message_entry(seq: u64) -> LogEntry {
        LogEntry {
            seq,
            at: Millis(1_795_262_430_000),
            body: LogBody::Message {
                message: OperatorMessage {
                    message_id: uuid::Uuid::from_u128(u128::from(seq) << 64),
                    from: "Supervisor 1".into(),
                    to: None,
                    text: "Open the second lane, please.".into(),
                    at: Millis(1_795_262_430_000),
                },
            },
        }
    }

    /// A whole snapshot's text from its items, the header's counts filled in from them.
    fn snapshot(items: &[SnapshotItem]) -> String {
        let mut counts = SnapshotCounts::default();
        for item in items {
            match item {
                SnapshotItem::Event { .. } => counts.events += 1,
                SnapshotItem::Key { .. } => counts.keys += 1,
                SnapshotItem::Ticket { .. } => counts.tickets += 1,
                SnapshotItem::Entry { .. } => counts.entries += 1,
                _ => {}
            }
        }
        let header = SnapshotItem::Header(SnapshotHeader {
            format: SNAPSHOT_FORMAT.into(),
            version: SNAPSHOT_VERSION,
            event_id: 7,
            seq: 10,
            at: Millis(1_795_262_440_000),
            counts,
        });
        let mut text = header.to_line();
        for item in items {
            text.push_str(&item.to_line());
        }
        text.push_str(
            &SnapshotItem::End {
                items: counts.total(),
            }
            .to_line(),
        );
        text
    }

    fn read_all(text: &str) -> Result<Vec<SnapshotItem>, SnapshotError> {
        let mut reader = SnapshotReader::new(text.as_bytes())?;
        let mut items = Vec::new();
        while let Some(item) = reader.next_item()? {
            items.push(item);
        }
        Ok(items)
    }

    fn refusal(text: &str) -> String {
        read_all(text).unwrap_err().to_string()
    }

    fn good_items() -> Vec<SnapshotItem> {
        vec![
            SnapshotItem::Event { event: event() },
            SnapshotItem::Key {
                key: crate::EventSigner::from_secret(7, 1, [42; 32]).public_key(),
                retired: false,
            },
            SnapshotItem::Ticket {
                ticket: ticket(7, 1),
            },
            SnapshotItem::Entry {
                entry: message_entry(4),
            },
            SnapshotItem::Entry {
                entry: scan_entry(2, 7),
            },
            SnapshotItem::Entry {
                entry: scan_entry(9, 7),
            },
        ]
    }

    #[test]
    fn a_whole_snapshot_reads_back_item_for_item() {
        let items = good_items();
        assert_eq!(read_all(&snapshot(&items)).unwrap(), items);
    }

    #[test]
    fn the_header_line_is_as_documented() {
        let text = snapshot(&good_items());
        expect_test::expect![[r#"{"item":"header","format":"gerbang-snapshot","version":1,"event_id":7,"seq":10,"at":1795262440000,"counts":{"events":1,"keys":1,"tickets":1,"entries":3}}"#]]
            .assert_eq(text.lines().next().unwrap());
        expect_test::expect![[r#"{"item":"end","items":6}"#]]
            .assert_eq(text.lines().last().unwrap());
    }

    #[test]
    fn damaged_snapshots_are_refused_saying_where() {
        let good = snapshot(&good_items());
        let lines: Vec<&str> = good.lines().collect();
        let without = |skip: usize| {
            let mut kept: Vec<&str> = lines.clone();
            kept.remove(skip);
            kept.join("\n") + "\n"
        };
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "the snapshot is empty"),
            (
                lines[..4].join("\n") + "\n",
                "the snapshot ends after line 4 without its end line: it was cut off",
            ),
            (
                without(3),
                "the snapshot's header announced 1 tickets, but it holds 0",
            ),
            (
                good.replace("\"version\":1", "\"version\":2"),
                "this is snapshot format \"gerbang-snapshot\" version 2; this app reads \
                 \"gerbang-snapshot\" version 1: update the older of the app and the relay",
            ),
            (
                good.clone() + "{}\n",
                "line 9 of the snapshot is not valid: nothing may follow the end line",
            ),
            (
                good.replace("\"item\":\"ticket\"", "\"item\":\"coupon\""),
                "line 4 of the snapshot is not valid: unknown variant `coupon`",
            ),
        ];
        for (text, expected) in cases {
            let got = refusal(&text);
            assert!(got.starts_with(expected), "{got}\nexpected: {expected}");
        }
    }

    #[test]
    fn items_out_of_place_are_refused() {
        let cases: Vec<(Vec<SnapshotItem>, &str)> = vec![
            (
                vec![
                    SnapshotItem::Ticket {
                        ticket: ticket(7, 1),
                    },
                    SnapshotItem::Event { event: event() },
                ],
                "line 3 of the snapshot is not valid: a event line cannot come after the ticket lines",
            ),
            (
                vec![SnapshotItem::Ticket {
                    ticket: ticket(8, 1),
                }],
                "ticket 1 is of event 8, not of the snapshot's event 7",
            ),
            (
                vec![SnapshotItem::Entry {
                    entry: scan_entry(11, 7),
                }],
                "entry 11 is outside the snapshot, which is as of entry 10",
            ),
            (
                vec![SnapshotItem::Entry {
                    entry: scan_entry(3, 8),
                }],
                "scan entry 3 is of event 8",
            ),
            (
                vec![
                    SnapshotItem::Entry {
                        entry: scan_entry(3, 7),
                    },
                    SnapshotItem::Entry {
                        entry: scan_entry(3, 7),
                    },
                ],
                "entry 3 comes after entry 3",
            ),
            (
                vec![SnapshotItem::Entry {
                    entry: LogEntry {
                        seq: 1,
                        at: Millis(0),
                        body: LogBody::TicketRevoked {
                            event_id: 7,
                            ticket_id: 1,
                        },
                    },
                }],
                "not \"ticket_revoked\"",
            ),
        ];
        for (items, expected) in cases {
            let got = refusal(&snapshot(&items));
            assert!(got.contains(expected), "{got}\nexpected: {expected}");
        }
    }

    #[test]
    fn an_endless_line_is_refused_without_reading_it_all() {
        let text = snapshot(&[]);
        let header = text.lines().next().unwrap();
        let long = format!("{header}\n{}", "x".repeat(MAX_SNAPSHOT_LINE + 10));
        assert_eq!(
            refusal(&long),
            format!("line 2 of the snapshot is longer than {MAX_SNAPSHOT_LINE} bytes")
        );
    }
}
