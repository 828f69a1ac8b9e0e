// Entry point for browsers and bundlers (ES module). Call `await init()` once first: it fetches
// qed_verifier_bg.wasm from beside this file (or takes the URL, Response, bytes or module you
// pass). Every export is wrapped so that nothing throws: before init, and on a WebAssembly trap
// (memory exhausted), the result is a failed one.
import wasmInit, * as raw from './qed_verifier.js';

let ready = false;
export async function init(moduleOrPath) {
  const out = await wasmInit(moduleOrPath === undefined ? undefined : { module_or_path: moduleOrPath });
  ready = true;
  return out;
}
export function initSync(module) {
  const out = raw.initSync({ module });
  ready = true;
  return out;
}
export default init;

function why(e) {
  if (!ready) return 'qed-verifier is not initialised: await init() first';
  try {
    return `internal error: ${e instanceof Error ? e.message : String(e)}`;
  } catch {
    return 'internal error';
  }
}
const failure = (e) => ({ ok: false, reason: why(e) });
const guard = (f, onError) => (...args) => {
  if (ready) {
    try {
      return f(...args);
    } catch (e) {
      return onError(e);
    }
  }
  return onError();
};

export const digest = guard(raw.digest, () => '');
export const leafHash = guard(raw.leafHash, () => '');
export const verifyInclusion = guard(raw.verifyInclusion, () => false);
export const verifyConsistency = guard(raw.verifyConsistency, () => false);
export const verifyCheckpoint = guard(raw.verifyCheckpoint, failure);
export const verifyReceipt = guard(raw.verifyReceipt, failure);
export const verifyMembership = guard(raw.verifyMembership, (e) => ({ ...failure(e), member: false }));
export const verifyIncremental = guard(raw.verifyIncremental, failure);
