//! USB barcode scanners in serial mode (USB CDC/ACM, `/dev/ttyACM0` on Linux, `COM3` on
//! Windows): [`list_ports`], and [`SerialReader`], a thread that reads codes from one port.
//!
//! Many scanners can be switched from keyboard mode (see [`crate::wedge`]) to a virtual serial
//! port; the codes then arrive as bytes that no window focus or keyboard layout can garble.
//! `framing.rs` cuts them into codes (pure; tested on byte streams); this file owns the port:
//! it opens it, reads it, reports in [`SerialStatus`] when it is missing or went away, and opens
//! it again every `retry_every`.
//!
//! Ports are listed from `/sys/class/tty` on Linux, without libudev (serialport's `libudev`
//! feature is off), so the gate needs no libudev development package to build; USB ports still
//! come with their vendor, product and names.

mod framing;

pub use framing::{Framed, Framer};

use std::io::Read;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{broadcast, watch};

use crate::camera::Clock;
use crate::camera::StopSignal;
use crate::error::{Error, Result};

/// A serial port the system knows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PortInfo {
    /// What to open: `/dev/ttyACM0`, `COM3`.
    pub name: String,
    /// `usb`, `pci`, `bluetooth` or `unknown`.
    pub kind: &'static str,
    /// USB vendor and product ids, for USB ports.
    pub vid: Option<u16>,
    pub pid: Option<u16>,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
}

/// The serial ports the system knows, USB ones first.
pub fn list_ports() -> Result<Vec<PortInfo>> {
    // serialport's Linux listing without libudev panics when /sys/class/tty is missing (a
    // container without /sys): no ports, then.
    #[cfg(target_os = "linux")]
    if !std::path::Path::new("/sys/class/tty").is_dir() {
        return Ok(Vec::new());
    }
    let ports = serialport::available_ports()
        .map_err(|e| Error::Invalid(format!("the serial ports could not be listed: {e}")))?;
    let mut ports: Vec<PortInfo> = ports
        .into_iter()
        .map(|p| {
            let mut info = PortInfo {
                name: p.port_name,
                kind: "unknown",
                vid: None,
                pid: None,
                manufacturer: None,
                product: None,
            };
            match p.port_type {
                serialport::SerialPortType::UsbPort(usb) => {
                    info.kind = "usb";
                    info.vid = Some(usb.vid);
                    info.pid = Some(usb.pid);
                    info.manufacturer = usb.manufacturer;
                    info.product = usb.product;
                }
                serialport::SerialPortType::PciPort => info.kind = "pci",
                serialport::SerialPortType::BluetoothPort => info.kind = "bluetooth",
                serialport::SerialPortType::Unknown => {}
            }
            info
        })
        .collect();
    ports.sort_by(|a, b| (a.kind != "usb", &a.name).cmp(&(b.kind != "usb", &b.name)));
    Ok(ports)
}

/// How to read a port.
#[derive(Debug, Clone, PartialEq)]
pub struct SerialConfig {
    /// The port: `/dev/ttyACM0`, `COM3`.
    pub port: String,
    /// Bits per second; USB CDC/ACM scanners ignore it, real RS-232 ones need the one they are
    /// set to.
    pub baud: u32,
    /// Codes up to this many bytes; a longer line is a [`SerialEvent::TooLong`].
    pub max_len: usize,
    /// Bytes followed by this long a pause are a code, for scanners set to send no terminator;
    /// zero: only CR and LF end codes.
    pub pause: Duration,
    /// How long to wait before opening the port again after it failed or went away.
    pub retry_every: Duration,
}

impl SerialConfig {
    /// 9600 baud, codes up to 4 KiB, a 100 ms pause ends a code, retried every 2 s.
    pub fn new(port: impl Into<String>) -> SerialConfig {
        SerialConfig {
            port: port.into(),
            baud: 9600,
            max_len: 4096,
            pause: Duration::from_millis(100),
            retry_every: Duration::from_secs(2),
        }
    }
}

/// What a [`SerialReader`] reads.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SerialEvent {
    Code {
        text: String,
    },
    /// A line of `len` bytes, longer than [`SerialConfig::max_len`]: nothing was scanned. The
    /// scanner may be set to the wrong baud rate, or not be a scanner.
    TooLong {
        len: usize,
        max: usize,
    },
}

/// The port's state, for the UI. Messages are in plain words and say what to do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SerialStatus {
    Opening,
    Reading {
        port: String,
    },
    /// The port is not there (unplugged); retried.
    Missing {
        message: String,
    },
    /// The port could not be opened or read for another reason; retried.
    Error {
        message: String,
    },
    Stopped,
}

/// How long a read waits before the thread looks at the stop flag and the pause deadline.
const IDLE_WAKE: Duration = Duration::from_millis(200);

/// How many events a slow subscriber may fall behind before it misses some.
const EVENTS_BUFFER: usize = 64;

/// Reads codes from one serial port on its own thread. Dropping it stops it.
#[derive(Debug)]
pub struct SerialReader {
    stop: Arc<StopSignal>,
    thread: Option<JoinHandle<()>>,
    status: watch::Sender<SerialStatus>,
    events: broadcast::Sender<SerialEvent>,
}

impl SerialReader {
    pub fn start(config: SerialConfig) -> Result<SerialReader> {
        let stop = Arc::new(StopSignal::default());
        let status = watch::Sender::new(SerialStatus::Opening);
        let events = broadcast::Sender::new(EVENTS_BUFFER);
        let thread = {
            let (stop, status, events) = (stop.clone(), status.clone(), events.clone());
            std::thread::Builder::new()
                .name("gerbang-serial".into())
                .spawn(move || read_loop(&config, &stop, &status, &events))
                .map_err(Error::Io)?
        };
        Ok(SerialReader {
            stop,
            thread: Some(thread),
            status,
            events,
        })
    }

    pub fn status(&self) -> watch::Receiver<SerialStatus> {
        self.status.subscribe()
    }

    /// The codes and errors read. Closed when the reader stops.
    pub fn events(&self) -> broadcast::Receiver<SerialEvent> {
        self.events.subscribe()
    }

    /// Stops reading and waits for the thread (at most about 200 ms: reads wake up that often).
    /// Blocks: from async code, call it through `spawn_blocking`.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.raise();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.status.send_replace(SerialStatus::Stopped);
    }
}

impl Drop for SerialReader {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.shutdown();
        }
    }
}

fn set_status(status: &watch::Sender<SerialStatus>, stop: &StopSignal, new: SerialStatus) {
    if stop.is_raised() {
        return;
    }
    status.send_if_modified(|current| {
        if *current == new {
            return false;
        }
        tracing::info!(status = ?new, "serial scanner");
        *current = new;
        true
    });
}

fn read_loop(
    config: &SerialConfig,
    stop: &Arc<StopSignal>,
    status: &watch::Sender<SerialStatus>,
    events: &broadcast::Sender<SerialEvent>,
) {
    let clock = Clock::system();
    while !stop.is_raised() {
        let failure = match open(config) {
            Ok(port) => {
                set_status(
                    status,
                    stop,
                    SerialStatus::Reading {
                        port: config.port.clone(),
                    },
                );
                read_port(port, config, stop, &clock, events)
            }
            Err(failure) => failure,
        };
        match failure {
            None => break,
            Some(failure) => set_status(status, stop, failure),
        }
        let retry_at = clock.now() + config.retry_every;
        if clock.wait_until(stop, retry_at) {
            break;
        }
    }
}

fn open(
    config: &SerialConfig,
) -> std::result::Result<Box<dyn serialport::SerialPort>, Option<SerialStatus>> {
    serialport::new(&config.port, config.baud)
        .timeout(IDLE_WAKE)
        .open()
        .map_err(|e| Some(open_failure(&config.port, &e)))
}

/// What an error opening the port means for the operator.
fn open_failure(port: &str, error: &serialport::Error) -> SerialStatus {
    use serialport::ErrorKind;
    use std::io::ErrorKind as Io;
    match error.kind() {
        ErrorKind::Io(Io::NotFound) => SerialStatus::Missing {
            message: format!(
                "The scanner's port {port} is not there. Plug the scanner in (in serial mode); \
                 the gate keeps looking."
            ),
        },
        ErrorKind::Io(Io::PermissionDenied) => SerialStatus::Error {
            message: format!(
                "This user may not open {port}. On Linux, add the user to the \"dialout\" group \
                 and log in again."
            ),
        },
        // serialport's word for "another program holds the port".
        ErrorKind::NoDevice => SerialStatus::Error {
            message: format!(
                "{port} is in use by another program; close it. The gate keeps trying."
            ),
        },
        _ => SerialStatus::Error {
            message: format!("{port} could not be opened: {error}. The gate keeps trying."),
        },
    }
}

/// Reads the open port until it fails (`Some(status)`) or the reader stops (`None`).
fn read_port(
    mut port: Box<dyn serialport::SerialPort>,
    config: &SerialConfig,
    stop: &StopSignal,
    clock: &Clock,
    events: &broadcast::Sender<SerialEvent>,
) -> Option<SerialStatus> {
    let mut framer = Framer::new(config.max_len, config.pause);
    let mut buf = [0u8; 512];
    let mut framed = Vec::new();
    loop {
        if stop.is_raised() {
            return None;
        }
        // Wake for the pause deadline of a pending code, or after IDLE_WAKE to look at the stop
        // flag.
        let now = clock.now();
        let wait = framer.deadline().map_or(IDLE_WAKE, |d| {
            d.saturating_sub(now)
                .clamp(Duration::from_millis(1), IDLE_WAKE)
        });
        if let Err(e) = port.set_timeout(wait) {
            tracing::debug!("could not set the serial read timeout: {e}");
        }
        match port.read(&mut buf) {
            Ok(0) => {
                return Some(SerialStatus::Missing {
                    message: gone(&config.port),
                })
            }
            Ok(n) => framer.push(&buf[..n], clock.now(), &mut framed),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                        | std::io::ErrorKind::WouldBlock
                ) =>
            {
                framer.poll(clock.now(), &mut framed);
            }
            Err(e) => {
                tracing::debug!("serial read failed: {e}");
                return Some(SerialStatus::Missing {
                    message: gone(&config.port),
                });
            }
        }
        for f in framed.drain(..) {
            let event = match f {
                Framed::Code(text) => SerialEvent::Code { text },
                Framed::TooLong { len, max } => {
                    tracing::warn!(
                        "a {len}-byte line from {} was longer than {max} bytes; dropped",
                        config.port
                    );
                    SerialEvent::TooLong { len, max }
                }
            };
            // No subscriber: nobody wants the codes now.
            let _ = events.send(event);
        }
    }
}

fn gone(port: &str) -> String {
    format!(
        "The scanner on {port} went away (unplugged?). Plug it in again; the gate keeps looking."
    )
}
