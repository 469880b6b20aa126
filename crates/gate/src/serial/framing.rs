//! [`Framer`]: bytes from a serial scanner cut into codes. Pure: bytes and times in, codes out.
//!
//! A scanner in serial mode sends each code followed by a terminator it is configured for: CR,
//! LF or CRLF; some send none, and a pause ends the code instead. So any CR or LF ends a code,
//! an empty line between them (the LF of a CRLF) is nothing, and bytes followed by a pause are a
//! code. A line longer than the bound is one [`Framed::TooLong`] event (its bytes are dropped
//! as they come, so memory stays bounded) and reading goes on with the next line.

use std::time::Duration;

/// What the framer cut from the byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framed {
    /// A code (invalid UTF-8 replaced, as the gate does with all input).
    Code(String),
    /// A line of `len` bytes, over the bound of `max`: dropped.
    TooLong { len: usize, max: usize },
}

#[derive(Debug)]
pub struct Framer {
    max_len: usize,
    pause: Duration,
    /// The bytes of the code being received (at most `max_len`).
    line: Vec<u8>,
    /// The length of the line being received, kept counting past `max_len`.
    len: usize,
    /// When the last byte of the pending code came.
    last_byte: Option<Duration>,
}

impl Framer {
    /// Codes up to `max_len` bytes; a pause of `pause` with bytes pending ends a code (zero: only
    /// terminators end codes).
    pub fn new(max_len: usize, pause: Duration) -> Framer {
        Framer {
            max_len,
            pause,
            line: Vec::new(),
            len: 0,
            last_byte: None,
        }
    }

    /// Takes bytes received at `now`; the codes they complete are appended to `out`.
    pub fn push(&mut self, bytes: &[u8], now: Duration, out: &mut Vec<Framed>) {
        // A pause before these bytes ended the pending code.
        self.poll(now, out);
        for &b in bytes {
            if b == b'\r' || b == b'\n' {
                self.finish(out);
            } else {
                if self.line.len() < self.max_len {
                    self.line.push(b);
                }
                self.len += 1;
            }
        }
        self.last_byte = (self.len > 0).then_some(now);
    }

    /// Ends the pending code if the pause has passed by `now`.
    pub fn poll(&mut self, now: Duration, out: &mut Vec<Framed>) {
        if let Some(deadline) = self.deadline() {
            if now >= deadline {
                self.finish(out);
            }
        }
    }

    /// When a pause would end the pending code, if one is pending.
    pub fn deadline(&self) -> Option<Duration> {
        if self.pause.is_zero() {
            return None;
        }
        self.last_byte.map(|at| at + self.pause)
    }

    fn finish(&mut self, out: &mut Vec<Framed>) {
        if self.len > self.max_len {
            out.push(Framed::TooLong {
                len: self.len,
                max: self.max_len,
            });
        } else if self.len > 0 {
            out.push(Framed::Code(
                String::from_utf8_lossy(&self.line).into_owned(),
            ));
        }
        self.line.clear();
        self.len = 0;
        self.last_byte = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds (bytes, at ms) chunks, then polls at `end_ms`; returns what came out.
    fn check(max: usize, pause_ms: u64, chunks: &[(&[u8], u64)], end_ms: u64, expect: &[Framed]) {
        let mut framer = Framer::new(max, Duration::from_millis(pause_ms));
        let mut out = Vec::new();
        for (bytes, at) in chunks {
            framer.push(bytes, Duration::from_millis(*at), &mut out);
        }
        framer.poll(Duration::from_millis(end_ms), &mut out);
        assert_eq!(out, expect);
    }

    fn code(s: &str) -> Framed {
        Framed::Code(s.into())
    }

    #[test]
    fn cr_lf_and_crlf_all_end_a_code() {
        check(
            64,
            100,
            &[(b"A-1\rB-2\nC-3\r\nD-4\n\r", 0)],
            0,
            &[code("A-1"), code("B-2"), code("C-3"), code("D-4")],
        );
    }

    #[test]
    fn a_code_may_arrive_in_pieces() {
        check(
            64,
            100,
            &[(b"GB:W5", 0), (b"0000", 10), (b"7\r", 20), (b"\n", 21)],
            30,
            &[code("GB:W500007")],
        );
    }

    #[test]
    fn a_pause_ends_a_code_without_terminator() {
        // Nothing yet at 99 ms after the last byte; the code at 100 ms.
        check(64, 100, &[(b"T-1", 0), (b"00", 50)], 149, &[]);
        check(64, 100, &[(b"T-1", 0), (b"00", 50)], 150, &[code("T-100")]);
        // Bytes after a pause start a new code.
        check(
            64,
            100,
            &[(b"T-1", 0), (b"T-2", 500)],
            600,
            &[code("T-1"), code("T-2")],
        );
        // With no pause configured only terminators end codes.
        check(64, 0, &[(b"T-1", 0)], 10_000, &[]);
    }

    #[test]
    fn an_over_long_line_is_one_error_and_reading_goes_on() {
        let long = vec![b'x'; 10_000];
        check(
            16,
            100,
            &[(&long, 0), (&long, 1), (b"\nOK\n", 2)],
            3,
            &[
                Framed::TooLong {
                    len: 20_000,
                    max: 16,
                },
                code("OK"),
            ],
        );
        // Exactly at the bound is fine.
        check(4, 100, &[(b"1234\n", 0)], 0, &[code("1234")]);
    }

    #[test]
    fn garbage_is_kept_visible_not_fatal() {
        check(
            64,
            100,
            &[(b"\xff\xfe\x00\x1b\n", 0)],
            0,
            &[code("\u{fffd}\u{fffd}\u{0}\u{1b}")],
        );
    }

    #[test]
    fn the_deadline_follows_the_last_byte() {
        let mut framer = Framer::new(64, Duration::from_millis(100));
        let mut out = Vec::new();
        assert_eq!(framer.deadline(), None);
        framer.push(b"AB", Duration::from_millis(10), &mut out);
        assert_eq!(framer.deadline(), Some(Duration::from_millis(110)));
        framer.push(b"\n", Duration::from_millis(20), &mut out);
        assert_eq!(framer.deadline(), None);
        assert_eq!(out, [code("AB")]);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn frame_all(chunks: &[Vec<u8>], max: usize) -> Vec<Framed> {
        // No pause: only terminators end codes, so how the bytes are chunked must not matter.
        let mut framer = Framer::new(max, Duration::ZERO);
        let mut out = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            framer.push(chunk, Duration::from_millis(i as u64), &mut out);
        }
        framer.push(b"\n", Duration::from_secs(3600), &mut out);
        out
    }

    proptest! {
        #[test]
        fn any_bytes_in_any_chunks_frame_the_same_and_stay_bounded(
            chunks in proptest::collection::vec(
                proptest::collection::vec(
                    prop_oneof![Just(b'\r'), Just(b'\n'), any::<u8>()], 0..64),
                0..16),
            max in 1usize..32,
        ) {
            let framed = frame_all(&chunks, max);
            let whole: Vec<u8> = chunks.concat();
            prop_assert_eq!(&framed, &frame_all(&[whole], max));
            for f in &framed {
                match f {
                    Framed::Code(text) => {
                        prop_assert!(!text.is_empty() && text.chars().count() <= max);
                        prop_assert!(!text.contains(['\r', '\n']));
                    }
                    Framed::TooLong { len, max: m } => prop_assert!(*len > *m),
                }
            }
        }
    }
}
