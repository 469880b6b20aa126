//! Pairing from the gate's side: exchange a one-time code for a device token over the relay's
//! HTTP API (`POST /api/v1/pair`), and keep what the gate needs to connect later.
//!
//! Over `https://` the relay's certificate is pinned from the first request on: the pairing
//! text's `fp` is checked before the code or the device token crosses the network.

use gerbang_core::pairing::PairingLink;
use gerbang_core::protocol::Role;
use serde::{Deserialize, Serialize};

use super::transport::{AddressError, Transport};
use crate::store::{Pairing, Store};

/// Why pairing failed, in words for the person pairing the gate.
#[derive(Debug, thiserror::Error)]
pub enum PairError {
    #[error("could not reach the relay at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the relay refused the pairing code: {0}")]
    Refused(String),
    #[error("the relay answered something unexpected ({0}); is that address a Gerbang relay?")]
    Unexpected(String),
    #[error(transparent)]
    Address(#[from] AddressError),
    #[error("{0}")]
    CertificateMismatch(String),
    #[error(transparent)]
    Store(#[from] crate::Error),
}

#[derive(Debug, Serialize)]
struct PairRequest<'a> {
    code: &'a str,
    device_name: &'a str,
}

/// The relay's answer to a pairing.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Paired {
    pub device_id: String,
    pub device_name: String,
    pub role: Role,
    #[serde(skip_serializing)]
    pub token: String,
}

#[derive(Debug, Deserialize)]
struct ApiError {
    message: String,
}

/// Exchanges the link's code for a device token and stores the pairing in `store`,
/// replacing any earlier one.
pub async fn pair(
    store: &Store,
    link: &PairingLink,
    device_name: &str,
) -> Result<Paired, PairError> {
    let transport = Transport::new(&link.relay, link.fingerprint.as_deref())?;
    let url = transport.http_url("/api/v1/pair");
    let unreachable = |e: reqwest::Error| {
        if super::tls::mismatch_in(&e).is_some() {
            PairError::CertificateMismatch(format!(
                "the relay at {} presented a certificate whose fingerprint is not the one in \
                 the pairing text; check that the text is the relay's own, then pair again",
                link.relay
            ))
        } else {
            PairError::Unreachable {
                url: url.clone(),
                reason: super::transport::causes(&e.without_url()),
            }
        }
    };
    let client = transport
        .http_client()
        .map_err(|reason| PairError::Unreachable {
            url: url.clone(),
            reason,
        })?;
    let response = client
        .post(&url)
        .timeout(std::time::Duration::from_secs(10))
        .json(&PairRequest {
            code: &link.code,
            device_name,
        })
        .send()
        .await
        .map_err(unreachable)?;
    let status = response.status();
    let body = response.text().await.map_err(unreachable)?;
    if !status.is_success() {
        return Err(match serde_json::from_str::<ApiError>(&body) {
            Ok(e) if status.is_client_error() => PairError::Refused(e.message),
            Ok(e) => PairError::Unexpected(format!("HTTP {status}: {}", e.message)),
            Err(_) => PairError::Unexpected(format!("HTTP {status}")),
        });
    }
    let paired: Paired = serde_json::from_str(&body)
        .map_err(|e| PairError::Unexpected(format!("the answer could not be read: {e}")))?;
    store.set_pairing(Some(&Pairing {
        relay: link.relay.clone(),
        token: paired.token.clone(),
        fingerprint: link.fingerprint.clone(),
        device_name: paired.device_name.clone(),
    }))?;
    Ok(paired)
}
