//! The JSON objects of the HTTP API (docs/API.md) that are not answers to verify, and the serde
//! helpers that give every hash its one JSON form: 64 lowercase hex characters.
//!
//! The answers themselves ([`Receipt`](crate::receipt::Receipt),
//! [`MembershipAnswer`](crate::verify::MembershipAnswer),
//! [`IncrementalAnswer`](crate::verify::IncrementalAnswer),
//! [`SnapshotJson`](crate::snapshot::SnapshotJson)) live beside their verifiers and derive serde
//! with this feature. Parse any of them from text with [`from_str`], which never panics and maps
//! every decoding problem to [`VerifyError::Malformed`].

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::VerifyError;

/// Largest JSON text the verifiers accept (a membership answer is a few KiB; a bulk answer with
/// proofs for 10,000 events stays well below this).
pub const MAX_JSON_BYTES: usize = 64 << 20;

/// Decodes a JSON object, turning every failure into a [`VerifyError::Malformed`] with serde's
/// explanation (which names the offending field and position).
///
/// ```
/// # #[cfg(feature = "serde")] {
/// let req: qed_core::json::Incremental = qed_core::json::from_str(r#"{"start":0,"end":3}"#).unwrap();
/// assert_eq!((req.start, req.end), (0, 3));
/// assert!(qed_core::json::from_str::<qed_core::json::Incremental>("{").is_err());
/// # }
/// ```
pub fn from_str<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, VerifyError> {
    if text.len() > MAX_JSON_BYTES {
        return Err(VerifyError::Malformed(format!(
            "JSON text of {} bytes is over the {} byte limit",
            text.len(),
            MAX_JSON_BYTES
        )));
    }
    serde_json::from_str(text).map_err(|e| VerifyError::Malformed(format!("{e}")))
}

/// Encodes a value as compact JSON.
pub fn to_string<T: Serialize>(value: &T) -> String {
    // Serialising our own plain structs into a String cannot fail: no maps with non-string keys,
    // no I/O. Fall back to an empty object rather than panic if that ever changes.
    serde_json::to_string(value).unwrap_or_else(|_| String::from("{}"))
}

/// `POST /events`: one event (base64) or one digest (hex); exactly one of the two.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddEvent {
    /// The event bytes, base64 (standard, padded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// The SHA-256 digest of the event, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// `POST /events/bulk`: up to 10,000 events (base64) or digests (hex); exactly one of the lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddBulk {
    /// Event bytes, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
    /// Event digests, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digests: Option<Vec<String>>,
}

/// `POST /proofs/membership` (`event`, base64) and `POST /proofs/digest-membership` (`digest`,
/// hex), each with an optional `version` (omitted: the latest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Membership {
    /// The event bytes, base64 (membership by event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// The event digest, hex (membership by digest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The version to ask about; omitted means the latest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

/// `POST /proofs/incremental`: the consistency proof between versions `start <= end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incremental {
    /// The older version.
    pub start: u64,
    /// The newer version.
    pub end: u64,
}

/// The body of every 4xx and 5xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong, for people.
    pub error: String,
}

/// Serde form of one hash: 64 lowercase hex characters (`#[serde(with = "qed_core::json::hex")]`).
pub mod hex {
    use crate::Hash;
    use core::fmt;
    use serde::Serializer;
    use serde::de::{self, Deserializer, Visitor};

    /// Writes the hash as lowercase hex.
    pub fn serialize<S: Serializer>(h: &Hash, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(crate::hash::HexDigits::new(h).as_str())
    }

    /// Reads a 64-character hex string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Hash, D::Error> {
        d.deserialize_str(HexVisitor)
    }

    /// Decodes the string where the parser holds it: no `String` per hash.
    pub(super) struct HexVisitor;

    impl Visitor<'_> for HexVisitor {
        type Value = Hash;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("64 hex characters")
        }

        fn visit_str<E: de::Error>(self, s: &str) -> Result<Hash, E> {
            crate::hash::from_hex(s).ok_or_else(|| E::custom("expected 64 hex characters"))
        }
    }
}

/// Serde form of a list of hashes (proofs): a JSON array of hex strings.
pub mod hex_list {
    use super::*;
    use crate::Hash;
    use core::fmt;
    use serde::de::{self, Deserializer, SeqAccess, Visitor};
    use serde::{Serializer, ser::SerializeSeq};

    /// Largest proof list accepted: hyper proofs hold at most 256 hashes, RFC 9162 proofs at
    /// most 2 × 64.
    pub const MAX_HASHES: usize = 256;

    /// Writes the hashes as an array of lowercase hex strings.
    pub fn serialize<S: Serializer>(list: &[Hash], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(list.len()))?;
        for h in list {
            seq.serialize_element(crate::hash::HexDigits::new(h).as_str())?;
        }
        seq.end()
    }

    /// Reads an array of 64-character hex strings.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Hash>, D::Error> {
        d.deserialize_seq(ListVisitor)
    }

    /// One element: a hash decoded by [`hex::HexVisitor`].
    struct Element(Hash);

    impl<'de> Deserialize<'de> for Element {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Element, D::Error> {
            d.deserialize_str(super::hex::HexVisitor).map(Element)
        }
    }

    /// Decodes element by element, refusing a list longer than [`MAX_HASHES`] as soon as it
    /// gets there.
    struct ListVisitor;

    impl<'de> Visitor<'de> for ListVisitor {
        type Value = Vec<Hash>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array of hashes, 64 hex characters each")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Hash>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_HASHES));
            while let Some(Element(h)) = seq.next_element()? {
                if out.len() == MAX_HASHES {
                    return Err(de::Error::custom("proof has more than 256 hashes"));
                }
                out.push(h);
            }
            Ok(out)
        }
    }
}

/// Serde form of an optional list of hashes: absent or `null`, or an array of hex strings.
pub mod hex_list_opt {
    use super::*;
    use crate::Hash;
    use serde::{Deserializer, Serializer};

    /// Writes `null` or an array of lowercase hex strings.
    pub fn serialize<S: Serializer>(list: &Option<Vec<Hash>>, s: S) -> Result<S::Ok, S::Error> {
        match list {
            Some(l) => super::hex_list::serialize(l, s),
            None => s.serialize_none(),
        }
    }

    /// Reads `null` or an array of 64-character hex strings.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Hash>>, D::Error> {
        #[derive(Deserialize)]
        struct Wrap(#[serde(with = "super::hex_list")] Vec<Hash>);
        Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
    }
}
