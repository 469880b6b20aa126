//! Time as Gerbang reasons about it: milliseconds since the Unix epoch, UTC.
//!
//! Core never reads a clock; every function that needs "now" is given it.

use serde::{Deserialize, Serialize};

/// A point in time, in milliseconds since 1970-01-01T00:00:00Z.
///
/// Serialised as a plain integer so that a client in any language can read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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

    /// ISO 8601 local time with its offset, to the second: `2026-11-21T19:00:00+07:00` for a
    /// zone `utc_offset_minutes` east of UTC. For exports that people and spreadsheets read.
    pub fn local_iso8601(self, utc_offset_minutes: i32) -> String {
        let local = self
            .0
            .saturating_add(i64::from(utc_offset_minutes) * Self::MINUTE);
        let (year, month, day) = civil_from_days(local.div_euclid(Self::DAY));
        let in_day = local.rem_euclid(Self::DAY);
        let sign = if utc_offset_minutes < 0 { '-' } else { '+' };
        let offset = utc_offset_minutes.unsigned_abs();
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
            in_day / Self::HOUR,
            (in_day % Self::HOUR) / Self::MINUTE,
            (in_day % Self::MINUTE) / Self::SECOND,
            offset / 60,
            offset % 60,
        )
    }
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`), so core needs no date library for one conversion.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March first
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
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

    #[test]
    fn iso8601_in_local_time() {
        let t = Millis(1_795_282_200_000);
        assert_eq!(t.local_iso8601(0), "2026-11-21T17:30:00+00:00");
        assert_eq!(t.local_iso8601(7 * 60), "2026-11-22T00:30:00+07:00");
        assert_eq!(t.local_iso8601(-(3 * 60 + 30)), "2026-11-21T14:00:00-03:30");
        assert_eq!(Millis(0).local_iso8601(0), "1970-01-01T00:00:00+00:00");
        // A leap day, and the day before the epoch.
        assert_eq!(
            Millis(951_782_400_000).local_iso8601(0),
            "2000-02-29T00:00:00+00:00"
        );
        assert_eq!(Millis(-1_000).local_iso8601(0), "1969-12-31T23:59:59+00:00");
    }
}
