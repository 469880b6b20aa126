//! Memory per idle connection: the relay's resident memory (`VmRSS` of its process, from
//! `/proc`) before and after many gates connect, say hello, are caught up and then only ping
//! every 2 s, as idle gates do. Needs the relay in a process of its own, so that this
//! process's own connections are not counted.

use std::time::Duration;

use futures_util::{stream, SinkExt, StreamExt, TryStreamExt};
use gerbang_core::protocol::{self, ClientMessage};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::target::Target;
use crate::{gate, process};
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
    let before = process::rss(pid)?;

    let (stop, stopped) = watch::channel(false);
    // Each gate pings from the moment it is connected: the relay drops a link silent for 5 s,
    // and connecting thousands takes longer than that.
    let holding: Vec<_> = stream::iter(0..connections)
        .map(|i| {
            let stopped = stopped.clone();
            async move {
                let link = gate::connect(target, &tokens[i / per_device], head).await?;
                Ok::<_, Error>(tokio::spawn(stay_idle(link, stopped)))
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    tokio::time::sleep(settle).await;
    let after = process::rss(pid)?;
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
