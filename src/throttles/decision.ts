import type { Rate } from "../rate.js";

/**
 * The outcome of asking a throttle about one connection: everything needed to answer the
 * client or render rate-limit headers.
 */
export interface Decision {
  /** Whether the request is admitted. */
  readonly allowed: boolean;
  /** The throttle's `uid`: the name of the policy this decision came from. */
  readonly uid: string;
  /** The throttle's rate. */
  readonly rate: Rate;
  /**
   * The most units the client can hold at once: the strategy's capacity at the rate (`burst`,
   * `burstSize + maxDebt`, a queue's size + 1, else `rate.limit`), so `remaining <= limit`
   * always. The sustained rate is `rate`.
   */
  readonly limit: number;
  /** Whole units the client could still use right now. */
  readonly remaining: number;
  /** When rejected: whole ms to wait before retrying (at least `minWaitPeriod`); else 0. */
  readonly retryAfterMs: number;
  /** Whole ms until the client's full quota is back. */
  readonly resetAfterMs: number;
  /** When admitted by a queueing strategy: whole ms the request waited (or must wait) to start. */
  readonly delayMs: number;
  /**
   * Where the decision came from: the backend; the in-process backend of degraded mode while
   * the shared one was out; an exemption (`UNLIMITED`); or the `onError` policy because the
   * backend failed.
   */
  readonly source: "backend" | "degraded" | "exempt" | "error";
  /**
   * `true` on a decision of a throttle in shadow mode (or applied by a middleware in shadow
   * mode): `allowed` says what enforcing would have answered, but the request was admitted
   * whatever it says, without delay. Absent otherwise.
   */
  readonly shadow?: true;
}
