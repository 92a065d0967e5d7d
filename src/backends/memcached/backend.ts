import type { Step, StrategyState } from "../../strategies/strategy.js";
import { cannotAdjust } from "../adjusted.js";
import { decodeState, encodeState, sameState } from "../state-codec.js";
import type { DecisionMode, DecisionRequest } from "../types.js";
import {
  type CasStore,
  type Cell,
  decideRound,
  type Read,
  type RoundEntry,
  type Written,
} from "./cas-round.js";
import { answered } from "./client.js";
import { corkedStoreThenGets } from "./corked-commands.js";
import { exptime } from "./keys.js";
import { KnownStates } from "./known-states.js";
import { KeyLanes } from "./lanes.js";
import { type MemcachedBackendOptions, positiveInteger } from "./options.js";
import { MemcachedStore } from "./store.js";

export type { MemcachedBackendOptions } from "./options.js";

/**
 * The shortest memcached lifetime of a state: a state that has expired by its own clock counts
 * as none, so an item kept longer costs only memcached memory (idle clients' items, which its
 * LRU drops first), while one that outlives its client's next request saves that request a
 * `gets` (bench/memcached.ts, 1 in flight: token bucket, GCRA and leaky bucket states of 2 s
 * expired before their client came back, two round trips per decision instead of one).
 */
const MIN_STATE_LIFETIME_MS = 10_000;

/** The wait given to a decision refused because too many wait on its key already. */
const OVERFLOW_WAIT_MS = 1000;

/**
 * Keeps counters in memcached, on one server or spread over several by consistent hashing, with
 * a pool of connections per server (through `memcache-client`). Memcached runs no scripts, so
 * decisions are atomic by compare-and-swap: read with `gets`, decide, write with `cas` (or `add`
 * for a new client), and start again if another process wrote first. Every strategy's state is
 * one item per client, written the same way.
 *
 * Decisions on one key from this process go in rounds: those that arrive while a round is in
 * flight wait for the next, which decides them all with one read and one write. Waiting for a
 * turn is not an outage: `timeoutMs` bounds the wait for each command's answer, never the turn,
 * and at most `maxWaitingPerKey` decisions wait per key (more are rejected as throttled). A round
 * stops at the first command that fails or times out, so nothing is written later for a
 * decision `onError` answered; only a write already sent when the server stalled can still land.
 */
export class MemcachedBackend extends MemcachedStore {
  private readonly casRetries: number;
  private readonly lanes: KeyLanes<RoundEntry>;
  private readonly known = new KnownStates();
  private readonly casStore: CasStore = {
    now: () => this.now(),
    cell: (request) => this.cell(request),
    read: (cell) => this.read(cell),
    known: (cell) => this.known.get(cell.key, cell.server.answeredAt),
    write: (cell, read, value, ttlMs) => this.write(cell, read, value, ttlMs),
    undo: (written) => this.undo(written),
  };

  /** @throws {ConfigurationError} for a malformed server address or option. */
  constructor(options: MemcachedBackendOptions) {
    super(options);
    this.casRetries = positiveInteger("casRetries", options.casRetries ?? 24);
    const maxWaiting = positiveInteger("maxWaitingPerKey", options.maxWaitingPerKey ?? 128);
    this.lanes = new KeyLanes(
      (entries) => decideRound(this.casStore, entries, this.casRetries),
      maxWaiting,
    );
  }

  /**
   * Decides `request`, shaped by `map` or `recover`. No deadline around the whole decision:
   * waiting for a turn on the key is not an outage; each command sent has the deadline.
   */
  override decideThen<R>(
    request: DecisionRequest,
    mode: DecisionMode,
    map: (step: Step) => R,
    recover: (error: unknown) => R | Promise<R>,
  ): Promise<R> {
    return this.decideAll([request], mode).then((steps) => map(steps[0] as Step), recover);
  }

  override decide(request: DecisionRequest, mode: DecisionMode): Promise<Step> {
    return this.decideAll([request], mode).then((steps) => steps[0] as Step);
  }

  override async decideAll(
    requests: readonly DecisionRequest[],
    mode: DecisionMode,
  ): Promise<Step[]> {
    await this.prepared();
    const keys = new Set(requests.map((request) => this.cell(request).key));
    return new Promise<Step[]>((resolve, reject) => {
      const entry: RoundEntry = { requests, mode, resolve, reject };
      // A group over several keys goes alone: compare-and-swap keeps it exact all the same.
      if (keys.size !== 1) void decideRound(this.casStore, [entry], this.casRetries);
      else if (!this.lanes.submit(keys.values().next().value as string, entry)) {
        resolve(requests.map(overflowStep));
      }
    });
  }

  /**
   * `gets`, compare, then `cas`: a round that wrote in between makes the `cas` fail, and the
   * state is left as that round made it. An expired state is expired at once, as `undo` does.
   */
  override async restoreState(
    request: DecisionRequest,
    admitted: StrategyState,
    restored: StrategyState,
  ): Promise<void> {
    await this.prepared();
    const cell = this.cell(request);
    this.known.forget(cell.key);
    const found = await this.read(cell);
    const casUniq = found.cas;
    if (casUniq === undefined || !sameState(decodeState(found.raw), admitted)) return;
    const ttlMs = (restored[0] as number) - this.now();
    const value = ttlMs > 0 ? encodeState(restored) : "";
    const lifetime = ttlMs > 0 ? this.stateLifetime(ttlMs) : -1;
    await this.call(cell.server, () =>
      cell.server.client.cas(cell.key, value, { casUniq, lifetime }),
    ).catch((error: unknown) => {
      if (!answered(error, "EXISTS") && !answered(error, "NOT_FOUND")) throw error;
    });
  }

  /**
   * A penalty or reward (`points`, see `Strategy.adjust`) in the key's next round, among its
   * decisions: one read and one write however many arrive together, so a flood of them from
   * this process does not contend with itself (each exhausting its compare-and-swap attempts,
   * or the deadline: an outage, which degraded mode would answer from its fallback, the unit
   * never reaching memcached). It waits beyond `maxWaitingPerKey`: it has no throttled answer
   * to give, and each comes from the app or from a request already admitted. As for a
   * decision, each command has the deadline, not the wait for a turn.
   * @throws {BackendError} when the server fails, or the key stays contended by other processes.
   */
  override async adjustState(request: DecisionRequest, points: number): Promise<Step> {
    if (request.strategy.adjust === undefined) throw cannotAdjust(request.strategy.name);
    await this.prepared();
    const key = this.cell(request).key;
    return new Promise<Step>((resolve, reject) => {
      const entry: RoundEntry = {
        requests: [request],
        mode: "consume",
        points,
        resolve: (steps) => resolve(steps[0] as Step),
        reject,
      };
      this.lanes.submit(key, entry, true);
    });
  }

  /**
   * The memcached lifetime of a state that expires `ttlMs` from now on the deciding clock. A
   * lifetime only cleans up (expiry is decided from the state), so it errs long, by a second:
   * memcached counts whole seconds on a clock that may lag its own by up to one, and an item
   * gone early would hand its client a fresh quota. Under an injected clock no lifetime on the
   * server's real clock follows from it, so states stay until overwritten. It is at least
   * {@link MIN_STATE_LIFETIME_MS}, so that this process knows a short state (a bucket that
   * refills in ms) across its client's requests (see `known-states.ts`).
   */
  private stateLifetime(ttlMs: number): number {
    return this.clock === undefined ? exptime(Math.max(ttlMs + 1000, MIN_STATE_LIFETIME_MS)) : 0;
  }

  /** The cell of a request's client. */
  private cell(request: DecisionRequest): Cell {
    return this.place(this.stateKey(request.uid, request.identity));
  }

  /** Stores `value` if the key is as it was read. `false` when another writer came first. */
  private async write(cell: Cell, read: Read, value: string, ttlMs: number): Promise<boolean> {
    const lifetime = this.stateLifetime(ttlMs);
    this.known.forget(cell.key);
    try {
      await this.call(cell.server, () =>
        corkedStoreThenGets(cell.server.client, cell.key, value, lifetime, read.cas, (seen) =>
          this.known.remember(cell.key, seen, lifetime),
        ),
      );
      return true;
    } catch (error) {
      if (
        answered(error, "EXISTS") ||
        answered(error, "NOT_FOUND") ||
        answered(error, "NOT_STORED")
      ) {
        return false;
      }
      throw error;
    }
  }

  /**
   * Puts back what an attempt wrote before it met a conflict, where nobody has written since.
   * A key another process changed in between keeps this attempt's units: the group may then
   * be counted where it was not admitted, never admitted where it should not be.
   */
  private async undo(written: readonly Written[]): Promise<void> {
    await Promise.all(
      written.map(async ({ cell, read, value }) => {
        this.known.forget(cell.key);
        const now = await this.read(cell);
        if (now.raw !== value || now.cas === undefined) return;
        const previous = read.raw;
        const expiresAt = decodeState(previous)?.[0] ?? 0;
        const ttlMs = previous === undefined ? -1 : expiresAt - this.now();
        const casUniq = now.cas;
        await this.call(cell.server, () =>
          cell.server.client.cas(cell.key, previous ?? "", {
            casUniq,
            lifetime: ttlMs <= 0 ? -1 : this.stateLifetime(ttlMs),
          }),
        ).catch(() => {});
      }),
    );
  }
}

/** The step of a decision refused because too many wait on its key already. */
function overflowStep(): Step {
  return {
    state: [],
    allowed: false,
    remaining: 0,
    retryAfterMs: OVERFLOW_WAIT_MS,
    resetAfterMs: OVERFLOW_WAIT_MS,
    delayMs: 0,
  };
}
