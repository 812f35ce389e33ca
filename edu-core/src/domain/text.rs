//! Free text typed by people: names, titles, descriptions.
//!
//! One rule for every such field, on both backends: no control characters in a single line
//! (PostgreSQL cannot store NUL at all, and a tab or newline in a name breaks every list it
//! appears in), and only line breaks and tabs in multi-line text.

use thiserror::Error;

/// Why typed text was refused; `what` names the field, as in `title`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TextError {
    /// Blank after trimming, or longer than `max` characters.
    #[error("{what} must have 1 to {max} characters")]
    Length {
        /// The field's name, as people read it.
        what: &'static str,
        /// The most characters allowed.
        max: usize,
    },
    /// A control character where none is allowed (in a single line, even a tab or line break).
    #[error("{what} must not contain control characters")]
    Control {
        /// The field's name, as people read it.
        what: &'static str,
    },
}

/// For `#[serde(default, deserialize_with = …)]`: a field that was present (possibly `null`)
/// is `Some`, an absent one `None`.
pub(crate) fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(serde::Deserialize::deserialize(d)?))
}

/// A required single line: trimmed, 1 to `max` characters, no control characters.
pub fn line(value: &str, what: &'static str, max: usize) -> Result<String, TextError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(TextError::Length { what, max });
    }
    if v.chars().any(char::is_control) {
        return Err(TextError::Control { what });
    }
    Ok(v.to_owned())
}

/// An optional single line: blank is absent.
pub fn optional_line(value: Option<&str>, what: &'static str, max: usize) -> Result<Option<String>, TextError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => line(v, what, max).map(Some),
    }
}

/// Optional multi-line text: blank is absent; line breaks and tabs allowed, other control characters not.
pub fn optional_block(value: Option<&str>, what: &'static str, max: usize) -> Result<Option<String>, TextError> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v.chars().count() > max {
        return Err(TextError::Length { what, max });
    }
    if v.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(TextError::Control { what });
    }
    Ok(Some(v.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lines() {
        assert_eq!(line("  Иванов Иван ", "name", 20), Ok("Иванов Иван".into()));
        assert_eq!(line(" ", "name", 20), Err(TextError::Length { what: "name", max: 20 }));
        assert_eq!(line("a\0b", "name", 20), Err(TextError::Control { what: "name" }));
        assert_eq!(line("a\tb", "name", 20), Err(TextError::Control { what: "name" }));
        assert_eq!(
            line("ааа", "name", 3),
            Ok("ааа".into()),
            "counted in characters, not bytes"
        );
        assert_eq!(optional_line(Some("  "), "course", 5), Ok(None));
        assert_eq!(
            optional_block(Some("one\ntwo"), "description", 50),
            Ok(Some("one\ntwo".into()))
        );
        assert!(optional_block(Some("one\u{7f}"), "description", 50).is_err());
    }

    proptest! {
        #[test]
        fn accepted_text_has_no_nul_and_fits(s in any::<String>(), max in 1usize..40) {
            if let Ok(v) = line(&s, "x", max) {
                prop_assert!(!v.contains('\0'));
                prop_assert!(!v.is_empty() && v.chars().count() <= max);
            }
            if let Ok(Some(v)) = optional_block(Some(&s), "x", max) {
                prop_assert!(!v.contains('\0'));
                prop_assert!(v.chars().count() <= max);
            }
        }
    }
}
