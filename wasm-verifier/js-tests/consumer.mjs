// The npm consumer test: `npm pack` the built package, install the tarball into a fresh temporary
// project, and from there verify receipts, membership answers and incremental answers:
//   - in Node, as an ES module user (`import 'qed-verifier'` and the fetch helper
//     `qed-verifier/client`) and as a CommonJS user (`require('qed-verifier')`);
//   - in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core), from a page
//     served on 127.0.0.1 that imports the package's web build;
//   - with TypeScript: a typed consumer file must type-check against the package's .d.ts.
// The answers come from fixtures (a MemoryLog, written by `cargo run --example fixtures`) served
// as a QED API and snapshot store, and from a real `qed` server when one is built ($QED_BIN or
// <target>/debug/qed); without one, that part is reported as skipped.
//
// Usage: node consumer.mjs PKG_DIR FIXTURES_JSON REPO_DIR
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from './lib/serve.mjs';
import { findQed, startQed } from './lib/qed-server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const [pkgDir, fixturesPath, repo] = process.argv.slice(2).map((p) => resolve(p));
const fixtures = JSON.parse(readFileSync(fixturesPath, 'utf8'));
const API_KEY = 'test-key';
let failures = 0;

function report(where, results) {
  for (const r of results) {
    if (!r.ok) {
      failures++;
      console.log(`  FAIL ${where}: ${r.name}${r.detail ? ` -- ${r.detail}` : ''}`);
    }
  }
  console.log(`${where}: ${results.filter((r) => r.ok).length}/${results.length} checks passed`);
}

// 1. Pack and install into a fresh project.
const tmp = mkdtempSync(join(tmpdir(), 'qed-verifier-consumer-'));
const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', tmp], { cwd: pkgDir, encoding: 'utf8' }).trim().split('\n').pop();
const tarball = join(tmp, packed);
const project = join(tmp, 'project');
mkdirSync(project);
writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2));
execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball], { cwd: project, stdio: 'inherit' });
console.log(`installed ${packed} into ${project}`);

// 2. The consumer's files.
copyFileSync(join(here, 'lib', 'checks.mjs'), join(project, 'checks.mjs'));
copyFileSync(join(here, 'consumer', 'check.mjs'), join(project, 'check.mjs'));
copyFileSync(join(here, 'consumer', 'check.cjs'), join(project, 'check.cjs'));
copyFileSync(join(here, 'consumer', 'check.ts'), join(project, 'check.ts'));
copyFileSync(join(here, 'consumer', 'tsconfig.json'), join(project, 'tsconfig.json'));
copyFileSync(join(here, 'consumer', 'page.html'), join(project, 'page.html'));

/** Runs a consumer script in a child Node (asynchronously: the test server lives in this
 * process) and returns its results, the JSON on its last line of output. */
function runNode(file, env) {
  return new Promise((done) => {
    const envFile = join(project, `env-${file}.json`);
    writeFileSync(envFile, JSON.stringify(env));
    const child = spawn(process.execPath, [file], { cwd: project, env: { ...process.env, QED_ENV: envFile } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', (code) => {
      try {
        done(JSON.parse(out.trim().split('\n').pop()));
      } catch {
        done([{ name: `node ${file} ran`, ok: false, detail: `exit ${code}: ${err.slice(-2000)}` }]);
      }
    });
  });
}

let browser;
async function runBrowser(url, envFile) {
  if (!browser) {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
    });
  }
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${url}/page.html?env=${envFile}`);
  await page.waitForFunction(() => window.qedDone === true, null, { timeout: 120000 });
  const results = await page.evaluate(() => window.qedResults);
  await page.close();
  for (const e of errors) results.push({ name: 'no uncaught page error', ok: false, detail: e });
  return results;
}

/** Runs `run(env)` with a fresh test server (fixtures or a proxy to a real server). */
async function withServer(options, env, run) {
  const server = await serve({ ...options, root: project });
  try {
    return await run({ ...env, server: `${server.url}/api`, store: `${server.url}/store` }, server.url);
  } finally {
    await server.close();
  }
}

try {
  // 3. Against the fixtures (a fresh fake server per run: each run adds the events once).
  const fx = { fixtures, apiKey: API_KEY };
  const fxEnv = { verifierKey: fixtures.verifierKey, fixtures, apiKey: API_KEY, events: fixtures.events };
  await withServer(fx, fxEnv, (env) => (async () => report('fixtures, Node ES module', await runNode('check.mjs', env)))());
  await withServer(fx, fxEnv, (env) => (async () => report('fixtures, Node CommonJS', await runNode('check.cjs', env)))());
  writeFileSync(join(project, 'env-fixtures.json'), JSON.stringify(fxEnv));
  await withServer(fx, fxEnv, async (_, url) => report('fixtures, Chromium', await runBrowser(url, 'env-fixtures.json')));

  // 4. Against a real qed server, one fresh server per run (each run adds the events).
  const bin = findQed(repo);
  if (!bin) {
    console.log('real qed server: SKIPPED (no qed binary: set QED_BIN or build it with `cargo build -p qed-server --bin qed`)');
  } else {
    for (const where of ['Node ES module', 'Node CommonJS', 'Chromium']) {
      const qed = await startQed(bin, { apiKey: API_KEY });
      try {
        const env = { verifierKey: qed.verifierKey, apiKey: API_KEY, events: fixtures.events };
        const label = `real qed server (${bin}), ${where}`;
        if (where === 'Chromium') {
          writeFileSync(join(project, 'env-server.json'), JSON.stringify(env));
          await withServer({ upstream: qed.url }, env, async (_, url) => report(label, await runBrowser(url, 'env-server.json')));
        } else {
          const file = where === 'Node CommonJS' ? 'check.cjs' : 'check.mjs';
          await withServer({ upstream: qed.url }, env, async (e) => report(label, await runNode(file, e)));
        }
      } finally {
        await qed.stop();
      }
    }
  }

  // 5. The README's examples, taken from the installed package, run against the fixtures.
  const readme = readFileSync(join(project, 'node_modules', 'qed-verifier', 'README.md'), 'utf8');
  const examples = [...readme.matchAll(/<!-- example: (\S+) -->\n```js\n([\s\S]*?)```/g)];
  const receiptFile = join(project, 'receipt-event-0.json');
  writeFileSync(receiptFile, fixtures.receipts[createHash('sha256').update('event 0').digest('hex')]);
  const exampleResults = [];
  for (const [, name, code] of examples) {
    writeFileSync(join(project, name), code);
    await withServer(fx, {}, async (env) => {
      const r = await new Promise((done) => {
        const child = spawn(process.execPath, [name], {
          cwd: project,
          env: { ...process.env, QED_URL: env.server, QED_STORE: env.store, QED_VERIFIER_KEY: fixtures.verifierKey, QED_API_KEY: API_KEY, QED_RECEIPT_FILE: receiptFile },
        });
        let out = '';
        child.stdout.on('data', (d) => { out += d; });
        child.stderr.on('data', (d) => { out += d; });
        child.on('close', (code) => done({ code, out }));
      });
      exampleResults.push({ name: `README example ${name}`, ok: r.code === 0, detail: r.out.slice(-1500) });
    });
  }
  exampleResults.push({ name: 'the README has its 3 runnable examples', ok: examples.length === 3, detail: `${examples.length} found` });
  report('README examples', exampleResults);

  // 6. TypeScript: the typed consumer type-checks against the package's declarations.
  const tsc = join(here, 'node_modules', 'typescript', 'bin', 'tsc');
  const ts = spawnSync(process.execPath, [tsc, '-p', join(project, 'tsconfig.json')], { encoding: 'utf8' });
  if (ts.status === 0) {
    console.log('TypeScript: check.ts type-checks against the package');
  } else {
    failures++;
    console.log(`  FAIL TypeScript:\n${ts.stdout}${ts.stderr}`);
  }
  // And a deliberate type error must be caught (the types are not `any`).
  writeFileSync(join(project, 'wrong.ts'), "import { verifyReceipt } from 'qed-verifier';\nconst r = verifyReceipt('{}', 'k');\nconst n: number = r.reason;\nexport { n };\n");
  const wrong = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--skipLibCheck', 'false', join(project, 'wrong.ts')], { encoding: 'utf8', cwd: project });
  if (wrong.status !== 0 && /reason/.test(wrong.stdout)) {
    console.log('TypeScript: a misuse of a result is a type error, as it should be');
  } else {
    failures++;
    console.log(`  FAIL TypeScript accepted a misuse of a result: ${wrong.stdout}`);
  }
} finally {
  if (browser) await browser.close();
  if (!process.env.KEEP_CONSUMER) rmSync(tmp, { recursive: true, force: true });
}
console.log(failures === 0 ? 'consumer: all passed' : `consumer: ${failures} failures`);
process.exit(failures === 0 ? 0 : 1);
