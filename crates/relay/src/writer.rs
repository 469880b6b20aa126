//! The single writer: every change to the log goes through one thread that groups whatever
//! arrived while the previous commit was on its way to disk into one transaction (group
//! commit), decides scans officially in arrival order, and only then answers and publishes.
//!
//! One writer makes "arrival order" well defined (it is the order of this thread's channel)
//! and keeps SQLite free of write contention; grouping makes one `fsync` serve many scans.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::extract::ws::Utf8Bytes;
use gerbang_core::protocol::{
    self, Alert, AlertKind, Conflict, LogBody, LogEntry, ScanRecord, ServerMessage,
};
use gerbang_core::{
    decide, Code, Context, Direction, EventRules, GateRules, Keyring, Millis, Movement, Scan,
    TicketRecord, Verdict, VerdictKind,
};
use rusqlite::{params, Connection, OptionalExtension};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::error::{Error, Result};
use crate::store::{self, Location};

/// Most commands folded into one transaction; bounds the latency one commit can add.
const MAX_BATCH: usize = 4_096;
/// The least time from one commit's start to the next's, per connection listening: every
/// commit is published to every connection, one write each (about 5 µs of CPU), so 2,000
/// scans a second committed one by one would be 400,000 writes a second to 200 gates. Under
/// load the writer waits out the rest of this spacing and folds what arrived meanwhile into
/// one commit, so it never waits longer than one commit's fan-out costs; a scan arriving after
/// a quiet moment is committed at once.
const SPACING_PER_LISTENER: std::time::Duration = std::time::Duration::from_micros(10);
/// The most the spacing grows to (200 connections and more): at most 500 commits a second.
const MAX_SPACING: std::time::Duration = std::time::Duration::from_millis(2);
/// Commands waiting for the writer. Senders wait (backpressure) when it is full.
const QUEUE: usize = 16_384;

/// What a scan upload gets back once it is durable.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanAck {
    pub seq: u64,
    pub official: Verdict,
    pub conflict: Option<Conflict>,
    /// True when this scan id was already in the log: the same ack again, no new entry.
    pub replayed: bool,
}

/// Committed entries as published to every connection: one `entries` message of a commit's
/// entries (a large commit, such as a ticket import, is several), encoded once for all of them.
#[derive(Debug)]
pub struct Published {
    /// The `entries` message. Reference-counted: every connection sends the same bytes without
    /// copying them. Made from the bodies' JSON as stored in the log (each encoded once).
    pub entries_json: Utf8Bytes,
    /// Each entry's `seq` and where its object is in `entries_json`, in order: a connection
    /// that catch-up already sent some of them to, or that finds several messages waiting,
    /// packs what it needs again ([`pack_live`]).
    entries: Vec<(u64, std::ops::Range<usize>)>,
    /// For each conflicting scan among them: the `alert` message for supervisors.
    pub alerts: Vec<Utf8Bytes>,
}

impl Published {
    /// The last entry's `seq`.
    pub fn last_seq(&self) -> u64 {
        self.entries.last().map_or(0, |(seq, _)| *seq)
    }

    /// The first entry's `seq`.
    pub fn first_seq(&self) -> u64 {
        self.entries.first().map_or(0, |(seq, _)| *seq)
    }

    /// Each entry's `seq` and LogEntry object, as they are in `entries_json`.
    fn entries(&self) -> impl Iterator<Item = (u64, &str)> {
        self.entries
            .iter()
            .map(|(seq, range)| (*seq, &self.entries_json.as_str()[range.clone()]))
    }
}

/// What a connection sends of `waiting` (published messages, in order) when it has already
/// sent every entry up to `sent`: the entries after it, as few `entries` messages as fit. One
/// message wholly after `sent` is sent as published, shared; anything else is packed again
/// (a connection behind by several commits sends them as one frame, not one each).
pub fn pack_live(waiting: &[Arc<Published>], sent: u64) -> Vec<Utf8Bytes> {
    match waiting {
        [] => Vec::new(),
        [one] if one.first_seq() > sent => vec![one.entries_json.clone()],
        _ => {
            let head = waiting.last().map_or(sent, |p| p.last_seq());
            let entries = waiting
                .iter()
                .flat_map(|p| p.entries())
                .filter(|(seq, _)| *seq > sent)
                .map(|(_, json)| json);
            match protocol::pack_entries(entries, head) {
                Ok(packed) => packed
                    .into_iter()
                    .map(|p| Utf8Bytes::from(p.text))
                    .collect(),
                // Each entry was published in a message, so each fits in one and this cannot
                // happen; should it, the messages go as published (clients skip entries at or
                // before their cursor).
                Err(e) => {
                    tracing::error!("packing live entries failed: {e}");
                    waiting.iter().map(|p| p.entries_json.clone()).collect()
                }
            }
        }
    }
}

/// An ack on its way: resolves when the scan's commit is on disk.
#[derive(Debug)]
pub struct PendingAck(oneshot::Receiver<Result<ScanAck>>);

impl PendingAck {
    pub async fn wait(self) -> Result<ScanAck> {
        self.await
    }
}

impl std::future::Future for PendingAck {
    type Output = Result<ScanAck>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0)
            .poll(cx)
            .map(|answer| answer.map_err(|_| Error::ShuttingDown).and_then(|r| r))
    }
}

/// A new log entry, its body's JSON as stored (encoded once: stored, then published) and,
/// for a conflicting scan, the alert that goes with it.
struct Logged {
    entry: LogEntry,
    body_json: String,
    alert: Option<Alert>,
}

/// The event keys the writer decides with, as last published by it. Connection tasks verify
/// scans' signatures against it before the writer sees them (see [`Writer::submit_scan`]).
/// A std lock, held only to clone the `Arc`, never across an `.await`; the map is replaced
/// whole when a key changes, which is rare.
type KeySnapshot = Arc<RwLock<Arc<HashMap<u32, Keyring>>>>;

enum Command {
    Scan {
        record: ScanRecord,
        /// The record's code, parsed, and its signature verified (and remembered) when the
        /// key was known to the snapshot: the writer's own check is then a comparison.
        code: std::result::Result<Code, gerbang_core::CodeError>,
        reply: oneshot::Sender<Result<ScanAck>>,
    },
    Append {
        body: LogBody,
        reply: oneshot::Sender<Result<LogEntry>>,
    },
    /// Several entries that stand or fall together (a ticket import).
    AppendAll {
        bodies: Vec<LogBody>,
        reply: oneshot::Sender<Result<Vec<LogEntry>>>,
    },
    /// A change to the relay's own settings, which the official decision reads.
    Configure {
        change: Configure,
        reply: oneshot::Sender<Result<Option<LogEntry>>>,
    },
    /// Commit everything queued before this, then stop; later commands are refused.
    Stop,
}

/// A change to what the writer decides with that is not (only) a log entry. Kept apart from
/// [`LogBody`]: these are the relay's settings, not something every gate replays.
#[derive(Debug, Clone)]
pub enum Configure {
    /// Sets the ticket types a gate admits (empty: all). Not logged; the relay's official
    /// verdict uses it from the next scan on.
    Gate {
        name: String,
        allowed_types: Vec<u16>,
    },
    /// Adds a signing key: a `key_added` log entry for the gates, and the secret, kept only in
    /// the relay's `event_keys` table, in the same transaction.
    SigningKey {
        key: gerbang_core::EventKey,
        secret: [u8; 32],
    },
}

/// What an observer of the writer learns after each commit, on the writer thread, before any
/// caller hears of it: a statistics or metrics module keeps its counts from these.
#[derive(Debug)]
pub struct Committed<'a> {
    /// The new entries, in `seq` order.
    pub entries: &'a [&'a LogEntry],
    /// Commands folded into this transaction.
    pub commands: usize,
    /// Time from the first statement to the end of the commit (the fsync included).
    pub took: std::time::Duration,
}

/// Called by the writer thread after every successful commit. Must be quick and must not
/// block: the next commit waits for it.
pub type CommitHook = Box<dyn FnMut(&Committed<'_>) + Send>;

/// The handle to the writer thread. Cheap to clone; the thread ends when every handle is gone
/// and the queue is drained, so pending work is always committed before shutdown completes.
#[derive(Debug, Clone)]
pub struct Writer {
    tx: mpsc::Sender<Command>,
    /// The writer's keys, for checking signatures before a scan is queued.
    keys: KeySnapshot,
}

impl Writer {
    /// Opens the database for writing and starts the writer thread. Committed entries are sent
    /// on `publish`; the returned handle joins the thread.
    pub fn start(
        location: &Location,
        publish: broadcast::Sender<Arc<Published>>,
        clock: fn() -> Millis,
    ) -> Result<(Writer, std::thread::JoinHandle<()>)> {
        Writer::start_observed(location, publish, clock, Box::new(|_: &Committed<'_>| {}))
    }

    /// [`Writer::start`], with `hook` told of every commit (see [`Committed`]).
    pub fn start_observed(
        location: &Location,
        publish: broadcast::Sender<Arc<Published>>,
        clock: fn() -> Millis,
        hook: CommitHook,
    ) -> Result<(Writer, std::thread::JoinHandle<()>)> {
        let conn = store::open_for_writing(location)?;
        let state = Decider::load(&conn)?;
        let keys: KeySnapshot = Arc::new(RwLock::new(Arc::new(state.keys.clone())));
        let (tx, rx) = mpsc::channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("gerbang-log-writer".into())
            .spawn({
                let keys = Arc::clone(&keys);
                move || {
                    WriterThread {
                        conn,
                        state,
                        publish,
                        clock,
                        hook,
                        keys,
                        keys_published: 0,
                    }
                    .run(rx);
                }
            })?;
        Ok((Writer { tx, keys }, thread))
    }

    /// Records a scan; answers once it is on disk. Idempotent by scan id.
    pub async fn scan(&self, record: ScanRecord) -> Result<ScanAck> {
        self.submit_scan(record).await?.wait().await
    }

    /// Queues a scan and returns at once with a ticket for its ack, so one connection can have
    /// many scans in flight (pipelining) and still receive the acks in upload order: the writer
    /// works through its queue in order.
    ///
    /// The code is parsed and its Ed25519 signature checked here, in the caller's task, so
    /// connections check signatures in parallel on every core while the single writer thread
    /// only compares the key that verified it with the key it decides with (a key changed in
    /// between is verified again there). Verification is most of a signed scan's cost.
    pub async fn submit_scan(&self, record: ScanRecord) -> Result<PendingAck> {
        let mut acks = self.submit_scans(vec![record]).await?;
        Ok(acks.pop().expect("one ack per scan"))
    }

    /// [`Writer::submit_scan`] for several scans that arrived together (a gate uploading its
    /// outbox sends many at once), queued in order: their signatures are checked together
    /// (batch verification, see [`gerbang_core::Keyring::verify_all_and_remember`]), which
    /// costs about 40% of checking them one by one.
    pub async fn submit_scans(&self, records: Vec<ScanRecord>) -> Result<Vec<PendingAck>> {
        let mut codes: Vec<_> = records.iter().map(scan_code).collect();
        let keys = Arc::clone(&self.keys.read().unwrap_or_else(|e| e.into_inner()));
        let mut by_event: HashMap<u32, Vec<&mut gerbang_core::SignedCode>> = HashMap::new();
        for code in &mut codes {
            if let Ok(Code::Signed(signed)) = code {
                by_event
                    .entry(signed.claims.event_id)
                    .or_default()
                    .push(signed);
            }
        }
        for (event_id, mut signed) in by_event {
            // A failure is not remembered: the writer checks again and decides.
            if let Some(ring) = keys.get(&event_id) {
                ring.verify_all_and_remember(&mut signed);
            }
        }
        let mut acks = Vec::with_capacity(records.len());
        for (record, code) in records.into_iter().zip(codes) {
            let (reply, answer) = oneshot::channel();
            self.send(Command::Scan {
                record,
                code,
                reply,
            })
            .await?;
            acks.push(PendingAck(answer));
        }
        Ok(acks)
    }

    /// Appends any other entry (ticket upsert, revocation, key change, event update, message).
    pub async fn append(&self, body: LogBody) -> Result<LogEntry> {
        if matches!(body, LogBody::Scan { .. }) {
            return Err(Error::Invalid(
                "scans are recorded with Writer::scan".into(),
            ));
        }
        let (reply, answer) = oneshot::channel();
        self.send(Command::Append { body, reply }).await?;
        answer.await.map_err(|_| Error::ShuttingDown)?
    }

    /// Appends several entries atomically: all are logged, or none is (ticket imports).
    pub async fn append_all(&self, bodies: Vec<LogBody>) -> Result<Vec<LogEntry>> {
        if bodies.iter().any(|b| matches!(b, LogBody::Scan { .. })) {
            return Err(Error::Invalid(
                "scans are recorded with Writer::scan".into(),
            ));
        }
        let (reply, answer) = oneshot::channel();
        self.send(Command::AppendAll { bodies, reply }).await?;
        answer.await.map_err(|_| Error::ShuttingDown)?
    }

    /// Changes a relay setting (see [`Configure`]); answers once it is on disk, with the log
    /// entry it made, if any.
    pub async fn configure(&self, change: Configure) -> Result<Option<LogEntry>> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Configure { change, reply }).await?;
        answer.await.map_err(|_| Error::ShuttingDown)?
    }

    /// Commits everything queued so far, then stops the writer thread.
    pub async fn stop(&self) {
        let _ = self.tx.send(Command::Stop).await;
    }

    async fn send(&self, command: Command) -> Result<()> {
        self.tx.send(command).await.map_err(|_| Error::ShuttingDown)
    }
}

struct WriterThread {
    conn: Connection,
    state: Decider,
    publish: broadcast::Sender<Arc<Published>>,
    clock: fn() -> Millis,
    /// Told of every commit (statistics, metrics).
    hook: CommitHook,
    /// Where connection tasks read the keys from, and the [`Decider::keys_version`] last put
    /// there.
    keys: KeySnapshot,
    keys_published: u64,
}

/// A command's result, held until the batch's commit decides whether it stands.
enum Outcome {
    Scan(oneshot::Sender<Result<ScanAck>>, Result<ScanAck>),
    Append(oneshot::Sender<Result<LogEntry>>, Result<LogEntry>),
    AppendAll(
        oneshot::Sender<Result<Vec<LogEntry>>>,
        Result<Vec<LogEntry>>,
    ),
    Configure(
        oneshot::Sender<Result<Option<LogEntry>>>,
        Result<Option<LogEntry>>,
    ),
}

impl WriterThread {
    fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let mut batch = Vec::with_capacity(64);
        let mut stop = false;
        let mut last_commit: Option<std::time::Instant> = None;
        while let Some(first) = rx.blocking_recv() {
            let listeners = u32::try_from(self.publish.receiver_count()).unwrap_or(u32::MAX);
            let spacing = SPACING_PER_LISTENER
                .saturating_mul(listeners)
                .min(MAX_SPACING);
            let stopping = matches!(first, Command::Stop);
            if let Some(wait) = last_commit
                .filter(|_| !stopping)
                .and_then(|t| spacing.checked_sub(t.elapsed()))
            {
                std::thread::sleep(wait);
            }
            last_commit = Some(std::time::Instant::now());
            let mut next = Some(first);
            while let Some(command) = next.take() {
                if matches!(command, Command::Stop) {
                    stop = true;
                    break;
                }
                batch.push(command);
                if batch.len() < MAX_BATCH {
                    next = rx.try_recv().ok();
                }
            }
            if !batch.is_empty() {
                self.commit_batch(&mut batch);
            }
            if stop {
                break;
            }
        }
        // Dropping the receiver refuses whatever is still queued or sent later: those callers
        // hear "shutting down" and retry against the next run of the relay.
        tracing::debug!("log writer stopped");
    }

    fn commit_batch(&mut self, batch: &mut Vec<Command>) {
        let mut published = Vec::new();
        let commands = batch.len();
        let started = std::time::Instant::now();
        let outcomes = match self.apply_batch(batch, &mut published) {
            Ok(outcomes) => outcomes,
            Err(err) => {
                // Nothing of the batch is on disk: every caller hears so, and the in-memory
                // state is rebuilt from what is.
                tracing::error!("log commit failed: {err}");
                let message = err.to_string();
                for command in batch.drain(..) {
                    match command {
                        Command::Scan { reply, .. } => {
                            let _ = reply.send(Err(Error::Invalid(message.clone())));
                        }
                        Command::Append { reply, .. } => {
                            let _ = reply.send(Err(Error::Invalid(message.clone())));
                        }
                        Command::AppendAll { reply, .. } => {
                            let _ = reply.send(Err(Error::Invalid(message.clone())));
                        }
                        Command::Configure { reply, .. } => {
                            let _ = reply.send(Err(Error::Invalid(message.clone())));
                        }
                        Command::Stop => {}
                    }
                }
                match Decider::load(&self.conn) {
                    Ok(state) => self.state = state,
                    Err(err) => tracing::error!("reloading the relay state failed: {err}"),
                }
                self.keys_published = u64::MAX;
                self.publish_keys();
                return;
            }
        };
        // Durable: the observers count it first, so that whoever hears of an entry (an ack, a
        // published entry) and then asks for statistics finds it counted.
        let took = started.elapsed();
        self.publish_keys();
        let entries: Vec<&LogEntry> = published.iter().map(|logged| &logged.entry).collect();
        (self.hook)(&Committed {
            entries: &entries,
            commands,
            took,
        });
        // Now answer, then publish, so a gate never hears of an entry that a crash could still
        // take back.
        for outcome in outcomes {
            match outcome {
                Outcome::Scan(reply, result) => {
                    let _ = reply.send(result);
                }
                Outcome::Append(reply, result) => {
                    let _ = reply.send(result);
                }
                Outcome::AppendAll(reply, result) => {
                    let _ = reply.send(result);
                }
                Outcome::Configure(reply, result) => {
                    let _ = reply.send(result);
                }
            }
        }
        for message in publishable(published) {
            // No receivers is fine: nobody is connected.
            let _ = self.publish.send(Arc::new(message));
        }
    }

    /// Puts the decider's keys where connection tasks read them, when they changed.
    fn publish_keys(&mut self) {
        if self.keys_published != self.state.keys_version {
            *self.keys.write().unwrap_or_else(|e| e.into_inner()) =
                Arc::new(self.state.keys.clone());
            self.keys_published = self.state.keys_version;
        }
    }

    fn apply_batch(
        &mut self,
        batch: &mut Vec<Command>,
        published: &mut Vec<Logged>,
    ) -> Result<Vec<Outcome>> {
        let mut tx = self.conn.transaction()?;
        let mut outcomes = Vec::with_capacity(batch.len());
        for command in batch.drain(..) {
            let now = (self.clock)();
            match command {
                Command::Scan {
                    record,
                    code,
                    reply,
                } => {
                    let result = self.state.record_scan(&tx, record, code, now);
                    let result = result.map(|(ack, logged)| {
                        if let Some(logged) = logged {
                            published.push(logged);
                        }
                        ack
                    });
                    outcomes.push(Outcome::Scan(reply, result));
                }
                Command::Append { body, reply } => {
                    let result = self.state.append(&tx, body, now).map(|logged| {
                        let entry = logged.entry.clone();
                        published.push(logged);
                        entry
                    });
                    outcomes.push(Outcome::Append(reply, result));
                }
                Command::AppendAll { bodies, reply } => {
                    // A savepoint, so a failing entry takes back only this command's others.
                    let result = (|| {
                        let savepoint = tx.savepoint()?;
                        let mut entries = Vec::with_capacity(bodies.len());
                        for body in bodies {
                            entries.push(self.state.append(&savepoint, body, now)?);
                        }
                        savepoint.commit()?;
                        Ok(entries)
                    })();
                    let result = result.map(|logged: Vec<Logged>| {
                        let entries = logged.iter().map(|l| l.entry.clone()).collect();
                        published.extend(logged);
                        entries
                    });
                    match &result {
                        Ok(_) => {}
                        // What the undone entries changed in memory (events, keys) is rebuilt
                        // from the database as this transaction now sees it.
                        Err(_) => {
                            self.state = Decider::load(&tx)?;
                            self.keys_published = u64::MAX;
                        }
                    }
                    outcomes.push(Outcome::AppendAll(reply, result));
                }
                Command::Configure { change, reply } => {
                    let result = (|| {
                        let savepoint = tx.savepoint()?;
                        let entry = self.state.configure(&savepoint, change, now)?;
                        savepoint.commit()?;
                        Ok(entry)
                    })();
                    let result = result.map(|logged: Option<Logged>| {
                        logged.map(|logged| {
                            let entry = logged.entry.clone();
                            published.push(logged);
                            entry
                        })
                    });
                    if result.is_err() {
                        self.state = Decider::load(&tx)?;
                        self.keys_published = u64::MAX;
                    }
                    outcomes.push(Outcome::Configure(reply, result));
                }
                Command::Stop => {}
            }
        }
        tx.commit()?;
        Ok(outcomes)
    }
}

/// What the official decision needs in memory: rules, keys, gate settings and how many people
/// are inside per event. The tickets and their histories stay in SQLite (indexed).
struct Decider {
    events: HashMap<u32, EventRules>,
    keys: HashMap<u32, Keyring>,
    /// Counts changes to `keys`, so the writer republishes them only when they changed.
    keys_version: u64,
    gates: HashMap<String, Vec<u16>>,
    inside: HashMap<u32, u32>,
}

impl Decider {
    fn load(conn: &Connection) -> Result<Decider> {
        let mut events = HashMap::new();
        let mut stmt = conn.prepare("SELECT id, rules FROM events")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, String>(1)?)))? {
            let (id, json) = row?;
            let rules: EventRules = serde_json::from_str(&json)
                .map_err(|e| Error::Corrupt(format!("event {id}: {e}")))?;
            events.insert(id, rules);
        }
        let mut keys: HashMap<u32, Keyring> = HashMap::new();
        let mut stmt =
            conn.prepare("SELECT event_id, key_id, public_key FROM event_keys WHERE retired = 0")?;
        for row in stmt.query_map([], |r| {
            Ok((
                r.get::<_, u32>(0)?,
                r.get::<_, u8>(1)?,
                r.get::<_, String>(2)?,
            ))
        })? {
            let (event_id, key_id, public) = row?;
            let public_key = public
                .parse()
                .map_err(|e| Error::Corrupt(format!("key {key_id} of event {event_id}: {e}")))?;
            keys.entry(event_id)
                .or_default()
                .insert(gerbang_core::EventKey {
                    event_id,
                    key_id,
                    public_key,
                })
                .map_err(Error::Corrupt)?;
        }
        let mut gates = HashMap::new();
        let mut stmt = conn.prepare("SELECT name, allowed_types FROM gates")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
            let (name, types) = row?;
            let types: Vec<u16> = serde_json::from_str(&types)
                .map_err(|e| Error::Corrupt(format!("gate {name}: {e}")))?;
            gates.insert(name, types);
        }
        let mut inside = HashMap::new();
        let mut stmt = conn.prepare(
            "SELECT event_id,
                    sum(official = 'admitted') - sum(official = 'exit_recorded')
             FROM log WHERE kind = 'scan' GROUP BY event_id",
        )?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, i64>(1)?)))? {
            let (event_id, n) = row?;
            inside.insert(event_id, n.max(0) as u32);
        }
        Ok(Decider {
            events,
            keys,
            keys_version: 0,
            gates,
            inside,
        })
    }

    /// Decides and logs one scan, or replays the ack of a scan id already logged.
    fn record_scan(
        &mut self,
        tx: &Connection,
        record: ScanRecord,
        code: std::result::Result<Code, gerbang_core::CodeError>,
        now: Millis,
    ) -> Result<(ScanAck, Option<Logged>)> {
        let scan_id = record.scan_id.to_string();
        let existing: Option<(i64, String)> = tx
            .prepare_cached("SELECT seq, body FROM log WHERE scan_id = ?1")?
            .query_row([&scan_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((seq, body)) = existing {
            let entry = store::entry_from_row(seq as u64, 0, &body)?;
            return match entry.body {
                LogBody::Scan {
                    official, conflict, ..
                } => Ok((
                    ScanAck {
                        seq: seq as u64,
                        official,
                        conflict,
                        replayed: true,
                    },
                    None,
                )),
                _ => Err(Error::Corrupt(format!(
                    "log entry {seq} has a scan id but is not a scan"
                ))),
            };
        }

        let event = self.events.get(&record.event_id).ok_or_else(|| {
            Error::Invalid(format!(
                "event {} does not exist on this relay",
                record.event_id
            ))
        })?;
        let ticket = lookup_ticket(tx, event.id, &code)?;
        let ticket_id = ticket.as_ref().map(|t| t.ticket_id).or(match &code {
            Ok(Code::Signed(s)) if s.claims.event_id == event.id => Some(s.claims.ticket_id),
            Ok(Code::Manual {
                event_id,
                ticket_id,
            }) if *event_id == event.id => Some(*ticket_id),
            _ => None,
        });
        let history = match ticket_id {
            Some(id) => history(tx, event.id, id)?,
            None => Vec::new(),
        };
        let movements: Vec<Movement> = history.iter().map(|h| h.movement.clone()).collect();
        let gate = GateRules {
            gate: record.gate.clone(),
            direction: record.direction,
            allowed_types: self.gates.get(&record.gate).cloned().unwrap_or_default(),
        };
        let empty = Keyring::new();
        let inside_now = self.inside.get(&event.id).copied().unwrap_or(0);
        // Time windows are judged at the moment of scanning (the gate's clock), not at upload:
        // a scan made offline at 19:00 and uploaded at 23:00 was made while the doors were open.
        let verdict = decide(
            &Scan {
                code: &code,
                now: record.at,
            },
            &Context {
                event,
                gate: &gate,
                keys: self.keys.get(&event.id).unwrap_or(&empty),
                ticket: ticket.as_ref(),
                history: &movements,
                inside_now,
            },
        );

        // A gate let someone in that the official order refuses: the second of two offline
        // admissions. Both stay in the log; this one is flagged.
        let conflict = (record.local.is_accepted() && !verdict.kind.is_accepted())
            .then(|| {
                history
                    .iter()
                    .rev()
                    .find(|h| h.movement.direction == Direction::Entry)
                    .map(|first| Conflict {
                        first_scan_id: first.scan_id,
                        first_gate: first.movement.gate.clone(),
                        first_at: first.movement.at,
                    })
            })
            .flatten();

        match verdict.kind {
            VerdictKind::Admitted => *self.inside.entry(event.id).or_default() += 1,
            VerdictKind::ExitRecorded => {
                let n = self.inside.entry(event.id).or_default();
                *n = n.saturating_sub(1);
            }
            _ => {}
        }

        let body = LogBody::Scan {
            scan: ScanRecord {
                ticket_id,
                ..record
            },
            official: verdict.clone(),
            conflict: conflict.clone(),
        };
        let mut logged = insert_entry(tx, now, body)?;
        if let Some(c) = &conflict {
            logged.alert = Some(conflict_alert(tx, c, &logged.entry, now)?);
        }
        Ok((
            ScanAck {
                seq: logged.entry.seq,
                official: verdict,
                conflict,
                replayed: false,
            },
            Some(logged),
        ))
    }

    /// Applies a non-scan entry to the relay's tables and logs it.
    fn append(&mut self, tx: &Connection, body: LogBody, now: Millis) -> Result<Logged> {
        match &body {
            LogBody::Scan { .. } => {
                return Err(Error::Invalid(
                    "scans are recorded with Writer::scan".into(),
                ))
            }
            LogBody::EventUpdated { event } => {
                let json = serde_json::to_string(event).expect("EventRules serialise");
                tx.execute(
                    "INSERT INTO events (id, rules) VALUES (?1, ?2)
                     ON CONFLICT (id) DO UPDATE SET rules = excluded.rules",
                    params![event.id, json],
                )?;
                self.events.insert(event.id, event.clone());
            }
            LogBody::TicketUpsert { ticket } => upsert_ticket(tx, ticket)?,
            LogBody::TicketRevoked {
                event_id,
                ticket_id,
            } => {
                let n = tx.execute(
                    "UPDATE tickets SET revoked = 1 WHERE event_id = ?1 AND ticket_id = ?2",
                    params![event_id, ticket_id],
                )?;
                if n == 0 {
                    // A signed ticket the relay never stored can still be revoked: remember it.
                    tx.execute(
                        "INSERT INTO tickets (event_id, ticket_id, type_id, holder, revoked)
                         VALUES (?1, ?2, 0, '', 1)",
                        params![event_id, ticket_id],
                    )?;
                }
            }
            LogBody::KeyAdded { key } => {
                self.keys_version += 1;
                self.keys
                    .entry(key.event_id)
                    .or_default()
                    .insert(*key)
                    .map_err(Error::Invalid)?;
                tx.execute(
                    "INSERT INTO event_keys (event_id, key_id, public_key) VALUES (?1, ?2, ?3)
                     ON CONFLICT (event_id, key_id) DO UPDATE
                     SET public_key = excluded.public_key, retired = 0",
                    params![key.event_id, key.key_id, key.public_key.to_string()],
                )?;
            }
            LogBody::KeyRetired { event_id, key_id } => {
                self.keys_version += 1;
                if let Some(ring) = self.keys.get_mut(event_id) {
                    ring.remove(*event_id, *key_id);
                }
                tx.execute(
                    "UPDATE event_keys SET retired = 1 WHERE event_id = ?1 AND key_id = ?2",
                    params![event_id, key_id],
                )?;
            }
            LogBody::Message { .. } => {}
        }
        insert_entry(tx, now, body)
    }
}

impl Decider {
    /// Applies a settings change (see [`Configure`]).
    fn configure(
        &mut self,
        tx: &Connection,
        change: Configure,
        now: Millis,
    ) -> Result<Option<Logged>> {
        match change {
            Configure::Gate {
                name,
                allowed_types,
            } => {
                let json = serde_json::to_string(&allowed_types).expect("type ids serialise");
                tx.execute(
                    "INSERT INTO gates (name, allowed_types) VALUES (?1, ?2)
                     ON CONFLICT (name) DO UPDATE SET allowed_types = excluded.allowed_types",
                    params![name, json],
                )?;
                self.gates.insert(name, allowed_types);
                Ok(None)
            }
            Configure::SigningKey { key, secret } => {
                let logged = self.append(tx, LogBody::KeyAdded { key }, now)?;
                tx.execute(
                    "UPDATE event_keys SET secret = ?3 WHERE event_id = ?1 AND key_id = ?2",
                    params![key.event_id, key.key_id, &secret[..]],
                )?;
                Ok(Some(logged))
            }
        }
    }
}

/// The alert supervisors get for a conflict: both scans, the official first and this one.
fn conflict_alert(
    tx: &Connection,
    conflict: &Conflict,
    second: &LogEntry,
    now: Millis,
) -> Result<Alert> {
    let first_body: String = tx
        .prepare_cached("SELECT body FROM log WHERE scan_id = ?1")?
        .query_row([conflict.first_scan_id.to_string()], |r| r.get(0))?;
    let scan_of = |body: &LogBody| match body {
        LogBody::Scan { scan, .. } => Some(scan.clone()),
        _ => None,
    };
    let first: LogBody = serde_json::from_str(&first_body)
        .map_err(|e| Error::Corrupt(format!("scan {}: {e}", conflict.first_scan_id)))?;
    let scans: Vec<ScanRecord> = [scan_of(&first), scan_of(&second.body)]
        .into_iter()
        .flatten()
        .collect();
    let holder = match &second.body {
        LogBody::Scan { official, .. } => official.holder.clone(),
        _ => None,
    };
    let second_gate = scans.get(1).map(|s| s.gate.clone()).unwrap_or_default();
    Ok(Alert {
        alert_id: second.seq,
        kind: AlertKind::Conflict,
        at: now,
        text: format!(
            "Ticket {} was admitted twice: first at {} (official), then at {} while it was offline{}.",
            scans.first().and_then(|s| s.ticket_id).map(|t| t.to_string()).unwrap_or_else(|| "?".into()),
            conflict.first_gate,
            second_gate,
            holder.map(|h| format!("; holder {h}")).unwrap_or_default(),
        ),
        scans,
        capacity: None,
    })
}

fn upsert_ticket(tx: &Connection, t: &TicketRecord) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO tickets (event_id, ticket_id, type_id, holder, barcode, valid_from,
                              valid_until, revoked)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (event_id, ticket_id) DO UPDATE SET
            type_id = excluded.type_id, holder = excluded.holder, barcode = excluded.barcode,
            valid_from = excluded.valid_from, valid_until = excluded.valid_until,
            revoked = excluded.revoked",
    )?
    .execute(params![
        t.event_id,
        t.ticket_id,
        t.type_id,
        t.holder,
        t.barcode,
        t.valid_from.map(|m| m.0),
        t.valid_until.map(|m| m.0),
        t.revoked,
    ])?;
    Ok(())
}

/// A scan's code as the writer decides it (signature not yet checked).
fn scan_code(record: &ScanRecord) -> std::result::Result<Code, gerbang_core::CodeError> {
    match Code::parse(&record.code) {
        // The text of an admission by name counts only as the gate made it: a gate refuses
        // that text as forged when it was scanned (anyone could print it), and uploads the
        // scan as it is, so the relay refuses it the same way (PROTOCOL 12.1).
        Ok(Code::Manual { .. }) if record.local == VerdictKind::Forged => {
            Err(gerbang_core::CodeError::ManualScanned)
        }
        other => other,
    }
}

fn lookup_ticket(
    tx: &Connection,
    event_id: u32,
    code: &Result<Code, gerbang_core::CodeError>,
) -> Result<Option<TicketRecord>> {
    // Whole statements as constants: `prepare_cached` finds them without a `format!` per
    // scan.
    macro_rules! columns {
        () => {
            "SELECT event_id, ticket_id, type_id, holder, barcode, valid_from, valid_until, \
             revoked FROM tickets "
        };
    }
    let row = |r: &rusqlite::Row<'_>| {
        Ok(TicketRecord {
            event_id: r.get(0)?,
            ticket_id: r.get(1)?,
            type_id: r.get(2)?,
            holder: r.get(3)?,
            barcode: r.get(4)?,
            valid_from: r.get::<_, Option<i64>>(5)?.map(Millis),
            valid_until: r.get::<_, Option<i64>>(6)?.map(Millis),
            revoked: r.get(7)?,
        })
    };
    Ok(match code {
        Ok(Code::Signed(signed)) => tx
            .prepare_cached(concat!(
                columns!(),
                "WHERE event_id = ?1 AND ticket_id = ?2"
            ))?
            .query_row(
                params![signed.claims.event_id, signed.claims.ticket_id],
                row,
            )
            .optional()?,
        // An admission by name, made by a paired gate whose staff checked the person.
        Ok(Code::Manual {
            event_id: of,
            ticket_id,
        }) if *of == event_id => tx
            .prepare_cached(concat!(
                columns!(),
                "WHERE event_id = ?1 AND ticket_id = ?2"
            ))?
            .query_row(params![event_id, ticket_id], row)
            .optional()?,
        // An opaque code is looked up in this event first, then anywhere, so a ticket of
        // another event is refused as such rather than as unknown.
        Ok(Code::Opaque(text)) => tx
            .prepare_cached(concat!(
                columns!(),
                "WHERE barcode = ?1 ORDER BY event_id = ?2 DESC LIMIT 1"
            ))?
            .query_row(params![text, event_id], row)
            .optional()?,
        // Unreadable, or an admission by name for another event (refused as such).
        _ => None,
    })
}

/// An accepted movement of a ticket, with the scan that made it.
struct Past {
    scan_id: uuid::Uuid,
    movement: Movement,
}

fn history(tx: &Connection, event_id: u32, ticket_id: u32) -> Result<Vec<Past>> {
    let mut stmt = tx.prepare_cached(
        "SELECT scan_id, gate, direction, scanned_at FROM log
         WHERE event_id = ?1 AND ticket_id = ?2
           AND official IN ('admitted', 'exit_recorded')
         ORDER BY seq",
    )?;
    let rows = stmt.query_map(params![event_id, ticket_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    rows.map(|row| {
        let (scan_id, gate, direction, at) = row?;
        Ok(Past {
            scan_id: scan_id
                .parse()
                .map_err(|e| Error::Corrupt(format!("scan id {scan_id:?}: {e}")))?,
            movement: Movement {
                at: Millis(at),
                gate,
                direction: if direction == "exit" {
                    Direction::Exit
                } else {
                    Direction::Entry
                },
            },
        })
    })
    .collect()
}

fn insert_entry(tx: &Connection, now: Millis, body: LogBody) -> Result<Logged> {
    let json = serde_json::to_string(&body).expect("log bodies serialise");
    let kind = body.kind();
    let scan_id;
    let (scan_id, event_id, ticket_id, gate, direction, scanned_at, official, conflict) =
        match &body {
            LogBody::Scan {
                scan,
                official,
                conflict,
                ..
            } => {
                scan_id = scan.scan_id.to_string();
                (
                    Some(scan_id.as_str()),
                    Some(scan.event_id),
                    scan.ticket_id,
                    Some(scan.gate.as_str()),
                    Some(scan.direction.as_str()),
                    Some(scan.at.0),
                    Some(official.kind.as_str()),
                    conflict.is_some(),
                )
            }
            _ => (None, None, None, None, None, None, None, false),
        };
    tx.prepare_cached(
        "INSERT INTO log (at, kind, body, scan_id, event_id, ticket_id, gate, direction,
                          scanned_at, official, conflict)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        now.0, kind, json, scan_id, event_id, ticket_id, gate, direction, scanned_at, official,
        conflict
    ])?;
    Ok(Logged {
        entry: LogEntry {
            seq: tx.last_insert_rowid() as u64,
            at: now,
            body,
        },
        body_json: json,
        alert: None,
    })
}

/// A log entry's JSON object, made from its body's JSON as stored, so a body is encoded once
/// (`serde_json` gives the same text: a test checks).
fn entry_json(entry: &LogEntry, body_json: &str) -> String {
    let (seq, at) = (entry.seq, entry.at.0);
    format!(r#"{{"seq":{seq},"at":{at},"body":{body_json}}}"#)
}

/// A commit's new entries as the messages published to every connection.
fn publishable(logged: Vec<Logged>) -> Vec<Published> {
    let Some(head) = logged.last().map(|l| l.entry.seq) else {
        return Vec::new();
    };
    // Relays refuse scans too large to log (`ws::oversized`) and other entries are small, so
    // every entry fits in a message; should one still not, it alone is left out of the live
    // stream (logged as an error), not the commit's other entries. The envelope around
    // entries (`{"v":1,"type":"entries","entries":[`, `],"head":N}`) is under 64 bytes.
    let (logged, json): (Vec<Logged>, Vec<String>) = logged
        .into_iter()
        .filter_map(|l| {
            let json = entry_json(&l.entry, &l.body_json);
            if json.len() + 64 > protocol::MAX_MESSAGE_BYTES {
                tracing::error!("log entry {} is too large to publish", l.entry.seq);
                return None;
            }
            Some((l, json))
        })
        .unzip();
    let Ok(packed) = protocol::pack_entries(json.iter().map(String::as_str), head) else {
        return Vec::new();
    };
    let mut logged = logged.into_iter();
    packed
        .into_iter()
        .map(|message| {
            let mut entries = Vec::with_capacity(message.entries.len());
            let mut alerts = Vec::new();
            for (range, l) in message.entries.into_iter().zip(logged.by_ref()) {
                entries.push((l.entry.seq, range));
                if let Some(alert) = l.alert {
                    alerts.push(Utf8Bytes::from(protocol::encode_server(
                        &ServerMessage::Alert { alert },
                    )));
                }
            }
            Published {
                entries_json: Utf8Bytes::from(message.text),
                entries,
                alerts,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use gerbang_core::protocol::OperatorMessage;

    use super::*;

    fn message(seq: u64) -> LogEntry {
        LogEntry {
            seq,
            at: Millis(1_795_261_810_000 + seq as i64),
            body: LogBody::Message {
                message: OperatorMessage {
                    message_id: uuid::Uuid::now_v7(),
                    from: format!("Supervisor \"{seq}\""),
                    to: Some("Gerbang B".into()),
                    text: format!("Buka jalur kedua, ya. ✓ ],\"head\":{seq}}}"),
                    at: Millis(1_795_261_810_000),
                },
            },
        }
    }

    fn logged(entries: &[LogEntry]) -> Vec<Logged> {
        entries
            .iter()
            .map(|entry| Logged {
                entry: entry.clone(),
                body_json: serde_json::to_string(&entry.body).unwrap(),
                alert: None,
            })
            .collect()
    }

    /// Live entries are made from the bodies' stored JSON instead of encoding them again; a
    /// commit's messages must be exactly what the protocol's encoder writes.
    #[test]
    fn published_entries_are_what_the_encoder_writes() {
        let entries: Vec<LogEntry> = (41_200..41_203).map(message).collect();
        let published = publishable(logged(&entries));
        let expected = protocol::encode_entries(&entries, 41_202).unwrap();
        let texts: Vec<&str> = published.iter().map(|p| p.entries_json.as_str()).collect();
        assert_eq!(texts, expected);
        assert_eq!(
            (published[0].first_seq(), published[0].last_seq()),
            (41_200, 41_202)
        );
    }

    /// A connection sends each entry after its cursor once, however the waiting messages and
    /// its cursor fall: shared when one message is all new, packed again otherwise.
    #[test]
    fn live_entries_after_the_cursor_are_packed_once_each() {
        let entries: Vec<LogEntry> = (10..20).map(message).collect();
        let waiting: Vec<Arc<Published>> = [&entries[..3], &entries[3..4], &entries[4..]]
            .into_iter()
            .flat_map(|commit| publishable(logged(commit)))
            .map(Arc::new)
            .collect();
        let decoded = |texts: Vec<Utf8Bytes>| -> Vec<LogEntry> {
            texts
                .iter()
                .flat_map(
                    |text| match protocol::decode_server(text.as_str()).unwrap() {
                        ServerMessage::Entries { entries, head } => {
                            assert_eq!(head, 19);
                            entries
                        }
                        other => panic!("{other:?}"),
                    },
                )
                .collect()
        };
        for sent in [0, 9, 10, 12, 13, 15, 18] {
            let want: Vec<LogEntry> = entries.iter().filter(|e| e.seq > sent).cloned().collect();
            assert_eq!(decoded(pack_live(&waiting, sent)), want, "after {sent}");
        }
        assert!(pack_live(&waiting, 19).is_empty());
        // One message, all new: the published bytes themselves.
        let one = pack_live(&waiting[2..], 13);
        assert_eq!(one, vec![waiting[2].entries_json.clone()]);
    }
}
