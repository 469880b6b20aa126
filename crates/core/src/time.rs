//! Time as Gerbang reasons about it: milliseconds since the Unix epoch, UTC.
//!
//! Core never reads a clock; every function that needs "now" is given it.

use serde::{Deserialize, Serialize};

/// A point in time, in milliseconds since 1970-01-01T00:00:00Z.
///
/// Serialised as a plain integer so that a client in any language can read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Millis(pub i64);

impl Millis {
    pub const SECOND: i64 = 1_000;
    pub const MINUTE: i64 = 60 * Self::SECOND;
    pub const HOUR: i64 = 60 * Self::MINUTE;
    pub const DAY: i64 = 24 * Self::HOUR;

    /// Whole seconds, rounded down.
    pub fn as_secs(self) -> i64 {
        self.0.div_euclid(Self::SECOND)
    }

    pub fn from_secs(secs: i64) -> Millis {
        Millis(secs.saturating_mul(Self::SECOND))
    }

    pub fn plus(self, ms: i64) -> Millis {
        Millis(self.0.saturating_add(ms))
    }

    /// The local calendar day this instant falls on, for a zone `utc_offset_minutes` east of UTC,
    /// as days since the epoch. Used for "entries per day" limits.
    pub fn local_day(self, utc_offset_minutes: i32) -> i64 {
        self.0
            .saturating_add(i64::from(utc_offset_minutes) * Self::MINUTE)
            .div_euclid(Self::DAY)
    }

    /// `HH:MM` in the zone `utc_offset_minutes` east of UTC, for plain-language reasons.
    pub fn local_hhmm(self, utc_offset_minutes: i32) -> String {
        let local = self
            .0
            .saturating_add(i64::from(utc_offset_minutes) * Self::MINUTE);
        let in_day = local.rem_euclid(Self::DAY);
        format!(
            "{:02}:{:02}",
            in_day / Self::HOUR,
            (in_day % Self::HOUR) / Self::MINUTE
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_day_and_clock_follow_the_offset() {
        // 2026-11-21T17:30:00Z is 00:30 on the 22nd in Jakarta (UTC+7).
        let t = Millis(1_795_282_200_000);
        assert_eq!(t.local_hhmm(0), "17:30");
        assert_eq!(t.local_hhmm(7 * 60), "00:30");
        assert_eq!(t.local_day(7 * 60), t.local_day(0) + 1);
        assert_eq!(Millis(-1).local_day(0), -1);
    }
}
