/** Read once: constant for the process, and its getter costs a tenth of a decision. */
const ORIGIN = performance.timeOrigin;

/**
 * The in-memory backend's default deciding clock: milliseconds since the Unix epoch, so windows
 * align to the wall clock's epoch as on Redis (a `/d` fixed window ends at midnight UTC), yet
 * read from the monotonic clock, so a step of the wall clock (NTP, an operator) never moves it
 * back. Whole milliseconds, as every strategy computes in integer milliseconds. It agrees with
 * `Date.now()` at start and keeps agreeing unless the wall clock is stepped afterwards.
 */
export function epochMonotonicClock(): number {
  return Math.floor(ORIGIN + performance.now());
}
