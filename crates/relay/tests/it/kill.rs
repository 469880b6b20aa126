//! The real binary, killed with SIGKILL while a gate uploads: no acknowledged scan is lost and
//! none is logged twice.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use gerbang_core::protocol::{ClientMessage, LogBody, Role, ServerMessage};
use gerbang_core::{Millis, VerdictKind};
use gerbang_relay::{Config, Location, Relay};

use crate::{scan, seed, Client};

/// The relay binary as a child process, killed when dropped whatever happens to the test.
struct RelayProcess {
    child: Child,
    addr: SocketAddr,
}

impl RelayProcess {
    fn start(data_dir: &Path) -> RelayProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gerbang-relay"))
            .args([
                "--plain",
                "--listen",
                "127.0.0.1:0",
                "--log",
                "warn",
                "--data-dir",
            ])
            .arg(data_dir)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        // The relay prints where it listens once it accepts connections.
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut addr = None;
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix("Gerbang relay listening on ws://") {
                addr = Some(rest.split('/').next().unwrap().parse().unwrap());
                break;
            }
        }
        // Keep reading what it prints, so it never writes into a closed pipe.
        std::thread::spawn(move || lines.for_each(drop));
        RelayProcess {
            child,
            addr: addr.expect("the relay exited before listening"),
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Every scan in the log, by scan id, with its sequence numbers (more than one is a bug).
async fn logged_scans(addr: SocketAddr, token: &str) -> HashMap<uuid::Uuid, Vec<u64>> {
    let mut client = Client::connect(addr).await;
    client.hello(token, 0).await;
    let mut scans: HashMap<uuid::Uuid, Vec<u64>> = HashMap::new();
    loop {
        match client.recv().await {
            ServerMessage::Entries { entries, .. } => {
                for entry in entries {
                    if let LogBody::Scan { scan, .. } = entry.body {
                        scans.entry(scan.scan_id).or_default().push(entry.seq);
                    }
                }
            }
            ServerMessage::CaughtUp { .. } => return scans,
            _ => {}
        }
    }
}

#[tokio::test]
async fn sigkill_mid_stream_loses_no_acknowledged_scan_and_duplicates_none() {
    const SCANS: u32 = 3_000;
    let dir = tempfile::tempdir().unwrap();
    let token = {
        let relay = Relay::open(Config::new(Location::file(
            dir.path().join("relay.sqlite3"),
        )))
        .unwrap();
        seed(&relay).await;
        let (_, token) = relay
            .admin()
            .create_device("Gerbang A", Role::Gate)
            .unwrap();
        relay.close().await;
        token
    };
    let records: Vec<_> = (0..SCANS)
        .map(|i| {
            scan(
                100 + i,
                "Gerbang A",
                Millis(1_795_262_400_000 + i64::from(i)),
                VerdictKind::Admitted,
            )
        })
        .collect();

    // Upload everything pipelined and kill the relay after the first few hundred acks.
    let mut relay = RelayProcess::start(dir.path());
    let mut acked: HashMap<uuid::Uuid, u64> = HashMap::new();
    {
        let mut gate = Client::connect(relay.addr).await;
        gate.hello(&token, 0).await;
        gate.until(|m| matches!(m, ServerMessage::CaughtUp { .. }))
            .await;
        for record in &records {
            gate.send(&ClientMessage::Scan {
                scan: record.clone(),
            })
            .await;
        }
        while let Some(message) = gate.try_recv().await {
            if let ServerMessage::Ack { scan_id, seq, .. } = message {
                acked.insert(scan_id, seq);
                if acked.len() == 300 {
                    relay.kill();
                }
            }
        }
    }
    assert!(
        acked.len() >= 300 && acked.len() < SCANS as usize,
        "killed mid-stream: {} acks",
        acked.len()
    );

    // After a restart every acknowledged scan is there, once, under the same sequence number.
    let relay = RelayProcess::start(dir.path());
    let logged = logged_scans(relay.addr, &token).await;
    for (scan_id, seq) in &acked {
        assert_eq!(
            logged.get(scan_id),
            Some(&vec![*seq]),
            "acked scan {scan_id}"
        );
    }
    assert!(logged.values().all(|seqs| seqs.len() == 1));

    // The gate uploads its whole outbox again, as it would after reconnecting: every scan ends
    // up logged exactly once, and the ones acked before the kill keep their sequence numbers.
    let mut gate = Client::connect(relay.addr).await;
    gate.hello(&token, 0).await;
    gate.until(|m| matches!(m, ServerMessage::CaughtUp { .. }))
        .await;
    for record in &records {
        gate.send(&ClientMessage::Scan {
            scan: record.clone(),
        })
        .await;
    }
    let mut acks = 0;
    while acks < SCANS {
        if let ServerMessage::Ack { scan_id, seq, .. } = gate.recv().await {
            acks += 1;
            if let Some(before) = acked.get(&scan_id) {
                assert_eq!(
                    *before, seq,
                    "re-upload of {scan_id} changed its sequence number"
                );
            }
        }
    }
    let logged = logged_scans(relay.addr, &token).await;
    assert_eq!(logged.len(), SCANS as usize);
    assert!(logged.values().all(|seqs| seqs.len() == 1));
}
