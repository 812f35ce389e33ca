use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize};

/// A 12-digit national identification number, kept as text: leading zeros matter.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "990101300123", pattern = "^[0-9]{12}$")]
pub struct Iin(String);

/// Why a string is not an IIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IinError {
    /// A character other than an ASCII digit.
    #[error("IIN must contain only digits")]
    NotDigits,
    /// Not 12 digits; holds the number of characters given.
    #[error("IIN must have 12 digits, got {0}")]
    WrongLength(usize),
    /// Digits 1–6 and 7 do not name a day of the calendar (see [`Iin::birth_date`]).
    #[error("IIN does not begin with a possible birth date")]
    ImpossibleBirthDate,
    /// The 12th digit is not the control digit of the first eleven (see [`Iin::check_digit`]).
    #[error("IIN check digit does not match")]
    BadCheckDigit,
}

impl Iin {
    /// Digits in an IIN.
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

    /// Restores an IIN that lost its leading zeros, padding whatever is short. The previous
    /// backend's database (see `legacy`) holds such values; spreadsheets use
    /// [`Iin::from_spreadsheet_number`], which pads only when the result passes the standard.
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

    /// An IIN a spreadsheet stored as a number, which drops leading zeros: twelve digits are
    /// taken as they are (checked later, like any other), fewer are padded with zeros only when the
    /// padded number passes [`Iin::verify`]. A ten-digit typo therefore stays a "wrong length"
    /// instead of becoming somebody else's IIN.
    pub fn from_spreadsheet_number(n: u64) -> Result<Self, IinError> {
        let digits = n.to_string();
        if digits.len() >= Self::LEN {
            return Self::parse(&digits);
        }
        let padded = Self(format!("{digits:0>12}"));
        match padded.verify() {
            Ok(()) => Ok(padded),
            Err(_) => Err(IinError::WrongLength(digits.len())),
        }
    }

    /// Checks the IIN against the national rules (Rules for forming the identification number,
    /// Government Decree of the Republic of Kazakhstan No. 406 of 22 May 2007): digits 1–6 are the
    /// birth date YYMMDD, digit 7 its century and the person's sex (1–2: 1800s, 3–4: 1900s, 5–6:
    /// 2000s), and digit 12 the control digit of the first eleven. Everywhere but the import
    /// only [`Iin::parse`]'s twelve digits are asked for, so service accounts such as
    /// `000000000001` keep working.
    pub fn verify(&self) -> Result<(), IinError> {
        if self.birth_date().is_none() {
            return Err(IinError::ImpossibleBirthDate);
        }
        let d = self.digits();
        let mut first = [0u8; 11];
        first.copy_from_slice(&d[..11]);
        if Self::check_digit(&first) != Some(d[11]) {
            return Err(IinError::BadCheckDigit);
        }
        Ok(())
    }

    /// The control digit of the first eleven digits: their sum weighted 1, 2, …, 11, modulo 11;
    /// when that is 10, the sum weighted 3, 4, …, 11, 1, 2, modulo 11; when that is 10 too, the
    /// number has no control digit and is never issued (`None`).
    pub fn check_digit(first: &[u8; 11]) -> Option<u8> {
        const FIRST: [u32; 11] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
        const SECOND: [u32; 11] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];
        let sum = |weights: &[u32; 11]| -> u32 {
            first.iter().zip(weights).map(|(d, w)| u32::from(*d) * w).sum::<u32>() % 11
        };
        [FIRST, SECOND]
            .iter()
            .map(sum)
            .find(|r| *r != 10)
            .and_then(|r| u8::try_from(r).ok())
    }

    /// The birth date of digits 1–6 (YYMMDD) in the century of digit 7; `None` when digit 7 is
    /// not 1–6 or the date is not in the calendar (13th month, 30 February, 29 February 1900).
    pub fn birth_date(&self) -> Option<NaiveDate> {
        let d = self.digits();
        let two = |i: usize| u32::from(d[i]) * 10 + u32::from(d[i + 1]);
        let century = match d[6] {
            1 | 2 => 1800,
            3 | 4 => 1900,
            5 | 6 => 2000,
            _ => return None,
        };
        let year = i32::try_from(two(0)).ok()? + century;
        NaiveDate::from_ymd_opt(year, two(2), two(4))
    }

    /// The twelve digits as numbers.
    fn digits(&self) -> [u8; 12] {
        let mut out = [0u8; 12];
        for (o, b) in out.iter_mut().zip(self.0.bytes()) {
            *o = b.wrapping_sub(b'0');
        }
        out
    }

    /// The IIN's 12 digits.
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
    fn the_national_rules() {
        // Published examples, one with its control digit from the second pass.
        for valid in ["791028302728", "061211600012", "861021269706"] {
            let iin = Iin::parse(valid).expect("twelve digits");
            assert_eq!(iin.verify(), Ok(()), "{valid}");
        }
        let iin = |s: &str| Iin::parse(s).expect("twelve digits");
        assert_eq!(iin("791028302728").birth_date(), NaiveDate::from_ymd_opt(1979, 10, 28));
        assert_eq!(iin("061211600012").birth_date(), NaiveDate::from_ymd_opt(2006, 12, 11));
        assert_eq!(iin("791028302727").verify(), Err(IinError::BadCheckDigit));
        // The README's administrator: twelve digits, but its control digit would be 2.
        assert_eq!(iin("990101300123").verify(), Err(IinError::BadCheckDigit));
        assert_eq!(iin("990101300122").verify(), Ok(()));
        // Month 13, 30 February, 29 February in 1900 (not a leap year) but in 2000, century 0 and 7.
        for date in [
            "791328302728",
            "790230302728",
            "000229302728",
            "791028002728",
            "791028702728",
        ] {
            assert_eq!(iin(date).verify(), Err(IinError::ImpossibleBirthDate), "{date}");
        }
        assert!(iin("000229500000").birth_date().is_some(), "2000 is a leap year");
        // Service accounts keep the plain rule everywhere else.
        assert_eq!(iin("000000000001").verify(), Err(IinError::ImpossibleBirthDate));
    }

    #[test]
    fn spreadsheet_numbers_are_padded_only_into_valid_iins() {
        // The mistyped ten digits of the fault: padding made 004051250012, a 40th month.
        assert_eq!(
            Iin::from_spreadsheet_number(4_051_250_012),
            Err(IinError::WrongLength(10))
        );
        // 061211600012 typed as a number lost its zero and gets it back.
        assert_eq!(
            Iin::from_spreadsheet_number(61_211_600_012).map(|i| i.0),
            Ok("061211600012".into())
        );
        assert_eq!(Iin::from_spreadsheet_number(1), Err(IinError::WrongLength(1)));
        // Twelve digits stay as they are; checking them is the caller's rule.
        assert_eq!(
            Iin::from_spreadsheet_number(990_101_300_123).map(|i| i.0),
            Ok("990101300123".into())
        );
        assert_eq!(
            Iin::from_spreadsheet_number(1_234_567_890_123),
            Err(IinError::WrongLength(13))
        );
    }

    #[test]
    fn masks_in_debug() {
        let iin = Iin::parse("990101300123").expect("valid");
        assert_eq!(format!("{iin:?}"), "Iin(********0123)");
    }

    /// A valid IIN: a real date, century and sex, a serial number and the computed control digit.
    fn valid_iin() -> impl Strategy<Value = Iin> {
        (0u32..100, 1u32..=12, 1u32..=31, 1u8..=6, 0u32..10_000).prop_filter_map(
            "a calendar day with a control digit",
            |(yy, mm, dd, c, serial)| {
                let first = format!("{yy:02}{mm:02}{dd:02}{c}{serial:04}");
                let century = [1800, 1800, 1900, 1900, 2000, 2000][usize::from(c - 1)];
                NaiveDate::from_ymd_opt(century + yy as i32, mm, dd)?;
                let mut digits = [0u8; 11];
                for (d, b) in digits.iter_mut().zip(first.bytes()) {
                    *d = b - b'0';
                }
                let check = Iin::check_digit(&digits)?;
                Iin::parse(&format!("{first}{check}")).ok()
            },
        )
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
        fn made_with_the_control_digit_they_pass(iin in valid_iin()) {
            prop_assert_eq!(iin.verify(), Ok(()));
        }

        /// A single mistyped digit. Weight 11 is 0 modulo 11, so the first pass never sees digit
        /// 11: a typo there passes whenever both numbers take the first pass. Every other typo is
        /// caught unless one of the two numbers needed the second pass (first sum ≡ 10).
        #[test]
        fn single_digit_typos(iin in valid_iin(), at in 0usize..12, by in 1u8..10) {
            let mut digits = iin.digits();
            digits[at] = (digits[at] + by) % 10;
            let typo: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
            let typo = Iin::parse(&typo).expect("twelve digits");
            let first_pass = |d: &[u8; 12]| d[..11].iter().zip(1u32..).map(|(d, w)| u32::from(*d) * w).sum::<u32>() % 11;
            let second_pass = first_pass(&iin.digits()) == 10 || first_pass(&digits) == 10;
            let passes = typo.verify().is_ok();
            match at {
                11 => prop_assert!(!passes, "a changed control digit is always caught"),
                10 if !second_pass && typo.birth_date().is_some() => prop_assert!(passes),
                10 => {}
                _ if !second_pass => prop_assert!(!passes, "{} → {} passed", iin.as_str(), typo.as_str()),
                _ => {}
            }
        }

        /// Numbers: twelve digits kept, shorter ones padded exactly when the result is valid, and
        /// a valid IIN that lost its zeros always comes back.
        #[test]
        fn spreadsheet_padding(n in 0u64..1_000_000_000_000u64, iin in valid_iin()) {
            let padded = Iin::parse(&format!("{n:012}")).expect("twelve digits");
            let len = n.to_string().len();
            match Iin::from_spreadsheet_number(n) {
                Ok(got) if len == 12 => prop_assert_eq!(got, padded),
                Ok(got) => {
                    prop_assert_eq!(&got, &padded);
                    prop_assert_eq!(got.verify(), Ok(()));
                }
                Err(e) => {
                    prop_assert!(len < 12 && padded.verify().is_err());
                    prop_assert_eq!(e, IinError::WrongLength(len));
                }
            }
            let number: u64 = iin.as_str().parse().expect("digits");
            prop_assert_eq!(Iin::from_spreadsheet_number(number), Ok(iin));
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
