//! Ticket codes: issuing, parsing, verifying, and what hostile input gets.

use gerbang_core::ticket::{IssueError, MAX_CODE_LEN, PREFIX};
use gerbang_core::{base45, qr, Code, CodeError, Keyring, Millis, SignedCode, TicketClaims};
use proptest::prelude::*;

use crate::{claims, public_keys, signer, EVENT};

fn keyring() -> Keyring {
    let mut ring = Keyring::new();
    for key in public_keys() {
        ring.insert(key).unwrap();
    }
    ring
}

/// Parses and verifies; the claims of a ticket a gate would believe, or why not.
fn believe(text: &str) -> Result<TicketClaims, String> {
    match Code::parse(text) {
        Ok(Code::Signed(code)) => match keyring().verify(&code) {
            Ok(()) => Ok(code.claims),
            Err(err) => Err(format!("forged: {err}")),
        },
        Ok(Code::Opaque(text)) => Err(format!("opaque: {text}")),
        Ok(manual @ Code::Manual { .. }) => Err(format!("by name: {manual:?}")),
        Err(err) => Err(format!("malformed: {err}")),
    }
}

fn full_claims() -> TicketClaims {
    TicketClaims {
        event_id: u32::MAX,
        ticket_id: u32::MAX,
        type_id: u16::MAX,
        valid_from: Some(Millis::from_secs(i64::from(u32::MAX) - 1)),
        valid_until: Some(Millis::from_secs(i64::from(u32::MAX))),
    }
}

#[test]
fn issued_codes_round_trip_and_fit_a_small_qr_code() {
    let big = gerbang_core::EventSigner::from_secret(u32::MAX, 255, [7; 32]);
    let longest = big.issue(&full_claims()).unwrap();
    let shortest = signer().issue(&claims(1)).unwrap();
    assert!(longest.starts_with(PREFIX) && shortest.starts_with(PREFIX));
    assert_eq!((shortest.len(), longest.len()), (119, 131));
    // The issue's bound is version 7 at level M; the largest ticket needs version 6.
    assert_eq!(qr::version(&longest).unwrap(), 6);
    assert!(longest
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b" $%*+-./:".contains(&b)));

    let mut ring = Keyring::new();
    ring.insert(big.public_key()).unwrap();
    let Ok(Code::Signed(code)) = Code::parse(&longest) else {
        panic!("not parsed as signed")
    };
    assert_eq!(code.claims, full_claims());
    assert_eq!(code.key_id, 255);
    assert_eq!(ring.verify(&code), Ok(()));
}

#[test]
fn typed_errors_say_what_was_wrong() {
    let good = signer().issue(&claims(5)).unwrap();
    let body = base45::decode(&good[PREFIX.len()..]).unwrap();
    let reencode = |bytes: &[u8]| format!("{PREFIX}{}", base45::encode(bytes));
    let mut version_2 = body.clone();
    version_2[0] = 2;
    let mut bad_flags = body.clone();
    bad_flags[12] = 0x80;
    let mut longer = body.clone();
    longer.push(0);

    let cases: Vec<(String, Result<TicketClaims, String>)> = vec![
        ("".into(), Err("malformed: the code is empty".into())),
        (
            "x".repeat(MAX_CODE_LEN + 1),
            Err("malformed: the code is 513 bytes long; no ticket is longer than 512".into()),
        ),
        (
            "AB\u{1b}[2J".into(),
            Err("malformed: the code contains a control character at position 2".into()),
        ),
        ("GB:".into(), Err("malformed: the code is truncated: 0 bytes, a version 1 ticket needs 77".into())),
        (reencode(&body[..40]), Err("malformed: the code is truncated: 40 bytes, a version 1 ticket needs 77".into())),
        (reencode(&version_2), Err("malformed: ticket format version 2 is not known to this gate; update Gerbang".into())),
        (reencode(&bad_flags), Err("malformed: the code sets unknown flag bits 0x80".into())),
        (reencode(&longer), Err("malformed: the code has 1 unexpected bytes after the signature".into())),
        (
            format!("{}a", &good[..10]),
            Err("malformed: the code is damaged: character 'a' at position 7 is not a base45 character".into()),
        ),
        ("  LOKET-123 \n".into(), Err("opaque: LOKET-123".into())),
        ("gb:other-system".into(), Err("opaque: gb:other-system".into())),
        (format!(" {good}\r\n"), Ok(claims(5))),
    ];
    for (input, expected) in cases {
        assert_eq!(believe(&input), expected, "input {input:?}");
    }
    assert_eq!(
        SignedCode::parse("LOKET-123").unwrap_err(),
        CodeError::WrongPrefix
    );
    assert_eq!(
        signer().issue(&TicketClaims {
            event_id: 8,
            ..claims(1)
        }),
        Err(IssueError::WrongEvent {
            key_event: EVENT,
            ticket_event: 8
        })
    );
    assert!(signer()
        .issue(&TicketClaims {
            valid_from: Some(Millis(1_500)),
            ..claims(1)
        })
        .is_err());
}

#[test]
fn a_retired_key_no_longer_verifies() {
    let code = signer().issue(&claims(9)).unwrap();
    let Ok(Code::Signed(parsed)) = Code::parse(&code) else {
        panic!("not signed")
    };
    let mut ring = keyring();
    assert_eq!(ring.verify(&parsed), Ok(()));
    ring.remove(EVENT, 1);
    assert_eq!(
        ring.verify(&parsed),
        Err(CodeError::UnknownKey {
            event_id: EVENT,
            key_id: 1
        })
    );
}

/// The relay verifies signatures in each connection's task and decides in its writer: what
/// the first verification remembers must vouch only for the very key that verified it.
#[test]
fn a_remembered_verification_vouches_only_for_its_own_key() {
    let code = signer().issue(&claims(9)).unwrap();
    let Ok(Code::Signed(mut parsed)) = Code::parse(&code) else {
        panic!("not signed")
    };
    let ring = keyring();
    assert_eq!(ring.verify_and_remember(&mut parsed), Ok(()));
    assert_eq!(ring.verify(&parsed), Ok(()));
    // A verified code is still the same code.
    assert_eq!(Code::Signed(parsed.clone()), Code::parse(&code).unwrap());

    // Another key under the same id (a relay whose key was replaced): verified afresh, refused.
    let mut impostor = Keyring::new();
    impostor
        .insert(gerbang_core::EventSigner::from_secret(EVENT, 1, [7; 32]).public_key())
        .unwrap();
    assert_eq!(impostor.verify(&parsed), Err(CodeError::BadSignature));
    // The key retired: unknown, whatever was remembered.
    let mut retired = keyring();
    retired.remove(EVENT, 1);
    assert_eq!(
        retired.verify(&parsed),
        Err(CodeError::UnknownKey {
            event_id: EVENT,
            key_id: 1
        })
    );
    // A forged code remembers nothing: the next check still refuses it.
    let mut forged = impostor_code();
    assert_eq!(
        ring.verify_and_remember(&mut forged),
        Err(CodeError::BadSignature)
    );
    assert_eq!(ring.verify(&forged), Err(CodeError::BadSignature));
}

/// The relay checks a gate's uploaded scans together (batch verification): a forged code among
/// valid ones must not be remembered as verified, and the valid ones still verify.
#[test]
fn codes_verified_together_remember_only_the_genuine_ones() {
    let ring = keyring();
    let genuine = |ticket| match Code::parse(&signer().issue(&claims(ticket)).unwrap()) {
        Ok(Code::Signed(code)) => code,
        other => panic!("{other:?}"),
    };
    let mut codes: Vec<SignedCode> = (1..=6).map(genuine).collect();
    codes.insert(3, impostor_code());
    // A key this keyring does not hold: left alone.
    let unknown = gerbang_core::EventSigner::from_secret(EVENT, 9, [5; 32])
        .issue(&claims(12))
        .unwrap();
    let Ok(Code::Signed(unknown)) = Code::parse(&unknown) else {
        panic!("not signed")
    };
    codes.push(unknown);
    ring.verify_all_and_remember(&mut codes.iter_mut().collect::<Vec<_>>());
    assert_eq!(ring.verify(&codes[3]), Err(CodeError::BadSignature));
    assert_eq!(
        ring.verify(&codes[7]),
        Err(CodeError::UnknownKey {
            event_id: EVENT,
            key_id: 9
        })
    );
    for (i, code) in codes
        .iter()
        .enumerate()
        .filter(|(i, _)| ![3, 7].contains(i))
    {
        assert_eq!(ring.verify(code), Ok(()), "code {i}");
    }

    // Only forged codes, and a lone one: nothing remembered.
    let mut forged = [impostor_code(), impostor_code()];
    ring.verify_all_and_remember(&mut forged.iter_mut().collect::<Vec<_>>());
    let mut lone = [impostor_code()];
    ring.verify_all_and_remember(&mut lone.iter_mut().collect::<Vec<_>>());
    for code in forged.iter().chain(&lone) {
        assert_eq!(ring.verify(code), Err(CodeError::BadSignature));
    }
}

/// A code for key 1 of the event, signed with a secret that is not key 1's.
fn impostor_code() -> SignedCode {
    let text = gerbang_core::EventSigner::from_secret(EVENT, 1, [7; 32])
        .issue(&claims(11))
        .unwrap();
    match Code::parse(&text) {
        Ok(Code::Signed(code)) => code,
        other => panic!("{other:?}"),
    }
}

#[test]
fn secrets_never_reach_debug_output() {
    let shown = format!("{:?}", signer());
    assert_eq!(shown, "EventSigner { event_id: 7, key_id: 1, .. }");
}

#[test]
fn qr_images_render() {
    let code = signer().issue(&claims(1)).unwrap();
    let png = qr::png(&code, 4).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let svg = qr::svg(&code).unwrap();
    assert!(svg.contains("<svg"));
}

fn arb_claims() -> impl Strategy<Value = TicketClaims> {
    let time = prop::option::of((0u32..=u32::MAX).prop_map(|s| Millis::from_secs(i64::from(s))));
    (any::<u32>(), any::<u16>(), time.clone(), time).prop_map(
        |(ticket_id, type_id, from, until)| TicketClaims {
            event_id: EVENT,
            ticket_id,
            type_id,
            valid_from: from,
            valid_until: until,
        },
    )
}

proptest! {
    #[test]
    fn parsing_any_text_never_panics(text in any::<String>()) {
        let _ = Code::parse(&text);
        let _ = SignedCode::parse(&text);
    }

    #[test]
    fn parsing_any_bytes_after_the_prefix_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..120)) {
        let text = format!("{PREFIX}{}", base45::encode(&bytes));
        if let Ok(Code::Signed(code)) = Code::parse(&text) {
            // Random bytes that happen to parse must still not verify.
            prop_assert!(keyring().verify(&code).is_err());
        }
    }

    #[test]
    fn sign_encode_parse_verify_round_trips(c in arb_claims()) {
        let text = signer().issue(&c).unwrap();
        prop_assert_eq!(believe(&text), Ok(c));
    }

    #[test]
    fn any_single_changed_character_is_refused(
        c in arb_claims(),
        position in any::<prop::sample::Index>(),
        replacement in prop::sample::select(
            "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:ab#".chars().collect::<Vec<_>>()
        ),
    ) {
        let text = signer().issue(&c).unwrap();
        let mut chars: Vec<char> = text.chars().collect();
        let at = position.index(chars.len());
        prop_assume!(chars[at] != replacement);
        chars[at] = replacement;
        let altered: String = chars.into_iter().collect();
        // Forged, malformed, or (a changed prefix) an opaque code the cache won't know:
        // never a ticket the gate believes.
        prop_assert!(believe(&altered).is_err(), "{altered} was believed");
    }
}

/// The text of an admission by name: read only in its exact form, refused from a scanner.
#[test]
fn admissions_by_name_are_their_exact_text_and_never_scanned() {
    let text = Code::manual_text(EVENT, 1042);
    assert_eq!(text, "GBM:7:1042");
    let manual = Code::Manual {
        event_id: EVENT,
        ticket_id: 1042,
    };
    assert_eq!(Code::parse(&text), Ok(manual.clone()));
    assert_eq!(Code::parse(" GBM:7:1042 "), Ok(manual));
    assert_eq!(Code::parse_scanned(&text), Err(CodeError::ManualScanned));
    // Refused as forged, not as damaged: it is well formed, just not acceptable from a scanner.
    assert!(!CodeError::ManualScanned.is_malformed());
    // Anything else that starts with the prefix is another system's barcode.
    for other in [
        "GBM:7",
        "GBM:7:",
        "GBM::1",
        "GBM:7:1:2",
        "GBM:7:x",
        "GBM:+7:1",
        "GBM:99999999999:1",
    ] {
        assert_eq!(
            Code::parse(other),
            Ok(Code::Opaque(other.into())),
            "{other}"
        );
        assert_eq!(
            Code::parse_scanned(other),
            Ok(Code::Opaque(other.into())),
            "{other}"
        );
    }
    // A signed code scans as before.
    let signed = signer().issue(&claims(5)).unwrap();
    assert!(matches!(Code::parse_scanned(&signed), Ok(Code::Signed(_))));
}
