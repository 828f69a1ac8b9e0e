// qed-verifier/client: asks a QED server (docs/API.md) and a snapshot store for answers, and
// verifies every answer with the WebAssembly verifier before returning it. The server is never
// trusted: a result is `ok` only if the proofs check out against snapshots signed by the
// verifier key you give, and, for the store-based checks, against the snapshots the store holds.
//
// Like the rest of the package, nothing here throws or rejects: network failures, HTTP errors
// and bad answers all resolve to `{ ok: false, reason }`.
//
// Answers are passed to the verifier as the server's raw JSON text, so versions above 2^53 stay
// exact (JSON.parse would round them).
import * as qed from './index.js';

const DEFAULT_TIMEOUT_MS = 10000;

/** Loads the WebAssembly module if needed (browsers) and returns a client. */
export async function connect(options) {
  if (typeof qed.init === 'function') await qed.init(options && options.wasm);
  return new QedClient(options);
}

function describe(error) {
  try {
    return String(error instanceof Error ? error.message : error);
  } catch {
    return 'unknown error';
  }
}

const fail = (reason) => ({ ok: false, reason });

/** Whether a value is a size, index or version: a whole non-negative number or a bigint. */
function isUint(v) {
  return (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) || (typeof v === 'bigint' && v >= 0n);
}

/** A JSON text with a version written exactly, also when it is a bigint. */
function jsonWith(fields) {
  const parts = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${JSON.stringify(k)}:${typeof v === 'bigint' ? v.toString() : JSON.stringify(v)}`);
  return `{${parts.join(',')}}`;
}

/** Reads `query_version` from a membership answer's text without rounding it. */
function queryVersion(text) {
  const m = /"query_version"\s*:\s*(\d+)/.exec(text);
  if (!m) return undefined;
  const v = BigInt(m[1]);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

const plusOne = (v) => (typeof v === 'bigint' ? v + 1n : v + 1);

export class QedClient {
  /**
   * @param options.server       base URL of a QED node, e.g. http://127.0.0.1:8800
   * @param options.verifierKey  the log's verifier key string: the only thing trusted
   * @param options.store        snapshot store: a base URL (snapshots are read from
   *                             `${store}${storePath(size)}`) or a function `size => snapshot`
   *                             (a Snapshot object, its JSON text, a signed note, or null)
   * @param options.storePath    path of the snapshot of a size (default `/snapshot/${size}`,
   *                             the shape of the QED server's own `GET /snapshot/{size}`)
   * @param options.apiKey       the server's API key, needed only by `add`
   * @param options.fetch        a fetch implementation (default: the global one)
   * @param options.timeoutMs    per-request timeout (default 10 s)
   */
  constructor(options = {}) {
    this.server = String(options.server || '').replace(/\/+$/, '');
    this.store = typeof options.store === 'string' ? options.store.replace(/\/+$/, '') : options.store;
    this.storePath = options.storePath || ((size) => `/snapshot/${size}`);
    this.verifierKey = options.verifierKey;
    this.apiKey = options.apiKey;
    // Bound: browsers refuse a fetch called as a method of another object ("Illegal invocation").
    const f = options.fetch || globalThis.fetch;
    this.fetch = typeof f === 'function' ? (...args) => f.apply(globalThis, args) : undefined;
    this.timeoutMs = options.timeoutMs || DEFAULT_TIMEOUT_MS;
  }

  /** One HTTP request; resolves to { ok, status, text } or a failure, never rejects. */
  async request(url, init = {}) {
    if (typeof this.fetch !== 'function') return fail('no fetch implementation');
    let timer;
    try {
      const controller = typeof AbortController === 'function' ? new AbortController() : undefined;
      if (controller) timer = setTimeout(() => controller.abort(), this.timeoutMs);
      const response = await this.fetch(url, { ...init, signal: controller && controller.signal });
      const text = await response.text();
      if (!response.ok) {
        let detail = text;
        try {
          detail = JSON.parse(text).error || text;
        } catch {
          // not JSON: keep the text
        }
        return { ...fail(`${init.method || 'GET'} ${url} answered ${response.status}: ${String(detail).slice(0, 200)}`), status: response.status };
      }
      return { ok: true, status: response.status, text };
    } catch (error) {
      return fail(`${init.method || 'GET'} ${url} failed: ${describe(error)}`);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  post(path, body, headers = {}) {
    return this.request(`${this.server}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body,
    });
  }

  /** The stored snapshot of a size, from the store: { ok, snapshot } or a failure. */
  async storedSnapshot(size) {
    if (typeof this.store === 'function') {
      try {
        const snapshot = await this.store(size);
        return snapshot == null ? fail(`the store has no snapshot of size ${size}`) : { ok: true, snapshot };
      } catch (error) {
        return fail(`the store failed: ${describe(error)}`);
      }
    }
    if (!this.store) return fail('no snapshot store configured');
    const got = await this.request(`${this.store}${this.storePath(size)}`);
    if (!got.ok) return got.status === 404 ? fail(`the store has no snapshot of size ${size}`) : got;
    return { ok: true, snapshot: got.text };
  }

  /**
   * Adds an event (POST /events, needs apiKey) and verifies the receipt against it.
   * Resolves to verifyReceipt's result plus `receipt` (the server's JSON text).
   */
  async #add(event) {
    const bytes = typeof event === 'string' ? new TextEncoder().encode(event) : event;
    if (!(bytes instanceof Uint8Array)) return fail('event must be a Uint8Array or a string');
    let b64;
    try {
      b64 = base64(bytes);
    } catch (error) {
      return fail(`event cannot be encoded: ${describe(error)}`);
    }
    const got = await this.post('/events', JSON.stringify({ event: b64 }), this.apiKey ? { 'Api-Key': this.apiKey } : {});
    if (!got.ok) return got;
    return { ...qed.verifyReceipt(got.text, this.verifierKey, bytes), receipt: got.text };
  }

  /**
   * Asks whether an event (or digest) is in the log as of `version` (default: the latest) and
   * verifies the answer against the store's signed snapshot of size version + 1 (against the
   * answer's own snapshot only when no store is configured). Resolves to verifyMembership's
   * result plus `answer` (the server's JSON text).
   */
  async #membership(eventOrDigest, { version } = {}) {
    if (version !== undefined && !isUint(version)) return { ...fail('version must be a whole number or a bigint'), member: false };
    const digest = digestOf(eventOrDigest);
    if (!digest) return { ...fail('eventOrDigest must be an event (Uint8Array or string), a digest, { event } or { digest }'), member: false };
    const got = await this.post('/proofs/digest-membership', jsonWith({ digest, version }));
    if (!got.ok) return { ...got, member: false };
    let snapshot = null;
    if (this.store) {
      const q = queryVersion(got.text);
      if (q === undefined) return { ...fail('the answer has no query_version'), member: false, answer: got.text };
      const stored = await this.storedSnapshot(plusOne(q));
      if (!stored.ok) return { ...stored, member: false, answer: got.text };
      snapshot = stored.snapshot;
    }
    return { ...qed.verifyMembership(got.text, snapshot, this.verifierKey, { digest }), answer: got.text };
  }

  /**
   * Checks that the log at version `end` extends the log at version `start`: takes both signed
   * snapshots from the store (sizes start + 1 and end + 1), asks the server for the consistency
   * proof, and verifies it. Resolves to verifyIncremental's result plus `answer`.
   */
  async #incremental(start, end) {
    if (!isUint(start) || !isUint(end)) return fail('start and end must be whole numbers or bigints');
    const [older, newer] = await Promise.all([this.storedSnapshot(plusOne(start)), this.storedSnapshot(plusOne(end))]);
    if (!older.ok) return older;
    if (!newer.ok) return newer;
    const got = await this.post('/proofs/incremental', jsonWith({ start, end }));
    if (!got.ok) return got;
    return { ...qed.verifyIncremental(got.text, older.snapshot, newer.snapshot, this.verifierKey), answer: got.text };
  }

  add(event) {
    return safely(() => this.#add(event));
  }

  membership(eventOrDigest, options) {
    return safely(() => this.#membership(eventOrDigest, options || {}), { member: false });
  }

  incremental(start, end) {
    return safely(() => this.#incremental(start, end));
  }

  checkpoint() {
    return safely(() => this.#checkpoint());
  }

  /** The server's latest signed checkpoint (GET /checkpoint), verified. */
  async #checkpoint() {
    const got = await this.request(`${this.server}/checkpoint`);
    if (!got.ok) return got;
    return { ...qed.verifyCheckpoint(got.text, this.verifierKey), note: got.text };
  }
}

/** Runs an implementation, turning any exception into a failed result. */
async function safely(run, extra = {}) {
  try {
    return await run();
  } catch (error) {
    return { ...fail(`client error: ${describe(error)}`), ...extra };
  }
}

/** The hex digest an event-or-digest argument stands for (as the verifier reads it), or ''. */
function digestOf(v) {
  if (typeof v === 'string') return /^[0-9a-fA-F]{64}$/.test(v) ? v.toLowerCase() : qed.digest(v);
  if (v instanceof Uint8Array) return qed.digest(v);
  if (v && typeof v === 'object') {
    if (v.digest !== undefined) {
      const d = typeof v.digest === 'string' ? v.digest : v.digest instanceof Uint8Array && v.digest.length === 32 ? hex(v.digest) : '';
      return /^[0-9a-fA-F]{64}$/.test(d) ? d.toLowerCase() : '';
    }
    if (v.event !== undefined) return qed.digest(v.event);
  }
  return '';
}

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function base64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
