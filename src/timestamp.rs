//! Points in time as the stores write them (RFC 3339: `2026-11-29T03:08:06.123Z`,
//! `2026-11-29T04:08:06+01:00`) and as secretrun shows them (UTC, whole seconds),
//! as seconds since the Unix epoch. A leaf module: no other module, no date crate.

/// Seconds since 1970-01-01T00:00:00Z.
pub type Seconds = i64;

/// Parses an RFC 3339 date-time with a `Z` or `±HH:MM` offset, fractional seconds
/// allowed (and dropped). `None` for anything else.
pub fn parse(text: &str) -> Option<Seconds> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let part = text.get(from..to)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digits = [*h1, *h2, *m1, *m2];
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let value = |hi: u8, lo: u8| i64::from(hi - b'0') * 10 + i64::from(lo - b'0');
            let (hours, minutes) = (value(*h1, *h2), value(*m1, *m2));
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = hours * 3600 + minutes * 60;
            if *sign == b'+' { seconds } else { -seconds }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second.min(59) - offset)
}

/// Shows seconds since the epoch as RFC 3339 in UTC: `2026-11-29T03:08:06Z`.
pub fn show(at: Seconds) -> String {
    let days = at.div_euclid(86_400);
    let secs = at.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Now, in seconds since the epoch.
pub fn now() -> Seconds {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as Seconds)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date. Counts in 400-year eras
/// (146,097 days each) of years that start on March 1, so the leap day ends a year.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day counted from 1970-01-01: the inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(parse("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(parse("2026-11-29T03:08:06Z"), Some(1_795_921_686));
        assert_eq!(parse("2026-11-29T03:08:06.123456789Z"), Some(1_795_921_686));
        assert_eq!(parse("2026-11-29T04:38:06+01:30"), Some(1_795_921_686));
        assert_eq!(parse("2026-11-28T22:08:06-05:00"), Some(1_795_921_686));
        assert_eq!(parse("1969-12-31T23:59:59Z"), Some(-1));
        assert_eq!(show(1_795_921_686), "2026-11-29T03:08:06Z");
        assert_eq!(show(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn round_trips_every_day_of_four_centuries() {
        for day in (-146_097..146_097 * 2).step_by(7) {
            let at = day * 86_400 + 3661;
            assert_eq!(parse(&show(at)), Some(at), "{}", show(at));
        }
    }

    #[test]
    fn refuses_what_is_not_a_date_time() {
        for text in [
            "",
            "2026-11-29",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-11-31T00:00:00Z",
            "2026-11-29T24:00:00Z",
            "2026-11-29T03:08:06",
            "2026-11-29T03:08:06.Z",
            "2026-11-29T03:08:06+0100",
            "2026-11-29T03:08:06+01:00x",
            "+026-11-29T03:08:06Z",
            "2026-11-29T03:08:0xZ",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
        assert!(parse("2024-02-29T00:00:00Z").is_some());
    }
}
