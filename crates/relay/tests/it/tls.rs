//! TLS on the relay's one port: clients that pin the certificate's fingerprint get in, others do
//! not, and clients that fail in any way (plain HTTP, a broken handshake, silence) disturb no
//! one else. The binary makes its certificate once and prints its fingerprint.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use gerbang_core::protocol::{ClientMessage, Role, ServerMessage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{tls_connect, Client, TestRelay, DEADLINE};

/// Pings and waits for the pong: the connection is alive and served.
async fn round_trip(client: &mut Client, nonce: u64) {
    client.send(&ClientMessage::Ping { nonce }).await;
    let pong = client
        .until(|m| matches!(m, ServerMessage::Pong { .. }))
        .await;
    assert!(matches!(pong, ServerMessage::Pong { nonce: n, .. } if n == nonce));
}

#[tokio::test]
async fn a_client_pinning_the_certificate_syncs_over_wss_and_https() {
    let relay = TestRelay::start_tls().await;
    let fingerprint = relay.fingerprint.clone().unwrap();
    let mut gate = relay.client("Gerbang A", Role::Gate).await;
    round_trip(&mut gate, 1).await;

    // The HTTP API is on the same port, under the same certificate.
    let http = reqwest::Client::builder()
        .use_preconfigured_tls(rustls::ClientConfig::clone(&crate::pinned(&fingerprint)))
        .build()
        .unwrap();
    let health: serde_json::Value = http
        .get(format!("https://{}/api/v1/health", relay.addr))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    relay.stop().await;
}

#[tokio::test]
async fn a_client_pinning_another_certificate_is_refused_in_the_handshake() {
    let relay = TestRelay::start_tls().await;
    let other = gerbang_relay::TlsIdentity::generate(&["localhost".into()]).unwrap();
    let err = tls_connect(relay.addr, other.fingerprint())
        .await
        .unwrap_err();
    assert!(err.contains("not the pinned certificate"), "{err}");
    relay.stop().await;
}

#[tokio::test]
async fn clients_that_fail_on_the_tls_port_disturb_no_one() {
    let relay = TestRelay::start_tls().await;
    let fingerprint = relay.fingerprint.clone().unwrap();
    let mut first = relay.client("Gerbang A", Role::Gate).await;

    // Silence: a connection that never starts its handshake, held open throughout.
    let silent = TcpStream::connect(relay.addr).await.unwrap();
    // A handshake record that is garbage.
    let mut broken = TcpStream::connect(relay.addr).await.unwrap();
    broken
        .write_all(&[0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5])
        .await
        .unwrap();
    // Plain HTTP: told in plain words what the port speaks.
    let mut plain = TcpStream::connect(relay.addr).await.unwrap();
    plain
        .write_all(b"GET /api/v1/health HTTP/1.1\r\nhost: relay\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    tokio::time::timeout(DEADLINE, plain.read_to_string(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 400 Bad Request"), "{answer}");
    assert!(
        answer.contains("speaks TLS: use https:// or wss://"),
        "{answer}"
    );
    // A WebSocket client that forgot TLS gets the same answer, as an HTTP error.
    let url = format!("ws://{}{}", relay.addr, gerbang_core::protocol::WS_PATH);
    let err = tokio_tungstenite::connect_async(url).await.unwrap_err();
    assert!(err.to_string().contains("400"), "{err}");
    // The broken handshake is closed by the relay.
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(DEADLINE, broken.read_to_end(&mut rest))
        .await
        .unwrap();

    // Meanwhile the first client is served as before, and a new one gets in.
    round_trip(&mut first, 2).await;
    let mut second = Client::connect_tls(relay.addr, &fingerprint).await.unwrap();
    let (_, token) = relay.token("Gerbang B", Role::Gate);
    second.hello(&token, 0).await;
    assert!(matches!(second.recv().await, ServerMessage::Welcome { .. }));
    second
        .until(|m| matches!(m, ServerMessage::CaughtUp { .. }))
        .await;
    round_trip(&mut second, 3).await;
    drop(silent);
    relay.stop().await;
}

/// A child process killed when dropped, whatever happens to the test.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The binary, started twice on one data directory: it makes its certificate on the first
/// start, keeps it, and prints the fingerprint in the pairing text; a client pinning that
/// fingerprint gets in.
#[tokio::test]
async fn the_binary_serves_tls_by_default_with_one_certificate_for_good() {
    let data = tempfile::tempdir().unwrap();
    let start = || {
        let mut child = Killed(
            Command::new(env!("CARGO_BIN_EXE_gerbang-relay"))
                .args(["--listen", "127.0.0.1:0", "--log", "warn", "--data-dir"])
                .arg(data.path())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
        let (mut printed_fp, mut pairing) = (None, None);
        let addr: std::net::SocketAddr = loop {
            let line = lines
                .next()
                .expect("the relay exited before listening")
                .unwrap();
            if let Some(rest) = line.strip_prefix("TLS certificate ") {
                printed_fp = rest.rsplit(' ').next().map(str::to_owned);
            }
            if let Some(at) = line.find("gerbang://pair?") {
                pairing = Some(gerbang_core::pairing::PairingLink::parse(&line[at..]).unwrap());
            }
            if let Some(rest) = line.strip_prefix("Gerbang relay listening on wss://") {
                break rest.split('/').next().unwrap().parse().unwrap();
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        (child, addr, printed_fp.unwrap(), pairing.unwrap())
    };

    let (child, addr, fingerprint, link) = start();
    let stored = std::fs::read(data.path().join(gerbang_relay::tls::CERT_FILE)).unwrap();
    use rustls::pki_types::pem::PemObject;
    let der = rustls::pki_types::CertificateDer::from_pem_slice(&stored).unwrap();
    assert_eq!(fingerprint, gerbang_relay::tls::fingerprint(&der));
    assert_eq!(link.fingerprint.as_deref(), Some(fingerprint.as_str()));
    assert_eq!(link.relay, format!("wss://{addr}"));
    tls_connect(addr, &fingerprint).await.unwrap();
    drop(child);

    let (_child, addr, again, _) = start();
    assert_eq!(again, fingerprint, "the certificate is made once");
    tls_connect(addr, &fingerprint).await.unwrap();
}
