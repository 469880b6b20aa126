//! A relay with a demo event, and a WebSocket client that speaks the protocol, over plain TCP
//! or over TLS pinning the relay's certificate (a pinning client of its own, independent of
//! the gate's).

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use gerbang_core::protocol::{self, ClientMessage, LogBody, Role, ScanRecord, ServerMessage};
use gerbang_core::{
    Direction, EventRules, EventSigner, Millis, TicketClaims, TicketRecord, TicketType, VerdictKind,
};
use gerbang_relay::{Admin, Config, Location, Relay, TlsIdentity};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

pub const EVENT: u32 = 1;
/// Every wait in these tests is for a condition, bounded by this deadline.
pub const DEADLINE: Duration = Duration::from_secs(10);

pub fn signer() -> EventSigner {
    EventSigner::from_secret(EVENT, 1, [5; 32])
}

pub fn ticket_code(ticket_id: u32) -> String {
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

/// Ticket `ticket_id` of event 1, type 1, held by "Peserta <id>".
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

/// Writes event 1 ("Seminar Nasional"), its signing key and tickets 1 to 10 into a relay.
pub async fn seed(relay: &Relay) {
    let writer = relay.writer();
    writer
        .append(LogBody::EventUpdated {
            event: EventRules {
                id: EVENT,
                name: "Seminar Nasional".into(),
                doors_open: None,
                doors_close: None,
                capacity: Some(500),
                reentry: true,
                max_entries_per_day: None,
                max_entries_total: None,
                utc_offset_minutes: 420,
                ticket_types: vec![TicketType {
                    id: 1,
                    name: "Reguler".into(),
                }],
            },
        })
        .await
        .unwrap();
    writer
        .append(LogBody::KeyAdded {
            key: signer().public_key(),
        })
        .await
        .unwrap();
    for ticket_id in 1..=10 {
        writer
            .append(LogBody::TicketUpsert {
                ticket: ticket(ticket_id),
            })
            .await
            .unwrap();
    }
}

/// A running relay on a temporary database.
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
    /// Starts a relay with event 1 ("Seminar Nasional"), its key, and ticket 1 to 10 known.
    pub async fn start() -> TestRelay {
        TestRelay::start_with(|_| {}).await
    }

    /// [`TestRelay::start`] with the relay's clock pinned (commit times, statistics).
    pub async fn start_at(clock: fn() -> Millis) -> TestRelay {
        TestRelay::start_with(|config| config.clock = clock).await
    }

    /// The same, serving TLS with a certificate made for the test.
    pub async fn start_tls() -> TestRelay {
        TestRelay::start_with(|config| {
            config.tls = Some(TlsIdentity::generate(&["localhost".into()]).unwrap());
        })
        .await
    }

    /// The same, with `configure` applied to the configuration first.
    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> TestRelay {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new(Location::file(dir.path().join("relay.sqlite3")));
        configure(&mut config);
        let relay = Relay::open(config).unwrap();
        seed(&relay).await;
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

    /// A client of this relay: over TLS pinning its certificate when it serves TLS.
    pub async fn connect(&self) -> Client {
        match &self.fingerprint {
            Some(fp) => Client::connect_tls(self.addr, fp).await.unwrap(),
            None => Client::connect(self.addr).await,
        }
    }

    pub fn token(&self, name: &str, role: Role) -> (String, String) {
        let (device, token) = self.admin.create_device(name, role).unwrap();
        (device.id, token)
    }

    /// A connected client that has said hello and read through `caught_up`.
    pub async fn client(&self, name: &str, role: Role) -> Client {
        let (_, token) = self.token(name, role);
        let mut client = self.connect().await;
        client.hello(&token, 0).await;
        let welcome = client.recv().await;
        assert!(
            matches!(welcome, ServerMessage::Welcome { .. }),
            "{welcome:?}"
        );
        client
            .until(|m| matches!(m, ServerMessage::CaughtUp { .. }))
            .await;
        client
    }

    /// Stops the relay and waits until it has committed everything and exited.
    pub async fn stop(self) {
        tokio::time::timeout(DEADLINE, self.running.stop())
            .await
            .expect("relay did not stop in time")
            .unwrap();
    }
}

/// A byte stream to the relay, plain or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

pub struct Client {
    ws: WebSocketStream<Box<dyn Io>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    pub async fn connect(addr: std::net::SocketAddr) -> Client {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let url = format!("ws://{addr}{}", protocol::WS_PATH);
        let stream: Box<dyn Io> = Box::new(tcp);
        let (ws, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
        Client { ws }
    }

    /// A WebSocket over TLS that trusts only the certificate with `fingerprint`; the error
    /// is the TLS handshake's (or the WebSocket handshake's) as text.
    pub async fn connect_tls(
        addr: std::net::SocketAddr,
        fingerprint: &str,
    ) -> Result<Client, String> {
        let tls = tls_connect(addr, fingerprint).await?;
        let url = format!("wss://{addr}{}", protocol::WS_PATH);
        let stream: Box<dyn Io> = Box::new(tls);
        let (ws, _) = tokio_tungstenite::client_async(url, stream)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Client { ws })
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.unwrap();
    }

    /// Sends several messages in one write, so the relay receives them together (as from a
    /// gate uploading its outbox).
    pub async fn send_burst(&mut self, messages: &[ClientMessage]) {
        for message in messages {
            let text = protocol::encode_client(message);
            self.ws.feed(Message::text(text)).await.unwrap();
        }
        self.ws.flush().await.unwrap();
    }

    pub async fn send(&mut self, message: &ClientMessage) {
        self.send_raw(&protocol::encode_client(message)).await;
    }

    pub async fn hello(&mut self, token: &str, cursor: u64) {
        self.send(&ClientMessage::Hello {
            token: token.into(),
            cursor,
            device_name: "test".into(),
            app_version: "0".into(),
        })
        .await;
    }

    /// The next protocol message other than `stats`; panics on close or after the deadline.
    /// Statistics are pushed whenever counts change, between any two other messages, so
    /// tests about other messages skip them; tests about statistics use [`Client::recv_any`].
    pub async fn recv(&mut self) -> ServerMessage {
        loop {
            match self.recv_any().await {
                ServerMessage::Stats { .. } => continue,
                message => return message,
            }
        }
    }

    /// The next protocol message, `stats` included.
    pub async fn recv_any(&mut self) -> ServerMessage {
        self.try_recv().await.expect("connection closed")
    }

    /// The next protocol message, or `None` once the connection is gone.
    pub async fn try_recv(&mut self) -> Option<ServerMessage> {
        loop {
            let frame = tokio::time::timeout(DEADLINE, self.ws.next())
                .await
                .expect("no message before the deadline");
            match frame {
                Some(Ok(Message::Text(text))) => {
                    return Some(protocol::decode_server(text.as_str()).unwrap())
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Reads until a message matches, returning it (`stats` included).
    pub async fn until(&mut self, mut wanted: impl FnMut(&ServerMessage) -> bool) -> ServerMessage {
        loop {
            let message = self.recv_any().await;
            if wanted(&message) {
                return message;
            }
        }
    }

    /// Reads until the relay closes, returning the last error message and the close code.
    pub async fn closed(&mut self) -> (Option<ServerMessage>, Option<u16>) {
        let mut error = None;
        loop {
            let frame = tokio::time::timeout(DEADLINE, self.ws.next())
                .await
                .expect("not closed before the deadline");
            match frame {
                Some(Ok(Message::Text(text))) => {
                    error = protocol::decode_server(text.as_str()).ok();
                }
                Some(Ok(Message::Close(frame))) => {
                    return (error, frame.map(|f| u16::from(f.code)))
                }
                Some(Ok(_)) => {}
                None | Some(Err(_)) => return (error, None),
            }
        }
    }
}

pub fn scan(ticket_id: u32, gate: &str, at: Millis, local: VerdictKind) -> ScanRecord {
    ScanRecord {
        scan_id: uuid::Uuid::now_v7(),
        event_id: EVENT,
        code: ticket_code(ticket_id),
        ticket_id: Some(ticket_id),
        gate: gate.into(),
        direction: Direction::Entry,
        at,
        local,
    }
}

/// The HTTP API of a test relay.
#[derive(Debug)]
pub struct Http {
    base: String,
    client: reqwest::Client,
}

/// A request body.
#[derive(Debug)]
pub enum Body {
    Json(serde_json::Value),
    Csv(&'static str),
}

impl Http {
    pub fn new(relay: &TestRelay) -> Http {
        Http {
            base: format!("http://{}", relay.addr),
            client: reqwest::Client::new(),
        }
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Body>,
    ) -> reqwest::RequestBuilder {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        // Paths are under /api/v1 unless they start at the root (/metrics).
        let url = if path.starts_with("/metrics") {
            format!("{}{path}", self.base)
        } else {
            format!("{}/api/v1{path}", self.base)
        };
        let mut request = self.client.request(method, url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        match body {
            Some(Body::Json(json)) => request.json(&json),
            Some(Body::Csv(text)) => request
                .header("content-type", "text/csv")
                .body(text.to_owned()),
            None => request,
        }
    }

    /// Sends a request and returns the status and the JSON body (Null when empty).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Body>,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let response = self
            .request(method, path, token, body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }

    /// A GET whose body is not JSON: the status, the content type and the bytes.
    pub async fn get_bytes(
        &self,
        path: &str,
        token: Option<&str>,
    ) -> (reqwest::StatusCode, String, Vec<u8>) {
        let response = self.request("GET", path, token, None).send().await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (
            status,
            content_type,
            response.bytes().await.unwrap().to_vec(),
        )
    }
}

/// 2026-11-21 12:00 UTC, 19:00 in Jakarta: the pinned relay clock of tests that need exact
/// times.
pub const NOW: i64 = 1_795_262_400_000;

pub fn fixed_clock() -> Millis {
    Millis(NOW)
}

/// A scan of any code, in either direction.
pub fn scan_of(code: &str, gate: &str, direction: Direction, at: i64) -> ScanRecord {
    ScanRecord {
        scan_id: uuid::Uuid::now_v7(),
        event_id: EVENT,
        code: code.to_owned(),
        ticket_id: None,
        gate: gate.into(),
        direction,
        at: Millis(at),
        local: if direction == Direction::Exit {
            VerdictKind::ExitRecorded
        } else {
            VerdictKind::Admitted
        },
    }
}

/// Uploads scans from `client` one after the other (pipelined) and returns their official
/// verdicts, in order.
pub async fn upload(client: &mut Client, scans: Vec<ScanRecord>) -> Vec<VerdictKind> {
    let n = scans.len();
    for scan in scans {
        client.send(&ClientMessage::Scan { scan }).await;
    }
    let mut verdicts = Vec::with_capacity(n);
    while verdicts.len() < n {
        if let ServerMessage::Ack { official, .. } = client.recv().await {
            verdicts.push(official.kind);
        }
    }
    verdicts
}
/// A TLS connection to the relay trusting only the certificate with `fingerprint`.
pub async fn tls_connect(
    addr: std::net::SocketAddr,
    fingerprint: &str,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    tokio_rustls::TlsConnector::from(pinned(fingerprint))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| match e.get_ref() {
            Some(inner) => inner.to_string(),
            None => e.to_string(),
        })
}

/// A TLS client configuration that trusts exactly the certificate with `fingerprint`.
pub fn pinned(fingerprint: &str) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(Pinned {
        fingerprint: fingerprint.to_owned(),
        provider: Arc::clone(&provider),
    });
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth(),
    )
}

#[derive(Debug)]
struct Pinned {
    fingerprint: String,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if gerbang_relay::tls::fingerprint(end_entity) == self.fingerprint {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("not the pinned certificate".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
