import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { BackendConnectionError, BackendError, ConfigurationError } from "../../errors.js";
import { rejectUnknownOptions } from "../../internal/known-keys.js";
import type { Rate } from "../../rate.js";
import { FixedWindowStrategy } from "../../strategies/fixed-window.js";
import type { Step, StrategyState } from "../../strategies/strategy.js";
import { BACKEND_OPTION_NAMES, ThrottleBackend, type ThrottleBackendOptions } from "../base.js";
import { pollForLock } from "../poll-lock.js";
import { decodeState, encodeState } from "../state-codec.js";
import type { DecisionMode, DecisionRequest, Lock, LockOptions } from "../types.js";
import { answered, failure, openServerClient, type ServerClient } from "./client.js";
import { exptime, memcachedKey } from "./keys.js";
import { HashRing } from "./ring.js";

/** Options of {@link MemcachedBackend}. */
export interface MemcachedBackendOptions extends Partial<ThrottleBackendOptions> {
  /** The server's host, when `servers` is not given. @default "127.0.0.1" */
  host?: string;
  /** The server's port, when `servers` is not given. @default 11211 */
  port?: number;
  /** Several servers as `"host:port"`; keys are spread over them by consistent hashing. */
  servers?: readonly string[];
  /** Connections per server. @default 4 */
  poolSize?: number;
  /** Keep the namespace's keys on `close()`; other processes may share them. @default true */
  persistent?: boolean;
  /** Compare-and-swap attempts per decision before it fails as contended. @default 24 */
  casRetries?: number;
  /**
   * How often the namespace generation is re-read, in ms: after another process's `reset()`,
   * this one moves to the new generation within this time. @default 1000
   */
  generationRefreshMs?: number;
  /**
   * The deciding clock, in ms. Memcached has no clock to share, so processes decide on their
   * own: keep their clocks in sync (NTP). Tests pass one to replay traces. @default Date.now
   */
  clock?: () => number;
}

interface Server {
  readonly name: string;
  readonly client: ServerClient;
}

/** What a `gets` found: the value (undefined when missing) and its CAS token. */
interface Read {
  readonly raw: string | undefined;
  readonly cas: string | number | undefined;
}

/** Where a request's state lives in memcached, and how it is written there. */
interface Cell {
  readonly key: string;
  readonly server: Server;
  /** A fixed window's cell is a bare counter for one window; others hold the encoded state. */
  readonly windowEnd: number | undefined;
}

/**
 * Keeps counters in memcached, on one server or spread over several by consistent hashing, with
 * a pool of connections per server (through `memcache-client`). Memcached runs no scripts, so
 * decisions are atomic by compare-and-swap: read with `gets`, decide, write with `cas` (or `add`
 * for a new client), and start again if another process wrote first. A fixed window is a bare
 * counter per window: one `incr` per admitted request, taken back with `decr` when it is
 * rejected. Decisions on the same key from one process take turns, so CAS conflicts come only
 * from other processes.
 */
export class MemcachedBackend extends ThrottleBackend {
  private readonly serverNames: readonly string[];
  private readonly poolSize: number;
  private readonly casRetries: number;
  private readonly generationRefreshMs: number;
  private readonly clock: (() => number) | undefined;
  private ring: HashRing<Server> | undefined;
  private servers: Server[] = [];
  private generation = 0;
  private generationReadAt = Number.NEGATIVE_INFINITY;
  private generationRead: Promise<void> | undefined;
  private readonly turns = new Map<string, Promise<void>>();

  /** @throws {ConfigurationError} for a malformed server address or option. */
  constructor(options: MemcachedBackendOptions) {
    rejectUnknownOptions("MemcachedBackend", options, {
      ...BACKEND_OPTION_NAMES,
      host: true,
      port: true,
      servers: true,
      poolSize: true,
      casRetries: true,
      generationRefreshMs: true,
      clock: true,
    });
    super({
      ...options,
      namespace: options.namespace ?? "traffik",
      persistent: options.persistent ?? true,
    });
    const names = options.servers ?? [`${options.host ?? "127.0.0.1"}:${options.port ?? 11211}`];
    if (names.length === 0) throw new ConfigurationError("MemcachedBackend: servers is empty.");
    for (const name of names) {
      const match = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(name);
      if (match === null || Number(match[2]) < 1 || Number(match[2]) > 65535) {
        throw new ConfigurationError(
          `MemcachedBackend: invalid server ${JSON.stringify(name)}; expected "host:port".`,
        );
      }
    }
    this.serverNames = [...new Set(names)];
    this.poolSize = positiveInteger("poolSize", options.poolSize ?? 4);
    this.casRetries = positiveInteger("casRetries", options.casRetries ?? 24);
    this.generationRefreshMs = options.generationRefreshMs ?? 1000;
    this.clock = options.clock;
  }

  /**
   * Opens the pools and checks every server answers.
   * @throws {BackendConnectionError} when a server cannot be reached.
   */
  override async initialize(): Promise<void> {
    if (this.ring !== undefined) return;
    const servers: Server[] = [];
    try {
      for (const name of this.serverNames) {
        const client = await openServerClient(name, this.poolSize, this.timeoutMs);
        servers.push({ name, client });
        await client.version().catch((error: unknown) => {
          throw new BackendConnectionError(`Cannot reach memcached at ${name}: ${String(error)}`, {
            cause: error,
          });
        });
      }
    } catch (error) {
      for (const server of servers) server.client.shutdown();
      throw error;
    }
    this.servers = servers;
    this.ring = new HashRing(servers.map((server) => ({ name: server.name, server })));
    await this.readGeneration();
  }

  override now(): number {
    return this.clock ? this.clock() : Date.now();
  }

  override decide(request: DecisionRequest, mode: DecisionMode): Promise<Step> {
    if (mode === "consume" && request.cost > 0 && request.strategy instanceof FixedWindowStrategy) {
      return this.prepared().then(() => this.countInWindow(request));
    }
    return this.decideAll([request], mode).then((steps) => steps[0] as Step);
  }

  override async decideAll(
    requests: readonly DecisionRequest[],
    mode: DecisionMode,
  ): Promise<Step[]> {
    await this.prepared();
    const keys = [...new Set(requests.map((r) => this.cell(r, this.now()).key))].sort();
    return this.inTurn(keys, () => this.decideByCas(requests, mode));
  }

  /** Forgets a client; with the throttle's `rate`, a fixed window's current counter too. */
  override async clear(uid: string, identity: string, rate?: Rate): Promise<void> {
    await this.prepared();
    const relative = this.stateKey(uid, identity);
    const cells = [this.place(relative)];
    if (rate !== undefined) {
      cells.push(this.place(`${relative}:w${Math.floor(this.now() / rate.windowMs)}`));
    }
    await Promise.all(
      cells.map((cell) =>
        this.call(cell.server, () => cell.server.client.delete(cell.key)).catch(ignoreMissing),
      ),
    );
  }

  async get(key: string): Promise<string | null> {
    const cell = await this.placed(key);
    const found = await this.call(cell.server, () => cell.server.client.get(cell.key));
    return found === undefined ? null : String(found.value);
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    const cell = await this.placed(key);
    const lifetime = ttlMs === undefined ? 0 : exptime(ttlMs);
    await this.call(cell.server, () => cell.server.client.set(cell.key, value, { lifetime }));
  }

  async delete(key: string): Promise<void> {
    const cell = await this.placed(key);
    await this.call(cell.server, () => cell.server.client.delete(cell.key)).catch(ignoreMissing);
  }

  async increment(key: string, amount = 1): Promise<number> {
    return this.addTo(await this.placed(key), amount, 0);
  }

  /** Subtracts `amount` (0 when missing); memcached floors counters at 0. */
  async decrement(key: string, amount = 1): Promise<number> {
    const cell = await this.placed(key);
    try {
      return Number(await cell.server.client.decr(cell.key, amount));
    } catch (error) {
      if (!answered(error, "NOT_FOUND")) throw failure(error, cell.server.name);
      await this.call(cell.server, () =>
        cell.server.client.add(cell.key, "0", { lifetime: 0 }),
      ).catch(ignoreNotStored);
      return Number(await this.call(cell.server, () => cell.server.client.decr(cell.key, amount)));
    }
  }

  async incrementWithTtl(key: string, amount: number, ttlMs: number): Promise<number> {
    return this.addTo(await this.placed(key), amount, exptime(ttlMs));
  }

  async lock(name: string, options: LockOptions = {}): Promise<Lock> {
    const ttlMs = Math.max(1, Math.ceil(options.ttlMs ?? this.lockTtlMs));
    const cell = await this.placed(`lock:${name}`);
    const token = randomUUID();
    await pollForLock(name, ttlMs, options, async () => {
      try {
        await cell.server.client.add(cell.key, token, { lifetime: exptime(ttlMs) });
        return true;
      } catch (error) {
        if (!answered(error, "NOT_STORED")) throw failure(error, cell.server.name);
        return false;
      }
    });
    return { release: () => this.release(cell, token) };
  }

  /**
   * Clears the namespace without scanning keys (memcached cannot list them): the namespace's
   * generation number goes up, so every key in use is new and the old ones expire unread.
   * Other processes follow within `generationRefreshMs`.
   */
  async reset(): Promise<void> {
    await this.prepared();
    const cell = this.generationCell();
    this.generation = await this.addTo(cell, 1, 0);
    this.generationReadAt = performance.now();
  }

  /** Clears the namespace unless `persistent`, then closes the connections. */
  override async close(): Promise<void> {
    if (this.ring !== undefined) await super.close();
    for (const server of this.servers) server.client.shutdown();
    this.servers = [];
    this.ring = undefined;
  }

  private async prepared(): Promise<void> {
    const initializing = this.ready();
    if (initializing !== undefined) await initializing;
    if (performance.now() - this.generationReadAt > this.generationRefreshMs) {
      // Refreshed in the background: deciding waits for it only the first time.
      this.generationRead ??= this.readGeneration().finally(() => {
        this.generationRead = undefined;
      });
      this.generationRead.catch(() => {});
    }
  }

  private async readGeneration(): Promise<void> {
    const cell = this.generationCell();
    const found = await this.call(cell.server, () => cell.server.client.get(cell.key));
    this.generation = found === undefined ? 0 : Number(found.value) || 0;
    this.generationReadAt = performance.now();
  }

  private generationCell(): Cell {
    const key = memcachedKey(this.namespace, 0, "generation");
    return { key, server: this.serverFor(key), windowEnd: undefined };
  }

  private serverFor(key: string): Server {
    if (this.ring === undefined) {
      throw new BackendError("MemcachedBackend is closed or not initialized.", {
        code: "ERR_TRAFFIK_BACKEND_CLOSED",
      });
    }
    return this.ring.serverFor(key);
  }

  private place(relative: string, windowEnd?: number): Cell {
    const key = memcachedKey(this.namespace, this.generation + 1, relative);
    return { key, server: this.serverFor(key), windowEnd };
  }

  private async placed(relative: string): Promise<Cell> {
    await this.prepared();
    return this.place(relative);
  }

  /** The cell of a request at `now`: a fixed window's counter is per window. */
  private cell(request: DecisionRequest, now: number): Cell {
    const relative = this.stateKey(request.uid, request.identity);
    if (!(request.strategy instanceof FixedWindowStrategy)) return this.place(relative);
    const index = Math.floor(now / request.rate.windowMs);
    return this.place(`${relative}:w${index}`, (index + 1) * request.rate.windowMs);
  }

  /** One round trip for an admitted request: `incr` (or `add` for the window's first). */
  private async countInWindow(request: DecisionRequest): Promise<Step> {
    const now = this.now();
    const cell = this.cell(request, now);
    const windowEnd = cell.windowEnd as number;
    const count = await this.addTo(cell, request.cost, exptime(windowEnd - now + 1000, now));
    const before = Math.min(count - request.cost, request.rate.limit);
    const step = request.strategy.apply([windowEnd, before], now, request.cost, request.rate);
    if (!step.allowed) {
      // Give back what the rejected request took, so rejections count for nothing.
      await this.call(cell.server, () => cell.server.client.decr(cell.key, request.cost));
    }
    return step;
  }

  /** Adds to a counter, creating it with `lifetime` when missing. */
  private async addTo(cell: Cell, amount: number, lifetime: number): Promise<number> {
    const { client, name } = cell.server;
    try {
      return Number(await client.incr(cell.key, amount));
    } catch (error) {
      if (!answered(error, "NOT_FOUND")) throw failure(error, name);
    }
    try {
      await client.add(cell.key, String(amount), { lifetime });
      return amount;
    } catch (error) {
      if (!answered(error, "NOT_STORED")) throw failure(error, name);
    }
    // Another process created it first.
    return Number(await this.call(cell.server, () => client.incr(cell.key, amount)));
  }

  /**
   * Read, decide, write back with CAS; on a conflict undo what this attempt wrote and start
   * again. Rejections and peeks write nothing.
   */
  private async decideByCas(
    requests: readonly DecisionRequest[],
    mode: DecisionMode,
  ): Promise<Step[]> {
    for (let attempt = 0; attempt < this.casRetries; attempt++) {
      const now = this.now();
      const cells = requests.map((request) => this.cell(request, now));
      const reads = await Promise.all(cells.map((cell) => this.read(cell)));
      const staged = new Map<string, { cell: Cell; read: Read; state: StrategyState }>();
      const steps = requests.map((request, i) => {
        const cell = cells[i] as Cell;
        const read = reads[i] as Read;
        const state = staged.get(cell.key)?.state ?? stateOf(cell, read);
        const step = request.strategy.apply(state, now, request.cost, request.rate);
        if (step.allowed) staged.set(cell.key, { cell, read, state: step.state });
        return step;
      });
      if (mode === "peek" || steps.some((step) => !step.allowed)) return steps;

      const written: { cell: Cell; read: Read; value: string }[] = [];
      let conflict = false;
      for (const key of [...staged.keys()].sort()) {
        const { cell, read, state } = staged.get(key) as {
          cell: Cell;
          read: Read;
          state: StrategyState;
        };
        const value = storedValue(cell, state);
        if (!(await this.write(cell, read, value, (state[0] as number) - now))) {
          conflict = true;
          break;
        }
        written.push({ cell, read, value });
      }
      if (!conflict) return steps;
      await this.undo(written);
      // Back off a little, at random, so processes contending for one key take turns.
      await sleep(Math.random() * Math.min(20, 2 ** attempt));
    }
    throw new BackendError(
      `Memcached: ${this.casRetries} compare-and-swap attempts lost to other writers of the same key.`,
      { code: "ERR_TRAFFIK_BACKEND_CONTENTION" },
    );
  }

  private async read(cell: Cell): Promise<Read> {
    const found = await this.call(cell.server, () => cell.server.client.gets(cell.key));
    return found === undefined
      ? { raw: undefined, cas: undefined }
      : { raw: String(found.value), cas: found.casUniq };
  }

  /** Stores `value` if the key is as it was read. `false` when another writer came first. */
  private async write(cell: Cell, read: Read, value: string, ttlMs: number): Promise<boolean> {
    const { client, name } = cell.server;
    const lifetime = exptime(Math.max(ttlMs, 1));
    try {
      if (read.cas === undefined) await client.add(cell.key, value, { lifetime });
      else await client.cas(cell.key, value, { casUniq: read.cas, lifetime });
      return true;
    } catch (error) {
      if (
        answered(error, "EXISTS") ||
        answered(error, "NOT_FOUND") ||
        answered(error, "NOT_STORED")
      ) {
        return false;
      }
      throw failure(error, name);
    }
  }

  /**
   * Puts back what an attempt wrote before it met a conflict, where nobody has written since.
   * A key another process changed in between keeps this attempt's units: the group may then
   * be counted where it was not admitted, never admitted where it should not be.
   */
  private async undo(written: readonly { cell: Cell; read: Read; value: string }[]): Promise<void> {
    await Promise.all(
      written.map(async ({ cell, read, value }) => {
        const now = await this.read(cell);
        if (now.raw !== value || now.cas === undefined) return;
        const previous = read.raw;
        const expiresAt = cell.windowEnd ?? decodeState(previous)?.[0] ?? 0;
        const ttlMs = previous === undefined ? -1 : expiresAt - this.now();
        await cell.server.client
          .cas(cell.key, previous ?? "", {
            casUniq: now.cas,
            lifetime: ttlMs <= 0 ? -1 : exptime(ttlMs),
          })
          .catch(() => {});
      }),
    );
  }

  private async release(cell: Cell, token: string): Promise<boolean> {
    const found = await this.read(cell);
    if (found.raw !== token || found.cas === undefined) return false;
    try {
      // Expiring it at once, only if it still holds this token: a delete that checks its CAS.
      await cell.server.client.cas(cell.key, token, { casUniq: found.cas, lifetime: -1 });
      return true;
    } catch (error) {
      if (answered(error, "EXISTS") || answered(error, "NOT_FOUND")) return false;
      throw failure(error, cell.server.name);
    }
  }

  /** Runs `work` once earlier decisions of this process on the same keys are done. */
  private inTurn<T>(keys: readonly string[], work: () => Promise<T>): Promise<T> {
    const earlier = keys.map((key) => this.turns.get(key)).filter((turn) => turn !== undefined);
    const result = earlier.length === 0 ? work() : Promise.allSettled(earlier).then(work);
    const turn = result.then(
      () => undefined,
      () => undefined,
    );
    for (const key of keys) this.turns.set(key, turn);
    void turn.then(() => {
      for (const key of keys) if (this.turns.get(key) === turn) this.turns.delete(key);
    });
    return result;
  }

  /** Runs one command, turning transport failures into `BackendError`. */
  private async call<T>(server: Server, command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      throw failure(error, server.name);
    }
  }
}

/** The strategy state a cell holds, from what `gets` returned. */
function stateOf(cell: Cell, read: Read): StrategyState | undefined {
  if (cell.windowEnd === undefined) return decodeState(read.raw);
  const count = Number(read.raw);
  return read.raw === undefined || !Number.isFinite(count) ? undefined : [cell.windowEnd, count];
}

/** What a cell stores for a state. */
function storedValue(cell: Cell, state: StrategyState): string {
  return cell.windowEnd === undefined ? encodeState(state) : String(state[1]);
}

/** Whether `error`, or the failure wrapping it, is the server answering `answer`. */
function isAnswer(error: unknown, answer: "NOT_FOUND" | "NOT_STORED"): boolean {
  return answered(error, answer) || (error instanceof Error && answered(error.cause, answer));
}

function ignoreMissing(error: unknown): void {
  if (!isAnswer(error, "NOT_FOUND")) throw error;
}

function ignoreNotStored(error: unknown): void {
  if (!isAnswer(error, "NOT_STORED")) throw error;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ConfigurationError(`MemcachedBackend: ${name} must be a whole number of at least 1.`);
  }
  return value;
}
