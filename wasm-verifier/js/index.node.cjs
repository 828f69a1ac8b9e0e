'use strict';
// Entry point for Node (CommonJS). The wasm-bindgen exports already return a result for every
// input; each is also wrapped here so that even a WebAssembly trap (memory exhausted) becomes a
// failed result instead of an exception: nothing in this package throws.
const raw = require('./qed_verifier.js');

function why(e) {
  try {
    return `internal error: ${e instanceof Error ? e.message : String(e)}`;
  } catch {
    return 'internal error';
  }
}
const failure = (e) => ({ ok: false, reason: why(e) });
const guard = (f, onError) => (...args) => {
  try {
    return f(...args);
  } catch (e) {
    return onError(e);
  }
};

exports.digest = guard(raw.digest, () => '');
exports.leafHash = guard(raw.leafHash, () => '');
exports.verifyInclusion = guard(raw.verifyInclusion, () => false);
exports.verifyConsistency = guard(raw.verifyConsistency, () => false);
exports.verifyCheckpoint = guard(raw.verifyCheckpoint, failure);
exports.verifyReceipt = guard(raw.verifyReceipt, failure);
exports.verifyMembership = guard(raw.verifyMembership, (e) => ({ ...failure(e), member: false }));
exports.verifyIncremental = guard(raw.verifyIncremental, failure);
// Node loads the module with the package; these let code shared with browsers `await init()`.
exports.init = () => Promise.resolve();
exports.initSync = () => undefined;
