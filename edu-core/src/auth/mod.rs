//! Who is calling, and proof of it: password hashing, tokens, the login throttle.

mod hasher;
mod principal;
pub mod throttle;
pub mod token;

pub use hasher::Hasher;
pub use principal::{Principal, SessionRef};
pub use throttle::{Attempt, KeyKind, Refused, ThrottleKey, ThrottlePolicy, ThrottleState};
pub use token::{Claims, TokenKeys};
