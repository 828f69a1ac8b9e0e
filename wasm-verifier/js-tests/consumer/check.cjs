// A consumer of the installed package with require(): verifies a receipt, a membership answer and
// an incremental answer fetched from the API and store named in QED_ENV.
'use strict';
const { readFileSync } = require('node:fs');
const qed = require('qed-verifier');

async function main() {
  const env = JSON.parse(readFileSync(process.env.QED_ENV, 'utf8'));
  const { verifierKey, events } = env;
  const results = [];
  const check = (name, ok, detail) => results.push({ name, ok: Boolean(ok), detail: ok ? undefined : detail });
  const post = async (path, body, headers = {}) =>
    (await fetch(`${env.server}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) })).text();
  const stored = async (size) => (await fetch(`${env.store}/snapshot/${size}`)).text();

  for (let i = 0; i < events.length; i++) {
    const receipt = await post('/events', { event: Buffer.from(events[i]).toString('base64') }, { 'Api-Key': env.apiKey });
    const r = qed.verifyReceipt(receipt, verifierKey, Buffer.from(events[i]));
    check(`require: receipt ${i}`, r.ok && r.version === i, JSON.stringify(r));
  }
  const q = events.length - 2;
  const answer = await post('/proofs/digest-membership', { digest: qed.digest(events[1]), version: q });
  const m = qed.verifyMembership(answer, await stored(q + 1), verifierKey, events[1]);
  check('require: membership', m.ok && m.member && m.version === 1 && m.queryVersion === q, JSON.stringify(m));
  const inc = await post('/proofs/incremental', { start: 1, end: q });
  const i = qed.verifyIncremental(inc, await stored(2), await stored(q + 1), verifierKey);
  check('require: incremental', i.ok && i.older.size === 2 && i.newer.size === q + 1, JSON.stringify(i));
  check('require: init() is a no-op promise in Node', qed.init() instanceof Promise);
  console.log(JSON.stringify(results));
}
main().catch((e) => {
  console.log(JSON.stringify([{ name: 'check.cjs', ok: false, detail: String(e) }]));
});
