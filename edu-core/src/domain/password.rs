use std::fmt;

/// A password as typed by a person. Never printed, never truncated.
#[derive(Clone)]
pub struct Password(String);

/// Why a password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Longer than [`Password::MAX_BYTES`] bytes in UTF-8, which bcrypt would truncate.
    #[error("password must be at most 72 bytes")]
    TooLong,
    /// Shorter than the minimum number of characters given, for a password being set.
    #[error("password must be at least {0} characters")]
    TooShort(usize),
    /// The empty string.
    #[error("password must not be empty")]
    Empty,
}

impl Password {
    /// bcrypt only reads 72 bytes; longer input is refused instead of silently truncated.
    pub const MAX_BYTES: usize = 72;
    /// The minimum for passwords that are being set.
    pub const MIN_CHARS: usize = 8;

    /// A password presented at login: any non-empty text that bcrypt can hash whole.
    pub fn presented(s: &str) -> Result<Self, PasswordError> {
        if s.is_empty() {
            return Err(PasswordError::Empty);
        }
        if s.len() > Self::MAX_BYTES {
            return Err(PasswordError::TooLong);
        }
        Ok(Self(s.to_owned()))
    }

    /// A password being set: the login rules plus the minimum length.
    pub fn new(s: &str) -> Result<Self, PasswordError> {
        let p = Self::presented(s)?;
        if s.chars().count() < Self::MIN_CHARS {
            return Err(PasswordError::TooShort(Self::MIN_CHARS));
        }
        Ok(p)
    }

    /// A random password for a new account (letters and digits, no look-alikes).
    pub fn random() -> Self {
        use rand::Rng;
        const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let mut rng = rand::rng();
        let s: String = (0..12)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect();
        Self(s)
    }

    /// The password's text, for hashing or for showing a new account's first password once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_rules() {
        assert_eq!(Password::new("short").err(), Some(PasswordError::TooShort(8)));
        assert!(Password::new("long-enough").is_ok());
        assert_eq!(Password::new(&"a".repeat(73)).err(), Some(PasswordError::TooLong));
        assert!(Password::new(&"a".repeat(72)).is_ok());
        // 37 two-byte letters are 74 bytes: over the limit although only 37 characters.
        assert_eq!(Password::presented(&"ж".repeat(37)).err(), Some(PasswordError::TooLong));
        assert_eq!(Password::presented("").err(), Some(PasswordError::Empty));
    }

    #[test]
    fn random_passwords_are_valid_and_differ() {
        let a = Password::random();
        let b = Password::random();
        assert!(Password::new(a.expose()).is_ok());
        assert_ne!(a.expose(), b.expose());
        assert_eq!(format!("{a:?}"), "Password(***)");
    }
}
