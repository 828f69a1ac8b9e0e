export * from './qed_verifier.js';
import type { InitInput, InitOutput, SyncInitInput } from './qed_verifier.js';
/** Loads and instantiates the WebAssembly module; call once before anything else. Without an
 * argument it fetches `qed_verifier_bg.wasm` from beside the package's `web/index.js`. */
export declare function init(moduleOrPath?: InitInput | Promise<InitInput>): Promise<InitOutput>;
/** Instantiates the module synchronously from its bytes or a compiled `WebAssembly.Module`. */
export declare function initSync(module: SyncInitInput): InitOutput;
export default init;
