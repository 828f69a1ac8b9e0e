// The end-to-end checks of the npm package, shared by the Node consumer test and the browser page
// (no Node-only APIs here). Given the package (`qed`: the verifier exports, `connect`: the fetch
// helper) and a QED API + snapshot store, it adds the events, then verifies receipts, membership
// answers (members, non-members, past versions) and incremental answers, through the helper and
// through the exports directly, and checks that wrong keys and tampered answers fail.
//
// env: { server, store, verifierKey, apiKey, events: string[], fixtures?: object }
// Returns [{ name, ok, detail }].

// Go's sumdb/note example key: a valid verifier key of another log.
const FOREIGN_KEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';

export async function runChecks(qed, connect, env) {
  const results = [];
  const check = (name, ok, detail) => results.push({ name, ok: Boolean(ok), detail: ok ? undefined : detail });
  const show = (r) => JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))?.slice(0, 400);
  const { events, verifierKey } = env;
  const n = events.length;
  const client = await connect({ server: env.server, store: env.store, verifierKey, apiKey: env.apiKey });

  // Receipts: every add is answered with a receipt that verifies against the event.
  const receipts = [];
  for (let i = 0; i < n; i++) {
    const r = await client.add(events[i]);
    check(`add(event ${i}): the receipt verifies`, r.ok && r.version === i && r.duplicate === false, show(r));
    receipts.push(r.receipt);
  }
  const dup = await client.add(events[0]);
  check('adding event 0 again: a duplicate at version 0', dup.ok && dup.version === 0 && dup.duplicate === true, show(dup));
  const withoutKey = await (await connect({ server: env.server, verifierKey })).add(events[1]);
  check('an add without the API key is refused', !withoutKey.ok && withoutKey.status === 401, show(withoutKey));

  const text = receipts[n - 1];
  if (typeof text === 'string') {
    const asObject = qed.verifyReceipt(JSON.parse(text), verifierKey);
    check('verifyReceipt(receipt object)', asObject.ok && asObject.version === n - 1 && asObject.checkpoint.size >= n, show(asObject));
    const bound = qed.verifyReceipt(text, verifierKey, events[n - 1]);
    check('verifyReceipt(text, key, event)', bound.ok && bound.digest === qed.digest(events[n - 1]), show(bound));
    check('verifyReceipt for another event fails', !qed.verifyReceipt(text, verifierKey, 'another event').ok);
    check('verifyReceipt with a foreign key fails', !qed.verifyReceipt(text, FOREIGN_KEY).ok);
    const tampered = text.replace(/"proof":\["([0-9a-f])/, (m, c) => m.slice(0, -1) + (c === '0' ? '1' : '0'));
    const t = qed.verifyReceipt(tampered, verifierKey);
    check('verifyReceipt of a tampered proof fails with a reason', tampered !== text && !t.ok && /root/.test(t.reason), show(t));
    const cp = qed.verifyCheckpoint(JSON.parse(text).snapshot, verifierKey);
    check('verifyCheckpoint(snapshot object)', cp.ok && cp.origin === verifierKey.split('+')[0], show(cp));
    // The inclusion proof of a receipt, checked with the low-level export.
    const obj = JSON.parse(text);
    const leaf = qed.leafHash(obj.digest);
    const inc = qed.verifyInclusion(leaf, obj.version, obj.snapshot.size, obj.proof, cp.historyDigest);
    check('verifyInclusion(leafHash(digest), ...) of a receipt', inc === true);
    check('verifyInclusion with the index off by one fails',
      qed.verifyInclusion(leaf, (obj.version + 1) % obj.snapshot.size, obj.snapshot.size, obj.proof, cp.historyDigest) === false);
  }
  if (env.fixtures) {
    const digest = qed.digest(events[2]);
    const tp = qed.verifyReceipt(env.fixtures.tlogProofs[digest], verifierKey, events[2]);
    check('verifyReceipt(tlog-proof text)', tp.ok && tp.version === 2, show(tp));
  }

  // Membership, through the helper: the answer against the store's snapshot of version + 1.
  for (let i = 0; i < n; i++) {
    for (const q of new Set([Math.max(0, i - 1), i, n - 1])) {
      const version = q === i && i % 2 === 1 ? BigInt(q) : q;
      const r = await client.membership(events[i], { version });
      const member = i <= q;
      check(`membership(event ${i}, version ${q}${typeof version === 'bigint' ? 'n' : ''})`,
        r.ok && r.member === member && r.queryVersion === q && (member ? r.version === i : r.version === undefined), show(r));
    }
  }
  const latest = await client.membership(events[1]);
  check('membership(event 1) as of the latest version', latest.ok && latest.member && latest.version === 1, show(latest));
  const absent = await client.membership('never added');
  check('membership of an event never added: a verified non-member', absent.ok && absent.member === false, show(absent));
  const byDigest = await client.membership({ digest: qed.digest(events[3]) });
  check('membership({ digest })', byDigest.ok && byDigest.member && byDigest.version === 3, show(byDigest));

  // Membership, through the export directly, with the answer the helper fetched.
  const m = await client.membership(events[2], { version: n - 2 });
  if (m.answer) {
    const held = await client.storedSnapshot(n - 1);
    const direct = qed.verifyMembership(m.answer, held.snapshot, verifierKey, events[2]);
    check('verifyMembership(text, stored snapshot, key, event)', direct.ok && direct.member && direct.version === 2, show(direct));
    const obj = qed.verifyMembership(JSON.parse(m.answer), JSON.parse(held.snapshot), verifierKey, qed.digest(events[2]));
    check('verifyMembership(objects, digest)', obj.ok && obj.member, show(obj));
    const other = qed.verifyMembership(m.answer, held.snapshot, verifierKey, events[3]);
    check('verifyMembership for another event fails', !other.ok && other.member === false, show(other));
    const lie = qed.verifyMembership(m.answer.replace('"member":true', '"member":false'), held.snapshot, verifierKey, events[2]);
    check('a membership answer that lies about membership fails', !lie.ok, show(lie));
    const foreign = qed.verifyMembership(m.answer, held.snapshot, FOREIGN_KEY, events[2]);
    check('verifyMembership with a foreign key fails', !foreign.ok, show(foreign));
  } else {
    check('membership answer fetched', false, show(m));
  }

  // Incremental proofs between stored snapshots.
  for (const [start, end] of [[0, n - 1], [1, 4], [3, 3], [n - 2, n - 1]]) {
    const r = await client.incremental(start, end);
    check(`incremental(${start}, ${end})`, r.ok && r.start === start && r.end === end && r.older.size === start + 1 && r.newer.size === end + 1, show(r));
  }
  const inc = await client.incremental(1, n - 1);
  if (inc.answer) {
    const [a, b] = [await client.storedSnapshot(2), await client.storedSnapshot(n)];
    check('verifyIncremental(text, old, new, key)', qed.verifyIncremental(inc.answer, a.snapshot, b.snapshot, verifierKey).ok);
    check('verifyIncremental with the snapshots swapped fails', !qed.verifyIncremental(inc.answer, b.snapshot, a.snapshot, verifierKey).ok);
    const proof = JSON.parse(inc.answer).proof;
    const ok = qed.verifyConsistency(2, n, proof, JSON.parse(a.snapshot).history_digest, JSON.parse(b.snapshot).history_digest);
    check('verifyConsistency of the same proof (JSON digests, checked against the notes above)', ok === true);
  }
  const bad = await client.incremental(n - 1, 0);
  check('incremental(end < start) fails', !bad.ok, show(bad));

  const cp = await client.checkpoint();
  check('checkpoint(): the latest signed note verifies', cp.ok && cp.size >= n, show(cp));

  // Nothing throws: a few malformed inputs through the package entry points.
  const garbage = [undefined, null, 1.5, -1, 2n ** 70n, '', '{', [], {}, new Uint8Array(31), Symbol('s'),
    new Proxy({}, { get() { throw new Error('trap'); } })];
  let threw = 0;
  for (const g of garbage) {
    try {
      const outs = [qed.verifyReceipt(g, verifierKey), qed.verifyMembership(g, g, verifierKey, g),
        qed.verifyIncremental(g, g, g, verifierKey), qed.verifyCheckpoint(g, g)];
      if (outs.some((o) => o.ok !== false || typeof o.reason !== 'string')) threw++;
      if (qed.verifyInclusion(g, g, g, g, g) !== false || qed.verifyConsistency(g, g, g, g, g) !== false) threw++;
    } catch {
      threw++;
    }
  }
  check('malformed inputs give failed results, no exception', threw === 0, `${threw} bad outcomes`);
  return results;
}
