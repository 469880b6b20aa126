//! A synthetic, deterministic corpus of 1280x720 camera frames for measuring the decoder.
//!
//! Every frame is made from a seed derived from its case and index, with a hand-written
//! SplitMix64 generator, so the corpus is the same on every run and nothing but this code is
//! committed. (The geometry uses `f32` `sin`, `cos` and `exp` from the platform's maths library;
//! on another platform a pixel could round differently, which the read-rate snapshots in
//! `tests/it/decode.rs` would show.) Codes carry real signed Gerbang tickets (issued with the test event's
//! [`EventSigner`]), URLs, short opaque codes and Indonesian text, rendered with the `qrcode`
//! crate and projected into the frame through a homography (rotation, tilt, perspective), then
//! degraded by each hard case a gate camera meets. Frames without a code (plain and busy scenes,
//! printed text, stripes, checkerboards, QR-like dot patterns and lone finder patterns) check
//! that nothing false is reported.
//!
//! Only behind the `corpus` feature: tests, the benchmark and the examples switch it on.

use gerbang_core::{EventSigner, TicketClaims};
use qrcode::{Color, EcLevel, QrCode};

use super::homography::Homography;
use super::LumaFrame;

pub const WIDTH: usize = 1280;
pub const HEIGHT: usize = 720;

/// The kinds of frame in the corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Case {
    /// Upright or nearly so, sharp, well lit: the easy case.
    Plain,
    /// Turned by any angle.
    Rotated,
    /// Tilted 30–50 degrees away from the camera: strong perspective.
    Perspective,
    /// Short codes about 60–72 px wide, tickets at 2.2–2.6 px per module (a signed ticket is a
    /// version 6–7 symbol, 41–45 modules, which cannot be read at 60 px by any reader).
    Small,
    /// Out of focus or moving: a blur of 1–2 px standard deviation.
    Blurred,
    /// Ink and paper 25–40 grey levels apart, in dim light.
    LowContrast,
    /// Light modules on a dark ground (a phone in dark mode).
    Inverted,
    /// A bright reflection saturating part of the code.
    Glare,
    /// Shown on a phone screen: the screen's pixel grid beats against the camera's.
    Moire,
    /// Heavy JPEG compression (quality 10–30).
    Jpeg,
    /// A cluttered scene behind the code: text, shapes, stripes.
    Busy,
    /// Two to four codes in one frame.
    Several,
    /// No code: plain and cluttered scenes.
    NoCode,
    /// No code, but things that look like one: printed text, barcodes, checkerboards, random
    /// dot matrices and lone finder patterns.
    NotCode,
}

impl Case {
    pub const ALL: [Case; 14] = [
        Case::Plain,
        Case::Rotated,
        Case::Perspective,
        Case::Small,
        Case::Blurred,
        Case::LowContrast,
        Case::Inverted,
        Case::Glare,
        Case::Moire,
        Case::Jpeg,
        Case::Busy,
        Case::Several,
        Case::NoCode,
        Case::NotCode,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Case::Plain => "plain",
            Case::Rotated => "rotated",
            Case::Perspective => "perspective",
            Case::Small => "small",
            Case::Blurred => "blurred",
            Case::LowContrast => "low-contrast",
            Case::Inverted => "inverted",
            Case::Glare => "glare",
            Case::Moire => "moire",
            Case::Jpeg => "jpeg",
            Case::Busy => "busy",
            Case::Several => "several",
            Case::NoCode => "no-code",
            Case::NotCode => "not-a-code",
        }
    }

    /// Whether frames of this case contain codes.
    pub fn has_codes(self) -> bool {
        !matches!(self, Case::NoCode | Case::NotCode)
    }
}

/// One frame of the corpus and the texts of the codes in it.
#[derive(Debug, Clone)]
pub struct Sample {
    pub case: Case,
    pub index: u32,
    /// 1280x720 luma pixels, packed.
    pub pixels: Vec<u8>,
    /// What the codes in the frame say (empty for frames without codes).
    pub texts: Vec<String>,
    /// Where each code's symbol is (the corners of its modules, without the quiet zone: top
    /// left, top right, bottom right, bottom left of the symbol as printed), in `texts` order.
    pub outlines: Vec<[(f32, f32); 4]>,
}

impl Sample {
    pub fn frame(&self) -> LumaFrame<'_> {
        LumaFrame::packed(&self.pixels, WIDTH, HEIGHT).expect("corpus frames are 1280x720")
    }
}

/// `per_case` frames of every case, in case order.
pub fn corpus(per_case: u32) -> Vec<Sample> {
    Case::ALL
        .iter()
        .flat_map(|&case| (0..per_case).map(move |i| sample(case, i)))
        .collect()
}

/// Frame `index` of `case`; the same on every machine.
pub fn sample(case: Case, index: u32) -> Sample {
    let seed = 0x6765_7262_616e_6721 ^ ((case as u64) << 40) ^ u64::from(index);
    let mut rng = Rng(seed);
    let busy =
        matches!(case, Case::Busy | Case::NoCode) || (case == Case::Several && rng.chance(0.5));
    let mut img = background(&mut rng, busy);
    let mut texts = Vec::new();
    let mut outlines = Vec::new();
    match case {
        Case::NoCode => {}
        Case::NotCode => not_a_code(&mut rng, &mut img),
        Case::Several => {
            let count = 2 + rng.below(3) as usize;
            // Cells of a 3x2 grid, so codes never overlap.
            let mut cells: Vec<usize> = (0..6).collect();
            for n in 0..count {
                let pick = n + rng.below((6 - n) as u64) as usize;
                cells.swap(n, pick);
                let cell = cells[n];
                let (cx, cy) = (
                    (cell % 3) as f32 * 420.0 + 220.0 + rng.range(-30.0, 30.0),
                    (cell / 3) as f32 * 340.0 + 190.0 + rng.range(-20.0, 20.0),
                );
                let text = code_text(&mut rng);
                let qr = Symbol::qr(&text);
                let side = rng.range(150.0, 210.0);
                let pose = Pose {
                    center: (cx, cy),
                    side,
                    angle: rng.range(-0.5, 0.5),
                    tilt: (rng.range(-0.2, 0.2), rng.range(-0.2, 0.2)),
                };
                render(&mut img, &qr, &pose, &Look::paper(&mut rng));
                texts.push(text);
                outlines.push(corners(&pose));
            }
        }
        _ => {
            let mut text = code_text(&mut rng);
            if case == Case::Small && text.len() > 40 && rng.chance(0.5) {
                text = short_text(&mut rng);
            }
            let qr = Symbol::qr(&text);
            let pose = pose_for(case, &mut rng, qr.n);
            let look = match case {
                Case::LowContrast => Look::low_contrast(&mut rng),
                Case::Inverted => Look::inverted(&mut rng),
                Case::Moire => Look::screen(&mut rng),
                _ => Look::paper(&mut rng),
            };
            render(&mut img, &qr, &pose, &look);
            if case == Case::Glare {
                glare(&mut img, &mut rng, &pose);
            }
            texts.push(text);
            outlines.push(corners(&pose));
        }
    }
    let sigma = rng.range(1.5, 4.0);
    if case == Case::Blurred {
        let sigma_blur = rng.range(1.0, 2.0);
        blur(&mut img, WIDTH, HEIGHT, sigma_blur);
    } else if rng.chance(0.5) {
        // A camera is never perfectly sharp.
        blur(&mut img, WIDTH, HEIGHT, 0.6);
    }
    noise(&mut img, &mut rng, sigma);
    if case == Case::Jpeg || (case == Case::NoCode && rng.chance(0.3)) {
        let quality = 10 + rng.below(21) as u8;
        img = jpeg_round_trip(&img, quality);
    }
    Sample {
        case,
        index,
        pixels: img,
        texts,
        outlines,
    }
}

/// SplitMix64: tiny, fast and the same everywhere.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn chance(&mut self, p: f32) -> bool {
        self.unit() < p
    }

    /// Roughly normal (Irwin–Hall of four uniforms), mean 0, standard deviation 1.
    pub fn normal(&mut self) -> f32 {
        (self.unit() + self.unit() + self.unit() + self.unit() - 2.0) * 1.732
    }
}

/// The test event's signer (event 7, key 1), as in the gate's integration tests.
pub fn test_signer() -> EventSigner {
    EventSigner::from_secret(7, 1, [42; 32])
}

/// A text to encode: half signed tickets, the rest URLs, opaque codes and Indonesian text.
fn code_text(rng: &mut Rng) -> String {
    match rng.below(6) {
        0..=2 => test_signer()
            .issue(&TicketClaims {
                event_id: 7,
                ticket_id: rng.below(1_000_000) as u32,
                type_id: 1 + rng.below(3) as u16,
                valid_from: None,
                valid_until: None,
            })
            .expect("the test signer issues for its own event"),
        3 => format!("https://tiket.example.id/t/{:010x}", rng.below(1 << 40)),
        4 => format!("Seminar Nasional — kursi {}", 1 + rng.below(900)),
        _ => short_text(rng),
    }
}

fn short_text(rng: &mut Rng) -> String {
    format!("EXT-{:05}", rng.below(100_000))
}

/// A square pattern of `n` x `n` modules: a QR symbol, or a look-alike.
struct Symbol {
    n: usize,
    dark: Vec<bool>,
}

impl Symbol {
    fn qr(text: &str) -> Symbol {
        let code = QrCode::with_error_correction_level(text, EcLevel::M).expect("corpus texts fit");
        Symbol {
            n: code.width(),
            dark: code
                .to_colors()
                .into_iter()
                .map(|c| c == Color::Dark)
                .collect(),
        }
    }

    fn is_dark(&self, x: usize, y: usize) -> bool {
        self.dark[y * self.n + x]
    }
}

/// Where a symbol is: its centre, its side in pixels (without the quiet zone), its turn in
/// radians, and its tilt about the x and y axes in radians.
#[derive(Debug, Clone, Copy)]
struct Pose {
    center: (f32, f32),
    side: f32,
    angle: f32,
    tilt: (f32, f32),
}

fn pose_for(case: Case, rng: &mut Rng, modules: usize) -> Pose {
    let tau = std::f32::consts::TAU;
    let (side, angle, tilt) = match case {
        Case::Rotated => (rng.range(140.0, 300.0), rng.range(0.0, tau), 0.15),
        Case::Perspective => {
            let side = rng.range(180.0, 320.0);
            let t = rng.range(0.52, 0.87);
            let angle = rng.range(0.0, tau);
            let (tx, ty) = match rng.below(3) {
                0 => (t, 0.0),
                1 => (0.0, t),
                _ => (t * 0.75, t * 0.75),
            };
            let sign = |rng: &mut Rng| if rng.chance(0.5) { 1.0 } else { -1.0 };
            return Pose {
                center: (rng.range(400.0, 880.0), rng.range(250.0, 470.0)),
                side,
                angle,
                tilt: (tx * sign(rng), ty * sign(rng)),
            };
        }
        Case::Small => {
            let per_module = rng.range(2.2, 2.6);
            let side = (modules as f32 * per_module).max(rng.range(60.0, 72.0));
            (side, rng.range(-0.3, 0.3), 0.1)
        }
        Case::Moire => (rng.range(200.0, 320.0), rng.range(-0.4, 0.4), 0.2),
        Case::Busy => (rng.range(130.0, 260.0), rng.range(-0.6, 0.6), 0.2),
        _ => (rng.range(150.0, 320.0), rng.range(-0.2, 0.2), 0.15),
    };
    let margin = side * 0.9 + 20.0;
    Pose {
        center: (
            rng.range(margin, WIDTH as f32 - margin),
            rng.range(margin.min(340.0), (HEIGHT as f32 - margin).max(380.0)),
        ),
        side,
        angle,
        tilt: (rng.range(-tilt, tilt), rng.range(-tilt, tilt)),
    }
}

/// The colours of a symbol and its surround.
#[derive(Debug, Clone, Copy)]
struct Look {
    paper: f32,
    ink: f32,
    /// Extra paper around the quiet zone, in modules.
    margin: f32,
    /// A phone screen's pixel grid: period in modules, depth, angle.
    grid: Option<(f32, f32, f32)>,
}

impl Look {
    fn paper(rng: &mut Rng) -> Look {
        let paper = rng.range(170.0, 240.0);
        Look {
            paper,
            ink: rng.range(15.0, 60.0),
            margin: rng.range(1.0, 6.0),
            grid: None,
        }
    }

    fn low_contrast(rng: &mut Rng) -> Look {
        let paper = rng.range(95.0, 150.0);
        Look {
            paper,
            ink: paper - rng.range(25.0, 40.0),
            margin: rng.range(1.0, 6.0),
            grid: None,
        }
    }

    fn inverted(rng: &mut Rng) -> Look {
        Look {
            paper: rng.range(10.0, 50.0),
            ink: rng.range(180.0, 235.0),
            margin: rng.range(1.0, 4.0),
            grid: None,
        }
    }

    fn screen(rng: &mut Rng) -> Look {
        Look {
            paper: rng.range(200.0, 245.0),
            ink: rng.range(10.0, 40.0),
            margin: rng.range(2.0, 5.0),
            grid: Some((
                1.0 / rng.range(5.0, 9.0),
                rng.range(0.25, 0.45),
                rng.range(-0.1, 0.1),
            )),
        }
    }
}

/// The frame positions of the symbol's corners (without quiet zone) for a pose: the square is
/// turned, tilted in 3D and projected with a 1000 px focal length.
fn corners(pose: &Pose) -> [(f32, f32); 4] {
    let focal = 1000.0;
    let half = pose.side / 2.0;
    let (sa, ca) = pose.angle.sin_cos();
    let (sx, cx) = pose.tilt.0.sin_cos();
    let (sy, cy) = pose.tilt.1.sin_cos();
    [(-half, -half), (half, -half), (half, half), (-half, half)].map(|(x, y)| {
        let (x, y) = (x * ca - y * sa, x * sa + y * ca);
        // Tilt about the x axis, then the y axis.
        let (y, z) = (y * cx, y * sx);
        let (x, z) = (x * cy + z * sy, -x * sy + z * cy);
        let s = focal / (focal + z);
        (pose.center.0 + x * s, pose.center.1 + y * s)
    })
}

/// Draws `symbol` with a four-module quiet zone and `look.margin` more of paper, anti-aliased
/// by 2x2 supersampling.
fn render(img: &mut [u8], symbol: &Symbol, pose: &Pose, look: &Look) {
    let n = symbol.n as f32;
    let to_frame = Homography::square_to_quad(corners(pose))
        .expect("a pose's corners form a proper quadrilateral");
    let to_square = to_frame.inverse();
    let pad = 4.0 + look.margin;
    let outline = [
        (-pad, -pad),
        (n + pad, -pad),
        (n + pad, n + pad),
        (-pad, n + pad),
    ]
    .map(|(u, v)| to_frame.apply(u / n, v / n));
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for (x, y) in outline {
        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
    }
    let clamp = |v: f32, hi: usize| (v.max(0.0) as usize).min(hi);
    let (x0, x1) = (clamp(x0.floor(), WIDTH), clamp(x1.ceil() + 1.0, WIDTH));
    let (y0, y1) = (clamp(y0.floor(), HEIGHT), clamp(y1.ceil() + 1.0, HEIGHT));
    for y in y0..y1 {
        for x in x0..x1 {
            let mut sum = 0.0;
            let mut covered = 0;
            for (ox, oy) in [(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)] {
                let (u, v) = to_square.apply(x as f32 + ox, y as f32 + oy);
                let (mu, mv) = (u * n, v * n);
                if mu < -pad || mv < -pad || mu >= n + pad || mv >= n + pad {
                    continue;
                }
                covered += 1;
                let dark = mu >= 0.0
                    && mv >= 0.0
                    && mu < n
                    && mv < n
                    && symbol.is_dark(mu as usize, mv as usize);
                // Light falls off a little across the card.
                let shade = 1.0 - 0.12 * (u + v) / 2.0;
                let mut value = if dark { look.ink } else { look.paper * shade };
                if let Some((period, depth, angle)) = look.grid {
                    let (s, c) = angle.sin_cos();
                    let (gu, gv) = ((mu * c - mv * s) / period, (mu * s + mv * c) / period);
                    let cell = (gu.fract().abs() < 0.7) as u8 as f32
                        * (gv.fract().abs() < 0.8) as u8 as f32;
                    value *= 1.0 - depth * (1.0 - cell);
                }
                sum += value;
            }
            if covered > 0 {
                let i = y * WIDTH + x;
                let bg = img[i] as f32;
                let value = (sum + bg * (4 - covered) as f32) / 4.0;
                img[i] = value.clamp(0.0, 255.0) as u8;
            }
        }
    }
}

/// A lit scene: a gradient with soft blobs, and when `busy`, clutter (text, boxes, stripes).
fn background(rng: &mut Rng, busy: bool) -> Vec<u8> {
    let base = rng.range(60.0, 170.0);
    let (gx, gy) = (rng.range(-0.06, 0.06), rng.range(-0.08, 0.08));
    let mut img = vec![0u8; WIDTH * HEIGHT];
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            let v = base + gx * (x as f32 - 640.0) + gy * (y as f32 - 360.0);
            img[y * WIDTH + x] = v.clamp(0.0, 255.0) as u8;
        }
    }
    if busy {
        for _ in 0..(25 + rng.below(40)) {
            let shade = rng.range(0.0, 255.0) as u8;
            let (x, y) = (
                rng.below(WIDTH as u64) as usize,
                rng.below(HEIGHT as u64) as usize,
            );
            match rng.below(4) {
                0 => {
                    let (w, h) = (10 + rng.below(200) as usize, 10 + rng.below(150) as usize);
                    fill_rect(&mut img, x, y, w, h, shade);
                }
                1 => text_block(&mut img, rng, x, y),
                2 => {
                    // Stripes, like a shirt or a railing.
                    let (w, h) = (40 + rng.below(200) as usize, 40 + rng.below(150) as usize);
                    let period = 3 + rng.below(12) as usize;
                    for sx in (0..w).step_by(period * 2) {
                        fill_rect(&mut img, x + sx, y, period, h, shade);
                    }
                }
                _ => {
                    let r = 8.0 + rng.range(0.0, 60.0);
                    disc(&mut img, x as f32, y as f32, r, shade);
                }
            }
        }
    }
    img
}

fn fill_rect(img: &mut [u8], x: usize, y: usize, w: usize, h: usize, shade: u8) {
    for yy in y.min(HEIGHT)..(y + h).min(HEIGHT) {
        for xx in x.min(WIDTH)..(x + w).min(WIDTH) {
            img[yy * WIDTH + xx] = shade;
        }
    }
}

fn disc(img: &mut [u8], cx: f32, cy: f32, r: f32, shade: u8) {
    let clamp = |v: f32, hi: usize| (v.max(0.0) as usize).min(hi);
    for y in clamp(cy - r, HEIGHT)..clamp(cy + r + 1.0, HEIGHT) {
        for x in clamp(cx - r, WIDTH)..clamp(cx + r + 1.0, WIDTH) {
            if (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2) <= r * r {
                img[y * WIDTH + x] = shade;
            }
        }
    }
}

/// Lines of glyph-like marks on a light card, like a printed page or a poster.
fn text_block(img: &mut [u8], rng: &mut Rng, x: usize, y: usize) {
    let size = 5 + rng.below(10) as usize;
    let lines = 2 + rng.below(8) as usize;
    let width = 60 + rng.below(300) as usize;
    let paper = rng.range(170.0, 240.0) as u8;
    let ink = rng.range(10.0, 70.0) as u8;
    fill_rect(img, x, y, width + 2 * size, lines * size * 2 + size, paper);
    for line in 0..lines {
        let mut cx = x + size;
        let cy = y + size + line * size * 2;
        while cx + size < x + width {
            let w = 1 + rng.below(size as u64) as usize;
            for stroke in 0..1 + rng.below(3) as usize {
                let sx = cx + rng.below(w as u64) as usize;
                let h = if stroke == 0 { size } else { size / 2 + 1 };
                fill_rect(img, sx, cy + size - h, 1 + size / 6, h, ink);
            }
            cx += w + 1 + size / 3 + rng.below(size as u64 / 2 + 1) as usize;
        }
    }
}

/// Things that look like codes but are not.
fn not_a_code(rng: &mut Rng, img: &mut [u8]) {
    for _ in 0..(2 + rng.below(3)) {
        let n = 21 + rng.below(30) as usize;
        let dark: Vec<bool> = match rng.below(5) {
            // Random dots: a QR's texture without its structure.
            0 => (0..n * n).map(|_| rng.chance(0.5)).collect(),
            // A checkerboard.
            1 => (0..n * n).map(|i| (i % n + i / n) % 2 == 0).collect(),
            // A 1D barcode: columns.
            2 => {
                let columns: Vec<bool> = (0..n).map(|_| rng.chance(0.5)).collect();
                (0..n * n).map(|i| columns[i % n]).collect()
            }
            // Finder patterns (one, two or three at wrong places) in random dots: a damaged
            // or partial QR code, which must not decode.
            3 => {
                let mut dots: Vec<bool> = (0..n * n).map(|_| rng.chance(0.5)).collect();
                let finders = 1 + rng.below(3) as usize;
                for f in 0..finders {
                    let (ox, oy) = [(0, 0), (n - 7, 0), (n / 2 - 3, n / 2 - 3)][f];
                    for y in 0..7 {
                        for x in 0..7 {
                            let ring = x.min(y).min(6 - x).min(6 - y);
                            dots[(oy + y) * n + ox + x] = ring != 1;
                        }
                    }
                }
                dots
            }
            // Printed text drawn as a symbol-sized block of marks.
            _ => {
                let (x, y) = (rng.below(1000) as usize, rng.below(600) as usize);
                text_block(img, rng, x, y);
                continue;
            }
        };
        let symbol = Symbol { n, dark };
        let pose = Pose {
            center: (rng.range(150.0, 1130.0), rng.range(150.0, 570.0)),
            side: rng.range(80.0, 260.0),
            angle: rng.range(0.0, std::f32::consts::TAU),
            tilt: (rng.range(-0.3, 0.3), rng.range(-0.3, 0.3)),
        };
        render(img, &symbol, &pose, &Look::paper(rng));
    }
}

/// A bright elliptical reflection, saturating at its core, over part of the code.
fn glare(img: &mut [u8], rng: &mut Rng, pose: &Pose) {
    let r = pose.side * rng.range(0.15, 0.3);
    let (dx, dy) = (
        rng.range(-0.3, 0.3) * pose.side,
        rng.range(-0.3, 0.3) * pose.side,
    );
    let (cx, cy) = (pose.center.0 + dx, pose.center.1 + dy);
    let stretch = rng.range(1.0, 2.5);
    let strength = rng.range(150.0, 260.0);
    let reach = r * stretch * 2.0;
    let clamp = |v: f32, hi: usize| (v.max(0.0) as usize).min(hi);
    for y in clamp(cy - reach, HEIGHT)..clamp(cy + reach, HEIGHT) {
        for x in clamp(cx - reach, WIDTH)..clamp(cx + reach, WIDTH) {
            let (ex, ey) = ((x as f32 - cx) / (r * stretch), (y as f32 - cy) / r);
            let d2 = ex * ex + ey * ey;
            let add = strength * (-d2).exp();
            let i = y * WIDTH + x;
            img[i] = (img[i] as f32 + add).min(255.0) as u8;
        }
    }
}

/// A Gaussian blur of standard deviation `sigma` pixels (separable, kernel to 3 sigma) of a
/// packed `width` x `height` image.
///
/// (It was three box blurs of a width rounded from `sigma` but at least 3 pixels, which could
/// not blur less than sigma 1.41: the "slight" 0.6 of half the frames was 1.41, and the blurred
/// case's 1-2 was 1.41-2.45.)
pub(crate) fn blur(img: &mut [u8], width: usize, height: usize, sigma: f32) {
    let radius = (3.0 * sigma).ceil().max(1.0) as usize;
    let weights: Vec<f32> = (0..=2 * radius)
        .map(|i| {
            let d = i as f32 - radius as f32;
            (-d * d / (2.0 * sigma * sigma)).exp()
        })
        .collect();
    let total: f32 = weights.iter().sum();
    let weights: Vec<f32> = weights.iter().map(|w| w / total).collect();
    let mut line = Vec::new();
    for y in 0..height {
        line.clear();
        line.extend_from_slice(&img[y * width..(y + 1) * width]);
        blur_line(&line, &mut img[y * width..(y + 1) * width], &weights);
    }
    let mut column = vec![0u8; height];
    let mut out = vec![0u8; height];
    for x in 0..width {
        for y in 0..height {
            column[y] = img[y * width + x];
        }
        blur_line(&column, &mut out, &weights);
        for y in 0..height {
            img[y * width + x] = out[y];
        }
    }
}

/// One line convolved with `weights` (centred), the edge pixel repeated beyond the ends.
fn blur_line(src: &[u8], dst: &mut [u8], weights: &[f32]) {
    let radius = weights.len() / 2;
    let last = src.len() - 1;
    for (i, out) in dst.iter_mut().enumerate() {
        let mut sum = 0.0;
        for (k, w) in weights.iter().enumerate() {
            let j = (i + k).saturating_sub(radius).min(last);
            sum += w * f32::from(src[j]);
        }
        *out = sum.round().clamp(0.0, 255.0) as u8;
    }
}

fn noise(img: &mut [u8], rng: &mut Rng, sigma: f32) {
    for v in img {
        *v = (*v as f32 + rng.normal() * sigma).round().clamp(0.0, 255.0) as u8;
    }
}

fn jpeg_round_trip(img: &[u8], quality: u8) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality);
    encoder
        .encode(
            img,
            WIDTH as u32,
            HEIGHT as u32,
            image::ExtendedColorType::L8,
        )
        .expect("encoding to memory cannot fail");
    image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)
        .expect("our own JPEG decodes")
        .into_luma8()
        .into_raw()
}
