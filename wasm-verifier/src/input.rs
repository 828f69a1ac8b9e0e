//! Reading arguments from JavaScript without ever throwing.
//!
//! Every export takes plain `JsValue`s, because wasm-bindgen's typed parameters throw a
//! `TypeError` in the generated glue when a caller passes the wrong type. Here each value is
//! inspected with operations that cannot throw (`typeof` checks, and wasm-bindgen's
//! `instanceof`, which catches), and every JavaScript call that could run user code (a getter,
//! a `toJSON`, a proxy trap) is made through an import declared with `catch`. So no JavaScript
//! exception ever unwinds through Rust frames, and every problem becomes a reason string.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use js_sys::{ArrayBuffer, JsString, Reflect, Uint8Array};
use qed_core::Hash;
use qed_core::hash::digest;
use wasm_bindgen::prelude::*;

/// Why an argument was refused: the text of the failed result's `reason`.
pub type Reason = String;

/// Longest string accepted, in UTF-16 code units (JSON answers are a few KiB; notes at most
/// 1 MiB). Checked before the string is copied into WebAssembly memory.
pub const MAX_TEXT_UNITS: u32 = 16 << 20;

/// Largest byte array accepted (events are at most 1 MiB; `digest` hashes up to this).
pub const MAX_BYTES: u32 = 64 << 20;

/// Longest proof list accepted (a hyper proof has at most 256 hashes, an RFC 9162 proof 128).
pub const MAX_PROOF_HASHES: u32 = 256;

/// `Number.MAX_SAFE_INTEGER`: the largest integer a JS number holds exactly.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

#[wasm_bindgen]
extern "C" {
    /// A genuine `Uint8Array` we create ourselves (so it has no overridden properties).
    #[wasm_bindgen(js_name = Uint8Array)]
    type FreshBytes;

    /// `Array.isArray(value)`, declared with `catch` (it throws on a revoked proxy).
    #[wasm_bindgen(catch, js_namespace = Array, js_name = isArray)]
    fn is_array_checked(value: &JsValue) -> Result<bool, JsValue>;

    /// `new Uint8Array(source)`: for a genuine typed array this copies through internal slots
    /// without running any user code; `catch` covers detached buffers and the like.
    #[wasm_bindgen(constructor, catch, js_class = "Uint8Array")]
    fn copy_of(source: &JsValue) -> Result<FreshBytes, JsValue>;
}

/// A short description of a value's type, for reasons ("got null").
pub fn kind(v: &JsValue) -> String {
    if v.is_null() {
        "null".into()
    } else if is_uint8array(v) {
        "a Uint8Array".into()
    } else if is_array(v) {
        "an array".into()
    } else {
        // `typeof` never throws, whatever the value.
        v.js_typeof().as_string().unwrap_or_default()
    }
}

/// Whether `v` is an array (`Array.isArray`, which throws on a revoked proxy: caught).
fn is_array(v: &JsValue) -> bool {
    is_array_checked(v).unwrap_or(false)
}

/// Whether `v` is a real `Uint8Array` (or a subclass such as Node's `Buffer`): a genuine typed
/// array (`ArrayBuffer.isView`, which looks at internal slots and never throws) that is an
/// `instanceof Uint8Array` (which wasm-bindgen evaluates inside a `try`).
fn is_uint8array(v: &JsValue) -> bool {
    ArrayBuffer::is_view(v) && v.is_instance_of::<Uint8Array>()
}

/// The bytes of a `Uint8Array`, or `None` when `v` is not one.
pub fn bytes(v: &JsValue, what: &str, max: u32) -> Option<Result<Vec<u8>, Reason>> {
    if !is_uint8array(v) {
        return None;
    }
    let fresh: Uint8Array = match FreshBytes::copy_of(v) {
        Ok(f) => f.unchecked_into(),
        Err(_) => return Some(Err(format!("{what}: the Uint8Array cannot be read"))),
    };
    let len = fresh.length();
    if len > max {
        return Some(Err(format!(
            "{what} is {len} bytes long, over the {max} byte limit"
        )));
    }
    Some(Ok(fresh.to_vec()))
}

/// The text of a string, or `None` when `v` is not a string.
pub fn text(v: &JsValue, what: &str) -> Option<Result<String, Reason>> {
    let s = v.dyn_ref::<JsString>()?;
    let units = s.length();
    if units > MAX_TEXT_UNITS {
        return Some(Err(format!(
            "{what} is {units} characters long, over the {MAX_TEXT_UNITS} limit"
        )));
    }
    // Lone surrogates become U+FFFD, exactly as `TextEncoder` would encode them.
    Some(
        s.as_string()
            .ok_or_else(|| format!("{what} is not a string")),
    )
}

/// A string, or the UTF-8 text in a `Uint8Array`.
pub fn text_or_utf8(v: &JsValue, what: &str) -> Result<String, Reason> {
    if let Some(t) = text(v, what) {
        return t;
    }
    match bytes(v, what, MAX_TEXT_UNITS) {
        Some(b) => String::from_utf8(b?).map_err(|_| format!("{what} is not UTF-8")),
        None => Err(format!("{what} must be a string, got {}", kind(v))),
    }
}

/// A 32-byte hash: a `Uint8Array` of 32 bytes, or 64 hex characters.
pub fn hash(v: &JsValue, what: &str) -> Result<Hash, Reason> {
    if let Some(t) = text(v, what) {
        return qed_core::hash::from_hex(&t?)
            .ok_or_else(|| format!("{what} must be 64 hex characters"));
    }
    match bytes(v, what, MAX_BYTES) {
        Some(b) => {
            let b = b?;
            Hash::try_from(b.as_slice())
                .map_err(|_| format!("{what} must be 32 bytes, got {}", b.len()))
        }
        None => Err(format!(
            "{what} must be a Uint8Array of 32 bytes or 64 hex characters, got {}",
            kind(v)
        )),
    }
}

/// An array of 32-byte hashes (each as [`hash`] takes it).
pub fn hashes(v: &JsValue, what: &str) -> Result<Vec<Hash>, Reason> {
    if !is_array(v) {
        return Err(format!(
            "{what} must be an array of hashes, got {}",
            kind(v)
        ));
    }
    let len = Reflect::get(v, &JsValue::from_str("length"))
        .ok()
        .and_then(|l| l.as_f64())
        .filter(|l| (0.0..=f64::from(MAX_PROOF_HASHES)).contains(l))
        .ok_or_else(|| format!("{what} must hold at most {MAX_PROOF_HASHES} hashes"))?;
    // In range 0..=256 and from `length`, so the cast is exact.
    let len = len as u32;
    let mut out = Vec::with_capacity(len as usize);
    for i in 0..len {
        let item = Reflect::get_u32(v, i).map_err(|_| format!("{what}[{i}] cannot be read"))?;
        out.push(hash(&item, &format!("{what}[{i}]"))?);
    }
    Ok(out)
}

/// A size, index or version: a whole `number` from 0 to `Number.MAX_SAFE_INTEGER`, or a
/// `bigint` from 0 to 2^64 - 1.
pub fn uint(v: &JsValue, what: &str) -> Result<u64, Reason> {
    if let Some(x) = v.as_f64() {
        // The bound keeps the cast exact; NaN and infinities fail the range test.
        return if (0.0..=MAX_SAFE_INTEGER as f64).contains(&x) && x == x.trunc() {
            Ok(x as u64)
        } else {
            Err(format!(
                "{what} must be a whole number from 0 to Number.MAX_SAFE_INTEGER (a bigint beyond)"
            ))
        };
    }
    if v.is_bigint() {
        return u64::try_from(v.clone())
            .map_err(|_| format!("{what} must be a bigint from 0 to 2^64 - 1"));
    }
    Err(format!(
        "{what} must be a number or a bigint, got {}",
        kind(v)
    ))
}

/// The text of a JSON argument: a string as it is, a `Uint8Array` as UTF-8, any other object
/// through `JSON.stringify` (called with `catch`: cycles, bigints and throwing getters become a
/// reason, not an exception).
pub fn json_text(v: &JsValue, what: &str) -> Result<String, Reason> {
    if v.is_string() || is_uint8array(v) {
        return text_or_utf8(v, what);
    }
    if !v.is_object() {
        return Err(format!(
            "{what} must be an object or a JSON string, got {}",
            kind(v)
        ));
    }
    let s = js_sys::JSON::stringify(v).map_err(|_| {
        format!("{what} cannot be written as JSON (a cycle, a bigint or a throwing getter)")
    })?;
    text(&s, what).unwrap_or_else(|| Err(format!("{what} cannot be written as JSON")))
}

/// The property `name` of an object, or `undefined` (also when reading it throws).
pub fn property(v: &JsValue, name: &str) -> JsValue {
    if !v.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(v, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// The digest an event argument stands for:
/// - a `Uint8Array`: the event's bytes (hashed);
/// - a string of 64 hex characters: a digest; any other string: the event as UTF-8 (hashed);
/// - `{ digest }` (a `Uint8Array` of 32 bytes or hex) or `{ event }` (bytes or string): explicit.
pub fn event_or_digest(v: &JsValue, what: &str) -> Result<Hash, Reason> {
    if let Some(t) = text(v, what) {
        let t = t?;
        return Ok(qed_core::hash::from_hex(&t).unwrap_or_else(|| digest(t.as_bytes())));
    }
    if let Some(b) = bytes(v, what, MAX_BYTES) {
        return Ok(digest(&b?));
    }
    if v.is_object() && !is_array(v) {
        let d = property(v, "digest");
        if !d.is_undefined() {
            return hash(&d, &format!("{what}.digest"));
        }
        let e = property(v, "event");
        if !e.is_undefined() {
            return event_bytes(&e, &format!("{what}.event")).map(|b| digest(&b));
        }
    }
    Err(format!(
        "{what} must be the event (Uint8Array or string), its digest (64 hex characters), \
         {{ event }} or {{ digest }}, got {}",
        kind(v)
    ))
}

/// An event's bytes: a `Uint8Array`, or a string taken as UTF-8.
pub fn event_bytes(v: &JsValue, what: &str) -> Result<Vec<u8>, Reason> {
    if let Some(t) = text(v, what) {
        return t.map(String::into_bytes);
    }
    match bytes(v, what, MAX_BYTES) {
        Some(b) => b,
        None => Err(format!(
            "{what} must be a Uint8Array or a string, got {}",
            kind(v)
        )),
    }
}

/// Whether an optional argument was left out.
pub fn absent(v: &JsValue) -> bool {
    v.is_undefined() || v.is_null()
}

/// Prefixes a reason with the argument it is about, when it does not already name it.
pub fn about(what: &str, reason: impl ToString) -> Reason {
    format!("{what}: {}", reason.to_string())
}
