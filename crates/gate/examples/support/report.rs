//! What the decoding examples share: the configurations they compare, and the table of read
//! rates and costs per hard case.

use gerbang_gate::decode::corpus::{Case, Sample};
use gerbang_gate::decode::DecoderConfig;

/// The configurations, by name: the baselines, the pipeline, and the pipeline with one part
/// switched off or changed.
pub fn configs() -> Vec<(&'static str, DecoderConfig)> {
    let full = DecoderConfig::default();
    vec![
        ("rqrr-alone", DecoderConfig::RQRR_ONLY),
        ("rxing-alone", DecoderConfig::RXING_ONLY),
        ("pipeline", full),
        ("before-tuning", DecoderConfig::BEFORE_TUNING),
        (
            "no-regrid",
            DecoderConfig {
                regrid: false,
                ..full
            },
        ),
        (
            "unused-3",
            DecoderConfig {
                unused_for_full: 3,
                ..full
            },
        ),
        (
            "dense-rows",
            DecoderConfig {
                sparse_full_rows: false,
                ..full
            },
        ),
        (
            "no-low-retry",
            DecoderConfig {
                low_contrast_retry: false,
                ..full
            },
        ),
        (
            "full-on-evidence",
            DecoderConfig {
                full_needs_evidence: true,
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

/// The configurations named in `wanted` (all when it is empty).
pub fn chosen(wanted: &[String]) -> Vec<(&'static str, DecoderConfig)> {
    configs()
        .into_iter()
        .filter(|(name, _)| wanted.is_empty() || wanted.iter().any(|w| w == name))
        .collect()
}

/// What one frame gave: the texts read and the cost, and the same for a second decode of it
/// (a code held still) when tracking is on.
pub struct FrameResult {
    pub texts: Vec<String>,
    pub cost: f64,
    pub again: Option<(Vec<String>, f64)>,
}

/// Decodes every frame as a camera thread would, with one decoder carried across all frames (so
/// tracking pays for misses when the scene changes), and each frame with codes a second time
/// when tracking is on; `measure` runs one decode and returns its texts and cost.
pub fn decode_all(
    samples: &[Sample],
    config: DecoderConfig,
    mut measure: impl FnMut(&mut gerbang_gate::decode::Decoder, &Sample) -> (Vec<String>, f64),
) -> Vec<FrameResult> {
    let mut decoder = gerbang_gate::decode::Decoder::new(config);
    samples
        .iter()
        .map(|sample| {
            let (texts, cost) = measure(&mut decoder, sample);
            let again =
                (config.tracking && sample.case.has_codes()).then(|| measure(&mut decoder, sample));
            FrameResult { texts, cost, again }
        })
        .collect()
}

#[derive(Default)]
struct Tally {
    expected: usize,
    read: usize,
    wrong: usize,
    false_codes: usize,
    costs: Vec<f64>,
}

impl Tally {
    fn line(&mut self, name: &str, unit: &str) -> String {
        self.costs.sort_by(f64::total_cmp);
        let pct = |p: f64| {
            if self.costs.is_empty() {
                return 0.0;
            }
            let n = self.costs.len();
            self.costs[((n as f64 * p).ceil() as usize).clamp(1, n) - 1]
        };
        let rate = if self.expected == 0 {
            "     -".to_owned()
        } else {
            format!("{:5.1}%", 100.0 * self.read as f64 / self.expected as f64)
        };
        format!(
            "  {name:<13} {rate} {:>4}/{:<4} wrong {:>2} false {:>2}   p50 {:6.2} {unit}  p95 {:6.2} {unit}  max {:6.2} {unit}",
            self.read,
            self.expected,
            self.wrong,
            self.false_codes,
            pct(0.5),
            pct(0.95),
            pct(1.0),
        )
    }

    fn add(&mut self, sample: &Sample, texts: &[String], cost: f64) {
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
        self.costs.push(cost);
    }
}

/// Prints read rates and cost percentiles per case, for all frames with codes, for those
/// without, and for the second decodes (a code held still).
pub fn print_table(samples: &[Sample], results: &[FrameResult], unit: &str) {
    let mut per_case: Vec<(Case, Tally)> =
        Case::ALL.iter().map(|&c| (c, Tally::default())).collect();
    let mut with_code = Tally::default();
    let mut without = Tally::default();
    let mut tracked = Tally::default();
    for (sample, result) in samples.iter().zip(results) {
        if let Some((_, tally)) = per_case.iter_mut().find(|(c, _)| *c == sample.case) {
            tally.add(sample, &result.texts, result.cost);
        }
        if sample.case.has_codes() {
            with_code.add(sample, &result.texts, result.cost);
            if let Some((texts, cost)) = &result.again {
                tracked.add(sample, texts, *cost);
            }
        } else {
            without.add(sample, &result.texts, result.cost);
        }
    }
    for (case, tally) in &mut per_case {
        if !tally.costs.is_empty() {
            println!("{}", tally.line(case.name(), unit));
        }
    }
    println!("{}", with_code.line("WITH CODES", unit));
    println!("{}", without.line("NO CODES", unit));
    if !tracked.costs.is_empty() {
        println!("{}", tracked.line("tracked", unit));
    }
    println!();
}
