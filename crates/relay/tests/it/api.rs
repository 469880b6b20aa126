//! Events, gates, signing keys, messages, and who may call what.

use gerbang_core::protocol::{LogBody, Role, ServerMessage};
use gerbang_core::{Direction, VerdictKind};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{scan_of, ticket_code, upload, Body, Http, TestRelay};

/// Every endpoint with each role: the status it gets. Refusals are `403 forbidden` naming the
/// role needed; allowed calls get past the role check (their own answers are tested elsewhere).
#[tokio::test]
async fn each_role_gets_what_it_may_and_a_clear_refusal_otherwise() {
    let relay = TestRelay::start().await;
    let http = Http::new(&relay);
    let tokens = [
        relay.token("Gerbang A", Role::Gate).1,
        relay.token("Koordinator", Role::Supervisor).1,
        relay.token("Admin", Role::Admin).1,
    ];
    let message = || Some(Body::Json(json!({"text": "Pintu B ditutup"})));
    let gate_body = || Some(Body::Json(json!({"allowed_types": [1]})));
    let event_body = || {
        Some(Body::Json(json!({
            "id": 1, "name": "Seminar Nasional", "doors_open": null, "doors_close": null,
            "capacity": 500, "reentry": true, "max_entries_per_day": null,
            "max_entries_total": null, "utc_offset_minutes": 420,
            "ticket_types": [{"id": 1, "name": "Reguler"}]
        })))
    };
    // (method, path, body, status for gate, supervisor, admin)
    type Case = (&'static str, &'static str, fn() -> Option<Body>, [u16; 3]);
    let none = || None;
    let cases: Vec<Case> = vec![
        ("GET", "/events", none, [403, 200, 200]),
        ("GET", "/events/1", none, [200, 200, 200]),
        ("PUT", "/events/1", event_body, [403, 403, 200]),
        ("GET", "/events/1/stats", none, [200, 200, 200]),
        ("GET", "/events/1/tickets", none, [403, 200, 200]),
        ("GET", "/events/1/tickets/1.png", none, [403, 403, 409]),
        ("GET", "/events/1/tickets.pdf", none, [403, 403, 409]),
        ("POST", "/events/1/tickets/1/revoke", none, [403, 200, 200]),
        ("GET", "/events/1/attendance", none, [403, 200, 200]),
        ("GET", "/events/1/attendance.csv", none, [403, 200, 200]),
        ("GET", "/gates", none, [403, 200, 200]),
        ("GET", "/gates/Gerbang%20A", none, [200, 200, 200]),
        ("PUT", "/gates/Gerbang%20A", gate_body, [403, 403, 200]),
        ("POST", "/messages", message, [403, 200, 200]),
        ("POST", "/events/1/keys", none, [403, 403, 201]),
        ("GET", "/devices", none, [403, 403, 200]),
    ];
    let mut got = Vec::new();
    for (method, path, body, expected) in &cases {
        for (i, token) in tokens.iter().enumerate() {
            let (status, answer) = http.call(method, path, Some(token), body()).await;
            if status == StatusCode::FORBIDDEN {
                assert_eq!(answer["code"], "forbidden", "{method} {path}: {answer}");
                let text = answer["message"].as_str().unwrap();
                assert!(
                    text.contains("needs a supervisor or admin token")
                        || text.contains("needs an admin token"),
                    "{method} {path}: {text}"
                );
            }
            if status.as_u16() != expected[i] {
                got.push(format!(
                    "{method} {path} as {:?}: {status} {answer}",
                    Role::ALL[i]
                ));
            }
        }
    }
    assert!(got.is_empty(), "unexpected answers:\n{}", got.join("\n"));
    // Without a token, every endpoint but health, pairing and metrics is 401.
    for (method, path, body, _) in &cases {
        let (status, answer) = http.call(method, path, None, body()).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthorized")),
            "{method} {path}"
        );
    }
    relay.stop().await;
}

#[tokio::test]
async fn events_are_listed_read_and_updated() {
    let relay = TestRelay::start().await;
    let http = Http::new(&relay);
    let (_, admin) = relay.token("Admin", Role::Admin);
    let (_, gate_token) = relay.token("Gerbang A", Role::Gate);
    let mut gate = relay.client("Gerbang B", Role::Gate).await;

    let (status, events) = http.call("GET", "/events", Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<_> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["id"].as_u64().unwrap(), e["name"].as_str().unwrap()))
        .collect();
    assert_eq!(names, [(1, "Seminar Nasional")]);

    let (_, mut event) = http.call("GET", "/events/1", Some(&admin), None).await;
    event["capacity"] = json!(800);
    event["doors_open"] = json!(1_795_255_200_000i64);
    event["doors_close"] = json!(1_795_276_800_000i64);
    event["ticket_types"] = json!([{"id": 1, "name": "Reguler"}, {"id": 2, "name": "VIP"}]);
    let (status, stored) = http
        .call(
            "PUT",
            "/events/1",
            Some(&admin),
            Some(Body::Json(event.clone())),
        )
        .await;
    assert_eq!((status, &stored), (StatusCode::OK, &event));
    // Every gate hears of it in the log.
    let updated = gate
        .until(|m| match m {
            ServerMessage::Entries { entries, .. } => entries
                .iter()
                .any(|e| matches!(&e.body, LogBody::EventUpdated { event } if event.capacity == Some(800))),
            _ => false,
        })
        .await;
    assert!(matches!(updated, ServerMessage::Entries { .. }));
    let (_, read) = http.call("GET", "/events/1", Some(&gate_token), None).await;
    assert_eq!(read, event);

    // Refusals, each with its code.
    let mut without_id = event.clone();
    without_id.as_object_mut().unwrap().remove("id");
    let cases: Vec<(&str, &str, Value, u16, &str)> = vec![
        (
            "PUT",
            "/events/9",
            json!({"id": 9, "name": "x", "doors_open": null, "doors_close": null, "capacity": null, "reentry": true, "max_entries_per_day": null, "max_entries_total": null, "utc_offset_minutes": 0, "ticket_types": []}),
            404,
            "not_found",
        ),
        (
            "PUT",
            "/events/1",
            json!({"id": 2, "name": "x"}),
            400,
            "invalid_request",
        ),
        (
            "PUT",
            "/events/1",
            json!({"name": "only a name"}),
            400,
            "invalid_request",
        ),
        (
            "PUT",
            "/events/1",
            with(&event, "doors_open", json!(1_795_276_800_000i64)),
            400,
            "invalid_request",
        ),
        (
            "PUT",
            "/events/1",
            with(
                &event,
                "ticket_types",
                json!([{"id": 1, "name": "A"}, {"id": 1, "name": "B"}]),
            ),
            400,
            "invalid_request",
        ),
        (
            "PUT",
            "/events/1",
            with(&event, "utc_offset_minutes", json!(900)),
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/events",
            with(&event, "name", json!("  ")),
            400,
            "invalid_request",
        ),
        ("GET", "/events/9", Value::Null, 404, "not_found"),
    ];
    for (method, path, body, status, code) in cases {
        let body = (!body.is_null()).then_some(Body::Json(body));
        let (got, answer) = http.call(method, path, Some(&admin), body).await;
        assert_eq!(
            (got.as_u16(), answer["code"].as_str()),
            (status, Some(code)),
            "{method} {path}: {answer}"
        );
    }
    // A PUT without an id takes the path's.
    let (status, _) = http
        .call(
            "PUT",
            "/events/1",
            Some(&admin),
            Some(Body::Json(without_id)),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // A gate reads only the event it checks.
    let (status, answer) = http.call("GET", "/events/9", Some(&gate_token), None).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (status, _) = http
        .call("GET", "/events/9/stats", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    relay.stop().await;
}

fn with(event: &Value, field: &str, value: Value) -> Value {
    let mut event = event.clone();
    event[field] = value;
    event
}

#[tokio::test]
async fn a_gates_ticket_types_decide_officially_from_the_next_scan() {
    let relay = TestRelay::start().await;
    let http = Http::new(&relay);
    let (_, admin) = relay.token("Admin", Role::Admin);
    let (_, gate_token) = relay.token("Pintu VIP", Role::Gate);
    let (_, mut event) = http.call("GET", "/events/1", Some(&admin), None).await;
    event["ticket_types"] = json!([{"id": 1, "name": "Reguler"}, {"id": 2, "name": "VIP"}]);
    http.call("PUT", "/events/1", Some(&admin), Some(Body::Json(event)))
        .await;

    let (status, answer) = http
        .call(
            "PUT",
            "/gates/Pintu%20VIP",
            Some(&admin),
            Some(Body::Json(json!({"allowed_types": [7]}))),
        )
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    assert_eq!(
        answer["message"],
        "ticket type 7 is not a type of any event; known types: 1, 2"
    );
    let (status, answer) = http
        .call(
            "PUT",
            "/gates/Pintu%20VIP",
            Some(&admin),
            Some(Body::Json(json!({"allowed_types": [2, 2]}))),
        )
        .await;
    assert_eq!(
        (status, answer),
        (
            StatusCode::OK,
            json!({"name": "Pintu VIP", "allowed_types": [2]})
        )
    );
    let (_, gates) = http.call("GET", "/gates", Some(&admin), None).await;
    assert_eq!(gates, json!([{"name": "Pintu VIP", "allowed_types": [2]}]));
    // A gate reads its own settings; a gate never configured admits every type.
    let (_, own) = http
        .call("GET", "/gates/Pintu%20VIP", Some(&gate_token), None)
        .await;
    assert_eq!(own, json!({"name": "Pintu VIP", "allowed_types": [2]}));
    let (_, other) = http
        .call("GET", "/gates/Gerbang%20A", Some(&gate_token), None)
        .await;
    assert_eq!(other, json!({"name": "Gerbang A", "allowed_types": []}));

    // Ticket 1 is Reguler (type 1): refused at the VIP gate, admitted at any other.
    let mut gate = relay.client("Pintu VIP 2", Role::Gate).await;
    let verdicts = upload(
        &mut gate,
        vec![
            scan_of(&ticket_code(1), "Pintu VIP", Direction::Entry, 0),
            scan_of(&ticket_code(1), "Gerbang A", Direction::Entry, 0),
        ],
    )
    .await;
    assert_eq!(
        verdicts,
        [VerdictKind::TypeNotAllowed, VerdictKind::Admitted]
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_message_over_http_reaches_every_device_through_the_log() {
    let relay = TestRelay::start().await;
    let http = Http::new(&relay);
    let (_, supervisor) = relay.token("Koordinator", Role::Supervisor);
    let mut gate = relay.client("Gerbang B", Role::Gate).await;
    let id = "01a1fdfb-3060-74d4-94d4-d4d4d4d4d4d4";
    let (status, sent) = http
        .call(
            "POST",
            "/messages",
            Some(&supervisor),
            Some(Body::Json(
                json!({"message_id": id, "to": "Gerbang B", "text": "  Pintu B ditutup  "}),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent["message"]["text"], "Pintu B ditutup");
    assert_eq!(sent["message"]["from"], "Koordinator");
    let seq = sent["seq"].as_u64().unwrap();
    let got = gate
        .until(|m| matches!(m, ServerMessage::Entries { entries, .. } if entries.iter().any(|e| e.seq == seq)))
        .await;
    let ServerMessage::Entries { entries, .. } = got else {
        unreachable!()
    };
    let LogBody::Message { message } = &entries.iter().find(|e| e.seq == seq).unwrap().body else {
        panic!("not a message entry")
    };
    assert_eq!(
        (
            message.message_id.to_string().as_str(),
            message.to.as_deref(),
            message.text.as_str()
        ),
        (id, Some("Gerbang B"), "Pintu B ditutup")
    );
    for text in ["", "   ", &"x".repeat(501)] {
        let (status, answer) = http
            .call(
                "POST",
                "/messages",
                Some(&supervisor),
                Some(Body::Json(json!({"text": text}))),
            )
            .await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request"))
        );
    }
    relay.stop().await;
}

#[tokio::test]
async fn a_new_signing_key_is_announced_to_gates() {
    let relay = TestRelay::start().await;
    let http = Http::new(&relay);
    let (_, admin) = relay.token("Admin", Role::Admin);
    let mut gate = relay.client("Gerbang A", Role::Gate).await;
    let (status, key) = http
        .call("POST", "/events/1/keys", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    // The seed's key is 1.
    assert_eq!(
        (key["event_id"].as_u64(), key["key_id"].as_u64()),
        (Some(1), Some(2))
    );
    gate.until(|m| matches!(m, ServerMessage::Entries { entries, .. } if entries.iter().any(|e| matches!(&e.body, LogBody::KeyAdded { key } if key.key_id == 2))))
        .await;
    let (status, _) = http
        .call("POST", "/events/9/keys", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    relay.stop().await;
}
