//! [`FrameSource`]: where frames come from. A camera ([`super::NokhwaSource`]) or recorded
//! frames ([`super::ReplaySource`]); the service behind them is the same, so everything after
//! capture is tested without a camera.

use std::sync::Arc;
use std::time::Duration;

use super::clock::{Clock, StopSignal};
use super::frame::{Frame, PixelFormat};

/// A source of frames, driven by the service's capture thread. It is made on that thread (see
/// [`super::CameraService::start`]), so it need not be `Send`; camera handles often are not.
pub trait FrameSource {
    /// Opens the device. Called again, every [`super::CameraConfig::retry_every`], after it
    /// failed or the device went away.
    fn open(&mut self) -> Result<SourceInfo, SourceError>;

    /// Blocks until the next frame and writes it into `frame` (reusing its buffer). Sources that
    /// pace themselves wait through `pace`, so a stop or a test's clock ends the wait.
    fn next_frame(&mut self, frame: &mut Frame, pace: &Pace) -> Result<(), SourceError>;

    /// Releases the device, after a failure or at shutdown. Opening again must work after it.
    fn close(&mut self);
}

/// What an opened source delivers.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceInfo {
    /// The camera's name as the system gives it, or the recording's.
    pub name: String,
    pub width: u32,
    pub height: u32,
    /// Frames per second the device was asked for (the measured rate is in the status).
    pub fps: u32,
    pub format: PixelFormat,
}

/// Why a source cannot deliver frames. Every message is in plain words, for the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// No camera, or not the chosen one: plug it in. Retried.
    #[error("{0}")]
    NoCamera(String),
    /// The camera is in use by another program. Retried.
    #[error("{0}")]
    Busy(String),
    /// The camera went away while it was running (unplugged). Retried.
    #[error("{0}")]
    Disconnected(String),
    /// Anything else (no permission, no usable format, a driver error). Retried, since a replug
    /// or a fix in the system settings may cure it.
    #[error("{0}")]
    Failed(String),
    /// One frame was unusable (cut short, a broken JPEG); the next one may be fine. Counted and
    /// skipped: the device stays open.
    #[error("{0}")]
    BadFrame(String),
    /// A recording played to its end. Not retried: the service stops.
    #[error("the recording has ended")]
    Ended,
    /// The service is stopping (a paced wait was cut short).
    #[error("the camera is stopping")]
    Stopped,
}

/// Lets a source wait for its next frame time on the service's clock, ending early when the
/// service stops.
#[derive(Debug)]
pub struct Pace {
    clock: Clock,
    stop: Arc<StopSignal>,
}

impl Pace {
    pub(crate) fn new(clock: Clock, stop: Arc<StopSignal>) -> Pace {
        Pace { clock, stop }
    }

    /// The service clock's time.
    pub fn now(&self) -> Duration {
        self.clock.now()
    }

    /// Waits until the clock reads `deadline`; [`SourceError::Stopped`] if the service stops.
    pub fn wait_until(&self, deadline: Duration) -> Result<(), SourceError> {
        if self.clock.wait_until(&self.stop, deadline) {
            return Err(SourceError::Stopped);
        }
        Ok(())
    }
}
