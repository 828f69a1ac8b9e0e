//! Helpers shared by the wasm-bindgen-test suites: reading result objects, making JS values.
#![allow(dead_code)]

use js_sys::{Function, JSON, Reflect, Uint8Array};
use qed_core::Hash;
use qed_core::log::MemoryLog;
use qed_core::snapshot::Signer;
use wasm_bindgen::JsValue;

/// `obj[key]`.
pub fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).expect("Reflect.get")
}

/// `obj.ok`, which must be a boolean.
pub fn ok(obj: &JsValue) -> bool {
    get(obj, "ok").as_bool().expect("result.ok is a boolean")
}

/// Asserts a successful result and returns it.
#[track_caller]
pub fn assert_ok(obj: &JsValue, what: &str) -> JsValue {
    assert!(
        ok(obj),
        "{what}: expected ok, got reason {:?}",
        get(obj, "reason").as_string()
    );
    assert!(
        get(obj, "reason").is_undefined(),
        "{what}: ok result has a reason"
    );
    obj.clone()
}

/// Asserts a failed result with a non-empty reason and returns the reason.
#[track_caller]
pub fn assert_fail(obj: &JsValue, what: &str) -> String {
    assert!(
        obj.is_object(),
        "{what}: the result is not an object: {obj:?}"
    );
    assert!(!ok(obj), "{what}: expected a failure, got ok");
    let reason = get(obj, "reason").as_string().expect("reason is a string");
    assert!(!reason.is_empty(), "{what}: empty reason");
    reason
}

/// Asserts a failure whose reason contains `needle`.
#[track_caller]
pub fn assert_fail_with(obj: &JsValue, needle: &str, what: &str) {
    let reason = assert_fail(obj, what);
    assert!(
        reason.contains(needle),
        "{what}: reason {reason:?} does not mention {needle:?}"
    );
}

pub fn str_of(obj: &JsValue, key: &str) -> String {
    get(obj, key)
        .as_string()
        .unwrap_or_else(|| panic!("{key} is not a string"))
}

pub fn num_of(obj: &JsValue, key: &str) -> f64 {
    get(obj, key)
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number"))
}

pub fn bytes(b: &[u8]) -> JsValue {
    Uint8Array::from(b).into()
}

pub fn s(text: &str) -> JsValue {
    JsValue::from_str(text)
}

pub fn n(x: f64) -> JsValue {
    JsValue::from_f64(x)
}

pub fn big(x: u64) -> JsValue {
    JsValue::from(x)
}

/// `JSON.parse(text)`.
pub fn parse(text: &str) -> JsValue {
    JSON::parse(text).expect("JSON.parse")
}

/// Evaluates a JavaScript expression (to make values Rust cannot: proxies, symbols...).
pub fn js(expr: &str) -> JsValue {
    Function::new_no_args(&format!("return ({expr});"))
        .call0(&JsValue::NULL)
        .expect("JS expression")
}

pub fn hash_js(h: &Hash) -> JsValue {
    bytes(h)
}

pub fn hashes_js(list: &[Hash]) -> JsValue {
    let arr = js_sys::Array::new();
    for h in list {
        arr.push(&bytes(h));
    }
    arr.into()
}

pub fn hashes_hex(list: &[Hash]) -> JsValue {
    let arr = js_sys::Array::new();
    for h in list {
        arr.push(&s(&qed_core::hash::to_hex(h)));
    }
    arr.into()
}

pub const ORIGIN: &str = "example.com/wasm-tests";

/// The text of event `i`.
pub fn event(i: u64) -> String {
    format!("event {i}")
}

pub fn ev(i: u64) -> Hash {
    qed_core::hash::digest(event(i).as_bytes())
}

/// A log of `n` events committed one by one (so every size has a signed snapshot), and its
/// verifier key string.
pub fn log(n: u64) -> (MemoryLog, String) {
    let signer = Signer::new(ORIGIN, &[42; 32]).expect("signer");
    let key = signer.verifier_key().to_string();
    let mut log = MemoryLog::new(signer);
    for i in 0..n {
        log.commit(&[ev(i)]).expect("commit");
    }
    (log, key)
}

/// The verifier key of another signer under the same name.
pub fn other_key() -> String {
    Signer::new(ORIGIN, &[43; 32])
        .expect("signer")
        .verifier_key()
        .to_string()
}

pub fn to_json<T: serde::Serialize>(value: &T) -> String {
    qed_core::json::to_string(value)
}
