//! Tickets over HTTP: the paged list with codes, revocation, and the PNG and PDF exports,
//! whose QR codes are decoded back to check they carry the right codes.

use gerbang_core::protocol::Role;
use gerbang_core::{Direction, VerdictKind};
use reqwest::StatusCode;
use serde_json::json;

use crate::{scan_of, signer, ticket_code, upload, Body, Http, TestRelay};

#[tokio::test]
async fn the_ticket_list_pages_and_shows_codes_to_admins_only() {
    let relay = TestRelay::start().await;
    let http = Http::new(&relay);
    let (_, admin) = relay.token("Admin", Role::Admin);
    let (_, supervisor) = relay.token("Koordinator", Role::Supervisor);
    http.call(
        "POST",
        "/events/1/tickets",
        Some(&admin),
        Some(Body::Csv(
            "holder,type,barcode\nSiti Rahayu,Reguler,LOKET-1\n",
        )),
    )
    .await;

    // Before the relay holds the key, signed tickets have no code; imported barcodes do.
    let (_, page) = http
        .call("GET", "/events/1/tickets?after=9", Some(&admin), None)
        .await;
    assert_eq!(
        page,
        json!({"tickets": [
            {"ticket_id": 10, "type_id": 1, "ticket_type": "Reguler", "holder": "Peserta 10",
             "barcode": null, "valid_from": null, "valid_until": null, "revoked": false, "code": null},
            {"ticket_id": 11, "type_id": 1, "ticket_type": "Reguler", "holder": "Siti Rahayu",
             "barcode": "LOKET-1", "valid_from": null, "valid_until": null, "revoked": false,
             "code": "LOKET-1"}],
          "next_after": null})
    );
    relay.admin.add_signing_key(&signer()).await.unwrap();
    let (status, page) = http
        .call("GET", "/events/1/tickets?limit=4", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let codes: Vec<_> = page["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes, (1..=4).map(ticket_code).collect::<Vec<_>>());
    assert_eq!(page["next_after"], 4);
    let (_, page) = http
        .call(
            "GET",
            "/events/1/tickets?after=4&limit=4",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(page["tickets"][0]["ticket_id"], 5);
    assert_eq!(page["next_after"], 8);

    // A supervisor sees holders, never codes or barcodes.
    let (_, page) = http
        .call("GET", "/events/1/tickets?after=10", Some(&supervisor), None)
        .await;
    assert_eq!(
        (
            &page["tickets"][0]["code"],
            &page["tickets"][0]["barcode"],
            &page["tickets"][0]["holder"]
        ),
        (&json!(null), &json!(null), &json!("Siti Rahayu"))
    );

    for (query, status, code) in [
        ("?limit=0", 400, "invalid_request"),
        ("?limit=1001", 400, "invalid_request"),
        ("?after=x", 400, "invalid_request"),
        ("?page=2", 400, "invalid_request"),
    ] {
        let (got, answer) = http
            .call(
                "GET",
                &format!("/events/1/tickets{query}"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(
            (got.as_u16(), answer["code"].as_str()),
            (status, Some(code)),
            "{query}"
        );
    }
    let (status, _) = http
        .call("GET", "/events/9/tickets", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    relay.stop().await;
}

#[tokio::test]
async fn a_revoked_ticket_is_refused_from_then_on() {
    let relay = TestRelay::start().await;
    let http = Http::new(&relay);
    let (_, supervisor) = relay.token("Koordinator", Role::Supervisor);
    let (status, revoked) = http
        .call(
            "POST",
            "/events/1/tickets/3/revoke",
            Some(&supervisor),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let seq = revoked["seq"].as_u64().unwrap();
    assert_eq!(
        revoked,
        json!({"event_id": 1, "ticket_id": 3, "revoked": true, "seq": seq})
    );
    // Again: nothing new is logged.
    let (_, again) = http
        .call(
            "POST",
            "/events/1/tickets/3/revoke",
            Some(&supervisor),
            None,
        )
        .await;
    assert_eq!(again["seq"], json!(null));
    assert_eq!(relay.admin.reader().head().unwrap(), seq);
    for (path, code) in [
        ("/events/1/tickets/99/revoke", "not_found"),
        ("/events/9/tickets/1/revoke", "not_found"),
    ] {
        let (status, answer) = http.call("POST", path, Some(&supervisor), None).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (StatusCode::NOT_FOUND, Some(code))
        );
    }
    let mut gate = relay.client("Gerbang A", Role::Gate).await;
    let verdicts = upload(
        &mut gate,
        vec![scan_of(&ticket_code(3), "Gerbang A", Direction::Entry, 0)],
    )
    .await;
    assert_eq!(verdicts, [VerdictKind::Revoked]);
    relay.stop().await;
}

/// Decodes every QR code in an image.
fn decode_all(image: image::GrayImage) -> Vec<String> {
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
        image.width() as usize,
        image.height() as usize,
        |x, y| image.get_pixel(x as u32, y as u32).0[0],
    );
    prepared
        .detect_grids()
        .into_iter()
        .map(|grid| grid.decode().expect("a QR code that decodes").1)
        .collect()
}

#[tokio::test]
async fn a_tickets_png_carries_its_code() {
    let relay = TestRelay::start().await;
    let http = Http::new(&relay);
    let (_, admin) = relay.token("Admin", Role::Admin);
    let (status, _, body) = http
        .get_bytes("/events/1/tickets/3.png", Some(&admin))
        .await;
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::CONFLICT, Some("no_signing_key"))
    );
    relay.admin.add_signing_key(&signer()).await.unwrap();
    let (status, content_type, png) = http
        .get_bytes("/events/1/tickets/3.png", Some(&admin))
        .await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::OK, "image/png")
    );
    let image = image::load_from_memory(&png).unwrap().to_luma8();
    assert_eq!(decode_all(image), [ticket_code(3)]);
    for path in [
        "/events/1/tickets/3.jpg",
        "/events/1/tickets/99.png",
        "/events/9/tickets/1.png",
    ] {
        let (status, _, _) = http.get_bytes(path, Some(&admin)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    relay.stop().await;
}

#[tokio::test]
async fn the_printable_pdf_has_every_ticket_with_its_code() {
    let relay = TestRelay::start().await;
    let http = Http::new(&relay);
    let (_, admin) = relay.token("Admin", Role::Admin);
    http.call(
        "POST",
        "/events/1/tickets",
        Some(&admin),
        Some(Body::Csv(
            "holder,type,barcode\nĐặng Thị Hồng,Reguler,LOKET-1\n王小明,Reguler,LOKET-2\n\"O'Brien (Tamu), Jr.\",Reguler,LOKET-3\n",
        )),
    )
    .await;
    http.call("POST", "/events/1/tickets/2/revoke", Some(&admin), None)
        .await;
    let (status, _, body) = http.get_bytes("/events/1/tickets.pdf", Some(&admin)).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "{}",
        String::from_utf8_lossy(&body)
    );
    relay.admin.add_signing_key(&signer()).await.unwrap();

    let (status, content_type, pdf) = http.get_bytes("/events/1/tickets.pdf", Some(&admin)).await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::OK, "application/pdf")
    );
    if let Ok(dir) = std::env::var("GERBANG_KEEP_PDF") {
        // To look at it: GERBANG_KEEP_PDF=/tmp cargo test -p gerbang-relay printable_pdf
        std::fs::write(std::path::Path::new(&dir).join("tickets.pdf"), &pdf).unwrap();
    }
    assert!(pdf.starts_with(b"%PDF-1.4") && pdf.ends_with(b"%%EOF\n"));
    // Twelve tickets (ticket 2 revoked is left out): two pages, eight and four.
    let pages = pdf::pages(&pdf);
    assert_eq!(pages.len(), 2);
    let mut codes = Vec::new();
    let mut texts = Vec::new();
    for page in &pages {
        for qr in pdf::qr_codes(page) {
            codes.extend(decode_all(qr));
        }
        texts.extend(pdf::texts(page));
    }
    let mut expected: Vec<String> = [1, 3, 4, 5, 6, 7, 8, 9, 10].map(ticket_code).to_vec();
    expected.extend(["LOKET-1", "LOKET-2", "LOKET-3"].map(String::from));
    assert_eq!(codes, expected);
    // Names the standard fonts cannot show are transliterated; Latin-1 stays as it is.
    // (Long names are wrapped over lines, so the page's text is read as one.)
    let printed = texts
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for wanted in [
        "Peserta 10",
        "Dang Thi Hong",
        "Wang Xiao Ming",
        "O'Brien (Tamu), Jr.",
        "No. 13",
        "Seminar Nasional",
        "Reguler",
    ] {
        assert!(
            printed.contains(wanted),
            "{wanted:?} not printed: {printed}"
        );
    }
    relay.stop().await;
}

/// Just enough of a PDF reader to check what the relay's writer puts on a page: the page
/// streams, the QR codes drawn as rectangles, and the text shown.
mod pdf {
    /// The inflated content stream of every page, in order.
    pub fn pages(pdf: &[u8]) -> Vec<String> {
        let mut pages = Vec::new();
        let mut rest = pdf;
        while let Some(at) = find(rest, b"/FlateDecode >>\nstream\n") {
            let start = at + b"/FlateDecode >>\nstream\n".len();
            let end = start + find(&rest[start..], b"\nendstream").unwrap();
            let inflated = miniz_oxide::inflate::decompress_to_vec_zlib(&rest[start..end]).unwrap();
            pages.push(String::from_utf8(inflated).unwrap());
            rest = &rest[end..];
        }
        pages
    }

    fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).position(|w| w == needle)
    }

    /// Each QR code on the page (a `q 0 g ... cm` block of `re` runs), drawn into an image
    /// at 4 pixels per module with a 4-module quiet zone.
    pub fn qr_codes(page: &str) -> Vec<image::GrayImage> {
        let mut out = Vec::new();
        for block in page.split("q 0 g ").skip(1) {
            let block = &block[..block.find("f Q").unwrap()];
            let runs: Vec<[u32; 3]> = block
                .lines()
                .skip(1)
                .flat_map(|line| {
                    let numbers: Vec<&str> = line.split_whitespace().collect();
                    numbers
                        .chunks(5)
                        .filter(|c| c.len() == 5 && c[4] == "re")
                        .map(|c| {
                            [
                                c[0].parse().unwrap(),
                                c[1].parse().unwrap(),
                                c[2].parse().unwrap(),
                            ]
                        })
                        .collect::<Vec<_>>()
                })
                .collect();
            let n = runs
                .iter()
                .map(|r| (r[0] + r[2]).max(r[1] + 1))
                .max()
                .unwrap();
            let side = (n + 8) * 4;
            let mut image = image::GrayImage::from_pixel(side, side, image::Luma([255]));
            for [x, y, w] in runs {
                for col in x..x + w {
                    // y counts from the bottom.
                    let row = n - 1 - y;
                    for dy in 0..4 {
                        for dx in 0..4 {
                            image.put_pixel(
                                (col + 4) * 4 + dx,
                                (row + 4) * 4 + dy,
                                image::Luma([0]),
                            );
                        }
                    }
                }
            }
            out.push(image);
        }
        out
    }

    /// Every string shown with `Tj`, unescaped (octal escapes as Latin-1).
    pub fn texts(page: &str) -> Vec<String> {
        let mut out = Vec::new();
        for part in page.split(") Tj").filter(|p| p.contains('(')) {
            let raw = &part[part.find("Td (").map(|i| i + 4).unwrap()..];
            let mut text = String::new();
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                if c != '\\' {
                    text.push(c);
                    continue;
                }
                let next = chars.next().unwrap();
                if next.is_ascii_digit() {
                    let octal: String = [next, chars.next().unwrap(), chars.next().unwrap()]
                        .iter()
                        .collect();
                    text.push(char::from(u8::from_str_radix(&octal, 8).unwrap()));
                } else {
                    text.push(next);
                }
            }
            out.push(text);
        }
        out
    }
}

#[tokio::test]
async fn an_event_without_tickets_prints_one_page_saying_so() {
    let relay = TestRelay::start().await;
    let http = Http::new(&relay);
    let (_, admin) = relay.token("Admin", Role::Admin);
    let mut event = http.call("GET", "/events/1", Some(&admin), None).await.1;
    event["id"] = json!(2);
    event["name"] = json!("Kosong");
    http.call("POST", "/events", Some(&admin), Some(Body::Json(event)))
        .await;
    let (status, _, pdf) = http.get_bytes("/events/2/tickets.pdf", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    let pages = pdf::pages(&pdf);
    assert_eq!(pdf::texts(&pages[0]), ["Kosong has no tickets to print."]);
    relay.stop().await;
}
