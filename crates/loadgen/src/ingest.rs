//! Durable ingest: how many scans a second the relay takes in, each acknowledged only once it
//! is on disk, when several gates upload with many scans in flight (group commit: one commit
//! and fsync serve everything queued meanwhile), against one gate uploading one scan at a time
//! (stop-and-wait: every scan its own commit and fsync). Every scan is a different ticket, so
//! each is a real admission.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use gerbang_core::protocol::{self, ClientMessage, ScanRecord, ServerMessage};
use gerbang_core::{Direction, Millis, VerdictKind};
use tokio::sync::{mpsc, Barrier, Semaphore};
use tokio_tungstenite::tungstenite::Message;

use crate::gate::{self, Frame};
use crate::process;
use crate::target::Target;
use crate::{Error, Result};

/// How to load the relay.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Gate connections uploading at once.
    pub gates: usize,
    /// Scans each gate keeps in flight (unacknowledged) at most; 1 is stop-and-wait. The
    /// Gerbang gate uses 256.
    pub window: usize,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Ingested {
    pub scans: usize,
    /// From the first scan sent to the last ack received.
    pub elapsed: Duration,
    /// Acks received, each matched to its scan exactly once (in upload order, per gate).
    pub acks: usize,
    /// Acks by official verdict (`admitted`, ...).
    pub verdicts: BTreeMap<&'static str, usize>,
    /// The relay's CPU time over the run, when its process is known and not this one.
    pub relay_cpu: Option<process::Cpu>,
}

impl Ingested {
    pub fn per_second(&self) -> f64 {
        self.scans as f64 / self.elapsed.as_secs_f64()
    }

    /// The relay's CPU time per scan: the whole process, and its writer thread alone.
    pub fn cpu_per_scan(&self) -> Option<(Duration, Duration)> {
        let cpu = self.relay_cpu?;
        let n = u32::try_from(self.scans.max(1)).unwrap_or(u32::MAX);
        Some((cpu.process / n, cpu.writer / n))
    }
}

/// Uploads one scan of each code in `codes` (spread round robin over `load.gates` gates, with
/// `tokens[i]` for gate `i`) and waits for every ack.
pub async fn run(
    target: &Target,
    event_id: u32,
    tokens: &[String],
    codes: &[String],
    load: Load,
) -> Result<Ingested> {
    if tokens.len() < load.gates {
        return Err(Error::Setup(format!(
            "{} gates need {} device tokens; {} were given",
            load.gates,
            load.gates,
            tokens.len()
        )));
    }
    let head = target.head().await?;
    let mut connected = Vec::with_capacity(load.gates);
    for token in &tokens[..load.gates] {
        connected.push(gate::connect(target, token, head).await?);
    }
    // The scans are encoded before the clock starts: a gate has them in its outbox already.
    let now = Millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as i64,
    );
    let mut uploads: Vec<Vec<(uuid::Uuid, String)>> = vec![Vec::new(); load.gates];
    for (i, code) in codes.iter().enumerate() {
        let g = i % load.gates;
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
        uploads[g].push((id, protocol::encode_client(&ClientMessage::Scan { scan })));
    }

    let start = Arc::new(Barrier::new(load.gates + 1));
    let mut tasks = Vec::with_capacity(load.gates);
    for (link, scans) in connected.into_iter().zip(uploads) {
        tasks.push(tokio::spawn(upload(
            link,
            scans,
            load.window,
            Arc::clone(&start),
        )));
    }
    let cpu_before = target.pid.map(process::cpu).transpose()?;
    start.wait().await;
    let began = Instant::now();
    let mut verdicts = BTreeMap::new();
    let mut acks = 0;
    for task in tasks {
        let counted = task
            .await
            .map_err(|e| Error::Protocol(format!("a gate task failed: {e}")))??;
        for (kind, n) in counted {
            *verdicts.entry(kind).or_default() += n;
            acks += n;
        }
    }
    let elapsed = began.elapsed();
    let relay_cpu = match (target.pid, cpu_before) {
        (Some(pid), Some(before)) => Some(process::cpu(pid)?.since(before)),
        _ => None,
    };
    Ok(Ingested {
        scans: codes.len(),
        elapsed,
        acks,
        verdicts,
        relay_cpu,
    })
}

/// One gate: sends its scans with at most `window` unacknowledged, and matches each ack to the
/// oldest scan in flight (the relay acks in upload order). Returns the acks by verdict.
async fn upload(
    link: gate::Connected,
    scans: Vec<(uuid::Uuid, String)>,
    window: usize,
    start: Arc<Barrier>,
) -> Result<BTreeMap<&'static str, usize>> {
    let gate::Connected {
        mut sink,
        mut stream,
        ..
    } = link;
    let total = scans.len();
    let permits = Arc::new(Semaphore::new(window.max(1)));
    // Scan ids in upload order, from the sender to the reader.
    let (in_flight, mut expected) = mpsc::unbounded_channel::<uuid::Uuid>();
    start.wait().await;

    let sender = {
        let permits = Arc::clone(&permits);
        async move {
            let mut nonce = 0;
            for (scan_id, text) in scans {
                if let Ok(permit) = permits.try_acquire() {
                    permit.forget();
                } else {
                    // The window is full: put what is queued on the wire, then wait for an
                    // ack, pinging as a gate does so the relay never thinks the link dead.
                    sink.flush().await.map_err(send_failed)?;
                    loop {
                        match tokio::time::timeout(protocol::PING_INTERVAL, permits.acquire()).await
                        {
                            Ok(permit) => {
                                permit.expect("the semaphore is never closed").forget();
                                break;
                            }
                            Err(_) => {
                                nonce += 1;
                                let ping = protocol::encode_client(&ClientMessage::Ping { nonce });
                                sink.send(Message::text(ping)).await.map_err(send_failed)?;
                            }
                        }
                    }
                }
                let _ = in_flight.send(scan_id);
                sink.feed(Message::text(text)).await.map_err(send_failed)?;
            }
            sink.flush().await.map_err(send_failed)?;
            Ok::<_, Error>(sink)
        }
    };

    let reader = async move {
        let mut verdicts: BTreeMap<&'static str, usize> = BTreeMap::new();
        let mut acked = 0;
        while acked < total {
            let text = match stream.next().await {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Close(frame))) => {
                    return Err(Error::Protocol(format!(
                        "the relay closed the connection with {acked} of {total} scans acknowledged: {frame:?}"
                    )))
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(Error::Protocol(e.to_string())),
                None => {
                    return Err(Error::Protocol(format!(
                        "the connection ended with {acked} of {total} scans acknowledged"
                    )))
                }
            };
            if !gate::may_be_ack(text.as_str()) {
                continue;
            }
            match gate::classify(text.as_str())? {
                Frame::Other(ServerMessage::Ack {
                    scan_id, official, ..
                }) => {
                    let want = expected.try_recv().map_err(|_| {
                        Error::Protocol(format!("an ack for scan {scan_id}, which was not sent"))
                    })?;
                    if want != scan_id {
                        return Err(Error::Protocol(format!(
                            "an ack for scan {scan_id} where {want} was next: acks out of order or twice"
                        )));
                    }
                    *verdicts.entry(official.kind.as_str()).or_default() += 1;
                    acked += 1;
                    permits.add_permits(1);
                }
                Frame::Other(ServerMessage::Error { code, message }) => {
                    return Err(Error::Protocol(format!(
                        "the relay refused ({code:?}): {message}"
                    )))
                }
                _ => {}
            }
        }
        if let Ok(extra) = expected.try_recv() {
            return Err(Error::Protocol(format!(
                "scan {extra} was never acknowledged"
            )));
        }
        Ok(verdicts)
    };

    // The first failure ends both halves: a reader waiting for acks that will never come
    // would otherwise wait forever.
    let (mut sink, verdicts) = tokio::try_join!(sender, reader)?;
    let _ = sink.close().await;
    Ok(verdicts)
}

fn send_failed(e: tokio_tungstenite::tungstenite::Error) -> Error {
    Error::Protocol(format!("sending to the relay failed: {e}"))
}
