//! QR decoding of one 1280x720 frame: rqrr alone (the baseline), rxing alone and the pipeline,
//! on frames with a code (plain, turned, small) and without one (a plain scene, look-alikes).
//!
//! ```sh
//! taskset -c 1 cargo bench -p gerbang-gate --bench decode
//! ```
//!
//! "pipeline (cold)" forgets the last code's region before every frame, so it measures a code
//! seen for the first time; "pipeline (tracked)" keeps it, as a camera thread does while a ticket
//! is held in front of it.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use gerbang_gate::decode::corpus::{sample, Case};
use gerbang_gate::decode::{Decoder, DecoderConfig};

fn decode(c: &mut Criterion) {
    let frames = [
        ("with_code", sample(Case::Plain, 0)),
        ("rotated_code", sample(Case::Rotated, 0)),
        ("small_code", sample(Case::Small, 0)),
        ("no_code", sample(Case::NoCode, 0)),
        ("busy_no_code", sample(Case::NotCode, 0)),
    ];
    for (name, s) in &frames {
        let frame = s.frame();
        let mut group = c.benchmark_group(format!("decode/{name}"));
        for (config_name, config) in [
            ("rqrr_alone", DecoderConfig::RQRR_ONLY),
            ("rxing_alone", DecoderConfig::RXING_ONLY),
        ] {
            let mut decoder = Decoder::new(config);
            group.bench_function(BenchmarkId::from_parameter(config_name), |b| {
                b.iter(|| decoder.decode(&frame));
            });
        }
        let mut decoder = Decoder::default();
        group.bench_function(BenchmarkId::from_parameter("pipeline_cold"), |b| {
            b.iter(|| {
                decoder.reset();
                decoder.decode(&frame)
            });
        });
        if s.case.has_codes() {
            let mut decoder = Decoder::default();
            group.bench_function(BenchmarkId::from_parameter("pipeline_tracked"), |b| {
                b.iter(|| decoder.decode(&frame));
            });
        }
        group.finish();
    }
}

criterion_group!(benches, decode);
criterion_main!(benches);
