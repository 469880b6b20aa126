//! Instructions per decoded frame of the synthetic QR corpus, counted by callgrind: the same
//! table as `decode_corpus.rs`, in millions of instructions instead of milliseconds. Counts are
//! deterministic, so two versions or configurations compare exactly on a machine too busy for
//! wall times to mean much.
//!
//! ```sh
//! cargo build --release -p gerbang-gate --example decode_cost
//! mkdir -p /tmp/cg && rm -f /tmp/cg/pipeline.*
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/cg/pipeline \
//!     --zero-before='gerbang_gate::decode::Decoder::decode' \
//!     --dump-after='gerbang_gate::decode::Decoder::decode' \
//!     target/release/examples/decode_cost run 40 pipeline
//! target/release/examples/decode_cost report 40 pipeline /tmp/cg/pipeline
//! ```
//!
//! `run` decodes the corpus in `decode_corpus.rs`'s order (one decoder carried across all
//! frames, frames with codes decoded twice when tracking is on); callgrind writes one file per
//! decode (`PREFIX.1`, `PREFIX.2`, ...). `report` decodes again natively for the texts and takes
//! each decode's cost from its file's `totals:` line.

#[path = "support/corpus_cache.rs"]
mod corpus_cache;
#[path = "support/report.rs"]
mod report;

use corpus_cache::load_corpus;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage =
        "usage: decode_cost run PER_CASE CONFIG | decode_cost report PER_CASE CONFIG PREFIX";
    let (Some(mode), Some(per_case), Some(name)) = (args.first(), args.get(1), args.get(2)) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let per_case: u32 = per_case.parse().expect("PER_CASE is a number");
    let Some((name, config)) = report::chosen(std::slice::from_ref(name))
        .into_iter()
        .next()
    else {
        eprintln!("no configuration named {name}");
        std::process::exit(2);
    };
    let samples = load_corpus(per_case);
    let texts = |decoder: &mut gerbang_gate::decode::Decoder, sample: &_| {
        let frame = gerbang_gate::decode::corpus::Sample::frame(sample);
        let decoded = decoder.decode(&frame);
        decoded
            .codes
            .into_iter()
            .map(|c| c.text)
            .collect::<Vec<String>>()
    };
    match mode.as_str() {
        "run" => {
            let results = report::decode_all(&samples, config, |d, s| (texts(d, s), 0.0));
            println!("{name}: {} frames decoded", results.len());
        }
        "report" => {
            let Some(prefix) = args.get(3) else {
                eprintln!("{usage}");
                std::process::exit(2);
            };
            let mut part = 0;
            let mut next_cost = || {
                part += 1;
                let path = format!("{prefix}.{part}");
                let dump = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{path}: {e} (fewer dumps than decodes?)"));
                let totals = dump
                    .lines()
                    .find_map(|l| l.strip_prefix("totals:"))
                    .unwrap_or_else(|| panic!("{path} has no totals line"));
                totals.trim().parse::<f64>().expect("totals is a number") / 1e6
            };
            let results = report::decode_all(&samples, config, |d, s| (texts(d, s), next_cost()));
            println!("{name}: {config:?}");
            report::print_table(&samples, &results, "Mi");
        }
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    }
}
