// Starts a real single-node `qed` server on 127.0.0.1 (free ports) as docs/API.md and the seed's
// advanced-usage document describe it, for the end-to-end tests of the npm package.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The `qed` binary to use: $QED_BIN, else <target>/debug/qed if it was built; or undefined. */
export function findQed(repo) {
  if (process.env.QED_BIN) return process.env.QED_BIN;
  const target = process.env.CARGO_TARGET_DIR || join(repo, 'target');
  const bin = resolve(target, 'debug', 'qed');
  return existsSync(bin) ? bin : undefined;
}

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Generates signer keys, starts `qed start` and waits until the node leads.
 * @returns {Promise<{ url: string, apiKey: string, verifierKey: string, stop: () => Promise<void>, log: () => string }>}
 */
export async function startQed(bin, { apiKey = 'my-key', timeoutMs = 60000 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'qed-wasm-e2e-'));
  const keys = join(dir, 'keys');
  execFileSync(bin, ['generate', 'signerkeys', '--path', keys], { stdio: 'pipe', timeout: 30000 });
  const keyFile = join(keys, 'qed_ed25519');
  if (!existsSync(keyFile)) throw new Error(`qed generate signerkeys wrote no ${keyFile} (found: ${readdirSync(keys).join(', ')})`);
  const [http, raft, mgmt] = [await freePort(), await freePort(), await freePort()];
  const args = ['start', '-k', apiKey, '-p', join(dir, 'db'), '--raftpath', join(dir, 'raft'), '-y', keyFile,
    '--http-addr', `127.0.0.1:${http}`, '--raft-addr', `127.0.0.1:${raft}`, '--mgmt-addr', `127.0.0.1:${mgmt}`, '-l', 'error'];
  // A metrics listener, when the binary has one, gets a free port too (its default is derived
  // from the HTTP port and could be taken).
  const help = spawnSync(bin, ['start', '--help'], { encoding: 'utf8', timeout: 30000 });
  if (`${help.stdout}`.includes('--metrics-addr')) args.push('--metrics-addr', `127.0.0.1:${await freePort()}`);
  let output = '';
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  let exited = null;
  const gone = new Promise((ok) => child.on('exit', (code, signal) => {
    exited = `exited with ${code ?? signal}`;
    ok();
  }));
  // A clean shutdown still writes to its directory (the ledger stores what it applied), so
  // the directory goes only once the process has: ten seconds for SIGTERM, then SIGKILL.
  const stop = async () => {
    if (exited === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
      await gone;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${http}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited !== null) {
      await stop();
      throw new Error(`qed ${exited} before it served: ${output.slice(-2000)}`);
    }
    try {
      const info = await (await fetch(`${url}/info`)).json();
      if (info.verifier_key && (info.role === undefined || /leader/i.test(String(info.role)))) {
        return { url, apiKey, verifierKey: info.verifier_key, stop, log: () => output };
      }
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  await stop();
  throw new Error(`qed did not become a leader within ${timeoutMs} ms: ${output.slice(-2000)}`);
}
