//! Camera capture: frames from a webcam (or a recording) to scanned codes and preview frames.
//!
//! # Layout
//! * `service.rs`: [`CameraService`], what the app holds: a capture thread and a decode thread,
//!   a `watch` of [`CameraStatus`], a `broadcast` of [`ScannedCode`]s and a `watch` of
//!   [`Preview`]s.
//! * `source.rs`: the [`FrameSource`] trait; `device.rs` its camera implementation
//!   ([`NokhwaSource`], [`list_cameras`], format negotiation) and `replay.rs` its recorded one
//!   ([`ReplaySource`]: frames in memory or image files).
//! * `frame.rs`: [`Frame`], one captured frame, and its conversion to luma.
//! * `mailbox.rs`: the single slot between the two threads.
//! * `dedupe.rs`: one scan per sighting of a code.
//! * `preview.rs`: the small JPEG previews with the codes' outlines.
//! * `clock.rs`: the system clock, or a manual one for tests.
//!
//! # How a frame travels
//! ```text
//! FrameSource ──> capture thread ──> mailbox (one slot) ──> decode thread ──> Decoder
//!  (camera or       YUYV/NV12/RGB:     a newer frame          MJPEG: decoded     │
//!   recording)      luma while copied  replaces an untaken    to luma only       ▼
//!                   MJPEG: kept as is  one (counted dropped)            Dedupe ─> codes
//!                                                                       Preview ─> previews
//! ```
//!
//! # Invariants
//! * **The decoder always reads the newest frame; nothing queues.** A decode slower than the
//!   camera drops frames (counted in [`CameraStats::dropped`]), never builds a backlog.
//! * **A missing, busy or unplugged camera is a status, never an error that ends the service**:
//!   it is reported in plain words and the camera is tried again every
//!   [`CameraConfig::retry_every`], waiting on the clock (no busy loop).
//! * **No panic from a driver or a frame takes the app down**: nokhwa calls and JPEG decoding
//!   run under `catch_unwind`; a bad frame is skipped and counted.
//! * **Every thread has an owner**: [`CameraService::stop`] (or dropping the service) stops and
//!   joins both threads; only a capture thread stuck inside a driver for longer than
//!   [`CameraConfig::stop_wait`] is left to end on its own.
//! * Never depends on Tauri: the app forwards the streams to its window.

mod clock;
mod dedupe;
mod device;
mod frame;
mod mailbox;
mod preview;
mod replay;
mod service;
mod source;

pub(crate) use clock::StopSignal;
pub use clock::{Clock, ManualClock};
pub use device::{list_cameras, CameraChoice, CameraInfo, NokhwaSource};
pub use frame::{Frame, FrameError, PixelFormat};
pub use preview::{Preview, PreviewCode, PreviewConfig};
pub use replay::{ReplayFrame, ReplaySource};
pub use service::{
    CameraConfig, CameraService, CameraStats, CameraStatus, FrameReader, ScannedCode,
};
pub use source::{FrameSource, Pace, SourceError, SourceInfo};
