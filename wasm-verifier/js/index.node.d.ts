export * from './qed_verifier';
/** Nothing to do in Node (the module is loaded with the package). Present so that code shared
 * with browsers can always `await init()`. */
export declare function init(): Promise<void>;
/** Nothing to do in Node; see `init`. */
export declare function initSync(): void;
