//! [`CameraService`]: the capture thread, the decode thread and what they tell the app.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{broadcast, watch};

use super::clock::{Clock, StopSignal};
use super::dedupe::Dedupe;
use super::device::{CameraChoice, NokhwaSource};
use super::frame::PixelFormat;
use super::mailbox::Mailbox;
use super::preview::{Preview, PreviewConfig, PreviewMaker, PreviewRate};
use super::source::{FrameSource, Pace, SourceError, SourceInfo};
use crate::decode::{Decoder, DecoderConfig, Found, LumaFrame};
use crate::error::{Error, Result};

/// How the camera service runs. [`CameraConfig::default`] suits a gate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CameraConfig {
    /// A code is passed on again only after it was out of sight this long. Give it the store's
    /// window ([`crate::Store::duplicate_window`]) so the two agree; zero passes every sighting.
    pub duplicate_window: Duration,
    /// How long to wait before trying again when there is no camera, it is busy, or it failed.
    pub retry_every: Duration,
    pub preview: PreviewConfig,
    /// How long [`CameraService::stop`] waits for the capture thread, which may be blocked
    /// inside the camera driver waiting for a frame; after that the thread is left to end on
    /// its own (it holds nothing the app needs).
    pub stop_wait: Duration,
    pub decoder: DecoderConfig,
}

impl Default for CameraConfig {
    fn default() -> Self {
        CameraConfig {
            duplicate_window: crate::DEFAULT_DUPLICATE_WINDOW,
            retry_every: Duration::from_secs(2),
            preview: PreviewConfig::default(),
            stop_wait: Duration::from_secs(2),
            decoder: DecoderConfig::default(),
        }
    }
}

/// What the camera is doing, for the UI. Every `message` is in plain words and says what to do.
/// Serialised with a `state` tag: `{"state": "running", "camera": "…", …}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum CameraStatus {
    /// Opening the camera for the first time.
    Starting,
    /// Frames are coming. `fps` is measured over the last second (0 until a second has passed
    /// since the camera opened).
    Running {
        camera: String,
        width: u32,
        height: u32,
        format: PixelFormat,
        fps: f32,
    },
    /// No camera, or not the chosen one; retried every [`CameraConfig::retry_every`].
    NoCamera { message: String },
    /// Another program has the camera; retried.
    Busy { message: String },
    /// The camera went away while running; retried.
    Disconnected { message: String },
    /// Anything else; retried.
    Error { message: String },
    /// A recording played to its end.
    Ended,
    /// The service was stopped.
    Stopped,
}

impl CameraStatus {
    fn from_error(error: &SourceError) -> CameraStatus {
        let message = error.to_string();
        match error {
            SourceError::NoCamera(_) => CameraStatus::NoCamera { message },
            SourceError::Busy(_) => CameraStatus::Busy { message },
            SourceError::Disconnected(_) => CameraStatus::Disconnected { message },
            SourceError::Ended => CameraStatus::Ended,
            SourceError::Stopped => CameraStatus::Stopped,
            SourceError::Failed(_) | SourceError::BadFrame(_) => CameraStatus::Error { message },
        }
    }
}

/// A code the camera read, passed on once per sighting (see [`CameraConfig::duplicate_window`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ScannedCode {
    pub text: String,
    /// Its corners in the frame's pixels.
    pub corners: [(f32, f32); 4],
    /// The capture thread's number for the frame it was read in.
    pub frame: u64,
}

/// Counters since the service started, for diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CameraStats {
    /// Frames the source delivered.
    pub captured: u64,
    /// Frames decoded (their codes and preview sent).
    pub decoded: u64,
    /// Frames replaced by a newer one before the decoder was free to take them.
    pub dropped: u64,
    /// Frames that could not be read (cut short, a broken JPEG).
    pub bad: u64,
    /// Preview frames made.
    pub previews: u64,
}

/// What reads codes in a frame: the [`Decoder`], or a stand-in in tests.
pub trait FrameReader: Send {
    fn read(&mut self, frame: &LumaFrame<'_>) -> Vec<Found>;
}

impl FrameReader for Decoder {
    fn read(&mut self, frame: &LumaFrame<'_>) -> Vec<Found> {
        self.decode(frame).codes
    }
}

/// After this many unreadable frames in a row the device is closed and opened again.
const BAD_FRAMES_BEFORE_REOPEN: u32 = 60;

/// How many scanned codes a slow subscriber may fall behind before it misses some.
const CODES_BUFFER: usize = 64;

/// What the two threads and the handle share.
struct Shared {
    config: CameraConfig,
    clock: Clock,
    stop: Arc<StopSignal>,
    mailbox: Mailbox,
    status: watch::Sender<CameraStatus>,
    codes: broadcast::Sender<ScannedCode>,
    previews: watch::Sender<Option<Arc<Preview>>>,
    captured: AtomicU64,
    decoded: AtomicU64,
    bad: AtomicU64,
    previews_made: AtomicU64,
}

impl Shared {
    /// Publishes a new status, unless the service is stopping (a capture thread left blocked in
    /// a driver must not overwrite "stopped" when it finally returns).
    fn set_status(&self, status: CameraStatus) {
        if self.stop.is_raised() {
            return;
        }
        self.status.send_if_modified(|current| {
            if *current == status {
                return false;
            }
            match &status {
                CameraStatus::Running { .. } => {
                    tracing::info!(status = ?status, "camera running");
                }
                other => tracing::warn!(status = ?other, "camera not running"),
            }
            *current = status;
            true
        });
    }
}

/// A running camera: frames captured on one thread, the newest decoded on another, codes and
/// previews sent to whoever subscribes. Dropping it stops it (as [`CameraService::stop`] does).
///
/// ```no_run
/// use gerbang_gate::camera::{CameraConfig, CameraService, CameraStatus};
/// let camera = CameraService::start_camera(CameraConfig::default(), None)?;
/// let mut codes = camera.codes();
/// while let Ok(code) = codes.blocking_recv() {
///     println!("{}", code.text); // then Store::record_scan(&code.text, now)
/// }
/// # Ok::<(), gerbang_gate::Error>(())
/// ```
pub struct CameraService {
    shared: Arc<Shared>,
    capture: Option<JoinHandle<()>>,
    decode: Option<JoinHandle<()>>,
    /// Receives once when the capture thread ends, so [`CameraService::stop`] can wait for it
    /// with a deadline (a thread join cannot have one).
    capture_done: mpsc::Receiver<()>,
    /// Subscribed before the threads started, for the first caller of
    /// [`CameraService::codes`], so that no code read before it subscribed is lost.
    first_codes: std::sync::Mutex<Option<broadcast::Receiver<ScannedCode>>>,
}

impl std::fmt::Debug for CameraService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CameraService")
            .field("status", &*self.shared.status.borrow())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl CameraService {
    /// Starts a camera: the chosen one, or the first the system lists. A missing, busy or
    /// unplugged camera is reported in [`CameraService::status`] and tried again.
    pub fn start_camera(
        config: CameraConfig,
        choice: Option<CameraChoice>,
    ) -> Result<CameraService> {
        CameraService::start(config, move || NokhwaSource::new(choice))
    }

    /// Starts the service on the source `make_source` builds. It is called on the capture
    /// thread, so the source need not be `Send`.
    pub fn start<S, F>(config: CameraConfig, make_source: F) -> Result<CameraService>
    where
        S: FrameSource + 'static,
        F: FnOnce() -> S + Send + 'static,
    {
        let reader = Box::new(Decoder::new(config.decoder));
        CameraService::start_with(config, make_source, reader, Clock::system())
    }

    /// [`CameraService::start`] with another reader and clock (tests use a manual clock, so
    /// retries, pacing, the duplicate window and the preview rate run without sleeping).
    pub fn start_with<S, F>(
        config: CameraConfig,
        make_source: F,
        reader: Box<dyn FrameReader>,
        clock: Clock,
    ) -> Result<CameraService>
    where
        S: FrameSource + 'static,
        F: FnOnce() -> S + Send + 'static,
    {
        let shared = Arc::new(Shared {
            config,
            clock,
            stop: Arc::new(StopSignal::default()),
            mailbox: Mailbox::default(),
            status: watch::Sender::new(CameraStatus::Starting),
            codes: broadcast::Sender::new(CODES_BUFFER),
            previews: watch::Sender::new(None),
            captured: AtomicU64::new(0),
            decoded: AtomicU64::new(0),
            bad: AtomicU64::new(0),
            previews_made: AtomicU64::new(0),
        });
        let first_codes = std::sync::Mutex::new(Some(shared.codes.subscribe()));
        let decode = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("gerbang-camera-decode".into())
                .spawn(move || decode_loop(&shared, reader))
                .map_err(Error::Io)?
        };
        let (done_tx, capture_done) = mpsc::channel();
        let capture = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("gerbang-camera-capture".into())
                .spawn(move || {
                    capture_loop(&shared, make_source());
                    let _ = done_tx.send(());
                })
        };
        let mut service = CameraService {
            shared,
            capture: None,
            decode: Some(decode),
            capture_done,
            first_codes,
        };
        // On failure, `service` is dropped here, which stops the decode thread.
        service.capture = Some(capture.map_err(Error::Io)?);
        Ok(service)
    }

    /// The camera's status; changes are signalled (`changed().await`, or `has_changed()`).
    pub fn status(&self) -> watch::Receiver<CameraStatus> {
        self.shared.status.subscribe()
    }

    /// The codes read, each once per sighting. The first call's receiver has every code since
    /// the start; later calls' receivers have the codes read after they were made. A subscriber
    /// that falls 64 codes behind misses the oldest (`RecvError::Lagged`). Closed when the
    /// service stops.
    pub fn codes(&self) -> broadcast::Receiver<ScannedCode> {
        let first = self
            .first_codes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        first.unwrap_or_else(|| self.shared.codes.subscribe())
    }

    /// The latest preview frame, at most [`PreviewConfig::max_fps`] a second. Previews are
    /// made only while someone holds one of these receivers.
    pub fn previews(&self) -> watch::Receiver<Option<Arc<Preview>>> {
        self.shared.previews.subscribe()
    }

    pub fn stats(&self) -> CameraStats {
        let s = &self.shared;
        CameraStats {
            captured: s.captured.load(Ordering::Relaxed),
            decoded: s.decoded.load(Ordering::Relaxed),
            dropped: s.mailbox.dropped(),
            bad: s.bad.load(Ordering::Relaxed),
            previews: s.previews_made.load(Ordering::Relaxed),
        }
    }

    /// Stops capturing and decoding and waits for both threads (the capture thread at most
    /// [`CameraConfig::stop_wait`]), then reports [`CameraStatus::Stopped`] and closes the code
    /// stream. Blocks: from async code, call it through `spawn_blocking`.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let shared = &self.shared;
        shared.stop.raise();
        // The decode thread ends after the frame it is on, whatever the capture thread does.
        shared.mailbox.close();
        if let Some(decode) = self.decode.take() {
            let _ = decode.join();
        }
        if let Some(capture) = self.capture.take() {
            match self.capture_done.recv_timeout(shared.config.stop_wait) {
                Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let _ = capture.join();
                }
                Err(mpsc::RecvTimeoutError::Timeout) => tracing::warn!(
                    "the camera driver did not return within {:?}; its thread will end on its own",
                    shared.config.stop_wait
                ),
            }
        }
        shared.status.send_replace(CameraStatus::Stopped);
    }
}

impl Drop for CameraService {
    fn drop(&mut self) {
        if self.decode.is_some() || self.capture.is_some() {
            self.shutdown();
        }
    }
}

/// The capture thread: opens the source, puts its frames in the mailbox, and on failure reports
/// why and tries again every `retry_every` until stopped.
fn capture_loop<S: FrameSource>(shared: &Shared, mut source: S) {
    let pace = Pace::new(shared.clock.clone(), Arc::clone(&shared.stop));
    let mut seq = 0;
    while !shared.stop.is_raised() {
        let error = match source.open() {
            Ok(info) => stream(shared, &mut source, &info, &pace, &mut seq),
            Err(e) => e,
        };
        source.close();
        match error {
            SourceError::Stopped => break,
            SourceError::Ended => {
                shared.set_status(CameraStatus::Ended);
                break;
            }
            e => shared.set_status(CameraStatus::from_error(&e)),
        }
        let retry_at = shared.clock.now() + shared.config.retry_every;
        if shared.clock.wait_until(&shared.stop, retry_at) {
            break;
        }
    }
    source.close();
    shared.mailbox.close();
}

/// Delivers an opened source's frames until it fails or the service stops; returns why it
/// ended.
fn stream<S: FrameSource>(
    shared: &Shared,
    source: &mut S,
    info: &SourceInfo,
    pace: &Pace,
    seq: &mut u64,
) -> SourceError {
    let running = |fps: f32| CameraStatus::Running {
        camera: info.name.clone(),
        width: info.width,
        height: info.height,
        format: info.format,
        fps,
    };
    shared.set_status(running(0.0));
    let mut window_start = shared.clock.now();
    let mut window_frames = 0u32;
    let mut bad_in_a_row = 0;
    loop {
        let mut frame = shared.mailbox.spare();
        match source.next_frame(&mut frame, pace) {
            Ok(()) => {
                *seq += 1;
                frame.seq = *seq;
                frame.at = shared.clock.now();
                shared.mailbox.put(frame);
                shared.captured.fetch_add(1, Ordering::Relaxed);
                bad_in_a_row = 0;
                window_frames += 1;
            }
            Err(SourceError::BadFrame(why)) => {
                shared.mailbox.recycle(frame);
                shared.bad.fetch_add(1, Ordering::Relaxed);
                bad_in_a_row += 1;
                tracing::debug!("skipped a camera frame: {why}");
                if bad_in_a_row >= BAD_FRAMES_BEFORE_REOPEN {
                    return SourceError::Failed(format!(
                        "The camera \"{}\" sends pictures that cannot be read ({why}); the gate \
                         opens it again.",
                        info.name
                    ));
                }
            }
            Err(e) => {
                shared.mailbox.recycle(frame);
                return e;
            }
        }
        if shared.stop.is_raised() {
            return SourceError::Stopped;
        }
        let now = shared.clock.now();
        let elapsed = now.saturating_sub(window_start);
        if elapsed >= Duration::from_secs(1) {
            let fps = (f64::from(window_frames) / elapsed.as_secs_f64() * 10.0).round() / 10.0;
            shared.set_status(running(fps as f32));
            window_start = now;
            window_frames = 0;
        }
    }
}

/// The decode thread: takes the newest frame, reads its codes, passes new ones on, and makes a
/// preview when one is due and someone is watching.
fn decode_loop(shared: &Shared, mut reader: Box<dyn FrameReader>) {
    let config = &shared.config;
    let mut jpeg_scratch = Vec::new();
    let mut dedupe = Dedupe::new(config.duplicate_window);
    let mut rate = PreviewRate::new(config.preview.max_fps);
    let mut maker = PreviewMaker::default();
    while let Some(frame) = shared.mailbox.take() {
        match frame.luma(&mut jpeg_scratch) {
            Ok(luma) => {
                let found = reader.read(&luma);
                for code in &found {
                    if dedupe.admit(&code.text, frame.at) {
                        // No subscriber is not an error: the codes are simply not wanted now.
                        let _ = shared.codes.send(ScannedCode {
                            text: code.text.clone(),
                            corners: code.corners,
                            frame: frame.seq,
                        });
                    }
                }
                if shared.previews.receiver_count() > 0 && rate.due(frame.at) {
                    match maker.make(&config.preview, &luma, &found, frame.seq) {
                        Ok(preview) => {
                            shared.previews.send_replace(Some(Arc::new(preview)));
                            shared.previews_made.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => tracing::warn!("a preview frame could not be made: {e}"),
                    }
                }
                // Counted last, so a frame counted is a frame whose codes and preview are out.
                shared.decoded.fetch_add(1, Ordering::SeqCst);
            }
            Err(e) => {
                shared.bad.fetch_add(1, Ordering::Relaxed);
                tracing::debug!("skipped a camera frame: {e}");
            }
        }
        shared.mailbox.recycle(frame);
    }
}
