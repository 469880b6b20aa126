//! Memory per idle connection: the relay's resident memory (`VmRSS` of its process, from
//! `/proc`) before and after many gates connect, say hello, are caught up and then only ping
//! every 2 s, as idle gates do. Needs the relay in a process of its own, so that this
//! process's own connections are not counted.

use std::time::Duration;

use futures_util::{stream, SinkExt, StreamExt, TryStreamExt};
use gerbang_core::protocol::{self, ClientMessage};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::gate;
use crate::target::Target;
use crate::{Error, Result};

/// Connections opened and closed before the first reading, so that what the relay sets up
/// once (runtime workers, allocator arenas, statement caches) is not counted per connection.
const WARM_UP: usize = 20;
/// Connections being set up at once.
const CONCURRENCY: usize = 16;

/// What a run measured.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    pub connections: usize,
    /// The relay's resident memory before and after, in bytes.
    pub before: u64,
    pub after: u64,
}

impl Measured {
    /// Bytes per connection.
    pub fn per_connection(&self) -> f64 {
        (self.after as f64 - self.before as f64) / self.connections as f64
    }
}

/// Connects `connections` idle gates (connection `i` with `tokens[i / per_device]`; the
/// relay allows a device 4 connections), reads the relay's memory before and after, letting
/// it `settle` each time (a benchmark's pause, not a synchronisation), then disconnects them.
pub async fn run(
    target: &Target,
    tokens: &[String],
    connections: usize,
    per_device: usize,
    settle: Duration,
) -> Result<Measured> {
    let pid = target.pid.ok_or_else(|| {
        Error::Setup(
            "measuring memory needs the relay in its own process: let gerbang-loadgen start \
             the gerbang-relay binary (--spawn), or give --relay-pid"
                .into(),
        )
    })?;
    let per_device = per_device.max(1);
    if tokens.len() * per_device < connections {
        return Err(Error::Setup(format!(
            "{connections} connections at {per_device} per device need {} device tokens; {} \
             were given",
            connections.div_ceil(per_device),
            tokens.len()
        )));
    }
    let head = target.head().await?;
    for token in tokens.iter().take(WARM_UP) {
        let link = gate::connect(target, token, head).await?;
        drop(link);
    }
    tokio::time::sleep(settle).await;
    let before = rss(pid)?;

    let (stop, stopped) = watch::channel(false);
    let links: Vec<gate::Connected> = stream::iter(0..connections)
        .map(|i| gate::connect(target, &tokens[i / per_device], head))
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    let holding: Vec<_> = links
        .into_iter()
        .map(|link| tokio::spawn(stay_idle(link, stopped.clone())))
        .collect();
    tokio::time::sleep(settle).await;
    let after = rss(pid)?;
    stop.send_replace(true);
    let mut ended_early = 0;
    for task in holding {
        if !task.await.unwrap_or(false) {
            ended_early += 1;
        }
    }
    if ended_early > 0 {
        return Err(Error::Protocol(format!(
            "{ended_early} of {connections} idle connections were closed by the relay before \
             the measurement ended"
        )));
    }
    Ok(Measured {
        connections,
        before,
        after,
    })
}

/// An idle gate: pings every 2 s and reads what comes, until `stop`. True if it was still
/// connected then.
async fn stay_idle(link: gate::Connected, mut stop: watch::Receiver<bool>) -> bool {
    let gate::Connected {
        mut sink,
        mut stream,
        ..
    } = link;
    let mut tick = tokio::time::interval(protocol::PING_INTERVAL);
    let mut nonce = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                nonce += 1;
                let ping = protocol::encode_client(&ClientMessage::Ping { nonce });
                if sink.send(Message::text(ping)).await.is_err() {
                    return false;
                }
            }
            frame = stream.next() => match frame {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return false,
                Some(Ok(_)) => {}
            },
            _ = stop.changed() => {
                let _ = sink.close().await;
                return true;
            }
        }
    }
}

/// The resident memory of process `pid`, in bytes.
pub fn rss(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status =
        std::fs::read_to_string(&path).map_err(|e| Error::Memory(format!("{path}: {e}")))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kib| kib * 1024)
        .ok_or_else(|| Error::Memory(format!("{path} has no VmRSS line")))
}
