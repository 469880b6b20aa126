//! Ticket codes: what a QR code or barcode on a ticket says, and whether to believe it.
//!
//! A *signed* code is `GB:` followed by base45 of a compact binary payload and its Ed25519
//! signature. Layout of format version 1 (integers big-endian):
//!
//! | bytes | field |
//! | --- | --- |
//! | 1 | format version (1) |
//! | 1 | key id (which of the event's keys signed it) |
//! | 4 | event id |
//! | 4 | ticket id (unique within the event) |
//! | 2 | ticket type id |
//! | 1 | flags: bit 0 = valid-from present, bit 1 = valid-until present; other bits zero |
//! | 0/4 | valid-from, Unix seconds |
//! | 0/4 | valid-until, Unix seconds |
//! | 64 | Ed25519 signature over `DOMAIN` followed by every byte above |
//!
//! That is 77 to 85 bytes, 119 to 131 characters with the prefix: a QR code of version 6 at
//! error-correction level M holds it in alphanumeric mode.
//!
//! Anything else a scanner reads is an *opaque* code: valid only if the cache knows it.

use std::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::base45::{self, Base45Error};
use crate::time::Millis;

/// What every signed code starts with; short, and in the QR alphanumeric set.
pub const PREFIX: &str = "GB:";
/// What the text of a name admission starts with (see [`Code::Manual`]).
pub const MANUAL_PREFIX: &str = "GBM:";
/// The payload format this build writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// Longest scanned text we look at; longer input is refused before any work is done.
pub const MAX_CODE_LEN: usize = 512;
/// Signatures cover this tag too, so a Gerbang signature can never be replayed as another
/// protocol's, or the other way round.
const DOMAIN: &[u8] = b"gerbang-ticket-v1";
const SIGNATURE_LEN: usize = 64;
const FIXED_LEN: usize = 13;

/// The facts a signed ticket vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TicketClaims {
    pub event_id: u32,
    pub ticket_id: u32,
    pub type_id: u16,
    /// Not admitted before this instant (whole seconds).
    pub valid_from: Option<Millis>,
    /// Not admitted from this instant on (whole seconds).
    pub valid_until: Option<Millis>,
}

/// A scanned text that carries Gerbang's prefix and parsed cleanly. Its signature has **not**
/// been checked yet: see [`Keyring::verify`].
#[derive(Clone)]
pub struct SignedCode {
    pub key_id: u8,
    pub claims: TicketClaims,
    /// The payload bytes the signature covers (without the domain tag).
    signed: Vec<u8>,
    signature: [u8; SIGNATURE_LEN],
    /// Set only by [`Keyring::verify_and_remember`] or [`Keyring::verify_all_and_remember`]
    /// after the signature verified: the public key that verified it. A later [`Keyring::verify`] whose key for this code is that same
    /// key needs no second curve computation. This is what lets the relay check signatures in
    /// each connection's task, in parallel, while its single writer decides: `signed` and
    /// `signature` cannot change after parsing, so the remembered result stays true.
    verified_with: Option<[u8; 32]>,
}

/// Two codes are equal when they are the same code, whether or not one was verified.
impl PartialEq for SignedCode {
    fn eq(&self, other: &SignedCode) -> bool {
        self.key_id == other.key_id
            && self.claims == other.claims
            && self.signed == other.signed
            && self.signature == other.signature
    }
}

impl Eq for SignedCode {}

impl fmt::Debug for SignedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedCode")
            .field("key_id", &self.key_id)
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

/// A scanned text, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    Signed(SignedCode),
    /// A ticket admitted by its holder's name, picked from a gate's search when no code can be
    /// shown (a phone out of battery): `GBM:` + event id + `:` + ticket id, the text a gate
    /// records and uploads for it. It proves nothing by itself, so a gate refuses it from a
    /// scanner, a camera or typing (anyone could print it; see [`Code::parse_scanned`]); it is
    /// made only by the gate's own name admission, and a relay takes it from a paired gate,
    /// whose staff checked the person. Valid only by lookup.
    Manual {
        event_id: u32,
        ticket_id: u32,
    },
    /// Any other text (another system's barcode), trimmed. Valid only by lookup.
    Opaque(String),
}

/// Why a scanned text could not be used. Every variant says what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("the code is empty")]
    Empty,
    #[error("the code is {len} bytes long; no ticket is longer than {MAX_CODE_LEN}")]
    TooLong { len: usize },
    #[error("the code contains a control character at position {at}")]
    ControlCharacter { at: usize },
    #[error("the code does not start with {PREFIX:?}")]
    WrongPrefix,
    #[error("the code is damaged: {0}")]
    BadBase45(#[from] Base45Error),
    #[error("the code is truncated: {len} bytes, a version {FORMAT_VERSION} ticket needs {need}")]
    Truncated { len: usize, need: usize },
    #[error("the code has {extra} unexpected bytes after the signature")]
    TrailingBytes { extra: usize },
    #[error("ticket format version {0} is not known to this gate; update Gerbang")]
    UnknownVersion(u8),
    #[error("the code sets unknown flag bits {0:#04x}")]
    UnknownFlags(u8),
    #[error("signed with key {key_id} of event {event_id}, which this gate does not know")]
    UnknownKey { event_id: u32, key_id: u8 },
    #[error("the signature does not match: the code was altered or forged")]
    BadSignature,
    #[error(
        "this is the text of an admission by name, which is made from the gate's search, \
         never scanned or typed"
    )]
    ManualScanned,
}

impl CodeError {
    /// True when the text is recognisably a Gerbang code but damaged, as opposed to a
    /// well-formed code whose signature is wrong (forged).
    pub fn is_malformed(&self) -> bool {
        !matches!(
            self,
            CodeError::UnknownKey { .. } | CodeError::BadSignature | CodeError::ManualScanned
        )
    }
}

impl Code {
    /// Classifies a scanned text. Never panics; allocation is bounded by [`MAX_CODE_LEN`].
    ///
    /// Text with Gerbang's prefix must parse as a signed code or is an error: a damaged signed
    /// code is never silently treated as an opaque one. A code typed with Caps Lock on (the whole
    /// text in lower case, as keyboard-wedge scanners do then) is read as if upper case when
    /// that parses; otherwise it stays an opaque code.
    pub fn parse(text: &str) -> Result<Code, CodeError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(CodeError::Empty);
        }
        if text.len() > MAX_CODE_LEN {
            return Err(CodeError::TooLong { len: text.len() });
        }
        if let Some(at) = text.chars().position(char::is_control) {
            return Err(CodeError::ControlCharacter { at });
        }
        if let Some(ids) = text.strip_prefix(MANUAL_PREFIX) {
            // Only the exact form: another system's barcode may start with "GBM:" too.
            let parsed = ids.split_once(':').and_then(|(event, ticket)| {
                // Digits only: `parse` alone would also take a leading `+`.
                let number = |s: &str| {
                    s.bytes()
                        .all(|b| b.is_ascii_digit())
                        .then(|| s.parse::<u32>().ok())
                        .flatten()
                };
                Some((number(event)?, number(ticket)?))
            });
            if let Some((event_id, ticket_id)) = parsed {
                return Ok(Code::Manual {
                    event_id,
                    ticket_id,
                });
            }
        }
        if text.starts_with(PREFIX) {
            return SignedCode::parse(text).map(Code::Signed);
        }
        if text.starts_with("gb:") && !text.chars().any(|c| c.is_ascii_uppercase()) {
            // Another system's lower-case barcode may start with "gb:" too: only a text that
            // parses once upper-cased is taken as a Caps Lock'd Gerbang code.
            if let Ok(code) = SignedCode::parse(&text.to_ascii_uppercase()) {
                return Ok(Code::Signed(code));
            }
        }
        Ok(Code::Opaque(text.to_owned()))
    }
}

impl Code {
    /// [`Code::parse`] for text that came from a scanner, a camera or the keyboard: the text of
    /// a name admission is refused there, since anyone could print it.
    pub fn parse_scanned(text: &str) -> Result<Code, CodeError> {
        match Code::parse(text)? {
            Code::Manual { .. } => Err(CodeError::ManualScanned),
            code => Ok(code),
        }
    }

    /// The text recorded for admitting `ticket_id` of `event_id` by its holder's name.
    pub fn manual_text(event_id: u32, ticket_id: u32) -> String {
        format!("{MANUAL_PREFIX}{event_id}:{ticket_id}")
    }
}

impl SignedCode {
    /// Parses `GB:` + base45 text. The signature is not checked here.
    pub fn parse(text: &str) -> Result<SignedCode, CodeError> {
        if text.len() > MAX_CODE_LEN {
            return Err(CodeError::TooLong { len: text.len() });
        }
        let body = text.strip_prefix(PREFIX).ok_or(CodeError::WrongPrefix)?;
        let bytes = base45::decode(body)?;
        Self::from_bytes(&bytes)
    }

    fn from_bytes(bytes: &[u8]) -> Result<SignedCode, CodeError> {
        let truncated = |need| CodeError::Truncated {
            len: bytes.len(),
            need,
        };
        let version = *bytes.first().ok_or(truncated(FIXED_LEN + SIGNATURE_LEN))?;
        if version != FORMAT_VERSION {
            return Err(CodeError::UnknownVersion(version));
        }
        if bytes.len() < FIXED_LEN {
            return Err(truncated(FIXED_LEN + SIGNATURE_LEN));
        }
        let flags = bytes[12];
        if flags & !0b11 != 0 {
            return Err(CodeError::UnknownFlags(flags));
        }
        let optional = 4 * (flags.count_ones() as usize);
        let payload_len = FIXED_LEN + optional;
        let need = payload_len + SIGNATURE_LEN;
        if bytes.len() < need {
            return Err(truncated(need));
        }
        if bytes.len() > need {
            return Err(CodeError::TrailingBytes {
                extra: bytes.len() - need,
            });
        }
        let u32_at = |at: usize| {
            u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let mut at = FIXED_LEN;
        let mut next_time = |present: bool| {
            present.then(|| {
                let secs = u32_at(at);
                at += 4;
                Millis::from_secs(i64::from(secs))
            })
        };
        let valid_from = next_time(flags & 0b01 != 0);
        let valid_until = next_time(flags & 0b10 != 0);
        let mut signature = [0u8; SIGNATURE_LEN];
        signature.copy_from_slice(&bytes[payload_len..]);
        Ok(SignedCode {
            key_id: bytes[1],
            claims: TicketClaims {
                event_id: u32_at(2),
                ticket_id: u32_at(6),
                type_id: u16::from_be_bytes([bytes[10], bytes[11]]),
                valid_from,
                valid_until,
            },
            signed: bytes[..payload_len].to_vec(),
            signature,
            verified_with: None,
        })
    }
}

fn signing_input(payload: &[u8]) -> Vec<u8> {
    let mut input = Vec::with_capacity(DOMAIN.len() + payload.len());
    input.extend_from_slice(DOMAIN);
    input.extend_from_slice(payload);
    input
}

/// Why a ticket could not be issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    #[error("this key signs event {key_event}, not event {ticket_event}")]
    WrongEvent { key_event: u32, ticket_event: u32 },
    #[error(
        "{field} {value} is outside what a ticket can carry (whole seconds from 1970 to 2106)"
    )]
    TimeOutOfRange { field: &'static str, value: i64 },
}

/// The power to issue tickets for one event. Only the relay holds one; a gate holds only
/// [`Keyring`]s, so a stolen gate laptop cannot mint tickets.
pub struct EventSigner {
    event_id: u32,
    key_id: u8,
    key: SigningKey,
}

impl fmt::Debug for EventSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        f.debug_struct("EventSigner")
            .field("event_id", &self.event_id)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl EventSigner {
    /// A signer from 32 secret bytes. Core does no I/O, so the caller supplies the randomness
    /// (the relay uses the operating system's generator).
    pub fn from_secret(event_id: u32, key_id: u8, secret: [u8; 32]) -> EventSigner {
        EventSigner {
            event_id,
            key_id,
            key: SigningKey::from_bytes(&secret),
        }
    }

    /// The secret bytes, for the relay to store.
    pub fn secret(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The public half, to hand to every gate of the event.
    pub fn public_key(&self) -> EventKey {
        EventKey {
            event_id: self.event_id,
            key_id: self.key_id,
            public_key: PublicKey(self.key.verifying_key().to_bytes()),
        }
    }

    /// Issues a ticket: the full text to put in a QR code.
    pub fn issue(&self, claims: &TicketClaims) -> Result<String, IssueError> {
        if claims.event_id != self.event_id {
            return Err(IssueError::WrongEvent {
                key_event: self.event_id,
                ticket_event: claims.event_id,
            });
        }
        let secs = |field, t: Option<Millis>| -> Result<Option<u32>, IssueError> {
            t.map(|t| {
                let s = t.as_secs();
                u32::try_from(s)
                    .ok()
                    .filter(|_| t.0 % Millis::SECOND == 0)
                    .ok_or(IssueError::TimeOutOfRange { field, value: t.0 })
            })
            .transpose()
        };
        let from = secs("valid_from", claims.valid_from)?;
        let until = secs("valid_until", claims.valid_until)?;
        let mut payload = Vec::with_capacity(FIXED_LEN + 8 + SIGNATURE_LEN);
        payload.push(FORMAT_VERSION);
        payload.push(self.key_id);
        payload.extend_from_slice(&claims.event_id.to_be_bytes());
        payload.extend_from_slice(&claims.ticket_id.to_be_bytes());
        payload.extend_from_slice(&claims.type_id.to_be_bytes());
        payload.push(u8::from(from.is_some()) | (u8::from(until.is_some()) << 1));
        for t in [from, until].into_iter().flatten() {
            payload.extend_from_slice(&t.to_be_bytes());
        }
        let signature = self.key.sign(&signing_input(&payload));
        payload.extend_from_slice(&signature.to_bytes());
        Ok(format!("{PREFIX}{}", base45::encode(&payload)))
    }
}

/// An Ed25519 public key, written as 64 lower-case hex digits in JSON.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(pub [u8; 32]);

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl std::str::FromStr for PublicKey {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 64 || !s.is_ascii() {
            return Err(format!(
                "a public key is 64 hex digits, got {} characters",
                s.chars().count()
            ));
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16)
                .map_err(|_| format!("{:?} is not a hex byte", &s[2 * i..2 * i + 2]))?;
        }
        Ok(PublicKey(out))
    }
}

impl Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One of an event's verifying keys, as distributed to gates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EventKey {
    pub event_id: u32,
    pub key_id: u8,
    pub public_key: PublicKey,
}

/// The verifying keys a gate trusts: several per event, so keys can be rotated.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    keys: Vec<(u32, u8, VerifyingKey)>,
}

impl Keyring {
    pub fn new() -> Keyring {
        Keyring::default()
    }

    /// Adds (or replaces) a key. Fails if the bytes are not a valid Ed25519 point.
    pub fn insert(&mut self, key: EventKey) -> Result<(), String> {
        let verifying = VerifyingKey::from_bytes(&key.public_key.0).map_err(|_| {
            format!(
                "key {} of event {} is not a valid Ed25519 public key",
                key.key_id, key.event_id
            )
        })?;
        self.remove(key.event_id, key.key_id);
        self.keys.push((key.event_id, key.key_id, verifying));
        Ok(())
    }

    /// Forgets a key (retired after rotation): codes it signed are refused from then on.
    pub fn remove(&mut self, event_id: u32, key_id: u8) {
        self.keys.retain(|(e, k, _)| (*e, *k) != (event_id, key_id));
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Checks the signature of a parsed code against the key it names. Strict verification:
    /// a signature that was tampered into another valid-looking form is refused. A code that
    /// [`Keyring::verify_and_remember`] or [`Keyring::verify_all_and_remember`] verified with
    /// the very key this keyring holds for it is not verified again (see the latter for how a
    /// batch differs from the strict check).
    pub fn verify(&self, code: &SignedCode) -> Result<(), CodeError> {
        let key = self.key_for(code)?;
        if code.verified_with.as_ref() == Some(key.as_bytes()) {
            return Ok(());
        }
        let signature = Signature::from_bytes(&code.signature);
        key.verify_strict(&signing_input(&code.signed), &signature)
            .map_err(|_| CodeError::BadSignature)
    }

    /// [`Keyring::verify`], and on success remembers in the code which key verified it, so
    /// that deciding the code later (in another thread, against another keyring that holds
    /// the same key) costs no second verification. A keyring that no longer holds that key,
    /// or holds another key under its id, verifies from scratch.
    pub fn verify_and_remember(&self, code: &mut SignedCode) -> Result<(), CodeError> {
        self.verify(code)?;
        code.verified_with = Some(*self.key_for(code)?.as_bytes());
        Ok(())
    }

    /// [`Keyring::verify_and_remember`] for many codes at once, as a relay receives them from
    /// a gate uploading its outbox: the signatures of the codes not yet verified are checked
    /// together with Ed25519 batch verification (about 2.5 times cheaper per signature than
    /// one at a time), and each is remembered as verified when the batch holds. When it does
    /// not (a forged code among them), each is checked on its own, strictly, and only those
    /// that pass are remembered. Codes with no key here are left as they are.
    ///
    /// The batch equation accepts every signature the strict check accepts. Beyond those it may
    /// accept (in some batches, not in others) a signature whose R has a small-order part, or
    /// is not canonically encoded, which only the holder of the event's secret key can make:
    /// without the key a forgery passes with probability about 2^-128, and the batch's
    /// multipliers are a hash of all its inputs, so retrying does not help. Such a code names
    /// a ticket the event key signed; the relay's officially admitting it where a gate's
    /// strict check says `forged` can never admit a ticket the event did not issue.
    pub fn verify_all_and_remember(&self, codes: &mut [&mut SignedCode]) {
        let mut inputs = Vec::with_capacity(codes.len());
        let mut signatures = Vec::with_capacity(codes.len());
        let mut keys = Vec::with_capacity(codes.len());
        let mut waiting = Vec::with_capacity(codes.len());
        for (i, code) in codes.iter().enumerate() {
            let Ok(key) = self.key_for(code) else {
                continue;
            };
            if code.verified_with.as_ref() == Some(key.as_bytes()) {
                continue;
            }
            inputs.push(signing_input(&code.signed));
            signatures.push(Signature::from_bytes(&code.signature));
            keys.push(*key);
            waiting.push(i);
        }
        let batch_holds = waiting.len() > 1 && {
            let messages: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
            ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok()
        };
        for (n, i) in waiting.into_iter().enumerate() {
            let verified = batch_holds || keys[n].verify_strict(&inputs[n], &signatures[n]).is_ok();
            if verified {
                codes[i].verified_with = Some(*keys[n].as_bytes());
            }
        }
    }

    fn key_for(&self, code: &SignedCode) -> Result<&VerifyingKey, CodeError> {
        let event_id = code.claims.event_id;
        self.keys
            .iter()
            .find(|(e, k, _)| *e == event_id && *k == code.key_id)
            .map(|(_, _, key)| key)
            .ok_or(CodeError::UnknownKey {
                event_id,
                key_id: code.key_id,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(signer: &EventSigner, ticket_id: u32) -> SignedCode {
        let text = signer
            .issue(&TicketClaims {
                event_id: 7,
                ticket_id,
                type_id: 1,
                valid_from: None,
                valid_until: None,
            })
            .unwrap();
        match Code::parse(&text) {
            Ok(Code::Signed(code)) => code,
            other => panic!("{other:?}"),
        }
    }

    /// What a batch remembers: every code when all are genuine (the batch holds), only the
    /// genuine ones when a forged code is among them.
    #[test]
    fn a_batch_remembers_exactly_the_genuine_codes() {
        let event = EventSigner::from_secret(7, 1, [3; 32]);
        let impostor = EventSigner::from_secret(7, 1, [4; 32]);
        let mut ring = Keyring::new();
        ring.insert(event.public_key()).unwrap();
        let key = event.public_key().public_key.0;

        let mut genuine: Vec<SignedCode> = (1..=5).map(|id| signed(&event, id)).collect();
        ring.verify_all_and_remember(&mut genuine.iter_mut().collect::<Vec<_>>());
        assert!(genuine.iter().all(|c| c.verified_with == Some(key)));

        let mut mixed: Vec<SignedCode> = (1..=5).map(|id| signed(&event, id)).collect();
        mixed.insert(2, signed(&impostor, 9));
        ring.verify_all_and_remember(&mut mixed.iter_mut().collect::<Vec<_>>());
        let remembered: Vec<bool> = mixed.iter().map(|c| c.verified_with.is_some()).collect();
        assert_eq!(remembered, [true, true, false, true, true, true]);
    }
}
