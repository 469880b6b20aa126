//! Reading QR codes from camera frames and image files.
//!
//! [`Decoder::decode`] takes a grayscale frame ([`LumaFrame`], borrowed, with a stride, so a
//! camera thread does not copy) and returns the text of every QR code in it. It never panics on
//! any frame (the readers run under [`std::panic::catch_unwind`]) and only reports codes whose
//! Reed–Solomon check passed, so noise does not turn into tickets.
//!
//! # The pipeline
//! A frame goes through cheap passes first and stops at the first that finds something:
//! 1. **Tracking**: where the last frame had a code, that region (enlarged) is read first. A
//!    person holds a ticket still for several frames, so this is the usual case at a gate and
//!    the cheapest.
//! 2. **Half size**: the frame box-averaged to half its width and height (a quarter of the
//!    pixels; it also smooths sensor noise, JPEG blocks and screen moiré) and contrast-stretched,
//!    binarised once (`binarize.rs`: local thresholds from 8x8 blocks) and read with rxing
//!    (zxing-cpp's QR detector ported to Rust), dark-on-light and then, with the bits flipped,
//!    light-on-dark (phones in dark mode). Every code it finds is returned.
//! 3. **Full size**: the same at full resolution, for codes too small to survive halving,
//!    whenever half size read nothing, or saw finder patterns left over beside the codes it
//!    read (the third code of a frame with several). Finder patterns are looked for on every
//!    fifth row here in frames up to 775 rows (every third at half size and in taller frames),
//!    by this crate's row scan (`finder.rs`, the same patterns as rxing's, for a fraction of
//!    the cost). When it reads nothing in a dim, low-contrast frame in which half size saw a
//!    large candidate, the full frame is read once more, contrast-stretched with the half-size
//!    histogram's table and the lower flatness threshold: a ticket printed on grey paper
//!    against a lighter background. (It used to run only when half size saw finder-pattern
//!    candidates; a small code often leaves none there, and the full-size pass now costs
//!    little enough to run whenever half size read nothing: see
//!    [`DecoderConfig::full_needs_evidence`].)
//! 4. **Second opinion** (off by default for camera frames): rqrr (quirc's algorithm) on the
//!    half-size frame, only when an rxing pass saw finder-pattern candidates it could not
//!    decode. On the corpus it read no code that rxing had missed and cost up to 10 ms on busy
//!    frames, so only [`decode_file`] uses it, as a last resort on the full-size image.
//!
//! In every rxing pass, a code whose grid was found but whose binarised bits did not decode is
//! read once more from the grey pixels at that grid, sharpened in module space (`regrid.rs`):
//! a code under glare, or small and blurred.
//!
//! Each part can be switched off in [`DecoderConfig`], so `examples/decode_corpus.rs` measures
//! what each one contributes; the numbers are in `docs/BENCHMARKS.md`.

mod binarize;
mod engines;
mod file;
mod finder;
mod frame;
mod homography;
mod regrid;

#[cfg(feature = "corpus")]
pub mod corpus;

pub use file::{decode_file, load_luma, DecodeFileError};
pub use frame::{FrameError, LumaFrame};

use engines::{rxing_hints, Hit, RxingOptions, RxingRead};
use rxing::DecodeHints;

/// One code found in a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The code's text.
    pub text: String,
    /// The code's corners in frame pixels (x, y), as the reader that found it reports them
    /// (rxing: the four outer corners; rqrr: the four corners of the grid).
    pub corners: [(f32, f32); 4],
}

/// Which part of the pipeline found the codes of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// Nothing was found.
    None,
    /// The region of the previous frame's code.
    Tracked,
    /// The full-size frame (rxing).
    Full,
    /// The half-size frame (rxing).
    Half,
    /// rqrr, the second opinion.
    Rqrr,
}

/// The result of one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// Every code found, each text once.
    pub codes: Vec<Found>,
    /// Which pass found them.
    pub pass: Pass,
    /// They were light on dark.
    pub inverted: bool,
}

/// Which parts of the pipeline run. [`DecoderConfig::default`] is the full pipeline; the other
/// presets exist to measure it against its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecoderConfig {
    /// Read the region of the previous frame's code first.
    pub tracking: bool,
    /// Read the full-size frame with rxing.
    pub full: bool,
    /// Read full size only when the half-size pass saw finder-pattern candidates it could not
    /// use (a frame with nothing like a code then costs only the half-size pass). Off by
    /// default: small codes often leave no candidate at half size (on the corpus the pipeline
    /// read 31 of 40 small codes with it on, 40 with it off), and since the finder-pattern
    /// scan got cheaper, a frame without a code costs under 2 ms at the 95th percentile
    /// anyway.
    pub full_needs_evidence: bool,
    /// Read a half-size, contrast-stretched copy with rxing when full size found nothing.
    pub half: bool,
    /// Also read light-on-dark codes (in every rxing pass).
    pub inverted: bool,
    /// Binarise with this crate's binariser instead of rxing's `HybridBinarizer`.
    pub own_binariser: bool,
    /// Read with rqrr when rxing found nothing (and, if an rxing pass ran, it saw finder
    /// patterns). Off by default: see the module documentation.
    pub rqrr: bool,
    /// Run rqrr on the full-size frame instead of the half-size one (the rqrr-alone baseline).
    pub rqrr_full_size: bool,
    /// When the half-size pass read codes, also read full size if at least this many
    /// finder-pattern candidates were left over (another code, too small for half size, may be
    /// there). 1 by default; it was 3, which missed the third code of some frames with several
    /// while full size ran only on evidence (on the corrected corpus, with full size read
    /// whenever half size read nothing, 3 reads the same codes: no frame tells them apart).
    pub unused_for_full: usize,
    /// Look for finder patterns on every fifth row of the full-size frame instead of every third:
    /// a finder pattern's centre is at least six pixels tall at full size for any code that can be
    /// read there, and the row scans are most of the pass's cost. Frames taller than 775 rows
    /// keep every third row (rxing's fast scan would step more than five rows there).
    pub sparse_full_rows: bool,
    /// When full size read nothing in a dim, low-contrast frame in which half size saw a large
    /// finder-pattern candidate, read full size once more, contrast-stretched and with the lower
    /// flatness threshold (see [`LOW_CONTRAST_RANGE`]).
    pub low_contrast_retry: bool,
    /// When rxing found a code's grid but its bits did not decode, read the modules again from
    /// the grey pixels, sharpened in module space (codes under glare; see `regrid.rs`).
    pub regrid: bool,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        DecoderConfig {
            tracking: true,
            full: true,
            half: true,
            inverted: true,
            own_binariser: true,
            full_needs_evidence: false,
            rqrr: false,
            rqrr_full_size: false,
            unused_for_full: 1,
            sparse_full_rows: true,
            low_contrast_retry: true,
            regrid: true,
        }
    }
}

impl DecoderConfig {
    /// Baseline: rqrr alone on the full frame (what the project measured first).
    pub const RQRR_ONLY: DecoderConfig = DecoderConfig {
        tracking: false,
        full: false,
        half: false,
        inverted: false,
        own_binariser: false,
        full_needs_evidence: false,
        rqrr: true,
        rqrr_full_size: true,
        unused_for_full: 3,
        sparse_full_rows: false,
        low_contrast_retry: false,
        regrid: false,
    };
    /// rxing alone, as it comes: its own binariser, the full frame, dark-on-light.
    pub const RXING_ONLY: DecoderConfig = DecoderConfig {
        tracking: false,
        full: true,
        half: false,
        inverted: false,
        own_binariser: false,
        full_needs_evidence: false,
        rqrr: false,
        rqrr_full_size: false,
        unused_for_full: 3,
        sparse_full_rows: false,
        low_contrast_retry: false,
        regrid: false,
    };
    /// The pipeline as it was before the full-size pass was tuned (for comparison): a leftover
    /// of three candidates for a second look, every third row, no low-contrast retry.
    pub const BEFORE_TUNING: DecoderConfig = DecoderConfig {
        unused_for_full: 3,
        sparse_full_rows: false,
        low_contrast_retry: false,
        tracking: true,
        full: true,
        half: true,
        inverted: true,
        own_binariser: true,
        full_needs_evidence: true,
        rqrr: false,
        rqrr_full_size: false,
        regrid: false,
    };
}

/// A frame whose levels (1st to 99th percentile) span less than this is dim or low in contrast:
/// a low-contrast code in it may need the contrast-stretched full-size read. (Frames with a
/// small code on a plain background span little too, which is why the retry also needs a large
/// candidate: measured on the corpus, low-contrast frames span 41–126 levels, small-code frames
/// 35–97, everything else 102 and more.)
pub const LOW_CONTRAST_RANGE: usize = 110;

/// The smallest half-size finder-pattern candidate (pixels across) that makes a low-contrast
/// retry worth it: a code large enough not to be a small code's.
const LOW_CONTRAST_CANDIDATE: usize = 12;

/// How far beyond the last code's bounding box the tracked region reaches, as a fraction of the
/// box's larger side on each edge: a hand moves a ticket a little between frames.
const TRACK_MARGIN: f32 = 0.3;

/// While codes are tracked, the whole frame is still searched every this many frames (four
/// times a second at 30 frames per second), for other codes that came into view.
const FULL_SEARCH_EVERY: u32 = 8;

/// A QR decoder for a stream of frames; keep one per camera. It keeps scratch buffers (so a
/// frame allocates nothing once warmed up) and where the last code was.
pub struct Decoder {
    config: DecoderConfig,
    /// rxing's hints, built once.
    hints: DecodeHints,
    /// The half-size copy of the frame.
    half: Vec<u8>,
    /// A packed copy of a region (tracking) or of a strided frame.
    scratch: Vec<u8>,
    /// The contrast-stretched full-size frame, for the low-contrast retry.
    stretched: Vec<u8>,
    /// The bounding box (x0, y0, x1, y1) of the last frame's codes, if it had any.
    last_region: Option<(f32, f32, f32, f32)>,
    /// The last frame's codes were light on dark.
    last_inverted: bool,
    /// The last frame's codes, which the tracked region must show again to be trusted.
    last_texts: Vec<String>,
    /// Frames read from the tracked region since the whole frame was last searched.
    tracked_frames: u32,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // rxing's hints have no Debug; they are the same for every decoder anyway.
        f.debug_struct("Decoder")
            .field("config", &self.config)
            .field("last_region", &self.last_region)
            .field("last_inverted", &self.last_inverted)
            .finish_non_exhaustive()
    }
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(DecoderConfig::default())
    }
}

impl Decoder {
    pub fn new(config: DecoderConfig) -> Decoder {
        Decoder {
            config,
            hints: rxing_hints(),
            half: Vec::new(),
            scratch: Vec::new(),
            stretched: Vec::new(),
            last_region: None,
            last_inverted: false,
            last_texts: Vec::new(),
            tracked_frames: 0,
        }
    }

    pub fn config(&self) -> DecoderConfig {
        self.config
    }

    /// Forgets the last code's region (e.g. when the camera changes).
    pub fn reset(&mut self) {
        self.last_region = None;
        self.last_inverted = false;
        self.last_texts.clear();
        self.tracked_frames = 0;
    }

    /// Reads every QR code in `frame`.
    pub fn decode(&mut self, frame: &LumaFrame<'_>) -> Decoded {
        let (pass, inverted, hits) = self.run(frame);
        let mut codes: Vec<Found> = Vec::with_capacity(hits.len());
        for hit in hits {
            if !codes.iter().any(|c| c.text == hit.text) {
                codes.push(Found {
                    text: hit.text,
                    corners: hit.corners,
                });
            }
        }
        self.last_region = bounding_box(&codes);
        self.last_texts.clear();
        self.last_texts.extend(codes.iter().map(|c| c.text.clone()));
        self.last_inverted = inverted && !codes.is_empty();
        Decoded {
            pass: if codes.is_empty() { Pass::None } else { pass },
            inverted: self.last_inverted,
            codes,
        }
    }

    fn options(&self, count_finders: bool) -> RxingOptions {
        RxingOptions {
            min_range: binarize::MIN_RANGE,
            own_binariser: self.config.own_binariser,
            both_polarities: self.config.inverted,
            inverted_first: self.last_inverted,
            count_finders,
            sparse_rows: false,
            regrid: self.config.regrid,
        }
    }

    fn run(&mut self, frame: &LumaFrame<'_>) -> (Pass, bool, Vec<Hit>) {
        let (width, height) = (frame.width(), frame.height());
        if width < 21 || height < 21 {
            return (Pass::None, false, Vec::new());
        }
        let config = self.config;
        // The region is trusted only to confirm the codes already seen: a different code there
        // means the scene changed, and every few frames the whole frame is searched anyway, so
        // a second ticket held up beside the first is found.
        self.tracked_frames += 1;
        if config.tracking && self.tracked_frames < FULL_SEARCH_EVERY {
            if let Some(region) = self.last_region {
                let read = self.read_region(frame, region);
                let same = !read.hits.is_empty()
                    && read.hits.iter().all(|h| self.last_texts.contains(&h.text));
                if same {
                    return (Pass::Tracked, read.inverted, read.hits);
                }
            }
        }
        self.tracked_frames = 0;
        // Finder-pattern candidates that rxing saw but could not decode: the evidence that pays
        // for rqrr (and, with `full_needs_evidence`, for the full-size pass).
        let mut candidates = 0;
        // The largest candidate half size saw, and the frame's levels (1st to 99th percentile).
        let mut largest = 0;
        let mut range = 255;
        let mut stretch = None;
        let (half_w, half_h) = (width / 2, height / 2);
        if config.half || (config.rqrr && !config.rqrr_full_size) {
            frame.halve_into(&mut self.half);
            let (lo, hi, lut) = stretch_table(&self.half);
            range = hi - lo;
            if let Some(lut) = &lut {
                apply_table(lut, &mut self.half);
            }
            stretch = lut;
        }
        // Codes read at half size, kept while full size looks for more.
        let mut found: Vec<Hit> = Vec::new();
        let mut found_inverted = false;
        if config.half {
            let options = RxingOptions {
                min_range: binarize::STRETCHED_MIN_RANGE,
                ..self.options(config.rqrr || config.full_needs_evidence)
            };
            let read = engines::rxing(&self.half, half_w, half_h, &self.hints, options);
            if !read.hits.is_empty() && read.unused_candidates < config.unused_for_full.max(1) {
                return (
                    Pass::Half,
                    read.inverted,
                    scaled(read.hits, 2.0, (0.0, 0.0)),
                );
            }
            candidates += read.finder_candidates + read.unused_candidates;
            largest = read.largest_candidate;
            found_inverted = read.inverted;
            found = scaled(read.hits, 2.0, (0.0, 0.0));
        }
        if config.full && (!config.half || !config.full_needs_evidence || candidates > 0) {
            let options = RxingOptions {
                sparse_rows: config.sparse_full_rows,
                ..self.options(config.rqrr)
            };
            let packed = frame.packed_pixels(&mut self.scratch);
            let mut read = engines::rxing(packed, width, height, &self.hints, options);
            let low_contrast = range < LOW_CONTRAST_RANGE && largest >= LOW_CONTRAST_CANDIDATE;
            if read.hits.is_empty() && config.low_contrast_retry && low_contrast {
                if let Some(lut) = &stretch {
                    // The frame's own table, from the half-size histogram.
                    let mut stretched = std::mem::take(&mut self.stretched);
                    stretched.clear();
                    stretched.extend_from_slice(frame.packed_pixels(&mut self.scratch));
                    apply_table(lut, &mut stretched);
                    let options = RxingOptions {
                        min_range: binarize::STRETCHED_MIN_RANGE,
                        ..options
                    };
                    read = engines::rxing(&stretched, width, height, &self.hints, options);
                    self.stretched = stretched;
                }
            }
            candidates += read.finder_candidates;
            if !read.hits.is_empty() {
                let pass = if found.is_empty() {
                    Pass::Full
                } else {
                    Pass::Half
                };
                for hit in read.hits {
                    if !found.iter().any(|f| f.text == hit.text) {
                        found.push(hit);
                    }
                }
                return (pass, read.inverted, found);
            }
        }
        if !found.is_empty() {
            return (Pass::Half, found_inverted, found);
        }
        let rxing_ran = config.full || config.half;
        if config.rqrr && (!rxing_ran || candidates > 0) {
            let hits = if config.rqrr_full_size {
                let packed = frame.packed_pixels(&mut self.scratch);
                engines::rqrr(packed, width, height)
            } else {
                scaled(engines::rqrr(&self.half, half_w, half_h), 2.0, (0.0, 0.0))
            };
            if !hits.is_empty() {
                return (Pass::Rqrr, false, hits);
            }
        }
        (Pass::None, false, Vec::new())
    }

    /// Reads the enlarged region of the last frame's codes, at full size, in the polarity they
    /// had first.
    fn read_region(&mut self, frame: &LumaFrame<'_>, region: (f32, f32, f32, f32)) -> RxingRead {
        let (x0, y0, x1, y1) = region;
        let margin = TRACK_MARGIN * (x1 - x0).max(y1 - y0);
        let clamp_x = |v: f32| (v.max(0.0) as usize).min(frame.width());
        let clamp_y = |v: f32| (v.max(0.0) as usize).min(frame.height());
        let (left, top) = (clamp_x(x0 - margin), clamp_y(y0 - margin));
        let (right, bottom) = (clamp_x(x1 + margin), clamp_y(y1 + margin));
        if right <= left + 21 || bottom <= top + 21 {
            return RxingRead::default();
        }
        let (w, h) = (right - left, bottom - top);
        frame.crop_into(left, top, w, h, &mut self.scratch);
        let options = self.options(false);
        let mut read = engines::rxing(&self.scratch, w, h, &self.hints, options);
        read.hits = scaled(read.hits, 1.0, (left as f32, top as f32));
        read
    }
}

/// Maps hits from a scaled or cropped buffer back to frame pixels.
fn scaled(mut hits: Vec<Hit>, scale: f32, offset: (f32, f32)) -> Vec<Hit> {
    for hit in &mut hits {
        for corner in &mut hit.corners {
            corner.0 = corner.0 * scale + offset.0;
            corner.1 = corner.1 * scale + offset.1;
        }
    }
    hits
}

/// The table that stretches the levels between the 1st and 99th percentile of `buf` to the full
/// range, so a dim, low-contrast code clears the binariser's minimum local contrast; with those
/// two levels. No table when there is nothing to stretch (a flat frame, or one that already
/// spans the range). Percentiles need no more than every fourth pixel.
fn stretch_table(buf: &[u8]) -> (usize, usize, Option<[u8; 256]>) {
    if buf.is_empty() {
        return (0, 255, None);
    }
    let mut histogram = [0u32; 256];
    for &v in buf.iter().step_by(4) {
        histogram[v as usize] += 1;
    }
    // The first level, walking the histogram in `levels` order, past the darkest (or
    // lightest) 1% of the pixels.
    let tail = (buf.len().div_ceil(4) / 100) as u32;
    let past_tail = |levels: &mut dyn Iterator<Item = usize>| {
        let mut seen = 0;
        for v in levels {
            seen += histogram[v];
            if seen > tail {
                return v;
            }
        }
        0
    };
    let lo = past_tail(&mut (0..256));
    let hi = past_tail(&mut (0..256).rev());
    if hi <= lo + 8 || (lo < 8 && hi > 247) {
        return (lo, hi.max(lo), None);
    }
    let mut lut = [0u8; 256];
    for (v, out) in lut.iter_mut().enumerate() {
        *out = ((v.clamp(lo, hi) - lo) * 255 / (hi - lo)) as u8;
    }
    (lo, hi, Some(lut))
}

fn apply_table(lut: &[u8; 256], buf: &mut [u8]) {
    for v in buf.iter_mut() {
        *v = lut[*v as usize];
    }
}

/// The bounding box of all codes' corners.
fn bounding_box(codes: &[Found]) -> Option<(f32, f32, f32, f32)> {
    let mut points = codes.iter().flat_map(|c| c.corners);
    let first = points.next()?;
    let init = (first.0, first.1, first.0, first.1);
    let (x0, y0, x1, y1) = points.fold(init, |(x0, y0, x1, y1), (x, y)| {
        (x0.min(x), y0.min(y), x1.max(x), y1.max(y))
    });
    (x0.is_finite() && y0.is_finite() && x1.is_finite() && y1.is_finite())
        .then_some((x0, y0, x1, y1))
}
