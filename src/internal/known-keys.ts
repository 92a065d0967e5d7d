import { ConfigurationError } from "../errors.js";

/**
 * Every option name of an options type, each once. Typed so that the compiler fails when a name
 * is missing or extra, and the list cannot drift from the type it checks.
 */
export type OptionNames<T> = { readonly [K in keyof Required<T>]: true };

/** What other rate limiters call an option, and what Traffik calls it (lower-cased keys). */
const PEER_NAMES: Readonly<Record<string, readonly string[]>> = {
  keygenerator: ["identifier"],
  gettracker: ["identifier"],
  key: ["identifier"],
  max: ["rate"],
  limit: ["rate"],
  points: ["rate"],
  windowms: ["rate"],
  timewindow: ["rate"],
  duration: ["rate"],
  handler: ["handleThrottled", "onThrottled"],
  prefix: ["namespace"],
  keyprefix: ["namespace"],
  store: ["backend"],
  storeclient: ["connection"],
  client: ["connection"],
  redis: ["connection"],
  timeout: ["timeoutMs"],
  standardheaders: ["headers"],
  legacyheaders: ["headers"],
  trustproxy: ["trustedProxies"],
  queuelength: ["queueSize"],
};

/**
 * Throws a {@link ConfigurationError} for any own key of `options` that is not among `names`,
 * naming the nearest valid one, so a misspelt or foreign option fails where it is written
 * instead of being ignored.
 *
 * @param where what took the options, as the message should name it (`"HTTPThrottle"`).
 */
export function rejectUnknownOptions<T>(
  where: string,
  options: T | undefined,
  names: OptionNames<T>,
): void {
  if (typeof options !== "object" || options === null) return;
  for (const key of Object.keys(options)) {
    if (Object.hasOwn(names, key)) continue;
    const valid = Object.keys(names);
    const nearest = nearestName(key, valid);
    const hint = nearest === undefined ? "" : `; did you mean "${nearest}"?`;
    throw new ConfigurationError(
      `${where}: unknown option "${key}"${hint}. Valid options: ${valid.join(", ")}.`,
    );
  }
}

/** The valid name a key most likely meant: same letters, a peer's name for it, or a near spelling. */
function nearestName(key: string, valid: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const sameLetters = valid.find((name) => name.toLowerCase() === lower);
  if (sameLetters !== undefined) return sameLetters;
  const peer = PEER_NAMES[lower]?.find((name) => valid.includes(name));
  if (peer !== undefined) return peer;
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(lower.length / 3)) + 1;
  for (const name of valid) {
    const distance = editDistance(lower, name.toLowerCase());
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}

/** Edits (insert, delete, replace, swap two neighbours) that turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  // Rows i-2, i-1 and i of the table; option names are short.
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const replace = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      let cost = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, replace);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        cost = Math.min(cost, (before[j - 2] as number) + 1);
      }
      current.push(cost);
    }
    before = previous;
    previous = current;
  }
  return previous[b.length] as number;
}
