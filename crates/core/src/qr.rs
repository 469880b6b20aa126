//! Rendering codes as QR images, for printed tickets and for tests.

use qrcode::{EcLevel, QrCode};

/// Why a text could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum QrError {
    #[error("the text does not fit in a QR code: {0}")]
    TooLong(#[from] qrcode::types::QrError),
    #[error("could not write the PNG: {0}")]
    Png(#[from] image::ImageError),
}

/// The QR symbol for a text at error-correction level M (survives ~15% damage: creases, glare).
pub fn symbol(text: &str) -> Result<QrCode, QrError> {
    Ok(QrCode::with_error_correction_level(text, EcLevel::M)?)
}

/// The QR version (1 to 40) the text needs at level M. Signed tickets stay at 7 or below.
pub fn version(text: &str) -> Result<i16, QrError> {
    match symbol(text)?.version() {
        qrcode::Version::Normal(v) | qrcode::Version::Micro(v) => Ok(v),
    }
}

/// A PNG with `module_px` pixels per module and the standard four-module quiet zone.
pub fn png(text: &str, module_px: u32) -> Result<Vec<u8>, QrError> {
    let image = symbol(text)?
        .render::<image::Luma<u8>>()
        .module_dimensions(module_px, module_px)
        .build();
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png)?;
    Ok(out.into_inner())
}

/// An SVG document, scalable for print.
pub fn svg(text: &str) -> Result<String, QrError> {
    Ok(symbol(text)?
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build())
}
