//! What the app holds while it runs, and how it starts: the gate's station (store + link to a
//! relay) and, when this laptop hosts the relay, the embedded relay.
//!
//! Start-up, in order: open the gate's database; then, in the background, either host the
//! relay (first run, or the operator chose to) and connect the station to it over loopback, or
//! connect to the relay the gate was paired with. The window opens while that happens: the
//! scan screen shows "connecting" for the few milliseconds it takes.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context as _;
use gerbang_core::protocol::{Alert, EventStats, Role};
use gerbang_core::{Direction, GateRules};
use gerbang_gate::store::Pairing;
use gerbang_gate::sync::{self, SyncConfig};
use gerbang_gate::{Station, Store};
use gerbang_relay::embedded::{HostConfig, Hosted};

use crate::dto::Prefs;

/// Where the app keeps its data unless `GERBANG_DATA_DIR` says otherwise (tests, several
/// instances on one machine).
pub const DATA_DIR_ENV: &str = "GERBANG_DATA_DIR";
/// Where a hosted relay listens unless `GERBANG_RELAY_LISTEN` says otherwise.
pub const LISTEN_ENV: &str = "GERBANG_RELAY_LISTEN";
/// A hosted relay listens on every interface, so the hall's other laptops can reach it (over
/// TLS, with the certificate pinned at pairing), on the relay's default port.
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 8420);
/// Tickets of the demo event a first run creates.
pub const DEMO_TICKETS_ENV: &str = "GERBANG_DEMO_TICKETS";

/// App settings kept in the gate's store (`Store::app_setting`).
mod setting {
    /// `"host"` or `"client"`: whether this laptop hosts the relay.
    pub const MODE: &str = "mode";
    pub const PREFS: &str = "prefs";
}

/// Alerts kept for the dashboard.
const ALERTS_KEPT: usize = 50;

/// Everything the commands share.
pub struct AppState {
    pub station: Arc<Station>,
    pub data_dir: PathBuf,
    /// The relay this laptop hosts, if it does. An async mutex: starting and stopping a relay
    /// awaits while holding it, so two clicks cannot start two relays.
    pub hosted: tokio::sync::Mutex<Option<Hosted>>,
    /// The latest alerts from the relay, newest last; alerts are live notices, not log
    /// entries, so the app remembers the ones it saw.
    pub alerts: Mutex<VecDeque<Alert>>,
    /// The relay's latest live figures.
    pub stats: Mutex<Option<EventStats>>,
    /// The camera, while it runs (see `camera.rs`). Held only to swap it.
    pub camera: Mutex<Option<gerbang_gate::camera::CameraService>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Opens the gate's database in `data_dir` and gives the gate a name on its first run.
    pub fn open(data_dir: &Path) -> anyhow::Result<AppState> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create the data folder {}", data_dir.display()))?;
        let path = data_dir.join("gate.sqlite3");
        let store = Store::open(&path)
            .with_context(|| format!("cannot open the gate's database {}", path.display()))?;
        if store.gate_rules()?.is_none() {
            store.set_gate_rules(&GateRules {
                gate: "Gerbang 1".into(),
                direction: Direction::Entry,
                allowed_types: Vec::new(),
            })?;
        }
        Ok(AppState {
            station: Arc::new(Station::new(Arc::new(store), Arc::new(sync::system_clock))),
            data_dir: data_dir.to_owned(),
            hosted: tokio::sync::Mutex::new(None),
            alerts: Mutex::new(VecDeque::new()),
            stats: Mutex::new(None),
            camera: Mutex::new(None),
        })
    }

    pub fn store(&self) -> &Store {
        self.station.store()
    }

    /// Whether this laptop hosts the relay: yes on a first run, until the operator pairs it
    /// with another relay.
    pub fn hosts_relay(&self) -> anyhow::Result<bool> {
        Ok(match self.store().app_setting(setting::MODE)?.as_deref() {
            Some("client") => false,
            Some(_) => true,
            None => self.store().pairing()?.is_none(),
        })
    }

    /// Starts what the saved mode says: the hosted relay and a loopback link to it, or the
    /// link to the paired relay.
    pub async fn start(&self) -> anyhow::Result<()> {
        if self.hosts_relay()? {
            self.host_relay().await
        } else {
            if let Some(pairing) = self.store().pairing()? {
                self.station.connect(SyncConfig::new(pairing)).await;
            }
            Ok(())
        }
    }

    /// Hosts the relay on this laptop (with the demo event on a new relay) and links the gate
    /// to it. The gate's device on its own relay is an admin: it scans, and it sees alerts.
    pub async fn host_relay(&self) -> anyhow::Result<()> {
        let mut hosted = self.hosted.lock().await;
        if hosted.is_none() {
            let listen = match std::env::var(LISTEN_ENV) {
                Ok(text) => text
                    .parse()
                    .with_context(|| format!("{LISTEN_ENV}={text:?} is not an address:port"))?,
                Err(_) => DEFAULT_LISTEN,
            };
            let demo_tickets = match std::env::var(DEMO_TICKETS_ENV) {
                Ok(text) => text
                    .parse()
                    .with_context(|| format!("{DEMO_TICKETS_ENV}={text:?} is not a number"))?,
                Err(_) => gerbang_relay::demo::DEMO_TICKETS,
            };
            let relay = Hosted::start(HostConfig {
                data_dir: self.data_dir.join("relay"),
                listen,
                tls: true,
                demo_tickets: Some(demo_tickets),
            })
            .await
            .context("cannot start the relay on this laptop")?;
            *hosted = Some(relay);
        }
        let relay = hosted.as_ref().expect("set above");
        self.store().set_app_setting(setting::MODE, Some("host"))?;
        let pairing = match self.store().pairing()? {
            // Our own device on our own relay: keep it, only the port may have moved.
            Some(p) if relay.admin().knows_token(&p.token)? => Pairing {
                relay: relay.local_url(),
                fingerprint: relay.fingerprint().map(str::to_owned),
                ..p
            },
            _ => {
                let name = self.gate_name()?;
                let (_, token) = relay.admin().create_device(&name, Role::Admin)?;
                Pairing {
                    relay: relay.local_url(),
                    token,
                    fingerprint: relay.fingerprint().map(str::to_owned),
                    device_name: name,
                }
            }
        };
        self.store().set_pairing(Some(&pairing))?;
        self.station.connect(SyncConfig::new(pairing)).await;
        Ok(())
    }

    /// Stops hosting (after pairing with another relay).
    pub async fn stop_hosting(&self) -> anyhow::Result<()> {
        if let Some(relay) = self.hosted.lock().await.take() {
            relay.stop().await?;
        }
        Ok(())
    }

    /// Pairs with another relay: stops hosting, and from now on starts as its client.
    pub async fn pair(&self, text: &str) -> anyhow::Result<sync::pairing::Paired> {
        let name = self.gate_name()?;
        let paired = self.station.pair(text, &name).await?;
        self.store()
            .set_app_setting(setting::MODE, Some("client"))?;
        self.stop_hosting().await?;
        Ok(paired)
    }

    fn gate_name(&self) -> anyhow::Result<String> {
        Ok(self
            .store()
            .gate_rules()?
            .map_or_else(|| "Gerbang 1".to_owned(), |g| g.gate))
    }

    pub fn prefs(&self) -> anyhow::Result<Prefs> {
        Ok(match self.store().app_setting(setting::PREFS)? {
            // Unreadable preferences (from another version) fall back to the defaults: they
            // are preferences, not data.
            Some(json) => serde_json::from_str(&json).unwrap_or_default(),
            None => Prefs::default(),
        })
    }

    pub fn set_prefs(&self, prefs: &Prefs) -> anyhow::Result<()> {
        self.store()
            .set_app_setting(setting::PREFS, Some(&serde_json::to_string(prefs)?))?;
        Ok(())
    }

    pub fn remember_alert(&self, alert: Alert) {
        let mut alerts = self.alerts.lock().unwrap_or_else(PoisonError::into_inner);
        if alerts.len() == ALERTS_KEPT {
            alerts.pop_front();
        }
        alerts.push_back(alert);
    }

    pub fn remember_stats(&self, stats: EventStats) {
        *self.stats.lock().unwrap_or_else(PoisonError::into_inner) = Some(stats);
    }
}

/// The data folder: `GERBANG_DATA_DIR`, else the platform's app data folder.
pub fn data_dir(app: &tauri::AppHandle) -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    use tauri::Manager;
    app.path()
        .app_data_dir()
        .context("this system has no folder for app data; set GERBANG_DATA_DIR")
}
