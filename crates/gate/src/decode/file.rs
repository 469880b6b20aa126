//! [`decode_file`]: the codes in an image file, for the CLI's `decode` command and for tests.

use std::path::{Path, PathBuf};

use super::{Decoder, DecoderConfig, LumaFrame};

/// Why a file's codes could not be read. Each message names the file and says why.
#[derive(Debug, thiserror::Error)]
pub enum DecodeFileError {
    #[error("cannot open {}: {source}", path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{} is not an image in a format Gerbang reads (PNG, JPEG, WebP, BMP or GIF)",
        path.display()
    )]
    UnknownFormat { path: PathBuf },
    #[error("{} could not be read as an image, it may be damaged or cut short: {source}", path.display())]
    Damaged {
        path: PathBuf,
        source: image::ImageError,
    },
    #[error(
        "{} is {width}x{height} pixels; images over {MAX_PIXELS} pixels are not read, scale it down first",
        path.display()
    )]
    TooLarge {
        path: PathBuf,
        width: u32,
        height: u32,
    },
}

/// Images larger than this (in pixels; 50 megapixels) are refused before decoding, so a hostile
/// file cannot make the gate allocate gigabytes.
pub const MAX_PIXELS: u64 = 50_000_000;

/// Reads every QR code in the image file at `path` (PNG, JPEG, WebP, BMP or GIF; the format is
/// found from the content, and from the name only when the content is not recognised). An image
/// with no code is `Ok(vec![])`.
///
/// Unlike a camera frame, a file is read once, so every pass of the pipeline runs, rqrr on the
/// full-size image included.
pub fn decode_file(path: impl AsRef<Path>) -> Result<Vec<String>, DecodeFileError> {
    Ok(decode_luma_image(&load_luma(path.as_ref())?))
}

/// Loads an image file as 8-bit luma (the format found from the content), refusing images over
/// [`MAX_PIXELS`] before decoding them.
pub fn load_luma(path: &Path) -> Result<image::GrayImage, DecodeFileError> {
    let with_path = |source| DecodeFileError::Open {
        path: path.to_owned(),
        source,
    };
    let reader = image::ImageReader::open(path)
        .map_err(with_path)?
        .with_guessed_format()
        .map_err(with_path)?;
    if reader.format().is_none() {
        return Err(DecodeFileError::UnknownFormat {
            path: path.to_owned(),
        });
    }
    let damaged = |source| DecodeFileError::Damaged {
        path: path.to_owned(),
        source,
    };
    // Reading the header consumes the reader, so the file is opened again to decode it.
    let (width, height) = reader.into_dimensions().map_err(damaged)?;
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(DecodeFileError::TooLarge {
            path: path.to_owned(),
            width,
            height,
        });
    }
    let reader = image::ImageReader::open(path)
        .map_err(with_path)?
        .with_guessed_format()
        .map_err(with_path)?;
    Ok(reader.decode().map_err(damaged)?.into_luma8())
}

/// Every code in a still image, with every pass of the pipeline.
fn decode_luma_image(luma: &image::GrayImage) -> Vec<String> {
    let (width, height) = (luma.width() as usize, luma.height() as usize);
    let Ok(frame) = LumaFrame::packed(luma.as_raw(), width, height) else {
        return Vec::new();
    };
    let found = Decoder::new(DecoderConfig {
        tracking: false,
        ..DecoderConfig::default()
    })
    .decode(&frame);
    if !found.codes.is_empty() {
        return found.codes.into_iter().map(|c| c.text).collect();
    }
    Decoder::new(DecoderConfig::RQRR_ONLY)
        .decode(&frame)
        .codes
        .into_iter()
        .map(|c| c.text)
        .collect()
}
