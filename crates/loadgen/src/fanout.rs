//! Fan-out latency: the time from a gate sending a scan to every other gate receiving its log
//! entry, with many gates connected and scans arriving at a steady rate spread over them.
//!
//! Every time is read from one clock (this process's monotonic clock): a gate's task notes
//! the time just before it writes a scan, every gate's task the time it reads each entry.
//! Matching them needs the scan's `seq`, which the sending gate learns from its ack.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use gerbang_core::protocol::{self, ClientMessage, ScanRecord, ServerMessage};
use gerbang_core::{Direction, Millis, VerdictKind};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use crate::gate::{self, Frame};
use crate::percentiles::Percentiles;
use crate::process;
use crate::target::Target;
use crate::{Error, Result};

/// How to load the relay.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Gates connected; each sends scans and receives everyone's.
    pub gates: usize,
    /// Scans a second, over all gates (each scan from the next gate in turn).
    pub rate: f64,
    /// How long scans are sent and measured.
    pub duration: Duration,
    /// Sent before, at the same rate, and not measured (connections and caches warm up).
    pub warmup: Duration,
}

impl Plan {
    /// Scans sent in all, the warm-up's included: one ticket each.
    pub fn scans(&self) -> usize {
        (self.rate * (self.warmup + self.duration).as_secs_f64()).round() as usize
    }
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Spread {
    /// Scans measured (sent after the warm-up).
    pub scans: usize,
    /// Each (scan, other gate) pair: from the scan sent to that gate reading its entry.
    pub deliveries: Percentiles,
    /// Each scan: from sent to the last of the other gates reading its entry.
    pub all_gates: Percentiles,
    /// Sent to ack (the scan durable and its ack read by its gate).
    pub acks: Percentiles,
    /// Deliveries that never came (a gate that did not receive a scan's entry).
    pub missing: usize,
    /// The rate scans were actually sent at, over the measured part.
    pub achieved_rate: f64,
    /// The relay process's CPU time over the whole run, and the run's length, when its
    /// process is known and not this one.
    pub relay_cpu: Option<(process::Cpu, Duration)>,
}

/// What one gate's task noted, in microseconds since the common start.
#[derive(Default)]
struct Notes {
    /// (scan id, sent at).
    sent: Vec<(uuid::Uuid, u64)>,
    /// (scan id, seq, ack read at).
    acked: Vec<(uuid::Uuid, u64, u64)>,
    /// (seq, read at), in `seq` order.
    received: Vec<(u64, u32)>,
}

/// Runs `plan` with gate `i` using `tokens[i]` and every scan a ticket of `codes`.
pub async fn run(
    target: &Target,
    event_id: u32,
    tokens: &[String],
    codes: &[String],
    plan: Plan,
) -> Result<Spread> {
    let total = plan.scans();
    if tokens.len() < plan.gates || codes.len() < total || plan.gates < 2 {
        return Err(Error::Setup(format!(
            "fan-out over {} gates needs at least 2 gates, {} device tokens and {total} tickets; \
             {} and {} were given",
            plan.gates,
            plan.gates,
            tokens.len(),
            codes.len()
        )));
    }
    let head = target.head().await?;
    let mut links = Vec::with_capacity(plan.gates);
    for token in &tokens[..plan.gates] {
        links.push(gate::connect(target, token, head).await?);
    }

    let cpu_before = target.pid.map(process::cpu).transpose()?;
    let t0 = Instant::now();
    let (stop, stopped) = watch::channel(false);
    let received: Arc<Vec<AtomicUsize>> =
        Arc::new((0..plan.gates).map(|_| AtomicUsize::new(0)).collect());
    let acked = Arc::new(AtomicUsize::new(0));
    let mut outboxes = Vec::with_capacity(plan.gates);
    let mut tasks = Vec::with_capacity(plan.gates);
    for (g, link) in links.into_iter().enumerate() {
        let (outbox, scans) = mpsc::unbounded_channel();
        outboxes.push(outbox);
        tasks.push(tokio::spawn(gate_task(
            link,
            g,
            scans,
            t0,
            stopped.clone(),
            Arc::clone(&received),
            Arc::clone(&acked),
        )));
    }

    // The schedule: scan i is due at t0 + i / rate, from gate i mod gates.
    let now = Millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as i64,
    );
    for (i, code) in codes[..total].iter().enumerate() {
        let g = i % plan.gates;
        let scan = ScanRecord {
            scan_id: uuid::Uuid::now_v7(),
            event_id,
            code: code.clone(),
            ticket_id: None,
            gate: format!("Gerbang {g}"),
            direction: Direction::Entry,
            at: now,
            local: VerdictKind::Admitted,
        };
        let id = scan.scan_id;
        let text = protocol::encode_client(&ClientMessage::Scan { scan });
        tokio::time::sleep_until((t0 + Duration::from_secs_f64(i as f64 / plan.rate)).into()).await;
        if outboxes[g].send((id, text)).is_err() {
            break;
        }
    }
    drop(outboxes);

    // Wait (a benchmark's wait, with a deadline) until every scan is acknowledged and every
    // gate has read every entry, or report what is missing.
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline
        && (acked.load(Ordering::Relaxed) < total
            || received.iter().any(|r| r.load(Ordering::Relaxed) < total))
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send_replace(true);
    let relay_cpu = match (target.pid, cpu_before) {
        (Some(pid), Some(before)) => Some((process::cpu(pid)?.since(before), t0.elapsed())),
        _ => None,
    };
    let mut notes = Vec::with_capacity(plan.gates);
    for task in tasks {
        notes.push(
            task.await
                .map_err(|e| Error::Protocol(format!("a gate task failed: {e}")))??,
        );
    }
    let mut spread = summarise(&notes, plan, total);
    spread.relay_cpu = relay_cpu;
    Ok(spread)
}

/// Matches sends, acks and receipts.
fn summarise(notes: &[Notes], plan: Plan, total: usize) -> Spread {
    let warmup = plan.warmup.as_micros() as u64;
    let mut seq_of = std::collections::HashMap::with_capacity(total);
    let mut acks = Vec::new();
    let sent_at: std::collections::HashMap<uuid::Uuid, u64> =
        notes.iter().flat_map(|n| n.sent.iter().copied()).collect();
    for (g, n) in notes.iter().enumerate() {
        for &(id, seq, at) in &n.acked {
            seq_of.insert(id, (g, seq));
            if let Some(&sent) = sent_at.get(&id) {
                if sent >= warmup {
                    acks.push(at.saturating_sub(sent));
                }
            }
        }
    }
    let (lo, hi) = seq_of
        .values()
        .fold((u64::MAX, 0), |(lo, hi), &(_, s)| (lo.min(s), hi.max(s)));
    // Per gate, the time each seq was read, indexed by seq - lo.
    let width = if hi >= lo { (hi - lo + 1) as usize } else { 0 };
    let read_at: Vec<Vec<u32>> = notes
        .iter()
        .map(|n| {
            let mut at = vec![u32::MAX; width];
            for &(seq, t) in &n.received {
                if (lo..=hi).contains(&seq) {
                    at[(seq - lo) as usize] = t;
                }
            }
            at
        })
        .collect();
    let mut deliveries = Vec::new();
    let mut all_gates = Vec::new();
    let mut missing = 0;
    let (mut first, mut last, mut measured) = (u64::MAX, 0, 0);
    for (id, &(sender, seq)) in &seq_of {
        let sent = sent_at[id];
        if sent < warmup {
            continue;
        }
        measured += 1;
        first = first.min(sent);
        last = last.max(sent);
        let mut slowest = 0;
        let mut complete = true;
        for (g, at) in read_at.iter().enumerate() {
            if g == sender {
                continue;
            }
            match at[(seq - lo) as usize] {
                u32::MAX => {
                    missing += 1;
                    complete = false;
                }
                t => {
                    let took = u64::from(t).saturating_sub(sent);
                    slowest = slowest.max(took);
                    deliveries.push(took);
                }
            }
        }
        if complete {
            all_gates.push(slowest);
        }
    }
    // Scans never acknowledged cannot be matched: each counts as missing everywhere.
    missing += (total - seq_of.len()) * (plan.gates - 1);
    let span = Duration::from_micros(last.saturating_sub(first)).as_secs_f64();
    Spread {
        scans: measured,
        deliveries: Percentiles::of_micros(&mut deliveries),
        all_gates: Percentiles::of_micros(&mut all_gates),
        acks: Percentiles::of_micros(&mut acks),
        missing,
        achieved_rate: if span > 0.0 {
            (measured.saturating_sub(1)) as f64 / span
        } else {
            0.0
        },
        relay_cpu: None,
    }
}

/// One gate: sends what the schedule gives it, reads everything, pings every 2 s.
async fn gate_task(
    link: gate::Connected,
    g: usize,
    mut scans: mpsc::UnboundedReceiver<(uuid::Uuid, String)>,
    t0: Instant,
    mut stop: watch::Receiver<bool>,
    received: Arc<Vec<AtomicUsize>>,
    acked: Arc<AtomicUsize>,
) -> Result<Notes> {
    let gate::Connected {
        mut sink,
        mut stream,
        ..
    } = link;
    let micros = || t0.elapsed().as_micros() as u64;
    let mut notes = Notes::default();
    let mut ping = tokio::time::interval(protocol::PING_INTERVAL);
    let mut nonce = 0;
    let mut sending = true;
    loop {
        tokio::select! {
            biased;
            frame = stream.next() => {
                let text = match frame {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(frame))) => {
                        return Err(Error::Protocol(format!("gate {g}: the relay closed the connection: {frame:?}")))
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(Error::Protocol(format!("gate {g}: {e}"))),
                    None => return Err(Error::Protocol(format!("gate {g}: the connection ended"))),
                };
                let at = micros();
                match gate::classify(text.as_str())? {
                    Frame::Entries(seqs) => {
                        received[g].fetch_add(seqs.len(), Ordering::Relaxed);
                        notes.received.extend(seqs.into_iter().map(|s| (s, at as u32)));
                    }
                    Frame::Other(ServerMessage::Ack { scan_id, seq, .. }) => {
                        notes.acked.push((scan_id, seq, at));
                        acked.fetch_add(1, Ordering::Relaxed);
                    }
                    Frame::Other(ServerMessage::Error { code, message }) => {
                        return Err(Error::Protocol(format!("gate {g}: the relay refused ({code:?}): {message}")))
                    }
                    Frame::Stats | Frame::Other(_) => {}
                }
            }
            scan = scans.recv(), if sending => match scan {
                Some((id, text)) => {
                    notes.sent.push((id, micros()));
                    sink.send(Message::text(text)).await
                        .map_err(|e| Error::Protocol(format!("gate {g}: sending failed: {e}")))?;
                }
                None => sending = false,
            },
            _ = ping.tick() => {
                nonce += 1;
                let text = protocol::encode_client(&ClientMessage::Ping { nonce });
                sink.send(Message::text(text)).await
                    .map_err(|e| Error::Protocol(format!("gate {g}: sending failed: {e}")))?;
            }
            _ = stop.changed() => break,
        }
    }
    let _ = sink.close().await;
    Ok(notes)
}
