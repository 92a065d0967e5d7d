/**
 * What a backend author needs: the store contract to subclass ({@link ThrottleBackend}: five
 * required methods, the rest declared capabilities), the decision requests it answers, locks
 * (and {@link pollForLock} for a store that can only "take it if free"), and the strategy
 * states it stores. Apps do not need this subpath: they pick a backend from
 * `traffik/backends/*`.
 *
 * @module
 */
export { ThrottleBackend, type ThrottleBackendOptions } from "./backends/base.js";
export { pollForLock } from "./backends/poll-lock.js";
export type { DecisionMode, DecisionRequest, Lock, LockOptions } from "./backends/types.js";
export type { Step, Strategy, StrategyState } from "./strategies/strategy.js";
