//! Telling a keyboard-wedge barcode scanner from a person at the keyboard.
//!
//! USB scanners in "keyboard wedge" mode type what they read as keystrokes, a few milliseconds
//! apart, usually followed by Enter or Tab, sometimes by nothing at all. A person types the same
//! keys tens to hundreds of milliseconds apart. [`Wedge`] tells the two apart from the timing
//! alone, so the scan screen accepts scans without a focused text field and without a scan
//! firing keyboard shortcuts.
//!
//! This is pure logic: no I/O, no clock. Every key comes with the caller's timestamp in
//! milliseconds (any monotonic origin), and the caller calls [`Wedge::poll`] with the current
//! time, at or after [`Wedge::deadline`], to end a code that had no Enter or Tab. The same rules
//! are meant to be ported to the UI (TypeScript) as they are: the thresholds are the documented
//! constants below, and the behaviour is pinned by the tests at the end of this file.
//!
//! # How keys are judged
//! * A printable key is **held** when it arrives ([`KeyUse::Held`]): it may be the first key of
//!   a scan, and nothing can know yet. The UI must not act on it until it comes back in
//!   [`Output::Typed`] (then it was a person) or disappears into an [`Output::Scan`].
//! * A key that arrives within [`MAX_KEY_GAP_MS`] of the previous held key makes the held keys a
//!   **burst**; from then on every key of it is [`KeyUse::Scan`].
//! * Inside a burst, one gap up to [`HICCUP_GAP_MS`] is tolerated (a USB scanner hiccup); a
//!   second slow gap, or any longer silence, ends the code before the slow key.
//! * A burst ends with Enter or Tab (consumed, [`KeyUse::Scan`]), or with a pause found by
//!   [`Wedge::poll`] or by the next key. It is reported as a scan only if it has at least
//!   [`MIN_CODE_LEN`] characters; a shorter one (two keys a person rolled over quickly) comes
//!   back as typed text.
//! * Held keys that never became a burst come back as [`Output::Typed`] once
//!   [`MAX_KEY_GAP_MS`] has passed, so a person's key reaches the UI at most that late.
//! * Enter, Tab and other keys that do not end a burst are [`KeyUse::Pass`]: the UI handles them
//!   as usual, after any [`Output::Typed`] returned with them.
//!
//! Known limit: a key a person presses within [`MAX_KEY_GAP_MS`] before a scan starts becomes
//! part of the scanned text. Timing cannot tell it apart; the ticket check then refuses the code.

/// Keys closer than this (milliseconds) belong to one burst. Scanners type 1–15 ms apart; people
/// rarely under 50 ms except when rolling over two keys, which [`MIN_CODE_LEN`] covers.
pub const MAX_KEY_GAP_MS: u64 = 30;

/// The longest gap tolerated once inside a burst, for a scanner that stalls on USB. A silence
/// longer than this always ends a code without Enter or Tab.
pub const HICCUP_GAP_MS: u64 = 120;

/// A burst shorter than this is a person rolling over keys, not a scan.
pub const MIN_CODE_LEN: usize = 4;

/// Bursts are capped at this many characters, so a stuck key or a flood of input cannot grow
/// memory without bound; the excess is dropped and the code is reported as it was at the cap
/// (no ticket is that long, so the check refuses it).
pub const MAX_CODE_LEN: usize = 4096;

/// A key as the wedge needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A key that types this character.
    Char(char),
    Enter,
    Tab,
    /// Any other key (arrows, function keys, Escape): it ends a burst and is never consumed.
    Other,
}

/// What the UI should do with the key it just passed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    /// Part of a scanner burst: suppress it (no shortcut, no text input).
    Scan,
    /// Held back for now: it will come back in [`Output::Typed`] if it was a person.
    Held,
    /// Not the wedge's: handle it as usual.
    Pass,
}

/// How a scan ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Enter,
    Tab,
    /// No suffix: the scanner stopped and the pause ended the code.
    Pause,
    /// Another key (not Enter or Tab) came in the middle of it.
    OtherKey,
}

/// What the wedge found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// A scanner typed this code.
    Scan { text: String, end: End },
    /// A person typed these held keys; the UI should act on them now, in order.
    Typed(String),
}

/// The result of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fed {
    /// What to do with this key.
    pub key: KeyUse,
    /// Anything this key completed, in order; earlier keys' [`Output::Typed`] come first.
    pub out: Vec<Output>,
}

/// The thresholds, defaulting to the documented constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WedgeConfig {
    pub max_key_gap_ms: u64,
    pub hiccup_gap_ms: u64,
    pub min_code_len: usize,
}

impl Default for WedgeConfig {
    fn default() -> Self {
        WedgeConfig {
            max_key_gap_ms: MAX_KEY_GAP_MS,
            hiccup_gap_ms: HICCUP_GAP_MS,
            min_code_len: MIN_CODE_LEN,
        }
    }
}

/// The keyboard-wedge state machine; see the module documentation.
#[derive(Debug, Clone, Default)]
pub struct Wedge {
    config: WedgeConfig,
    /// Characters held since the last flush: a burst in progress, or one key that might start
    /// one.
    held: String,
    /// How many characters `held` has (it is capped at [`MAX_CODE_LEN`]).
    held_len: usize,
    /// When the last held key arrived; `None` when nothing is held.
    last_at: Option<u64>,
    /// The held keys came fast enough to be a scanner.
    burst: bool,
    /// This burst has already had its one slow gap.
    hiccup_used: bool,
}

impl Wedge {
    pub fn new(config: WedgeConfig) -> Wedge {
        Wedge {
            config,
            ..Wedge::default()
        }
    }

    /// The time at which [`Wedge::poll`] will have something to flush, if anything is held.
    pub fn deadline(&self) -> Option<u64> {
        self.last_at.map(|at| at.saturating_add(self.allowed_gap()))
    }

    /// Flushes what a pause has ended by `now`: a scan without suffix, or a person's keys.
    pub fn poll(&mut self, now: u64) -> Vec<Output> {
        let mut out = Vec::new();
        if let Some(deadline) = self.deadline() {
            if now > deadline {
                self.flush(End::Pause, &mut out);
            }
        }
        out
    }

    /// Feeds one key pressed at `at` (milliseconds).
    pub fn key(&mut self, key: Key, at: u64) -> Fed {
        let mut out = Vec::new();
        // A gap of the hiccup kind inside a burst is forgiven once; anything slower ends what
        // is held before this key is looked at.
        let gap = self.last_at.map(|last| at.saturating_sub(last));
        if let Some(gap) = gap {
            if gap > self.allowed_gap() {
                self.flush(End::Pause, &mut out);
            } else if gap > self.config.max_key_gap_ms {
                self.hiccup_used = true;
            }
        }
        let use_ = match key {
            Key::Char(c) => {
                if self.last_at.is_some() {
                    self.burst = true;
                }
                if self.held_len < MAX_CODE_LEN {
                    self.held.push(c);
                    self.held_len += 1;
                }
                self.last_at = Some(at);
                if self.burst {
                    KeyUse::Scan
                } else {
                    KeyUse::Held
                }
            }
            Key::Enter | Key::Tab => {
                let end = if key == Key::Enter {
                    End::Enter
                } else {
                    End::Tab
                };
                if self.flush(end, &mut out) {
                    KeyUse::Scan
                } else {
                    KeyUse::Pass
                }
            }
            Key::Other => {
                self.flush(End::OtherKey, &mut out);
                KeyUse::Pass
            }
        };
        Fed { key: use_, out }
    }

    fn allowed_gap(&self) -> u64 {
        if self.burst && !self.hiccup_used {
            self.config.hiccup_gap_ms
        } else {
            self.config.max_key_gap_ms
        }
    }

    /// Ends what is held: a scan if it was a long enough burst, typed text otherwise. Returns
    /// whether it was a scan.
    fn flush(&mut self, end: End, out: &mut Vec<Output>) -> bool {
        let text = std::mem::take(&mut self.held);
        let scan = self.burst && self.held_len >= self.config.min_code_len;
        self.held_len = 0;
        self.last_at = None;
        self.burst = false;
        self.hiccup_used = false;
        if text.is_empty() {
            return false;
        }
        out.push(if scan {
            Output::Scan { text, end }
        } else {
            Output::Typed(text)
        });
        scan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds a recorded key stream, then polls at `end_at`, and returns a transcript: one line
    /// per key (`at key -> use [outputs]`) and one for the final poll.
    fn run(keys: &[(u64, Key)], end_at: u64) -> String {
        let mut wedge = Wedge::default();
        let mut log = String::new();
        for &(at, key) in keys {
            let fed = wedge.key(key, at);
            log += &format!("{at:>5} {key:?} -> {:?} {:?}\n", fed.key, fed.out);
        }
        log += &format!("poll {end_at} -> {:?}\n", wedge.poll(end_at));
        log
    }

    /// Keys of `text` starting at `start`, `gap` ms apart, and the time after the last one.
    fn typed(start: u64, gap: u64, text: &str) -> (Vec<(u64, Key)>, u64) {
        let keys: Vec<_> = text
            .chars()
            .enumerate()
            .map(|(i, c)| (start + i as u64 * gap, Key::Char(c)))
            .collect();
        let next = start + text.chars().count() as u64 * gap;
        (keys, next)
    }

    fn outputs(keys: &[(u64, Key)], end_at: u64) -> Vec<(KeyUse, Vec<Output>)> {
        let mut wedge = Wedge::default();
        let mut all: Vec<_> = keys
            .iter()
            .map(|&(at, key)| {
                let fed = wedge.key(key, at);
                (fed.key, fed.out)
            })
            .collect();
        all.push((KeyUse::Pass, wedge.poll(end_at)));
        all
    }

    fn found(keys: &[(u64, Key)], end_at: u64) -> Vec<Output> {
        outputs(keys, end_at)
            .into_iter()
            .flat_map(|(_, out)| out)
            .collect()
    }

    fn scan(text: &str, end: End) -> Output {
        Output::Scan {
            text: text.into(),
            end,
        }
    }

    #[test]
    fn scanner_burst_with_enter() {
        // Recorded from a Honeywell-style scanner: 4 ms between keys, Enter 5 ms later.
        let (mut keys, next) = typed(1_000, 4, "GB1-ABC");
        keys.push((next + 1, Key::Enter));
        let got = run(&keys, next + 500);
        expect_test::expect![[r#"
             1000 Char('G') -> Held []
             1004 Char('B') -> Scan []
             1008 Char('1') -> Scan []
             1012 Char('-') -> Scan []
             1016 Char('A') -> Scan []
             1020 Char('B') -> Scan []
             1024 Char('C') -> Scan []
             1029 Enter -> Scan [Scan { text: "GB1-ABC", end: Enter }]
            poll 1528 -> []
        "#]]
        .assert_eq(&got);
    }

    #[test]
    fn scanner_burst_with_tab() {
        let (mut keys, next) = typed(50, 2, "TIX42");
        keys.push((next, Key::Tab));
        assert_eq!(found(&keys, next + 1_000), [scan("TIX42", End::Tab)]);
        assert_eq!(outputs(&keys, 0)[5].0, KeyUse::Scan, "the Tab is consumed");
    }

    #[test]
    fn scanner_burst_without_suffix_ends_on_pause() {
        let (keys, next) = typed(0, 3, "EXT-200");
        let mut wedge = Wedge::default();
        for &(at, key) in &keys {
            assert!(wedge.key(key, at).out.is_empty());
        }
        let deadline = wedge.deadline().unwrap();
        assert_eq!(deadline, next - 3 + HICCUP_GAP_MS);
        assert_eq!(
            wedge.poll(deadline),
            [],
            "not before the deadline has passed"
        );
        assert_eq!(wedge.poll(deadline + 1), [scan("EXT-200", End::Pause)]);
        assert_eq!(wedge.deadline(), None);
    }

    #[test]
    fn scanner_burst_without_suffix_ends_at_the_next_key() {
        // Nobody polled; the next key, long after, still ends the code first.
        let (mut keys, next) = typed(0, 3, "EXT-200");
        keys.push((next + 2_000, Key::Char('q')));
        let all = outputs(&keys, next + 2_100);
        assert_eq!(all[7], (KeyUse::Held, vec![scan("EXT-200", End::Pause)]));
        assert_eq!(all[8].1, [Output::Typed("q".into())]);
    }

    #[test]
    fn person_typing_slowly_is_not_a_scan() {
        // Recorded: a person typing "budi" to search, 110–180 ms between keys, then Enter.
        let keys = [
            (0, Key::Char('b')),
            (140, Key::Char('u')),
            (250, Key::Char('d')),
            (430, Key::Char('i')),
            (600, Key::Enter),
        ];
        let got = run(&keys, 700);
        expect_test::expect![[r#"
                0 Char('b') -> Held []
              140 Char('u') -> Held [Typed("b")]
              250 Char('d') -> Held [Typed("u")]
              430 Char('i') -> Held [Typed("d")]
              600 Enter -> Pass [Typed("i")]
            poll 700 -> []
        "#]]
        .assert_eq(&got);
    }

    #[test]
    fn persons_key_comes_back_after_the_gap() {
        let mut wedge = Wedge::default();
        assert_eq!(wedge.key(Key::Char('s'), 10).key, KeyUse::Held);
        assert_eq!(wedge.poll(10 + MAX_KEY_GAP_MS), []);
        assert_eq!(wedge.poll(11 + MAX_KEY_GAP_MS), [Output::Typed("s".into())]);
    }

    #[test]
    fn person_typing_then_scanner_interrupts() {
        // "ag" typed by hand, then a scan starts 90 ms after the last key.
        let mut keys = vec![(0, Key::Char('a')), (160, Key::Char('g'))];
        let (burst, next) = typed(250, 5, "GB1-XYZ");
        keys.extend(burst);
        keys.push((next, Key::Enter));
        assert_eq!(
            found(&keys, next + 1_000),
            [
                Output::Typed("a".into()),
                Output::Typed("g".into()),
                scan("GB1-XYZ", End::Enter),
            ]
        );
    }

    #[test]
    fn one_usb_hiccup_inside_a_burst_is_tolerated() {
        // Recorded: a scanner that stalled 85 ms in the middle of a code.
        let (mut keys, next) = typed(0, 4, "ABCD");
        let (rest, next) = typed(next - 4 + 85, 4, "EFGH");
        keys.extend(rest);
        keys.push((next, Key::Enter));
        assert_eq!(found(&keys, next + 500), [scan("ABCDEFGH", End::Enter)]);
    }

    #[test]
    fn a_second_slow_gap_ends_the_code() {
        let (mut keys, next) = typed(0, 4, "ABCD");
        let (rest, next) = typed(next - 4 + 85, 4, "EFGH");
        keys.extend(rest);
        let (rest, next) = typed(next - 4 + 85, 4, "IJKL");
        keys.extend(rest);
        keys.push((next, Key::Enter));
        assert_eq!(
            found(&keys, next + 500),
            [scan("ABCDEFGH", End::Pause), scan("IJKL", End::Enter)]
        );
    }

    #[test]
    fn bursts_shorter_than_the_minimum_are_typed() {
        // Two keys rolled over quickly by a person, then Enter: typed text, Enter passes.
        let keys = [(0, Key::Char('o')), (12, Key::Char('k')), (20, Key::Enter)];
        let all = outputs(&keys, 500);
        assert_eq!(all[2], (KeyUse::Pass, vec![Output::Typed("ok".into())]));
        // The minimum itself is a scan.
        let (mut keys, next) = typed(0, 3, &"7".repeat(MIN_CODE_LEN));
        keys.push((next, Key::Enter));
        assert_eq!(found(&keys, next + 500), [scan("7777", End::Enter)]);
        // And a configured minimum is honoured.
        let mut wedge = Wedge::new(WedgeConfig {
            min_code_len: 8,
            ..WedgeConfig::default()
        });
        for &(at, key) in &keys {
            let fed = wedge.key(key, at);
            if key == Key::Enter {
                assert_eq!(fed.out, [Output::Typed("7777".into())]);
            }
        }
    }

    #[test]
    fn other_keys_end_a_burst_and_pass() {
        let (mut keys, next) = typed(0, 3, "ABCDE");
        keys.push((next, Key::Other));
        let all = outputs(&keys, next + 500);
        assert_eq!(all[5], (KeyUse::Pass, vec![scan("ABCDE", End::OtherKey)]));
    }

    #[test]
    fn enter_alone_passes() {
        let mut wedge = Wedge::default();
        let fed = wedge.key(Key::Enter, 5);
        assert_eq!(fed.key, KeyUse::Pass);
        assert!(fed.out.is_empty());
    }

    #[test]
    fn a_stuck_key_is_capped() {
        let mut wedge = Wedge::default();
        for i in 0..(MAX_CODE_LEN as u64 + 100) {
            wedge.key(Key::Char('x'), i);
        }
        let out = wedge.key(Key::Enter, MAX_CODE_LEN as u64 + 100);
        let [Output::Scan { text, .. }] = &out.out[..] else {
            panic!("expected one scan, got {out:?}");
        };
        assert_eq!(text.len(), MAX_CODE_LEN);
    }

    #[test]
    fn time_going_backwards_does_not_panic() {
        let mut wedge = Wedge::default();
        wedge.key(Key::Char('a'), 100);
        wedge.key(Key::Char('b'), 50);
        wedge.key(Key::Char('c'), 0);
        assert!(wedge.poll(0).is_empty());
        assert_eq!(wedge.poll(u64::MAX).len(), 1);
    }
}
