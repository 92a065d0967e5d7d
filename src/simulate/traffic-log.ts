import type { Traffic } from "./traffic.js";
import { MAX_ARRIVALS } from "./traffic.js";
import { UsageError } from "./usage-error.js";

/**
 * Reads a recorded traffic log: one arrival time in ms per line (such as a column of
 * `Date.now()` values), in order; blank lines and lines starting with `#` are skipped. The
 * times are kept as they are, so fixed windows fall where they fell; the picture's time axis
 * starts at the first arrival.
 *
 * @param name the file's name, for error messages.
 * @throws {UsageError} naming the file and line of the first line that is not a time in ms, or
 *   whose time is before the line above it; or when there is no arrival at all.
 */
export function parseTrafficLog(text: string, name: string): Traffic {
  const arrivals: number[] = [];
  // The last time as written: order is checked before times are cut to whole ms.
  let previous = Number.NEGATIVE_INFINITY;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === "" || line.startsWith("#")) continue;
    const where = `${name}:${i + 1}`;
    const time = /^\d+(\.\d+)?$/.test(line) ? Number(line) : Number.NaN;
    const at = Math.floor(time);
    if (!Number.isSafeInteger(at)) {
      const quoted = JSON.stringify(line.length > 40 ? `${line.slice(0, 40)}…` : line);
      throw new UsageError(`${where}: ${quoted} is not a time in ms (a number of at least 0).`);
    }
    if (time < previous) {
      throw new UsageError(
        `${where}: ${time} comes before the line above (${previous}); sort the log.`,
      );
    }
    previous = time;
    if (arrivals.length === MAX_ARRIVALS) {
      throw new UsageError(`${name}: more than ${MAX_ARRIVALS} requests; cut the log shorter.`);
    }
    arrivals.push(at);
  }
  const first = arrivals[0];
  if (first === undefined) throw new UsageError(`${name}: no arrival times in the log.`);
  const last = arrivals.at(-1) as number;
  // A little room after the last arrival, so its mark is not on the frame.
  return {
    arrivals,
    fromMs: first,
    toMs: last + Math.max(1, Math.ceil((last - first) / 50)),
    label: `log ${name}`,
  };
}
