/**
 * The in-memory backend's clock, and its one speed trick: the monotonic clock read through
 * `process.hrtime()` rather than `performance.now()`, which on Node 20 also passes the lazy
 * `performance` global's getter and a brand check. Measured on this machine (2 cores, loaded):
 * 43–56 ns a read against 63–66 ns, of a decision's ~550 ns; the clock is a seventh of an
 * in-memory decision's CPU.
 *
 * @module
 */

const hrtime = process.hrtime;

/** Milliseconds on the monotonic clock (the one `performance.now()` reads), from an arbitrary origin. */
function monotonicMs(): number {
  const [seconds, nanoseconds] = hrtime();
  return seconds * 1_000 + nanoseconds / 1_000_000;
}

/** Epoch ms minus monotonic ms, read once: as `performance.timeOrigin + performance.now()` has it. */
const EPOCH_OFFSET = performance.timeOrigin + performance.now() - monotonicMs();

/**
 * The in-memory backend's default deciding clock: milliseconds since the Unix epoch, so windows
 * align to the wall clock's epoch as on Redis (a `/d` fixed window ends at midnight UTC), yet
 * read from the monotonic clock, so a step of the wall clock (NTP, an operator) never moves it
 * back. Whole milliseconds, as every strategy computes in integer milliseconds. It agrees with
 * `Date.now()` at start and keeps agreeing unless the wall clock is stepped afterwards.
 */
export function epochMonotonicClock(): number {
  return Math.floor(EPOCH_OFFSET + monotonicMs());
}
