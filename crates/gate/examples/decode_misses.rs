//! Which frames of the synthetic corpus the decoder misses, and what else would read them: a
//! tool for working on the decoder.
//!
//! ```sh
//! cargo run --release -p gerbang-gate --example decode_misses -- [PER_CASE] [CASE...]
//! ```
//!
//! The corpus is cached in `$TMPDIR/gerbang-corpus-v3-PER_CASE.bin` (see `support/corpus_cache.rs`).

#[path = "support/corpus_cache.rs"]
mod corpus_cache;

use corpus_cache::load_corpus;
use gerbang_gate::decode::corpus::Sample;
use gerbang_gate::decode::{Decoder, DecoderConfig};

fn read(config: DecoderConfig, s: &Sample) -> usize {
    let found = Decoder::new(config).decode(&s.frame());
    found
        .codes
        .iter()
        .filter(|c| s.texts.contains(&c.text))
        .count()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let per_case: u32 = args.next().map(|a| a.parse().unwrap()).unwrap_or(40);
    let wanted: Vec<String> = args.collect();
    let samples = load_corpus(per_case);
    let full = DecoderConfig {
        tracking: false,
        ..DecoderConfig::default()
    };
    let others = [
        (
            "full-on-evidence",
            DecoderConfig {
                full_needs_evidence: true,
                ..full
            },
        ),
        ("rxing-alone", DecoderConfig::RXING_ONLY),
        ("rqrr-alone", DecoderConfig::RQRR_ONLY),
    ];
    for s in &samples {
        if !s.case.has_codes() || (!wanted.is_empty() && !wanted.iter().any(|w| w == s.case.name()))
        {
            continue;
        }
        let got = read(full, s);
        if got == s.texts.len() {
            continue;
        }
        let mut line = format!(
            "{:<13} {:>3}: {got}/{} ",
            s.case.name(),
            s.index,
            s.texts.len()
        );
        for (name, config) in others {
            line.push_str(&format!(" {name} {}", read(config, s)));
        }
        let lens: Vec<usize> = s.texts.iter().map(String::len).collect();
        println!("{line}  text lengths {lens:?}");
    }
}
