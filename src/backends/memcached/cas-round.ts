import { setTimeout as sleep } from "node:timers/promises";
import { BackendError } from "../../errors.js";
import { stageGroup } from "../../strategies/group.js";
import type { Step, StrategyState } from "../../strategies/strategy.js";
import { adjusted } from "../adjusted.js";
import { decodeState, encodeState } from "../state-codec.js";
import type { DecisionMode, DecisionRequest } from "../types.js";
import type { Server } from "./client.js";
import type { LaneEntry } from "./lanes.js";

/** Where a client's state lives in memcached: its key, on its server. */
export interface Cell {
  readonly key: string;
  readonly server: Server;
}

/** What a `gets` found: the value (undefined when missing) and its CAS token. */
export interface Read {
  readonly raw: string | undefined;
  readonly cas: string | number | undefined;
}

/** A write a round made, to put back if a later write of the same round loses. */
export interface Written {
  readonly cell: Cell;
  readonly read: Read;
  readonly value: string;
}

/**
 * One decision (a request, or an all-or-nothing group) waiting for its round; or, with
 * `points`, a penalty or reward of its one request's client (see `Strategy.adjust`).
 */
export interface RoundEntry extends LaneEntry {
  readonly requests: readonly DecisionRequest[];
  readonly mode: DecisionMode;
  readonly points?: number;
  resolve(steps: Step[]): void;
}

/** The commands a round needs; each has the backend's deadline. */
export interface CasStore {
  now(): number;
  cell(request: DecisionRequest): Cell;
  read(cell: Cell): Promise<Read>;
  /** The key's state as this process last saw it, unread: a guess a `cas` (`write`) checks. */
  known(cell: Cell): Read | undefined;
  /** Stores `value` if the key is as `read` found it; `false` when another writer came first. */
  write(cell: Cell, read: Read, value: string, ttlMs: number): Promise<boolean>;
  undo(written: readonly Written[]): Promise<void>;
}

/**
 * What a decision gets when its key stayed contended through every compare-and-swap attempt: a
 * rejection, not an outage (the server answers; other writers of the same key came first, which
 * only a flood on that key does), with a short wait.
 */
const CONTENDED_WAIT_MS = 1000;

/**
 * Decides `entries` in one compare-and-swap round: reads each key once, decides the entries one
 * after another on what the earlier ones left (each entry all or nothing, by `stageGroup`;
 * rejections and peeks storing nothing; an adjustment by `adjusted`), writes each changed key
 * once, and starts again if another process wrote first. A key still contended after
 * `casRetries` attempts rejects its decisions as throttled and fails its adjustments with a
 * `BackendError`: a penalty is never dropped silently. Settles every entry; resolves to the server's failure, if one ended the round, so
 * that nothing more is sent for the round: no write goes out after a command failed or timed
 * out, so a decision answered by `onError` is not charged later.
 */
export async function decideRound(
  store: CasStore,
  entries: readonly RoundEntry[],
  casRetries: number,
): Promise<unknown> {
  // Keys decided on a known state and left unwritten: no `cas` checked that state, so they are
  // decided again on a fresh read (an attempt that does not count as contended).
  const unchecked = new Set<string>();
  try {
    for (let attempt = 0; attempt < casRetries; ) {
      const now = store.now();
      const cells = entries.map((entry) => entry.requests.map((r) => store.cell(r)));
      const distinct = new Map<string, Cell>();
      for (const cell of cells.flat()) distinct.set(cell.key, cell);
      const reads = new Map<string, Read>();
      const guessed = new Set<string>();
      await Promise.all(
        [...distinct.values()].map(async (cell) => {
          const known = unchecked.has(cell.key) ? undefined : store.known(cell);
          if (known !== undefined) guessed.add(cell.key);
          reads.set(cell.key, known ?? (await store.read(cell)));
        }),
      );
      // Each key's state as the entries decided so far left it.
      const states = new Map<string, StrategyState | undefined>();
      for (const [key, read] of reads) states.set(key, decodeState(read.raw));
      const changed = new Set<string>();
      const answers = entries.map((entry, e) => {
        const entryCells = cells[e] as Cell[];
        if (entry.points !== undefined) {
          const key = (entryCells[0] as Cell).key;
          const { state, step } = adjusted(
            entry.requests[0] as DecisionRequest,
            states.get(key),
            now,
            entry.points,
          );
          states.set(key, state);
          changed.add(key);
          return [step];
        }
        const group = stageGroup(
          entry.requests.map(({ strategy, rate, cost }, i) => {
            const key = (entryCells[i] as Cell).key;
            return { key, strategy, rate, cost, state: states.get(key) };
          }),
          now,
        );
        if (entry.mode === "consume") {
          for (const { key, state } of group.commits) {
            states.set(key, state);
            changed.add(key);
          }
        }
        return group.steps;
      });
      const unwritten = [...guessed].filter((key) => !changed.has(key));
      if (unwritten.length > 0) {
        for (const key of unwritten) unchecked.add(key);
        continue;
      }
      if (await writeAll(store, [...changed].sort(), distinct, reads, states, now)) {
        entries.forEach((entry, e) => {
          entry.resolve(answers[e] as Step[]);
        });
        return undefined;
      }
      attempt++;
      if (guessed.size > 0) {
        // A known state was stale (another process wrote, or the item expired): read afresh.
        for (const key of guessed) unchecked.add(key);
        continue;
      }
      // Back off a little, at random, so processes contending for one key take turns.
      await sleep(Math.random() * Math.min(20, 2 ** attempt));
    }
    for (const entry of entries) {
      if (entry.points === undefined) entry.resolve(entry.requests.map(contended));
      else entry.reject(stillContended(entry.requests[0] as DecisionRequest, casRetries));
    }
    return undefined;
  } catch (error) {
    for (const entry of entries) entry.reject(error);
    return error;
  }
}

/** Writes the changed keys in order; on a conflict undoes what it wrote and returns `false`. */
async function writeAll(
  store: CasStore,
  keys: readonly string[],
  cells: ReadonlyMap<string, Cell>,
  reads: ReadonlyMap<string, Read>,
  states: ReadonlyMap<string, StrategyState | undefined>,
  now: number,
): Promise<boolean> {
  const written: Written[] = [];
  for (const key of keys) {
    const cell = cells.get(key) as Cell;
    const read = reads.get(key) as Read;
    const state = states.get(key) as StrategyState;
    const value = encodeState(state);
    if (!(await store.write(cell, read, value, (state[0] as number) - now))) {
      await store.undo(written);
      return false;
    }
    written.push({ cell, read, value });
  }
  return true;
}

function stillContended(request: DecisionRequest, casRetries: number): BackendError {
  return new BackendError(
    `Memcached: the key of "${request.uid}" stayed contended through ${casRetries} compare-and-swap attempts; nothing was adjusted.`,
  );
}

function contended(): Step {
  return {
    state: [],
    allowed: false,
    remaining: 0,
    retryAfterMs: CONTENDED_WAIT_MS,
    resetAfterMs: CONTENDED_WAIT_MS,
    delayMs: 0,
  };
}
