// Every export of the built package, fed garbage in every argument from JavaScript, returns a
// failed result (`false`, `""`, `{ ok: false, reason }`) and never throws: through the package
// entry point (pkg/node/index.js) and through the bare wasm-bindgen glue (pkg/node/qed_verifier.js),
// which shows that the Rust side alone already never throws. Then checks the entry point's guard
// (which turns a WebAssembly trap into a failed result) with a glue whose functions all throw.
//
// Usage: node garbage.mjs PKG_DIR FIXTURES_JSON
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import assert from 'node:assert/strict';

const [pkgDir, fixturesPath] = process.argv.slice(2).map((p) => resolve(p));
const require = createRequire(import.meta.url);
const guarded = require(join(pkgDir, 'node', 'index.js'));
const raw = require(join(pkgDir, 'node', 'qed_verifier.js'));
const fx = JSON.parse(readFileSync(fixturesPath, 'utf8'));
const key = fx.verifierKey;
const ev = (i) => fx.events[i];
const d = (i) => guarded.digest(ev(i));

function garbage() {
  const detached = new Uint8Array(new ArrayBuffer(32));
  structuredClone(detached.buffer, { transfer: [detached.buffer] });
  const throwingLength = new Uint8Array(32);
  Object.defineProperty(throwingLength, 'length', { get() { throw new Error('length'); } });
  const revocable = Proxy.revocable([], {});
  revocable.revoke();
  const cyclic = {};
  cyclic.self = cyclic;
  let deep = [];
  for (let i = 0; i < 5000; i++) deep = [deep];
  return {
    undefined: undefined, null: null, true: true, '-1': -1, '1.5': 1.5, NaN: NaN, Infinity: Infinity,
    '2**64': 2 ** 64, '-0': -0, '-1n': -1n, '2n**64n': 2n ** 64n, '2n**999n': 2n ** 999n,
    '""': '', '"{"': '{', '"[]"': '[]', '"null"': 'null', 'lone surrogate': '\ud800',
    'string of 17 Mi characters': 'x'.repeat(17 * 1024 * 1024),
    Symbol: Symbol('s'), function: () => 1, class: class {}, '{}': {}, '[]': [], '[1,2]': [1, 2],
    '300 hashes': Array.from({ length: 300 }, () => new Uint8Array(32)),
    'sparse array': Object.assign([], { 5: 1 }), 'Uint8Array(0)': new Uint8Array(0),
    'Uint8Array(31)': new Uint8Array(31), 'Uint8Array(33)': new Uint8Array(33), 'Int8Array(32)': new Int8Array(32),
    'Uint16Array(16)': new Uint16Array(16), 'ArrayBuffer(32)': new ArrayBuffer(32), DataView: new DataView(new ArrayBuffer(32)),
    'Buffer(31)': Buffer.alloc(31), 'detached Uint8Array': detached, 'fake Uint8Array': Object.create(Uint8Array.prototype),
    'Uint8Array with a throwing length': throwingLength,
    'proxy of a Uint8Array': new Proxy(new Uint8Array(32), { get() { throw new Error('trap'); } }),
    'throwing proxy': new Proxy({}, {
      get() { throw new Error('get'); }, getPrototypeOf() { throw new Error('proto'); },
      ownKeys() { throw new Error('keys'); }, has() { throw new Error('has'); },
      getOwnPropertyDescriptor() { throw new Error('descriptor'); },
    }),
    'revoked proxy': revocable.proxy,
    'throwing getters': { get digest() { throw new Error('g'); }, get event() { throw new Error('g'); }, get checkpoint() { throw new Error('g'); } },
    'throwing toJSON': { toJSON() { throw new Error('toJSON'); } },
    'cyclic object': cyclic, 'object with a bigint': { version: 1n }, 'deep nesting': deep,
    Date: new Date(0), Map: new Map([[1, 2]]), Promise: Promise.resolve(1), Error: new Error('x'),
    '{ digest: 5 }': { digest: 5 }, '{ event: null }': { event: null }, 'hex of 63': 'a'.repeat(63),
    'truncated note': fx.checkpoint.slice(0, 60), 'truncated receipt': fx.receipts[d(1)].slice(0, 300),
    'note with CRLF': fx.checkpoint.replace(/\n/g, '\r\n'), 'receipt with NUL': fx.receipts[d(1)].replace('{', '{\u0000'),
  };
}

// Valid arguments per export; each position is then spoiled alone.
const recText = fx.receipts[d(3)];
const rec = JSON.parse(recText);
const leaf = guarded.leafHash(rec.digest);
const root = rec.snapshot.history_digest;
const inc = JSON.parse(fx.incremental['3-7']);
const snap = (size) => fx.snapshots[String(size)];
const valid = {
  digest: { args: ['x'], good: (r) => r.length === 64, bad: (r) => r === '' },
  leafHash: { args: [rec.digest], good: (r) => r.length === 64, bad: (r) => r === '' },
  verifyInclusion: { args: [leaf, rec.version, rec.snapshot.size, rec.proof, root], good: (r) => r === true, bad: (r) => r === false },
  verifyConsistency: { args: [4, 8, inc.proof, JSON.parse(snap(4)).history_digest, JSON.parse(snap(8)).history_digest], good: (r) => r === true, bad: (r) => r === false },
  verifyCheckpoint: { args: [fx.checkpoint, key], good: (r) => r.ok === true, bad: (r) => r.ok === false && typeof r.reason === 'string' && r.reason.length > 0 },
  verifyReceipt: { args: [recText, key, ev(3)], good: (r) => r.ok === true, bad: (r) => r.ok === false && typeof r.reason === 'string' },
  verifyMembership: {
    args: [fx.membership[`${d(2)}@5`], snap(6), key, ev(2)],
    good: (r) => r.ok === true && r.member === true,
    bad: (r) => r.ok === false && r.member === false && typeof r.reason === 'string',
  },
  verifyIncremental: { args: [fx.incremental['3-7'], snap(4), snap(8), key], good: (r) => r.ok === true, bad: (r) => r.ok === false && typeof r.reason === 'string' },
};

/** Whether `g` in position `i` of `name` may legitimately succeed (strings are events, etc.). */
function mayPass(name, i, label, g) {
  if (name === 'digest') return typeof g === 'string' ? g.length <= 16 << 20 : ArrayBuffer.isView(g) && g instanceof Uint8Array;
  if (name === 'leafHash') return label === 'Uint8Array with a throwing length';
  if (name === 'verifyReceipt' && i === 2) return g === undefined || g === null;
  return false;
}

let calls = 0;
const cases = Object.entries(garbage());
for (const [label, mod] of [['package entry point', guarded], ['bare wasm-bindgen glue', raw]]) {
  for (const [name, spec] of Object.entries(valid)) {
    const f = mod[name];
    assert.ok(spec.good(f(...spec.args)), `${label}: ${name} with valid arguments`);
    for (let i = 0; i < spec.args.length; i++) {
      for (const [gLabel, g] of cases) {
        const args = [...spec.args];
        args[i] = g;
        let out;
        try {
          out = f(...args);
        } catch (error) {
          assert.fail(`${label}: ${name} argument ${i} = ${gLabel} threw ${error}`);
        }
        calls++;
        if (!mayPass(name, i, gLabel, g)) {
          assert.ok(spec.bad(out), `${label}: ${name} argument ${i} = ${gLabel} gave ${String(JSON.stringify(out))}`);
        }
      }
    }
    assert.ok(spec.good(f(...spec.args)), `${label}: ${name} still works after the garbage`);
  }
}

// The guard of the entry point: with a glue whose every function throws (as a trap would), the
// entry point still returns failed results.
const source = readFileSync(join(pkgDir, 'node', 'index.js'), 'utf8');
const throwing = new Proxy({}, { get: () => () => { throw new WebAssembly.RuntimeError('unreachable'); } });
const fakeModule = { exports: {} };
new Function('require', 'exports', 'module', source)(() => throwing, fakeModule.exports, fakeModule);
const g = fakeModule.exports;
assert.equal(g.digest('x'), '');
assert.equal(g.leafHash('x'), '');
assert.equal(g.verifyInclusion(), false);
assert.equal(g.verifyConsistency(), false);
for (const name of ['verifyCheckpoint', 'verifyReceipt', 'verifyIncremental', 'verifyMembership']) {
  const r = g[name]();
  assert.equal(r.ok, false, name);
  assert.match(r.reason, /internal error: unreachable/, name);
}
assert.equal(g.verifyMembership().member, false);
console.log(`garbage: ${calls} calls with malformed arguments, none threw; the guard turns traps into failed results`);
