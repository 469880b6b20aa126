//! [`Frame`]: one captured frame, owned, and its conversion to luma.
//!
//! The decoder needs only the luma (Y) plane, so a frame is reduced to it as early and as
//! cheaply as its format allows: YUYV, NV12, GRAY and RGB are turned into luma while they are
//! copied out of the camera's buffer (one pass, which the copy costs anyway), and MJPEG is kept
//! compressed (a tenth of the bytes) and decoded straight to luma only if the decode thread takes
//! it. A frame dropped because a newer one arrived first therefore costs a copy, never a JPEG
//! decode.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use crate::decode::LumaFrame;

/// Frames larger than this many pixels each way are refused: a broken driver or a hostile
/// JPEG header must not make the gate allocate gigabytes. 8K is 7680x4320.
pub const MAX_SIDE: usize = 8192;

/// The pixel layouts cameras deliver that the gate can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum PixelFormat {
    /// Motion JPEG: each frame a JPEG image (most USB webcams at 720p and above).
    Mjpeg,
    /// YUV 4:2:2, packed as Y0 U Y1 V.
    Yuyv,
    /// YUV 4:2:0, the Y plane followed by interleaved U and V.
    Nv12,
    /// 8-bit grayscale.
    Gray,
    /// 8-bit R, G, B.
    Rgb,
    /// 8-bit B, G, R.
    Bgr,
}

impl PixelFormat {
    pub fn name(self) -> &'static str {
        match self {
            PixelFormat::Mjpeg => "MJPEG",
            PixelFormat::Yuyv => "YUYV",
            PixelFormat::Nv12 => "NV12",
            PixelFormat::Gray => "GRAY",
            PixelFormat::Rgb => "RGB",
            PixelFormat::Bgr => "BGR",
        }
    }

    /// The bytes a `width` x `height` frame needs; `None` for JPEG (any length).
    fn raw_len(self, width: usize, height: usize) -> Option<usize> {
        let pixels = width * height;
        match self {
            PixelFormat::Mjpeg => None,
            PixelFormat::Yuyv => Some(pixels * 2),
            PixelFormat::Nv12 => Some(pixels + 2 * width.div_ceil(2) * height.div_ceil(2)),
            PixelFormat::Gray => Some(pixels),
            PixelFormat::Rgb | PixelFormat::Bgr => Some(pixels * 3),
        }
    }
}

/// Why a captured frame could not be turned into luma. The frame is skipped; the camera goes on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error(
        "a {format} frame of {width}x{height} needs {needed} bytes, but the camera sent {got}"
    )]
    Short {
        format: &'static str,
        width: usize,
        height: usize,
        needed: usize,
        got: usize,
    },
    #[error(
        "the camera sent a {width}x{height} frame; frames are read up to {MAX_SIDE} pixels a side"
    )]
    BadSize { width: usize, height: usize },
    #[error("the camera sent a JPEG frame that could not be decoded: {0}")]
    Jpeg(String),
}

/// What a [`Frame`]'s bytes hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Nothing yet.
    Empty,
    /// `width` x `height` luma pixels, packed.
    Luma { width: usize, height: usize },
    /// A JPEG image, not yet decoded.
    Jpeg,
}

/// One captured frame, owned. A [`super::FrameSource`] fills it with one of the `set_*`
/// methods; the buffer is reused from frame to frame, so capture allocates nothing once warm.
#[derive(Debug)]
pub struct Frame {
    data: Vec<u8>,
    layout: Layout,
    /// Numbered by the capture thread, from 1, so that tests and statistics can tell frames
    /// apart and count the ones dropped.
    pub(crate) seq: u64,
    /// When it was captured, on the service's clock.
    pub(crate) at: Duration,
}

impl Default for Frame {
    fn default() -> Self {
        Frame::new()
    }
}

impl Frame {
    pub fn new() -> Frame {
        Frame {
            data: Vec::new(),
            layout: Layout::Empty,
            seq: 0,
            at: Duration::ZERO,
        }
    }

    /// Copies packed luma pixels.
    pub fn set_luma(
        &mut self,
        pixels: &[u8],
        width: usize,
        height: usize,
    ) -> Result<(), FrameError> {
        self.set_raw(PixelFormat::Gray, pixels, width, height)
    }

    /// Copies a JPEG image, to be decoded (to luma only) when the frame is read.
    pub fn set_jpeg(&mut self, jpeg: &[u8]) {
        self.data.clear();
        self.data.extend_from_slice(jpeg);
        self.layout = Layout::Jpeg;
    }

    /// Takes a camera's buffer in `format`: JPEG is copied as it is, every other format is
    /// reduced to luma as it is copied. A buffer longer than the frame needs (drivers pad) is
    /// fine; a shorter one is an error and the frame is left empty.
    pub fn set_raw(
        &mut self,
        format: PixelFormat,
        raw: &[u8],
        width: usize,
        height: usize,
    ) -> Result<(), FrameError> {
        self.layout = Layout::Empty;
        if format == PixelFormat::Mjpeg {
            self.set_jpeg(raw);
            return Ok(());
        }
        check_size(width, height)?;
        let needed = format.raw_len(width, height).unwrap_or(0);
        if raw.len() < needed {
            return Err(FrameError::Short {
                format: format.name(),
                width,
                height,
                needed,
                got: raw.len(),
            });
        }
        let pixels = width * height;
        self.data.clear();
        match format {
            // Y0 U Y1 V: the luma is every other byte.
            PixelFormat::Yuyv => self
                .data
                .extend(raw[..pixels * 2].chunks_exact(2).map(|yu| yu[0])),
            // The Y plane comes first, whole.
            PixelFormat::Nv12 | PixelFormat::Gray => self.data.extend_from_slice(&raw[..pixels]),
            PixelFormat::Rgb => self.data.extend(
                raw[..pixels * 3]
                    .chunks_exact(3)
                    .map(|p| luma(p[0], p[1], p[2])),
            ),
            PixelFormat::Bgr => self.data.extend(
                raw[..pixels * 3]
                    .chunks_exact(3)
                    .map(|p| luma(p[2], p[1], p[0])),
            ),
            PixelFormat::Mjpeg => unreachable!("handled above"),
        }
        self.layout = Layout::Luma { width, height };
        Ok(())
    }

    /// The buffer's allocation, kept from frame to frame.
    #[cfg(test)]
    pub(crate) fn data_capacity(&self) -> usize {
        self.data.capacity()
    }

    /// Is a compressed JPEG (decoding it costs milliseconds; see [`Frame::luma`]).
    pub fn is_jpeg(&self) -> bool {
        self.layout == Layout::Jpeg
    }

    /// The frame's luma: borrowed when it is luma already, decoded into `scratch` when it is a
    /// JPEG. Never panics, whatever the bytes.
    pub fn luma<'a>(&'a self, scratch: &'a mut Vec<u8>) -> Result<LumaFrame<'a>, FrameError> {
        match self.layout {
            Layout::Empty => Err(FrameError::BadSize {
                width: 0,
                height: 0,
            }),
            Layout::Luma { width, height } => LumaFrame::packed(&self.data, width, height)
                .map_err(|_| FrameError::BadSize { width, height }),
            Layout::Jpeg => {
                let (width, height) = decode_jpeg_luma(&self.data, scratch)?;
                LumaFrame::packed(scratch, width, height)
                    .map_err(|_| FrameError::BadSize { width, height })
            }
        }
    }
}

/// BT.601 luma from 8-bit RGB, in integers (the weights sum to 256).
fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((77 * u32::from(r) + 150 * u32::from(g) + 29 * u32::from(b) + 128) >> 8) as u8
}

fn check_size(width: usize, height: usize) -> Result<(), FrameError> {
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(FrameError::BadSize { width, height });
    }
    Ok(())
}

/// Decodes a JPEG's luma only (no chroma upsampling or colour conversion) into `out`, reusing
/// its allocation, and returns the size. zune-jpeg also fills in the standard Huffman tables
/// that MJPEG cameras leave out of their frames.
pub(crate) fn decode_jpeg_luma(
    jpeg: &[u8],
    out: &mut Vec<u8>,
) -> Result<(usize, usize), FrameError> {
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::Luma)
        .set_max_width(MAX_SIDE)
        .set_max_height(MAX_SIDE);
    let run = || -> Result<(usize, usize), FrameError> {
        let mut decoder = JpegDecoder::new_with_options(ZCursor::new(jpeg), options);
        decoder
            .decode_headers()
            .map_err(|e| FrameError::Jpeg(e.to_string()))?;
        let (width, height) = decoder
            .dimensions()
            .ok_or_else(|| FrameError::Jpeg("no image size in its header".into()))?;
        check_size(width, height)?;
        let size = decoder
            .output_buffer_size()
            .ok_or_else(|| FrameError::Jpeg("no image size in its header".into()))?;
        if size != width * height {
            return Err(FrameError::Jpeg(format!(
                "it decodes to {size} bytes, not {width}x{height} luma pixels"
            )));
        }
        out.resize(size, 0);
        decoder
            .decode_into(out)
            .map_err(|e| FrameError::Jpeg(e.to_string()))?;
        Ok((width, height))
    };
    // A decoder bug must cost one frame, not the camera thread.
    catch_unwind(AssertUnwindSafe(run))
        .unwrap_or_else(|_| Err(FrameError::Jpeg("the JPEG decoder failed on it".into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn luma_of(frame: &Frame) -> (usize, usize, Vec<u8>) {
        let mut scratch = Vec::new();
        let luma = frame.luma(&mut scratch).unwrap();
        let mut pixels = Vec::new();
        for y in 0..luma.height() {
            pixels.extend_from_slice(luma.row(y));
        }
        (luma.width(), luma.height(), pixels)
    }

    #[test]
    fn raw_formats_reduce_to_luma() {
        let mut frame = Frame::new();
        // 2x2 YUYV: Y values 10, 20 / 30, 40, chroma 128.
        frame
            .set_raw(
                PixelFormat::Yuyv,
                &[10, 128, 20, 128, 30, 128, 40, 128],
                2,
                2,
            )
            .unwrap();
        assert_eq!(luma_of(&frame), (2, 2, vec![10, 20, 30, 40]));
        // NV12: the Y plane, then one UV pair for the 2x2 block; a padded buffer is fine.
        frame
            .set_raw(PixelFormat::Nv12, &[1, 2, 3, 4, 128, 128, 0, 0], 2, 2)
            .unwrap();
        assert_eq!(luma_of(&frame), (2, 2, vec![1, 2, 3, 4]));
        frame
            .set_raw(PixelFormat::Rgb, &[255, 255, 255, 0, 0, 0], 2, 1)
            .unwrap();
        assert_eq!(luma_of(&frame), (2, 1, vec![255, 0]));
        frame
            .set_raw(PixelFormat::Bgr, &[255, 0, 0, 0, 0, 255], 2, 1)
            .unwrap();
        // Pure blue, then pure red.
        assert_eq!(luma_of(&frame).2, vec![29, 77]);
    }

    #[test]
    fn short_or_absurd_buffers_are_errors_not_panics() {
        let mut frame = Frame::new();
        let err = frame.set_raw(PixelFormat::Yuyv, &[0; 7], 2, 2).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a YUYV frame of 2x2 needs 8 bytes, but the camera sent 7"
        );
        // A failed frame is not read as the previous one.
        assert!(frame.luma(&mut Vec::new()).is_err());
        assert!(matches!(
            frame.set_raw(PixelFormat::Gray, &[], 0, 10),
            Err(FrameError::BadSize { .. })
        ));
        assert!(matches!(
            frame.set_raw(PixelFormat::Gray, &[], 100_000, 1),
            Err(FrameError::BadSize { .. })
        ));
    }

    #[test]
    fn jpeg_frames_decode_to_luma_and_garbage_is_an_error() {
        let (width, height) = (64u32, 48u32);
        let pixels: Vec<u8> = (0..width * height).map(|i| (i % 251) as u8).collect();
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95)
            .encode(&pixels, width, height, image::ExtendedColorType::L8)
            .unwrap();
        let mut frame = Frame::new();
        frame.set_raw(PixelFormat::Mjpeg, &jpeg, 640, 480).unwrap();
        assert!(frame.is_jpeg());
        let (w, h, decoded) = luma_of(&frame);
        assert_eq!((w, h), (64, 48));
        let worst = decoded
            .iter()
            .zip(&pixels)
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap();
        assert!(worst < 40, "luma differs by {worst}");

        for garbage in [&b""[..], b"\xff\xd8\xff", b"not a jpeg"] {
            frame.set_jpeg(garbage);
            assert!(
                matches!(frame.luma(&mut Vec::new()), Err(FrameError::Jpeg(_))),
                "{garbage:?}"
            );
        }
        // A frame cut short (a USB hiccup) decodes as far as it goes, or fails; never panics.
        for cut in (0..jpeg.len()).step_by(7) {
            frame.set_jpeg(&jpeg[..cut]);
            let _ = frame.luma(&mut Vec::new());
        }
    }
}
