import { ConfigurationError } from "../errors.js";
import type { EventIdentity } from "./identity.js";
import type { ThrottleEvents } from "./publish.js";
import { checkLogger } from "./report.js";
import type { Logger, ThrottleHooks } from "./types.js";

/** A throttle's event options, as `ThrottleOptions` takes them. @internal */
export interface EventOptions extends ThrottleHooks {
  eventIdentity?: EventIdentity;
  logger?: Logger;
}

const HOOKS = ["onDecision", "onThrottled", "onBackendError"] as const;

/**
 * Checks a throttle's hooks, `eventIdentity` and `logger`. @internal
 * @throws {ConfigurationError} for a hook that is not a function, an unknown `eventIdentity`,
 * or a logger without `warn` and `error`.
 */
export function readThrottleEvents(
  uid: string,
  strategyName: string,
  options: EventOptions,
): ThrottleEvents {
  for (const name of HOOKS) {
    const hook = options[name];
    if (hook !== undefined && typeof hook !== "function") {
      throw new ConfigurationError(`Throttle "${uid}": ${name} must be a function.`);
    }
  }
  const identity = options.eventIdentity ?? "hashed";
  if (identity !== "hashed" && identity !== "raw") {
    throw new ConfigurationError(
      `Throttle "${uid}": eventIdentity must be "hashed" or "raw", got ${JSON.stringify(identity)}.`,
    );
  }
  const { onDecision, onThrottled, onBackendError } = options;
  return {
    uid,
    strategyName,
    hooks: Object.freeze({ onDecision, onThrottled, onBackendError }),
    watchesDecisions: onDecision !== undefined || onThrottled !== undefined,
    identity,
    logger: checkLogger(`Throttle "${uid}"`, options.logger),
  };
}
