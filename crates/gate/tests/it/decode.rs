//! The QR decoding pipeline against the synthetic corpus, hostile frames and image files.
//!
//! Read rates are pinned as snapshots: the corpus is deterministic, so a change in what is read
//! shows up here (refresh with `UPDATE_EXPECT=1` after checking it is an improvement). Wrong
//! texts and codes in frames without one are always zero. Speed is measured by
//! `examples/decode_corpus.rs` and `benches/decode.rs`, never here.

use std::fmt::Write as _;

use expect_test::expect;
use gerbang_gate::decode::corpus::{sample, Case, HEIGHT, WIDTH};
use gerbang_gate::decode::{decode_file, Decoder, DecoderConfig, LumaFrame, Pass};

/// Frames per case here; the example and the benchmark use the full corpus (debug builds render
/// frames slowly).
const PER_CASE: u32 = 4;

/// Decodes `PER_CASE` frames of each case with one decoder and returns a table of
/// `case read/expected`, asserting on the way that no text is wrong and nothing is invented.
fn read_table(config: DecoderConfig) -> String {
    let mut decoder = Decoder::new(config);
    let mut table = String::new();
    for case in Case::ALL {
        let (mut read, mut expected) = (0, 0);
        for i in 0..PER_CASE {
            let s = sample(case, i);
            let decoded = decoder.decode(&s.frame());
            expected += s.texts.len();
            for code in &decoded.codes {
                assert!(
                    s.texts.contains(&code.text),
                    "{} #{i}: read {:?}, which is not in the frame (it has {:?})",
                    case.name(),
                    code.text,
                    s.texts
                );
                read += 1;
            }
        }
        writeln!(table, "{:<13} {read}/{expected}", case.name()).unwrap();
    }
    table
}

#[test]
fn pipeline_read_rate_per_hard_case() {
    expect![[r#"
        plain         4/4
        rotated       4/4
        perspective   4/4
        small         4/4
        blurred       4/4
        low-contrast  4/4
        inverted      4/4
        glare         4/4
        moire         4/4
        jpeg          4/4
        busy          4/4
        several       13/13
        no-code       0/0
        not-a-code    0/0
    "#]]
    .assert_eq(&read_table(DecoderConfig::default()));
}

#[test]
fn rqrr_alone_read_rate_per_hard_case() {
    // The baseline the pipeline is measured against.
    expect![[r#"
        plain         4/4
        rotated       4/4
        perspective   4/4
        small         1/4
        blurred       4/4
        low-contrast  2/4
        inverted      0/4
        glare         0/4
        moire         4/4
        jpeg          4/4
        busy          2/4
        several       13/13
        no-code       0/0
        not-a-code    0/0
    "#]]
    .assert_eq(&read_table(DecoderConfig::RQRR_ONLY));
}

#[test]
fn frames_without_codes_yield_nothing_in_any_configuration() {
    for config in [
        DecoderConfig::default(),
        DecoderConfig::RXING_ONLY,
        DecoderConfig::RQRR_ONLY,
    ] {
        let mut decoder = Decoder::new(config);
        for case in [Case::NoCode, Case::NotCode] {
            for i in 0..8 {
                let decoded = decoder.decode(&sample(case, i).frame());
                assert_eq!(decoded.codes, [], "{} #{i} with {config:?}", case.name());
                assert_eq!(decoded.pass, Pass::None);
            }
        }
    }
}

/// A white 1280x720 frame with clean codes pasted at the given places.
fn frame_with(codes: &[(&str, u32, u32)]) -> Vec<u8> {
    let mut frame = image::GrayImage::from_pixel(WIDTH as u32, HEIGHT as u32, image::Luma([230]));
    for &(text, x, y) in codes {
        let qr = qrcode::QrCode::new(text).unwrap();
        let img = qr
            .render::<image::Luma<u8>>()
            .module_dimensions(4, 4)
            .build();
        image::imageops::overlay(&mut frame, &img, x.into(), y.into());
    }
    frame.into_raw()
}

#[test]
fn several_codes_in_one_frame_are_all_found() {
    let texts = [
        gerbang_gate::decode::corpus::test_signer()
            .issue(&gerbang_core::TicketClaims {
                event_id: 7,
                ticket_id: 1,
                type_id: 1,
                valid_from: None,
                valid_until: None,
            })
            .unwrap(),
        "EXT-200".to_owned(),
        "https://tiket.example.id/t/abc".to_owned(),
    ];
    let pixels = frame_with(&[
        (&texts[0], 40, 40),
        (&texts[1], 600, 100),
        (&texts[2], 800, 420),
    ]);
    let frame = LumaFrame::packed(&pixels, WIDTH, HEIGHT).unwrap();
    for config in [DecoderConfig::default(), DecoderConfig::RXING_ONLY] {
        let mut found: Vec<String> = Decoder::new(config)
            .decode(&frame)
            .codes
            .into_iter()
            .map(|c| c.text)
            .collect();
        found.sort();
        let mut want = texts.to_vec();
        want.sort();
        assert_eq!(found, want, "{config:?}");
    }
}

/// Corpus frames that one part of the pipeline reads and the pipeline without it misses: a
/// small code that leaves no finder-pattern candidate at half size (read because full size
/// runs on every frame), a low-contrast ticket on grey paper against a lighter background
/// (only the contrast-stretched full-size retry reads it), and a code under glare whose bits,
/// binarised, do not decode (read again from the grey pixels, `regrid`).
#[test]
fn codes_each_part_of_the_pipeline_reads() {
    let full = DecoderConfig::default();
    let without = [
        (
            Case::Small,
            2,
            DecoderConfig {
                full_needs_evidence: true,
                ..full
            },
        ),
        (
            Case::LowContrast,
            7,
            DecoderConfig {
                low_contrast_retry: false,
                ..full
            },
        ),
        (
            Case::Glare,
            32,
            DecoderConfig {
                regrid: false,
                ..full
            },
        ),
    ];
    for (case, index, lacking) in without {
        let s = sample(case, index);
        let read = |config| -> Vec<String> {
            let mut texts: Vec<String> = Decoder::new(config)
                .decode(&s.frame())
                .codes
                .into_iter()
                .map(|c| c.text)
                .collect();
            texts.sort();
            texts
        };
        let mut expected = s.texts.clone();
        expected.sort();
        assert_eq!(read(full), expected, "{} #{index}", case.name());
        assert!(
            read(lacking).len() < expected.len(),
            "{} #{index} is read in full without the part: {lacking:?}",
            case.name()
        );
    }
}

/// The corners a read reports are where the code was drawn (the corpus records each code's
/// outline): the preview draws them around the code, and tracking reads that region next.
#[test]
fn reported_corners_are_the_drawn_code_s_corners() {
    for case in [
        Case::Plain,
        Case::Rotated,
        Case::Perspective,
        Case::Small,
        Case::Several,
    ] {
        for index in 0..3 {
            let s = sample(case, index);
            let decoded = Decoder::default().decode(&s.frame());
            for code in &decoded.codes {
                let at = s.texts.iter().position(|t| *t == code.text).unwrap();
                let outline = s.outlines[at];
                let side = (outline[1].0 - outline[0].0).hypot(outline[1].1 - outline[0].1);
                // Each drawn corner has a reported one within a module.
                let modules = qrcode::QrCode::with_error_correction_level(
                    code.text.as_bytes(),
                    qrcode::EcLevel::M,
                )
                .unwrap()
                .width();
                let module = side / modules as f32;
                for (x, y) in outline {
                    let nearest = code
                        .corners
                        .iter()
                        .map(|&(cx, cy)| (cx - x).hypot(cy - y))
                        .fold(f32::MAX, f32::min);
                    assert!(
                        nearest <= module,
                        "{} #{index}: drawn corner ({x:.1}, {y:.1}) is {nearest:.1} px from the \
                         nearest reported one {:?}",
                        case.name(),
                        code.corners
                    );
                }
            }
        }
    }
}

#[test]
fn a_code_held_still_is_found_again_in_its_region() {
    let s = sample(Case::Plain, 0);
    let mut decoder = Decoder::default();
    let first = decoder.decode(&s.frame());
    assert_eq!(first.codes.len(), 1);
    assert_ne!(first.pass, Pass::Tracked);
    let second = decoder.decode(&s.frame());
    assert_eq!(second.pass, Pass::Tracked);
    assert_eq!(second.codes[0].text, first.codes[0].text);
    // The code's corners are in frame pixels, around where it was drawn, both times.
    for code in [&first.codes[0], &second.codes[0]] {
        for (x, y) in code.corners {
            assert!((0.0..WIDTH as f32).contains(&x) && (0.0..HEIGHT as f32).contains(&y));
        }
    }
    // The code leaves: the tracked region is tried, found empty, and the frame read in full.
    let empty = decoder.decode(&sample(Case::NoCode, 0).frame());
    assert_eq!(empty.codes, []);
    assert_eq!(decoder.decode(&s.frame()).codes, first.codes);
}

#[test]
fn a_strided_frame_reads_like_a_packed_one() {
    let s = sample(Case::Rotated, 1);
    let stride = WIDTH + 37;
    let mut padded = vec![0x55u8; stride * HEIGHT];
    for y in 0..HEIGHT {
        padded[y * stride..y * stride + WIDTH]
            .copy_from_slice(&s.pixels[y * WIDTH..(y + 1) * WIDTH]);
    }
    let frame = LumaFrame::new(&padded, WIDTH, HEIGHT, stride).unwrap();
    let strided = Decoder::default().decode(&frame);
    let packed = Decoder::default().decode(&s.frame());
    assert_eq!(strided, packed);
    assert_eq!(strided.codes.len(), 1);
}

#[test]
fn garbage_frames_never_panic_and_yield_nothing() {
    let mut noise = gerbang_gate::decode::corpus::Rng(7);
    let random: Vec<u8> = (0..WIDTH * HEIGHT)
        .map(|_| noise.next_u64() as u8)
        .collect();
    let zeros = vec![0u8; WIDTH * HEIGHT];
    let full = vec![255u8; WIDTH * HEIGHT];
    let stripes: Vec<u8> = (0..WIDTH * HEIGHT)
        .map(|i| if i % 2 == 0 { 0 } else { 255 })
        .collect();
    let frames: Vec<(&str, &[u8], usize, usize, usize)> = vec![
        ("all zero", &zeros, WIDTH, HEIGHT, WIDTH),
        ("all 255", &full, WIDTH, HEIGHT, WIDTH),
        ("random noise", &random, WIDTH, HEIGHT, WIDTH),
        ("pixel stripes", &stripes, WIDTH, HEIGHT, WIDTH),
        ("1x1", &random[..1], 1, 1, 1),
        ("0x0", &[], 0, 0, 0),
        ("0 wide, tall", &[], 0, 100, 0),
        ("odd stride", &random, 641, 359, 643),
        ("odd size", &random, 1279, 719, 1279),
        ("one row", &random, WIDTH, 1, WIDTH),
        ("one column", &random, 1, HEIGHT, WIDTH),
        ("21x21", &random, 21, 21, 21),
        ("22x23 noise", &random, 22, 23, 22),
        ("thin and tall", &random, 23, 9000, 23),
        ("stride only", &random, 0, 10, 50),
    ];
    for config in [
        DecoderConfig::default(),
        DecoderConfig::RXING_ONLY,
        DecoderConfig::RQRR_ONLY,
    ] {
        let mut decoder = Decoder::new(config);
        for &(name, data, w, h, stride) in &frames {
            let frame =
                LumaFrame::new(data, w, h, stride).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(decoder.decode(&frame).codes, [], "{name} with {config:?}");
        }
    }
}

#[test]
fn buffers_too_small_for_their_frame_are_refused() {
    let data = [0u8; 100];
    let errors: Vec<String> = [
        LumaFrame::new(&data, 10, 11, 10),
        LumaFrame::new(&data, 10, 10, 9),
        LumaFrame::new(&data, 10, 2, usize::MAX),
    ]
    .into_iter()
    .map(|r| r.unwrap_err().to_string())
    .collect();
    expect![[r#"
        [
            "a 10x11 frame with stride 10 needs 110 bytes, but the buffer has 100",
            "the stride (9 bytes) is smaller than the width (10 pixels)",
            "a 10x2 frame with stride 18446744073709551615 needs 18446744073709551615 bytes, but the buffer has 100",
        ]
    "#]]
    .assert_debug_eq(&errors);
}

#[test]
fn image_files_in_every_supported_format_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let s = sample(Case::Plain, 2);
    let img = image::GrayImage::from_raw(WIDTH as u32, HEIGHT as u32, s.pixels.clone()).unwrap();
    for ext in ["png", "jpg", "webp", "bmp", "gif"] {
        let path = dir.path().join(format!("ticket.{ext}"));
        if ext == "webp" || ext == "gif" {
            // These encoders take colour images.
            image::DynamicImage::ImageLuma8(img.clone())
                .to_rgba8()
                .save(&path)
                .unwrap();
        } else {
            img.save(&path).unwrap();
        }
        assert_eq!(decode_file(&path).unwrap(), s.texts, "{ext}");
    }
    // The content decides the format, not the name.
    let misnamed = dir.path().join("ticket.txt");
    std::fs::copy(dir.path().join("ticket.png"), &misnamed).unwrap();
    assert_eq!(decode_file(&misnamed).unwrap(), s.texts);
    // A picture with no code is no error.
    let blank = dir.path().join("blank.png");
    image::GrayImage::from_pixel(64, 64, image::Luma([200]))
        .save(&blank)
        .unwrap();
    assert_eq!(decode_file(&blank).unwrap(), Vec::<String>::new());
}

#[test]
fn unreadable_files_say_which_file_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.png");
    std::fs::write(&text, "not a picture").unwrap();
    let cut = dir.path().join("cut.png");
    let mut png = Vec::new();
    image::GrayImage::from_pixel(300, 300, image::Luma([9]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    std::fs::write(&cut, &png[..png.len() / 2]).unwrap();
    let missing = dir.path().join("missing.jpg");
    let messages: Vec<String> = [missing, text, cut]
        .iter()
        .map(|p| {
            decode_file(p)
                .unwrap_err()
                .to_string()
                .replace(&dir.path().display().to_string(), "DIR")
        })
        .collect();
    expect![[r#"
        [
            "cannot open DIR/missing.jpg: No such file or directory (os error 2)",
            "DIR/notes.png could not be read as an image, it may be damaged or cut short: Format error decoding Png: Invalid PNG signature.",
            "DIR/cut.png could not be read as an image, it may be damaged or cut short: unexpected end of file",
        ]
    "#]]
    .assert_debug_eq(&messages);
}
