//! Scenario 3: many gates scanning while their links are cut at random moments.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use gerbang_core::protocol::LogBody;
use gerbang_core::VerdictKind;
use gerbang_e2e::gate::{assert_same_view, settled_in, TestGate};
use gerbang_e2e::proxy::Mode;
use gerbang_e2e::{code, TestRelay, EVENT};

const GATES: usize = 20;
const SCANS_PER_GATE: usize = 500;
/// Tickets the gates draw from: fewer than the scans, so gates refuse each other's tickets and
/// admit some twice while cut off.
const TICKETS: usize = 3_000;

/// A small deterministic generator, so a failure can be replayed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_gates_with_links_cut_at_random_converge_on_the_relays_log_exactly_once() {
    let relay = TestRelay::start().await;
    let mut gates = Vec::new();
    for g in 0..GATES {
        gates.push(Arc::new(
            TestGate::start(&relay, &format!("Pintu {g:02}")).await,
        ));
    }
    for gate in &gates {
        gate.wait_online().await;
    }
    // Signed codes, made once: every gate reads the same printed tickets.
    let codes: Arc<Vec<String>> = Arc::new((1..=TICKETS as u32).map(code).collect());

    // Each gate scans its own sequence of tickets (no ticket twice at one gate, so the
    // camera's duplicate window never applies), yielding between scans so uploads, live
    // entries and link cuts interleave with the scanning.
    let mut scanners = Vec::new();
    for (g, gate) in gates.iter().enumerate() {
        let gate = Arc::clone(gate);
        let codes = Arc::clone(&codes);
        scanners.push(tokio::spawn(async move {
            let mut ids = Vec::with_capacity(SCANS_PER_GATE);
            for i in 0..SCANS_PER_GATE {
                let ticket = (g * 137 + i * 7_919) % TICKETS;
                let outcome = gate.scan(&codes[ticket]);
                assert!(!outcome.duplicate);
                ids.push(outcome.scan_id);
                tokio::task::yield_now().await;
            }
            ids
        }));
    }

    // Meanwhile, cut, black-hole, tear and heal links at random.
    let chaos = {
        let gates = gates.clone();
        tokio::spawn(async move {
            let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
            for round in 0..200 {
                let gate = &gates[rng.below(GATES)];
                match rng.below(4) {
                    0 => gate.proxy.set(Mode::Cut),
                    1 => gate.proxy.tear_next_upload(),
                    2 if round % 10 == 0 => gate.proxy.set(Mode::Blackhole),
                    _ => gate.proxy.heal(),
                }
                // Spread the faults over the scanning: a few scheduler turns between them.
                for _ in 0..rng.below(50) {
                    tokio::task::yield_now().await;
                }
            }
        })
    };

    let mut local_ids = BTreeSet::new();
    for scanner in scanners {
        local_ids.extend(scanner.await.unwrap());
    }
    chaos.await.unwrap();
    assert_eq!(local_ids.len(), GATES * SCANS_PER_GATE);

    // Heal everything; every gate uploads its outbox and catches up.
    for gate in &gates {
        gate.proxy.heal();
    }
    for gate in &gates {
        gate.wait_status("outbox drained", |s| s.outbox == 0).await;
    }
    let head = relay.head();
    for gate in &gates {
        gate.wait_synced(head).await;
    }

    // The relay's log holds every scan exactly once.
    let log = relay.log();
    let logged: Vec<_> = log
        .iter()
        .filter_map(|e| match &e.body {
            LogBody::Scan { scan, .. } => Some(scan.scan_id),
            _ => None,
        })
        .collect();
    assert_eq!(
        logged.len(),
        GATES * SCANS_PER_GATE,
        "no scan twice, none lost"
    );
    assert_eq!(logged.iter().copied().collect::<BTreeSet<_>>(), local_ids);

    // Every cache converged to the relay's view: the same scans, seqs, verdicts, conflicts,
    // and the same counts.
    let relay_view = settled_in(&log);
    let mut official: HashMap<VerdictKind, u64> = HashMap::new();
    for (_, kind, _) in relay_view.values() {
        *official.entry(*kind).or_default() += 1;
    }
    let admitted = official.get(&VerdictKind::Admitted).copied().unwrap_or(0);
    assert!(admitted > 0 && admitted < (GATES * SCANS_PER_GATE) as u64);
    for gate in &gates {
        assert_same_view(&gate.name, &gate.settled(), &relay_view);
        let counters = gate.store.counters(EVENT, None).unwrap();
        assert_eq!(counters.admitted, admitted, "{}", gate.name);
        assert_eq!(counters.inside_now, admitted, "{}", gate.name);
        assert_eq!(
            counters.refused,
            (GATES * SCANS_PER_GATE) as u64 - admitted,
            "{}",
            gate.name
        );
    }
    relay.stop().await;
}
