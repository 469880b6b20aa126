//! Devices, their tokens and roles, and one-time pairing codes.
//!
//! A token is 32 random bytes shown once as `gbt_` + hex; the relay keeps only its SHA-256, so
//! a copy of the database does not let anyone in. Pairing codes are short (typed by people),
//! single-use and expire.

use gerbang_core::protocol::Role;
use gerbang_core::Millis;
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// How long a pairing code stays usable.
pub const PAIRING_TTL_MS: i64 = 15 * Millis::MINUTE;
/// Unambiguous characters for codes people type (no 0/O, 1/I/L).
const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// A device the relay knows, as its token identifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub revoked: bool,
}

/// Why a token or code was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Unknown,
    Revoked,
}

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| Error::Invalid(format!("the system random generator failed: {e}")))?;
    Ok(bytes)
}

pub(crate) fn role_str(role: Role) -> &'static str {
    match role {
        Role::Gate => "gate",
        Role::Supervisor => "supervisor",
        Role::Admin => "admin",
    }
}

fn parse_role(s: &str) -> Role {
    match s {
        "admin" => Role::Admin,
        "supervisor" => Role::Supervisor,
        _ => Role::Gate,
    }
}

/// A fresh device token.
pub fn new_token() -> Result<String> {
    let bytes: [u8; 32] = random_bytes()?;
    Ok(format!(
        "gbt_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

/// Registers a device and returns its token (the only time it is seen).
pub fn create_device(
    conn: &Connection,
    name: &str,
    role: Role,
    now: Millis,
) -> Result<(Device, String)> {
    let token = new_token()?;
    let id = uuid::Uuid::now_v7().to_string();
    conn.execute(
        "INSERT INTO devices (id, name, role, token_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, name, role_str(role), hash(&token), now.0],
    )?;
    Ok((
        Device {
            id,
            name: name.to_owned(),
            role,
            revoked: false,
        },
        token,
    ))
}

/// The device a token belongs to.
pub fn authenticate(conn: &Connection, token: &str) -> Result<Result<Device, Refusal>> {
    let device = conn
        .prepare_cached(
            "SELECT id, name, role, revoked_at IS NOT NULL FROM devices WHERE token_hash = ?1",
        )?
        .query_row([hash(token)], |r| {
            Ok(Device {
                id: r.get(0)?,
                name: r.get(1)?,
                role: parse_role(&r.get::<_, String>(2)?),
                revoked: r.get(3)?,
            })
        })
        .optional()?;
    Ok(match device {
        None => Err(Refusal::Unknown),
        Some(d) if d.revoked => Err(Refusal::Revoked),
        Some(d) => Ok(d),
    })
}

/// Every device, oldest first.
pub fn list_devices(conn: &Connection) -> Result<Vec<Device>> {
    let mut stmt = conn.prepare(
        "SELECT id, name, role, revoked_at IS NOT NULL FROM devices ORDER BY created_at, id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Device {
            id: r.get(0)?,
            name: r.get(1)?,
            role: parse_role(&r.get::<_, String>(2)?),
            revoked: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Revokes a device: its token is refused from now on. Returns false if no such device.
pub fn revoke_device(conn: &Connection, id: &str, now: Millis) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE devices SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
        params![id, now.0],
    )? == 1)
}

/// A new one-time pairing code for a role, like `K7Q2-M9XD`.
pub fn create_pairing_code(conn: &Connection, role: Role, now: Millis) -> Result<String> {
    let bytes: [u8; 8] = random_bytes()?;
    let mut code: String = bytes
        .iter()
        .map(|b| char::from(CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()]))
        .collect();
    code.insert(4, '-');
    conn.execute(
        "INSERT INTO pairing_codes (code_hash, role, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![hash(&normalise_code(&code)), role_str(role), now.0, now.0 + PAIRING_TTL_MS],
    )?;
    Ok(code)
}

/// People type codes in any case, with or without the dash.
fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Exchanges a pairing code for a new device and its token. The code is used up.
pub fn redeem_pairing_code(
    conn: &mut Connection,
    code: &str,
    device_name: &str,
    now: Millis,
) -> Result<Result<(Device, String), String>> {
    let tx = conn.transaction()?;
    let found: Option<(String, i64, Option<i64>)> = tx
        .query_row(
            "SELECT role, expires_at, used_at FROM pairing_codes WHERE code_hash = ?1",
            [hash(&normalise_code(code))],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let role = match found {
        None => return Ok(Err("this pairing code is not known to the relay".into())),
        Some((_, _, Some(_))) => return Ok(Err("this pairing code was already used".into())),
        Some((_, expires, None)) if now.0 >= expires => {
            return Ok(Err(
                "this pairing code has expired; ask for a new one".into()
            ))
        }
        Some((role, _, None)) => parse_role(&role),
    };
    tx.execute(
        "UPDATE pairing_codes SET used_at = ?2 WHERE code_hash = ?1",
        params![hash(&normalise_code(code)), now.0],
    )?;
    let created = create_device(&tx, device_name, role, now)?;
    tx.commit()?;
    Ok(Ok(created))
}
