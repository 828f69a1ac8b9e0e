// Prints the sizes of the built package: raw and gzip -9 of what a browser downloads (the web
// module, its glue and the entry point) and of the Node build. Usage: node sizes.mjs PKG_DIR
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const pkg = process.argv[2];
// GNU gzip -9 when available (what size reports usually quote), else zlib level 9.
const gz = (b) => {
  const r = spawnSync('gzip', ['-9c'], { input: b, maxBuffer: 1 << 28 });
  return r.status === 0 ? r.stdout.length : gzipSync(b, { level: 9 }).length;
};
const rows = [];
function measure(label, files) {
  let raw = 0;
  let zipped = 0;
  for (const f of files) {
    const b = readFileSync(join(pkg, f));
    raw += b.length;
    zipped += gz(b);
    rows.push({ label: `  ${f}`, raw: b.length, zipped: gz(b) });
  }
  rows.push({ label, raw, zipped });
  return zipped;
}
const web = measure('web: wasm + JS glue + entry', ['web/qed_verifier_bg.wasm', 'web/qed_verifier.js', 'web/index.js']);
measure('node: wasm + JS glue + entry', ['node/qed_verifier_bg.wasm', 'node/qed_verifier.js', 'node/index.js']);
measure('fetch helper (client.mjs)', ['web/client.mjs']);
for (const r of rows) {
  console.log(`${r.label.padEnd(36)} ${String(r.raw).padStart(8)} B raw ${String(r.zipped).padStart(8)} B gzip -9`);
}
const limit = 60000; // 60 KB, counted in thousands to be safe
if (web <= limit) {
  console.log(`OK: the web build is ${web} B gzipped, within the ${limit} B budget`);
} else {
  console.log(`OVER BUDGET: the web build is ${web} B gzipped, the budget is ${limit} B`);
  process.exitCode = 1;
}
