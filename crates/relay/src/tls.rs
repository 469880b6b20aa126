//! The relay's TLS identity: a self-signed certificate and its key, made on first start in the
//! data directory and reused after, and the SHA-256 fingerprint gates pin.
//!
//! Nobody vouches for the certificate: a gate trusts it because the pairing text it was given
//! in person (`fp=` in `gerbang://pair?...`) names its fingerprint. So the certificate's names
//! (localhost, 127.0.0.1, ::1, the hostname, the listen addresses) only matter to other clients,
//! and it never expires (rcgen's default validity runs to the year 4096): a new certificate
//! would mean pairing every gate again.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The certificate's file in the data directory (PEM).
pub const CERT_FILE: &str = "tls-cert.pem";
/// The private key's file in the data directory (PEM, PKCS#8), readable only by its owner.
pub const KEY_FILE: &str = "tls-key.pem";

/// A certificate and its private key, ready to serve.
#[derive(Clone)]
pub struct TlsIdentity {
    cert: CertificateDer<'static>,
    /// Shared, never copied: clones of the identity (one per [`crate::Config`] clone) point at
    /// one key.
    key: Arc<PrivateKeyDer<'static>>,
    fingerprint: String,
    /// Where the certificate was read from or written to, when it lives in a file.
    cert_path: Option<PathBuf>,
}

impl std::fmt::Debug for TlsIdentity {
    /// Never prints the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("fingerprint", &self.fingerprint)
            .field("cert_path", &self.cert_path)
            .finish_non_exhaustive()
    }
}

/// The SHA-256 fingerprint of a DER certificate: 64 lower-case hex digits, as in `fp=`.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl TlsIdentity {
    /// Reads the certificate and key from `dir`, or, when neither is there, makes them (the
    /// directory must exist). `listen` adds the addresses the relay listens on to the names of
    /// a new certificate; an existing certificate is never replaced, since gates pinned it.
    pub fn load_or_create(dir: &Path, listen: &[IpAddr]) -> Result<TlsIdentity> {
        let cert_path = dir.join(CERT_FILE);
        let key_path = dir.join(KEY_FILE);
        match (cert_path.exists(), key_path.exists()) {
            (true, true) => TlsIdentity::load(&cert_path, &key_path),
            (false, false) => {
                let (cert_pem, key_pem) = make(&default_names(listen))?;
                write_new(&key_path, key_pem.as_bytes(), true)?;
                write_new(&cert_path, cert_pem.as_bytes(), false)?;
                TlsIdentity::load(&cert_path, &key_path)
            }
            (has_cert, _) => {
                let (found, missing) = if has_cert {
                    (&cert_path, &key_path)
                } else {
                    (&key_path, &cert_path)
                };
                Err(Error::Tls(format!(
                    "{} is there but {} is not; restore it, or move {} away to make a new \
                     certificate (every gate must then be paired again)",
                    found.display(),
                    missing.display(),
                    found.display()
                )))
            }
        }
    }

    /// Reads a certificate and its key from PEM files.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<TlsIdentity> {
        let read = |path: &Path| {
            std::fs::read(path)
                .map_err(|e| Error::Tls(format!("cannot read {}: {e}", path.display())))
        };
        TlsIdentity::from_pem(&read(cert_path)?, &read(key_path)?, Some(cert_path)).map_err(|e| {
            Error::Tls(format!(
                "{e} (from {} and {}); restore them, or move both away to make a new \
                 certificate (every gate must then be paired again)",
                cert_path.display(),
                key_path.display()
            ))
        })
    }

    /// A new self-signed certificate (ECDSA P-256) for `names` (DNS names or IP addresses), in
    /// memory only.
    pub fn generate(names: &[String]) -> Result<TlsIdentity> {
        let (cert_pem, key_pem) = make(names)?;
        TlsIdentity::from_pem(cert_pem.as_bytes(), key_pem.as_bytes(), None)
    }

    fn from_pem(cert: &[u8], key: &[u8], cert_path: Option<&Path>) -> Result<TlsIdentity> {
        let cert = CertificateDer::from_pem_slice(cert)
            .map_err(|e| Error::Tls(format!("cannot read the certificate: {e}")))?;
        let key = PrivateKeyDer::from_pem_slice(key)
            .map_err(|e| Error::Tls(format!("cannot read the key: {e}")))?;
        let identity = TlsIdentity {
            fingerprint: fingerprint(&cert),
            cert,
            key: Arc::new(key),
            cert_path: cert_path.map(Path::to_owned),
        };
        // Refuse a key that does not go with the certificate now, not at the first handshake.
        identity.server_config()?;
        Ok(identity)
    }

    /// The certificate's SHA-256 fingerprint, 64 lower-case hex digits: what gates pin.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The certificate, DER-encoded.
    pub fn certificate_der(&self) -> &[u8] {
        &self.cert
    }

    /// Where the certificate is stored, if it is.
    pub fn certificate_path(&self) -> Option<&Path> {
        self.cert_path.as_deref()
    }

    /// The rustls configuration that serves this identity (ring provider, TLS 1.2 and 1.3,
    /// HTTP/1.1 only, as the relay speaks).
    pub(crate) fn server_config(&self) -> Result<Arc<ServerConfig>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(vec![self.cert.clone()], self.key.clone_key())
            .map_err(|e| {
                Error::Tls(format!("the TLS key does not go with the certificate: {e}"))
            })?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// The names of a new certificate: localhost and the loopback addresses, the machine's
/// hostname when it has a usable one, and the addresses the relay listens on (an unspecified
/// address such as 0.0.0.0 names nothing and is left out).
pub fn default_names(listen: &[IpAddr]) -> Vec<String> {
    let mut names = vec!["localhost".to_owned(), "127.0.0.1".into(), "::1".into()];
    if let Some(host) = hostname() {
        names.push(host);
    }
    for ip in listen {
        if !ip.is_unspecified() {
            names.push(ip.to_string());
        }
    }
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    names
}

/// The machine's hostname, if it is a valid DNS name. Read from the places the systems keep it,
/// so no platform call (and no `unsafe`) is needed.
fn hostname() -> Option<String> {
    let from_files = ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok());
    let name = from_files
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())?;
    let name = name.trim().to_ascii_lowercase();
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    (valid && name != "localhost").then_some(name)
}

/// A new self-signed certificate (ECDSA P-256, rcgen's defaults otherwise) and its key, as PEM.
fn make(names: &[String]) -> Result<(String, String)> {
    let failed = |e: rcgen::Error| Error::Tls(format!("cannot make a certificate: {e}"));
    let key_pair = rcgen::KeyPair::generate().map_err(failed)?;
    let mut params = rcgen::CertificateParams::new(names.to_vec()).map_err(failed)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Gerbang relay");
    let cert = params.self_signed(&key_pair).map_err(failed)?;
    Ok((cert.pem(), key_pair.serialize_pem()))
}

/// Writes a new file through a temporary file renamed into place, so a crash never leaves
/// half a file; `secret` files are readable only by their owner.
fn write_new(path: &Path, contents: &[u8], secret: bool) -> Result<()> {
    use std::io::Write;
    let temporary = path.with_extension("pem.partial");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let cannot = |e: std::io::Error| Error::Tls(format!("cannot write {}: {e}", path.display()));
    let mut file = options.open(&temporary).map_err(cannot)?;
    file.write_all(contents).map_err(cannot)?;
    file.sync_all().map_err(cannot)?;
    std::fs::rename(&temporary, path).map_err(cannot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_is_made_once_and_read_back_with_the_same_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let listen = [IpAddr::from([192, 168, 1, 10])];
        let made = TlsIdentity::load_or_create(dir.path(), &listen).unwrap();
        assert_eq!(made.fingerprint().len(), 64);
        assert!(made
            .fingerprint()
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        let again = TlsIdentity::load_or_create(dir.path(), &[]).unwrap();
        assert_eq!(again.fingerprint(), made.fingerprint());
        assert_eq!(again.certificate_der(), made.certificate_der());
        assert_eq!(
            again.certificate_path(),
            Some(dir.path().join(CERT_FILE).as_path())
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "the key is readable only by its owner");
        }
        // What the debug output shows: the fingerprint, never the key.
        assert!(!format!("{again:?}").contains("PRIVATE"));
    }

    #[test]
    fn half_an_identity_is_refused_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        TlsIdentity::load_or_create(dir.path(), &[]).unwrap();
        std::fs::remove_file(dir.path().join(KEY_FILE)).unwrap();
        let err = TlsIdentity::load_or_create(dir.path(), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("tls-key.pem is not"), "{err}");
        assert!(err.contains("paired again"), "{err}");

        std::fs::write(dir.path().join(KEY_FILE), "not a key").unwrap();
        let err = TlsIdentity::load_or_create(dir.path(), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot read the key"), "{err}");
    }

    #[test]
    fn names_leave_out_unspecified_addresses_and_repeats() {
        let names = default_names(&[IpAddr::from([0, 0, 0, 0]), IpAddr::from([127, 0, 0, 1])]);
        assert_eq!(&names[..3], ["localhost", "127.0.0.1", "::1"]);
        assert!(!names.contains(&"0.0.0.0".to_owned()));
        assert_eq!(names.iter().filter(|n| *n == "127.0.0.1").count(), 1);
    }
}
