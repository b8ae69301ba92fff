//! Identifier rules shared by every object (reference §1.1).

/// A name that does not satisfy Tumblebug's naming rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("the name is empty")]
    Empty,
    #[error(
        "{0} is not a valid name: it must start with a letter, contain only letters, digits, '-' or '+', and not end with '-' or '+'"
    )]
    Invalid(String),
}

/// Tumblebug v0.9+ rule `(?i)[a-z]([-a-z0-9+]*[a-z0-9])?` applied to the whole string.
pub fn check_name(name: &str) -> Result<(), NameError> {
    let bytes = name.as_bytes();
    let Some(&first) = bytes.first() else {
        return Err(NameError::Empty);
    };
    let inner_ok = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'+';
    let last = bytes[bytes.len() - 1];
    let ok = first.is_ascii_alphabetic() && bytes.iter().all(|&b| inner_ok(b)) && last.is_ascii_alphanumeric();
    if ok { Ok(()) } else { Err(NameError::Invalid(name.to_string())) }
}

/// Tumblebug's `ToLower`: `_` and space become `-`, then lower-case. Applied to subgroup and
/// VM names.
pub fn to_lower(name: &str) -> String {
    name.replace(['_', ' '], "-").to_lowercase()
}

/// Catalog key of a spec or image: `{provider}+{region}+{name}` lower-cased (v0.8.8+).
pub fn provider_region_key(provider: &str, region: &str, name: &str) -> String {
    format!("{provider}+{region}+{name}").to_lowercase()
}

/// Name of the connection of a region: `{provider}-{region}`.
pub fn connection_name(provider: &str, region: &str) -> String {
    format!("{provider}-{region}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a", "ns01", "aws+ap-northeast-2+t3.nano".replace('.', "-").as_str(), "Abc-1", "a+b"] {
            assert_eq!(check_name(ok), Ok(()), "{ok}");
        }
        for bad in ["", "1abc", "-a", "a-", "a_b", "a b", "a.b", "a+", "é"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lower() {
        assert_eq!(to_lower("My_Group 1"), "my-group-1");
        assert_eq!(provider_region_key("AWS", "ap-northeast-2", "t3.Nano"), "aws+ap-northeast-2+t3.nano");
    }
}
