// A typed consumer: must type-check (tsc --noEmit, strict) against the package's declarations.
import {
  digest,
  init,
  verifyCheckpoint,
  verifyConsistency,
  verifyInclusion,
  verifyIncremental,
  verifyMembership,
  verifyReceipt,
  type CheckpointInfo,
  type MembershipResult,
  type Receipt,
  type ReceiptResult,
  type U64,
} from 'qed-verifier';
import { connect, type QedClient } from 'qed-verifier/client';

export async function typed(receipt: Receipt, key: string, event: Uint8Array): Promise<U64 | string> {
  await init();
  const hex: string = digest(event);
  const r: ReceiptResult = verifyReceipt(receipt, key, event);
  if (!r.ok) return r.reason; // narrowed to Failure
  const cp: CheckpointInfo = r.checkpoint;
  const included: boolean = verifyInclusion(hex, r.version, cp.size, receipt.proof, cp.historyDigest);
  const consistent: boolean = verifyConsistency(1, 2n, [], new Uint8Array(32), hex);
  const m: MembershipResult = verifyMembership('{}', null, key, { digest: hex });
  if (m.ok && m.member && m.version !== undefined) return m.version;
  if (!m.ok) {
    const member: false = m.member;
    void member;
  }
  const c = verifyCheckpoint(receipt.snapshot.checkpoint, key);
  const i = verifyIncremental('{}', receipt.snapshot, receipt.snapshot, key);
  const client: QedClient = await connect({ server: 'http://127.0.0.1:8800', verifierKey: key, store: 'http://127.0.0.1:8888' });
  const added = await client.add(event);
  const proven = await client.membership(event, { version: 3n });
  return `${included} ${consistent} ${c.ok ? c.origin : c.reason} ${i.ok} ${added.ok} ${proven.member}`;
}
