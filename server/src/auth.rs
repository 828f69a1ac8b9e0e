//! The shared secret (`-k`): writes, cluster management and Raft traffic must carry it in the
//! `Api-Key` header. Compared in constant time.

use std::sync::Arc;

use axum::http::HeaderMap;
use subtle::ConstantTimeEq;

/// The header that carries the shared secret.
pub const HEADER: &str = "Api-Key";

/// The shared secret of a cluster.
#[derive(Clone)]
pub struct ApiKey(Arc<str>);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: &str) -> ApiKey {
        ApiKey(Arc::from(key))
    }

    /// The key text (to send it).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `candidate` is the key. The comparison's time does not depend on where the two
    /// differ (only on their lengths, which subtle also hides for equal-length inputs).
    ///
    /// ```
    /// let key = qed_server::auth::ApiKey::new("secret");
    /// assert!(key.matches(b"secret"));
    /// assert!(!key.matches(b"secreT"));
    /// assert!(!key.matches(b""));
    /// ```
    pub fn matches(&self, candidate: &[u8]) -> bool {
        bool::from(self.0.as_bytes().ct_eq(candidate))
    }

    /// Whether the request headers carry the key.
    pub fn matches_header(&self, headers: &HeaderMap) -> bool {
        headers
            .get(HEADER)
            .is_some_and(|v| self.matches(v.as_bytes()))
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(..)")
    }
}
