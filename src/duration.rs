//! Durations as people write them (`10s`, `500ms`, `1m30s`) and as secretrun shows
//! them. A leaf: it depends on nothing of the crate.

use std::time::Duration;

/// The longest duration secretrun takes: 100 years. Anything longer is refused where
/// it is read, so that no deadline, timer or age computed from a duration can
/// overflow (`Instant + Duration` panics on overflow).
pub const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 86_400);

/// A duration as secretrun shows it: `10s`, `1.5s`, `250ms`.
pub fn show_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else if d.as_secs() == 0 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// `10s`, `500ms`, `2m`, `1h`, `90d`, `2w`, `1m30s`; a bare number is seconds.
/// `None` for anything else, and for a duration over [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Option<Duration> {
    parse_any(text).filter(|d| *d <= MAX_DURATION)
}

fn parse_any(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        if digits == 0 {
            return None;
        }
        let number: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(number),
            "s" => Duration::from_secs(number),
            "m" => Duration::from_secs(number.checked_mul(60)?),
            "h" => Duration::from_secs(number.checked_mul(3600)?),
            "d" => Duration::from_secs(number.checked_mul(86_400)?),
            "w" => Duration::from_secs(number.checked_mul(7 * 86_400)?),
            _ => return None,
        };
        total = total.checked_add(unit)?;
        rest = &rest[unit_len..];
    }
    (!text.is_empty()).then_some(total)
}

/// A duration in a config file, parsed when the file is read (by a
/// `deserialize_with` function that names its `key`): a bad one is refused there,
/// at its line, without its text.
pub fn optional<'de, D>(deserializer: D, key: &str) -> Result<Option<Duration>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let text: String = serde::Deserialize::deserialize(deserializer)?;
    parse_duration(&text).map(Some).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "{key} is not a duration such as `30s`, `500ms` or `2m` (at most 100 years)"
        ))
    })
}

/// An age or a time left, in its largest whole unit: `412d`, `5h`, `3m`, `12s`.
pub fn show_coarse(seconds: u64) -> String {
    match seconds {
        s if s >= 86_400 => format!("{}d", s / 86_400),
        s if s >= 3600 => format!("{}h", s / 3600),
        s if s >= 60 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_duration("90d"),
            Some(Duration::from_secs(90 * 86_400))
        );
        assert_eq!(
            parse_duration("2w1d"),
            Some(Duration::from_secs(15 * 86_400))
        );
        for bad in [
            "",
            "s",
            "10x",
            "-1s",
            "1.5s",
            "36501d",
            "18446744073709551615",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        assert_eq!(parse_duration("36500d"), Some(MAX_DURATION));
    }

    #[test]
    fn coarse() {
        assert_eq!(show_coarse(412 * 86_400 + 5), "412d");
        assert_eq!(show_coarse(86_399), "23h");
        assert_eq!(show_coarse(61), "1m");
        assert_eq!(show_coarse(0), "0s");
    }
}
