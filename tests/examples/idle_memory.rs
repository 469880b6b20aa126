//! What an idle gate connection costs the relay in memory, over TLS and plain side by side: the
//! real `gerbang-relay` binary in its own process, N gates connected from this one (each said
//! `hello`, was caught up, and pings every 2 s as gates do), the relay's resident memory
//! (`VmRSS`) read before and after.
//!
//! ```text
//! cargo run --release -p gerbang-e2e --example idle_memory [CONNECTIONS]   # default 2000
//! ```

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use gerbang_core::protocol::{self, ClientMessage, Role, ServerMessage};
use gerbang_e2e::process::RelayProcess;
use gerbang_gate::sync::transport::Transport;
use gerbang_relay::{Config, Location, Relay};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let connections: usize = std::env::args()
        .nth(1)
        .map_or(2_000, |a| a.parse().unwrap());
    for tls in [true, false] {
        let per_connection = measure(connections, tls).await;
        println!(
            "{}: {connections} idle connections, {:.1} KiB each",
            if tls { "TLS  " } else { "plain" },
            per_connection / 1024.0
        );
    }
}

/// The relay's memory per idle connection, in bytes.
async fn measure(connections: usize, tls: bool) -> f64 {
    let data = tempfile::tempdir().unwrap();
    // Devices made beforehand, straight in the database (a device may hold only a few
    // connections, so each connection is a device of its own).
    let relay = Relay::open(Config::new(Location::file(
        data.path().join("relay.sqlite3"),
    )))
    .unwrap();
    let admin = relay.admin();
    let tokens: Vec<String> = (0..connections)
        .map(|i| {
            admin
                .create_device(&format!("Pintu {i}"), Role::Gate)
                .unwrap()
                .1
        })
        .collect();
    relay.close().await;

    let process = if tls {
        RelayProcess::start_tls(data.path())
    } else {
        RelayProcess::start(data.path())
    };
    let scheme = if tls { "wss" } else { "ws" };
    let transport = Transport::new(
        &format!("{scheme}://{}", process.addr),
        process.fingerprint.as_deref(),
    )
    .unwrap();
    let pid = process.child.id();

    // Warm up: a few connections opened and closed, so that what the runtime and the
    // allocator set up once is not counted per connection.
    let (stop, _) = tokio::sync::watch::channel(false);
    for token in tokens.iter().take(20) {
        drop(idle_gate(transport.clone(), token.clone(), stop.subscribe()).await);
    }
    settle().await;
    let before = rss(pid);

    let (stop, _) = tokio::sync::watch::channel(false);
    let mut holding = Vec::new();
    for token in &tokens {
        // Connected and caught up before the next one starts.
        let caught_up = idle_gate(transport.clone(), token.clone(), stop.subscribe()).await;
        holding.push(tokio::spawn(caught_up));
    }
    settle().await;
    let after = rss(pid);
    stop.send_replace(true);
    for task in holding {
        let _ = task.await;
    }
    drop(process);
    (after - before) as f64 / connections as f64
}

/// Connects a gate, says hello and reads through `caught_up`; the returned future keeps the
/// gate idle (a ping every 2 s) until `stop`.
async fn idle_gate(
    transport: Transport,
    token: String,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> impl std::future::Future<Output = ()> {
    let config = WebSocketConfig::default().max_message_size(Some(protocol::MAX_MESSAGE_BYTES));
    let socket = transport.connect(config).await.unwrap();
    let (mut sink, mut stream) = socket.split();
    let hello = ClientMessage::Hello {
        token: token.into(),
        cursor: 0,
        device_name: "idle".into(),
        app_version: "0".into(),
    };
    sink.send(Message::text(protocol::encode_client(&hello)))
        .await
        .unwrap();
    loop {
        let Some(Ok(Message::Text(text))) = stream.next().await else {
            panic!("the relay closed the connection before caught_up");
        };
        if let Ok(ServerMessage::CaughtUp { .. }) = protocol::decode_server(text.as_str()) {
            break;
        }
    }
    async move {
        let mut nonce = 0;
        let mut tick = tokio::time::interval(protocol::PING_INTERVAL);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    nonce += 1;
                    let ping = protocol::encode_client(&ClientMessage::Ping { nonce });
                    if sink.send(Message::text(ping)).await.is_err() {
                        return;
                    }
                }
                frame = stream.next() => if frame.is_none() { return },
                _ = stop.changed() => return,
            }
        }
    }
}

/// Lets the relay finish what the last connections started (a benchmark's pause, not a
/// test's synchronisation).
async fn settle() {
    tokio::time::sleep(Duration::from_secs(2)).await;
}

/// The resident memory of process `pid`, in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}
