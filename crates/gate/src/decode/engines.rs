//! The two QR readers behind one small interface, each wrapped so that a panic inside it is a
//! miss, never a crash of the camera thread.

use std::panic::{catch_unwind, AssertUnwindSafe};

use rxing::common::HybridBinarizer;
use rxing::multi::MultipleBarcodeReader;
use rxing::qrcode::cpp_port::detector::FindFinderPatterns;
use rxing::qrcode::cpp_port::QrReader;
use rxing::{BarcodeFormat, BinaryBitmap, DecodeHints, Luma8Source};

/// One code read from a packed (stride = width) luma buffer, in that buffer's pixels.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hit {
    pub text: String,
    pub corners: [(f32, f32); 4],
}

/// What one rxing pass found: the codes, and how many finder-pattern candidates it saw (a hint
/// that a code may be there even when none decoded).
#[derive(Debug, Default)]
pub(crate) struct RxingPass {
    pub hits: Vec<Hit>,
    pub finder_candidates: usize,
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

/// Runs rxing's port of the zxing-cpp QR detector (local-threshold binariser, finder-pattern
/// search, perspective sampling, Reed–Solomon) on a packed buffer. `count_finders` asks for the
/// number of finder-pattern candidates too (one more scan of the binarised image).
pub(crate) fn rxing(
    buf: &[u8],
    width: usize,
    height: usize,
    hints: &DecodeHints,
    count_finders: bool,
) -> RxingPass {
    if width < 21 || height < 21 || buf.len() < width * height {
        return RxingPass::default();
    }
    let run = || {
        let mut pass = RxingPass::default();
        let Ok(source) =
            Luma8Source::new_with_slice(&buf[..width * height], width as u32, height as u32)
        else {
            return pass;
        };
        let mut bitmap = BinaryBitmap::new(HybridBinarizer::new(source));
        if let Ok(results) = QrReader.decode_multiple_with_hints(&mut bitmap, hints) {
            for result in results {
                let points = result.getPoints();
                if points.len() < 4 || result.getText().is_empty() {
                    continue;
                }
                let corner = |i: usize| (points[i].x, points[i].y);
                pass.hits.push(Hit {
                    text: result.getText().to_owned(),
                    corners: [corner(0), corner(1), corner(2), corner(3)],
                });
            }
        }
        if count_finders {
            pass.finder_candidates = FindFinderPatterns(bitmap.get_black_matrix(), true, 0).len();
        }
        pass
    };
    catch_unwind(AssertUnwindSafe(run)).unwrap_or_default()
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
