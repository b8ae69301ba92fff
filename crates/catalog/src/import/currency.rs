//! Conversion of the local-currency prices found in `cloudspec.csv` (NHN and KT rows are in
//! KRW) to the catalog's USD.

/// Units of each supported currency per US dollar. Approximate averages of 2025: catalog
/// prices are indicative list prices, and a few percent of exchange-rate drift does not change
/// which spec is cheapest within a provider.
pub const UNITS_PER_USD: &[(&str, f64)] = &[("USD", 1.0), ("KRW", 1400.0), ("JPY", 150.0), ("CNY", 7.2), ("EUR", 0.92)];

/// `amount` in `currency` (code, any case; empty means USD) as USD, or `None` when the currency
/// is not supported.
pub fn to_usd(amount: f64, currency: &str) -> Option<f64> {
    let code = if currency.is_empty() { "USD" } else { currency };
    UNITS_PER_USD.iter().find(|(c, _)| c.eq_ignore_ascii_case(code)).map(|(_, units)| amount / units)
}

#[cfg(test)]
mod tests {
    use super::to_usd;

    #[test]
    fn converts_known_currencies_only() {
        assert_eq!(to_usd(0.5, ""), Some(0.5));
        assert_eq!(to_usd(0.5, "usd"), Some(0.5));
        assert_eq!(to_usd(1400.0, "KRW"), Some(1.0));
        assert_eq!(to_usd(1.0, "XYZ"), None);
    }
}
