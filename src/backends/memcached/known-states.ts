/**
 * The state (value and CAS token) this process last saw for each recently written key, read by
 * the `gets` sent behind each write (`corkedStoreThenGets`), so that the next decision on the
 * key can skip its own `gets`: one round trip per decision instead of two.
 *
 * Why (bench/memcached.ts, 1 in flight, 10 000 keys): with a `gets` and a `cas` per decision,
 * Traffik ran 0.64–1.12x `RateLimiterMemcache` (two round trips each); after, 0.98–1.77x, and
 * memcached's CPU per decision 29–40 µs against 52 (CONTRIBUTING.md, "Memcached: corked
 * commands and known states").
 *
 * A known state is only ever a guess that the `cas` checks: a token that still matches means
 * nobody wrote the key since, so the value is the key's. Memcached's tokens restart with the
 * server, and a restart closes every connection, so a state is known only while the connection
 * that read it is open. A decision that writes nothing on a known state is not checked by any
 * `cas`; the round decides it again on a fresh read (`decideRound`). A write on a known state
 * goes out only right after the server answered something (see {@link ANSWERED_WITHIN_MS}).
 *
 * Bounded: at most {@link MAX_KNOWN} keys, the oldest forgotten first, and no value longer than
 * {@link MAX_KNOWN_VALUE} characters (a long sliding log), so at most a few MB.
 */
import type { Read } from "./cas-round.js";
import type { PooledConnection, Seen } from "./corked-commands.js";

/** Keys known at once: past this, a decision on a key not seen lately pays its own `gets`. */
const MAX_KNOWN = 16_384;
/** The longest value kept. */
const MAX_KNOWN_VALUE = 256;

/**
 * How recently the server must have answered for a write to go out on a known state. A round
 * that reads first sends its write only once the server has just answered, so a server frozen
 * before the round applies nothing for a decision `onError` answers (no ghost decision); this
 * keeps that: a write on a known state goes out only as soon after an answer as it would have
 * after a `gets`, else the round reads first.
 */
const ANSWERED_WITHIN_MS = 1;

interface Known {
  readonly read: Read;
  readonly connection: PooledConnection;
  /** When memcached may have dropped the item, on `performance.now()`. */
  readonly until: number;
}

/** The states this process last saw, by memcached key: bounded, each a guess (see above). */
export class KnownStates {
  private readonly states = new Map<string, Known>();

  /**
   * The state last seen for `key`, if the connection that saw it is still open and its server
   * answered within {@link ANSWERED_WITHIN_MS} (`answeredAt`, on `performance.now()`).
   */
  get(key: string, answeredAt: number): Read | undefined {
    if (performance.now() - answeredAt > ANSWERED_WITHIN_MS) return undefined;
    const known = this.states.get(key);
    if (known === undefined) return undefined;
    if (known.connection.isReady() && performance.now() < known.until) return known.read;
    this.states.delete(key);
    return undefined;
  }

  /** Forgets `key` (before a write whose outcome is not known yet). */
  forget(key: string): void {
    this.states.delete(key);
  }

  /**
   * Keeps what a `gets` behind a write with memcached `lifetime` saw, until two seconds before
   * that lifetime ends (memcached counts whole seconds, and the write went out before this
   * answer came back); `undefined` (it failed) forgets the key.
   */
  remember(key: string, seen: Seen | undefined, lifetime: number): void {
    this.states.delete(key);
    if (seen === undefined) return;
    const raw = seen.found === undefined ? undefined : String(seen.found.value);
    if (raw !== undefined && raw.length > MAX_KNOWN_VALUE) return;
    if (this.states.size >= MAX_KNOWN) {
      this.states.delete(this.states.keys().next().value as string);
    }
    const read: Read = { raw, cas: seen.found?.casUniq };
    this.states.set(key, { read, connection: seen.connection, until: knownUntil(lifetime) });
  }
}

/** Memcached reads a lifetime above 30 days as a Unix time. */
const MAX_RELATIVE_SECONDS = 30 * 24 * 3600;

/** Until when an item written with `lifetime` surely lives, on `performance.now()`. */
function knownUntil(lifetime: number): number {
  if (lifetime === 0) return Number.POSITIVE_INFINITY;
  const seconds = lifetime > MAX_RELATIVE_SECONDS ? lifetime - Date.now() / 1000 : lifetime;
  return performance.now() + (seconds - 2) * 1000;
}
