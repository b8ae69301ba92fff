//! Lookup keys. Tumblebug identifies catalog entries by `{provider}+{region}+{name}` lower-cased
//! (reference §1.1), so every lookup in this crate is case-insensitive and uses that shape.

/// Joins `parts` with `+`, lower-cased, in one allocation.
pub(crate) fn key(parts: &[&str]) -> String {
    let len = parts.iter().map(|p| p.len() + 1).sum();
    let mut out = String::with_capacity(len);
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push('+');
        }
        if part.is_ascii() {
            let start = out.len();
            out.push_str(part);
            out[start..].make_ascii_lowercase();
        } else {
            out.push_str(&part.to_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::key;

    #[test]
    fn matches_tumblebug_ids() {
        for (p, r, n) in [
            ("AWS", "ap-northeast-2", "t3.Nano"),
            ("azure", "koreacentral", "Standard_B2s"),
            ("ncp", "KR", "s2-g3"),
            ("nhn", "KR1", "Ubuntu Server 22.04 LTS"),
            ("x", "Région", "Ünïcode"),
        ] {
            assert_eq!(key(&[p, r, n]), tb_model::naming::provider_region_key(p, r, n));
        }
        assert_eq!(key(&["AWS"]), "aws");
        assert_eq!(key(&["Aws", "US-East-1"]), "aws+us-east-1");
    }
}
