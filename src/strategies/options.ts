import { ConfigurationError } from "../errors.js";

/** Checks a strategy option that must be a whole number of at least `min`, if given. */
export function wholeNumberOption(
  strategy: string,
  name: string,
  value: number | undefined,
  min: number,
): number | undefined {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < min)) {
    throw new ConfigurationError(
      `${strategy}: \`${name}\` must be a whole number of at least ${min}, got ${String(value)}.`,
    );
  }
  return value;
}
