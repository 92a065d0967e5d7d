import type { ThrottleBackend } from "../backends/base.js";
import { checkName } from "../backends/base.js";
import { AnonymousConnection, ConfigurationError, InvalidCost } from "../errors.js";
import type { ThrottleEvents } from "../events/publish.js";
import { readThrottleEvents } from "../events/throttle-events.js";
import { defaultClientAddress, type IdentifiableConnection } from "../identity/client-address.js";
import { rejectUnknownOptions } from "../internal/known-keys.js";
import { Rate } from "../rate.js";
import { defaultStrategy } from "../strategies/default.js";
import type { Strategy } from "../strategies/strategy.js";
import { MAX_UNIT_MS } from "../strategies/whole-numbers.js";
import { type AccessCheck, accessCheck } from "./access.js";
import type { Decision } from "./decision.js";
import {
  type ErrorAction,
  type ErrorHandler,
  type Identifier,
  THROTTLE_OPTION_NAMES,
  type ThrottledHandler,
  type ThrottleOptions,
} from "./options.js";
import { isShadowMode } from "./shadow.js";

/** A throttle's options, checked, with their defaults in place. @internal */
export interface Policy<C> {
  readonly uid: string;
  readonly rate: Rate;
  readonly strategy: Strategy;
  /** The largest cost the strategy can admit at this rate. */
  readonly capacity: number;
  readonly minWaitPeriod: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly dynamicBackend: boolean;
  readonly identifier: Identifier<C>;
  /** `undefined` for the default: throw the throttle's `ConnectionThrottled`. */
  readonly handleThrottled: ThrottledHandler<C> | undefined;
  readonly cost: number | ((connection: C) => number | Promise<number>);
  readonly onError: ErrorAction | ErrorHandler<C>;
  readonly backend: ThrottleBackend | undefined;
  readonly events: ThrottleEvents;
  /** Whether the throttle only watches (`mode: "shadow"`). */
  readonly shadow: boolean;
  /** Deny and allow lists and `skip`; `undefined` when none is given. */
  readonly access: AccessCheck<C> | undefined;
  /** Whether the throttle's decisions read the client's ban (see `ban.ts`). */
  readonly blocking: boolean;
}

/**
 * Checks a throttle's options, naming what is wrong, and fills in the defaults: the client
 * address as identity, the default strategy, a cost of 1, `onError: "throttle"`. @internal
 */
export function readPolicy<C>(kind: string, options: ThrottleOptions<C>): Policy<C> {
  rejectUnknownOptions(kind, options, THROTTLE_OPTION_NAMES);
  const uid = checkName("throttle uid", options.uid);
  const rate = Rate.from(options.rate);
  const strategy = options.strategy ?? defaultStrategy();
  const capacity = strategy.capacity(rate);
  if (capacity * rate.windowMs > MAX_UNIT_MS) {
    throw new ConfigurationError(
      `Throttle "${uid}": ${strategy.name} at ${rate} holds ${capacity} units over ${rate.windowMs} ms; capacity × window must stay below 2^52 for exact arithmetic (about 52 million a day). Use a coarser unit of cost or a shorter window.`,
    );
  }
  const minWaitPeriod = options.minWaitPeriod ?? 0;
  if (!(minWaitPeriod >= 0) || !Number.isFinite(minWaitPeriod)) {
    throw new ConfigurationError(
      `Throttle "${uid}": minWaitPeriod must be a finite number of ms, at least 0.`,
    );
  }
  const policy: Policy<C> = {
    uid,
    rate,
    strategy,
    capacity,
    minWaitPeriod,
    headers: Object.freeze({ ...options.headers }),
    dynamicBackend: options.dynamicBackend ?? false,
    identifier: options.identifier ?? (identifyByAddress as Identifier<C>),
    handleThrottled: options.handleThrottled,
    cost: options.cost ?? 1,
    onError: options.onError ?? "throttle",
    backend: options.backend,
    events: readThrottleEvents(uid, strategy.name, options),
    shadow: isShadowMode(options.mode, `Throttle "${uid}"`),
    access: accessCheck(options, `Throttle "${uid}"`),
    blocking: options.blocking ?? false,
  };
  if (typeof policy.cost === "number") checkCost(policy, policy.cost);
  if (typeof policy.blocking !== "boolean") {
    throw new ConfigurationError(`Throttle "${uid}": blocking must be true or false.`);
  }
  return policy;
}

/** The decision for an exempt (`UNLIMITED`) connection. @internal */
export function exemptDecision(policy: Policy<never>): Decision {
  return Object.freeze({
    allowed: true,
    uid: policy.uid,
    rate: policy.rate,
    limit: policy.capacity,
    remaining: policy.capacity,
    retryAfterMs: 0,
    resetAfterMs: 0,
    delayMs: 0,
    source: "exempt",
  });
}

/** @throws {InvalidCost} for a cost that is not a whole number, or can never be admitted. @internal */
export function checkCost(policy: Policy<never>, cost: number): void {
  if (!Number.isSafeInteger(cost) || cost < 0) {
    throw new InvalidCost(
      `Throttle "${policy.uid}": a cost must be a whole number of at least 0, got ${String(cost)}.`,
      cost,
    );
  }
  if (cost > policy.capacity) {
    throw new InvalidCost(
      `Throttle "${policy.uid}": a cost of ${cost} can never be admitted; ${policy.strategy.name} at ${policy.rate} admits at most ${policy.capacity} at once.`,
      cost,
      policy.capacity,
    );
  }
}

function identifyByAddress(connection: unknown): string {
  const address = defaultClientAddress(connection as IdentifiableConnection);
  if (address === undefined) throw new AnonymousConnection();
  return address;
}
