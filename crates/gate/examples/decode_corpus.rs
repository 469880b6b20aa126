//! Read rate and time per hard case of the synthetic QR corpus, for each decoder configuration.
//!
//! ```sh
//! taskset -c 1 cargo run --release -p gerbang-gate --example decode_corpus -- [PER_CASE] [CONFIG...]
//! ```
//!
//! PER_CASE frames of each case (default 40); CONFIG names (default: all) from
//! `support/report.rs`. The corpus is cached in `$TMPDIR/gerbang-corpus-v3-PER_CASE.bin`
//! (`support/corpus_cache.rs`). Each configuration runs over the corpus `PASSES` times
//! (environment, default 3) and each frame's time is its fastest pass, so a busy machine
//! disturbs the numbers less; `decode_cost.rs` counts instructions instead, which a busy machine
//! does not disturb at all.
//! "read" counts codes whose text matched what was rendered; "wrong" codes whose text did not;
//! "false" codes reported in frames that have none. Times are per frame, one decoder per
//! configuration carried across all frames as a camera thread would (so tracking pays for
//! misses when the scene changes). The "tracked" line decodes each frame with codes twice in a
//! row and times the second decode: a ticket held still in front of the camera.

#[path = "support/corpus_cache.rs"]
mod corpus_cache;
#[path = "support/report.rs"]
mod report;

use std::time::Instant;

use corpus_cache::load_corpus;

fn main() {
    let mut args = std::env::args().skip(1);
    let per_case: u32 = args
        .next()
        .map(|a| a.parse().expect("PER_CASE is a number"))
        .unwrap_or(40);
    let wanted: Vec<String> = args.collect();
    let passes: u32 = std::env::var("PASSES")
        .ok()
        .map(|p| p.parse().expect("PASSES is a number"))
        .unwrap_or(3)
        .max(1);
    let started = Instant::now();
    let samples = load_corpus(per_case);
    println!(
        "corpus: {} frames of 1280x720, {per_case} per case, made or loaded in {:.1} s\n",
        samples.len(),
        started.elapsed().as_secs_f64()
    );
    for (name, config) in report::chosen(&wanted) {
        println!("{name}: {config:?}");
        // Decoding is deterministic, so every pass sees each frame in the same decoder state;
        // each frame's time is its fastest pass (the others were slowed by something else).
        let mut best: Vec<report::FrameResult> = Vec::new();
        for pass in 0..passes {
            let results = report::decode_all(&samples, config, |decoder, sample| {
                let frame = sample.frame();
                let start = Instant::now();
                let decoded = decoder.decode(&frame);
                let ms = start.elapsed().as_secs_f64() * 1e3;
                (decoded.codes.into_iter().map(|c| c.text).collect(), ms)
            });
            if pass == 0 {
                best = results;
                continue;
            }
            for (b, r) in best.iter_mut().zip(results) {
                b.cost = b.cost.min(r.cost);
                if let (Some(b), Some(r)) = (&mut b.again, r.again) {
                    b.1 = b.1.min(r.1);
                }
            }
        }
        report::print_table(&samples, &best, "ms");
    }
}
