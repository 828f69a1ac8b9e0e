//! Decoding and validating request bodies: every problem becomes a 4xx [`ApiError`] that names
//! the field.

use axum::body::Bytes;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use qed_core::Hash;
use serde::de::DeserializeOwned;

use crate::api::error::ApiError;

/// Largest event, in bytes (protocol section 1).
pub const MAX_EVENT_BYTES: usize = 1 << 20;
/// Most events or digests in one bulk request.
pub const MAX_BULK: usize = 10_000;
/// Largest request body.
pub const MAX_BODY_BYTES: usize = 16 << 20;

/// Parses a JSON body (400 with serde's explanation, which names the field and position).
pub fn json<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "the request body is empty; a JSON object is expected",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

/// The digest of a base64 event, checking its size (1 byte to 1 MiB).
pub fn event_digest(field: &str, b64: &str) -> Result<Hash, ApiError> {
    // Reject oversized events before decoding them: base64 takes 4 characters per 3 bytes.
    if b64.len() > MAX_EVENT_BYTES.div_ceil(3).saturating_mul(4) {
        return Err(ApiError::too_large(format!(
            "{field}: the event is over 1 MiB"
        )));
    }
    let bytes = B64.decode(b64).map_err(|e| {
        ApiError::bad_request(format!(
            "{field}: not valid base64 (standard alphabet, padded): {e}"
        ))
    })?;
    if bytes.is_empty() {
        return Err(ApiError::bad_request(format!(
            "{field}: the event is empty"
        )));
    }
    if bytes.len() > MAX_EVENT_BYTES {
        return Err(ApiError::too_large(format!(
            "{field}: the event is over 1 MiB"
        )));
    }
    Ok(qed_core::hash::digest(&bytes))
}

/// A hex digest (64 hex characters).
pub fn hex_digest(field: &str, hex: &str) -> Result<Hash, ApiError> {
    qed_core::hash::from_hex(hex)
        .ok_or_else(|| ApiError::bad_request(format!("{field}: a digest is 64 hex characters")))
}

/// Exactly one of `event` (base64) and `digest` (hex), as a digest.
pub fn one_of(event: Option<&str>, digest: Option<&str>) -> Result<Hash, ApiError> {
    match (event, digest) {
        (Some(e), None) => event_digest("event", e),
        (None, Some(d)) => hex_digest("digest", d),
        (Some(_), Some(_)) => Err(ApiError::bad_request(
            "give either `event` or `digest`, not both",
        )),
        (None, None) => Err(ApiError::bad_request(
            "missing field: `event` (base64) or `digest` (hex)",
        )),
    }
}

/// The digests of a bulk request: exactly one of the lists, 1 to [`MAX_BULK`] items.
pub fn bulk(events: Option<&[String]>, digests: Option<&[String]>) -> Result<Vec<Hash>, ApiError> {
    let (items, is_event) = match (events, digests) {
        (Some(e), None) => (e, true),
        (None, Some(d)) => (d, false),
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "give either `events` or `digests`, not both",
            ));
        }
        (None, None) => {
            return Err(ApiError::bad_request(
                "missing field: `events` (base64) or `digests` (hex)",
            ));
        }
    };
    let name = if is_event { "events" } else { "digests" };
    if items.is_empty() {
        return Err(ApiError::bad_request(format!(
            "`{name}` is empty; send 1 to {MAX_BULK} items"
        )));
    }
    if items.len() > MAX_BULK {
        return Err(ApiError::too_large(format!(
            "`{name}` has {} items; at most {MAX_BULK} are allowed",
            items.len()
        )));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let field = format!("{name}[{i}]");
            if is_event {
                event_digest(&field, s)
            } else {
                hex_digest(&field, s)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn events_are_sized_and_decoded() {
        assert_eq!(
            event_digest("e", "aGVsbG8=").unwrap(),
            qed_core::hash::digest(b"hello")
        );
        assert_eq!(
            event_digest("e", "").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            event_digest("e", "!!!").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        let max = B64.encode(vec![7u8; MAX_EVENT_BYTES]);
        assert!(event_digest("e", &max).is_ok());
        let over = B64.encode(vec![7u8; MAX_EVENT_BYTES + 1]);
        assert_eq!(
            event_digest("e", &over).unwrap_err().status,
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }

    #[test]
    fn bulk_limits() {
        let d = "00".repeat(32);
        assert_eq!(
            bulk(None, Some(std::slice::from_ref(&d))).unwrap(),
            vec![[0u8; 32]]
        );
        assert_eq!(
            bulk(None, Some(&[])).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            bulk(None, None).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        let many = vec![d.clone(); MAX_BULK + 1];
        assert_eq!(
            bulk(None, Some(&many)).unwrap_err().status,
            StatusCode::PAYLOAD_TOO_LARGE
        );
        let err = bulk(None, Some(&[d.clone(), "zz".into()])).unwrap_err();
        assert!(err.message.contains("digests[1]"), "{}", err.message);
    }
}
