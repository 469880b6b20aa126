//! [`LumaFrame`]: a borrowed grayscale frame, and the copies the pipeline makes of it.

/// A grayscale (8-bit luma) frame borrowed from its owner, e.g. the Y plane of a camera's
/// YUV frame: `height` rows of `width` pixels, each row starting `stride` bytes after the last.
#[derive(Debug, Clone, Copy)]
pub struct LumaFrame<'a> {
    data: &'a [u8],
    width: usize,
    height: usize,
    stride: usize,
}

/// Why a buffer is not a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("the stride ({stride} bytes) is smaller than the width ({width} pixels)")]
    StrideTooSmall { width: usize, stride: usize },
    #[error(
        "a {width}x{height} frame with stride {stride} needs {needed} bytes, but the buffer has {len}"
    )]
    TooShort {
        width: usize,
        height: usize,
        stride: usize,
        needed: usize,
        len: usize,
    },
}

impl<'a> LumaFrame<'a> {
    /// A frame over `data`; checks that every row fits in it.
    pub fn new(
        data: &'a [u8],
        width: usize,
        height: usize,
        stride: usize,
    ) -> Result<LumaFrame<'a>, FrameError> {
        if stride < width {
            return Err(FrameError::StrideTooSmall { width, stride });
        }
        let needed = match height {
            0 => 0,
            h => (h - 1)
                .checked_mul(stride)
                .and_then(|n| n.checked_add(width))
                .unwrap_or(usize::MAX),
        };
        if data.len() < needed {
            return Err(FrameError::TooShort {
                width,
                height,
                stride,
                needed,
                len: data.len(),
            });
        }
        Ok(LumaFrame {
            data,
            width,
            height,
            stride,
        })
    }

    /// A frame whose rows follow each other with no padding.
    pub fn packed(
        data: &'a [u8],
        width: usize,
        height: usize,
    ) -> Result<LumaFrame<'a>, FrameError> {
        LumaFrame::new(data, width, height, width)
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    /// Row `y` (below [`LumaFrame::height`]): `width` pixels.
    pub fn row(&self, y: usize) -> &'a [u8] {
        &self.data[y * self.stride..y * self.stride + self.width]
    }

    /// The pixels with no row padding: borrowed when the frame is packed already, copied into
    /// `scratch` otherwise.
    pub(crate) fn packed_pixels<'s>(&self, scratch: &'s mut Vec<u8>) -> &'s [u8]
    where
        'a: 's,
    {
        if self.stride == self.width {
            return &self.data[..self.width * self.height];
        }
        scratch.clear();
        for y in 0..self.height {
            scratch.extend_from_slice(self.row(y));
        }
        scratch
    }

    /// Copies the rectangle at (`left`, `top`) of `w` x `h` pixels (inside the frame) into
    /// `out`, packed.
    pub(crate) fn crop_into(&self, left: usize, top: usize, w: usize, h: usize, out: &mut Vec<u8>) {
        out.clear();
        for y in top..top + h {
            out.extend_from_slice(&self.row(y)[left..left + w]);
        }
    }

    /// Writes the frame at half width and height into `out`, each pixel the mean of a 2x2 block.
    /// Two rows are first added element-wise (vectorised), then neighbouring pairs of sums.
    pub(crate) fn halve_into(&self, out: &mut Vec<u8>) {
        let (w, h) = (self.width / 2, self.height / 2);
        out.clear();
        out.resize(w * h, 0);
        let mut pair = vec![0u16; 2 * w];
        for (y, out_row) in out.chunks_exact_mut(w.max(1)).enumerate().take(h) {
            let (a, b) = (self.row(2 * y), self.row(2 * y + 1));
            for ((s, &a), &b) in pair.iter_mut().zip(a).zip(b) {
                *s = u16::from(a) + u16::from(b);
            }
            for (o, s) in out_row.iter_mut().zip(pair.chunks_exact(2)) {
                *o = ((s[0] + s[1] + 2) / 4) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halving_averages_2x2_blocks_of_a_strided_frame() {
        // 5x3 pixels in rows of 7 bytes: the last column and row are dropped, padding unread.
        let data: Vec<u8> = (0..21).map(|i| (i * 12) as u8).collect();
        let frame = LumaFrame::new(&data, 5, 3, 7).unwrap();
        let mut out = vec![99; 3];
        frame.halve_into(&mut out);
        // Blocks (0, 12, 84, 96) and (24, 36, 108, 120).
        assert_eq!(out, [48, 72]);
        let one = LumaFrame::packed(&[7], 1, 1).unwrap();
        one.halve_into(&mut out);
        assert!(out.is_empty());
    }
}
