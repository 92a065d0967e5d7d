/**
 * What Traffik publishes about its decisions and its backends, on `node:diagnostics_channel`
 * (see `channels.ts`) and to a throttle's hooks.
 *
 * @module
 */
import type { BackendError } from "../errors.js";
import type { ErrorAction } from "../throttles/options.js";

/** One throttle's decision for one request: published on `traffik:decision`. */
export interface DecisionEvent {
  /** The throttle's `uid`. */
  readonly uid: string;
  /**
   * The client's identity: by default a keyed hash of it (see `eventIdentity`), the raw
   * identity with `eventIdentity: "raw"`; `undefined` when the backend failed before the
   * identity was known.
   */
  readonly identity: string | undefined;
  /** The strategy's name. */
  readonly strategy: string;
  /** `"consume"` (`hit`, `tryHit`, adapters) or `"peek"`. */
  readonly mode: "consume" | "peek";
  /** Units the request asked for; `undefined` when the backend failed before it was known. */
  readonly cost: number | undefined;
  /**
   * Whether the request is admitted; for a shadow throttle (`enforced: false`), whether it
   * would have been.
   */
  readonly allowed: boolean;
  /**
   * `false` when the throttle (or the middleware applying it) is in shadow mode: the decision
   * was counted and is reported, but the request was neither rejected nor delayed by it.
   */
  readonly enforced: boolean;
  /** Whole units the client could still use right now. */
  readonly remaining: number;
  /** The most units the client can hold at once. */
  readonly limit: number;
  /** When rejected: whole ms to wait before retrying; else 0. */
  readonly retryAfterMs: number;
  /** When admitted by a queueing strategy: whole ms the request waited to start. */
  readonly delayMs: number;
  /** Where the decision came from, as `Decision.source`. */
  readonly source: "backend" | "degraded" | "error";
  /** The namespace of the backend that decided; `undefined` when none was reached. */
  readonly backend: string | undefined;
  /** Ms from the call to the verdict, a queueing delay included (`performance.now()`). */
  readonly durationMs: number;
}

/**
 * A rejected request (not a peek): published on `traffik:throttled` as well as on
 * `traffik:decision`; with `enforced: false`, a shadow throttle's would-be rejection, so that
 * what a limit would throttle shows before it is enforced.
 */
export interface ThrottledEvent extends DecisionEvent {
  /** Always `false`: the request was rejected. */
  readonly allowed: false;
}

/** A throttle's `onError` deciding a backend failure: published on `traffik:backend-error`. */
export interface BackendErrorEvent {
  /** The throttle's `uid`. */
  readonly uid: string;
  /** What `onError` chose. */
  readonly action: ErrorAction;
  /** The failure, its `cause` the backend's own error. */
  readonly error: BackendError;
}

/** What happened to a backend. */
export type BackendState = "ready" | "outage-began" | "outage-ended" | "closed";

/** A backend's state change: published on `traffik:backend-state`. */
export interface BackendStateEvent {
  /** The backend's namespace. */
  readonly backend: string;
  /** What happened. */
  readonly state: BackendState;
  /** For an outage: the node out (a cluster master, a server); `""` for the whole backend. */
  readonly node?: string;
  /** For `"outage-began"`: the failure that began it. */
  readonly error?: unknown;
  /** For `"outage-ended"`: how long the outage lasted, in ms. */
  readonly durationMs?: number;
}

/**
 * Where Traffik logs an outage's start and end, one line each: anything with `warn` and
 * `error` taking a fields object and a message, as pino does (`console` works too).
 */
export interface Logger {
  /** Logs an outage's end, or `onError` admitting requests during one. */
  warn(fields: Readonly<Record<string, unknown>>, message: string): void;
  /** Logs an outage's start, or a hook that threw. */
  error(fields: Readonly<Record<string, unknown>>, message: string): void;
}

/** A throttle's event hooks: called synchronously, after the channels, for its own decisions. */
export interface ThrottleHooks {
  /** Every decision of this throttle (exempt connections excepted). */
  onDecision?: (event: DecisionEvent) => void;
  /** Every rejection by this throttle. */
  onThrottled?: (event: ThrottledEvent) => void;
  /** Every backend failure this throttle's `onError` decides. */
  onBackendError?: (event: BackendErrorEvent) => void;
}
