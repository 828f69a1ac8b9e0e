// A consumer of the installed package, as an ES module: the verifier and the fetch helper.
// QED_ENV names a JSON file with the API and store URLs, the verifier key and the events (see ../lib/checks.mjs).
import { readFileSync } from 'node:fs';
import * as qed from 'qed-verifier';
import { connect } from 'qed-verifier/client';
import { runChecks } from './checks.mjs';

const env = JSON.parse(readFileSync(process.env.QED_ENV, 'utf8'));
const results = await runChecks(qed, connect, env);
// Importing through the explicit subpaths works too.
const node = await import('qed-verifier/node');
results.push({ name: "import 'qed-verifier/node'", ok: node.digest('abc') === qed.digest('abc') });
console.log(JSON.stringify(results));
