//! Cameras through nokhwa: V4L2 on Linux, Media Foundation on Windows, AVFoundation on macOS.
//!
//! nokhwa reports errors as text, so [`classify`] reads the operating system's error in it to
//! tell "no camera", "in use by another program" and "unplugged" apart; anything else is shown
//! as it comes, prefixed with what the gate was doing.

use std::panic::{catch_unwind, AssertUnwindSafe};

use nokhwa::utils::{
    ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType,
};
use nokhwa::{Camera, NokhwaError};

use super::frame::{Frame, PixelFormat};
use super::source::{FrameSource, Pace, SourceError, SourceInfo};

/// A camera the system knows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CameraInfo {
    /// The system's number for it (`/dev/videoN` on Linux). It can change when cameras are
    /// plugged in another order; [`CameraChoice`] also keeps the name for that reason.
    pub index: u32,
    /// Its name, e.g. "HD Pro Webcam C920".
    pub name: String,
    /// What the system says about it (on Linux, its device file).
    pub description: String,
}

/// The camera an operator chose, as kept in the gate's settings ([`crate::Store::camera`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CameraChoice {
    pub index: u32,
    /// The camera's name when it was chosen. When set, the camera is found by name if its number
    /// changed, and a different camera at the same number is not used in its place.
    #[serde(default)]
    pub name: Option<String>,
}

impl CameraChoice {
    /// The camera with this number, whatever its name.
    pub fn index(index: u32) -> CameraChoice {
        CameraChoice { index, name: None }
    }
}

impl From<&CameraInfo> for CameraChoice {
    fn from(info: &CameraInfo) -> Self {
        CameraChoice {
            index: info.index,
            name: Some(info.name.clone()),
        }
    }
}

/// The cameras the system knows, by number. On Linux, video devices that cannot capture
/// pictures (a webcam's metadata node, a video encoder) are left out. No camera is an empty
/// list, not an error.
pub fn list_cameras() -> Result<Vec<CameraInfo>, SourceError> {
    let query = || nokhwa::query(ApiBackend::Auto);
    let found = catch_unwind(query)
        .map_err(|_| {
            SourceError::Failed("listing the cameras failed inside the camera driver".into())
        })?
        .map_err(|e| SourceError::Failed(format!("the cameras could not be listed: {e}")))?;
    let mut cameras: Vec<CameraInfo> = found
        .iter()
        .filter_map(|info| {
            let index = info.index().as_index().ok()?;
            captures_video(index).then(|| CameraInfo {
                index,
                name: info.human_name(),
                description: info.description().to_owned(),
            })
        })
        .collect();
    cameras.sort_by_key(|c| c.index);
    Ok(cameras)
}

/// Whether video device `index` can capture pictures. A UVC webcam has a second node for
/// metadata that nokhwa lists too; opening it would only fail.
#[cfg(target_os = "linux")]
fn captures_video(index: u32) -> bool {
    use v4l::capability::Flags;
    match v4l::Device::new(index as usize).and_then(|d| d.query_caps()) {
        Ok(caps) => caps.capabilities.contains(Flags::VIDEO_CAPTURE),
        // Cannot tell (no permission, say): list it, and let opening it say what is wrong.
        Err(_) => true,
    }
}

#[cfg(not(target_os = "linux"))]
fn captures_video(_index: u32) -> bool {
    true
}

/// The camera `choice` names among `cameras`, or the first camera when there is no choice.
pub(crate) fn pick<'a>(
    cameras: &'a [CameraInfo],
    choice: Option<&CameraChoice>,
) -> Option<&'a CameraInfo> {
    let Some(choice) = choice else {
        return cameras.first();
    };
    match &choice.name {
        None => cameras.iter().find(|c| c.index == choice.index),
        Some(name) => cameras
            .iter()
            .find(|c| c.index == choice.index && &c.name == name)
            .or_else(|| cameras.iter().find(|c| &c.name == name)),
    }
}

/// The formats the gate reads, in nokhwa's terms.
const READABLE: [FrameFormat; 6] = [
    FrameFormat::MJPEG,
    FrameFormat::YUYV,
    FrameFormat::NV12,
    FrameFormat::GRAY,
    FrameFormat::RAWRGB,
    FrameFormat::RAWBGR,
];

fn pixel_format(format: FrameFormat) -> PixelFormat {
    match format {
        FrameFormat::MJPEG => PixelFormat::Mjpeg,
        FrameFormat::YUYV => PixelFormat::Yuyv,
        FrameFormat::NV12 => PixelFormat::Nv12,
        FrameFormat::GRAY => PixelFormat::Gray,
        FrameFormat::RAWRGB => PixelFormat::Rgb,
        FrameFormat::RAWBGR => PixelFormat::Bgr,
    }
}

/// The resolution the decoder is tuned for: enough pixels per module for a ticket at arm's
/// length, and a frame it reads in a few milliseconds.
pub(crate) const TARGET: (u32, u32) = (1280, 720);

/// Below this frame rate a ticket moved into view takes noticeably long to be read.
const MIN_GOOD_FPS: u32 = 15;

/// Picks the camera format to ask for, among the ones it offers:
/// 1. at least 15 frames a second, if any format has that;
/// 2. the smallest resolution that covers 1280x720, else the largest below it (decoding costs
///    grow with the pixels; fewer than 720 lines lose small codes);
/// 3. up to 30 frames a second, the more the better (less time from ticket to verdict);
/// 4. the cheapest to turn into luma: YUYV, NV12 or GRAY (a copy), then MJPEG (a JPEG decode),
///    then RGB;
/// 5. the lower frame rate above 30 (less work for nothing).
///
/// So a USB 2 webcam that sends 1280x720 YUYV at only 10 frames a second and MJPEG at 30 is
/// run in MJPEG, and one that sends YUYV at 30 is run in YUYV.
pub(crate) fn choose_format(formats: &[CameraFormat]) -> Option<CameraFormat> {
    let (tw, th) = TARGET;
    formats
        .iter()
        .filter(|f| READABLE.contains(&f.format()) && f.frame_rate() > 0)
        .filter(|f| f.width() > 0 && f.height() > 0)
        .min_by_key(|f| {
            let pixels = u64::from(f.width()) * u64::from(f.height());
            let size = if f.width() >= tw && f.height() >= th {
                (0, pixels)
            } else {
                (1, u64::MAX - pixels)
            };
            let cost = match pixel_format(f.format()) {
                PixelFormat::Yuyv | PixelFormat::Nv12 | PixelFormat::Gray => 0,
                PixelFormat::Mjpeg => 1,
                PixelFormat::Rgb | PixelFormat::Bgr => 2,
            };
            (
                f.frame_rate() < MIN_GOOD_FPS,
                size,
                30u32.saturating_sub(f.frame_rate()),
                cost,
                f.frame_rate(),
            )
        })
        .copied()
}

/// What the gate was doing when nokhwa failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Opening,
    Streaming,
}

/// Turns nokhwa's error text into what the operator needs to know.
fn classify(error: &NokhwaError, camera: &str, phase: Phase) -> SourceError {
    let text = error.to_string();
    let lower = text.to_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
    if has(&["busy", "os error 16"]) {
        SourceError::Busy(format!(
            "The camera \"{camera}\" is in use by another program. Close that program (a video \
             call, another Gerbang); the gate keeps trying."
        ))
    } else if has(&["permission denied", "os error 13", "access is denied"]) {
        SourceError::Failed(format!(
            "This user may not use the camera \"{camera}\". On Linux, add the user to the \
             \"video\" group and log in again; on Windows or macOS, allow camera access in the \
             system settings."
        ))
    } else if phase == Phase::Streaming || has(&["no such device", "os error 19"]) {
        SourceError::Disconnected(format!(
            "The camera \"{camera}\" stopped sending pictures; it may have been unplugged \
             ({text}). The gate keeps trying."
        ))
    } else if has(&["no such file", "os error 2"]) {
        SourceError::NoCamera(format!(
            "The camera \"{camera}\" is gone; plug it in again. The gate keeps looking."
        ))
    } else if has(&["fufill", "fulfill"]) {
        SourceError::Failed(format!(
            "The camera \"{camera}\" offers no picture format Gerbang reads (MJPEG, YUYV, NV12, \
             grayscale or RGB). Choose another camera."
        ))
    } else {
        SourceError::Failed(format!("The camera \"{camera}\" could not be used: {text}"))
    }
}

/// A camera, opened through nokhwa.
pub struct NokhwaSource {
    /// The camera to open; the first one when `None`.
    choice: Option<CameraChoice>,
    open: Option<Open>,
}

/// An opened camera and what it sends.
struct Open {
    camera: Camera,
    name: String,
    format: PixelFormat,
    width: usize,
    height: usize,
}

impl std::fmt::Debug for NokhwaSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // nokhwa's camera has no Debug.
        f.debug_struct("NokhwaSource")
            .field("choice", &self.choice)
            .field("open", &self.open.as_ref().map(|o| &o.name))
            .finish()
    }
}

impl NokhwaSource {
    /// The chosen camera, or the first one the system lists when `choice` is `None`. Nothing is
    /// opened until the service's capture thread calls [`FrameSource::open`].
    pub fn new(choice: Option<CameraChoice>) -> NokhwaSource {
        NokhwaSource { choice, open: None }
    }
}

impl FrameSource for NokhwaSource {
    fn open(&mut self) -> Result<SourceInfo, SourceError> {
        self.close();
        let cameras = list_cameras()?;
        let info = pick(&cameras, self.choice.as_ref()).ok_or_else(|| {
            SourceError::NoCamera(match &self.choice {
                None => "No camera is connected. Plug one in; the gate keeps looking.".to_owned(),
                Some(CameraChoice {
                    name: Some(name), ..
                }) => format!(
                    "The camera \"{name}\" is not connected. Plug it in or choose another camera; \
                     the gate keeps looking."
                ),
                Some(CameraChoice { index, .. }) => format!(
                    "There is no camera number {index}. Plug it in or choose another camera; \
                     the gate keeps looking."
                ),
            })
        })?;
        let name = info.name.clone();
        let opened = catch_unwind(AssertUnwindSafe(|| open_camera(info.index, &name)))
            .unwrap_or_else(|_| {
                Err(SourceError::Failed(format!(
                    "The camera \"{name}\" could not be opened: its driver failed."
                )))
            })?;
        let (camera, format) = opened;
        let source_info = SourceInfo {
            name: name.clone(),
            width: format.width(),
            height: format.height(),
            fps: format.frame_rate(),
            format: pixel_format(format.format()),
        };
        self.open = Some(Open {
            camera,
            name,
            format: pixel_format(format.format()),
            width: format.width() as usize,
            height: format.height() as usize,
        });
        Ok(source_info)
    }

    fn next_frame(&mut self, frame: &mut Frame, _pace: &Pace) -> Result<(), SourceError> {
        let Some(open) = self.open.as_mut() else {
            return Err(SourceError::Failed("the camera is not open".into()));
        };
        let Open {
            camera,
            name,
            format,
            width,
            height,
        } = open;
        // The driver's buffer is borrowed, and copied (YUYV: only its luma) into `frame`.
        let read = catch_unwind(AssertUnwindSafe(|| match camera.frame_raw() {
            Ok(raw) => Ok(frame
                .set_raw(*format, &raw, *width, *height)
                .map_err(|e| SourceError::BadFrame(e.to_string()))),
            Err(e) => Err(classify(&e, name, Phase::Streaming)),
        }));
        match read {
            Ok(Ok(result)) => result,
            Ok(Err(e)) => Err(e),
            Err(_) => Err(SourceError::Disconnected(format!(
                "The camera \"{name}\" failed inside its driver. The gate keeps trying."
            ))),
        }
    }

    fn close(&mut self) {
        if let Some(open) = self.open.take() {
            // nokhwa's `Drop` unwraps the result of stopping the stream; a camera that is
            // already gone must not take the thread with it.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(open)));
        }
    }
}

/// Opens camera `index` in the format [`choose_format`] picks and starts its stream.
fn open_camera(index: u32, name: &str) -> Result<(Camera, CameraFormat), SourceError> {
    let failed = |phase| move |e: NokhwaError| classify(&e, name, phase);
    let requested = RequestedFormat::with_formats(RequestedFormatType::None, &READABLE);
    let mut camera =
        Camera::new(CameraIndex::Index(index), requested).map_err(failed(Phase::Opening))?;
    let formats = camera
        .compatible_camera_formats()
        .map_err(failed(Phase::Opening))?;
    let chosen = choose_format(&formats).ok_or_else(|| {
        SourceError::Failed(format!(
            "The camera \"{name}\" offers no picture format Gerbang reads (MJPEG, YUYV, NV12, \
             grayscale or RGB). Choose another camera."
        ))
    })?;
    if camera.camera_format() != chosen {
        let exact = RequestedFormat::with_formats(RequestedFormatType::Exact(chosen), &READABLE);
        camera
            .set_camera_requset(exact)
            .map_err(failed(Phase::Opening))?;
    }
    camera.open_stream().map_err(failed(Phase::Opening))?;
    let format = camera.camera_format();
    Ok((camera, format))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(w: u32, h: u32, format: FrameFormat, fps: u32) -> CameraFormat {
        CameraFormat::new_from(w, h, format, fps)
    }

    #[test]
    fn the_format_is_720p_at_a_good_rate_in_the_cheapest_encoding() {
        use FrameFormat::*;
        let check = |offered: &[CameraFormat], expect: Option<CameraFormat>| {
            assert_eq!(choose_format(offered), expect, "{offered:?}");
        };
        // A typical USB 2 webcam: YUYV 720p only at 10 fps, MJPEG at 30.
        let webcam = [
            fmt(640, 480, YUYV, 30),
            fmt(1280, 720, YUYV, 10),
            fmt(1920, 1080, YUYV, 5),
            fmt(640, 480, MJPEG, 30),
            fmt(1280, 720, MJPEG, 30),
            fmt(1920, 1080, MJPEG, 30),
        ];
        check(&webcam, Some(fmt(1280, 720, MJPEG, 30)));
        // YUYV at a good rate beats MJPEG at the same size: no JPEG decode.
        check(
            &[fmt(1280, 720, MJPEG, 30), fmt(1280, 720, YUYV, 30)],
            Some(fmt(1280, 720, YUYV, 30)),
        );
        // 30 fps beats 15 in a costlier encoding; 60 is no better than 30.
        check(
            &[fmt(1280, 720, YUYV, 15), fmt(1280, 720, MJPEG, 30)],
            Some(fmt(1280, 720, MJPEG, 30)),
        );
        check(
            &[fmt(1280, 720, MJPEG, 60), fmt(1280, 720, MJPEG, 30)],
            Some(fmt(1280, 720, MJPEG, 30)),
        );
        // No 720p: the smallest above it, else the largest below it.
        check(
            &[
                fmt(1920, 1080, MJPEG, 30),
                fmt(1280, 960, MJPEG, 30),
                fmt(960, 720, MJPEG, 30),
            ],
            Some(fmt(1280, 960, MJPEG, 30)),
        );
        check(
            &[fmt(640, 480, YUYV, 30), fmt(800, 600, YUYV, 30)],
            Some(fmt(800, 600, YUYV, 30)),
        );
        // A 720p camera that is slow in every format still gives 720p rather than nothing;
        // a good frame rate at a lower size wins over it.
        check(&[fmt(1280, 720, YUYV, 5)], Some(fmt(1280, 720, YUYV, 5)));
        check(
            &[fmt(1280, 720, YUYV, 5), fmt(640, 480, YUYV, 30)],
            Some(fmt(640, 480, YUYV, 30)),
        );
        check(&[], None);
        check(&[fmt(1280, 720, MJPEG, 0)], None);
    }

    fn camera(index: u32, name: &str) -> CameraInfo {
        CameraInfo {
            index,
            name: name.into(),
            description: String::new(),
        }
    }

    #[test]
    fn the_chosen_camera_is_found_by_name_when_its_number_changed() {
        let cameras = [camera(0, "Built-in"), camera(2, "USB Cam")];
        let chosen = |index, name: Option<&str>| CameraChoice {
            index,
            name: name.map(str::to_owned),
        };
        let picked =
            |choice: Option<CameraChoice>| pick(&cameras, choice.as_ref()).map(|c| c.index);
        assert_eq!(picked(None), Some(0));
        assert_eq!(picked(Some(chosen(2, Some("USB Cam")))), Some(2));
        // Replugged: it was number 0, it is number 2 now.
        assert_eq!(picked(Some(chosen(0, Some("USB Cam")))), Some(2));
        // Unplugged: the built-in camera at its old number is not used in its place.
        assert_eq!(picked(Some(chosen(1, Some("Other")))), None);
        assert_eq!(picked(Some(CameraChoice::index(2))), Some(2));
        assert_eq!(picked(Some(CameraChoice::index(5))), None);
        assert_eq!(pick(&[], None), None);
    }

    #[test]
    fn driver_errors_become_plain_words() {
        let open = |e| classify(&e, "Cam", Phase::Opening);
        assert!(matches!(
            open(NokhwaError::OpenStreamError(
                "Device or resource busy (os error 16)".into()
            )),
            SourceError::Busy(_)
        ));
        assert!(matches!(
            open(NokhwaError::OpenDeviceError(
                "0".into(),
                "V4L2 Error: Permission denied (os error 13)".into()
            )),
            SourceError::Failed(m) if m.contains("\"video\" group")
        ));
        assert!(matches!(
            open(NokhwaError::OpenDeviceError(
                "0".into(),
                "V4L2 Error: No such file or directory (os error 2)".into()
            )),
            SourceError::NoCamera(_)
        ));
        assert!(matches!(
            classify(
                &NokhwaError::ReadFrameError("No such device (os error 19)".into()),
                "Cam",
                Phase::Streaming
            ),
            SourceError::Disconnected(_)
        ));
        assert!(matches!(
            open(NokhwaError::GetPropertyError {
                property: "CameraFormat".into(),
                error: "Failed to Fufill".into()
            }),
            SourceError::Failed(m) if m.contains("no picture format")
        ));
    }
}
