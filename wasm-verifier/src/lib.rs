//! # qed-verifier
//!
//! The npm package `qed-verifier`: QED's proof verifiers ([`qed_core`]) compiled to WebAssembly
//! for browsers and Node. Every export takes loosely typed JavaScript values and returns a result
//! — a `boolean`, a hex `string`, or a plain `{ ok, reason?, ... }` object — and none of them
//! throws, whatever it is given (wrong types, wrong lengths, truncated notes, huge numbers,
//! `null`, `undefined`, proxies with throwing getters).
//!
//! Hashes are a `Uint8Array` of 32 bytes or 64 hex characters. Sizes, indexes and versions are
//! a `number` (a whole number up to `Number.MAX_SAFE_INTEGER`) or a `bigint` (up to 2^64 - 1);
//! results give them back as a `number`, or a `bigint` above `Number.MAX_SAFE_INTEGER`.
//!
//! The verifier key string (`<name>+<key ID>+<base64 key>`) is the only thing trusted: every
//! value in a result was read from a note that key signed, or checked by a proof against one.
//!
//! See README.md for the package, its examples and the fetch helper (`client.mjs`).
#![warn(missing_docs)]

extern crate alloc;

mod input;
mod json;
mod output;

use alloc::string::{String, ToString};
use core::cell::RefCell;

use qed_core::hash::to_hex;
use qed_core::receipt::{self, Receipt, TLOG_PROOF_HEADER};
use qed_core::snapshot::{SnapshotJson, VerifierKey};
use qed_core::verify;
use qed_core::{VerifyError, history};
use wasm_bindgen::prelude::*;

use input::{Reason, about, absent};
use output::{Out, failure};

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** A size, index or version: a `number` up to `Number.MAX_SAFE_INTEGER`, a `bigint` beyond.
 * Results use a `bigint` only for values above `Number.MAX_SAFE_INTEGER`. */
export type U64 = number | bigint;

/** A 32-byte hash: a `Uint8Array` of 32 bytes, or 64 hex characters (either case). */
export type HashInput = Uint8Array | string;

/** An event or its digest. A `Uint8Array` is the event's bytes; a string of 64 hex characters
 * is a digest, any other string is the event as UTF-8; `{ event }` and `{ digest }` say which. */
export type EventOrDigest =
  | Uint8Array
  | string
  | { event: Uint8Array | string }
  | { digest: HashInput };

/** A failed verification. `reason` says what was wrong, for people. */
export interface Failure {
  ok: false;
  reason: string;
}

/** The values of a verified signed checkpoint (a snapshot). Hashes are lowercase hex. */
export interface CheckpointInfo {
  /** The log's name (equal to the verifier key's name). */
  origin: string;
  /** The number of events in the log. */
  size: U64;
  /** RFC 9162 history tree root. */
  historyDigest: string;
  /** Sparse Merkle (hyper) tree root. */
  hyperDigest: string;
  /** Digest of the event at version `size - 1`; `null` for the empty log. */
  eventDigest: string | null;
}

export type CheckpointResult = ({ ok: true } & CheckpointInfo) | Failure;

export interface ReceiptVerified {
  ok: true;
  /** The version (0-based index) of the event. */
  version: U64;
  /** The event's digest, lowercase hex. */
  digest: string;
  /** The server's claim that the event was already in the log (not covered by the proof). */
  duplicate: boolean;
  /** The verified snapshot whose history tree includes the event. */
  checkpoint: CheckpointInfo;
}
export type ReceiptResult = ReceiptVerified | Failure;

export interface MembershipVerified {
  ok: true;
  /** Whether the event is in the log as of `queryVersion`. */
  member: boolean;
  /** The version at which the event was added (members only). */
  version?: U64;
  /** The version the answer is about. */
  queryVersion: U64;
  /** The server's verified current snapshot. */
  checkpoint: CheckpointInfo;
}
export type MembershipResult = MembershipVerified | (Failure & { member: false });

export interface IncrementalVerified {
  ok: true;
  start: U64;
  end: U64;
  /** The verified older snapshot (size `start + 1`). */
  older: CheckpointInfo;
  /** The verified newer snapshot (size `end + 1`). */
  newer: CheckpointInfo;
}
export type IncrementalResult = IncrementalVerified | Failure;

/** A snapshot as the QED HTTP API sends it (docs/API.md). Only `checkpoint` is trusted. */
export interface Snapshot {
  version: number | null;
  size: number;
  history_digest: string;
  hyper_digest: string;
  event_digest: string | null;
  checkpoint: string;
}

/** The answer to `POST /events`. */
export interface Receipt {
  version: number;
  digest: string;
  duplicate: boolean;
  snapshot: Snapshot;
  proof: string[];
}

/** The answer to `POST /proofs/membership` and `POST /proofs/digest-membership`. */
export interface MembershipAnswer {
  digest: string;
  query_version: number;
  member: boolean;
  version?: number | null;
  snapshot: Snapshot;
  hyper_proof: {
    siblings: string[];
    stop: { leaf: { key: string; version: number } } | "empty";
  };
  inclusion_proof?: string[] | null;
  consistency_proof?: string[] | null;
}

/** The answer to `POST /proofs/incremental`. */
export interface IncrementalAnswer {
  start: number;
  end: number;
  proof: string[];
}
"#;

/// The allocator: talc instead of std's dlmalloc, for a smaller module (single-threaded
/// WebAssembly only, which is what this crate is built for).
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

thread_local! {
    /// The last verifier key parsed: callers verify many answers with one key, and parsing
    /// decompresses a curve point.
    static LAST_KEY: RefCell<Option<(String, VerifierKey)>> = const { RefCell::new(None) };
}

/// Reads the trusted verifier key string, reusing the last parse when the string is the same.
fn verifier_key(v: &JsValue) -> Result<VerifierKey, Reason> {
    let text = input::text(v, "verifierKey").unwrap_or_else(|| {
        Err(alloc::format!(
            "verifierKey must be a string <name>+<key ID>+<key>, got {}",
            input::kind(v)
        ))
    })?;
    // `try_with` and `try_borrow`: the cache is an optimisation, never a reason to fail.
    let cached = LAST_KEY
        .try_with(|c| match c.try_borrow().as_deref() {
            Ok(Some((s, k))) if *s == text => Some(k.clone()),
            _ => None,
        })
        .ok()
        .flatten();
    if let Some(k) = cached {
        return Ok(k);
    }
    let key = VerifierKey::parse(&text).map_err(|e| about("verifierKey", e))?;
    let _ = LAST_KEY.try_with(|c| {
        if let Ok(mut slot) = c.try_borrow_mut() {
            *slot = Some((text, key.clone()));
        }
    });
    Ok(key)
}

/// Reads a snapshot: its JSON form (object, or text starting with `{`), or the bare signed note.
/// Only the note is kept: verifiers read every value from it once its signature verifies.
fn snapshot(v: &JsValue, what: &str) -> Result<SnapshotJson, Reason> {
    let text = input::json_text(v, what)?;
    let note = if text.trim_start().starts_with('{') {
        json::snapshot(&text)
            .map_err(|e| about(what, e))?
            .checkpoint
    } else {
        text
    };
    Ok(SnapshotJson {
        version: None,
        size: 0,
        history_digest: String::new(),
        hyper_digest: String::new(),
        event_digest: None,
        checkpoint: note,
    })
}

/// Reads a JSON argument (object or text) with one of the [`json`] readers.
fn answer<T>(v: &JsValue, what: &str, read: fn(&str) -> Result<T, Reason>) -> Result<T, Reason> {
    let text = input::json_text(v, what)?;
    read(&text).map_err(|e| about(what, e))
}

fn reason(e: VerifyError) -> Reason {
    e.to_string()
}

/// The hex SHA-256 digest of an event (protocol section 1): of the bytes of a `Uint8Array`, or
/// of the UTF-8 encoding of a string. Returns `""` for anything else (and for inputs over
/// 64 MiB), never throws.
#[wasm_bindgen(unchecked_return_type = "string")]
pub fn digest(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array | string")] event: JsValue,
) -> String {
    match input::event_bytes(&event, "event") {
        Ok(bytes) => to_hex(&qed_core::hash::digest(&bytes)),
        Err(_) => String::new(),
    }
}

/// The RFC 9162 leaf hash `SHA-256(0x00 || digest)` of an event digest, as hex: what
/// [`verify_inclusion`] takes. Returns `""` when `digest` is not a hash.
#[wasm_bindgen(js_name = leafHash, unchecked_return_type = "string")]
pub fn leaf_hash(#[wasm_bindgen(unchecked_param_type = "HashInput")] digest: JsValue) -> String {
    match input::hash(&digest, "digest") {
        Ok(d) => to_hex(&history::leaf_hash(&d)),
        Err(_) => String::new(),
    }
}

/// RFC 9162 inclusion: whether the leaf hash `leaf_hash` is at `index` in the tree of `size`
/// leaves with root `root`, by `proof` (leaf sibling first). `false` for any malformed input.
#[wasm_bindgen(js_name = verifyInclusion)]
pub fn verify_inclusion(
    #[wasm_bindgen(js_name = leafHash, unchecked_param_type = "HashInput")] leaf_hash: JsValue,
    #[wasm_bindgen(unchecked_param_type = "U64")] index: JsValue,
    #[wasm_bindgen(unchecked_param_type = "U64")] size: JsValue,
    #[wasm_bindgen(unchecked_param_type = "HashInput[]")] proof: JsValue,
    #[wasm_bindgen(unchecked_param_type = "HashInput")] root: JsValue,
) -> bool {
    let check = || -> Result<(), Reason> {
        let leaf = input::hash(&leaf_hash, "leafHash")?;
        let index = input::uint(&index, "index")?;
        let size = input::uint(&size, "size")?;
        let proof = input::hashes(&proof, "proof")?;
        let root = input::hash(&root, "root")?;
        history::verify_inclusion(&leaf, index, size, &proof, &root).map_err(reason)
    };
    check().is_ok()
}

/// RFC 9162 consistency: whether the tree of `size2` leaves with root `root2` extends the tree
/// of `size1` leaves with root `root1`, by `proof`. `false` for any malformed input.
#[wasm_bindgen(js_name = verifyConsistency)]
pub fn verify_consistency(
    #[wasm_bindgen(unchecked_param_type = "U64")] size1: JsValue,
    #[wasm_bindgen(unchecked_param_type = "U64")] size2: JsValue,
    #[wasm_bindgen(unchecked_param_type = "HashInput[]")] proof: JsValue,
    #[wasm_bindgen(unchecked_param_type = "HashInput")] root1: JsValue,
    #[wasm_bindgen(unchecked_param_type = "HashInput")] root2: JsValue,
) -> bool {
    let check = || -> Result<(), Reason> {
        let size1 = input::uint(&size1, "size1")?;
        let size2 = input::uint(&size2, "size2")?;
        let proof = input::hashes(&proof, "proof")?;
        let root1 = input::hash(&root1, "root1")?;
        let root2 = input::hash(&root2, "root2")?;
        history::verify_consistency(size1, size2, &proof, &root1, &root2).map_err(reason)
    };
    check().is_ok()
}

/// Verifies a signed snapshot (C2SP signed note with a QED tlog-checkpoint) by the trusted
/// verifier key and returns its values. `note` is the note text, or a snapshot in its JSON
/// form (object or text), whose `checkpoint` note is then the one verified.
#[wasm_bindgen(js_name = verifyCheckpoint, unchecked_return_type = "CheckpointResult")]
pub fn verify_checkpoint(
    #[wasm_bindgen(unchecked_param_type = "string | Snapshot")] note: JsValue,
    #[wasm_bindgen(js_name = verifierKey, unchecked_param_type = "string")] verifier_key: JsValue,
) -> JsValue {
    let check = || -> Result<JsValue, Reason> {
        let snapshot = snapshot(&note, "note")?;
        let key = self::verifier_key(&verifier_key)?;
        let cp = snapshot.open(&key).map_err(reason)?;
        Ok(Out::ok().checkpoint_fields(&cp).into())
    };
    check().unwrap_or_else(failure)
}

/// Verifies a receipt (the answer to an add) with nothing but the trusted verifier key: the
/// snapshot's signature, that it covers the version, and the inclusion proof. `receipt` is the
/// JSON receipt (object or text) or a c2sp.org/tlog-proof text. With `eventOrDigest`, also
/// checks that the receipt is about that event (a tlog-proof without an `extra` line needs it).
#[wasm_bindgen(js_name = verifyReceipt, unchecked_return_type = "ReceiptResult")]
pub fn verify_receipt(
    #[wasm_bindgen(unchecked_param_type = "Receipt | string")] receipt: JsValue,
    #[wasm_bindgen(js_name = verifierKey, unchecked_param_type = "string")] verifier_key: JsValue,
    #[wasm_bindgen(js_name = eventOrDigest, unchecked_optional_param_type = "EventOrDigest | null")]
    event_or_digest: JsValue,
) -> JsValue {
    let check = || -> Result<JsValue, Reason> {
        let expected = if absent(&event_or_digest) {
            None
        } else {
            Some(input::event_or_digest(&event_or_digest, "eventOrDigest")?)
        };
        let text = input::json_text(&receipt, "receipt")?;
        let parsed = if text.starts_with(TLOG_PROOF_HEADER) {
            Receipt::from_tlog_proof(&text, expected.as_ref()).map_err(reason)?
        } else if text.trim_start().starts_with('{') {
            json::receipt(&text).map_err(|e| about("receipt", e))?
        } else {
            return Err("receipt must be a JSON receipt or a c2sp.org/tlog-proof text".into());
        };
        let key = self::verifier_key(&verifier_key)?;
        let verdict = match &expected {
            Some(d) => receipt::verify_receipt_for(&parsed, &key, d),
            None => receipt::verify_receipt(&parsed, &key),
        }
        .map_err(reason)?;
        Ok(Out::ok()
            .uint("version", verdict.version)
            .hex("digest", &parsed.digest)
            .bool("duplicate", parsed.duplicate)
            .checkpoint("checkpoint", &verdict.checkpoint)
            .into())
    };
    check().unwrap_or_else(failure)
}

/// Verifies a membership answer about an event (protocol section 5). `snapshot` is the signed
/// snapshot of size `query_version + 1` the caller trusts (from a snapshot store), or `null` to
/// check the answer against its own snapshot (a question about the latest version). Checks
/// both signatures, the consistency between the two snapshots, the hyper proof, and for a
/// member the inclusion proof; the answer's claims must agree with its proofs.
#[wasm_bindgen(js_name = verifyMembership, unchecked_return_type = "MembershipResult")]
pub fn verify_membership(
    #[wasm_bindgen(unchecked_param_type = "MembershipAnswer | string")] answer: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Snapshot | string | null")] snapshot: JsValue,
    #[wasm_bindgen(js_name = verifierKey, unchecked_param_type = "string")] verifier_key: JsValue,
    #[wasm_bindgen(js_name = eventOrDigest, unchecked_param_type = "EventOrDigest")]
    event_or_digest: JsValue,
) -> JsValue {
    let check = || -> Result<JsValue, Reason> {
        let parsed = self::answer(&answer, "answer", json::membership)?;
        let held = if absent(&snapshot) {
            None
        } else {
            Some(self::snapshot(&snapshot, "snapshot")?)
        };
        let key = self::verifier_key(&verifier_key)?;
        let digest = input::event_or_digest(&event_or_digest, "eventOrDigest")?;
        let verdict =
            verify::verify_membership(&parsed, held.as_ref(), &key, &digest).map_err(reason)?;
        let mut out = Out::ok().bool("member", verdict.member);
        if let Some(v) = verdict.version {
            out = out.uint("version", v);
        }
        Ok(out
            .uint("queryVersion", verdict.query_version)
            .checkpoint("checkpoint", &verdict.checkpoint)
            .into())
    };
    check().unwrap_or_else(|r| Out::fail(&r).bool("member", false).into())
}

/// Verifies an incremental answer (the consistency proof between versions `start` and `end`)
/// against the two signed snapshots it connects, of sizes `start + 1` and `end + 1`.
#[wasm_bindgen(js_name = verifyIncremental, unchecked_return_type = "IncrementalResult")]
pub fn verify_incremental(
    #[wasm_bindgen(unchecked_param_type = "IncrementalAnswer | string")] answer: JsValue,
    #[wasm_bindgen(js_name = oldSnapshot, unchecked_param_type = "Snapshot | string")]
    old_snapshot: JsValue,
    #[wasm_bindgen(js_name = newSnapshot, unchecked_param_type = "Snapshot | string")]
    new_snapshot: JsValue,
    #[wasm_bindgen(js_name = verifierKey, unchecked_param_type = "string")] verifier_key: JsValue,
) -> JsValue {
    let check = || -> Result<JsValue, Reason> {
        let parsed = self::answer(&answer, "answer", json::incremental)?;
        let old = snapshot(&old_snapshot, "oldSnapshot")?;
        let new = snapshot(&new_snapshot, "newSnapshot")?;
        let key = self::verifier_key(&verifier_key)?;
        let (older, newer) =
            verify::verify_incremental(&parsed, &old, &new, &key).map_err(reason)?;
        Ok(Out::ok()
            .uint("start", parsed.start)
            .uint("end", parsed.end)
            .checkpoint("older", &older)
            .checkpoint("newer", &newer)
            .into())
    };
    check().unwrap_or_else(failure)
}
