//! `GET /metrics`: the Prometheus text format, parsed line by line, with the counts of what the
//! test did.

use std::collections::BTreeMap;

use gerbang_core::protocol::{ErrorCode, Role, ServerMessage};
use gerbang_core::Direction;
use reqwest::StatusCode;

use crate::{scan_of, ticket_code, upload, Http, TestRelay};

/// Parses the exposition format: every line a `# HELP`/`# TYPE` comment or
/// `name{labels} value`; returns the samples by their full name with labels.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut samples = BTreeMap::new();
    let mut typed = std::collections::HashSet::new();
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix("# ") {
            let mut words = comment.splitn(3, ' ');
            let (kind, name) = (words.next().unwrap(), words.next().unwrap());
            assert!(matches!(kind, "HELP" | "TYPE"), "{line}");
            if kind == "TYPE" {
                let t = words.next().unwrap();
                assert!(matches!(t, "counter" | "gauge" | "histogram"), "{line}");
                assert!(typed.insert(name.to_owned()), "{name} typed twice");
            }
            continue;
        }
        let (name, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line:?}"));
        let metric = name.split('{').next().unwrap();
        assert!(
            metric
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{line}"
        );
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| metric.strip_suffix(s).filter(|f| typed.contains(*f)))
            .unwrap_or(metric);
        assert!(typed.contains(family), "{metric} has no TYPE before it");
        if let Some(labels) = name.strip_prefix(metric) {
            if !labels.is_empty() {
                assert!(labels.starts_with('{') && labels.ends_with('}'), "{line}");
            }
        }
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
        assert!(
            samples.insert(name.to_owned(), value).is_none(),
            "{name} twice"
        );
    }
    samples
}

#[tokio::test]
async fn metrics_count_what_happened() {
    let relay = TestRelay::start().await;
    let http = Http::new(&relay);
    let (_, supervisor_token) = relay.token("Koordinator", Role::Supervisor);
    let mut gate = relay.client("Gerbang A", Role::Gate).await;
    let supervisor = relay.client("Koordinator 2", Role::Supervisor).await;
    upload(
        &mut gate,
        vec![
            scan_of(&ticket_code(1), "Gerbang A", Direction::Entry, 0),
            scan_of(&ticket_code(1), "Gerbang A", Direction::Entry, 0),
            scan_of("TIDAK-DIKENAL", "Gerbang A", Direction::Entry, 0),
        ],
    )
    .await;
    gate.send_raw(r#"{"v":1,"type":"scan","scan":{"oops":1}}"#)
        .await;
    let refused = gate
        .until(|m| matches!(m, ServerMessage::Error { .. }))
        .await;
    assert!(matches!(
        refused,
        ServerMessage::Error {
            code: ErrorCode::InvalidMessage,
            ..
        }
    ));
    for _ in 0..2 {
        http.call("GET", "/events/1/stats", Some(&supervisor_token), None)
            .await;
    }
    http.call("GET", "/events/1/stats", None, None).await;
    http.call("GET", "/nothing/here", None, None).await;

    let (status, content_type, body) = http.get_bytes("/metrics", None).await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::OK, "text/plain; version=0.0.4; charset=utf-8")
    );
    let text = String::from_utf8(body).unwrap();
    let samples = parse(&text);
    let get = |name: &str| {
        samples
            .get(name)
            .copied()
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
    };
    assert_eq!(get(r#"gerbang_connections{role="gate"}"#), 1.0);
    assert_eq!(get(r#"gerbang_connections{role="supervisor"}"#), 1.0);
    assert_eq!(get(r#"gerbang_scans_total{verdict="admitted"}"#), 1.0);
    assert_eq!(get(r#"gerbang_scans_total{verdict="already_used"}"#), 1.0);
    assert_eq!(get(r#"gerbang_scans_total{verdict="unknown_ticket"}"#), 1.0);
    // The second scan of ticket 1 says the gate admitted it: a conflict.
    assert_eq!(get("gerbang_conflicts_total"), 1.0);
    assert_eq!(
        get("gerbang_log_head"),
        relay.admin.reader().head().unwrap() as f64
    );
    assert_eq!(
        get(r#"gerbang_refused_messages_total{code="invalid_message"}"#),
        1.0
    );
    assert_eq!(
        get(r#"gerbang_http_requests_total{route="/api/v1/events/{event_id}/stats",status="200"}"#),
        2.0
    );
    assert_eq!(
        get(r#"gerbang_http_requests_total{route="/api/v1/events/{event_id}/stats",status="401"}"#),
        1.0
    );
    assert_eq!(
        get(r#"gerbang_http_requests_total{route="unmatched",status="404"}"#),
        1.0
    );
    // Histograms: cumulative buckets, +Inf equal to the count, one observation per batch.
    let batches = get("gerbang_commit_batches_total");
    assert!(batches >= 1.0);
    for histogram in ["gerbang_commit_seconds", "gerbang_commit_batch_size"] {
        let buckets: Vec<f64> = samples
            .iter()
            .filter(|(k, _)| k.starts_with(&format!("{histogram}_bucket")))
            .map(|(_, v)| *v)
            .collect();
        assert!(!buckets.is_empty());
        assert_eq!(get(&format!("{histogram}_bucket{{le=\"+Inf\"}}")), batches);
        assert_eq!(get(&format!("{histogram}_count")), batches);
        let mut ordered: Vec<(f64, f64)> = samples
            .iter()
            .filter_map(|(k, v)| {
                let le = k
                    .strip_prefix(&format!("{histogram}_bucket{{le=\""))?
                    .strip_suffix("\"}")?;
                Some((
                    if le == "+Inf" {
                        f64::INFINITY
                    } else {
                        le.parse().unwrap()
                    },
                    *v,
                ))
            })
            .collect();
        ordered.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert!(
            ordered.windows(2).all(|w| w[0].1 <= w[1].1),
            "{histogram} not cumulative"
        );
    }
    // The seed (12 entries) and the scans were committed one command per batch or more.
    assert!(get("gerbang_commit_batch_size_sum") >= 15.0);

    // A connection that ends is no longer counted.
    drop(supervisor);
    let deadline = std::time::Instant::now() + crate::DEADLINE;
    loop {
        let (_, _, body) = http.get_bytes("/metrics", None).await;
        let open =
            parse(&String::from_utf8(body).unwrap())[r#"gerbang_connections{role="supervisor"}"#];
        if open == 0.0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still {open} supervisors connected"
        );
        tokio::task::yield_now().await;
    }
    relay.stop().await;
}
