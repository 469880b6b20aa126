//! Where the relay under load is, and how a load is set up on it.
//!
//! A [`Target`] is a relay this process started ([`Target::in_process`]), the real
//! `gerbang-relay` binary started as a child process ([`Target::spawn`]; the only way to
//! measure the relay's own memory), or any running relay given by address and admin token
//! ([`Target::remote`]). Everything after that is the same for all three: the relay's HTTP API
//! sets up an event of the load generator's own with tickets and paired gate devices
//! ([`Target::prepare`]), and gates connect over WebSockets ([`crate::gate`]).

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use futures_util::{stream, StreamExt, TryStreamExt};
use gerbang_core::protocol::Role;
use gerbang_core::{EventRules, TicketType};
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use serde::Deserialize;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::{Error, Result};

/// A byte stream to the relay: TCP, or TLS over TCP.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Tickets imported per HTTP request: the relay takes a request body of up to 2 MB.
const IMPORT_CHUNK: usize = 20_000;
/// HTTP requests in flight at once while pairing devices.
const PAIRING_CONCURRENCY: usize = 8;

/// A relay to put load on.
pub struct Target {
    /// `ws://host:port` or `wss://host:port`.
    pub address: String,
    /// The SHA-256 fingerprint of the relay's certificate, pinned for `wss://`.
    pub fingerprint: Option<String>,
    /// A token of an admin device: the setup needs it (events, keys, tickets, pairing codes).
    pub admin_token: String,
    /// The relay's process, when it is known and not this one (for memory measurements).
    pub pid: Option<u32>,
    /// `host:port`, for TCP.
    host_port: String,
    host: String,
    tls: Option<Arc<ClientConfig>>,
    http: reqwest::Client,
    /// What keeps a relay this target started alive; stopping the target stops it.
    owner: Owner,
}

enum Owner {
    /// Somebody else's relay: left running.
    Remote,
    InProcess {
        /// Taken when the target is stopped.
        running: Option<gerbang_relay::Running>,
        /// The database and certificate, removed when the target is stopped.
        _data: tempfile::TempDir,
    },
    Child {
        child: Child,
        _data: tempfile::TempDir,
    },
}

impl Drop for Owner {
    /// A relay process this load generator started never outlives it, even when a
    /// measurement fails half way.
    fn drop(&mut self) {
        if let Owner::Child { child, .. } = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("address", &self.address)
            .field("pid", &self.pid)
            .finish_non_exhaustive()
    }
}

/// What kind of codes the tickets carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codes {
    /// Gerbang's signed codes, made by the relay with a signing key of the event: the relay
    /// checks each one's Ed25519 signature.
    Signed,
    /// Imported barcodes: valid by lookup alone, no signature to check.
    Opaque,
}

/// A load set up on a relay: an event of its own, the tickets' codes (each admits once) and
/// gate devices' tokens.
#[derive(Debug, Clone)]
pub struct Setup {
    pub event_id: u32,
    pub codes: Vec<String>,
    pub tokens: Vec<String>,
}

impl Target {
    /// A relay given by its address (`ws://` to loopback or `wss://`), its certificate's
    /// fingerprint (for `wss://`), an admin token and, for memory measurements, its process id.
    pub fn remote(
        address: &str,
        fingerprint: Option<&str>,
        admin_token: &str,
        pid: Option<u32>,
    ) -> Result<Target> {
        Target::new(address, fingerprint, admin_token, pid, Owner::Remote)
    }

    /// A relay in this process on `127.0.0.1` with a port from the OS, on a fresh database
    /// file (`synchronous=FULL`, as always) in a temporary directory; TLS with a new
    /// certificate, or plain.
    pub async fn in_process(tls: bool) -> Result<Target> {
        let setup = |e: gerbang_relay::Error| Error::Setup(e.to_string());
        let data = tempfile::tempdir().map_err(|e| Error::Setup(e.to_string()))?;
        let mut config = gerbang_relay::Config::new(gerbang_relay::Location::file(
            data.path().join("relay.sqlite3"),
        ));
        if tls {
            config.tls = Some(
                gerbang_relay::TlsIdentity::load_or_create(
                    data.path(),
                    &[IpAddr::V4(Ipv4Addr::LOCALHOST)],
                )
                .map_err(setup)?,
            );
        }
        let relay = gerbang_relay::Relay::open(config).map_err(setup)?;
        let (_, admin_token) = relay
            .admin()
            .create_device("gerbang-loadgen", Role::Admin)
            .map_err(setup)?;
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|e| Error::Setup(format!("cannot listen on 127.0.0.1: {e}")))?;
        let running = relay.spawn(listener).map_err(setup)?;
        let (address, fingerprint) = (running.address.clone(), running.fingerprint.clone());
        Target::new(
            &address,
            fingerprint.as_deref(),
            &admin_token,
            None,
            Owner::InProcess {
                running: Some(running),
                _data: data,
            },
        )
    }

    /// The real `gerbang-relay` binary at `binary`, started in a child process on
    /// `127.0.0.1` with a port from the OS and a fresh data directory; TLS or `--plain`.
    /// Blocks until the relay says where it listens.
    pub fn spawn(binary: &Path, tls: bool) -> Result<Target> {
        let data = tempfile::tempdir().map_err(|e| Error::Setup(e.to_string()))?;
        let mut command = Command::new(binary);
        if !tls {
            command.arg("--plain");
        }
        let mut child = command
            .args(["--listen", "127.0.0.1:0", "--log", "warn", "--data-dir"])
            .arg(data.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| Error::Setup(format!("cannot start {}: {e}", binary.display())))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let mut fingerprint = None;
        let address = loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::Setup(format!(
                    "{} exited before saying where it listens (see its messages above)",
                    binary.display()
                )));
            };
            if let Some(at) = line.find(gerbang_core::pairing::PAIRING_PREFIX) {
                if let Ok(link) = gerbang_core::pairing::PairingLink::parse(line[at..].trim()) {
                    fingerprint = link.fingerprint;
                }
            }
            if let Some(rest) = line.strip_prefix("Gerbang relay listening on ") {
                break rest
                    .trim()
                    .trim_end_matches(gerbang_core::protocol::WS_PATH)
                    .to_owned();
            }
        };
        // Keep reading its output so that it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let token_file = data.path().join("admin-token");
        let admin_token = std::fs::read_to_string(&token_file)
            .map_err(|e| Error::Setup(format!("cannot read {}: {e}", token_file.display())))?
            .trim()
            .to_owned();
        let pid = child.id();
        Target::new(
            &address,
            fingerprint.as_deref(),
            &admin_token,
            Some(pid),
            Owner::Child { child, _data: data },
        )
    }

    fn new(
        address: &str,
        fingerprint: Option<&str>,
        admin_token: &str,
        pid: Option<u32>,
        owner: Owner,
    ) -> Result<Target> {
        let address = address.trim_end_matches('/').to_owned();
        let (secure, host_port) = if let Some(rest) = address.strip_prefix("wss://") {
            (true, rest)
        } else if let Some(rest) = address.strip_prefix("ws://") {
            (false, rest)
        } else {
            return Err(Error::Setup(format!(
                "the relay address {address:?} must look like wss://host:port or ws://host:port"
            )));
        };
        let host = match host_port.strip_prefix('[') {
            Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
            None => host_port.rsplit_once(':').map_or(host_port, |(h, _)| h),
        }
        .to_owned();
        let tls = match (secure, fingerprint) {
            // Pinned as a gate pins (`:` between byte pairs allowed on the command line).
            (true, Some(fp)) => Some(gerbang_gate::sync::tls::pinned_config(&fp.replace(':', ""))),
            (true, None) => {
                return Err(Error::Setup(format!(
                    "{address} serves TLS: give its certificate's fingerprint (--fingerprint, \
                     printed by gerbang-relay at start)"
                )))
            }
            (false, _) => None,
        };
        let mut http = reqwest::Client::builder().tcp_nodelay(true);
        if let Some(config) = &tls {
            http = http.use_preconfigured_tls(ClientConfig::clone(config));
        }
        let http = http
            .build()
            .map_err(|e| Error::Setup(format!("cannot set up HTTP: {e}")))?;
        Ok(Target {
            host_port: host_port.to_owned(),
            host,
            address: address.clone(),
            fingerprint: fingerprint.map(str::to_owned),
            admin_token: admin_token.to_owned(),
            pid,
            tls,
            http,
            owner,
        })
    }

    /// Stops a relay this target started (an in-process relay commits what is queued first;
    /// a child process is killed: its data was temporary). A remote relay is left running.
    pub async fn stop(mut self) {
        if let Owner::InProcess { running, .. } = &mut self.owner {
            if let Some(running) = running.take() {
                if let Err(err) = running.stop().await {
                    eprintln!("gerbang-loadgen: stopping the relay: {err}");
                }
            }
        }
        // Dropping the owner kills a child process and removes temporary data.
    }

    /// Opens a byte stream to the relay: TCP without Nagle's delay, then TLS with the
    /// certificate pinned when the relay serves TLS.
    pub async fn connect_stream(&self) -> Result<Box<dyn Io>> {
        let tcp = TcpStream::connect(&self.host_port)
            .await
            .map_err(|e| Error::Connect(format!("{}: {e}", self.address)))?;
        tcp.set_nodelay(true)
            .map_err(|e| Error::Connect(format!("{}: {e}", self.address)))?;
        Ok(match &self.tls {
            None => Box::new(tcp),
            Some(config) => {
                let name = ServerName::try_from(self.host.clone()).unwrap_or_else(|_| {
                    ServerName::try_from("relay.gerbang.invalid").expect("a valid name")
                });
                let tls = tokio_rustls::TlsConnector::from(Arc::clone(config))
                    .connect(name, tcp)
                    .await
                    .map_err(|e| Error::Connect(format!("TLS to {}: {e}", self.address)))?;
                Box::new(tls)
            }
        })
    }

    /// The WebSocket URL.
    pub fn ws_url(&self) -> String {
        format!("{}{}", self.address, gerbang_core::protocol::WS_PATH)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", gerbang_core::pairing::http_base(&self.address))
    }

    /// An HTTP request with the admin token, its answer checked and read as JSON.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<T> {
        let response = request
            .bearer_auth(&self.admin_token)
            .send()
            .await
            .map_err(|e| Error::Setup(format!("{what}: {e}")))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| Error::Setup(format!("{what}: {e}")))?;
        if !status.is_success() {
            return Err(Error::Setup(format!(
                "{what}: the relay answered {status}: {body}"
            )));
        }
        serde_json::from_str(&body)
            .map_err(|e| Error::Setup(format!("{what}: unexpected answer ({e}): {body}")))
    }

    /// The newest `seq` in the relay's log (`GET /api/v1/health`). Gates say hello with it as
    /// their cursor, so a relay with a long log does not send them its history.
    pub async fn head(&self) -> Result<u64> {
        #[derive(Deserialize)]
        struct Health {
            head: u64,
        }
        let health: Health = self
            .call(
                self.http.get(self.url("/api/v1/health")),
                "reading the relay's health",
            )
            .await?;
        Ok(health.head)
    }

    /// Sets up a load: a new event (the next free id, so a relay in use is not disturbed)
    /// with a signing key, `tickets` tickets (each of whose codes admits once), and `devices`
    /// gate devices paired with one-time codes.
    pub async fn prepare(&self, tickets: usize, codes: Codes, devices: usize) -> Result<Setup> {
        let event_id = self.create_event().await?;
        if codes == Codes::Signed {
            let _: serde_json::Value = self
                .call(
                    self.http
                        .post(self.url(&format!("/api/v1/events/{event_id}/keys"))),
                    "making a signing key",
                )
                .await?;
        }
        self.import_tickets(event_id, tickets, codes).await?;
        let codes = match codes {
            Codes::Opaque => (1..=tickets).map(|t| barcode(event_id, t)).collect(),
            Codes::Signed => self.signed_codes(event_id, tickets).await?,
        };
        let tokens = self.pair_gates(devices).await?;
        Ok(Setup {
            event_id,
            codes,
            tokens,
        })
    }

    async fn create_event(&self) -> Result<u32> {
        let events: Vec<EventRules> = self
            .call(self.http.get(self.url("/api/v1/events")), "listing events")
            .await?;
        let event_id = events.iter().map(|e| e.id).max().unwrap_or(0) + 1;
        let rules = EventRules {
            id: event_id,
            name: format!("Uji beban {event_id}"),
            doors_open: None,
            doors_close: None,
            capacity: None,
            reentry: true,
            max_entries_per_day: None,
            max_entries_total: None,
            utc_offset_minutes: 420,
            ticket_types: vec![TicketType {
                id: 1,
                name: "Reguler".into(),
            }],
        };
        let _: EventRules = self
            .call(
                self.http.post(self.url("/api/v1/events")).json(&rules),
                "creating the event",
            )
            .await?;
        Ok(event_id)
    }

    async fn import_tickets(&self, event_id: u32, tickets: usize, codes: Codes) -> Result<()> {
        let ids: Vec<usize> = (1..=tickets).collect();
        for chunk in ids.chunks(IMPORT_CHUNK) {
            let mut csv = String::from(match codes {
                Codes::Signed => "ticket_id,holder,type\n",
                Codes::Opaque => "ticket_id,holder,type,barcode\n",
            });
            for &t in chunk {
                csv.push_str(&format!("{t},Peserta {t},1"));
                if codes == Codes::Opaque {
                    csv.push(',');
                    csv.push_str(&barcode(event_id, t));
                }
                csv.push('\n');
            }
            let _: serde_json::Value = self
                .call(
                    self.http
                        .post(self.url(&format!("/api/v1/events/{event_id}/tickets")))
                        .header("content-type", "text/csv")
                        .body(csv),
                    "importing tickets",
                )
                .await?;
        }
        Ok(())
    }

    /// The signed codes of tickets 1..=`tickets`, from the ticket list (admins see codes).
    async fn signed_codes(&self, event_id: u32, tickets: usize) -> Result<Vec<String>> {
        #[derive(Deserialize)]
        struct Page {
            tickets: Vec<Ticket>,
            next_after: Option<u64>,
        }
        #[derive(Deserialize)]
        struct Ticket {
            code: Option<String>,
        }
        let mut codes = Vec::with_capacity(tickets);
        let mut after = 0;
        while codes.len() < tickets {
            let page: Page = self
                .call(
                    self.http.get(self.url(&format!(
                        "/api/v1/events/{event_id}/tickets?after={after}&limit=1000"
                    ))),
                    "listing ticket codes",
                )
                .await?;
            for ticket in page.tickets {
                codes.push(ticket.code.ok_or_else(|| {
                    Error::Setup("the relay listed a ticket without a code".into())
                })?);
            }
            match page.next_after {
                Some(next) => after = next,
                None => break,
            }
        }
        codes.truncate(tickets);
        Ok(codes)
    }

    /// Pairs `count` gate devices the way a gate does: a one-time code from the admin API,
    /// exchanged for a device token.
    pub async fn pair_gates(&self, count: usize) -> Result<Vec<String>> {
        #[derive(Deserialize)]
        struct Code {
            code: String,
        }
        #[derive(Deserialize)]
        struct Paired {
            token: String,
        }
        stream::iter(0..count)
            .map(|i| async move {
                let code: Code = self
                    .call(
                        self.http
                            .post(self.url("/api/v1/pairing-codes"))
                            .json(&json!({"role": "gate"})),
                        "making a pairing code",
                    )
                    .await?;
                let paired: Paired = self
                    .call(
                        self.http.post(self.url("/api/v1/pair")).json(
                            &json!({"code": code.code, "device_name": format!("Gerbang {i}")}),
                        ),
                        "pairing a gate",
                    )
                    .await?;
                Ok::<_, Error>(paired.token)
            })
            .buffered(PAIRING_CONCURRENCY)
            .try_collect()
            .await
    }
}

/// The barcode of an opaque ticket.
fn barcode(event_id: u32, ticket: usize) -> String {
    format!("BEBAN-{event_id}-{ticket:07}")
}
