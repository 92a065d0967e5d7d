import { ConfigurationError } from "../errors.js";
import { checkLogger } from "../events/report.js";
import type { Logger } from "../events/types.js";
import type { OptionNames } from "../internal/known-keys.js";

/** Options every backend takes. */
export interface ThrottleBackendOptions {
  /** Prefix of every key this backend writes; letters, digits, `_`, `-` and `.`. */
  namespace: string;
  /** Keep the namespace's data on `close()`. @default false */
  persistent?: boolean;
  /** The longest a throttle waits for one backend call before `onError` decides. @default 1000 */
  timeoutMs?: number;
  /** Lifetime of the locks the default decision path takes, in ms. @default 5000 */
  lockTtlMs?: number;
  /**
   * The most commands this backend keeps waiting on its server at once. Beyond it a decision is
   * not sent: `onError` decides it at once, so a frozen server cannot make the process hold ever
   * more abandoned commands. @default 1000
   */
  maxPending?: number;
  /**
   * Where an outage's start and end are logged, one structured line each (pino, `console`).
   * @default none: a process warning, as before
   */
  logger?: Logger;
}

/** The names of {@link ThrottleBackendOptions}, for backends' check of unknown keys. */
export const BACKEND_OPTION_NAMES: OptionNames<ThrottleBackendOptions> = {
  namespace: true,
  persistent: true,
  timeoutMs: true,
  lockTtlMs: true,
  maxPending: true,
  logger: true,
};

const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;

/** Checks a namespace or throttle uid: it becomes part of storage keys, so it is kept plain. */
export function checkName(kind: string, name: unknown): string {
  if (typeof name !== "string" || !NAME_PATTERN.test(name)) {
    throw new ConfigurationError(
      `Invalid ${kind} ${JSON.stringify(name)}: use 1 to 128 letters, digits, "_", "-" or ".".`,
    );
  }
  return name;
}

/** The options every backend takes, checked and with their defaults. @internal */
export interface CheckedBackendOptions {
  readonly namespace: string;
  readonly persistent: boolean;
  readonly timeoutMs: number;
  readonly lockTtlMs: number;
  readonly maxPending: number;
  readonly logger: Logger | undefined;
}

/**
 * {@link ThrottleBackendOptions} with their defaults, in one place.
 * @throws {ConfigurationError} for a bad namespace, duration or bound.
 */
export function checkBackendOptions(options: ThrottleBackendOptions): CheckedBackendOptions {
  const checked = {
    namespace: checkName("namespace", options.namespace),
    persistent: options.persistent ?? false,
    timeoutMs: options.timeoutMs ?? 1000,
    lockTtlMs: options.lockTtlMs ?? 5000,
    maxPending: options.maxPending ?? 1000,
    logger: checkLogger("Backend", options.logger),
  };
  if (!(checked.timeoutMs > 0) || !(checked.lockTtlMs > 0)) {
    throw new ConfigurationError(
      "timeoutMs and lockTtlMs must be positive numbers of milliseconds.",
    );
  }
  if (!Number.isSafeInteger(checked.maxPending) || checked.maxPending < 1) {
    throw new ConfigurationError("maxPending must be a whole number of at least 1.");
  }
  return checked;
}
