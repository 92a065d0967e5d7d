import { ConfigurationError } from "../../errors.js";
import { type OptionNames, rejectUnknownOptions } from "../../internal/known-keys.js";
import { BaseThrottle } from "../../throttles/base.js";
import {
  checkOptions,
  INTEGRATION_OPTION_NAMES,
  type IntegrationOptions,
  type SettingsOverrides,
} from "./options.js";

/** Arguments of an adapter's `throttled(...)`: optional options first, then the throttles. */
export type ThrottledArgs<C> = [IntegrationOptions<C>, ...BaseThrottle<C>[]] | BaseThrottle<C>[];

/** Checks that every argument is a throttle, so a typo fails at startup, not per request. @internal */
export function checkThrottles<C>(throttles: readonly unknown[], where: string): BaseThrottle<C>[] {
  for (const throttle of throttles) {
    if (!(throttle instanceof BaseThrottle)) {
      throw new ConfigurationError(`${where}: expected throttles, got ${String(throttle)}.`);
    }
  }
  return throttles as BaseThrottle<C>[];
}

/**
 * Splits and checks the arguments of an adapter's `throttled(...)` (or of another function
 * taking optional options first, then throttles), naming `where` in errors. @internal
 */
export function parseThrottledArgs<C, O extends object = IntegrationOptions<C>>(
  args: readonly (O | BaseThrottle<C>)[],
  where = "throttled()",
  names: OptionNames<O> = INTEGRATION_OPTION_NAMES as unknown as OptionNames<O>,
): {
  options: O | undefined;
  /** The settings the options override, checked; `undefined` without options. */
  overrides: SettingsOverrides | undefined;
  throttles: BaseThrottle<C>[];
} {
  const first = args[0];
  const options = first instanceof BaseThrottle || first === undefined ? undefined : first;
  const throttles = options === undefined ? args : args.slice(1);
  rejectUnknownOptions(where, options, names);
  const overrides =
    options === undefined ? undefined : checkOptions(options as IntegrationOptions<never>, where);
  if (throttles.length === 0) throw new ConfigurationError(`${where} needs at least one throttle.`);
  return {
    options: options as O | undefined,
    overrides,
    throttles: checkThrottles<C>(throttles, where),
  };
}
