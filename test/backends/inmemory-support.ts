/** Helpers of the in-memory backend's tests: warnings collected, Map walks counted. */

/** Runs `body` with every `process.emitWarning` collected (their codes) instead of printed. */
export function collectWarnings(body: () => void): string[] {
  const codes: string[] = [];
  const original = process.emitWarning;
  process.emitWarning = ((_message: string, options?: { code?: string }) => {
    codes.push(options?.code ?? "");
  }) as typeof process.emitWarning;
  try {
    body();
  } finally {
    process.emitWarning = original;
  }
  return codes;
}

/**
 * Counts the Map iterators started while `body` runs. A fresh iterator skips every deleted
 * entry ahead of the first live one, so starting one per eviction costs O(deleted) each time.
 */
export function countMapWalks(body: () => void): number {
  const prototype = Map.prototype as unknown as Record<string | symbol, unknown>;
  const names = ["keys", "values", "entries", "forEach", Symbol.iterator] as const;
  const originals = names.map((name) => prototype[name]);
  let walks = 0;
  names.forEach((name, i) => {
    const original = originals[i] as (...args: unknown[]) => unknown;
    prototype[name] = function (this: unknown, ...args: unknown[]) {
      walks++;
      return original.apply(this, args);
    };
  });
  try {
    collectWarnings(body);
  } finally {
    names.forEach((name, i) => {
      prototype[name] = originals[i];
    });
  }
  return walks;
}
