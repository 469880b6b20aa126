//! Gates and a TLS relay: pairing over HTTPS with the fingerprint from the pairing text, wss
//! through the fault proxy (cut and healed), and a gate that pins another certificate never
//! getting in.

use std::sync::Arc;

use gerbang_core::pairing::PairingLink;
use gerbang_core::protocol::Role;
use gerbang_core::{Direction, GateRules, VerdictKind};
use gerbang_e2e::gate::{assert_same_view, settled_in, GateOptions, TestGate};
use gerbang_e2e::proxy::{FaultProxy, Mode};
use gerbang_e2e::{code, eventually, RelayOptions, TestRelay, DEADLINE, EVENT};
use gerbang_gate::sync::pairing::{pair, PairError};
use gerbang_gate::sync::tls::MISMATCH;
use gerbang_gate::sync::{LinkState, SyncConfig, SyncEngine};
use gerbang_gate::Store;

async fn tls_relay() -> TestRelay {
    TestRelay::start_with(RelayOptions {
        tls: true,
        ..RelayOptions::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_pairs_over_https_and_syncs_over_wss_through_the_fault_proxy() {
    let relay = tls_relay().await;
    let fingerprint = relay.fingerprint.clone().unwrap();
    let proxy = FaultProxy::start(relay.addr).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path().join("gate.sqlite3")).unwrap());
    store
        .set_gate_rules(&GateRules {
            gate: "Pintu A".into(),
            direction: Direction::Entry,
            allowed_types: vec![],
        })
        .unwrap();

    // The pairing text as the relay would show it, pointing at the proxy.
    let code_text = relay.admin.create_pairing_code(Role::Gate).unwrap();
    let text = format!(
        "gerbang://pair?relay={}&code={code_text}&fp={}",
        proxy.relay_url_tls(),
        fingerprint.to_uppercase()
    );
    let link = PairingLink::parse(&text).unwrap();
    let paired = pair(&store, &link, "Pintu A").await.unwrap();
    assert_eq!(paired.role, Role::Gate);
    let pairing = store.pairing().unwrap().unwrap();
    assert_eq!(pairing.fingerprint.as_deref(), Some(fingerprint.as_str()));

    let engine = SyncEngine::start(Arc::clone(&store), SyncConfig::new(pairing));
    let mut status = engine.status();
    let online = |s: &gerbang_gate::sync::SyncStatus| s.state == LinkState::Online;
    tokio::time::timeout(DEADLINE, status.wait_for(online))
        .await
        .unwrap()
        .unwrap();
    let first = store
        .record_scan(&code(1), gerbang_gate::sync::system_clock())
        .unwrap();
    engine.scan_recorded(&first);

    // Cut: scans wait in the outbox; healed: they go up over a new TLS session.
    proxy.set(Mode::Cut);
    tokio::time::timeout(DEADLINE, status.wait_for(|s| s.state == LinkState::Offline))
        .await
        .unwrap()
        .unwrap();
    for t in 2..=5 {
        let outcome = store
            .record_scan(&code(t), gerbang_gate::sync::system_clock())
            .unwrap();
        assert_eq!(outcome.verdict.kind, VerdictKind::Admitted);
        engine.scan_recorded(&outcome);
    }
    proxy.heal();
    tokio::time::timeout(DEADLINE, status.wait_for(|s| s.outbox == 0 && online(s)))
        .await
        .unwrap()
        .unwrap();
    let head = relay.head();
    let synced = Arc::clone(&store);
    eventually("the gate to reach the relay's head", || {
        synced.cursor().unwrap() >= head
    })
    .await;
    let scans: gerbang_e2e::gate::Settled = store
        .recent_scans(usize::MAX)
        .unwrap()
        .into_iter()
        .map(|s| (s.scan_id, (s.seq.unwrap(), s.official.unwrap(), s.conflict)))
        .collect();
    assert_eq!(scans.len(), 5);
    assert_same_view("Pintu A", &scans, &settled_in(&relay.log()));
    assert!(
        proxy.accepted() >= 3,
        "pairing, the first link, the one after the cut"
    );
    engine.stop().await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_pinning_another_certificate_never_gets_in() {
    let relay = tls_relay().await;
    let other = gerbang_relay::TlsIdentity::generate(&["localhost".into()]).unwrap();

    // Pairing with the wrong fingerprint fails before the code reaches the relay: the same
    // code then pairs with the right one.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("gate.sqlite3")).unwrap();
    let code_text = relay.admin.create_pairing_code(Role::Gate).unwrap();
    let relay_url = relay.url();
    let wrong = PairingLink::new(&relay_url, &code_text)
        .unwrap()
        .with_fingerprint(other.fingerprint())
        .unwrap();
    let err = pair(&store, &wrong, "Pintu A").await.unwrap_err();
    assert!(matches!(err, PairError::CertificateMismatch(_)), "{err}");
    assert!(store.pairing().unwrap().is_none());
    let without = PairingLink::new(&relay_url, &code_text).unwrap();
    let err = pair(&store, &without, "Pintu A")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no fingerprint") && err.contains("fp="),
        "{err}"
    );
    let right = without
        .with_fingerprint(relay.fingerprint.as_deref().unwrap())
        .unwrap();
    pair(&store, &right, "Pintu A").await.unwrap();

    // A gate whose pinned certificate is not the relay's: the plain-words error, retries that
    // fail the same way, and nothing from the relay.
    let options = GateOptions {
        fingerprint: Some(other.fingerprint().to_owned()),
        ..GateOptions::for_relay(&relay)
    };
    let gate = TestGate::start_with(&relay, "Pintu B", options).await;
    gate.wait_status("the certificate refused", |s| {
        s.last_error.as_deref() == Some(MISMATCH)
    })
    .await;
    let proxy = &gate.proxy;
    eventually("a second attempt", || proxy.accepted() >= 2).await;
    let status = gate.status();
    assert_eq!(status.last_error.as_deref(), Some(MISMATCH));
    assert_ne!(status.state, LinkState::Online);
    assert_eq!(status.cursor, 0);
    assert_eq!(
        gate.store.event(EVENT).unwrap(),
        None,
        "nothing from the relay"
    );
    relay.stop().await;
}
