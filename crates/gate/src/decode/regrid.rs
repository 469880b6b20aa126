//! A second reading of a code's modules from the grey pixels, for codes whose grid rxing found
//! but whose binarised bits did not decode: a code under glare, where one threshold per 8x8
//! block cuts through the bright streak, or a small one, at two or three pixels per module.
//!
//! Each module's grey level is sampled at its centre (bilinear) through the grid's four outer
//! corners and sharpened in module space: the module's difference from its four neighbours is
//! added again, `factor` times (3, then 1). At a few pixels per module the camera's blur spreads
//! each module into its neighbours, so a lone dark module among light ones comes out mid-grey,
//! lighter than the local threshold, and a lone light one darker; the sharpening undoes most of
//! that. Each module is then dark when it is darker than the mean of the 9x9 modules around it,
//! and the bits go to rxing's decoder, whose Reed–Solomon check decides, as for every code.
//!
//! Measured (`docs/BENCHMARKS.md`): +2 codes under glare. Checked at the true grid of the small
//! case of the corpus as it was before its blur was corrected (sigma 1.41 at 2.2 px a module),
//! sharpening turned the codes that decode from 22 of 40 into 31; in the pipeline rxing finds
//! no grid for most of those, so it does not reach them.
//!
//! One map over the outer corners is exact for codes up to version 6, which rxing samples the
//! same way; for version 7 and up rxing samples piecewise between the alignment patterns, so on
//! a bent large code this reading is the rougher of the two.

use rxing::common::BitMatrix;
use rxing::qrcode::cpp_port::decoder::Decode;

use super::homography::Homography;

/// The sharpening factors tried, in order (0 is the plain grey reading).
pub(crate) const SHARPEN: [f32; 2] = [3.0, 1.0];

/// The grey level at (x, y) in pixel coordinates (pixel i covers [i, i + 1)), interpolated
/// between the four nearest pixel centres; `None` outside the image.
fn bilinear(pixels: &[u8], width: usize, height: usize, x: f32, y: f32) -> Option<f32> {
    let (x, y) = (x - 0.5, y - 0.5);
    // Checked as floats, before any cast (NaN fails every comparison; infinity the upper bound).
    if width < 2 || height < 2 {
        return None;
    }
    if !(x >= 0.0 && y >= 0.0 && x < (width - 1) as f32 && y < (height - 1) as f32) {
        return None;
    }
    let (x0, y0) = (x as usize, y as usize);
    if x0 + 1 >= width || y0 + 1 >= height {
        return None;
    }
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let at = |xx: usize, yy: usize| f32::from(pixels[yy * width + xx]);
    let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1, y0) * fx;
    let bottom = at(x0, y0 + 1) * (1.0 - fx) + at(x0 + 1, y0 + 1) * fx;
    Some(top * (1.0 - fy) + bottom * fy)
}

/// Reads the `dimension` x `dimension` modules whose outer corners (top left, top right,
/// bottom right, bottom left, in pixel coordinates) are `corners` from the grey `pixels`, and
/// decodes them, sharpened by each of `factors` in turn (see [`SHARPEN`]); `inverted` for a
/// light-on-dark code. The text, when one reading's Reed–Solomon check passes.
pub(crate) fn read_modules(
    pixels: &[u8],
    width: usize,
    height: usize,
    corners: [(f32, f32); 4],
    dimension: usize,
    inverted: bool,
    factors: &[f32],
) -> Option<String> {
    if !(21..=177).contains(&dimension) || pixels.len() < width * height {
        return None;
    }
    let to_frame = Homography::square_to_quad(corners)?;
    let n = dimension;
    let mut grey = vec![0f32; n * n];
    for v in 0..n {
        for u in 0..n {
            let (x, y) = to_frame.apply((u as f32 + 0.5) / n as f32, (v as f32 + 0.5) / n as f32);
            let level = bilinear(pixels, width, height, x, y)?;
            grey[v * n + u] = if inverted { 255.0 - level } else { level };
        }
    }
    let mut sharp = vec![0f32; n * n];
    let mut bits = BitMatrix::new(n as u32, n as u32).ok()?;
    for &factor in factors {
        sharpen(&grey, n, factor, &mut sharp);
        threshold_modules(&sharp, n, &mut bits);
        if let Ok(decoded) = Decode(&bits) {
            let text = decoded.text();
            if decoded.isValid() && !text.is_empty() {
                return Some(text);
            }
        }
    }
    None
}

/// `out` = each module's level plus `factor` times its difference from the mean of its four
/// neighbours (those inside the symbol).
fn sharpen(grey: &[f32], n: usize, factor: f32, out: &mut [f32]) {
    for v in 0..n {
        for u in 0..n {
            let mut sum = 0.0;
            let mut count = 0.0;
            if u > 0 {
                sum += grey[v * n + u - 1];
                count += 1.0;
            }
            if u + 1 < n {
                sum += grey[v * n + u + 1];
                count += 1.0;
            }
            if v > 0 {
                sum += grey[(v - 1) * n + u];
                count += 1.0;
            }
            if v + 1 < n {
                sum += grey[(v + 1) * n + u];
                count += 1.0;
            }
            let own = grey[v * n + u];
            out[v * n + u] = own + factor * (own - sum / count);
        }
    }
}

/// Sets the modules darker than the mean of the 9x9 modules around them (fewer at the edges).
fn threshold_modules(levels: &[f32], n: usize, bits: &mut BitMatrix) {
    const REACH: usize = 4;
    bits.clear();
    // A summed-area table of the levels.
    let stride = n + 1;
    let mut area = vec![0f32; stride * (n + 1)];
    for v in 0..n {
        let mut row = 0.0;
        for u in 0..n {
            row += levels[v * n + u];
            area[(v + 1) * stride + u + 1] = area[v * stride + u + 1] + row;
        }
    }
    for v in 0..n {
        let (v0, v1) = (v.saturating_sub(REACH), (v + REACH + 1).min(n));
        for u in 0..n {
            let (u0, u1) = (u.saturating_sub(REACH), (u + REACH + 1).min(n));
            let sum = area[v1 * stride + u1] + area[v0 * stride + u0]
                - area[v0 * stride + u1]
                - area[v1 * stride + u0];
            let mean = sum / ((v1 - v0) * (u1 - u0)) as f32;
            if levels[v * n + u] < mean {
                bits.set(u as u32, v as u32);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use qrcode::{Color, EcLevel, QrCode};

    use super::*;
    use crate::decode::corpus::blur;

    /// A code drawn square at `scale` pixels a module from (`offset`, `offset`), four modules
    /// of quiet zone, ink 30 on paper 200 (4x4 supersampled), then blurred; with its corners
    /// and size in modules.
    fn drawn(
        text: &str,
        scale: f32,
        offset: f32,
        sigma: f32,
    ) -> (Vec<u8>, usize, [(f32, f32); 4], usize) {
        let code = QrCode::with_error_correction_level(text, EcLevel::M).unwrap();
        let n = code.width();
        let dark: Vec<bool> = code
            .to_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect();
        let side = (2.0 * offset + n as f32 * scale).ceil() as usize;
        let mut pixels = vec![0u8; side * side];
        for y in 0..side {
            for x in 0..side {
                let mut ink = 0.0;
                for sy in 0..4 {
                    for sx in 0..4 {
                        let u = (x as f32 + (sx as f32 + 0.5) / 4.0 - offset) / scale;
                        let v = (y as f32 + (sy as f32 + 0.5) / 4.0 - offset) / scale;
                        let inside = u >= 0.0 && v >= 0.0 && u < n as f32 && v < n as f32;
                        if inside && dark[v as usize * n + u as usize] {
                            ink += 1.0 / 16.0;
                        }
                    }
                }
                pixels[y * side + x] = (200.0 - 170.0 * ink) as u8;
            }
        }
        if sigma > 0.0 {
            blur(&mut pixels, side, side, sigma);
        }
        let far = offset + n as f32 * scale;
        let corners = [(offset, offset), (far, offset), (far, far), (offset, far)];
        (pixels, side, corners, n)
    }

    #[test]
    fn reads_a_sharp_code_in_either_polarity() {
        let text = "https://tiket.example.id/t/00c0ffee42";
        let (pixels, side, corners, n) = drawn(text, 4.0, 16.0, 0.0);
        let read = |pixels: &[u8], inverted| {
            read_modules(pixels, side, side, corners, n, inverted, &SHARPEN)
        };
        assert_eq!(read(&pixels, false).as_deref(), Some(text));
        let light_on_dark: Vec<u8> = pixels.iter().map(|&v| 255 - v).collect();
        assert_eq!(read(&light_on_dark, true).as_deref(), Some(text));
        assert_eq!(read(&light_on_dark, false), None);
    }

    #[test]
    fn sharpening_reads_small_blurred_modules_that_plain_grey_does_not() {
        let text = "Seminar Nasional - kursi 512";
        // 2.3 pixels a module under a blur of sigma 1.4: the grid is exact, the modules smeared.
        let (pixels, side, corners, n) = drawn(text, 2.3, 10.3, 1.4);
        let read = |factors: &[f32]| read_modules(&pixels, side, side, corners, n, false, factors);
        assert_eq!(
            read(&[0.0]),
            None,
            "plain grey levels should not decode here"
        );
        assert_eq!(read(&SHARPEN).as_deref(), Some(text));
    }

    #[test]
    fn refuses_grids_it_cannot_sample() {
        let (pixels, side, corners, n) = drawn("EXT-00042", 4.0, 16.0, 0.0);
        let read = |corners, dimension| {
            read_modules(&pixels, side, side, corners, dimension, false, &SHARPEN)
        };
        // Partly outside the image, collapsed to a line, a size no QR code has, or the wrong
        // one: nothing, and no panic.
        let shifted = corners.map(|(x, y)| (x + side as f32 * 0.5, y));
        assert_eq!(read(shifted, n), None);
        assert_eq!(
            read([(10.0, 10.0), (50.0, 10.0), (90.0, 10.0), (130.0, 10.0)], n),
            None
        );
        assert_eq!(read(corners, 20), None);
        assert_eq!(read(corners, 178), None);
        assert_eq!(read(corners, n + 4), None);
        let nan = [(f32::NAN, 0.0), (40.0, 0.0), (40.0, 40.0), (0.0, 40.0)];
        assert_eq!(read(nan, n), None);
        // A crossed quadrilateral whose map sends a module centre to infinity.
        let flat = vec![128u8; 100 * 100];
        let crossed = [(1.0, 1.0), (-11.0, -1.0), (-11.0, -11.0), (1.0, 11.0)];
        assert_eq!(
            read_modules(&flat, 100, 100, crossed, 21, false, &SHARPEN),
            None
        );
    }
}
