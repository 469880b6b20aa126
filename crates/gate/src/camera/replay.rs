//! [`ReplaySource`]: recorded frames played as a camera would deliver them, for tests, demos and
//! a gate that checks a folder of pictures. The frames go through the same capture thread,
//! mailbox, decoder, de-duplication and preview as a camera's.

use std::path::Path;
use std::time::Duration;

use super::frame::{Frame, PixelFormat};
use super::source::{FrameSource, Pace, SourceError, SourceInfo};
use crate::decode::{load_luma, DecodeFileError};

/// One recorded frame.
#[derive(Debug, Clone)]
pub enum ReplayFrame {
    /// Packed luma pixels.
    Luma {
        width: usize,
        height: usize,
        pixels: Vec<u8>,
    },
    /// A JPEG image, delivered compressed as an MJPEG camera delivers it (and decoded by the
    /// same path).
    Jpeg {
        width: usize,
        height: usize,
        bytes: Vec<u8>,
    },
}

impl ReplayFrame {
    fn size(&self) -> (usize, usize) {
        match self {
            ReplayFrame::Luma { width, height, .. } | ReplayFrame::Jpeg { width, height, .. } => {
                (*width, *height)
            }
        }
    }
}

/// Plays frames in order at a fixed rate, once or in a loop.
#[derive(Debug, Clone)]
pub struct ReplaySource {
    name: String,
    frames: Vec<ReplayFrame>,
    /// Time between frames; zero delivers them as fast as they are taken.
    interval: Duration,
    looping: bool,
    /// The next frame to play.
    next: usize,
    /// When the next frame is due, on the service's clock.
    due: Option<Duration>,
}

impl ReplaySource {
    /// Plays `frames` once at 30 frames per second.
    pub fn new(name: impl Into<String>, frames: Vec<ReplayFrame>) -> ReplaySource {
        ReplaySource {
            name: name.into(),
            frames,
            interval: Duration::from_secs(1) / 30,
            looping: false,
            next: 0,
            due: None,
        }
    }

    /// Loads image files (PNG, JPEG, WebP, BMP, GIF) as frames. JPEG files are kept compressed
    /// and decoded like an MJPEG camera's frames; the others are converted to luma now.
    pub fn from_files<P: AsRef<Path>>(
        name: impl Into<String>,
        paths: &[P],
    ) -> Result<ReplaySource, DecodeFileError> {
        let mut frames = Vec::with_capacity(paths.len());
        for path in paths {
            let path = path.as_ref();
            let luma = load_luma(path)?;
            let (width, height) = (luma.width() as usize, luma.height() as usize);
            let bytes = std::fs::read(path).map_err(|source| DecodeFileError::Open {
                path: path.to_owned(),
                source,
            })?;
            frames.push(if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
                ReplayFrame::Jpeg {
                    width,
                    height,
                    bytes,
                }
            } else {
                ReplayFrame::Luma {
                    width,
                    height,
                    pixels: luma.into_raw(),
                }
            });
        }
        Ok(ReplaySource::new(name, frames))
    }

    /// Frames per second; 0 plays them as fast as the capture thread takes them.
    pub fn fps(mut self, fps: u32) -> ReplaySource {
        self.interval = match fps {
            0 => Duration::ZERO,
            fps => Duration::from_secs(1) / fps,
        };
        self
    }

    /// Starts again from the first frame after the last, forever.
    pub fn looping(mut self, looping: bool) -> ReplaySource {
        self.looping = looping;
        self
    }
}

impl FrameSource for ReplaySource {
    fn open(&mut self) -> Result<SourceInfo, SourceError> {
        let Some(first) = self.frames.first() else {
            return Err(SourceError::NoCamera(format!(
                "the recording {:?} has no frames",
                self.name
            )));
        };
        let (width, height) = first.size();
        let format = match first {
            ReplayFrame::Luma { .. } => PixelFormat::Gray,
            ReplayFrame::Jpeg { .. } => PixelFormat::Mjpeg,
        };
        let fps = match self.interval.as_nanos() {
            0 => 0,
            n => (1_000_000_000 / n) as u32,
        };
        self.due = None;
        Ok(SourceInfo {
            name: self.name.clone(),
            width: width as u32,
            height: height as u32,
            fps,
            format,
        })
    }

    fn next_frame(&mut self, frame: &mut Frame, pace: &Pace) -> Result<(), SourceError> {
        if self.next >= self.frames.len() {
            if !self.looping || self.frames.is_empty() {
                return Err(SourceError::Ended);
            }
            self.next = 0;
        }
        // The first frame comes at once; each later one an interval after the one before, as
        // a camera's would (a late frame does not make the next one early).
        let due = match self.due {
            Some(due) => due.max(pace.now().saturating_sub(self.interval)) + self.interval,
            None => pace.now(),
        };
        pace.wait_until(due)?;
        self.due = Some(due);
        let result = match &self.frames[self.next] {
            ReplayFrame::Luma {
                width,
                height,
                pixels,
            } => frame.set_luma(pixels, *width, *height),
            ReplayFrame::Jpeg { bytes, .. } => {
                frame.set_jpeg(bytes);
                Ok(())
            }
        };
        self.next += 1;
        result.map_err(|e| SourceError::BadFrame(format!("recorded frame: {e}")))
    }

    fn close(&mut self) {
        self.due = None;
    }
}
