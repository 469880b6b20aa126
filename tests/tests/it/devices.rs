//! `gerbang-gate run` with its devices: a serial scanner (a pseudo-terminal standing in for
//! `/dev/ttyACM0`) and a camera that is not there (CI has none). The real binary and a relay.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use gerbang_core::protocol::{LogBody, Role};
use gerbang_e2e::process::binary;
use gerbang_e2e::{code, eventually, TestRelay};
use serde_json::Value;
use serialport::{SerialPort, TTYPort};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serial_scanner_feeds_the_gate_and_a_missing_camera_is_reported() {
    let relay = TestRelay::start().await;
    let data = tempfile::tempdir().unwrap();
    let gate = |args: &[&str]| {
        let mut command = Command::new(binary("gerbang-gate"));
        command
            .arg("--data-dir")
            .arg(data.path())
            .args(["--gate", "Pintu S", "--json"])
            .args(args);
        command
    };
    let pairing_code = relay.admin.create_pairing_code(Role::Gate).unwrap();
    let relay_url = format!("ws://{}", relay.addr);
    let mut pair = gate(&["pair", "--relay", &relay_url, &pairing_code]);
    let paired = tokio::task::spawn_blocking(move || pair.output().unwrap())
        .await
        .unwrap();
    assert!(
        paired.status.success(),
        "{}",
        String::from_utf8_lossy(&paired.stderr)
    );

    let (mut scanner, slave) = TTYPort::pair().unwrap();
    let port = slave.name().unwrap();
    // Stdin is empty: with devices the run goes on until it is stopped.
    let mut child = gate(&["run", "--serial", &port, "--camera", "9999"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = Arc::new(Mutex::new(Vec::<Value>::new()));
    let reader = {
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let line = serde_json::from_str(&line.unwrap()).unwrap();
                lines.lock().unwrap().push(line);
            }
        })
    };
    let printed = |kind: &str, state: &str| {
        let lines = lines.clone();
        let (kind, state) = (kind.to_owned(), state.to_owned());
        move || {
            lines
                .lock()
                .unwrap()
                .iter()
                .any(|l| l["type"] == kind && l["state"] == state)
        }
    };
    eventually("the serial port open", printed("serial", "reading")).await;
    eventually("the camera missing", printed("camera", "no_camera")).await;
    eventually("online", printed("sync", "online")).await;

    // The scanner sends a ticket, CRLF-terminated, in two pieces.
    let ticket = code(7);
    let (head, tail) = ticket.split_at(10);
    scanner.write_all(head.as_bytes()).unwrap();
    scanner.write_all(format!("{tail}\r\n").as_bytes()).unwrap();
    let verdict = {
        let lines = lines.clone();
        let ticket = ticket.clone();
        move || {
            lines
                .lock()
                .unwrap()
                .iter()
                .any(|l| l["type"] == "verdict" && l["input"] == ticket.as_str())
        }
    };
    eventually("the verdict", verdict).await;
    let admitted = lines
        .lock()
        .unwrap()
        .iter()
        .find(|l| l["type"] == "verdict")
        .cloned()
        .unwrap();
    assert_eq!(admitted["kind"], "admitted", "{admitted}");
    let scan_id = admitted["scan_id"].as_str().unwrap().to_owned();
    eventually("the scan at the relay", || {
        relay.log().iter().any(|e| {
            matches!(&e.body, LogBody::Scan { scan, .. } if scan.scan_id.to_string() == scan_id)
        })
    })
    .await;

    child.kill().unwrap();
    child.wait().unwrap();
    reader.join().unwrap();
    drop((scanner, slave));
    relay.stop().await;
}
