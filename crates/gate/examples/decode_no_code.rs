//! False codes over many frames without one: decodes COUNT frames of each no-code case (frames
//! the corpus does not use: indices from 1000 on) with the pipeline, with and without the grey
//! re-read, and reports every code found, which would be a false one.
//!
//! ```sh
//! cargo run --release -p gerbang-gate --example decode_no_code -- [COUNT]
//! ```

use gerbang_gate::decode::corpus::{sample, Case};
use gerbang_gate::decode::{Decoder, DecoderConfig};

fn main() {
    let count: u32 = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("COUNT is a number"))
        .unwrap_or(1000);
    let pipeline = DecoderConfig::default();
    let configs = [
        ("pipeline", pipeline),
        (
            "no-regrid",
            DecoderConfig {
                regrid: false,
                ..pipeline
            },
        ),
    ];
    let mut decoders: Vec<Decoder> = configs.iter().map(|(_, c)| Decoder::new(*c)).collect();
    let mut found = vec![0usize; configs.len()];
    let mut frames = 0;
    for case in [Case::NoCode, Case::NotCode] {
        for index in 1000..1000 + count {
            let s = sample(case, index);
            frames += 1;
            for (n, decoder) in decoders.iter_mut().enumerate() {
                for code in decoder.decode(&s.frame()).codes {
                    found[n] += 1;
                    println!(
                        "{} {} #{index}: false code {:?}",
                        configs[n].0,
                        case.name(),
                        code.text
                    );
                }
            }
        }
    }
    for ((name, _), found) in configs.iter().zip(found) {
        println!("{name}: {found} false codes in {frames} frames without a code");
    }
}
