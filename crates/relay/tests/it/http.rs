//! The HTTP API over a real socket: pairing, roles and refusals, ticket imports.

use gerbang_core::protocol::{LogBody, Role, ServerMessage};
use reqwest::StatusCode;
use serde_json::json;

use crate::{Body, Client, Http, TestRelay, EVENT};

#[tokio::test]
async fn administration_needs_an_admin_token() {
    let relay = TestRelay::start().await;
    let http = Http::new(&relay);
    let (_, gate) = relay.token("Gerbang A", Role::Gate);
    let (admin_id, admin) = relay.token("Admin", Role::Admin);
    let cases = [
        (None, StatusCode::UNAUTHORIZED, "unauthorized"),
        (
            Some("gbt_not-a-token"),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        (Some(gate.as_str()), StatusCode::FORBIDDEN, "forbidden"),
    ];
    for (token, status, code) in cases {
        let (got, body) = http.call("GET", "/devices", token, None).await;
        assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
    }
    let (status, devices) = http.call("GET", "/devices", Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<_> = devices
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Gerbang A", "Admin"]);

    // An admin can revoke itself; its token is refused from then on.
    let (status, _) = http
        .call(
            "POST",
            &format!("/devices/{admin_id}/revoke"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = http.call("GET", "/devices", Some(&admin), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("device_revoked"))
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_pairing_code_makes_one_device_and_is_used_up() {
    let relay = TestRelay::start().await;
    let http = Http::new(&relay);
    let (_, admin) = relay.token("Admin", Role::Admin);
    let (status, created) = http
        .call(
            "POST",
            "/pairing-codes",
            Some(&admin),
            Some(Body::Json(json!({"role": "gate"}))),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    // People type codes in lower case and without the dash.
    let typed = created["code"]
        .as_str()
        .unwrap()
        .replace('-', "")
        .to_lowercase();
    let request = json!({"code": typed, "device_name": "Gerbang Timur"});
    let (status, paired) = http
        .call("POST", "/pair", None, Some(Body::Json(request.clone())))
        .await;
    assert_eq!(
        (status, paired["role"].as_str()),
        (StatusCode::OK, Some("gate")),
        "{paired}"
    );

    // The new token opens a WebSocket as that device.
    let mut client = Client::connect(relay.addr).await;
    client.hello(paired["token"].as_str().unwrap(), 0).await;
    let ServerMessage::Welcome {
        device_name, role, ..
    } = client.recv().await
    else {
        panic!("no welcome")
    };
    assert_eq!((device_name.as_str(), role), ("Gerbang Timur", Role::Gate));

    let (status, refused) = http
        .call("POST", "/pair", None, Some(Body::Json(request)))
        .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("pairing_refused"))
    );
    assert_eq!(refused["message"], "this pairing code was already used");
    relay.stop().await;
}

#[tokio::test]
async fn a_ticket_import_is_all_or_nothing_and_reaches_every_gate() {
    let relay = TestRelay::start().await;
    let http = Http::new(&relay);
    let (_, admin) = relay.token("Admin", Role::Admin);
    let head = relay.admin.reader().head().unwrap();

    let (status, refused) = http
        .call(
            "POST",
            &format!("/events/{EVENT}/tickets"),
            Some(&admin),
            Some(Body::Csv("holder,type,barcode\nSiti Rahayu,Reguler,LOKET-1\n,Reguler,LOKET-2\nAgus,VVIP,LOKET-3\n")),
        )
        .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("import_failed"))
    );
    let lines: Vec<_> = refused["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [3, 4], "{refused}");
    assert_eq!(
        relay.admin.reader().head().unwrap(),
        head,
        "nothing was imported"
    );

    let mut gate = relay.client("Gerbang A", Role::Gate).await;
    let (status, imported) = http
        .call(
            "POST",
            &format!("/events/{EVENT}/tickets"),
            Some(&admin),
            Some(Body::Csv(
                "holder,type,barcode\nSiti Rahayu,Reguler,LOKET-1\nAgus Salim,1,LOKET-2\n",
            )),
        )
        .await;
    assert_eq!(
        (status, imported["imported"].as_u64()),
        (StatusCode::OK, Some(2)),
        "{imported}"
    );
    let mut seen = Vec::new();
    while seen.len() < 2 {
        if let ServerMessage::Entries { entries, .. } = gate.recv().await {
            for entry in entries {
                if let LogBody::TicketUpsert { ticket } = entry.body {
                    // Numbered after the relay's tickets 1..=10.
                    seen.push((ticket.ticket_id, ticket.holder, ticket.barcode));
                }
            }
        }
    }
    assert_eq!(
        seen,
        [
            (11, "Siti Rahayu".to_owned(), Some("LOKET-1".to_owned())),
            (12, "Agus Salim".to_owned(), Some("LOKET-2".to_owned())),
        ]
    );

    // The same barcodes again would collide with the stored ones: refused whole.
    let (status, refused) = http
        .call(
            "POST",
            &format!("/events/{EVENT}/tickets"),
            Some(&admin),
            Some(Body::Csv(
                "holder,type,barcode\nBaru,Reguler,BARU-1\nLagi,Reguler,LOKET-1\n",
            )),
        )
        .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (StatusCode::CONFLICT, Some("import_failed")),
        "{refused}"
    );
    assert_eq!(
        relay.admin.reader().next_ticket_id(EVENT).unwrap(),
        13,
        "BARU-1 was not kept either"
    );
    relay.stop().await;
}
