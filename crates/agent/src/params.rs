//! Query parameters that scale a workload down or up (see the crate documentation for the
//! list). Values are checked against sane bounds so a typo cannot start a week-long run.

use std::collections::HashMap;
use std::time::Duration;

use crate::error::AgentError;

#[derive(Debug, Clone, Default)]
pub struct QueryParams(HashMap<String, String>);

impl From<HashMap<String, String>> for QueryParams {
    fn from(map: HashMap<String, String>) -> Self {
        QueryParams(map)
    }
}

impl QueryParams {
    fn raw(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    fn invalid(name: &str, value: &str, reason: impl Into<String>) -> AgentError {
        AgentError::BadParam { name: name.to_owned(), value: value.to_owned(), reason: reason.into() }
    }

    /// A number in `[min, max]`.
    pub fn f64(&self, name: &str, default: f64, min: f64, max: f64) -> Result<f64, AgentError> {
        let Some(raw) = self.raw(name) else { return Ok(default) };
        let value: f64 = raw.parse().map_err(|_| Self::invalid(name, raw, "not a number"))?;
        if !(min..=max).contains(&value) {
            return Err(Self::invalid(name, raw, format!("must be between {min} and {max}")));
        }
        Ok(value)
    }

    /// An integer in `[min, max]`.
    pub fn u64(&self, name: &str, default: u64, min: u64, max: u64) -> Result<u64, AgentError> {
        let Some(raw) = self.raw(name) else { return Ok(default) };
        let value: u64 = raw.parse().map_err(|_| Self::invalid(name, raw, "not a whole number"))?;
        if !(min..=max).contains(&value) {
            return Err(Self::invalid(name, raw, format!("must be between {min} and {max}")));
        }
        Ok(value)
    }

    /// A size in bytes as sysbench writes it (`1K`, `50M`, `10G`, plain bytes), in `[min, max]`.
    pub fn size(&self, name: &str, default: u64, min: u64, max: u64) -> Result<u64, AgentError> {
        let Some(raw) = self.raw(name) else { return Ok(default) };
        let value = parse_size(raw).ok_or_else(|| Self::invalid(name, raw, "not a size such as 16K, 50M or 10G"))?;
        if !(min..=max).contains(&value) {
            return Err(Self::invalid(
                name,
                raw,
                format!("must be between {} and {}", format_size(min), format_size(max)),
            ));
        }
        Ok(value)
    }

    /// Milliseconds in `[min, max]`.
    pub fn millis(&self, name: &str, default: Duration, min: u64, max: u64) -> Result<Duration, AgentError> {
        let ms = self.u64(name, default.as_millis() as u64, min, max)?;
        Ok(Duration::from_millis(ms))
    }
}

/// `16K` → 16384; suffixes K, M, G, T are powers of 1024 (an optional trailing `B` or `iB` is
/// accepted), as sysbench reads them.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let text = text.strip_suffix("iB").or_else(|| text.strip_suffix('B')).unwrap_or(text);
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, suffix) = text.split_at(split);
    let number: u64 = digits.parse().ok()?;
    let shift = match suffix.to_ascii_uppercase().as_str() {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return None,
    };
    number.checked_mul(1u64 << shift)
}

/// The shortest exact sysbench-style spelling of a size (`10G`, `1536K`, `1000`).
pub fn format_size(bytes: u64) -> String {
    for (shift, suffix) in [(40, "T"), (30, "G"), (20, "M"), (10, "K")] {
        if bytes != 0 && bytes.is_multiple_of(1u64 << shift) {
            return format!("{}{suffix}", bytes >> shift);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> QueryParams {
        QueryParams(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn sizes_in_sysbench_spelling() {
        assert_eq!(parse_size("1K"), Some(1024));
        assert_eq!(parse_size("50M"), Some(50 << 20));
        assert_eq!(parse_size("10G"), Some(10 << 30));
        assert_eq!(parse_size("16kib"), None);
        assert_eq!(parse_size("16KiB"), Some(16 << 10));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("2MB"), Some(2 << 20));
        assert_eq!(parse_size("1.5G"), None);
        assert_eq!(parse_size("G"), None);
        assert_eq!(parse_size("99999999999T"), None);
        assert_eq!(format_size(10 << 30), "10G");
        assert_eq!(format_size(1536 << 10), "1536K");
        assert_eq!(format_size(1000), "1000");
        assert_eq!(format_size(0), "0");
    }

    #[test]
    fn defaults_apply_when_absent_or_empty() {
        let q = query(&[("seconds", " ")]);
        assert_eq!(q.f64("seconds", 10.0, 0.01, 3600.0).unwrap(), 10.0);
        assert_eq!(q.u64("maxPrime", 100_000, 3, 10_000_000).unwrap(), 100_000);
    }

    #[test]
    fn values_are_parsed_and_bounded() {
        let q = query(&[("seconds", "0.5"), ("maxPrime", "2"), ("blockSize", "4K"), ("x", "abc")]);
        assert_eq!(q.f64("seconds", 10.0, 0.01, 3600.0).unwrap(), 0.5);
        assert_eq!(q.size("blockSize", 1024, 4, 1 << 30).unwrap(), 4096);
        let err = q.u64("maxPrime", 100_000, 3, 10_000_000).unwrap_err();
        assert_eq!(err.to_string(), "invalid query parameter maxPrime=2: must be between 3 and 10000000");
        assert!(q.f64("x", 1.0, 0.0, 2.0).is_err());
        assert!(q.size("x", 1, 1, 2).is_err());
    }
}
