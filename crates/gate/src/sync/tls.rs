//! Certificate pinning: a gate trusts exactly the relay certificate whose SHA-256 fingerprint
//! it was given at pairing (`fp=` in the pairing text), and nothing else.
//!
//! Relays make their own self-signed certificates, so no certificate authority could vouch for
//! one; the fingerprint, copied from the relay's screen by the person pairing the gate, does.
//! [`PinnedCertificate`] accepts the end-entity certificate with that fingerprint whatever its
//! names, issuer or dates (a relay at a new IP address is the same relay), and still checks
//! the handshake's signature with it, which proves the relay holds the certificate's key.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, OtherError, SignatureScheme};
use sha2::{Digest, Sha256};

/// What a gate operator reads when the relay's certificate is not the pinned one.
pub const MISMATCH: &str =
    "the relay's certificate does not match the one this gate was paired with; pair again";

/// The SHA-256 fingerprint of a DER certificate, as 64 lower-case hex digits.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The relay presented a certificate other than the pinned one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{MISMATCH} (expected SHA-256 {expected}, the relay presented {presented})")]
pub struct FingerprintMismatch {
    pub expected: String,
    pub presented: String,
}

/// Accepts exactly one certificate, by its SHA-256 fingerprint.
#[derive(Debug)]
pub struct PinnedCertificate {
    /// Lower-case hex, as [`fingerprint`] writes it.
    expected: String,
    provider: Arc<CryptoProvider>,
}

impl PinnedCertificate {
    /// Pins `expected` (64 hex digits, any case).
    pub fn new(expected: &str) -> PinnedCertificate {
        PinnedCertificate {
            expected: expected.trim().to_ascii_lowercase(),
            provider: Arc::new(rustls::crypto::ring::default_provider()),
        }
    }
}

impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = fingerprint(end_entity);
        if presented == self.expected {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(FingerprintMismatch {
                    expected: self.expected.clone(),
                    presented,
                })),
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A TLS client configuration that trusts only the certificate with `fingerprint` (ring
/// provider, TLS 1.2 and 1.3, no client certificate).
pub fn pinned_config(fingerprint: &str) -> Arc<ClientConfig> {
    let verifier = Arc::new(PinnedCertificate::new(fingerprint));
    let provider = Arc::clone(&verifier.provider);
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Arc::new(config)
}

/// The fingerprint mismatch behind an error, if that is what it is: follows the chain of
/// causes, looking inside I/O errors (where TLS streams put rustls' errors) as it goes.
pub fn mismatch_in<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a FingerprintMismatch> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(found) = error.downcast_ref::<FingerprintMismatch>() {
            return Some(found);
        }
        if let Some(rustls::Error::InvalidCertificate(CertificateError::Other(other))) =
            error.downcast_ref::<rustls::Error>()
        {
            return other.0.downcast_ref::<FingerprintMismatch>();
        }
        // An I/O error's `source` skips the error it wraps; `get_ref` is that error.
        next = match error.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => error.source(),
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mismatch_is_found_however_deep_it_is_wrapped() {
        let mismatch = FingerprintMismatch {
            expected: "aa".repeat(32),
            presented: "bb".repeat(32),
        };
        let tls = rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(
            mismatch.clone(),
        ))));
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
        assert_eq!(mismatch_in(&io), Some(&mismatch));
        let other = std::io::Error::other("connection refused");
        assert_eq!(mismatch_in(&other), None);
        assert!(mismatch.to_string().starts_with(MISMATCH));
    }
}
