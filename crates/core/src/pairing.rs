//! The pairing text a relay shows (as text and as a QR code) for gates to join it:
//!
//! ```text
//! gerbang://pair?relay=ws://192.168.1.10:8420&code=ABCD-EFGH
//! ```
//!
//! `relay` is the relay's base address (`ws://` or `wss://`, host and port, no path); `code` a
//! one-time pairing code; `fp`, for a `wss://` relay, the SHA-256 fingerprint of its TLS
//! certificate in hex, which the gate pins. Parameters may come in any order; unknown ones are
//! ignored so later versions can add some. A gate also accepts the relay address and the code
//! separately (see [`PairingLink::new`]).

use std::fmt;

/// The scheme and "path" every pairing text starts with.
pub const PAIRING_PREFIX: &str = "gerbang://pair?";

/// A parsed pairing text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairingLink {
    /// `ws://host:port` or `wss://host:port`.
    pub relay: String,
    /// The one-time pairing code, as typed (the relay ignores case and dashes).
    pub code: String,
    /// The relay certificate's SHA-256 fingerprint, lowercase hex, for `wss://`.
    pub fingerprint: Option<String>,
}

/// Why a pairing text was refused; each says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PairingError {
    #[error("a pairing text starts with {PAIRING_PREFIX:?}")]
    NotPairingText,
    #[error("the pairing text has no {0:?} parameter")]
    Missing(&'static str),
    #[error("the relay address {0:?} must start with ws:// or wss:// and name a host")]
    BadRelay(String),
    #[error("the pairing code is empty")]
    EmptyCode,
    #[error("the certificate fingerprint {0:?} is not 64 hexadecimal characters")]
    BadFingerprint(String),
}

impl PairingLink {
    /// A link from a relay address and a code typed separately.
    pub fn new(relay: &str, code: &str) -> Result<PairingLink, PairingError> {
        let link = PairingLink {
            relay: relay.trim().trim_end_matches('/').to_owned(),
            code: code.trim().to_owned(),
            fingerprint: None,
        };
        link.check()
    }

    /// Parses a pairing text (surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<PairingLink, PairingError> {
        let query = text
            .trim()
            .strip_prefix(PAIRING_PREFIX)
            .ok_or(PairingError::NotPairingText)?;
        let (mut relay, mut code, mut fingerprint) = (None, None, None);
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value);
            match name {
                "relay" => relay = Some(value),
                "code" => code = Some(value),
                "fp" => fingerprint = Some(value),
                _ => {}
            }
        }
        let link = PairingLink {
            relay: relay
                .ok_or(PairingError::Missing("relay"))?
                .trim_end_matches('/')
                .to_owned(),
            code: code.ok_or(PairingError::Missing("code"))?,
            fingerprint: fingerprint.map(|f| normalize_fingerprint(&f)),
        };
        link.check()
    }

    /// The link with the relay certificate's fingerprint, given separately (64 hex digits in
    /// any case; colons between byte pairs, as some tools print it, are ignored).
    pub fn with_fingerprint(mut self, fingerprint: &str) -> Result<PairingLink, PairingError> {
        self.fingerprint = Some(normalize_fingerprint(fingerprint));
        self.check()
    }

    fn check(self) -> Result<PairingLink, PairingError> {
        let host = self
            .relay
            .strip_prefix("ws://")
            .or_else(|| self.relay.strip_prefix("wss://"));
        match host {
            Some(host) if !host.is_empty() && !host.contains(['/', '?', '#', ' ']) => {}
            _ => return Err(PairingError::BadRelay(self.relay)),
        }
        if self.code.trim().is_empty() {
            return Err(PairingError::EmptyCode);
        }
        if let Some(fp) = &self.fingerprint {
            if fp.len() != 64 || !fp.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(PairingError::BadFingerprint(fp.clone()));
            }
        }
        Ok(self)
    }

    /// The relay's HTTP base address: `http://` for `ws://`, `https://` for `wss://`.
    pub fn http_base(&self) -> String {
        http_base(&self.relay)
    }
}

/// The HTTP base address of a relay given by its `ws://` or `wss://` address.
pub fn http_base(relay: &str) -> String {
    if let Some(rest) = relay.strip_prefix("wss://") {
        format!("https://{rest}")
    } else if let Some(rest) = relay.strip_prefix("ws://") {
        format!("http://{rest}")
    } else {
        relay.to_owned()
    }
}

impl fmt::Display for PairingLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PAIRING_PREFIX}relay={}&code={}", self.relay, self.code)?;
        if let Some(fp) = &self.fingerprint {
            write!(f, "&fp={fp}")?;
        }
        Ok(())
    }
}

/// A fingerprint as compared and stored: lower case, without surrounding space or colons.
fn normalize_fingerprint(text: &str) -> String {
    text.trim().replace(':', "").to_ascii_lowercase()
}

/// Decodes `%XX` escapes (a QR scanner app may have escaped the address); anything else is
/// kept as it is.
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                // Both digits are below 16, so the byte fits.
                out.push(u8::try_from(hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)).unwrap_or(0));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_accepts_any_order() {
        let link =
            PairingLink::parse("gerbang://pair?relay=ws://10.0.0.2:8420&code=ABCD-EFGH").unwrap();
        assert_eq!(link.relay, "ws://10.0.0.2:8420");
        assert_eq!(link.code, "ABCD-EFGH");
        assert_eq!(link.http_base(), "http://10.0.0.2:8420");
        assert_eq!(PairingLink::parse(&link.to_string()).unwrap(), link);

        let fp = "AB".repeat(32);
        let text =
            format!(" gerbang://pair?fp={fp}&x=1&code=K&relay=wss%3A%2F%2Fhall.example:443/\n");
        let link = PairingLink::parse(&text).unwrap();
        assert_eq!(link.relay, "wss://hall.example:443");
        assert_eq!(link.fingerprint.as_deref(), Some("ab".repeat(32).as_str()));
        assert_eq!(link.http_base(), "https://hall.example:443");
    }

    #[test]
    fn refuses_with_what_was_wrong() {
        let refuse = |text: &str| PairingLink::parse(text).unwrap_err().to_string();
        assert_eq!(
            refuse("ABCD-EFGH"),
            "a pairing text starts with \"gerbang://pair?\""
        );
        assert_eq!(
            refuse("gerbang://pair?code=A"),
            "the pairing text has no \"relay\" parameter"
        );
        assert_eq!(
            refuse("gerbang://pair?relay=ws://h:1"),
            "the pairing text has no \"code\" parameter"
        );
        assert!(refuse("gerbang://pair?relay=http://h:1&code=A").contains("must start with ws://"));
        assert!(refuse("gerbang://pair?relay=ws://&code=A").contains("must start with ws://"));
        assert!(refuse("gerbang://pair?relay=ws://h:1&code=").contains("empty"));
        assert!(refuse("gerbang://pair?relay=wss://h:1&code=A&fp=12").contains("fingerprint"));
        assert!(PairingLink::new("ws://h:1/", " A ").is_ok());
        let colons = vec!["AB"; 32].join(":");
        let link = PairingLink::new("wss://h:1", "A")
            .unwrap()
            .with_fingerprint(&colons)
            .unwrap();
        assert_eq!(link.fingerprint, Some("ab".repeat(32)));
        assert!(PairingLink::new("wss://h:1", "A")
            .unwrap()
            .with_fingerprint("abc")
            .is_err());
    }
}
