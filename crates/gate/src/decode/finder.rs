//! The finder-pattern search of rxing's QR detector (`FindFinderPatterns`), with the same result
//! for less work.
//!
//! rxing scans every third (or fifth) row of the binarised frame for runs of dark and light in the
//! proportions 1:1:3:1:1 and checks each hit vertically and diagonally
//! (`LocateConcentricPattern`). Its row scan reads the row one bit at a time through a copy of
//! the row, and was a quarter of the decoder's time on frames without a code (`perf`). Here the
//! runs of a row come from its 64-bit words, one step per colour change
//! ([`row_runs`]), and the 1:1:3:1:1 test is the same arithmetic as rxing's (`IsPattern` with
//! `E2E`, quiet zone 0.1) on those runs. The candidates go to rxing's own `LocateConcentricPattern`, so
//! the patterns found, and their order, are rxing's: a test holds the two equal frame for frame.

use rxing::common::cpp_essentials::{ConcentricPattern, LocateConcentricPattern};
use rxing::common::BitMatrix;
use rxing::{point, Point};

/// The finder pattern's proportions: dark, light, dark (three modules), light, dark.
const PATTERN: [u16; 5] = [1, 1, 3, 1, 1];

/// Scans every `step`-th row of `matrix` (rxing: every third row when trying harder, otherwise
/// `3 * height / 388` rows and at least three) for finder patterns: dark is set. `runs` is
/// scratch space, kept by the caller so a frame allocates nothing for it.
pub(crate) fn find_finder_patterns(
    matrix: &BitMatrix,
    step: u32,
    runs: &mut Vec<u16>,
) -> Vec<ConcentricPattern> {
    let mut found: Vec<ConcentricPattern> = Vec::new();
    let step = step.max(1);
    let mut y = step - 1;
    while y < matrix.height() {
        let row = matrix.getRow(y);
        row_runs(row.getBitArray(), matrix.width() as usize, runs);
        scan_row(matrix, runs, y, &mut found);
        y += step;
    }
    found
}

/// The row step rxing's `FindFinderPatterns` uses: 3 when trying harder, otherwise
/// `3 * height / 388` but at least 3.
pub(crate) fn row_step(height: u32, try_harder: bool) -> u32 {
    const MAX_MODULES_FAST: u32 = 20 * 4 + 17;
    if try_harder {
        3
    } else {
        ((3 * height) / (4 * MAX_MODULES_FAST)).max(3)
    }
}

/// The run lengths of one row of `width` pixels (bit x of the words is pixel x, set = dark),
/// light first: a row that starts dark starts with a 0, and one that ends dark ends with a 0
/// (rxing's `PatternRow`).
fn row_runs(words: &[usize], width: usize, runs: &mut Vec<u16>) {
    const BITS: usize = usize::BITS as usize;
    runs.clear();
    let mut last_change = 0usize;
    // The colour of the pixel before the current word: light before the row starts.
    let mut carry = 0usize;
    for (i, &word) in words.iter().enumerate() {
        let base = i * BITS;
        if base >= width {
            break;
        }
        let valid = width - base;
        let word = if valid < BITS {
            word & ((1usize << valid) - 1)
        } else {
            word
        };
        // Bit j of `changes`: pixel base + j differs from the pixel before it.
        let mut changes = word ^ ((word << 1) | carry);
        while changes != 0 {
            let x = base + changes.trailing_zeros() as usize;
            runs.push((x - last_change) as u16);
            last_change = x;
            changes &= changes - 1;
        }
        carry = word >> (BITS - 1);
    }
    runs.push((width - last_change) as u16);
    // The number of runs says the colour of the last one: an even count ends dark.
    if runs.len() % 2 == 0 {
        runs.push(0);
    }
}

/// Finds the 1:1:3:1:1 windows of one row's runs and locates each one not inside a pattern
/// already found, in rxing's order (`FindFinderPatterns` with `FindPattern`): windows start at
/// each dark run (`runs[1 + c..6 + c]`, c even) while `1 + c < runs.len() - 5`, the row's first
/// window also before that bound and with no light run in front of it to judge, and after a hit
/// the search goes on two pairs of runs later. A row always has an odd number of runs, so one
/// of fewer than seven has no window that fits (rxing tests a five-run row's runs from the
/// leading light one, then drops any hit as not fitting: the same, nothing).
fn scan_row(matrix: &BitMatrix, runs: &[u16], y: u32, found: &mut Vec<ConcentricPattern>) {
    let len = runs.len();
    if len < 6 {
        return;
    }
    let end = len - 5;
    let window = |c: usize| -> [u16; 5] {
        [
            runs[1 + c],
            runs[2 + c],
            runs[3 + c],
            runs[4 + c],
            runs[5 + c],
        ]
    };
    let mut c = 0usize;
    // Pixels in front of runs[1 + c].
    let mut in_front = u32::from(runs[0]);
    loop {
        let mut hit = c == 0 && is_finder_row(&window(0), f64::MAX);
        while !hit && 1 + c < end {
            if is_finder_row(&window(c), f64::from(runs[c])) {
                hit = true;
            } else {
                in_front += u32::from(runs[1 + c]) + u32::from(runs[2 + c]);
                c += 2;
            }
        }
        if !hit {
            return;
        }
        let w = window(c);
        let x = in_front as f32 + f32::from(w[0]) + f32::from(w[1]) + f32::from(w[2]) / 2.0;
        let p = point(x, y as f32 + 0.5);
        if !found
            .iter()
            .any(|old| Point::distance(p, old.p) < old.size as f32 / 2.0)
        {
            let range = w.iter().map(|&r| i32::from(r)).sum::<i32>() * 3;
            if let Some(pattern) = LocateConcentricPattern::<true, 5, 7>(matrix, &PATTERN, p, range)
            {
                found.push(pattern);
            }
        }
        in_front += w[..4].iter().map(|&r| u32::from(r)).sum::<u32>();
        c += 4;
    }
}

/// rxing's test of five runs for a finder pattern's row (`FindPattern`'s quick test, then
/// `IsPattern` end to end with a quiet zone of 0.1 light modules): dark runs of one module, one
/// module and three, light runs of one module each, within its tolerances.
fn is_finder_row(window: &[u16; 5], space_in_front: f64) -> bool {
    let [a, b, centre, d, e] = *window;
    if centre < 3 || centre < 2 * a.max(e) || centre < b.max(d) {
        return false;
    }
    let bar = f64::from(a) + f64::from(centre) + f64::from(e);
    let space = f64::from(b) + f64::from(d);
    let module = [bar / 5.0, space / 2.0];
    let (small, large) = (module[0].min(module[1]), module[0].max(module[1]));
    if large > 4.0 * small {
        return false;
    }
    if space_in_front < 0.1 * module[1] {
        return false;
    }
    let tolerance = [module[0] * 0.75 + 0.5, module[1] / 3.0 + 0.5];
    let fits = window.iter().zip(PATTERN).enumerate().all(|(i, (&w, p))| {
        (f64::from(w) - f64::from(p) * module[i % 2]).abs() <= tolerance[i % 2]
    });
    fits && (module[0] + module[1]) / 2.0 > 0.0
}

#[cfg(test)]
mod tests {
    use rxing::common::cpp_essentials::{GetPatternRowTP, PatternRow};
    use rxing::qrcode::cpp_port::detector::FindFinderPatterns;

    use super::*;
    use crate::decode::binarize::{threshold, MIN_RANGE, STRETCHED_MIN_RANGE};
    use crate::decode::corpus::{sample, Case};

    /// A matrix with the given rows (a char per pixel, '#' dark).
    fn matrix_of(rows: &[String]) -> BitMatrix {
        let width = rows.iter().map(String::len).max().unwrap_or(1);
        let mut matrix = BitMatrix::new(width as u32, rows.len() as u32).unwrap();
        for (y, row) in rows.iter().enumerate() {
            for (x, c) in row.chars().enumerate() {
                if c == '#' {
                    matrix.set(x as u32, y as u32);
                }
            }
        }
        matrix
    }

    #[test]
    fn runs_are_rxings_pattern_row() {
        // Rows that start and end light or dark, change colour at word boundaries, or never;
        // each also flipped (which must not bring in bits past the row's end).
        let patterns = [".", "#", "##.", ".#", "#.#..###....", "...#"];
        let mut rows = Vec::new();
        for width in [63, 64, 65, 100, 128, 130] {
            for pattern in patterns {
                rows.push(pattern.chars().cycle().take(width).collect::<String>());
            }
            let edges: String = (0..width)
                .map(|x| {
                    if x == 0 || x + 1 == width || x % 64 == 63 {
                        '#'
                    } else {
                        '.'
                    }
                })
                .collect();
            rows.push(edges);
        }
        for row in &rows {
            let mut matrix = matrix_of(std::slice::from_ref(row));
            for _flipped in 0..2 {
                let mut theirs = PatternRow::default();
                GetPatternRowTP(&matrix, 0, &mut theirs, false);
                let theirs: Vec<u16> = theirs.into_iter().collect();
                let mut ours = Vec::new();
                row_runs(
                    matrix.getRow(0).getBitArray(),
                    matrix.width() as usize,
                    &mut ours,
                );
                assert_eq!(ours, theirs, "row {row:?}");
                matrix.flip_self();
            }
        }
    }

    /// Finder patterns drawn at `module` pixels a module: one at the left edge of its rows
    /// (a row starts dark), one at the right edge (a row ends dark), two a module apart (the
    /// skip after a hit) and one more on its own.
    fn drawn_patterns(module: usize) -> BitMatrix {
        // Module (i, j) of a finder pattern is light only on the ring two modules out.
        let dark = |i: usize, j: usize| i.abs_diff(3).max(j.abs_diff(3)) != 2;
        let width = 60 * module;
        let mut rows = vec![vec!['.'; width]; 20 * module];
        let mut stamp = |left: usize, top: usize| {
            for j in 0..7 * module {
                for i in 0..7 * module {
                    if dark(i / module, j / module) {
                        rows[top + j][left + i] = '#';
                    }
                }
            }
        };
        stamp(0, module);
        stamp(width - 7 * module, 2 * module);
        stamp(12 * module, 10 * module);
        stamp(20 * module, 10 * module);
        stamp(35 * module, 11 * module);
        let rows: Vec<String> = rows.into_iter().map(|r| r.into_iter().collect()).collect();
        matrix_of(&rows)
    }

    /// Asserts that both searches find the same patterns in `matrix`, in both polarities and
    /// with both row steps; the number found.
    fn compare_with_rxing(matrix: &mut BitMatrix, runs: &mut Vec<u16>, label: &str) -> usize {
        let mut found = 0;
        for _polarity in 0..2 {
            for try_harder in [true, false] {
                let step = row_step(matrix.height(), try_harder);
                let ours = find_finder_patterns(matrix, step, runs);
                assert_eq!(ours, FindFinderPatterns(matrix, try_harder, 0), "{label}");
                found += ours.len();
            }
            matrix.flip_self();
        }
        found
    }

    #[test]
    fn finds_what_rxing_finds() {
        let cases = [
            Case::NotCode,
            Case::Small,
            Case::Several,
            Case::Glare,
            Case::Busy,
        ];
        let mut runs = Vec::new();
        let mut total = 0;
        for case in cases {
            for index in 0..3 {
                let s = sample(case, index);
                let frame = s.frame();
                let mut half = Vec::new();
                frame.halve_into(&mut half);
                let (w, h) = (frame.width(), frame.height());
                let images = [
                    (s.pixels.as_slice(), w, h, MIN_RANGE),
                    (half.as_slice(), w / 2, h / 2, STRETCHED_MIN_RANGE),
                ];
                for (pixels, width, height, min_range) in images {
                    let mut matrix = threshold(pixels, width, height, min_range).unwrap();
                    let label = format!("{case:?} {index} {width}x{height}");
                    total += compare_with_rxing(&mut matrix, &mut runs, &label);
                }
            }
        }
        assert!(
            total > 100,
            "the frames have finder patterns to find ({total})"
        );
        // Drawn patterns at the rows' ends and side by side, in both polarities.
        for module in [1, 2, 3, 5] {
            let mut matrix = drawn_patterns(module);
            let found = compare_with_rxing(&mut matrix, &mut runs, &format!("module {module}"));
            assert!(found >= 4, "module {module}: {found} patterns found");
        }
    }
}
