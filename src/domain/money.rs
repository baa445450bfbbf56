// Money amounts as exact decimals (never floating point): parsed from decimal strings,
// compared and added exactly, printed back canonically.

use std::fmt;
use std::str::FromStr;

use super::ProblemText;
use crate::i18n::tkey;

/// Fractional digits kept.
const SCALE: u32 = 6;
const UNIT: i128 = 10i128.pow(SCALE);

/// An exact decimal with up to 6 fractional and 18 integer digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Decimal(i128);

impl Decimal {
    pub const ZERO: Decimal = Decimal(0);

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub fn checked_add(self, other: Decimal) -> Option<Decimal> {
        self.0.checked_add(other.0).map(Decimal)
    }

    /// The amount of `units` millionths (`1_500_000` → 1.50).
    pub fn from_millionths(units: i128) -> Decimal {
        Decimal(units)
    }
}

impl FromStr for Decimal {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Decimal::check(s).map_err(|p| p.english())
    }
}

impl Decimal {
    /// Parses a decimal number; what is wrong as a catalog key.
    pub fn check(s: &str) -> Result<Self, ProblemText> {
        let bad = || ProblemText::new(tkey("config.error.decimal"), &[("text", s)]);
        let t = s.trim();
        let (neg, digits) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        if digits.contains('.') && frac.is_empty() {
            return Err(bad());
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        if frac.len() > SCALE as usize {
            return Err(ProblemText::new(
                tkey("config.error.decimal_places"),
                &[("text", s), ("places", &SCALE.to_string())],
            ));
        }
        let int = int.trim_start_matches('0');
        if int.len() > 18 {
            return Err(ProblemText::new(
                tkey("config.error.too_large"),
                &[("text", s)],
            ));
        }
        let int_v: i128 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| bad())?
        };
        let mut frac_v: i128 = if frac.is_empty() {
            0
        } else {
            frac.parse().map_err(|_| bad())?
        };
        frac_v *= 10i128.pow(SCALE - frac.len() as u32);
        let v = int_v * UNIT + frac_v;
        Ok(Decimal(if neg { -v } else { v }))
    }
}

impl fmt::Display for Decimal {
    /// At least two decimal places, more only when needed: `125000.00`, `0.125`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let int = abs / UNIT as u128;
        let mut frac = format!("{:06}", abs % UNIT as u128);
        while frac.len() > 2 && frac.ends_with('0') {
            frac.pop();
        }
        write!(f, "{sign}{int}.{frac}")
    }
}

impl serde::Serialize for Decimal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// An ISO 4217-shaped currency code: three upper-case letters.
pub fn parse_currency(s: &str) -> Result<String, String> {
    check_currency(s).map_err(|p| p.english())
}

/// [`parse_currency`], saying what is wrong as a catalog key.
pub fn check_currency(s: &str) -> Result<String, ProblemText> {
    if s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(s.to_string())
    } else {
        Err(ProblemText::new(
            tkey("config.error.currency"),
            &[("text", s)],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_exactly() {
        for (input, out) in [
            ("125000.00", "125000.00"),
            ("125000", "125000.00"),
            ("0.125", "0.125"),
            ("-3.5", "-3.50"),
            ("007.10", "7.10"),
            ("0.000001", "0.000001"),
        ] {
            assert_eq!(
                input.parse::<Decimal>().unwrap().to_string(),
                out,
                "{input}"
            );
        }
        for bad in [
            "",
            "abc",
            "1.",
            ".5",
            "1e5",
            "1.0000001",
            "1,000.00",
            "+1",
            "9999999999999999999",
        ] {
            assert!(bad.parse::<Decimal>().is_err(), "{bad}");
        }
        let a: Decimal = "50000.00".parse().unwrap();
        let b: Decimal = "125000.00".parse().unwrap();
        assert!(b > a);
        assert_eq!(a.checked_add(b).unwrap().to_string(), "175000.00");
    }

    #[test]
    fn currencies() {
        assert!(parse_currency("CNY").is_ok());
        assert!(parse_currency("cny").is_err());
        assert!(parse_currency("YUAN").is_err());
    }
}
