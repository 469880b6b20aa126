//! Preview frames for the UI: a small grayscale JPEG of the frame just decoded, with the outline
//! of each code found in it, at most a few times a second.
//!
//! The preview is made from the luma the decoder read, so it costs no second decode of the
//! camera's frame (an MJPEG frame is only ever decoded to luma), and the outlines drawn on it are
//! exactly where the decoder found the codes. It is grayscale for the same reason; it is there to
//! aim the ticket, not to admire.

use std::time::Duration;

use crate::decode::{Found, LumaFrame};

/// How previews are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreviewConfig {
    /// At most this many previews a second; 0 makes none.
    pub max_fps: u32,
    /// The preview's width in pixels (its height keeps the frame's proportions); frames
    /// narrower than this are not enlarged.
    pub width: u32,
    /// JPEG quality, 1 to 100.
    pub quality: u8,
}

impl Default for PreviewConfig {
    fn default() -> Self {
        PreviewConfig {
            max_fps: 15,
            width: 640,
            quality: 70,
        }
    }
}

/// One preview frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    /// A baseline grayscale JPEG, `width` x `height`.
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// The codes found in this frame, their corners in preview pixels.
    pub codes: Vec<PreviewCode>,
    /// The capture thread's number for the frame it was made from.
    pub frame: u64,
}

/// A code's outline on the preview.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PreviewCode {
    pub text: String,
    /// The code's four corners (x, y) in preview pixels, in the order the reader reports them;
    /// joined in order they outline the code.
    pub corners: [(f32, f32); 4],
}

/// Decides when the next preview is due, so previews stay under `max_fps` however fast frames
/// are decoded.
#[derive(Debug)]
pub(crate) struct PreviewRate {
    interval: Option<Duration>,
    /// When the next preview is due; none made yet when `None`.
    next: Option<Duration>,
}

impl PreviewRate {
    pub fn new(max_fps: u32) -> PreviewRate {
        PreviewRate {
            interval: (max_fps > 0).then(|| Duration::from_secs(1) / max_fps),
            next: None,
        }
    }

    /// True if a preview is due at `now`; the next one is then due an interval later.
    pub fn due(&mut self, now: Duration) -> bool {
        let Some(interval) = self.interval else {
            return false;
        };
        // Keep to the grid when on time, so the rate is max_fps and not a little under it;
        // start afresh after a gap (or at the first preview).
        self.next = match self.next {
            Some(next) if now < next => return false,
            Some(next) if now < next + interval => Some(next + interval),
            _ => Some(now + interval),
        };
        true
    }
}

/// Makes previews, keeping its buffers from one to the next.
#[derive(Debug, Default)]
pub(crate) struct PreviewMaker {
    small: Vec<u8>,
}

impl PreviewMaker {
    pub fn make(
        &mut self,
        config: &PreviewConfig,
        frame: &LumaFrame<'_>,
        codes: &[Found],
        seq: u64,
    ) -> Result<Preview, image::ImageError> {
        let (fw, fh) = (frame.width(), frame.height());
        let width = (config.width.max(1) as usize).min(fw);
        let height = ((fh * width + fw / 2) / fw).max(1);
        shrink(frame, width, height, &mut self.small);
        let mut jpeg = Vec::with_capacity(width * height / 8);
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, config.quality.clamp(1, 100))
            .encode(
                &self.small,
                width as u32,
                height as u32,
                image::ExtendedColorType::L8,
            )?;
        let (sx, sy) = (width as f32 / fw as f32, height as f32 / fh as f32);
        let codes = codes
            .iter()
            .map(|c| PreviewCode {
                text: c.text.clone(),
                corners: c.corners.map(|(x, y)| (x * sx, y * sy)),
            })
            .collect();
        Ok(Preview {
            jpeg,
            width: width as u32,
            height: height as u32,
            codes,
            frame: seq,
        })
    }
}

/// Shrinks `frame` to `width` x `height` (no larger than it) into `out`: each output pixel is
/// the mean of the block of input pixels it covers, so the preview does not shimmer.
fn shrink(frame: &LumaFrame<'_>, width: usize, height: usize, out: &mut Vec<u8>) {
    let (fw, fh) = (frame.width(), frame.height());
    // The input columns of output column x are xs[x]..xs[x + 1].
    let xs: Vec<usize> = (0..=width).map(|x| x * fw / width).collect();
    let mut sums = vec![0u32; width];
    out.clear();
    out.reserve(width * height);
    for y in 0..height {
        let (y0, y1) = (
            y * fh / height,
            ((y + 1) * fh / height).max(y * fh / height + 1),
        );
        sums.iter_mut().for_each(|s| *s = 0);
        for row in y0..y1.min(fh) {
            let row = frame.row(row);
            for (x, sum) in sums.iter_mut().enumerate() {
                *sum += row[xs[x]..xs[x + 1].max(xs[x] + 1)]
                    .iter()
                    .map(|&v| u32::from(v))
                    .sum::<u32>();
            }
        }
        out.extend(sums.iter().enumerate().map(|(x, &sum)| {
            let count = (y1 - y0) * (xs[x + 1].max(xs[x] + 1) - xs[x]);
            ((sum as usize + count / 2) / count) as u8
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_are_rate_limited_to_max_fps() {
        let mut rate = PreviewRate::new(15);
        // 60 frames a second for two seconds.
        let made = (0..120)
            .filter(|i| rate.due(Duration::from_secs(1) * *i / 60))
            .count();
        assert_eq!(made, 30);
        // Slower frames than the limit all get a preview.
        let mut rate = PreviewRate::new(15);
        assert_eq!(
            (0..10)
                .filter(|i| rate.due(Duration::from_millis(100) * *i))
                .count(),
            10
        );
        assert!(!PreviewRate::new(0).due(Duration::from_secs(5)));
    }

    #[test]
    fn a_preview_is_a_small_jpeg_with_outlines_scaled_to_it() {
        let (w, h) = (1280, 720);
        let pixels: Vec<u8> = (0..w * h).map(|i| ((i % w) * 255 / w) as u8).collect();
        let frame = LumaFrame::packed(&pixels, w, h).unwrap();
        let found = Found {
            text: "T-1".into(),
            corners: [
                (100.0, 200.0),
                (300.0, 200.0),
                (300.0, 400.0),
                (100.0, 400.0),
            ],
        };
        let preview = PreviewMaker::default()
            .make(&PreviewConfig::default(), &frame, &[found], 7)
            .unwrap();
        assert_eq!(
            (preview.width, preview.height, preview.frame),
            (640, 360, 7)
        );
        assert_eq!(
            preview.codes[0].corners,
            [(50.0, 100.0), (150.0, 100.0), (150.0, 200.0), (50.0, 200.0)]
        );
        let image = image::load_from_memory(&preview.jpeg).unwrap().into_luma8();
        assert_eq!(image.dimensions(), (640, 360));
        // The gradient survives: dark on the left, light on the right.
        assert!(image.get_pixel(10, 180).0[0] < 20);
        assert!(image.get_pixel(630, 180).0[0] > 235);
        assert!(preview.jpeg.len() < 40_000, "{} bytes", preview.jpeg.len());
    }

    #[test]
    fn odd_sizes_shrink_without_panicking() {
        for (fw, fh, pw) in [
            (1920, 1080, 640),
            (641, 7, 640),
            (3, 3, 640),
            (1000, 1, 333),
        ] {
            let pixels = vec![200u8; fw * fh];
            let frame = LumaFrame::packed(&pixels, fw, fh).unwrap();
            let config = PreviewConfig {
                width: pw,
                ..PreviewConfig::default()
            };
            let preview = PreviewMaker::default()
                .make(&config, &frame, &[], 0)
                .unwrap();
            assert_eq!(preview.width as usize, (pw as usize).min(fw));
            let image = image::load_from_memory(&preview.jpeg).unwrap().into_luma8();
            assert!(image.pixels().all(|p| p.0[0].abs_diff(200) < 4));
        }
    }
}
