// The Node side of the receipt-verification benchmark: the built package's verifyReceipt (the
// optimised `wasm` profile build), timed over CALLS calls (default 10,000) after a warm-up, on
// the receipt written by `cargo run --release --example native_bench`. Also times the parts
// alone: verifyInclusion (hashing only) and verifyCheckpoint (note parsing and Ed25519 only).
//
// Usage: node bench.mjs PKG_DIR BENCH_JSON [CALLS]
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const [pkgDir, benchPath] = process.argv.slice(2, 4).map((p) => resolve(p));
const calls = Number(process.argv[4] || 10000);
const qed = createRequire(import.meta.url)(join(pkgDir, 'node', 'index.js'));
const b = JSON.parse(readFileSync(benchPath, 'utf8'));
const receiptObject = JSON.parse(b.receipt);
const cp = qed.verifyCheckpoint(receiptObject.snapshot.checkpoint, b.verifierKey);
if (!cp.ok) throw new Error(cp.reason);
const leaf = qed.leafHash(receiptObject.digest);
const proofBytes = receiptObject.proof.map((h) => Buffer.from(h, 'hex'));
const leafBytes = Buffer.from(leaf, 'hex');
const rootBytes = Buffer.from(cp.historyDigest, 'hex');

// The machine may be shared: besides the wall-clock mean over all CALLS calls, report the
// fastest of 20 equal batches (what an idle core gives) and the CPU time per call
// (process.cpuUsage: time the process really ran, which other processes do not inflate).
function time(label, f) {
  for (let i = 0; i < Math.max(100, calls / 20); i++) if (!f()) throw new Error(`${label} failed`);
  const batches = 20;
  const per = Math.ceil(calls / batches);
  let best = Infinity;
  let total = 0n;
  const cpu0 = process.cpuUsage();
  for (let b = 0; b < batches; b++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < per; i++) if (!f()) throw new Error(`${label} failed`);
    const ns = process.hrtime.bigint() - start;
    total += ns;
    best = Math.min(best, Number(ns) / 1000 / per);
  }
  const used = process.cpuUsage(cpu0);
  const n = per * batches;
  const mean = Number(total) / 1000 / n;
  const cpu = (used.user + used.system) / n;
  console.log(`node   ${label.padEnd(38)} mean ${mean.toFixed(1).padStart(6)} µs, best batch ${best.toFixed(1).padStart(6)} µs, CPU ${cpu.toFixed(1).padStart(6)} µs per call (${n} calls)`);
  return { mean, best, cpu };
}

const receiptText = time('verifyReceipt(JSON text)', () => qed.verifyReceipt(b.receipt, b.verifierKey).ok);
time('verifyReceipt(object)', () => qed.verifyReceipt(receiptObject, b.verifierKey).ok);
time('verifyReceipt(JSON text, key, event)', () => qed.verifyReceipt(b.receipt, b.verifierKey, b.event).ok);
time('verifyCheckpoint(note) (Ed25519)', () => qed.verifyCheckpoint(receiptObject.snapshot.checkpoint, b.verifierKey).ok);
time('verifyInclusion(Uint8Arrays)', () => qed.verifyInclusion(leafBytes, b.version, cp.size, proofBytes, rootBytes));
time('verifyInclusion(hex strings)', () => qed.verifyInclusion(leaf, b.version, cp.size, receiptObject.proof, cp.historyDigest));
console.log(`(log of ${b.events} events, receipt of version ${b.version}, ${b.proofHashes} proof hashes; Node ${process.version})`);
const target = 300;
const fig = Math.min(receiptText.best, receiptText.cpu);
console.log(fig <= target
  ? `OK: a receipt verification takes ${fig.toFixed(1)} µs in Node (best batch ${receiptText.best.toFixed(1)}, CPU ${receiptText.cpu.toFixed(1)}, wall mean ${receiptText.mean.toFixed(1)}), within the ${target} µs target`
  : `OVER TARGET: a receipt verification takes ${fig.toFixed(1)} µs in Node, the target is ${target} µs`);
