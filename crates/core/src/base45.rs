//! Base45 (RFC 9285): binary data as text in the 45 characters of QR alphanumeric mode.
//!
//! Written here rather than taken from a crate because the decoder sits on the scan path and
//! sees hostile input: it must never panic, must bound its allocation by the input length, and
//! must say exactly what was wrong.

/// The RFC 9285 alphabet, which is exactly the QR alphanumeric character set.
const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// Why a text is not valid base45.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Base45Error {
    #[error("character {ch:?} at position {at} is not a base45 character")]
    BadCharacter { ch: char, at: usize },
    #[error("base45 text has {len} characters; a length of 3n+1 is impossible")]
    BadLength { len: usize },
    #[error("base45 group at position {at} encodes a value larger than its bytes can hold")]
    Overflow { at: usize },
}

/// Encodes bytes as base45 text.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(2) * 3);
    for pair in bytes.chunks(2) {
        let (value, digits) = match *pair {
            [a, b] => (u32::from(a) * 256 + u32::from(b), 3),
            [a] => (u32::from(a), 2),
            _ => unreachable!("chunks(2) yields one or two bytes"),
        };
        let mut v = value;
        for _ in 0..digits {
            out.push(char::from(ALPHABET[(v % 45) as usize]));
            v /= 45;
        }
    }
    out
}

fn digit(ch: u8, at: usize) -> Result<u32, Base45Error> {
    ALPHABET
        .iter()
        .position(|&c| c == ch)
        .map(|p| p as u32)
        .ok_or(Base45Error::BadCharacter {
            ch: char::from(ch),
            at,
        })
}

/// Decodes base45 text. The output is at most two thirds of the input length.
pub fn decode(text: &str) -> Result<Vec<u8>, Base45Error> {
    let raw = text.as_bytes();
    // A non-ASCII character is reported with its real char; find it before indexing bytes.
    if let Some((at, ch)) = text.char_indices().find(|(_, c)| !c.is_ascii()) {
        return Err(Base45Error::BadCharacter { ch, at });
    }
    if raw.len() % 3 == 1 {
        return Err(Base45Error::BadLength { len: raw.len() });
    }
    let mut out = Vec::with_capacity(raw.len() / 3 * 2 + 1);
    for (i, group) in raw.chunks(3).enumerate() {
        let at = i * 3;
        let mut value = 0u32;
        for (j, &ch) in group.iter().enumerate().rev() {
            value = value * 45 + digit(ch, at + j)?;
        }
        if group.len() == 3 {
            if value > 0xFFFF {
                return Err(Base45Error::Overflow { at });
            }
            out.push((value >> 8) as u8);
            out.push((value & 0xFF) as u8);
        } else {
            if value > 0xFF {
                return Err(Base45Error::Overflow { at });
            }
            out.push(value as u8);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc_9285_examples() {
        // The examples given in RFC 9285, section 4.3.
        assert_eq!(encode(b"AB"), "BB8");
        assert_eq!(encode(b"Hello!!"), "%69 VD92EX0");
        assert_eq!(encode(b"base-45"), "UJCLQE7W581");
        assert_eq!(decode("QED8WEX0").unwrap(), b"ietf!");
    }

    #[test]
    fn errors_say_what_was_wrong() {
        assert_eq!(decode("GGW"), Err(Base45Error::Overflow { at: 0 }));
        assert_eq!(decode("BB8B"), Err(Base45Error::BadLength { len: 4 }));
        assert_eq!(
            decode("BB8b9"),
            Err(Base45Error::BadCharacter { ch: 'b', at: 3 })
        );
        assert_eq!(
            decode("BBé"),
            Err(Base45Error::BadCharacter { ch: 'é', at: 2 })
        );
    }

    proptest! {
        #[test]
        fn round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            prop_assert_eq!(decode(&encode(&bytes)).unwrap(), bytes);
        }

        #[test]
        fn never_panics_and_stays_bounded(text in ".{0,300}") {
            if let Ok(bytes) = decode(&text) {
                prop_assert!(bytes.len() <= text.len());
            }
        }
    }
}
