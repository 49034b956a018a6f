//! Timestamps as the service writes them: .NET round-trip UTC with up to seven fractional digits,
//! trailing zeros trimmed (`2021-01-26T20:33:57.7220239Z`, `2021-01-26T20:33:59.2Z`,
//! `2019-12-08T06:33:39Z`; `defender-api.md` §4). Parsing accepts any RFC 3339 time.

use serde::{Deserialize, Deserializer, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Formats `t` the way the service does.
pub fn format(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let ticks = t.nanosecond() / 100;
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if ticks > 0 {
        let frac = format!("{ticks:07}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Parses an RFC 3339 time (any precision, any offset).
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// Milliseconds since the epoch: how the store keeps times in indexed columns.
pub fn millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(*t))
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
    let s = String::deserialize(d)?;
    parse(&s).ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {s}")))
}

/// The same for `Option<OffsetDateTime>` (`null` when absent, as the service emits it).
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&format(*t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<OffsetDateTime>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => {
                parse(&s).map(Some).ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {s}")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn dotnet_round_trip_shape() {
        assert_eq!(format(datetime!(2021-01-26 20:33:57.7220239 UTC)), "2021-01-26T20:33:57.7220239Z");
        assert_eq!(format(datetime!(2021-01-26 20:33:59.2 UTC)), "2021-01-26T20:33:59.2Z");
        assert_eq!(format(datetime!(2019-12-08 06:33:39 UTC)), "2019-12-08T06:33:39Z");
        assert_eq!(format(datetime!(2019-12-08 08:33:39 +2)), "2019-12-08T06:33:39Z");
        assert_eq!(parse("2021-01-26T20:33:57.7220239Z"), Some(datetime!(2021-01-26 20:33:57.7220239 UTC)));
    }
}
