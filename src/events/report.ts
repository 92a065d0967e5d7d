import { ConfigurationError } from "../errors.js";
import type { Logger } from "./types.js";

/**
 * Reports an outage's start or end: one structured line to `logger` when one is given, else
 * the process warning Traffik always emitted, so nothing changes for those who set none.
 * @internal
 */
export function report(
  logger: Logger | undefined,
  level: "warn" | "error",
  fields: Readonly<Record<string, unknown>>,
  message: string,
  code: string,
): void {
  if (logger) logger[level]({ ...fields, code }, message);
  else process.emitWarning(message, { code });
}

/**
 * Checks a `logger` option.
 * @throws {ConfigurationError} when it lacks a `warn` or an `error` function.
 */
export function checkLogger(owner: string, logger: unknown): Logger | undefined {
  if (logger === undefined) return undefined;
  const candidate = logger as Partial<Logger> | null;
  if (typeof candidate?.warn !== "function" || typeof candidate.error !== "function") {
    throw new ConfigurationError(
      `${owner}: logger must have warn and error functions (pino or console do).`,
    );
  }
  return logger as Logger;
}
