//! [`Dedupe`]: the same code seen in consecutive frames is one scan.
//!
//! A camera reads a ticket held in front of it in every frame, 30 times a second. A code is
//! passed on the first time it is seen and then held off while it keeps being seen: it comes
//! through again only after it has been out of sight for the whole window. The window slides
//! with every sighting, as the store's duplicate rule does (`Store::record_scan`), and takes the
//! store's window by default (3 s), so the camera never sends the store a scan the store would
//! call a duplicate, and a ticket held up for a minute is one scan.

use std::time::Duration;

/// Codes remembered at once. A gate camera sees one or two codes at a time; the bound keeps a
/// stream of ever-new codes (a sheet of them waved past) from growing memory.
const CAPACITY: usize = 64;

#[derive(Debug)]
pub(crate) struct Dedupe {
    window: Duration,
    /// Each code recently seen and when it was last seen, oldest sighting first.
    seen: Vec<(String, Duration)>,
}

impl Dedupe {
    pub fn new(window: Duration) -> Dedupe {
        Dedupe {
            window,
            seen: Vec::new(),
        }
    }

    /// Records a sighting of `text` at `now`; true if it is a new scan.
    pub fn admit(&mut self, text: &str, now: Duration) -> bool {
        let window = self.window;
        // Codes out of sight for the whole window are forgotten.
        self.seen
            .retain(|(_, last)| now.saturating_sub(*last) < window);
        if let Some(i) = self.seen.iter().position(|(t, _)| t == text) {
            let (text, last) = self.seen.remove(i);
            // A clock that went back counts as "just now".
            self.seen.push((text, last.max(now)));
            return false;
        }
        if self.seen.len() == CAPACITY {
            self.seen.remove(0);
        }
        if !window.is_zero() {
            self.seen.push((text.to_owned(), now));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds sightings (code, at ms) and returns the ones let through.
    fn check(window_ms: u64, sightings: &[(&str, u64)], expect: &[(&str, u64)]) {
        let mut dedupe = Dedupe::new(Duration::from_millis(window_ms));
        let passed: Vec<(&str, u64)> = sightings
            .iter()
            .filter(|(text, at)| dedupe.admit(text, Duration::from_millis(*at)))
            .copied()
            .collect();
        assert_eq!(passed, expect);
    }

    #[test]
    fn a_code_held_in_view_is_one_scan() {
        let frames: Vec<(&str, u64)> = (0..300).map(|i| ("A", i * 33)).collect();
        check(3000, &frames, &[("A", 0)]);
    }

    #[test]
    fn a_code_comes_back_after_the_window_out_of_sight() {
        check(
            3000,
            &[("A", 0), ("A", 2000), ("A", 4999), ("A", 5000), ("A", 8000)],
            &[("A", 0), ("A", 8000)],
        );
        // Gaps shorter than the window (missed frames) do not split a sighting.
        check(3000, &[("A", 0), ("A", 2999), ("A", 5998)], &[("A", 0)]);
    }

    #[test]
    fn codes_are_held_off_each_on_its_own() {
        check(
            3000,
            &[
                ("A", 0),
                ("B", 100),
                ("A", 200),
                ("B", 2000),
                ("A", 3100),
                ("B", 5100),
            ],
            &[("A", 0), ("B", 100), ("B", 5100)],
        );
    }

    #[test]
    fn a_zero_window_passes_every_sighting() {
        check(
            0,
            &[("A", 0), ("A", 0), ("A", 1)],
            &[("A", 0), ("A", 0), ("A", 1)],
        );
    }

    #[test]
    fn memory_is_bounded_and_the_oldest_is_forgotten_first() {
        let mut dedupe = Dedupe::new(Duration::from_secs(3));
        for i in 0..1000 {
            assert!(dedupe.admit(&format!("code {i}"), Duration::ZERO));
        }
        assert_eq!(dedupe.seen.len(), CAPACITY);
        assert!(dedupe.admit("code 0", Duration::ZERO));
        assert!(!dedupe.admit("code 999", Duration::ZERO));
    }
}
