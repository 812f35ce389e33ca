use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// A 12-digit national identification number, kept as text: leading zeros matter.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "990101300123", pattern = "^[0-9]{12}$")]
pub struct Iin(String);

/// Why a string is not an IIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IinError {
    #[error("IIN must contain only digits")]
    NotDigits,
    #[error("IIN must have 12 digits, got {0}")]
    WrongLength(usize),
}

impl Iin {
    pub const LEN: usize = 12;

    /// Accepts exactly 12 ASCII digits (surrounding whitespace is ignored).
    pub fn parse(input: &str) -> Result<Self, IinError> {
        let s = input.trim();
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IinError::NotDigits);
        }
        if s.len() != Self::LEN {
            return Err(IinError::WrongLength(s.len()));
        }
        Ok(Self(s.to_owned()))
    }

    /// Restores an IIN that lost its leading zeros, as happens when a spreadsheet stores it as a number.
    pub fn from_number_text(input: &str) -> Result<Self, IinError> {
        let s = input.trim();
        let s = s.strip_suffix(".0").unwrap_or(s);
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IinError::NotDigits);
        }
        if s.len() > Self::LEN {
            return Err(IinError::WrongLength(s.len()));
        }
        Self::parse(&format!("{s:0>12}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A form safe for logs: only the last four digits.
    pub fn masked(&self) -> String {
        format!("********{}", &self.0[8..])
    }
}

impl fmt::Display for Iin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Iin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Iin({})", self.masked())
    }
}

impl<'de> Deserialize<'de> for Iin {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Iin::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keeps_leading_zeros() {
        assert_eq!(Iin::parse("000101300123").map(|i| i.0), Ok("000101300123".into()));
        assert_eq!(
            Iin::from_number_text("101300123").map(|i| i.0),
            Ok("000101300123".into())
        );
        assert_eq!(
            Iin::from_number_text("101300123.0").map(|i| i.0),
            Ok("000101300123".into())
        );
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(Iin::parse("12345678901"), Err(IinError::WrongLength(11)));
        assert_eq!(Iin::parse("1234567890123"), Err(IinError::WrongLength(13)));
        assert_eq!(Iin::parse("12345678901a"), Err(IinError::NotDigits));
        assert_eq!(Iin::parse("١٢٣٤٥٦٧٨٩٠١٢"), Err(IinError::NotDigits));
        assert_eq!(Iin::parse(""), Err(IinError::WrongLength(0)));
    }

    #[test]
    fn masks_in_debug() {
        let iin = Iin::parse("990101300123").expect("valid");
        assert_eq!(format!("{iin:?}"), "Iin(********0123)");
    }

    proptest! {
        #[test]
        fn twelve_digits_always_parse(s in "[0-9]{12}") {
            let iin = Iin::parse(&s).expect("12 digits");
            prop_assert_eq!(iin.as_str(), s.as_str());
        }

        #[test]
        fn parse_accepts_only_twelve_ascii_digits(s in "\\PC{0,20}") {
            let ok = s.trim().len() == 12 && s.trim().bytes().all(|b| b.is_ascii_digit());
            prop_assert_eq!(Iin::parse(&s).is_ok(), ok);
        }

        #[test]
        fn numbers_are_restored(n in 0u64..1_000_000_000_000u64) {
            let iin = Iin::from_number_text(&n.to_string()).expect("fits in 12 digits");
            prop_assert_eq!(iin.as_str().parse::<u64>().ok(), Some(n));
            prop_assert_eq!(iin.as_str().len(), 12);
        }

        #[test]
        fn serde_round_trip(s in "[0-9]{12}") {
            let iin = Iin::parse(&s).expect("valid");
            let json = serde_json::to_string(&iin).expect("serialize");
            let back: Iin = serde_json::from_str(&json).expect("deserialize");
            prop_assert_eq!(back, iin);
        }
    }
}
