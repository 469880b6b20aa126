//! The synthetic corpus, cached in `$TMPDIR/gerbang-corpus-v3-PER_CASE.bin` (about 0.9 MB a frame):
//! making it takes far longer than decoding it. Delete the file after changing the corpus.

use std::io::{Read, Write};
use std::path::PathBuf;

use gerbang_gate::decode::corpus::{sample, Case, Sample, HEIGHT, WIDTH};

fn cache_path(per_case: u32) -> PathBuf {
    std::env::temp_dir().join(format!("gerbang-corpus-v3-{per_case}.bin"))
}

/// The corpus, from the cache when it is there.
pub fn load_corpus(per_case: u32) -> Vec<Sample> {
    let path = cache_path(per_case);
    if let Ok(mut file) = std::fs::File::open(&path).map(std::io::BufReader::new) {
        let mut samples = Vec::new();
        let mut header = [0u8; 9];
        while file.read_exact(&mut header).is_ok() {
            let case = Case::ALL[header[0] as usize];
            let index = u32::from_le_bytes(header[1..5].try_into().unwrap());
            let texts = u32::from_le_bytes(header[5..9].try_into().unwrap());
            let mut t = Vec::new();
            for _ in 0..texts {
                let mut len = [0u8; 4];
                file.read_exact(&mut len).unwrap();
                let mut text = vec![0u8; u32::from_le_bytes(len) as usize];
                file.read_exact(&mut text).unwrap();
                t.push(String::from_utf8(text).unwrap());
            }
            let mut outlines = Vec::new();
            for _ in 0..texts {
                let mut corners = [(0f32, 0f32); 4];
                for corner in &mut corners {
                    let mut xy = [0u8; 8];
                    file.read_exact(&mut xy).unwrap();
                    corner.0 = f32::from_le_bytes(xy[..4].try_into().unwrap());
                    corner.1 = f32::from_le_bytes(xy[4..].try_into().unwrap());
                }
                outlines.push(corners);
            }
            let mut pixels = vec![0u8; WIDTH * HEIGHT];
            file.read_exact(&mut pixels).unwrap();
            samples.push(Sample {
                case,
                index,
                pixels,
                texts: t,
                outlines,
            });
        }
        return samples;
    }
    let samples: Vec<Sample> = Case::ALL
        .iter()
        .flat_map(|&case| (0..per_case).map(move |i| sample(case, i)))
        .collect();
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for s in &samples {
        let case = Case::ALL.iter().position(|&c| c == s.case).unwrap() as u8;
        file.write_all(&[case]).unwrap();
        file.write_all(&s.index.to_le_bytes()).unwrap();
        file.write_all(&(s.texts.len() as u32).to_le_bytes())
            .unwrap();
        for t in &s.texts {
            file.write_all(&(t.len() as u32).to_le_bytes()).unwrap();
            file.write_all(t.as_bytes()).unwrap();
        }
        for corners in &s.outlines {
            for (x, y) in corners {
                file.write_all(&x.to_le_bytes()).unwrap();
                file.write_all(&y.to_le_bytes()).unwrap();
            }
        }
        file.write_all(&s.pixels).unwrap();
    }
    samples
}
