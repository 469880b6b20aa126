//! What survives the gate's process ending without warning.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use gerbang_core::Millis;
use gerbang_gate::Store;

use crate::{setup, signed, EVENING, EVENT};

#[test]
fn scans_survive_dropping_the_store_without_closing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gate.db");
    let mut ids = Vec::new();
    {
        let store = Store::open(&path).unwrap();
        setup(&store);
        for i in 0..20 {
            let at = EVENING.plus(i * Millis::SECOND);
            ids.push(
                store
                    .record_scan(&signed(1_000 + i as u32), at)
                    .unwrap()
                    .scan_id,
            );
        }
    }
    let store = Store::open(&path).unwrap();
    for id in &ids {
        assert!(store.scan(*id).unwrap().is_some(), "scan {id} was lost");
    }
    let outbox: Vec<_> = store
        .outbox_batch(100)
        .unwrap()
        .iter()
        .map(|s| s.scan_id)
        .collect();
    assert_eq!(outbox, ids);
    assert_eq!(store.counters(EVENT, None).unwrap().admitted, 20);
}

/// The environment variable that turns [`child_writer`] into a scanning child process.
const CHILD_DB: &str = "GERBANG_CRASH_TEST_DB";

/// Not a test on its own: run by [`a_killed_process_loses_no_committed_scan`] as a child
/// process (this same test binary), it records scans as fast as it can and prints the id of
/// each one after its commit returns, until it is killed. Without the variable it does nothing.
#[test]
fn child_writer() {
    let Ok(path) = std::env::var(CHILD_DB) else {
        return;
    };
    let store = Store::open(path).unwrap();
    let mut out = std::io::stdout().lock();
    for i in 0u32.. {
        let at = EVENING.plus(i64::from(i) * Millis::SECOND);
        let outcome = store.record_scan(&signed(10_000 + i), at).unwrap();
        writeln!(out, "COMMITTED {}", outcome.scan_id).unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn a_killed_process_loses_no_committed_scan() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gate.db");
    setup(&Store::open(&path).unwrap());

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash::child_writer",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DB, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut committed = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        if let Some(id) = line.unwrap().strip_prefix("COMMITTED ") {
            committed.push(uuid::Uuid::parse_str(id).unwrap());
        }
        if committed.len() == 300 {
            break;
        }
    }
    // SIGKILL, most likely in the middle of a transaction.
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(committed.len(), 300, "the child stopped early");

    let store = Store::open(&path).unwrap();
    for id in &committed {
        let scan = store.scan(*id).unwrap();
        assert!(scan.is_some(), "committed scan {id} was lost");
    }
    // Nothing half written: every scan has its outbox row and was counted, and no more.
    let all = store.recent_scans(1_000_000).unwrap();
    assert!(all.len() >= committed.len());
    assert_eq!(store.outbox_depth().unwrap(), all.len() as u64);
    let counters = store.counters(EVENT, None).unwrap();
    assert_eq!(counters.admitted, all.len() as u64);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}
