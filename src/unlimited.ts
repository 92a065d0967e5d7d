/**
 * Returned by an identifier to exempt a connection from a throttle: it is admitted and nothing
 * is counted. `Symbol.for`, so copies of the library loaded twice agree.
 */
export const UNLIMITED: unique symbol = Symbol.for("traffik.unlimited") as never;

/** The type of {@link UNLIMITED}. */
export type Unlimited = typeof UNLIMITED;
