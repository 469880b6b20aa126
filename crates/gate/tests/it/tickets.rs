//! The ticket cache: events and keys, loading, CSV import, revocation and search.

use expect_test::{expect, Expect};
use gerbang_core::{Direction, EventKey, PublicKey};
use gerbang_gate::{Error, Store};

use crate::{event, gate, signer, test_store, ticket, EVENT, OTHER_EVENT};

/// Searches the standard test gate and renders the matches, one per line.
fn check_search(store: &Store, query: &str, expect: Expect) {
    let found = store.search(EVENT, query, 10).unwrap();
    let out: Vec<String> = found
        .iter()
        .map(|t| format!("#{} {} {:?}", t.ticket_id, t.holder, t.barcode))
        .collect();
    expect.assert_eq(&out.join("\n"));
}

#[test]
fn search_by_name_ignores_case_and_accents() {
    let store = test_store();
    check_search(&store, "jose", expect![[r#"#101 José Martínez None"#]]);
    check_search(&store, "MARTÍN", expect![[r#"#101 José Martínez None"#]]);
    check_search(
        &store,
        "  siti   nur ",
        expect![[r#"#200 Siti Nurhaliza Some("EXT-200")"#]],
    );
    check_search(
        &store,
        "nur siti",
        expect![[r#"#200 Siti Nurhaliza Some("EXT-200")"#]],
    );
    check_search(&store, "siti budi", expect![[""]]);
    // Another event's holder is not found from this one.
    check_search(&store, "dewi", expect![[""]]);
}

#[test]
fn search_by_number_and_barcode() {
    let store = test_store();
    check_search(&store, "100", expect![[r#"#100 Budi Santoso None"#]]);
    check_search(
        &store,
        "EXT-20",
        expect![[r#"
            #200 Siti Nurhaliza Some("EXT-200")
            #201 Agus Salim Some("EXT-201")"#]],
    );
    check_search(
        &store,
        "EXT-201",
        expect![[r#"#201 Agus Salim Some("EXT-201")"#]],
    );
    check_search(&store, "KONSER", expect![[""]]);
}

#[test]
fn search_takes_any_text() {
    // Regression guard: operator input must never reach FTS5 as query syntax.
    let store = test_store();
    for query in [
        "\"", "*", "a\"b", "NEAR(", "budi OR", "-", "^", "'", "()", "\u{0}",
    ] {
        store.search(EVENT, query, 10).unwrap();
    }
    check_search(&store, "\"budi\"", expect![[r#"#100 Budi Santoso None"#]]);
    check_search(&store, "", expect![[""]]);
}

#[test]
fn renaming_a_holder_updates_the_name_index() {
    let store = test_store();
    store
        .load_tickets(EVENT, [ticket(100, "Bambang Pamungkas", None)])
        .unwrap();
    check_search(&store, "budi", expect![[""]]);
    check_search(
        &store,
        "bambang",
        expect![[r#"#100 Bambang Pamungkas None"#]],
    );
}

#[test]
fn a_large_load_rebuilds_the_name_index_and_keeps_it_live() {
    let store = test_store();
    let n = 60_000;
    let loaded = store
        .load_tickets(
            EVENT,
            (1_000..1_000 + n).map(|id| ticket(id, &format!("Peserta {id}"), None)),
        )
        .unwrap();
    assert_eq!(loaded, n as usize);
    check_search(
        &store,
        "peserta 59999",
        expect![[r#"#59999 Peserta 59999 None"#]],
    );
    check_search(&store, "budi", expect![[r#"#100 Budi Santoso None"#]]);
    // The triggers are back: a ticket loaded afterwards is found too.
    store
        .load_tickets(EVENT, [ticket(9, "Kartini", None)])
        .unwrap();
    check_search(&store, "kartini", expect![[r#"#9 Kartini None"#]]);
    assert_eq!(
        store.counters(EVENT, None).unwrap().issued,
        3 + u64::from(n) + 1
    );
}

#[test]
fn a_duplicate_barcode_loads_nothing() {
    let store = test_store();
    let err = store
        .load_tickets(
            EVENT,
            [
                ticket(400, "Rina", Some("NEW-400")),
                ticket(401, "Rudi", Some("EXT-200")),
            ],
        )
        .unwrap_err();
    expect![[r#"barcode "EXT-200" of ticket 401 is already the barcode of another ticket of event 7; nothing was loaded"#]]
        .assert_eq(&err.to_string());
    assert_eq!(store.ticket(EVENT, 400).unwrap(), None);
}

#[test]
fn loading_checks_the_event() {
    let store = test_store();
    assert!(matches!(
        store.load_tickets(99, [ticket(1, "A", None)]),
        Err(Error::UnknownEvent(99))
    ));
    assert!(matches!(
        store.load_tickets(OTHER_EVENT, [ticket(1, "A", None)]),
        Err(Error::TicketOfOtherEvent { .. })
    ));
}

#[test]
fn csv_import_numbers_after_the_highest_ticket() {
    let store = test_store();
    let csv = "holder,type,barcode\nRina Wati,VIP,R-1\nRudi Hartono,reguler,\n";
    let report = store.import_csv(EVENT, csv.as_bytes()).unwrap();
    assert_eq!(report.imported, 2);
    check_search(
        &store,
        "r",
        expect![[r##"
            #202 Rina Wati Some("R-1")
            #203 Rudi Hartono None"##]],
    );
    let outcome = store.record_scan("R-1", crate::EVENING).unwrap();
    assert_eq!(outcome.verdict.kind.as_str(), "admitted");
}

#[test]
fn a_bad_csv_imports_nothing_and_says_where() {
    let store = test_store();
    let csv = "holder,type,barcode,valid_until\n\
               Rina Wati,VIP,R-1,2026-11-21 23:00\n\
               ,VIP,R-2,\n\
               Rudi,Gold,R-3,\n\
               Rani,VIP,R-1,2026-11-31 10:00\n";
    let err = store.import_csv(EVENT, csv.as_bytes()).unwrap_err();
    expect![[r#"
        3 lines of the file could not be read, so nothing was imported; correct the file and import it again:
        line 3: the holder's name is missing
        line 4: unknown ticket type "Gold"; the types of Seminar Nasional are: Reguler (1), VIP (2)
        line 5: valid_until "2026-11-31 10:00" has day 31, but that month has 30 days
        line 5: barcode "R-1" is also on line 2"#]]
    .assert_eq(&err.to_string());
    check_search(&store, "rina", expect![[""]]);
}

#[test]
fn a_csv_barcode_already_in_the_cache_imports_nothing() {
    let store = test_store();
    let csv = "holder,type,barcode\nRina,VIP,R-1\nRudi,VIP,EXT-200\n";
    let err = store.import_csv(EVENT, csv.as_bytes()).unwrap_err();
    assert!(
        matches!(err, Error::DuplicateBarcode { ticket_id: 203, .. }),
        "{err}"
    );
    check_search(&store, "rina", expect![[""]]);
}

#[test]
fn events_keys_and_settings_round_trip() {
    let store = test_store();
    assert_eq!(store.event(EVENT).unwrap(), Some(event()));
    assert_eq!(store.event(99).unwrap(), None);
    let mut changed = event();
    changed.ticket_types.pop();
    changed.capacity = None;
    store.upsert_event(&changed).unwrap();
    assert_eq!(store.event(EVENT).unwrap(), Some(changed));

    assert_eq!(store.keyring(EVENT).unwrap().len(), 1);
    store.retire_key(EVENT, 1).unwrap();
    assert!(store.keyring(EVENT).unwrap().is_empty());
    store.add_key(signer().public_key()).unwrap();
    assert_eq!(store.keyring(EVENT).unwrap().len(), 1);
    // Not the encoding of a point on the curve.
    let mut not_a_point = [0; 32];
    not_a_point[31] = 1;
    let bad = EventKey {
        event_id: EVENT,
        key_id: 3,
        public_key: PublicKey(not_a_point),
    };
    expect![[r#"key 3 of event 7 is not a valid Ed25519 public key"#]]
        .assert_eq(&store.add_key(bad).unwrap_err().to_string());

    let mut rules = gate("Gerbang C", Direction::Exit);
    rules.allowed_types = vec![2, 1];
    store.set_gate_rules(&rules).unwrap();
    assert_eq!(store.gate_rules().unwrap(), Some(rules));
    assert_eq!(store.active_event().unwrap(), Some(EVENT));
    store.set_active_event(OTHER_EVENT).unwrap();
    assert_eq!(store.active_event().unwrap(), Some(OTHER_EVENT));

    assert_eq!(store.device_token().unwrap(), None);
    store.set_device_token(Some("tok")).unwrap();
    assert_eq!(store.device_token().unwrap().as_deref(), Some("tok"));
    store.set_device_token(None).unwrap();
    assert_eq!(store.device_token().unwrap(), None);

    let empty = Store::open_in_memory().unwrap();
    assert_eq!(empty.gate_rules().unwrap(), None);
    assert_eq!(empty.active_event().unwrap(), None);
    assert_eq!(
        empty.duplicate_window(),
        gerbang_gate::DEFAULT_DUPLICATE_WINDOW
    );
}

#[test]
fn revoking_counts_one_ticket_less_once() {
    let store = test_store();
    let issued = || store.counters(EVENT, None).unwrap().issued;
    assert_eq!(issued(), 3);
    store.revoke_ticket(EVENT, 100).unwrap();
    store.revoke_ticket(EVENT, 100).unwrap();
    // A ticket the cache does not know becomes a revoked placeholder, never counted.
    store.revoke_ticket(EVENT, 150).unwrap();
    assert_eq!(issued(), 2);
    assert!(store.ticket(EVENT, 150).unwrap().unwrap().revoked);
    // A load that brings the ticket back (re-issued) counts it again.
    store
        .load_tickets(EVENT, [ticket(100, "Budi Santoso", None)])
        .unwrap();
    assert_eq!(issued(), 3);
}
