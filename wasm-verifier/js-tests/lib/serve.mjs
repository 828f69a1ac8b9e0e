// An HTTP server on 127.0.0.1 for the package's tests. It serves:
//   /api/...    the QED HTTP API (docs/API.md): answers from fixtures (MemoryLog, written by
//               `cargo run --example fixtures`), or proxied to a real `qed` server (`upstream`)
//   /store/...  a snapshot store: GET /store/snapshot/{size} (fixtures, or the upstream server's
//               own GET /snapshot/{size})
//   /fixtures.json, and static files from `root` (the browser test's page and the package)
// Same origin for everything, so the browser page needs no CORS from the QED server.
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.ts': 'text/plain',
};

function send(res, status, body, type = 'application/json') {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
  res.end(body);
}

async function body(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

/** The fixtures' QED API: canned answers looked up by the request. */
function fakeApi(fixtures, apiKey) {
  const seen = new Set();
  const notFound = (res, what) => send(res, 404, JSON.stringify({ error: `no fixture for ${what}` }));
  return async (req, res, path) => {
    if (req.method === 'POST' && path === '/events') {
      if (req.headers['api-key'] !== apiKey) return send(res, 401, JSON.stringify({ error: 'missing or wrong Api-Key' }));
      const b = JSON.parse(await body(req));
      const digest = b.digest ?? createHash('sha256').update(Buffer.from(b.event, 'base64')).digest('hex');
      const receipt = fixtures.receipts[digest];
      if (!receipt) return notFound(res, `event ${digest}`);
      const text = seen.has(digest) ? receipt.replace('"duplicate":false', '"duplicate":true') : receipt;
      seen.add(digest);
      return send(res, 200, text);
    }
    if (req.method === 'POST' && (path === '/proofs/digest-membership' || path === '/proofs/membership')) {
      const b = JSON.parse(await body(req));
      const digest = b.digest ?? createHash('sha256').update(Buffer.from(b.event, 'base64')).digest('hex');
      const key = `${digest}@${b.version ?? 'latest'}`;
      return fixtures.membership[key] ? send(res, 200, fixtures.membership[key]) : notFound(res, key);
    }
    if (req.method === 'POST' && path === '/proofs/incremental') {
      const b = JSON.parse(await body(req));
      const key = `${b.start}-${b.end}`;
      return fixtures.incremental[key] ? send(res, 200, fixtures.incremental[key]) : notFound(res, key);
    }
    const size = /^\/snapshot\/(\d+)$/.exec(path);
    if (req.method === 'GET' && size) {
      const s = fixtures.snapshots[size[1]];
      return s ? send(res, 200, s) : notFound(res, `snapshot ${size[1]}`);
    }
    if (req.method === 'GET' && path === '/checkpoint') return send(res, 200, fixtures.checkpoint, 'text/plain; charset=utf-8');
    return notFound(res, `${req.method} ${path}`);
  };
}

/** Forwards a request to the real server. */
function proxy(upstream) {
  return async (req, res, path) => {
    const init = { method: req.method, headers: {} };
    for (const h of ['content-type', 'api-key']) if (req.headers[h]) init.headers[h] = req.headers[h];
    if (req.method !== 'GET' && req.method !== 'HEAD') init.body = await body(req);
    const r = await fetch(`${upstream}${path}`, { ...init, redirect: 'follow' });
    send(res, r.status, Buffer.from(await r.arrayBuffer()), r.headers.get('content-type') || 'application/octet-stream');
  };
}

/**
 * Starts the server on 127.0.0.1 and a free port.
 * @param {{ fixtures?: object, upstream?: string, apiKey?: string, root?: string }} options
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
export async function serve({ fixtures, upstream, apiKey = 'test-key', root } = {}) {
  const api = upstream ? proxy(upstream) : fakeApi(fixtures, apiKey);
  const server = createServer(async (req, res) => {
    try {
      const path = new URL(req.url, 'http://x').pathname;
      if (path.startsWith('/api/')) return await api(req, res, path.slice(4));
      if (path.startsWith('/store/')) {
        if (req.method !== 'GET') return send(res, 405, '{"error":"read-only store"}');
        return await api(req, res, path.slice(6));
      }
      if (path === '/fixtures.json' && fixtures) return send(res, 200, JSON.stringify(fixtures));
      if (!root) return send(res, 404, '{"error":"not found"}');
      const file = normalize(join(root, decodeURIComponent(path === '/' ? '/index.html' : path)));
      if (!file.startsWith(normalize(root))) return send(res, 403, 'forbidden', 'text/plain');
      const data = await readFile(file).catch(() => null);
      if (!data) return send(res, 404, 'not found', 'text/plain');
      return send(res, 200, data, TYPES[extname(file)] || 'application/octet-stream');
    } catch (error) {
      send(res, 500, JSON.stringify({ error: String(error) }));
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
}
