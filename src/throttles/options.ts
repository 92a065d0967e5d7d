import type { ThrottleBackend } from "../backends/base.js";
import type { BackendError } from "../errors.js";
import type { EventIdentity } from "../events/identity.js";
import type { BackendErrorEvent, DecisionEvent, Logger, ThrottledEvent } from "../events/types.js";
import type { OptionNames } from "../internal/known-keys.js";
import type { Rate } from "../rate.js";
import type { Strategy } from "../strategies/strategy.js";
import type { Unlimited } from "../unlimited.js";
import type { AccessOptions } from "./access.js";
import type { BaseThrottle } from "./base.js";
import type { Decision } from "./decision.js";

/** Names the client a connection belongs to; `UNLIMITED` exempts the connection. */
export type Identifier<C> = (connection: C) => string | Unlimited | Promise<string | Unlimited>;

/**
 * Any throttle, whatever connection type it reads: what handlers receive to learn which
 * throttle spoke (`uid`, `rate`, `strategy`). Typed so that a throttle of a general connection
 * type fits where a more specific one is expected (an Express route, say).
 */
export type AnyThrottle = BaseThrottle<never>;

/** Called when a connection is throttled. The default throws `ConnectionThrottled`. */
export type ThrottledHandler<C> = (
  connection: C,
  waitMs: number,
  throttle: AnyThrottle,
  decision: Decision,
) => unknown;

/** What to do when the backend fails or times out. */
export type ErrorAction = "allow" | "throttle" | "raise";

/** Chooses an {@link ErrorAction} for one failure. */
export type ErrorHandler<C> = (
  error: BackendError,
  context: { connection: C; throttle: AnyThrottle },
) => ErrorAction | Promise<ErrorAction>;

/**
 * `"enforce"` rejects what the limit rejects; `"shadow"` counts and reports exactly as if
 * enforcing (state charged, events with `enforced: false`, decisions with `allowed: false` and
 * `shadow: true` where it would reject) but never rejects nor delays a request.
 */
export type ThrottleMode = "enforce" | "shadow";

/** Options of every throttle. */
export interface ThrottleOptions<C> extends AccessOptions<C> {
  /** Names the throttle and its key space; unique per backend. Letters, digits, `_`, `-`, `.`. */
  uid: string;
  /** `"100/m"`, `"5/10s"`, or a {@link Rate}. */
  rate: Rate | string;
  /** Names the client. @default the client address (see `clientAddress`) */
  identifier?: Identifier<C>;
  /** Called for a throttled connection. @default throws `ConnectionThrottled` */
  handleThrottled?: ThrottledHandler<C>;
  /** The algorithm. @default new FixedWindowStrategy() */
  strategy?: Strategy;
  /**
   * Where counters live. @default the backend installed for the call: by `backend.run()`, or by
   * a framework's `ThrottleMiddleware` (looked up at every call, so the throttle follows the app)
   */
  backend?: ThrottleBackend;
  /**
   * Let a backend installed for the call (a tenant's, by `backend.run()` or `attachTo`) win over
   * `backend`, which then serves only calls with none installed. @default false
   */
  dynamicBackend?: boolean;
  /**
   * `"shadow"` watches a new or tightened limit on real traffic before it bites: counted and
   * published as if enforcing, never rejecting nor delaying. Its decisions leave the rate-limit
   * headers out. @default "enforce"
   */
  mode?: ThrottleMode;
  /** The shortest wait a throttled client is told, in ms. Admitted requests are unaffected. @default 0 */
  minWaitPeriod?: number;
  /** Extra headers for the throttled response. */
  headers?: Readonly<Record<string, string>>;
  /** Units each request takes: a whole number, or a function of the connection. @default 1 */
  cost?: number | ((connection: C) => number | Promise<number>);
  /**
   * When a backend that worked fails or times out (an outage; configuration errors always
   * throw): `"throttle"` rejects with a wait of `minWaitPeriod` or 1 s, so no client gets past
   * its limit while the backend is away; `"allow"` admits (warning once per outage), trading
   * the limit for availability; `"raise"` throws the `BackendError`; a function chooses per
   * failure. @default "throttle", as Traffik for Python, express-rate-limit and
   * @fastify/rate-limit do
   */
  onError?: ErrorAction | ErrorHandler<C>;
  /**
   * Called with every decision of this throttle (exempt connections excepted), as published on
   * `traffik:decision`. Synchronous: keep it short. One that throws is logged, not propagated.
   */
  onDecision?: (event: DecisionEvent) => void;
  /** Called with every rejection by this throttle, as published on `traffik:throttled`. */
  onThrottled?: (event: ThrottledEvent) => void;
  /** Called with every backend failure `onError` decides, as published on `traffik:backend-error`. */
  onBackendError?: (event: BackendErrorEvent) => void;
  /**
   * The identity events carry: `"hashed"`, a keyed hash (SHA-256 of a random key of this
   * process and the identity, 16 hex digits: stable within the process, not reversible by
   * hashing every address), since raw identities (addresses, user ids) are personal data in
   * logs; or `"raw"`. @default "hashed"
   */
  eventIdentity?: EventIdentity;
  /**
   * Let {@link BaseThrottle.block} ban clients of this throttle for a while, as every process on
   * the backend sees: each decision of the throttle then also reads the client's ban, under a
   * key of its own, in the same atomic call (one more member of its group). A throttle without
   * it pays nothing for bans. @default false
   */
  blocking?: boolean;
  /**
   * Where the warning that `onError` admits requests during an outage goes, once per outage.
   * @default none: a process warning, as before
   */
  logger?: Logger;
}

/** The names of {@link ThrottleOptions}, for the check of unknown keys. @internal */
export const THROTTLE_OPTION_NAMES: OptionNames<ThrottleOptions<unknown>> = {
  uid: true,
  rate: true,
  identifier: true,
  handleThrottled: true,
  strategy: true,
  backend: true,
  dynamicBackend: true,
  minWaitPeriod: true,
  headers: true,
  cost: true,
  onError: true,
  onDecision: true,
  onThrottled: true,
  onBackendError: true,
  eventIdentity: true,
  logger: true,
  mode: true,
  skip: true,
  allowList: true,
  denyList: true,
  blocking: true,
};

/** Options of one call. */
export interface HitOptions {
  /** Units this request takes, instead of the throttle's `cost`. */
  cost?: number;
  /**
   * Gives up a queueing delay (leaky bucket with queue) when aborted: the call then rejects with
   * the signal's reason, and no timer or listener of the wait remains.
   */
  signal?: AbortSignal;
}
