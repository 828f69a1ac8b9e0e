import type {
  CheckpointResult,
  EventOrDigest,
  Failure,
  IncrementalResult,
  MembershipResult,
  ReceiptResult,
  Snapshot,
  U64,
} from './index.js';

/** Where the client finds signed snapshots it trusts more than the server's word. */
export type SnapshotStore = string | ((size: U64) => Promise<Snapshot | string | null> | Snapshot | string | null);

export interface ClientOptions {
  /** Base URL of a QED node, e.g. `http://127.0.0.1:8800`. */
  server: string;
  /** The log's verifier key string `<name>+<key ID>+<base64 key>`: the only thing trusted. */
  verifierKey: string;
  /** A snapshot store: a base URL (read with `GET ${store}${storePath(size)}`), or a function. */
  store?: SnapshotStore;
  /** Path of the snapshot of a size on the store (default `/snapshot/${size}`). */
  storePath?: (size: U64) => string;
  /** The server's API key (`Api-Key` header), needed only by `add`. */
  apiKey?: string;
  /** A fetch implementation (default: `globalThis.fetch`). */
  fetch?: typeof fetch;
  /** Per-request timeout in milliseconds (default 10000). */
  timeoutMs?: number;
  /** Browsers only: what `init()` loads the WebAssembly module from (default: beside the package). */
  wasm?: unknown;
}

/** An HTTP exchange that failed (network, timeout, or a non-2xx status). */
export type RequestFailure = Failure & { status?: number };

/** Loads the WebAssembly module if needed and returns a client. Never rejects. */
export declare function connect(options: ClientOptions): Promise<QedClient>;

export declare class QedClient {
  constructor(options: ClientOptions);
  /** Adds an event (`POST /events`) and verifies the receipt against it. */
  add(event: Uint8Array | string): Promise<(ReceiptResult & { receipt?: string }) | RequestFailure>;
  /** Membership of an event as of `version` (default latest), verified against the store's
   * signed snapshot of size `version + 1` (or the answer's own snapshot without a store). */
  membership(
    eventOrDigest: EventOrDigest,
    options?: { version?: U64 },
  ): Promise<MembershipResult & { answer?: string }>;
  /** Consistency between the store's snapshots of versions `start` and `end`, by the server's
   * incremental proof. */
  incremental(start: U64, end: U64): Promise<(IncrementalResult & { answer?: string }) | RequestFailure>;
  /** The server's latest signed checkpoint (`GET /checkpoint`), verified. */
  checkpoint(): Promise<(CheckpointResult & { note?: string }) | RequestFailure>;
  /** The store's snapshot of a size. */
  storedSnapshot(size: U64): Promise<{ ok: true; snapshot: Snapshot | string } | RequestFailure>;
}
