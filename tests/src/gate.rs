//! A gate for end-to-end tests: its own SQLite file, its own sync engine, and a fault proxy
//! between it and the relay.

use std::collections::BTreeMap;
use std::sync::Arc;

use gerbang_core::protocol::{LogBody, LogEntry, Role};
use gerbang_core::{Direction, GateRules, Millis, VerdictKind};
use gerbang_gate::sync::{LinkState, SyncConfig, SyncEngine, SyncStatus};
use gerbang_gate::{Pairing, ScanOutcome, Store};
use uuid::Uuid;

use crate::proxy::FaultProxy;
use crate::{TestRelay, DEADLINE};

/// What both sides must agree on about a scan once synced: its place in the log, the
/// official verdict and the conflict flag.
pub type Settled = BTreeMap<Uuid, (u64, VerdictKind, bool)>;

#[derive(Debug)]
pub struct TestGate {
    pub name: String,
    pub store: Arc<Store>,
    pub engine: SyncEngine,
    pub proxy: FaultProxy,
    pub device_id: String,
    /// This gate's clock is the real one plus this (ms).
    pub clock_skew: i64,
    _dir: tempfile::TempDir,
}

impl TestGate {
    /// A new gate named `name`, paired with `relay` through its own proxy, syncing.
    pub async fn start(relay: &TestRelay, name: &str) -> TestGate {
        TestGate::start_as(relay, name, Role::Gate, 0).await
    }

    /// A gate (or with `Role::Supervisor`, a supervisor screen) whose clock is off by
    /// `clock_skew` milliseconds.
    pub async fn start_as(relay: &TestRelay, name: &str, role: Role, clock_skew: i64) -> TestGate {
        let options = GateOptions {
            role,
            clock_skew,
            ..GateOptions::for_relay(relay)
        };
        TestGate::start_with(relay, name, options).await
    }

    /// A gate set up as `options` say.
    pub async fn start_with(relay: &TestRelay, name: &str, options: GateOptions) -> TestGate {
        let GateOptions {
            role,
            clock_skew,
            fingerprint,
            offline,
        } = options;
        let (device, token) = relay.admin.create_device(name, role).unwrap();
        let proxy = FaultProxy::start(relay.addr).await;
        if offline {
            proxy.set(crate::proxy::Mode::Cut);
        }
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path().join("gate.sqlite3")).unwrap());
        store
            .set_gate_rules(&GateRules {
                gate: name.into(),
                direction: Direction::Entry,
                allowed_types: vec![],
            })
            .unwrap();
        let relay_url = match fingerprint {
            Some(_) => proxy.relay_url_tls(),
            None => proxy.relay_url(),
        };
        let pairing = Pairing {
            relay: relay_url,
            token,
            fingerprint,
            device_name: name.into(),
        };
        store.set_pairing(Some(&pairing)).unwrap();
        let engine = SyncEngine::start(Arc::clone(&store), config(pairing, clock_skew));
        TestGate {
            name: name.into(),
            store,
            engine,
            proxy,
            device_id: device.id,
            clock_skew,
            _dir: dir,
        }
    }

    /// This gate's idea of now.
    pub fn now(&self) -> Millis {
        Millis(gerbang_gate::sync::system_clock().0 + self.clock_skew)
    }

    /// Scans `code` now, by this gate's clock, and nudges the engine to upload it.
    pub fn scan(&self, code: &str) -> ScanOutcome {
        let outcome = self.store.record_scan(code, self.now()).unwrap();
        self.engine.scan_recorded(&outcome);
        outcome
    }

    pub fn status(&self) -> SyncStatus {
        self.engine.status().borrow().clone()
    }

    /// Waits until the status satisfies `condition`.
    pub async fn wait_status(&self, what: &str, condition: impl FnMut(&SyncStatus) -> bool) {
        let mut status = self.engine.status();
        tokio::time::timeout(DEADLINE, status.wait_for(condition))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{}: timed out waiting for {what}; status {:?}",
                    self.name,
                    self.status()
                )
            })
            .unwrap();
    }

    pub async fn wait_online(&self) {
        self.wait_status("online", |s| s.state == LinkState::Online)
            .await;
    }

    /// Waits until the gate has applied the relay's log up to `head` and its outbox is empty.
    pub async fn wait_synced(&self, head: u64) {
        let store = Arc::clone(&self.store);
        crate::eventually(
            &format!("{} to reach seq {head} with an empty outbox", self.name),
            || store.cursor().unwrap() >= head && store.outbox_depth().unwrap() == 0,
        )
        .await;
    }

    /// Every scan this gate knows, settled by the relay, by scan id.
    pub fn settled(&self) -> Settled {
        self.store
            .recent_scans(usize::MAX)
            .unwrap()
            .into_iter()
            .map(|s| {
                let seq = s
                    .seq
                    .unwrap_or_else(|| panic!("{}: scan {} has no seq", self.name, s.scan_id));
                let official = s.official.expect("settled scans have an official verdict");
                (s.scan_id, (seq, official, s.conflict))
            })
            .collect()
    }
}

/// How [`TestGate::start_with`] sets a gate up.
#[derive(Debug, Clone)]
pub struct GateOptions {
    pub role: Role,
    /// This gate's clock is the real one plus this (ms).
    pub clock_skew: i64,
    /// The fingerprint the gate pins; with `Some`, it reaches the relay with `wss://` (a wrong
    /// one makes a gate that never gets in).
    pub fingerprint: Option<String>,
    /// Start with the gate's proxy cut, so a test can subscribe to its events before it first
    /// reaches the relay (`proxy.heal()` lets it through).
    pub offline: bool,
}

impl GateOptions {
    /// A gate of `relay` as a person would pair it: over TLS with the relay's fingerprint when
    /// it serves TLS.
    pub fn for_relay(relay: &TestRelay) -> GateOptions {
        GateOptions {
            role: Role::Gate,
            clock_skew: 0,
            fingerprint: relay.fingerprint.clone(),
            offline: false,
        }
    }
}

/// Panics with what differs (at most ten of each kind) unless the two views are equal.
pub fn assert_same_view(name: &str, gate: &Settled, relay: &Settled) {
    if gate == relay {
        return;
    }
    let missing: Vec<_> = relay
        .iter()
        .filter(|(k, _)| !gate.contains_key(k))
        .take(10)
        .collect();
    let extra: Vec<_> = gate
        .iter()
        .filter(|(k, _)| !relay.contains_key(k))
        .take(10)
        .collect();
    let differ: Vec<_> = gate
        .iter()
        .filter_map(|(k, v)| relay.get(k).filter(|r| *r != v).map(|r| (k, v, r)))
        .take(10)
        .collect();
    panic!(
        "{name} differs from the relay ({} scans here, {} there)\n\
         missing here: {missing:?}\nonly here: {extra:?}\ndiffering (here, relay): {differ:?}",
        gate.len(),
        relay.len()
    );
}

/// The scans of the relay's log in the form [`TestGate::settled`] gives.
pub fn settled_in(log: &[LogEntry]) -> Settled {
    log.iter()
        .filter_map(|e| match &e.body {
            LogBody::Scan {
                scan,
                official,
                conflict,
            } => Some((scan.scan_id, (e.seq, official.kind, conflict.is_some()))),
            _ => None,
        })
        .collect()
}

fn config(pairing: Pairing, clock_skew: i64) -> SyncConfig {
    let mut config = SyncConfig::new(pairing);
    config.clock = Arc::new(move || Millis(gerbang_gate::sync::system_clock().0 + clock_skew));
    // Reconnect fast: the tests cut links on purpose and wait for the gates to come back.
    config.backoff = gerbang_gate::sync::backoff::Policy {
        initial: std::time::Duration::from_millis(20),
        max: std::time::Duration::from_millis(500),
    };
    config
}
