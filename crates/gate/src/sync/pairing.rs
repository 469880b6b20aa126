//! Pairing from the gate's side: exchange a one-time code for a device token over the relay's
//! HTTP API (`POST /api/v1/pair`), and keep what the gate needs to connect later.

use gerbang_core::pairing::PairingLink;
use gerbang_core::protocol::Role;
use serde::{Deserialize, Serialize};

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
    #[error(
        "this build cannot check a relay's certificate yet; use a ws:// address (TLS is not built)"
    )]
    TlsUnsupported,
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
    if link.relay.starts_with("wss://") {
        return Err(PairError::TlsUnsupported);
    }
    let url = format!("{}/api/v1/pair", link.http_base());
    let unreachable = |e: reqwest::Error| PairError::Unreachable {
        url: url.clone(),
        reason: e.without_url().to_string(),
    };
    let response = reqwest::Client::new()
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
