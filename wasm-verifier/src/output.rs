//! Building the plain result objects (`{ ok, reason?, ... }`) handed back to JavaScript.

use alloc::string::String;

use js_sys::{Object, Reflect};
use qed_core::hash::to_hex;
use qed_core::snapshot::Checkpoint;
use wasm_bindgen::JsValue;

use crate::input::MAX_SAFE_INTEGER;

/// A result object under construction.
pub struct Out(Object);

impl Out {
    /// `{ ok: true }`.
    pub fn ok() -> Out {
        Out::new(true)
    }

    /// `{ ok: false, reason }`.
    pub fn fail(reason: &str) -> Out {
        Out::new(false).str("reason", reason)
    }

    fn new(ok: bool) -> Out {
        let out = Out(Object::new());
        out.set("ok", JsValue::from_bool(ok))
    }

    /// Sets a property. `Reflect.set` on our own fresh plain object cannot run user code, and it
    /// is called with `catch` anyway, so a failure is ignored rather than thrown.
    pub fn set(self, name: &str, value: JsValue) -> Out {
        let _ = Reflect::set(&self.0, &JsValue::from_str(name), &value);
        self
    }

    /// Sets a string property.
    pub fn str(self, name: &str, value: &str) -> Out {
        self.set(name, JsValue::from_str(value))
    }

    /// Sets a boolean property.
    pub fn bool(self, name: &str, value: bool) -> Out {
        self.set(name, JsValue::from_bool(value))
    }

    /// Sets a size, index or version property (see [`uint`]).
    pub fn uint(self, name: &str, value: u64) -> Out {
        self.set(name, uint(value))
    }

    /// Sets a hash property as lowercase hex.
    pub fn hex(self, name: &str, value: &[u8; 32]) -> Out {
        self.str(name, &to_hex(value))
    }

    /// Sets the fields of a verified checkpoint on this object.
    pub fn checkpoint_fields(self, cp: &Checkpoint) -> Out {
        let event = match &cp.event_digest {
            Some(d) => JsValue::from_str(&to_hex(d)),
            None => JsValue::NULL,
        };
        self.str("origin", &cp.origin)
            .uint("size", cp.size)
            .hex("historyDigest", &cp.history_root)
            .hex("hyperDigest", &cp.hyper_root)
            .set("eventDigest", event)
    }

    /// Sets `name` to a plain object holding a verified checkpoint's fields.
    pub fn checkpoint(self, name: &str, cp: &Checkpoint) -> Out {
        let inner = Out(Object::new()).checkpoint_fields(cp);
        self.set(name, inner.into())
    }
}

impl From<Out> for JsValue {
    fn from(out: Out) -> JsValue {
        out.0.into()
    }
}

/// A `u64` for JavaScript: a `number` when it is exact as one (up to `Number.MAX_SAFE_INTEGER`),
/// a `bigint` beyond, so no value is ever rounded.
pub fn uint(value: u64) -> JsValue {
    if value <= MAX_SAFE_INTEGER {
        // Exact: below 2^53.
        JsValue::from_f64(value as f64)
    } else {
        JsValue::from(value)
    }
}

/// `{ ok: false, reason }` from any failure.
pub fn failure(reason: impl Into<String>) -> JsValue {
    Out::fail(&reason.into()).into()
}
