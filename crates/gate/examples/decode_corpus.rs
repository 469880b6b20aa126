//! Read rate and time per hard case of the synthetic QR corpus, for each decoder configuration.
//!
//! ```sh
//! taskset -c 1 cargo run --release -p gerbang-gate --example decode_corpus -- [PER_CASE] [CONFIG...]
//! ```
//!
//! PER_CASE frames of each case (default 40); CONFIG names (default: all) from `configs` below.
//! "read" counts codes whose text matched what was rendered; "wrong" codes whose text did not;
//! "false" codes reported in frames that have none. Times are per frame, one decoder per
//! configuration carried across all frames as a camera thread would (so tracking pays for
//! misses when the scene changes). The "tracked" line decodes each frame with codes twice in a
//! row and times the second decode: a ticket held still in front of the camera.

use std::time::Instant;

use gerbang_gate::decode::corpus::{corpus, Case, Sample};
use gerbang_gate::decode::{Decoder, DecoderConfig};

fn configs() -> Vec<(&'static str, DecoderConfig)> {
    let full = DecoderConfig::default();
    vec![
        ("rqrr-alone", DecoderConfig::RQRR_ONLY),
        ("rxing-alone", DecoderConfig::RXING_ONLY),
        ("pipeline", full),
        (
            "full-always",
            DecoderConfig {
                full_needs_evidence: false,
                ..full
            },
        ),
        ("with-rqrr", DecoderConfig { rqrr: true, ..full }),
        (
            "no-own-binariser",
            DecoderConfig {
                own_binariser: false,
                ..full
            },
        ),
        (
            "no-full-size",
            DecoderConfig {
                full: false,
                ..full
            },
        ),
        (
            "no-half-size",
            DecoderConfig {
                half: false,
                ..full
            },
        ),
        (
            "no-inverted",
            DecoderConfig {
                inverted: false,
                ..full
            },
        ),
    ]
}

#[derive(Default)]
struct Tally {
    expected: usize,
    read: usize,
    wrong: usize,
    false_codes: usize,
    ms: Vec<f64>,
}

impl Tally {
    fn line(&mut self, name: &str) -> String {
        self.ms.sort_by(f64::total_cmp);
        let pct = |p: f64| {
            if self.ms.is_empty() {
                return 0.0;
            }
            self.ms[((self.ms.len() as f64 * p).ceil() as usize).clamp(1, self.ms.len()) - 1]
        };
        let rate = if self.expected == 0 {
            "     -".to_owned()
        } else {
            format!("{:5.1}%", 100.0 * self.read as f64 / self.expected as f64)
        };
        format!(
            "  {name:<13} {rate} {:>4}/{:<4} wrong {:>2} false {:>2}   p50 {:6.2} ms  p95 {:6.2} ms  max {:6.2} ms",
            self.read,
            self.expected,
            self.wrong,
            self.false_codes,
            pct(0.5),
            pct(0.95),
            pct(1.0),
        )
    }

    fn add(&mut self, sample: &Sample, texts: &[String], ms: f64) {
        self.expected += sample.texts.len();
        for text in texts {
            if sample.texts.contains(text) {
                self.read += 1;
            } else if sample.texts.is_empty() {
                self.false_codes += 1;
            } else {
                self.wrong += 1;
            }
        }
        self.ms.push(ms);
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let per_case: u32 = args
        .next()
        .map(|a| a.parse().expect("PER_CASE is a number"))
        .unwrap_or(40);
    let wanted: Vec<String> = args.collect();
    let started = Instant::now();
    let samples = corpus(per_case);
    println!(
        "corpus: {} frames of 1280x720, {per_case} per case, made in {:.1} s\n",
        samples.len(),
        started.elapsed().as_secs_f64()
    );
    for (name, config) in configs() {
        if !wanted.is_empty() && !wanted.iter().any(|w| w == name) {
            continue;
        }
        println!("{name}: {config:?}");
        let mut decoder = Decoder::new(config);
        let mut per_case: Vec<(Case, Tally)> =
            Case::ALL.iter().map(|&c| (c, Tally::default())).collect();
        let mut with_code = Tally::default();
        let mut without = Tally::default();
        let mut tracked = Tally::default();
        for sample in &samples {
            let frame = sample.frame();
            let start = Instant::now();
            let decoded = decoder.decode(&frame);
            let ms = start.elapsed().as_secs_f64() * 1e3;
            let texts: Vec<String> = decoded.codes.into_iter().map(|c| c.text).collect();
            let tally = &mut per_case
                .iter_mut()
                .find(|(c, _)| *c == sample.case)
                .unwrap()
                .1;
            tally.add(sample, &texts, ms);
            if sample.case.has_codes() {
                with_code.add(sample, &texts, ms);
                if config.tracking {
                    let start = Instant::now();
                    let again = decoder.decode(&frame);
                    let ms = start.elapsed().as_secs_f64() * 1e3;
                    let texts: Vec<String> = again.codes.into_iter().map(|c| c.text).collect();
                    tracked.add(sample, &texts, ms);
                }
            } else {
                without.add(sample, &texts, ms);
            }
        }
        for (case, tally) in &mut per_case {
            println!("{}", tally.line(case.name()));
        }
        println!("{}", with_code.line("WITH CODES"));
        println!("{}", without.line("NO CODES"));
        if config.tracking {
            println!("{}", tracked.line("tracked"));
        }
        println!();
    }
}
