//! The one error type of the client: what failed (HTTP status and the server's message,
//! transport, decoding, redirects, verification) and whether a retry may help.

use http::StatusCode;
use qed_core::VerifyError;

/// Why a request to a QED node failed, or why its answer was rejected.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The node answered with an error status; `message` is the `error` field of its JSON body
    /// (or the raw body when it is not the documented JSON).
    #[error("{url} answered HTTP {status}: {message}")]
    Http {
        /// The HTTP status code.
        status: u16,
        /// The URL that answered.
        url: String,
        /// The server's explanation.
        message: String,
    },
    /// The node could not be reached, or the connection broke before the answer was complete.
    #[error("cannot reach {url}: {source}")]
    Transport {
        /// The URL of the failed request.
        url: String,
        /// The underlying connection or HTTP error (or the request's time limit).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The answer was not the JSON object (or text) the API documents.
    #[error("cannot decode the answer of {url}: {message}")]
    Decode {
        /// The URL that answered.
        url: String,
        /// What could not be decoded, and why.
        message: String,
    },
    /// A redirect without a usable `Location`, or more hops than allowed.
    #[error("redirect error at {url}: {message}")]
    Redirect {
        /// The URL that redirected.
        url: String,
        /// What was wrong with the redirect.
        message: String,
    },
    /// An endpoint that is not an `http://` or `https://` URL (or `host:port`).
    #[error("invalid endpoint {endpoint:?}: {message}")]
    Endpoint {
        /// The endpoint as given.
        endpoint: String,
        /// Why it cannot be used.
        message: String,
    },
    /// The request could not be made from the arguments given (for example no endpoint at all).
    #[error("invalid request: {0}")]
    Request(String),
    /// The answer arrived but does not verify against the trusted verifier key.
    #[error("verification failed: {0}")]
    Verify(#[from] VerifyError),
}

impl ClientError {
    /// The HTTP status of an error answer, if the node answered at all.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True when another attempt (possibly on another node) may succeed: the node was unreachable,
    /// the connection broke, or it answered 502/503/504 (no leader known, election under way).
    /// Every QED request is idempotent (adds of a known digest answer its first version), so
    /// retrying a write whose answer was lost is safe.
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Transport { .. } => true,
            ClientError::Http { status, .. } => matches!(
                StatusCode::from_u16(*status),
                Ok(StatusCode::BAD_GATEWAY
                    | StatusCode::SERVICE_UNAVAILABLE
                    | StatusCode::GATEWAY_TIMEOUT)
            ),
            _ => false,
        }
    }

    /// True when the answer was received but failed verification (as opposed to any failure to
    /// get an answer).
    pub fn is_verification_failure(&self) -> bool {
        matches!(self, ClientError::Verify(_))
    }
}
