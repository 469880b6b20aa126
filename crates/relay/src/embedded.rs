//! Hosting the relay inside another program: "host the relay on this laptop" in the desktop
//! app. The same server as the binary, started on the caller's tokio runtime, with its data in
//! a directory of the caller's choosing, TLS with a certificate made once (so other gates pin
//! it), and, on a new relay, the demo event.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use gerbang_core::pairing::PairingLink;
use gerbang_core::protocol::Role;

use crate::error::{Error, Result};
use crate::{demo, Admin, Config, Location, Relay, Running, TlsIdentity};

/// How to host a relay.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Where the relay's database (and its certificate) live; created if missing.
    pub data_dir: PathBuf,
    /// Where to listen. When the port is taken (another relay on this machine), the relay
    /// listens on a free port of the same address instead: a laptop hosting a relay should
    /// start, and the pairing text always names the port actually used.
    pub listen: SocketAddr,
    /// Serve wss/https with the relay's certificate. Without it the relay serves plain ws/http,
    /// which gates accept only on loopback.
    pub tls: bool,
    /// Tickets of the demo event to create on a relay without any event; `None` creates none.
    pub demo_tickets: Option<u32>,
}

/// A relay running inside this process.
#[derive(Debug)]
pub struct Hosted {
    running: Running,
    /// The address other devices use, e.g. `wss://192.168.1.10:8420`.
    public_url: String,
}

impl Hosted {
    /// Opens (or creates) the relay in `config.data_dir` and starts serving.
    pub async fn start(config: HostConfig) -> Result<Hosted> {
        std::fs::create_dir_all(&config.data_dir)?;
        let advertised = advertised_host(config.listen.ip());
        let mut relay_config = Config::new(Location::file(database(&config.data_dir)));
        if config.tls {
            let mut names = vec![config.listen.ip(), IpAddr::from([127, 0, 0, 1])];
            if let Ok(ip) = advertised.trim_matches(['[', ']']).parse::<IpAddr>() {
                names.push(ip);
            }
            relay_config.tls = Some(TlsIdentity::load_or_create(&config.data_dir, &names)?);
        }
        let relay = Relay::open(relay_config)?;
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
        let port = listener.local_addr()?.port();
        let scheme = if config.tls { "wss" } else { "ws" };
        let public_url = format!("{scheme}://{advertised}:{port}");
        let running = relay.spawn(listener)?;
        Ok(Hosted {
            running,
            public_url,
        })
    }

    /// Where the relay listens.
    pub fn addr(&self) -> SocketAddr {
        self.running.addr
    }

    /// The address a device on this machine connects to: loopback, whatever the relay
    /// listens on.
    pub fn local_url(&self) -> String {
        let addr = self.running.addr;
        let ip = if addr.ip().is_unspecified() {
            IpAddr::from([127, 0, 0, 1])
        } else {
            addr.ip()
        };
        let scheme = if self.fingerprint().is_some() {
            "wss"
        } else {
            "ws"
        };
        format!("{scheme}://{}", SocketAddr::new(ip, addr.port()))
    }

    /// The address other devices connect to.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The SHA-256 fingerprint of the relay's certificate, with TLS.
    pub fn fingerprint(&self) -> Option<&str> {
        self.running.fingerprint.as_deref()
    }

    pub fn admin(&self) -> &Admin {
        &self.running.admin
    }

    /// A new one-time pairing code for `role`, as the pairing text other devices scan.
    pub fn pairing_link(&self, role: Role) -> Result<PairingLink> {
        let code = self.admin().create_pairing_code(role)?;
        Ok(PairingLink {
            relay: self.public_url.clone(),
            code,
            fingerprint: self.running.fingerprint.clone(),
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

/// The host part of the address to give gates for a relay listening on `ip`: `ip` itself,
/// unless it is unspecified (0.0.0.0 or ::), then the address this machine uses on its network
/// (the source address of a route to the outside; a UDP "connect" sends nothing), else its
/// hostname.
pub fn advertised_host(ip: IpAddr) -> String {
    let host = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => format!("[{v6}]"),
        IpAddr::V4(v4) => v4.to_string(),
    };
    if !ip.is_unspecified() {
        return host(ip);
    }
    let (bind, probe): (SocketAddr, SocketAddr) = if ip.is_ipv4() {
        (([0, 0, 0, 0], 0).into(), ([192, 0, 2, 1], 9).into())
    } else {
        (
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
            (std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), 9).into(),
        )
    };
    let routed = std::net::UdpSocket::bind(bind)
        .and_then(|socket| {
            socket.connect(probe)?;
            socket.local_addr()
        })
        .map(|local| local.ip());
    match routed {
        Ok(local) if !local.is_unspecified() => host(local),
        _ => std::fs::read_to_string("/etc/hostname")
            .map(|name| name.trim().to_owned())
            .ok()
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "localhost".to_owned()),
    }
}
