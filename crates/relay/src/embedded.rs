//! Hosting the relay inside another program: "host the relay on this laptop" in the desktop
//! app. The same server as the binary, started on the caller's tokio runtime, with its data in
//! a directory of the caller's choosing and, on a new relay, the demo event.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use gerbang_core::pairing::PairingLink;
use gerbang_core::protocol::Role;

use crate::error::{Error, Result};
use crate::{demo, Admin, Config, Location, Relay, Running};

/// How to host a relay.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Where the relay's database lives (created if missing).
    pub data_dir: PathBuf,
    /// Where to listen. When the port is taken (another relay on this machine), the relay
    /// listens on a free port of the same address instead: a laptop hosting a relay should
    /// start, and the pairing text always names the port actually used.
    pub listen: SocketAddr,
    /// Tickets of the demo event to create on a relay without any event; `None` creates none.
    pub demo_tickets: Option<u32>,
}

/// A relay running inside this process.
#[derive(Debug)]
pub struct Hosted {
    running: Running,
    /// The address other devices use: the listening address, or this machine's address on
    /// the local network when listening on all interfaces.
    public: SocketAddr,
}

impl Hosted {
    /// Opens (or creates) the relay in `config.data_dir` and starts serving.
    pub async fn start(config: HostConfig) -> Result<Hosted> {
        std::fs::create_dir_all(&config.data_dir)?;
        let relay = Relay::open(Config::new(Location::file(database(&config.data_dir))))?;
        if let Some(tickets) = config.demo_tickets {
            demo::seed_demo(&relay.admin(), tickets).await?;
        }
        let listener = match tokio::net::TcpListener::bind(config.listen).await {
            Ok(listener) => listener,
            Err(err)
                if err.kind() == std::io::ErrorKind::AddrInUse && config.listen.port() != 0 =>
            {
                tracing::info!(
                    "port {} is taken; the hosted relay listens on a free port",
                    config.listen.port()
                );
                tokio::net::TcpListener::bind(SocketAddr::new(config.listen.ip(), 0)).await?
            }
            Err(err) => return Err(Error::Io(err)),
        };
        let addr = listener.local_addr()?;
        let public = if addr.ip().is_unspecified() {
            SocketAddr::new(lan_address().unwrap_or(addr.ip()), addr.port())
        } else {
            addr
        };
        let running = relay.spawn(listener)?;
        Ok(Hosted { running, public })
    }

    /// Where the relay listens.
    pub fn addr(&self) -> SocketAddr {
        self.running.addr
    }

    /// The address a device on this machine connects to (`ws://127.0.0.1:port` when
    /// listening on all interfaces).
    pub fn local_url(&self) -> String {
        let addr = self.running.addr;
        let ip = if addr.ip().is_unspecified() {
            std::net::IpAddr::from([127, 0, 0, 1])
        } else {
            addr.ip()
        };
        format!("ws://{}", SocketAddr::new(ip, addr.port()))
    }

    /// The address other devices connect to.
    pub fn public_url(&self) -> String {
        format!("ws://{}", self.public)
    }

    pub fn admin(&self) -> &Admin {
        &self.running.admin
    }

    /// A new one-time pairing code for `role`, as the pairing text other devices scan.
    pub fn pairing_link(&self, role: Role) -> Result<PairingLink> {
        let code = self.admin().create_pairing_code(role)?;
        Ok(PairingLink {
            relay: self.public_url(),
            code,
            fingerprint: None,
        })
    }

    /// Stops accepting, closes every connection, commits what is queued.
    pub async fn stop(self) -> Result<()> {
        self.running.stop().await
    }
}

/// The database file in a relay's data directory (the binary uses the same name).
pub fn database(data_dir: &Path) -> PathBuf {
    data_dir.join("relay.sqlite3")
}

/// This machine's address on the local network: the source address the system would use to
/// reach a public address. A UDP "connection" sends nothing; it only asks the routing table.
/// `None` without a network.
pub fn lan_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind(("0.0.0.0", 0)).ok()?;
    // TEST-NET-1 (RFC 5737): routable in the table, never a real host.
    socket.connect(("192.0.2.1", 9)).ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_unspecified()).then_some(ip)
}
