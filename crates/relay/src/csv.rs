//! Writing CSV for spreadsheets: RFC 4180 quoting, cells that a spreadsheet would run as a
//! formula made inert, and times as ISO 8601 in the event's UTC offset.

use std::fmt::Write;

use gerbang_core::Millis;

/// Appends one cell. A cell starting with `=`, `+`, `-` or `@` is prefixed with `'`, so a
/// holder named `=HYPERLINK(...)` stays text when the file is opened in a spreadsheet; a cell
/// with a comma, a quote or a line break is quoted, its quotes doubled (RFC 4180).
pub(crate) fn cell(out: &mut String, value: &str) {
    let guarded;
    let value = if value.starts_with(['=', '+', '-', '@']) {
        guarded = format!("'{value}");
        guarded.as_str()
    } else {
        value
    };
    if value.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

/// Appends a row of cells, separated by commas and ended with CRLF.
pub(crate) fn row<'a>(out: &mut String, cells: impl IntoIterator<Item = &'a str>) {
    for (i, value) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        cell(out, value);
    }
    out.push_str("\r\n");
}

/// `2026-11-21T19:00:00.000+07:00`: the instant as the venue's clock shows it, with its offset.
pub(crate) fn iso_time(at: Millis, utc_offset_minutes: i32) -> String {
    let local = at.0 + i64::from(utc_offset_minutes) * Millis::MINUTE;
    let days = local.div_euclid(Millis::DAY);
    let ms_of_day = local.rem_euclid(Millis::DAY);
    let (year, month, day) = civil_from_days(days);
    let mut out = String::with_capacity(29);
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}",
        ms_of_day / Millis::HOUR,
        ms_of_day % Millis::HOUR / Millis::MINUTE,
        ms_of_day % Millis::MINUTE / Millis::SECOND,
        ms_of_day % Millis::SECOND,
    );
    let sign = if utc_offset_minutes < 0 { '-' } else { '+' };
    let offset = utc_offset_minutes.unsigned_abs();
    let _ = write!(out, "{sign}{:02}:{:02}", offset / 60, offset % 60);
    out
}

/// The proleptic Gregorian date of a day number (days since 1970-01-01), after Howard
/// Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_iso_8601_in_the_offset() {
        let cases = [
            (0, 0, "1970-01-01T00:00:00.000+00:00"),
            (1_795_262_400_123, 420, "2026-11-21T19:00:00.123+07:00"),
            (1_795_262_400_000, -330, "2026-11-21T06:30:00.000-05:30"),
            (951_782_400_000, 0, "2000-02-29T00:00:00.000+00:00"),
            (-1, 0, "1969-12-31T23:59:59.999+00:00"),
        ];
        for (ms, offset, want) in cases {
            assert_eq!(iso_time(Millis(ms), offset), want, "{ms} at {offset}");
        }
    }

    #[test]
    fn cells_are_quoted_and_formulas_made_inert() {
        let mut out = String::new();
        row(
            &mut out,
            [
                "plain",
                "a,b",
                "say \"hi\"",
                "two\nlines",
                "=1+2",
                "+62",
                "-x",
                "@SUM(A1)",
                "",
            ],
        );
        assert_eq!(
            out,
            "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",'=1+2,'+62,'-x,'@SUM(A1),\r\n"
        );
    }
}
