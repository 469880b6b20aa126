//! Scenarios 4 and 5: a process dies (SIGKILL) in the middle of the work. The real binaries.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;

use gerbang_core::pairing::PairingLink;
use gerbang_core::protocol::{LogBody, Role};
use gerbang_e2e::process::{binary, RelayProcess};
use gerbang_e2e::proxy::FaultProxy;
use gerbang_e2e::{code, eventually, TestRelay, DEADLINE};
use gerbang_gate::sync::{SyncConfig, SyncEngine};
use gerbang_gate::Store;
use gerbang_relay::{Config, Location, Relay};
use uuid::Uuid;

/// Scan ids in a relay database's log, with their seq; panics if one is there twice.
fn logged_scans(data_dir: &std::path::Path) -> BTreeMap<Uuid, u64> {
    let relay = Relay::open(Config::new(Location::file(data_dir.join("relay.sqlite3")))).unwrap();
    let mut scans = BTreeMap::new();
    for entry in relay.reader().entries_after(0, usize::MAX).unwrap() {
        if let LogBody::Scan { scan, .. } = entry.body {
            assert!(
                scans.insert(scan.scan_id, entry.seq).is_none(),
                "scan {} twice",
                scan.scan_id
            );
        }
    }
    scans
}

/// Scenario 4.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_killed_and_restarted_while_gates_upload_loses_and_duplicates_nothing() {
    const GATES: usize = 3;
    const SCANS: u32 = 300;
    let data = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(data.path());
    let admin = RelayProcess::admin_token(data.path());
    let http = reqwest::Client::new();
    let base = format!("http://{}", relay.addr);
    let created = http
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(&admin)
        .json(&gerbang_e2e::event())
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{:?}", created.text().await);

    // Gates pair over HTTP with codes from the admin API, through their proxies.
    let dir = tempfile::tempdir().unwrap();
    let mut gates = Vec::new();
    for g in 0..GATES {
        let answer: serde_json::Value = http
            .post(format!("{base}/api/v1/pairing-codes"))
            .bearer_auth(&admin)
            .json(&serde_json::json!({"role": "gate"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let proxy = FaultProxy::start(relay.addr).await;
        let store = Arc::new(Store::open(dir.path().join(format!("gate{g}.sqlite3"))).unwrap());
        let link = PairingLink::new(&proxy.relay_url(), answer["code"].as_str().unwrap()).unwrap();
        gerbang_gate::sync::pairing::pair(&store, &link, &format!("Pintu {g}"))
            .await
            .unwrap();
        store
            .set_gate_rules(&gerbang_core::GateRules {
                gate: format!("Pintu {g}"),
                direction: gerbang_core::Direction::Entry,
                allowed_types: vec![],
            })
            .unwrap();
        let mut config = SyncConfig::new(store.pairing().unwrap().unwrap());
        config.backoff.max = std::time::Duration::from_millis(300);
        let engine = SyncEngine::start(Arc::clone(&store), config);
        let mut status = engine.status();
        tokio::time::timeout(
            DEADLINE,
            status.wait_for(|s| s.state == gerbang_gate::sync::LinkState::Online),
        )
        .await
        .unwrap()
        .unwrap();
        gates.push((store, engine, proxy));
    }

    // Every gate scans its own tickets; the relay dies a third of the way through.
    let mut relay = Some(relay);
    let mut ids = BTreeSet::new();
    let mut acked_before_kill = BTreeMap::new();
    for i in 0..SCANS {
        for (g, (store, engine, _)) in gates.iter().enumerate() {
            let ticket = i * GATES as u32 + g as u32 + 1;
            let outcome = store
                .record_scan(&code(ticket), gerbang_gate::sync::system_clock())
                .unwrap();
            engine.scan_recorded(&outcome);
            ids.insert(outcome.scan_id);
        }
        if i == SCANS / 3 {
            for (store, _, _) in &gates {
                for scan in store.recent_scans(usize::MAX).unwrap() {
                    if let Some(seq) = scan.seq {
                        acked_before_kill.insert(scan.scan_id, seq);
                    }
                }
            }
            relay.take().unwrap().kill();
            let restarted = RelayProcess::start(data.path());
            for (_, _, proxy) in &gates {
                proxy.retarget(restarted.addr);
            }
            relay = Some(restarted);
        }
        tokio::task::yield_now().await;
    }
    assert!(
        !acked_before_kill.is_empty(),
        "some scans were acknowledged before the kill"
    );

    // The gates reconnect by themselves and drain their outboxes.
    for (store, _, _) in &gates {
        let store = Arc::clone(store);
        eventually("every outbox to drain", move || {
            store.outbox_depth().unwrap() == 0
        })
        .await;
    }
    for (_, engine, _) in gates.drain(..) {
        engine.stop().await;
    }
    relay.take().unwrap().kill();

    let logged = logged_scans(data.path());
    assert_eq!(logged.len(), ids.len(), "every scan once");
    assert_eq!(logged.keys().copied().collect::<BTreeSet<_>>(), ids);
    for (scan_id, seq) in &acked_before_kill {
        assert_eq!(
            logged.get(scan_id),
            Some(seq),
            "an acknowledged scan kept its place"
        );
    }
}

/// Scenario 5.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_process_killed_mid_scan_drains_its_outbox_after_restart() {
    let relay = TestRelay::start().await;
    let data = tempfile::tempdir().unwrap();
    let gate = |args: &[&str]| {
        let mut command = Command::new(binary("gerbang-gate"));
        command
            .arg("--data-dir")
            .arg(data.path())
            .args(["--gate", "Pintu K", "--json"])
            .args(args);
        command
    };
    let pairing_code = relay.admin.create_pairing_code(Role::Gate).unwrap();
    let relay_url = format!("ws://{}", relay.addr);
    let paired = tokio::task::spawn_blocking({
        let mut pair = gate(&["pair", "--relay", &relay_url, &pairing_code]);
        move || pair.output().unwrap()
    })
    .await
    .unwrap();
    assert!(
        paired.status.success(),
        "{}",
        String::from_utf8_lossy(&paired.stderr)
    );

    // A scanner types codes; the process is killed while it is still scanning.
    let printed = tokio::task::spawn_blocking({
        let mut run = gate(&["run"]);
        move || {
            let mut child = run
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = child.stdin.take().unwrap();
            let stdout = BufReader::new(child.stdout.take().unwrap());
            let feeder = std::thread::spawn(move || {
                for ticket in 1..=100 {
                    if writeln!(stdin, "{}", code(ticket)).is_err() {
                        break;
                    }
                }
                // Keep stdin open: the gate is still "scanning" when it dies.
                stdin
            });
            let mut verdicts = Vec::new();
            for line in stdout.lines() {
                let line: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
                if line["type"] == "verdict" {
                    verdicts.push(line["scan_id"].as_str().unwrap().parse::<Uuid>().unwrap());
                    if verdicts.len() == 60 {
                        child.kill().unwrap();
                        break;
                    }
                }
            }
            child.wait().unwrap();
            drop(feeder.join());
            verdicts
        }
    })
    .await
    .unwrap();
    assert_eq!(printed.len(), 60);

    // Restarted with nothing to scan, it drains the outbox and exits.
    let rerun = tokio::task::spawn_blocking({
        let mut run = gate(&["run", "--drain-timeout", "60"]);
        move || run.stdin(Stdio::null()).output().unwrap()
    })
    .await
    .unwrap();
    assert!(
        rerun.status.success(),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );

    let store = Store::open(data.path().join("gate.sqlite3")).unwrap();
    assert_eq!(store.outbox_depth().unwrap(), 0);
    let recorded: BTreeSet<Uuid> = store
        .recent_scans(usize::MAX)
        .unwrap()
        .into_iter()
        .filter(|s| s.origin == gerbang_gate::Origin::Local)
        .map(|s| s.scan_id)
        .collect();
    assert!(recorded.len() >= printed.len());
    let logged: BTreeSet<Uuid> = relay
        .log()
        .into_iter()
        .filter_map(|e| match e.body {
            LogBody::Scan { scan, .. } => Some(scan.scan_id),
            _ => None,
        })
        .collect();
    assert_eq!(
        logged, recorded,
        "everything the gate recorded reached the relay, once"
    );
    for scan_id in &printed {
        assert!(logged.contains(scan_id));
    }
    relay.stop().await;
}
