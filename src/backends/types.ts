import type { Rate } from "../rate.js";
import type { Strategy } from "../strategies/strategy.js";

/** One strategy decision a throttle asks a backend for. */
export interface DecisionRequest {
  /** The throttle's `uid`: its own key space. */
  readonly uid: string;
  /** The client's identity within that key space (already made safe by the throttle). */
  readonly identity: string;
  /** The strategy that decides. */
  readonly strategy: Strategy;
  /** The throttle's rate. */
  readonly rate: Rate;
  /** Units to take; a whole number of at least 0, within the strategy's capacity. */
  readonly cost: number;
}

/** `"consume"` stores what admitted requests take; `"peek"` decides without storing anything. */
export type DecisionMode = "consume" | "peek";

/** Options of {@link ThrottleBackend.lock}. */
export interface LockOptions {
  /** The lock frees itself after this long even if its holder never releases it. @default 5000 */
  ttlMs?: number;
  /** Wait for a held lock instead of failing at once. @default true */
  blocking?: boolean;
  /** The longest wait for a held lock, in ms; then the call fails. @default ttlMs */
  blockingTimeoutMs?: number;
}

/** A held lock. Only its holder can release it; releasing twice, or after expiry, is harmless. */
export interface Lock {
  /** Frees the lock. Resolves `false` if it had already expired (another holder may have it). */
  release(): Promise<boolean>;
}
