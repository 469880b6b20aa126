//! The `gerbang-gate` binary as a script uses it: a standalone gate, CSV in, JSON lines out.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::signed;

fn gate(dir: &std::path::Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gerbang-gate"))
        .arg("--data-dir")
        .arg(dir)
        .args(["--json", "--gate", "Pintu Samping"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn lines(output: &Output) -> Vec<Value> {
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

#[test]
fn a_standalone_gate_imports_tickets_and_answers_every_line_even_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "holder,type,barcode\nBudi,Reguler,T-1\n,Reguler,T-2\nSiti,VVIP,T-3\n",
    )
    .unwrap();
    let refused = gate(dir.path(), &["import-tickets", bad.to_str().unwrap()], b"");
    assert!(!refused.status.success());
    let out = lines(&refused);
    let problems: Vec<_> = out
        .iter()
        .filter(|l| l["type"] == "import_error")
        .map(|l| l["line"].as_u64().unwrap())
        .collect();
    assert_eq!(problems, [3, 4]);
    assert_eq!(out.last().unwrap()["type"], "fatal");

    let good = dir.path().join("good.csv");
    std::fs::write(
        &good,
        "holder,type,barcode\nBudi Santoso,Reguler,T-1\nSiti,VIP,T-2\n",
    )
    .unwrap();
    let imported = gate(dir.path(), &["import-tickets", good.to_str().unwrap()], b"");
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    assert_eq!(lines(&imported)[0]["imported"], 2);

    let mut input = b"T-1\n\nT-1\n".to_vec();
    input.extend(vec![b'A'; 10_000]);
    input.extend(b"\n\xff\xfe\x00garbage\nT-2");
    let scanned = gate(dir.path(), &["scan"], &input);
    assert!(scanned.status.success());
    let out = lines(&scanned);
    let summary: Vec<String> = out
        .iter()
        .map(|l| match l["type"].as_str().unwrap() {
            "verdict" => format!("{} dup={}", l["kind"].as_str().unwrap(), l["duplicate"]),
            other => other.to_owned(),
        })
        .collect();
    assert_eq!(
        summary,
        [
            "admitted dup=false",
            "error",
            // The same code again within 3 s is the camera's second look, not a new scan.
            "admitted dup=true",
            "malformed dup=false",
            "malformed dup=false",
            "admitted dup=false",
        ]
    );
    assert_eq!(out[0]["holder"], "Budi Santoso");
    assert_eq!(out[1]["message"], "empty line: nothing was scanned");

    let status = lines(&gate(dir.path(), &["status"], b""));
    assert_eq!(status[0]["gate"], "Pintu Samping");
    assert_eq!(status[0]["counters"]["admitted"], 2);
    assert_eq!(status[0]["counters"]["refused"], 2);
    assert_eq!(
        status[0]["outbox"], 4,
        "every recorded scan waits for a relay"
    );
}

#[test]
fn decode_reads_each_file_and_reports_unreadable_ones_without_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let ticket = dir.path().join("ticket.png");
    std::fs::write(&ticket, gerbang_core::qr::png(&signed(100), 6).unwrap()).unwrap();
    let broken = dir.path().join("broken.png");
    std::fs::write(&broken, b"not a picture").unwrap();
    let missing = dir.path().join("missing.jpg");
    let output = gate(
        dir.path(),
        &[
            "decode",
            broken.to_str().unwrap(),
            ticket.to_str().unwrap(),
            missing.to_str().unwrap(),
        ],
        b"",
    );
    assert!(!output.status.success(), "some files could not be read");
    let out = lines(&output);
    assert_eq!(out.len(), 4, "{out:?}");
    assert!(out[0]["error"]
        .as_str()
        .unwrap()
        .contains("could not be read as an image"));
    assert_eq!(out[1]["codes"], serde_json::json!([signed(100)]));
    assert!(out[1]["ms"].as_f64().unwrap() >= 0.0);
    assert!(out[2]["error"].as_str().unwrap().starts_with("cannot open"));
    assert_eq!(out[3]["type"], "fatal");
}
