//! The two QR readers behind one small interface, each wrapped so that a panic inside it is a
//! miss, never a crash of the camera thread.

use std::panic::{catch_unwind, AssertUnwindSafe};

use rxing::common::cpp_essentials::ConcentricPattern;
use rxing::common::HybridBinarizer;
use rxing::common::{BitMatrix, DetectorRXingResult};
use rxing::multi::MultipleBarcodeReader;
use rxing::qrcode::cpp_port::decoder::Decode;
use rxing::qrcode::cpp_port::detector::{FindFinderPatterns, GenerateFinderPatternSets, SampleQR};
use rxing::qrcode::cpp_port::QrReader;
use rxing::{BarcodeFormat, Binarizer, BinaryBitmap, DecodeHints, Luma8Source};

use super::binarize::threshold;
use super::finder::{find_finder_patterns, row_step};
use super::regrid;

/// One code read from a packed (stride = width) luma buffer, in that buffer's pixels.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hit {
    pub text: String,
    pub corners: [(f32, f32); 4],
}

/// What one rxing read found: the codes, whether they were light on dark, and how many
/// finder-pattern candidates it saw (a hint that a code may be there even when none decoded).
#[derive(Debug, Default)]
pub(crate) struct RxingRead {
    pub hits: Vec<Hit>,
    pub inverted: bool,
    pub finder_candidates: usize,
    /// Finder-pattern candidates not used by the codes read (our binariser only): at least three
    /// hint at another code that did not decode.
    pub unused_candidates: usize,
    /// The size (in pixels across) of the largest finder-pattern candidate seen (our binariser
    /// only).
    pub largest_candidate: usize,
}

/// How to run rxing on one buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RxingOptions {
    /// Binarise with [`super::binarize::threshold`] instead of rxing's `HybridBinarizer`.
    pub own_binariser: bool,
    /// Read dark-on-light first, then light-on-dark (flipping the binarised bits), or only
    /// dark-on-light.
    pub both_polarities: bool,
    /// Try light-on-dark first (the last code was).
    pub inverted_first: bool,
    /// The binariser's flatness threshold (see [`super::binarize::MIN_RANGE`]).
    pub min_range: u8,
    /// Count finder-pattern candidates when nothing decoded (free with our binariser; one more
    /// scan of the bits with rxing's).
    pub count_finders: bool,
    /// Look for finder patterns on every fifth row instead of every third (our binariser only,
    /// frames up to 775 rows tall): enough for modules of two pixels and more, as at full size.
    pub sparse_rows: bool,
    /// When a code's grid was found but its bits did not decode, read its modules again from
    /// the grey pixels (our binariser only; see `regrid.rs`).
    pub regrid: bool,
}

/// Hints for rxing: plain QR codes only. Micro QR and rMQR have far weaker error correction;
/// allowing them would let noise decode as short false codes, and no ticket uses them.
pub(crate) fn rxing_hints() -> DecodeHints {
    DecodeHints {
        PossibleFormats: Some([BarcodeFormat::QR_CODE].into_iter().collect()),
        TryHarder: Some(true),
        ..DecodeHints::default()
    }
}

/// Runs rxing's port of the zxing-cpp QR detector (finder-pattern search, perspective sampling,
/// Reed–Solomon) on a packed buffer.
pub(crate) fn rxing(
    buf: &[u8],
    width: usize,
    height: usize,
    hints: &DecodeHints,
    options: RxingOptions,
) -> RxingRead {
    if width < 21 || height < 21 || buf.len() < width * height {
        return RxingRead::default();
    }
    let pixels = &buf[..width * height];
    let run = || {
        if options.own_binariser {
            let matrix = threshold(pixels, width, height, options.min_range)?;
            Some(read_own(matrix, pixels, width, options))
        } else {
            let source = Luma8Source::new_with_slice(pixels, width as u32, height as u32).ok()?;
            Some(read_hybrid(
                BinaryBitmap::new(HybridBinarizer::new(source)),
                hints,
                options,
            ))
        }
    };
    catch_unwind(AssertUnwindSafe(run))
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// The polarities to read, in order: `false` is dark-on-light.
fn polarities(options: RxingOptions) -> &'static [bool] {
    match (options.both_polarities, options.inverted_first) {
        (false, _) => &[false],
        (true, false) => &[false, true],
        (true, true) => &[true, false],
    }
}

/// Reads our own binarised bits with rxing's QR detector and decoder, called step by step (as
/// its `QrReader` does) so that the finder patterns found are counted for free.
fn read_own(
    mut matrix: BitMatrix,
    pixels: &[u8],
    width: usize,
    options: RxingOptions,
) -> RxingRead {
    let height = matrix.height() as usize;
    let mut out = RxingRead::default();
    let mut flipped = false;
    // rxing's fast scan steps 3h / 388 rows: every fifth row up to 775 rows, more in taller
    // frames, where it would skip a small code's finder pattern; those keep every third row.
    let sparse = options.sparse_rows && matrix.height() * 3 / (4 * 97) <= 5;
    let step = row_step(matrix.height(), !sparse);
    let mut runs = Vec::new();
    for &inverted in polarities(options) {
        if inverted != flipped {
            matrix.flip_self();
            flipped = inverted;
        }
        let mut patterns = find_finder_patterns(&matrix, step, &mut runs);
        let found = patterns.len();
        for p in &patterns {
            out.largest_candidate = out.largest_candidate.max(p.size.max(0) as usize);
        }
        let mut used: Vec<ConcentricPattern> = Vec::new();
        for set in GenerateFinderPatternSets(&mut patterns) {
            if [set.bl, set.tl, set.tr].iter().any(|p| used.contains(p)) {
                continue;
            }
            let Ok(detected) = SampleQR(&matrix, &set) else {
                continue;
            };
            let points = detected.getPoints();
            if points.len() < 4 {
                continue;
            }
            let decoded = Decode(detected.getBits())
                .ok()
                .filter(|d| d.isValid())
                .map(|d| d.text())
                .filter(|text| !text.is_empty());
            let text = match decoded {
                Some(text) => text,
                None if options.regrid => {
                    // rxing reports the grid's corners half a pixel on, in the order top left,
                    // top right, bottom left, bottom right.
                    let corner = |i: usize| (points[i].x - 0.5, points[i].y - 0.5);
                    let corners = [corner(0), corner(1), corner(3), corner(2)];
                    let dimension = detected.getBits().width() as usize;
                    let Some(text) = regrid::read_modules(
                        pixels,
                        width,
                        height,
                        corners,
                        dimension,
                        inverted,
                        &regrid::SHARPEN,
                    ) else {
                        continue;
                    };
                    text
                }
                None => continue,
            };
            used.extend([set.bl, set.tl, set.tr]);
            let corner = |i: usize| (points[i].x, points[i].y);
            out.hits.push(Hit {
                text,
                corners: [corner(0), corner(1), corner(2), corner(3)],
            });
        }
        if !out.hits.is_empty() {
            out.inverted = inverted;
            out.unused_candidates = found.saturating_sub(3 * out.hits.len());
            return out;
        }
        out.finder_candidates += found;
    }
    out
}

/// Reads with rxing as it comes (its `HybridBinarizer` and `QrReader`): the baseline.
fn read_hybrid<B: Binarizer>(
    mut bitmap: BinaryBitmap<B>,
    hints: &DecodeHints,
    options: RxingOptions,
) -> RxingRead {
    let mut out = RxingRead::default();
    let mut flipped = false;
    for &inverted in polarities(options) {
        if inverted != flipped {
            bitmap.invert();
            flipped = inverted;
        }
        if let Ok(results) = QrReader.decode_multiple_with_hints(&mut bitmap, hints) {
            for result in results {
                let points = result.getPoints();
                if points.len() < 4 || result.getText().is_empty() {
                    continue;
                }
                let corner = |i: usize| (points[i].x, points[i].y);
                out.hits.push(Hit {
                    text: result.getText().to_owned(),
                    corners: [corner(0), corner(1), corner(2), corner(3)],
                });
            }
        }
        if !out.hits.is_empty() {
            out.inverted = inverted;
            return out;
        }
        if options.count_finders {
            out.finder_candidates += FindFinderPatterns(bitmap.get_black_matrix(), true, 0).len();
        }
    }
    out
}

/// Runs rqrr (a port of quirc: global-ish thresholding, flood-filled finder regions) on a packed
/// buffer.
pub(crate) fn rqrr(buf: &[u8], width: usize, height: usize) -> Vec<Hit> {
    if width < 21 || height < 21 || buf.len() < width * height {
        return Vec::new();
    }
    let run = || {
        let mut image =
            rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| buf[y * width + x]);
        image
            .detect_grids()
            .into_iter()
            .filter_map(|grid| {
                let (_meta, text) = grid.decode().ok()?;
                if text.is_empty() {
                    return None;
                }
                let corner = |i: usize| (grid.bounds[i].x as f32, grid.bounds[i].y as f32);
                Some(Hit {
                    text,
                    corners: [corner(0), corner(1), corner(2), corner(3)],
                })
            })
            .collect()
    };
    catch_unwind(AssertUnwindSafe(run)).unwrap_or_default()
}
