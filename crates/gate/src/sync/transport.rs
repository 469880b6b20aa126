//! How a gate reaches its relay: the WebSocket (`ws://` or `wss://`) and HTTP (pairing,
//! snapshots) over the same address, with the relay's certificate pinned for TLS
//! ([`super::tls`]).
//!
//! **Rules:** a `wss://` relay needs the fingerprint from pairing, and the gate trusts only
//! that certificate; plain `ws://` is allowed only to a relay on this machine (loopback), where
//! nothing crosses a network.

use std::net::IpAddr;
use std::sync::Arc;

use gerbang_core::protocol::{LINK_TIMEOUT, WS_PATH};
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::WebSocketStream;

use super::tls::{self, MISMATCH};

/// A byte stream to the relay: plain TCP or TLS over TCP.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A WebSocket to the relay.
pub type Socket = WebSocketStream<Box<dyn Io>>;

/// Why a relay address cannot be used as it is; each says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("the relay address {0:?} must look like wss://host:port (or ws://127.0.0.1:port for a relay on this machine)")]
    Malformed(String),
    #[error(
        "plain ws:// is allowed only to a relay on this machine, and {0} is not: tokens and \
         scans would cross the network unencrypted. Pair with the relay's wss:// pairing text"
    )]
    PlainNotLoopback(String),
    #[error(
        "{0} serves TLS, but this gate has no fingerprint of its certificate to check it \
         with; pair again with the full pairing text the relay shows (it ends with fp=...)"
    )]
    NoFingerprint(String),
}

/// A relay address taken apart: `ws[s]://host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayAddress {
    pub tls: bool,
    /// A DNS name, an IPv4 address, or an IPv6 address without its brackets.
    pub host: String,
    pub port: u16,
}

impl RelayAddress {
    pub fn parse(relay: &str) -> Result<RelayAddress, AddressError> {
        let malformed = || AddressError::Malformed(relay.to_owned());
        let (tls, rest) = if let Some(rest) = relay.strip_prefix("wss://") {
            (true, rest)
        } else if let Some(rest) = relay.strip_prefix("ws://") {
            (false, rest)
        } else {
            return Err(malformed());
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
            let (host, after) = bracketed.split_once(']').ok_or_else(malformed)?;
            (host, after.strip_prefix(':'))
        } else {
            match rest.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            }
        };
        let port = match port {
            Some(port) => port.parse().map_err(|_| malformed())?,
            None if tls => 443,
            None => 80,
        };
        if host.is_empty() || host.contains(['/', '?', '#', ' ', '@']) {
            return Err(malformed());
        }
        Ok(RelayAddress {
            tls,
            host: host.to_owned(),
            port,
        })
    }

    /// Whether the host is this machine.
    pub fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

/// What a gate connects to its relay with: the address and, for TLS, the pinned configuration.
#[derive(Clone)]
pub struct Transport {
    relay: String,
    address: RelayAddress,
    tls: Option<Arc<ClientConfig>>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("relay", &self.relay)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Transport {
    /// The way to `relay` (`wss://host:port` with the certificate's `fingerprint`, or
    /// `ws://` to a loopback address).
    pub fn new(relay: &str, fingerprint: Option<&str>) -> Result<Transport, AddressError> {
        let address = RelayAddress::parse(relay)?;
        let tls = match (address.tls, fingerprint) {
            (true, Some(fp)) => Some(tls::pinned_config(fp)),
            (true, None) => return Err(AddressError::NoFingerprint(relay.to_owned())),
            (false, _) if !address.is_loopback() => {
                return Err(AddressError::PlainNotLoopback(relay.to_owned()))
            }
            (false, _) => None,
        };
        Ok(Transport {
            relay: relay.trim_end_matches('/').to_owned(),
            address,
            tls,
        })
    }

    pub fn relay(&self) -> &str {
        &self.relay
    }

    /// The HTTP URL of `path` (which starts with `/`) on the relay.
    pub fn http_url(&self, path: &str) -> String {
        format!("{}{path}", gerbang_core::pairing::http_base(&self.relay))
    }

    /// Opens the WebSocket: TCP (no Nagle delay: acks and live entries are small), the TLS
    /// handshake with the pinned certificate, the WebSocket handshake. The error is in plain
    /// words; a certificate that is not the pinned one gives exactly [`MISMATCH`].
    pub async fn connect(&self, config: WebSocketConfig) -> Result<Socket, String> {
        let (host, port) = (self.address.host.as_str(), self.address.port);
        let relay = &self.relay;
        let tcp = TcpStream::connect((host, port))
            .await
            .map_err(|e| format!("could not connect to the relay at {relay}: {e}"))?;
        tcp.set_nodelay(true)
            .map_err(|e| format!("could not set up the connection to {relay}: {e}"))?;
        let stream: Box<dyn Io> = match &self.tls {
            None => Box::new(tcp),
            Some(config) => {
                let tls = TlsConnector::from(Arc::clone(config))
                    .connect(server_name(host), tcp)
                    .await
                    .map_err(|e| describe(&e, relay))?;
                Box::new(tls)
            }
        };
        let url = format!("{relay}{WS_PATH}");
        let (socket, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config))
            .await
            .map_err(|e| describe(&e, relay))?;
        Ok(socket)
    }

    /// An HTTP client for the relay's API, pinning its certificate like the WebSocket.
    pub fn http_client(&self) -> Result<reqwest::Client, String> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(LINK_TIMEOUT)
            .tcp_nodelay(true);
        if let Some(config) = &self.tls {
            builder = builder.use_preconfigured_tls(ClientConfig::clone(config));
        }
        builder
            .build()
            .map_err(|e| format!("could not set up HTTP to the relay: {e}"))
    }
}

/// A failure to reach the relay in plain words: [`MISMATCH`] for the wrong certificate.
pub fn describe(error: &(dyn std::error::Error + 'static), relay: &str) -> String {
    if tls::mismatch_in(error).is_some() {
        return MISMATCH.to_owned();
    }
    format!(
        "could not connect to the relay at {relay}: {}",
        causes(error)
    )
}

/// An error and its causes, one after the other ("error sending request: connection
/// refused"): HTTP clients put the useful part in the causes.
pub fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        next = cause.source();
    }
    text
}

/// The name to ask TLS for. A pinned certificate is accepted whatever its names, so any valid
/// name will do when the host is not one (rustls needs a name to send).
fn server_name(host: &str) -> ServerName<'static> {
    ServerName::try_from(host.to_owned())
        .unwrap_or_else(|_| ServerName::try_from("relay.gerbang.invalid").expect("a valid name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_taken_apart() {
        let parse = |text: &str| RelayAddress::parse(text).map(|a| (a.tls, a.host, a.port));
        assert_eq!(
            parse("wss://hall.local:8420"),
            Ok((true, "hall.local".into(), 8420))
        );
        assert_eq!(
            parse("ws://127.0.0.1:9/"),
            Ok((false, "127.0.0.1".into(), 9))
        );
        assert_eq!(parse("wss://[::1]:8420"), Ok((true, "::1".into(), 8420)));
        assert_eq!(
            parse("wss://relay.example"),
            Ok((true, "relay.example".into(), 443))
        );
        for bad in [
            "http://h:1",
            "wss://",
            "wss://h:port",
            "wss://[::1",
            "wss://a b:1",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn plain_is_for_loopback_and_tls_needs_a_fingerprint() {
        let fp = "ab".repeat(32);
        assert!(Transport::new("ws://127.0.0.1:8420", None).is_ok());
        assert!(Transport::new("ws://localhost:8420", None).is_ok());
        assert!(Transport::new("ws://[::1]:8420", None).is_ok());
        assert!(Transport::new("wss://192.168.1.10:8420", Some(&fp)).is_ok());
        assert_eq!(
            Transport::new("ws://192.168.1.10:8420", None).unwrap_err(),
            AddressError::PlainNotLoopback("ws://192.168.1.10:8420".into())
        );
        let err = Transport::new("wss://192.168.1.10:8420", None).unwrap_err();
        assert!(err.to_string().contains("fp="), "{err}");
    }
}
