//! `gerbang-gate`: a gate without a window, for a small box with a USB scanner on a console
//! and for scripts. Parses flags, opens the gate's database and makes calls into the
//! `gerbang_gate` library; every decision is the library's.
//!
//! Output is one line per verdict or status, for people, or with `--json` one JSON object per
//! line with stable field names (docs/CLI.md).

mod output;

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};
use gerbang_core::pairing::PairingLink;
use gerbang_core::{Direction, EventRules, GateRules, TicketType};
use gerbang_gate::camera::{
    self, CameraChoice, CameraConfig, CameraService, CameraStatus, ScannedCode,
};
use gerbang_gate::serial::{self, SerialConfig, SerialEvent, SerialReader, SerialStatus};
use gerbang_gate::sync::{self, LinkState, SyncConfig, SyncEngine};
use gerbang_gate::Store;
use tokio::sync::{broadcast, watch};

use output::Output;

/// A Gerbang gate without a window: scans from stdin, syncs with a relay.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Where the gate's database lives.
    #[arg(long, global = true, env = "GERBANG_GATE_DATA")]
    data_dir: Option<PathBuf>,
    /// Print one JSON object per line instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Set this gate's name (kept for later runs).
    #[arg(long, global = true)]
    gate: Option<String>,
    /// Set whether this gate lets people in or out (kept for later runs).
    #[arg(long, global = true, value_enum)]
    direction: Option<DirectionArg>,
    /// Log filter for diagnostics on stderr, e.g. "info" or "gerbang_gate=debug".
    #[arg(long, global = true, env = "GERBANG_GATE_LOG", default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DirectionArg {
    Entry,
    Exit,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Pair with a relay, from the pairing text it shows
    /// (gerbang://pair?relay=wss://...&code=...&fp=...), or from a relay address and a code.
    Pair {
        /// The pairing text, or the pairing code when --relay is given.
        text: String,
        /// The relay's address (wss://host:port), when TEXT is a bare code.
        #[arg(long)]
        relay: Option<String>,
        /// The SHA-256 fingerprint of the relay's certificate (64 hex digits, as the relay
        /// prints it), with --relay wss://...
        #[arg(long, requires = "relay")]
        fingerprint: Option<String>,
        /// The name the relay shows for this gate (default: the gate's name).
        #[arg(long)]
        name: Option<String>,
    },
    /// Sync with the relay and scan codes read from stdin, one per line (a USB scanner on a
    /// console types them), and from a camera (--camera) or a serial scanner (--serial). At the
    /// end of stdin without --camera or --serial, waits for the outbox to reach the relay and
    /// exits; with them, runs until Ctrl-C.
    Run {
        /// At the end of input, how long to wait for unsent scans to reach the relay.
        #[arg(long, default_value = "10", value_name = "SECONDS")]
        drain_timeout: u64,
        /// Also scan with a camera: its number from `gerbang-gate cameras` (kept for later
        /// runs), or without a number the camera used last time, else the first one.
        #[arg(long, value_name = "INDEX", num_args = 0..=1)]
        camera: Option<Option<u32>>,
        /// Also scan with a USB scanner in serial mode on this port (e.g. /dev/ttyACM0, COM3).
        #[arg(long, value_name = "PORT")]
        serial: Option<String>,
        /// The serial port's speed (USB scanners in CDC/ACM mode ignore it).
        #[arg(long, default_value = "9600", requires = "serial")]
        baud: u32,
    },
    /// Scan codes offline against the local cache: from the arguments, or stdin when none.
    Scan { codes: Vec<String> },
    /// Load a CSV ticket list into this gate (a standalone gate, without a relay).
    ImportTickets {
        file: PathBuf,
        /// The event's name, when the gate has no event yet.
        #[arg(long, default_value = "Acara")]
        event_name: String,
        /// The event's ticket types, when the gate has no event yet.
        #[arg(long, value_delimiter = ',', default_value = "Reguler,VIP")]
        types: Vec<String>,
    },
    /// Show the gate's pairing, event, counters and outbox.
    Status,
    /// List the cameras (their numbers are for `run --camera`).
    Cameras,
    /// List the serial ports (for `run --serial`).
    Ports,
    /// Read the QR codes in image files (PNG, JPEG, WebP, BMP, GIF), one result per file.
    Decode {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Forget the relay this gate is paired with (after it was revoked, or to pair with
    /// another). Unsent scans stay and go to the next relay; with --wipe, delete everything.
    Unpair {
        /// Delete the gate's database: tickets, scans, unsent scans, settings.
        #[arg(long)]
        wipe: bool,
    },
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&args.log))
        .with_writer(std::io::stderr)
        .init();
    let out = Output::new(args.json);
    match run(args, &out) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            out.fatal(&format!("{e:#}"));
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(args: Args, out: &Output) -> anyhow::Result<()> {
    let data_dir = match &args.data_dir {
        Some(dir) => dir.clone(),
        None => default_data_dir()?,
    };
    // Opened by the commands that use the gate's database (`decode` does not).
    let open_store = || -> anyhow::Result<Arc<Store>> {
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("cannot create {}", data_dir.display()))?;
        let path = data_dir.join("gate.sqlite3");
        let store =
            Store::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
        configure_gate(&store, args.gate.as_deref(), args.direction)?;
        Ok(Arc::new(store))
    };

    match args.command {
        Command::Pair {
            text,
            relay,
            fingerprint,
            name,
        } => {
            let store = open_store()?;
            let link = match (relay, fingerprint) {
                (Some(relay), Some(fp)) => {
                    PairingLink::new(&relay, &text)?.with_fingerprint(&fp)?
                }
                (Some(relay), None) => PairingLink::new(&relay, &text)?,
                (None, _) => PairingLink::parse(&text)?,
            };
            let name = match name {
                Some(name) => name,
                None => store
                    .gate_rules()?
                    .map(|g| g.gate)
                    .unwrap_or_else(|| "Gate".to_owned()),
            };
            let paired = runtime()?.block_on(sync::pairing::pair(&store, &link, &name))?;
            out.paired(&link.relay, &paired);
            Ok(())
        }
        Command::Run {
            drain_timeout,
            camera,
            serial,
            baud,
        } => {
            let store = open_store()?;
            let pairing = store.pairing()?.context(
                "this gate is not paired with a relay; run `gerbang-gate pair <pairing text>` \
                 first, or use `gerbang-gate scan` to scan offline",
            )?;
            let inputs = Inputs {
                camera: camera
                    .map(|index| choose_camera(&store, index))
                    .transpose()?,
                serial: serial.map(|port| SerialConfig {
                    baud,
                    ..SerialConfig::new(port)
                }),
            };
            runtime()?.block_on(run_online(
                store,
                SyncConfig::new(pairing),
                Duration::from_secs(drain_timeout),
                inputs,
                out,
            ))
        }
        Command::Cameras => {
            out.cameras(&camera::list_cameras()?);
            Ok(())
        }
        Command::Ports => {
            out.ports(&serial::list_ports()?);
            Ok(())
        }
        Command::Scan { codes } => {
            let store = open_store()?;
            if codes.is_empty() {
                for line in bounded_lines(std::io::stdin().lock()) {
                    scan(&store, &line?, out);
                }
            } else {
                for code in codes {
                    scan(&store, &code, out);
                }
            }
            Ok(())
        }
        Command::ImportTickets {
            file,
            event_name,
            types,
        } => {
            let store = open_store()?;
            let event_id = ensure_event(&store, &event_name, &types)?;
            let reader = std::fs::File::open(&file)
                .with_context(|| format!("cannot open {}", file.display()))?;
            match store.import_csv(event_id, reader) {
                Ok(report) => {
                    out.imported(&file, event_id, report.imported);
                    Ok(())
                }
                Err(gerbang_gate::Error::Import(errors)) => {
                    out.import_errors(&file, &errors);
                    bail!(
                        "{} has {} bad row(s); nothing was imported",
                        file.display(),
                        errors.errors.len()
                    )
                }
                Err(e) => Err(e.into()),
            }
        }
        Command::Status => {
            let store = open_store()?;
            out.status(&output::local_status(&store)?);
            Ok(())
        }
        Command::Decode { files } => decode(&files, out),
        Command::Unpair { wipe } => {
            let store = open_store()?;
            let unsent = store.outbox_depth()?;
            store.set_pairing(None)?;
            if wipe {
                // The store's connections and checkpoint thread close with it.
                drop(store);
                for suffix in ["", "-wal", "-shm"] {
                    let file = data_dir.join(format!("gate.sqlite3{suffix}"));
                    match std::fs::remove_file(&file) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => {
                            return Err(e)
                                .with_context(|| format!("cannot delete {}", file.display()))
                        }
                    }
                }
            }
            out.unpaired(wipe, unsent);
            Ok(())
        }
    }
}

/// The inputs `run` scans besides stdin.
struct Inputs {
    /// A camera: the chosen one, or (`Some(None)`) the first one the system lists.
    camera: Option<Option<CameraChoice>>,
    serial: Option<SerialConfig>,
}

/// The camera `run --camera [INDEX]` uses: with a number, that camera, remembered for later
/// runs (with its name, so it is found again if its number changes); without, the one
/// remembered, else the first.
fn choose_camera(store: &Store, index: Option<u32>) -> anyhow::Result<Option<CameraChoice>> {
    let Some(index) = index else {
        return Ok(store.camera()?);
    };
    let listed = camera::list_cameras().unwrap_or_default();
    let choice = listed
        .iter()
        .find(|c| c.index == index)
        .map_or(CameraChoice::index(index), CameraChoice::from);
    store.set_camera(Some(&choice))?;
    Ok(Some(choice))
}

/// The next item of an optional broadcast stream; never ready when there is none.
async fn next_of<T: Clone>(
    rx: &mut Option<broadcast::Receiver<T>>,
) -> Result<T, broadcast::error::RecvError> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// The next change of an optional watch; never ready when there is none.
async fn changed_of<T>(rx: &mut Option<watch::Receiver<T>>) -> Option<T>
where
    T: Clone,
{
    match rx {
        Some(watch) => match watch.changed().await {
            Ok(()) => Some(watch.borrow_and_update().clone()),
            Err(_) => {
                *rx = None;
                None
            }
        },
        None => std::future::pending().await,
    }
}

/// Scans stdin (and a camera and a serial scanner, when given) while the sync engine runs;
/// prints verdicts, what other gates scan, and each change of the link and the devices.
async fn run_online(
    store: Arc<Store>,
    config: SyncConfig,
    drain_timeout: Duration,
    inputs: Inputs,
    out: &Output,
) -> anyhow::Result<()> {
    let camera = match inputs.camera {
        Some(choice) => Some(CameraService::start_camera(
            CameraConfig {
                duplicate_window: store.duplicate_window(),
                ..CameraConfig::default()
            },
            choice,
        )?),
        None => None,
    };
    let serial = inputs.serial.map(SerialReader::start).transpose()?;
    // Each status is printed once at the start, then at each change.
    let marked = |mut status: watch::Receiver<_>| {
        status.mark_changed();
        status
    };
    let devices = Devices {
        camera_codes: camera.as_ref().map(CameraService::codes),
        camera_status: camera.as_ref().map(|c| marked(c.status())),
        serial_events: serial.as_ref().map(SerialReader::events),
        serial_status: serial.as_ref().map(|s| {
            let mut status = s.status();
            status.mark_changed();
            status
        }),
    };
    let result = scan_online(&store, config, drain_timeout, out, devices).await;
    // Stopping joins the devices' threads, which may wait for a driver: off the async threads.
    let stopped = tokio::task::spawn_blocking(move || {
        if let Some(camera) = camera {
            camera.stop();
        }
        if let Some(serial) = serial {
            serial.stop();
        }
    });
    let _ = stopped.await;
    result
}

/// The streams of the devices `run` scans with.
struct Devices {
    camera_codes: Option<broadcast::Receiver<ScannedCode>>,
    camera_status: Option<watch::Receiver<CameraStatus>>,
    serial_events: Option<broadcast::Receiver<SerialEvent>>,
    serial_status: Option<watch::Receiver<SerialStatus>>,
}

async fn scan_online(
    store: &Arc<Store>,
    config: SyncConfig,
    drain_timeout: Duration,
    out: &Output,
    inputs: Devices,
) -> anyhow::Result<()> {
    let devices = inputs.camera_codes.is_some() || inputs.serial_events.is_some();
    let Devices {
        mut camera_codes,
        mut camera_status,
        mut serial_events,
        mut serial_status,
    } = inputs;
    let engine = SyncEngine::start(Arc::clone(store), config);
    let mut status = engine.status();
    let mut events = engine.subscribe();
    let (lines_tx, mut lines) = tokio::sync::mpsc::channel::<std::io::Result<String>>(64);
    // Stdin blocks; read it on its own thread. The thread ends at the end of input.
    std::thread::spawn(move || {
        for line in bounded_lines(std::io::stdin().lock()) {
            if lines_tx.blocking_send(line).is_err() {
                break;
            }
        }
    });

    let mut last_state = None;
    let mut input_open = true;
    // A gate that has never synced knows no event: hold its input until the first catch-up.
    let mut ready = store.active_event()?.is_some();
    loop {
        tokio::select! {
            line = lines.recv(), if input_open && ready => match line {
                Some(Ok(line)) => {
                    if let Some(outcome) = scan(store, &line, out) {
                        engine.scan_recorded(&outcome);
                    }
                }
                Some(Err(e)) => out.error("", &format!("cannot read stdin: {e}")),
                None => input_open = false,
            },
            code = next_of(&mut camera_codes), if ready => match code {
                Ok(code) => {
                    if let Some(outcome) = scan(store, &code.text, out) {
                        engine.scan_recorded(&outcome);
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    out.error("", &format!("{n} camera scan(s) were lost: the gate was too slow"));
                }
                Err(broadcast::error::RecvError::Closed) => camera_codes = None,
            },
            Some(status) = changed_of(&mut camera_status) => out.camera_status(&status),
            event = next_of(&mut serial_events), if ready => match event {
                Ok(SerialEvent::Code { text }) => {
                    if let Some(outcome) = scan(store, &text, out) {
                        engine.scan_recorded(&outcome);
                    }
                }
                Ok(SerialEvent::TooLong { len, max }) => out.error(
                    "",
                    &format!(
                        "the serial scanner sent a {len}-byte line, over the {max}-byte limit; \
                         nothing was scanned (is the baud rate right?)"
                    ),
                ),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    out.error("", &format!("{n} serial scan(s) were lost: the gate was too slow"));
                }
                Err(broadcast::error::RecvError::Closed) => serial_events = None,
            },
            Some(status) = changed_of(&mut serial_status) => out.serial_status(&status),
            changed = status.changed() => {
                if changed.is_err() {
                    break;
                }
                let now = status.borrow_and_update().clone();
                if last_state != Some(now.state) {
                    last_state = Some(now.state);
                    out.sync_status(&now);
                }
                if !ready && now.state == LinkState::Online {
                    ready = store.active_event()?.is_some();
                    if !ready {
                        engine.stop().await;
                        bail!("the relay has no event for gates to check yet; create one on the relay first");
                    }
                }
                if now.state == LinkState::Refused {
                    engine.stop().await;
                    bail!("{}", now.last_error.unwrap_or_else(|| "the relay refused this gate".into()));
                }
            },
            event = events.recv() => match event {
                Ok(event) => out.sync_event(&event),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!("{n} sync events were not printed (output too slow)");
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            _ = tokio::signal::ctrl_c() => break,
        }
        // With a camera or a serial scanner, the end of stdin is not the end of the run (stdin
        // may be /dev/null under a service manager): Ctrl-C is.
        if !input_open && !devices {
            break;
        }
    }

    if !input_open && !devices {
        // End of input: give the outbox a chance to reach the relay.
        let drained = tokio::time::timeout(drain_timeout, status.wait_for(|s| s.outbox == 0)).await;
        if drained.is_err() {
            let left = store.outbox_depth()?;
            out.note(&format!(
                "{left} scan(s) have not reached the relay yet; they are kept and sent on the next run"
            ));
        }
    }
    let last = status.borrow().clone();
    engine.stop().await;
    out.sync_status(&sync::SyncStatus {
        state: LinkState::Stopped,
        ..last
    });
    Ok(())
}

/// Decodes each file and prints what it holds; an unreadable file gets an error line and the
/// others are still read. Fails at the end if any file could not be read.
fn decode(files: &[PathBuf], out: &Output) -> anyhow::Result<()> {
    let mut unreadable = 0;
    for file in files {
        let started = std::time::Instant::now();
        let result = gerbang_gate::decode::decode_file(file);
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        if result.is_err() {
            unreadable += 1;
        }
        out.decoded(file, &result, ms);
    }
    if unreadable > 0 {
        bail!("{unreadable} of {} file(s) could not be read", files.len());
    }
    Ok(())
}

/// Decides one scanned text and prints the verdict (or the error).
fn scan(store: &Store, text: &str, out: &Output) -> Option<gerbang_gate::ScanOutcome> {
    if text.trim().is_empty() {
        out.error(text, "empty line: nothing was scanned");
        return None;
    }
    match store.record_scan(text, sync::system_clock()) {
        Ok(outcome) => {
            out.verdict(text, &outcome);
            Some(outcome)
        }
        Err(e) => {
            out.error(text, &e.to_string());
            None
        }
    }
}

/// The longest line read from stdin; the rest of a longer line is skipped (the scan is then
/// refused as too long).
const MAX_LINE_BYTES: usize = 16 * 1024;

/// Lines of input, each cut to [`MAX_LINE_BYTES`], invalid UTF-8 replaced: garbage in gives a
/// verdict out, never an error that stops the gate.
fn bounded_lines(mut input: impl BufRead) -> impl Iterator<Item = std::io::Result<String>> {
    std::iter::from_fn(move || {
        let mut line = Vec::new();
        let mut overflow = false;
        loop {
            let buf = match input.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Some(Err(e)),
            };
            if buf.is_empty() {
                return (!line.is_empty() || overflow)
                    .then(|| Ok(String::from_utf8_lossy(&line).into_owned()));
            }
            let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (&buf[..i], Some(i + 1)),
                None => (buf, None),
            };
            let room = MAX_LINE_BYTES.saturating_sub(line.len());
            overflow |= chunk.len() > room;
            line.extend_from_slice(&chunk[..chunk.len().min(room)]);
            let used = done.unwrap_or(buf.len());
            input.consume(used);
            if done.is_some() {
                let text = String::from_utf8_lossy(&line);
                return Some(Ok(text.trim_end_matches('\r').to_owned()));
            }
        }
    })
}

/// Applies --gate and --direction, and gives a gate that has none a default name.
fn configure_gate(
    store: &Store,
    gate: Option<&str>,
    direction: Option<DirectionArg>,
) -> anyhow::Result<()> {
    let current = store.gate_rules()?;
    if gate.is_none() && direction.is_none() && current.is_some() {
        return Ok(());
    }
    let mut rules = current.unwrap_or(GateRules {
        gate: "Gate".to_owned(),
        direction: Direction::Entry,
        allowed_types: Vec::new(),
    });
    if let Some(gate) = gate {
        let gate = gate.trim();
        if gate.is_empty() || gate.chars().count() > 64 {
            bail!("a gate name has 1 to 64 characters");
        }
        rules.gate = gate.to_owned();
    }
    match direction {
        Some(DirectionArg::Entry) => rules.direction = Direction::Entry,
        Some(DirectionArg::Exit) => rules.direction = Direction::Exit,
        None => {}
    }
    store.set_gate_rules(&rules)?;
    Ok(())
}

/// The active event, or for a gate without one a new standalone event.
fn ensure_event(store: &Store, name: &str, types: &[String]) -> anyhow::Result<u32> {
    if let Some(event_id) = store.active_event()? {
        return Ok(event_id);
    }
    let ticket_types = types
        .iter()
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
        .zip(1u16..)
        .map(|(name, id)| TicketType {
            id,
            name: name.to_owned(),
        })
        .collect::<Vec<_>>();
    if ticket_types.is_empty() {
        bail!("--types names no ticket type");
    }
    let event = EventRules {
        id: 1,
        name: name.trim().to_owned(),
        doors_open: None,
        doors_close: None,
        capacity: None,
        reentry: false,
        max_entries_per_day: None,
        max_entries_total: None,
        utc_offset_minutes: 0,
        ticket_types,
    };
    store.upsert_event(&event)?;
    store.set_active_event(event.id)?;
    Ok(event.id)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn default_data_dir() -> anyhow::Result<PathBuf> {
    let base = match std::env::var_os("XDG_DATA_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(
            std::env::var_os("HOME")
                .context("neither XDG_DATA_HOME nor HOME is set; pass --data-dir")?,
        )
        .join(".local/share"),
    };
    Ok(base.join("gerbang-gate"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<String> {
        bounded_lines(input).map(Result::unwrap).collect()
    }

    #[test]
    fn lines_are_cut_and_garbage_is_kept_visible() {
        assert_eq!(lines(b"a\r\nb\n\nc"), ["a", "b", "", "c"]);
        let mut input = vec![b'x'; MAX_LINE_BYTES * 3];
        input.extend_from_slice(b"\nnext\n");
        let got = lines(&input);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].len(), MAX_LINE_BYTES);
        assert_eq!(got[1], "next");
        assert_eq!(lines(b"\xff\xfe\n"), ["\u{fffd}\u{fffd}"]);
        assert!(lines(b"").is_empty());
    }
}
