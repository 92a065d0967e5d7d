/**
 * The one speed trick of the throttle layer: a decision is a value when every step of it is
 * (the in-memory backend, a sync identifier, no wait for a turn) and a promise otherwise, and
 * each step goes on in the same turn when it can. Measured on the hot path (`npm run bench`,
 * `bench:http`, `bench:ws`): each promise a decision makes costs about as much as the rest of
 * it, so a decision of the in-memory backend makes none until its caller wants one.
 *
 * @module
 */

/** A value now, or the promise of it. @internal */
export type Eventually<T> = T | Promise<T>;

/** `then(value)`, now if `value` is ready, else when it is. @internal */
export function whenReady<T, R>(
  value: Eventually<T>,
  then: (ready: T) => Eventually<R>,
): Eventually<R> {
  // A promise resolved with a promise adopts it: the result is an R or a promise of one.
  return value instanceof Promise ? (value.then(then) as Promise<R>) : then(value);
}
