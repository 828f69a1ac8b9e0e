// Removes the JSDoc blocks (`/** ... */`) that wasm-bindgen copies from the Rust doc comments
// into the JS glue: the same text ships in the .d.ts, where editors read it, and the glue is
// what browsers download. Usage: node strip-jsdoc.mjs FILE (rewritten in place).
import { readFileSync, writeFileSync } from 'node:fs';

const file = process.argv[2];
const before = readFileSync(file, 'utf8');
const after = before.replace(/^[ \t]*\/\*\*[\s\S]*?\*\/[ \t]*\n/gm, '');
writeFileSync(file, after);
