//! Operational counters, rendered in the Prometheus text exposition format (version 0.0.4) by
//! `GET /metrics`.
//!
//! Everything is an atomic updated where it happens (the writer's commit hook, connections,
//! the HTTP layer), so counting costs a few nanoseconds and reading never stops anyone. The
//! one map, HTTP requests by route and status, is behind a mutex because its keys are not
//! known in advance; routes are the router's templates, so it stays small.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gerbang_core::protocol::{ErrorCode, LogBody, Role};
use gerbang_core::VerdictKind;

use crate::writer::Committed;

/// A histogram with fixed upper bounds; counts are per bucket and cumulated when rendered.
#[derive(Debug)]
struct Histogram {
    bounds: &'static [f64],
    buckets: Vec<AtomicU64>,
    /// The sum of observations, in units of `1 / scale` (microseconds for seconds).
    sum: AtomicU64,
    scale: f64,
    count: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64], scale: f64) -> Histogram {
        Histogram {
            bounds,
            buckets: (0..bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
            scale,
            count: AtomicU64::new(0),
        }
    }

    fn observe(&self, value: f64) {
        if let Some(i) = self.bounds.iter().position(|b| value <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.sum
            .fetch_add((value * self.scale).round() as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, bucket) in self.bounds.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum.load(Ordering::Relaxed) as f64 / self.scale;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
    }
}

const LATENCY_BOUNDS: &[f64] = &[
    0.000_5, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];
const BATCH_BOUNDS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0,
];

/// Every counter the relay keeps about itself.
#[derive(Debug)]
pub(crate) struct Metrics {
    /// Open WebSocket connections past `welcome`, by role (in [`Role::ALL`] order).
    connections: [AtomicI64; 3],
    /// Scans logged, by official verdict (in [`VerdictKind::ALL`] order).
    scans: [AtomicU64; VerdictKind::ALL.len()],
    conflicts: AtomicU64,
    head: AtomicU64,
    batches: AtomicU64,
    commit_seconds: Histogram,
    batch_commands: Histogram,
    slow_clients: AtomicU64,
    /// `error` messages sent, by code (in [`ErrorCode::ALL`] order).
    refused: [AtomicU64; ErrorCode::ALL.len()],
    /// HTTP responses by (route template, status).
    http: Mutex<BTreeMap<(String, u16), u64>>,
}

impl Metrics {
    pub fn new(head: u64) -> Metrics {
        Metrics {
            connections: Default::default(),
            scans: Default::default(),
            conflicts: AtomicU64::new(0),
            head: AtomicU64::new(head),
            batches: AtomicU64::new(0),
            commit_seconds: Histogram::new(LATENCY_BOUNDS, 1e6),
            batch_commands: Histogram::new(BATCH_BOUNDS, 1.0),
            slow_clients: AtomicU64::new(0),
            refused: Default::default(),
            http: Mutex::new(BTreeMap::new()),
        }
    }

    /// The writer's hook: one group commit.
    pub fn committed(&self, batch: &Committed<'_>) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.commit_seconds.observe(batch.took.as_secs_f64());
        self.batch_commands.observe(batch.commands as f64);
        for entry in batch.entries {
            if let LogBody::Scan {
                official, conflict, ..
            } = &entry.body
            {
                let i = VerdictKind::ALL
                    .iter()
                    .position(|k| *k == official.kind)
                    .unwrap_or(0);
                self.scans[i].fetch_add(1, Ordering::Relaxed);
                if conflict.is_some() {
                    self.conflicts.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        if let Some(last) = batch.entries.last() {
            self.head.fetch_max(last.seq, Ordering::Relaxed);
        }
    }

    /// Counts an open connection until the returned guard is dropped.
    pub fn connected(self: &Arc<Self>, role: Role) -> ConnectionGauge {
        let role = Role::ALL.iter().position(|r| *r == role).unwrap_or(0);
        self.connections[role].fetch_add(1, Ordering::Relaxed);
        ConnectionGauge {
            metrics: Arc::clone(self),
            role,
        }
    }

    pub fn slow_client(&self) {
        self.slow_clients.fetch_add(1, Ordering::Relaxed);
    }

    pub fn refused(&self, code: ErrorCode) {
        let i = ErrorCode::ALL.iter().position(|c| *c == code).unwrap_or(0);
        self.refused[i].fetch_add(1, Ordering::Relaxed);
    }

    pub fn http_request(&self, route: &str, status: u16) {
        let mut http = self.http.lock().unwrap_or_else(|e| e.into_inner());
        *http.entry((route.to_owned(), status)).or_default() += 1;
    }

    /// Everything, in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let counter = |out: &mut String, name: &str, help: &str, kind: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        counter(
            &mut out,
            "gerbang_connections",
            "Open WebSocket connections, by role.",
            "gauge",
        );
        for (role, n) in Role::ALL.iter().zip(&self.connections) {
            let _ = writeln!(
                out,
                "gerbang_connections{{role=\"{}\"}} {}",
                role.as_str(),
                n.load(Ordering::Relaxed)
            );
        }
        counter(
            &mut out,
            "gerbang_scans_total",
            "Scans logged, by official verdict.",
            "counter",
        );
        for (kind, n) in VerdictKind::ALL.iter().zip(&self.scans) {
            let _ = writeln!(
                out,
                "gerbang_scans_total{{verdict=\"{}\"}} {}",
                kind.as_str(),
                n.load(Ordering::Relaxed)
            );
        }
        let single = |out: &mut String, name: &str, help: &str, kind: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        single(
            &mut out,
            "gerbang_conflicts_total",
            "Scans logged as conflicts (a second offline admission of a ticket).",
            "counter",
            self.conflicts.load(Ordering::Relaxed),
        );
        single(
            &mut out,
            "gerbang_log_head",
            "The sequence number of the newest log entry.",
            "gauge",
            self.head.load(Ordering::Relaxed),
        );
        single(
            &mut out,
            "gerbang_commit_batches_total",
            "Group commits of the log.",
            "counter",
            self.batches.load(Ordering::Relaxed),
        );
        self.commit_seconds.render(
            &mut out,
            "gerbang_commit_seconds",
            "Time of one group commit, fsync included.",
        );
        self.batch_commands.render(
            &mut out,
            "gerbang_commit_batch_size",
            "Commands folded into one group commit.",
        );
        single(
            &mut out,
            "gerbang_slow_clients_disconnected_total",
            "Connections closed because they fell too far behind the live stream.",
            "counter",
            self.slow_clients.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "gerbang_refused_messages_total",
            "WebSocket error messages sent, by error code.",
            "counter",
        );
        for (code, n) in ErrorCode::ALL.iter().zip(&self.refused) {
            let _ = writeln!(
                out,
                "gerbang_refused_messages_total{{code=\"{}\"}} {}",
                code.as_str(),
                n.load(Ordering::Relaxed)
            );
        }
        counter(
            &mut out,
            "gerbang_http_requests_total",
            "HTTP responses, by route and status.",
            "counter",
        );
        let http = self.http.lock().unwrap_or_else(|e| e.into_inner());
        for ((route, status), n) in http.iter() {
            let _ = writeln!(
                out,
                "gerbang_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                escape_label(route)
            );
        }
        out
    }
}

/// Label values escape backslash, double quote and newline.
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// One open connection in [`Metrics`]; counted down when dropped, however the connection ends.
#[derive(Debug)]
pub(crate) struct ConnectionGauge {
    metrics: Arc<Metrics>,
    role: usize,
}

impl Drop for ConnectionGauge {
    fn drop(&mut self) {
        self.metrics.connections[self.role].fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative() {
        let h = Histogram::new(&[1.0, 10.0], 1.0);
        for v in [0.5, 1.0, 5.0, 50.0] {
            h.observe(v);
        }
        let mut out = String::new();
        h.render(&mut out, "x", "help");
        expect_test::expect![[r#"
            # HELP x help
            # TYPE x histogram
            x_bucket{le="1"} 2
            x_bucket{le="10"} 3
            x_bucket{le="+Inf"} 4
            x_sum 57
            x_count 4
        "#]]
        .assert_eq(&out);
    }
}
