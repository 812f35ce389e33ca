use std::fmt;

use serde::Serialize;

/// A phone number normalised to `+` and digits.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Phone(String);

/// A phone number with fewer than 10 or more than 15 digits, or characters other than digits,
/// separators and a leading `+`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("phone must be 10 to 15 digits, optionally starting with +")]
pub struct PhoneError;

impl Phone {
    /// Accepts digits with common separators (spaces, dashes, dots, parentheses) and an optional leading `+`.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let s = input.trim();
        let (plus, rest) = match s.strip_prefix('+') {
            Some(r) => (true, r),
            None => (false, s),
        };
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '(' | ')' | '.' => {}
                _ => return Err(PhoneError),
            }
        }
        if !(10..=15).contains(&digits.len()) {
            return Err(PhoneError);
        }
        Ok(Self(if plus { format!("+{digits}") } else { digits }))
    }

    /// The number: digits, with a leading `+` when one was given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone(…{})", &self.0[self.0.len().saturating_sub(2)..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises() {
        assert_eq!(
            Phone::parse("+7 (701) 123-45-67").map(|p| p.0),
            Ok("+77011234567".into())
        );
        assert_eq!(Phone::parse("87011234567").map(|p| p.0), Ok("87011234567".into()));
        assert!(Phone::parse("12345").is_err());
        assert!(Phone::parse("+7 701 abc").is_err());
        assert!(Phone::parse("").is_err());
    }
}
