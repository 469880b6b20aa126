//! A local-threshold binariser producing rxing's `BitMatrix`.
//!
//! rxing's `HybridBinarizer` is nearly all the cost of a read (about 2.3 ms of 2.5 ms on a
//! 1280x720 frame on this project's machine). This one follows the same idea (each 8x8 block's
//! threshold is the mean of the black points of the 5x5 blocks around it, so shadows and glare
//! move the threshold with them) in a few passes without branches on pixel values, takes the
//! flatness threshold as a parameter (the half-size frame is contrast-stretched and can use a
//! lower one), and lets the pipeline binarise a frame once for both polarities: the
//! light-on-dark read flips the bits instead of starting again. Every pass over the pixels is
//! written for the compiler to vectorise (see [`threshold`]): a 1280x720 frame costs about 6
//! instructions a pixel (callgrind), against 21.5 for the first, plainer version, which the
//! tests keep as the specification the fast one matches bit for bit.

use rxing::common::{BitArray, BitMatrix};

const BLOCK: usize = 8;

/// A block whose darkest and lightest pixels are at most this far apart is taken as flat (all
/// one module, or no code at all), and gets its threshold from its neighbours; zxing's value.
pub(crate) const MIN_RANGE: u8 = 24;

/// The same for the half-size frame, which is averaged (less noise) and contrast-stretched:
/// low enough that a code whose ink and paper are 25–40 levels apart in dim light still
/// binarises. Measured on the corpus (20 frames per case): low-contrast reads went from 55%
/// (24) to 80% (10); the full-size pass keeps 24 because a lower value there let noise into
/// small codes (they went from 55% to 50%).
pub(crate) const STRETCHED_MIN_RANGE: u8 = 10;

/// Binarises `pixels` (`width` x `height`, packed): true (set) is dark. Needs at least one block
/// each way; smaller images come back all light.
///
/// Written so the compiler vectorises every pass over the pixels: block minima, maxima and sums
/// are taken a column at a time over a block row (element-wise over the whole width), and the
/// comparison against the thresholds runs over a row of per-pixel thresholds, eight results
/// packed into a byte with one multiplication.
pub(crate) fn threshold(
    pixels: &[u8],
    width: usize,
    height: usize,
    min_range: u8,
) -> Option<BitMatrix> {
    let mut matrix = BitMatrix::new(width as u32, height as u32).ok()?;
    if width < BLOCK || height < BLOCK || pixels.len() < width * height {
        return Some(matrix);
    }
    let (bw, bh) = (width.div_ceil(BLOCK), height.div_ceil(BLOCK));
    // A block's top-left corner, pulled inside the image for the last row and column.
    let origin = |b: usize, size: usize| (b * BLOCK).min(size - BLOCK);
    let mut black = vec![0u8; bw * bh];
    let mut col_min = vec![0u8; width];
    let mut col_max = vec![0u8; width];
    let mut col_sum = vec![0u16; width];
    for by in 0..bh {
        let y0 = origin(by, height);
        let rows = &pixels[y0 * width..(y0 + BLOCK) * width];
        let (first, rest) = rows.split_at(width);
        col_min.copy_from_slice(first);
        col_max.copy_from_slice(first);
        for (sum, &v) in col_sum.iter_mut().zip(first) {
            *sum = u16::from(v);
        }
        // Three loops rather than one: each is vectorised at full width (one loop over all
        // three had the u16 sums set the minima and maxima to half width).
        for row in rest.chunks_exact(width) {
            for (lo, &v) in col_min.iter_mut().zip(row) {
                *lo = (*lo).min(v);
            }
            for (hi, &v) in col_max.iter_mut().zip(row) {
                *hi = (*hi).max(v);
            }
            for (sum, &v) in col_sum.iter_mut().zip(row) {
                *sum += u16::from(v);
            }
        }
        for bx in 0..bw {
            let x0 = origin(bx, width);
            let lo = col_min[x0..x0 + BLOCK].iter().copied().fold(255, u8::min);
            let hi = col_max[x0..x0 + BLOCK].iter().copied().fold(0, u8::max);
            let sum: u32 = col_sum[x0..x0 + BLOCK].iter().map(|&s| u32::from(s)).sum();
            let mut point = (sum / (BLOCK * BLOCK) as u32) as u8;
            if hi - lo <= min_range {
                // Flat: assume light, unless the neighbours above and to the left saw a
                // threshold above this block's darkest pixel (it is inside a dark module).
                point = lo / 2;
                if by > 0 && bx > 0 {
                    let up = u32::from(black[(by - 1) * bw + bx]);
                    let left = u32::from(black[by * bw + bx - 1]);
                    let corner = u32::from(black[(by - 1) * bw + bx - 1]);
                    let neighbours = ((up + 2 * left + corner) / 4) as u8;
                    if lo < neighbours {
                        point = neighbours;
                    }
                }
            }
            black[by * bw + bx] = point;
        }
    }
    // Each block's threshold: the mean black point of the 5x5 blocks around it (fewer at the
    // edges), from a summed-area table.
    let stride = bw + 1;
    let mut area = vec![0u32; stride * (bh + 1)];
    for by in 0..bh {
        let mut row_sum = 0;
        for bx in 0..bw {
            row_sum += u32::from(black[by * bw + bx]);
            area[(by + 1) * stride + bx + 1] = area[by * stride + bx + 1] + row_sum;
        }
    }
    // Pixel x of a block row takes the threshold of block x / 8.
    let mut pixel_thresholds = vec![0u8; width];
    let word_bits = usize::BITS as usize;
    let mut bit_row = BitArray::with_size(width);
    for by in 0..bh {
        let (t0, t1) = (by.saturating_sub(2), (by + 3).min(bh));
        for (bx, block) in pixel_thresholds.chunks_mut(BLOCK).enumerate() {
            let (l0, l1) = (bx.saturating_sub(2), (bx + 3).min(bw));
            let sum = area[t1 * stride + l1] + area[t0 * stride + l0]
                - area[t0 * stride + l1]
                - area[t1 * stride + l0];
            block.fill((sum / ((t1 - t0) * (l1 - l0)) as u32) as u8);
        }
        for y in by * BLOCK..((by + 1) * BLOCK).min(height) {
            let row = &pixels[y * width..(y + 1) * width];
            for (n, (px, th)) in row
                .chunks(word_bits)
                .zip(pixel_thresholds.chunks(word_bits))
                .enumerate()
            {
                bit_row.setBulk(n * word_bits, dark_bits(px, th));
            }
            matrix.setRow(y as u32, &bit_row);
        }
    }
    Some(matrix)
}

/// One bit per pixel of `px` (up to a word's worth), bit `j` set where `px[j]` is at most
/// `th[j]`. The comparisons are made a byte each (vectorised), and each eight bytes of 0 or 1
/// become eight bits with one multiplication: byte `j` lands on bit `56 + j` and no two
/// partial products overlap, so nothing carries.
#[inline(always)]
fn dark_bits(px: &[u8], th: &[u8]) -> usize {
    const GATHER: u64 = 0x0102_0408_1020_4080;
    let mut dark = [0u8; usize::BITS as usize];
    for ((d, &p), &t) in dark.iter_mut().zip(px).zip(th) {
        *d = u8::from(p <= t);
    }
    let mut word = 0usize;
    for (k, eight) in dark.chunks_exact(BLOCK).enumerate() {
        let bytes = u64::from_le_bytes(eight.try_into().unwrap_or([0; 8]));
        word |= ((bytes.wrapping_mul(GATHER) >> 56) as usize) << (BLOCK * k);
    }
    word
}

#[cfg(test)]
mod tests {
    use super::*;

    // The first, plainer version of `threshold`: the specification the fast one must match bit
    // for bit.
    fn reference(pixels: &[u8], width: usize, height: usize, min_range: u8) -> Option<BitMatrix> {
        let mut matrix = BitMatrix::new(width as u32, height as u32).ok()?;
        if width < BLOCK || height < BLOCK || pixels.len() < width * height {
            return Some(matrix);
        }
        let (bw, bh) = (width.div_ceil(BLOCK), height.div_ceil(BLOCK));
        // A block's top-left corner, pulled inside the image for the last row and column.
        let origin = |b: usize, size: usize| (b * BLOCK).min(size - BLOCK);
        let mut black = vec![0u8; bw * bh];
        for by in 0..bh {
            let y0 = origin(by, height);
            for bx in 0..bw {
                let x0 = origin(bx, width);
                let (mut lo, mut hi, mut sum) = (255u8, 0u8, 0u32);
                for row in pixels[y0 * width..].chunks(width).take(BLOCK) {
                    for &v in &row[x0..x0 + BLOCK] {
                        lo = lo.min(v);
                        hi = hi.max(v);
                        sum += u32::from(v);
                    }
                }
                let mut point = (sum / (BLOCK * BLOCK) as u32) as u8;
                if hi - lo <= min_range {
                    // Flat: assume light, unless the neighbours above and to the left saw a
                    // threshold above this block's darkest pixel (it is inside a dark module).
                    point = lo / 2;
                    if by > 0 && bx > 0 {
                        let up = u32::from(black[(by - 1) * bw + bx]);
                        let left = u32::from(black[by * bw + bx - 1]);
                        let corner = u32::from(black[(by - 1) * bw + bx - 1]);
                        let neighbours = ((up + 2 * left + corner) / 4) as u8;
                        if lo < neighbours {
                            point = neighbours;
                        }
                    }
                }
                black[by * bw + bx] = point;
            }
        }
        // Each block's threshold: the mean black point of the 5x5 blocks around it (fewer at the
        // edges), from a summed-area table.
        let stride = bw + 1;
        let mut area = vec![0u32; stride * (bh + 1)];
        for by in 0..bh {
            let mut row_sum = 0;
            for bx in 0..bw {
                row_sum += u32::from(black[by * bw + bx]);
                area[(by + 1) * stride + bx + 1] = area[by * stride + bx + 1] + row_sum;
            }
        }
        let mut thresholds = Vec::with_capacity(bw);
        let word_bits = usize::BITS as usize;
        let mut bit_row = BitArray::with_size(width);
        for by in 0..bh {
            let (t0, t1) = (by.saturating_sub(2), (by + 3).min(bh));
            thresholds.clear();
            for bx in 0..bw {
                let (l0, l1) = (bx.saturating_sub(2), (bx + 3).min(bw));
                let sum = area[t1 * stride + l1] + area[t0 * stride + l0]
                    - area[t0 * stride + l1]
                    - area[t1 * stride + l0];
                thresholds.push((sum / ((t1 - t0) * (l1 - l0)) as u32) as u8);
            }
            // Pixel x of these rows takes the threshold of block x / 8. Bits are packed into words
            // without branches (dark and light alternate unpredictably) and set a row at a time.
            for y in by * BLOCK..((by + 1) * BLOCK).min(height) {
                let row = &pixels[y * width..(y + 1) * width];
                for (n, chunk) in row.chunks(word_bits).enumerate() {
                    let mut bits = 0usize;
                    for (k, eight) in chunk.chunks(BLOCK).enumerate() {
                        let t = thresholds[n * word_bits / BLOCK + k];
                        bits |= usize::from(reference_mask(eight, t)) << (BLOCK * k);
                    }
                    bit_row.setBulk(n * word_bits, bits);
                }
                matrix.setRow(y as u32, &bit_row);
            }
        }
        Some(matrix)
    }

    /// One bit per pixel of `eight` (up to eight pixels), set where it is at most `t`.
    #[inline(always)]
    fn reference_mask(eight: &[u8], t: u8) -> u8 {
        if let Ok(px) = <&[u8; BLOCK]>::try_from(eight) {
            // Fixed size, no branches: the compiler turns this into a few vector instructions.
            px.iter()
                .enumerate()
                .fold(0u8, |mask, (j, &v)| mask | (u8::from(v <= t) << j))
        } else {
            eight
                .iter()
                .enumerate()
                .fold(0u8, |mask, (j, &v)| mask | (u8::from(v <= t) << j))
        }
    }

    #[test]
    fn the_fast_binariser_matches_the_plain_one_bit_for_bit() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) as u32
        };
        for (width, height) in [(8, 8), (9, 17), (63, 64), (64, 65), (130, 70), (640, 360)] {
            for flavour in 0..4 {
                let pixels: Vec<u8> = (0..width * height)
                    .map(|i| match flavour {
                        // Noise, a gradient with noise, flat with rare specks, blocky shapes.
                        0 => next() as u8,
                        1 => ((i % width) * 200 / width) as u8 + (next() % 20) as u8,
                        2 => {
                            if next() % 50 == 0 {
                                20
                            } else {
                                180
                            }
                        }
                        _ => {
                            if ((i % width) / 5 + (i / width) / 3) % 2 == 0 {
                                40
                            } else {
                                210
                            }
                        }
                    })
                    .collect();
                for min_range in [10, 24] {
                    let fast = threshold(&pixels, width, height, min_range).unwrap();
                    let plain = reference(&pixels, width, height, min_range).unwrap();
                    assert!(
                        fast == plain,
                        "{width}x{height} flavour {flavour} min {min_range}"
                    );
                }
            }
        }
    }
}
