use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{OnceCell, Semaphore};

use crate::domain::Password;
use crate::error::{Error, Result};

/// bcrypt on a bounded set of blocking threads, never on the async workers.
///
/// At most one hash per core runs at a time; further requests wait for a permit, so a burst of
/// logins or an import of a thousand students cannot starve the rest of the server.
#[derive(Clone)]
pub struct Hasher {
    cost: u32,
    permits: Arc<Semaphore>,
    /// Verified against when the IIN is unknown, so both cases cost the same.
    dummy: Arc<OnceCell<String>>,
    /// Passwords checked so far, for metrics and for proving the throttle holds.
    checks: Arc<AtomicU64>,
}

impl Hasher {
    /// A hasher at bcrypt `cost`, running as many hashes at once as the machine has cores.
    pub fn new(cost: u32) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::with_parallelism(cost, cores)
    }

    /// A hasher at bcrypt `cost` running at most `parallelism` hashes at once (at least one).
    pub fn with_parallelism(cost: u32, parallelism: usize) -> Self {
        Self {
            cost,
            permits: Arc::new(Semaphore::new(parallelism.max(1))),
            dummy: Arc::new(OnceCell::new()),
            checks: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The bcrypt cost new hashes are made with.
    pub fn cost(&self) -> u32 {
        self.cost
    }

    /// How many passwords this hasher has checked (`verify` calls that ran bcrypt).
    pub fn checks(&self) -> u64 {
        self.checks.load(Ordering::Relaxed)
    }

    /// Hashes `password` with bcrypt at this hasher's cost, off the async threads.
    pub async fn hash(&self, password: &Password) -> Result<String> {
        let pw = password.expose().to_owned();
        let cost = self.cost;
        // `Password` holds at most 72 bytes, all of which bcrypt uses. (`non_truncating_hash`
        // would refuse exactly 72, counting the terminating NUL it then cannot append.)
        self.blocking(move || bcrypt::hash(pw, cost).map_err(Error::internal))
            .await
    }

    /// Checks `password` against `hash`; with no hash (unknown user) it spends the same time and fails.
    pub async fn verify(&self, password: &Password, hash: Option<&str>) -> Result<bool> {
        let (hash, known) = match hash {
            Some(h) => (h.to_owned(), true),
            None => (self.dummy_hash().await?, false),
        };
        let pw = password.expose().to_owned();
        self.checks.fetch_add(1, Ordering::Relaxed);
        // A malformed stored hash is a failed login, not a server error.
        let ok = self
            .blocking(move || Ok(bcrypt::verify(pw, &hash).unwrap_or(false)))
            .await?;
        Ok(ok && known)
    }

    async fn dummy_hash(&self) -> Result<String> {
        self.dummy
            .get_or_try_init(|| async {
                let random = Password::random();
                self.hash(&random).await
            })
            .await
            .cloned()
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T> + Send + 'static,
    {
        let job = crate::telemetry::BcryptJob::queued();
        let _permit = self.permits.acquire().await.map_err(Error::internal)?;
        job.started();
        tokio::task::spawn_blocking(f).await.map_err(Error::internal)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made by Python's bcrypt 5.0 (`bcrypt.hashpw(b"Secret-pass-1", bcrypt.gensalt(rounds=4))`).
    const PYTHON_HASH: &str = "$2b$04$JCubIWcNxQ.ro6w2quLdYOsXBQQnYAJi4D/U0dpl9vFmmdnEmOPHi";
    /// Same, for a Cyrillic password (`"Пароль-2024".encode()`).
    const PYTHON_HASH_CYRILLIC: &str = "$2b$04$QMFv/DlnzfnpI.o3jwhhHu8j4T7NS4vQsI8.C4JPJypyJ0ODGuboy";

    fn pw(s: &str) -> Password {
        Password::presented(s).expect("valid password")
    }

    #[tokio::test]
    async fn verifies_hashes_made_by_python() {
        let h = Hasher::new(4);
        assert!(h.verify(&pw("Secret-pass-1"), Some(PYTHON_HASH)).await.expect("verify"));
        assert!(!h.verify(&pw("Secret-pass-2"), Some(PYTHON_HASH)).await.expect("verify"));
        assert!(
            h.verify(&pw("Пароль-2024"), Some(PYTHON_HASH_CYRILLIC))
                .await
                .expect("verify")
        );
    }

    #[tokio::test]
    async fn round_trip_and_unknown_user() {
        let h = Hasher::new(4);
        let hash = h.hash(&pw("correct horse")).await.expect("hash");
        assert!(hash.starts_with("$2b$04$"));
        assert!(h.verify(&pw("correct horse"), Some(&hash)).await.expect("verify"));
        assert!(!h.verify(&pw("correct horse"), None).await.expect("verify"));
        assert!(!h.verify(&pw("x"), Some("not a hash")).await.expect("verify"));
    }

    #[tokio::test]
    async fn the_longest_password_hashes_whole() {
        let h = Hasher::new(4);
        let longest = "p".repeat(Password::MAX_BYTES);
        let hash = h.hash(&pw(&longest)).await.expect("72 bytes hash");
        assert!(h.verify(&pw(&longest), Some(&hash)).await.expect("verify"));
        assert!(!h.verify(&pw(&longest[..71]), Some(&hash)).await.expect("verify"));
    }
}
