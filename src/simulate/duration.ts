import { UsageError } from "./usage-error.js";

const MS_PER_UNIT: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * Reads a duration such as `10s`, `250ms`, `1.5s`, `2m` or a bare number of milliseconds, as
 * whole milliseconds (rounded down).
 *
 * @param flag the option it came from, for the error message.
 * @throws {UsageError} naming `flag` and the text, for anything else or a negative duration.
 */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  const ms = match ? Number(match[1]) * (MS_PER_UNIT[match[2] ?? "ms"] as number) : Number.NaN;
  if (!Number.isSafeInteger(Math.floor(ms))) {
    throw new UsageError(
      `${flag}: ${JSON.stringify(text)} is not a duration; write it as 10s, 250ms, 2m or 1h.`,
    );
  }
  return Math.floor(ms);
}

/** A duration as short text: whole seconds, minutes or hours when it is one, else ms. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1_000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  if (ms >= 1_000 && ms % 100 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}
