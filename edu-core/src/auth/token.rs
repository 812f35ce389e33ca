//! Access tokens (JWT) and refresh tokens (opaque, stored hashed).

use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::Iin;
use crate::error::{Error, Result};

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user's IIN.
    pub sub: String,
    /// The user's id: an IIN reused by a later account does not inherit earlier tokens.
    pub uid: i64,
    /// Expiry, in seconds since the Unix epoch.
    pub exp: i64,
    /// Issue time, in seconds since the Unix epoch.
    pub iat: i64,
    /// The user's token version when issued; bumping it revokes every earlier token.
    pub ver: i64,
    /// The session (refresh-token family) the token belongs to; a password change keeps the
    /// caller's session alive. Absent in tokens issued outside a session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// The algorithms accepted for `ALGORITHM`: the HMAC family only.
pub fn parse_algorithm(s: &str) -> Option<Algorithm> {
    match s.trim() {
        "HS256" => Some(Algorithm::HS256),
        "HS384" => Some(Algorithm::HS384),
        "HS512" => Some(Algorithm::HS512),
        _ => None,
    }
}

/// Signs and verifies access tokens with one pinned algorithm.
#[derive(Clone)]
pub struct TokenKeys {
    algorithm: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    access_ttl: Duration,
}

impl TokenKeys {
    /// Keys for `secret` signing and verifying with `algorithm` only; access tokens live `access_ttl` (5 seconds of clock leeway on expiry).
    pub fn new(secret: &[u8], algorithm: Algorithm, access_ttl: Duration) -> Self {
        let mut validation = Validation::new(algorithm);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        Self {
            algorithm,
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            access_ttl,
        }
    }

    /// How long an access token is valid after it is issued.
    pub fn access_ttl(&self) -> Duration {
        self.access_ttl
    }

    /// A token outside any session.
    pub fn issue(&self, iin: &Iin, uid: i64, version: i64, now: DateTime<Utc>) -> Result<String> {
        self.issue_in_session(iin, uid, version, None, now)
    }

    /// A token of the session `sid` (its refresh-token family).
    pub fn issue_in_session(
        &self,
        iin: &Iin,
        uid: i64,
        version: i64,
        sid: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<String> {
        let ttl = i64::try_from(self.access_ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let claims = Claims {
            sub: iin.as_str().to_owned(),
            uid,
            iat: now.timestamp(),
            exp: now.timestamp().saturating_add(ttl),
            ver: version,
            sid: sid.map(str::to_owned),
        };
        jsonwebtoken::encode(&Header::new(self.algorithm), &claims, &self.encoding).map_err(Error::internal)
    }

    /// Checks signature, algorithm and expiry. Whether the user and version still hold is the caller's check.
    pub fn verify(&self, token: &str) -> Result<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                // Claims are validated after the signature: only a token we signed gets here.
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => Error::TokenExpired,
                _ => {
                    tracing::debug!(error = %e, "rejected access token");
                    Error::Unauthorized("could not validate credentials".into())
                }
            })
    }
}

/// A fresh opaque refresh token: 256 random bits, URL-safe.
pub fn new_refresh_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Only this digest is stored, so a leaked table cannot be replayed.
pub fn refresh_token_digest(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn keys(secret: &[u8]) -> TokenKeys {
        TokenKeys::new(secret, Algorithm::HS256, Duration::from_secs(1800))
    }

    fn iin() -> Iin {
        Iin::parse("990101300123").expect("valid")
    }

    #[test]
    fn rejects_wrong_key_and_alg_none() {
        let token = keys(b"secret-one").issue(&iin(), 1, 0, Utc::now()).expect("issue");
        assert!(keys(b"secret-two").verify(&token).is_err());

        // Same claims, "alg":"none" and no signature.
        let payload = token.split('.').nth(1).expect("payload");
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert!(keys(b"secret-one").verify(&format!("{header}.{payload}.")).is_err());

        // HS512 token presented to an HS256-pinned verifier.
        let other = TokenKeys::new(b"secret-one", Algorithm::HS512, Duration::from_secs(60));
        let t512 = other.issue(&iin(), 1, 0, Utc::now()).expect("issue");
        assert!(keys(b"secret-one").verify(&t512).is_err());
    }

    #[test]
    fn rejects_expired_and_tampered() {
        let k = keys(b"secret");
        let old = k
            .issue(&iin(), 1, 0, Utc::now() - chrono::Duration::hours(2))
            .expect("issue");
        assert!(k.verify(&old).is_err());

        let token = k.issue(&iin(), 1, 0, Utc::now()).expect("issue");
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
            r#"{{"sub":"000000000000","uid":1,"exp":{},"iat":0,"ver":0}}"#,
            i64::MAX / 4
        ));
        parts[1] = forged;
        assert!(k.verify(&parts.join(".")).is_err());
    }

    #[test]
    fn only_hmac_algorithms() {
        assert_eq!(parse_algorithm("HS384"), Some(Algorithm::HS384));
        assert_eq!(parse_algorithm("RS256"), None);
        assert_eq!(parse_algorithm("none"), None);
    }

    proptest! {
        #[test]
        fn round_trip(digits in "[0-9]{12}", ver in 0i64..1_000_000, secret in prop::collection::vec(any::<u8>(), 16..64)) {
            let k = keys(&secret);
            let iin = Iin::parse(&digits).expect("valid");
            let now = Utc::now();
            let claims = k.verify(&k.issue(&iin, 7, ver, now).expect("issue")).expect("verify");
            prop_assert_eq!(claims.sub, digits);
            prop_assert_eq!(claims.ver, ver);
            prop_assert_eq!(claims.iat, now.timestamp());
            prop_assert_eq!(claims.exp, now.timestamp() + 1800);
            prop_assert_eq!(claims.sid, None);
            let in_session = k.issue_in_session(&iin, 7, ver, Some("family"), now).expect("issue");
            let sid = k.verify(&in_session).expect("verify").sid;
            prop_assert_eq!(sid.as_deref(), Some("family"));
        }

        #[test]
        fn refresh_digests_differ(a in "[A-Za-z0-9_-]{43}", b in "[A-Za-z0-9_-]{43}") {
            prop_assume!(a != b);
            prop_assert_ne!(refresh_token_digest(&a), refresh_token_digest(&b));
            prop_assert_eq!(refresh_token_digest(&a).len(), 64);
        }
    }
}
