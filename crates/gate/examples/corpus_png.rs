//! Writes frames of the synthetic QR corpus as PNG files, to look at what the decoder is given.
//!
//! ```sh
//! cargo run --release -p gerbang-gate --example corpus_png -- OUT_DIR [PER_CASE] [CASE...]
//! ```

use gerbang_gate::decode::corpus::{sample, Case, HEIGHT, WIDTH};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let out = std::path::PathBuf::from(args.next().unwrap_or_else(|| "corpus".into()));
    let per_case: u32 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(3);
    let wanted: Vec<String> = args.collect();
    std::fs::create_dir_all(&out)?;
    for case in Case::ALL {
        if !wanted.is_empty() && !wanted.iter().any(|w| w == case.name()) {
            continue;
        }
        for i in 0..per_case {
            let s = sample(case, i);
            let path = out.join(format!("{}-{i:03}.png", case.name()));
            image::GrayImage::from_raw(WIDTH as u32, HEIGHT as u32, s.pixels)
                .expect("corpus frames are 1280x720")
                .save(&path)?;
            println!("{} {:?}", path.display(), s.texts);
        }
    }
    Ok(())
}
