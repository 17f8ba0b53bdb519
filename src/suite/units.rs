//! Parsing of the human units a suite writes: durations (`500ms`, `30s`, `2m`)
//! and sizes (`1024`, `64KiB`, `10MiB`). Knows nothing about YAML positions.

use std::time::Duration;

/// Parses `<digits><unit>` with unit `ms`, `s`, `m`, `h` or `d`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let millis = match unit {
        "ms" => Some(n),
        "s" => n.checked_mul(1_000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        "d" => n.checked_mul(86_400_000),
        _ => None,
    }?;
    Some(Duration::from_millis(millis))
}

/// Parses a byte count: plain digits, or digits followed by `B`, `KiB`, `MiB` or `GiB`
/// (an optional space between is accepted).
pub(crate) fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let factor: u64 = match unit.trim_start() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_every_unit() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(
            parse_duration("90d"),
            Some(Duration::from_secs(90 * 86_400))
        );
        assert_eq!(parse_duration("0s"), Some(Duration::ZERO));
    }

    #[test]
    fn bad_durations_are_rejected() {
        assert_eq!(parse_duration("30"), None);
        assert_eq!(parse_duration("s"), None);
        assert_eq!(parse_duration("30 sec"), None);
        assert_eq!(parse_duration("1.5s"), None);
        assert_eq!(parse_duration("-1s"), None);
        assert_eq!(parse_duration("99999999999999999999h"), None);
    }

    #[test]
    fn sizes_in_every_unit() {
        assert_eq!(parse_size("1024"), Some(1024));
        assert_eq!(parse_size("12B"), Some(12));
        assert_eq!(parse_size("64KiB"), Some(64 * 1024));
        assert_eq!(parse_size("10MiB"), Some(10 * 1024 * 1024));
        assert_eq!(parse_size("10 MiB"), Some(10 * 1024 * 1024));
        assert_eq!(parse_size("2GiB"), Some(2 * 1024 * 1024 * 1024));
    }

    #[test]
    fn bad_sizes_are_rejected() {
        assert_eq!(parse_size("10MB"), None);
        assert_eq!(parse_size("MiB"), None);
        assert_eq!(parse_size(""), None);
        assert_eq!(parse_size("1.5MiB"), None);
        assert_eq!(parse_size("18446744073709551615GiB"), None);
    }
}
