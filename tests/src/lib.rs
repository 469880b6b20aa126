//! Helpers shared by the end-to-end tests: a relay with a demo event ([`TestRelay`], in this
//! process), gates with their own SQLite files and sync engines behind fault-injecting proxies
//! ([`gate::TestGate`], [`proxy::FaultProxy`]), the real binaries for tests where a process
//! must die ([`process`]), and [`eventually`], the one way these tests wait.

pub mod gate;
pub mod process;
pub mod proxy;

use std::time::Duration;

use gerbang_core::protocol::{LogBody, LogEntry};
use gerbang_core::{EventRules, EventSigner, TicketClaims, TicketRecord, TicketType};
use gerbang_relay::{Admin, Config, Location, Relay};

pub const EVENT: u32 = 1;
/// Bounds every wait on a condition. Generous: debug builds on a shared 2-core machine; a
/// test that passes waits far less.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Waits until `condition` holds, checking every few milliseconds, and panics naming `what`
/// after [`DEADLINE`]. The condition is the synchronisation; the pause between checks only
/// keeps the check from spinning.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {DEADLINE:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub fn signer() -> EventSigner {
    EventSigner::from_secret(EVENT, 1, [11; 32])
}

pub fn event() -> EventRules {
    EventRules {
        id: EVENT,
        name: "Seminar Nasional".into(),
        doors_open: None,
        doors_close: None,
        capacity: Some(2_000),
        reentry: true,
        max_entries_per_day: None,
        max_entries_total: None,
        utc_offset_minutes: 420,
        ticket_types: vec![TicketType {
            id: 1,
            name: "Reguler".into(),
        }],
    }
}

pub fn ticket(ticket_id: u32) -> TicketRecord {
    TicketRecord {
        event_id: EVENT,
        ticket_id,
        type_id: 1,
        holder: format!("Peserta {ticket_id}"),
        barcode: None,
        valid_from: None,
        valid_until: None,
        revoked: false,
    }
}

pub fn code(ticket_id: u32) -> String {
    signer()
        .issue(&TicketClaims {
            event_id: EVENT,
            ticket_id,
            type_id: 1,
            valid_from: None,
            valid_until: None,
        })
        .unwrap()
}

/// How a [`TestRelay`] is set up.
#[derive(Debug, Clone)]
pub struct RelayOptions {
    /// Serve TLS with a certificate made for the test.
    pub tls: bool,
    /// Tickets 1 to this many are in the log.
    pub tickets: u32,
    /// `Limits::snapshot_after`: tests set it low to send new gates to a snapshot.
    pub snapshot_after: u64,
}

impl Default for RelayOptions {
    fn default() -> RelayOptions {
        RelayOptions {
            tls: false,
            tickets: 100,
            snapshot_after: gerbang_relay::Limits::default().snapshot_after,
        }
    }
}

/// A relay on a temporary database, serving on 127.0.0.1 with a port from the OS, with the
/// event, its key and tickets 1 to 100.
#[derive(Debug)]
pub struct TestRelay {
    pub addr: std::net::SocketAddr,
    pub admin: Admin,
    /// The certificate's fingerprint, when it serves TLS.
    pub fingerprint: Option<String>,
    running: gerbang_relay::Running,
    _dir: tempfile::TempDir,
}

impl TestRelay {
    pub async fn start() -> TestRelay {
        TestRelay::start_with(RelayOptions::default()).await
    }

    pub async fn start_with(options: RelayOptions) -> TestRelay {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new(Location::file(dir.path().join("relay.sqlite3")));
        config.limits.snapshot_after = options.snapshot_after;
        if options.tls {
            config.tls = Some(
                gerbang_relay::TlsIdentity::generate(&gerbang_relay::tls::default_names(&[]))
                    .unwrap(),
            );
        }
        let relay = Relay::open(config).unwrap();
        let writer = relay.writer();
        writer
            .append(LogBody::EventUpdated { event: event() })
            .await
            .unwrap();
        writer
            .append(LogBody::KeyAdded {
                key: signer().public_key(),
            })
            .await
            .unwrap();
        // In batches of one transaction each, as an import does.
        let ids: Vec<u32> = (1..=options.tickets).collect();
        for batch in ids.chunks(10_000) {
            let bodies = batch
                .iter()
                .map(|&id| LogBody::TicketUpsert { ticket: ticket(id) })
                .collect();
            writer.append_all(bodies).await.unwrap();
        }
        relay.admin().set_active_event(EVENT);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = relay.spawn(listener).unwrap();
        TestRelay {
            addr: running.addr,
            admin: running.admin.clone(),
            fingerprint: running.fingerprint.clone(),
            running,
            _dir: dir,
        }
    }

    pub async fn stop(self) {
        tokio::time::timeout(DEADLINE, self.running.stop())
            .await
            .expect("the relay did not stop in time")
            .unwrap();
    }

    /// Every entry of the relay's log, in order.
    pub fn log(&self) -> Vec<LogEntry> {
        self.admin.reader().entries_after(0, usize::MAX).unwrap()
    }

    pub fn head(&self) -> u64 {
        self.admin.reader().head().unwrap()
    }

    /// The address gates use: `wss://` with TLS, else `ws://`.
    pub fn url(&self) -> String {
        self.running.address.clone()
    }
}
