import { randomUUID } from "node:crypto";
import { BackendConnectionError, BackendError, ConfigurationError } from "../../errors.js";
import { rejectUnknownOptions } from "../../internal/known-keys.js";
import type { Rate } from "../../rate.js";
import { BACKEND_OPTION_NAMES, ThrottleBackend, type ThrottleBackendOptions } from "../base.js";
import {
  type DegradableBackend,
  type DegradedModeOptions,
  degradedModeOption,
} from "../degraded/options.js";
import { pollForLock } from "../poll-lock.js";
import type { Lock, LockOptions } from "../types.js";
import type { Cell, Read } from "./cas-round.js";
import { answered, failure, openServerClient, type Server } from "./client.js";
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
  /** Compare-and-swap attempts per decision before it is rejected as contended. @default 24 */
  casRetries?: number;
  /**
   * The most decisions of this process that wait for their turn on one key while a round on it
   * is in flight. More are rejected at once, as throttled (Retry-After: 1 s): a flood on one
   * client is not let to pile up. @default 128
   */
  maxWaitingPerKey?: number;
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
  /**
   * While the servers are out, decide requests in this process, each client within its limit
   * per process, instead of by `onError`, and hand them back once the servers answer (see
   * {@link DegradedModeOptions}). `false` leaves outages to `onError`. @default true
   */
  degradedMode?: boolean | DegradedModeOptions;
}

/**
 * The store half of {@link MemcachedBackend}: the servers (pools, consistent hashing, the
 * namespace generation), the primitives and locks, `reset()`, and how every command is sent:
 * within the deadline and the bound on pending commands, a failure a `BackendError` naming the
 * server. Decisions are the backend's.
 * Not exported: it reaches the published types only as {@link MemcachedBackend}'s base class.
 */
export abstract class MemcachedStore extends ThrottleBackend implements DegradableBackend {
  readonly degradedMode: DegradedModeOptions | false;
  private readonly serverNames: readonly string[];
  private readonly poolSize: number;
  private readonly generationRefreshMs: number;
  /** The injected deciding clock; `undefined` decides on this process's wall clock. */
  protected readonly clock: (() => number) | undefined;
  private ring: HashRing<Server> | undefined;
  private servers: Server[] = [];
  private generation = 0;
  private generationReadAt = Number.NEGATIVE_INFINITY;
  private generationRead: Promise<void> | undefined;

  /** @throws {ConfigurationError} for a malformed server address or option. */
  constructor(options: MemcachedBackendOptions) {
    rejectUnknownOptions("MemcachedBackend", options, {
      ...BACKEND_OPTION_NAMES,
      host: true,
      port: true,
      servers: true,
      poolSize: true,
      casRetries: true,
      maxWaitingPerKey: true,
      generationRefreshMs: true,
      clock: true,
      degradedMode: true,
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
    this.generationRefreshMs = options.generationRefreshMs ?? 1000;
    this.degradedMode = degradedModeOption(options.degradedMode);
    this.clock = options.clock;
  }

  /**
   * Opens the pools and checks every server answers.
   * @throws {BackendConnectionError} naming the server that cannot be reached.
   * @throws {BackendConfigurationError} when `memcache-client` is not installed.
   */
  override async initialize(): Promise<void> {
    if (this.ring !== undefined) return;
    const servers: Server[] = [];
    try {
      for (const name of this.serverNames) {
        const client = await openServerClient(name, this.poolSize, this.timeoutMs);
        servers.push({ name, client });
        await this.command(() => client.version()).catch((error: unknown) => {
          throw new BackendConnectionError(
            `Cannot reach memcached at ${name}: ${error instanceof Error ? error.message : String(error)}`,
            { cause: error },
          );
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
    const { server, key: at } = await this.placed(key);
    try {
      return Number(await this.call(server, () => server.client.decr(at, amount)));
    } catch (error) {
      if (!answered(error, "NOT_FOUND")) throw error;
      await this.call(server, () => server.client.add(at, "0", { lifetime: 0 })).catch(
        ignoreNotStored,
      );
      return Number(await this.call(server, () => server.client.decr(at, amount)));
    }
  }

  async incrementWithTtl(key: string, amount: number, ttlMs: number): Promise<number> {
    return this.addTo(await this.placed(key), amount, exptime(ttlMs));
  }

  async lock(name: string, options: LockOptions = {}): Promise<Lock> {
    const ttlMs = Math.max(1, Math.ceil(options.ttlMs ?? this.lockTtlMs));
    const { server, key } = await this.placed(`lock:${name}`);
    const cell: Cell = { key, server, windowEnd: undefined };
    const token = randomUUID();
    await pollForLock(name, ttlMs, options, async () => {
      try {
        await this.call(server, () => server.client.add(key, token, { lifetime: exptime(ttlMs) }));
        return true;
      } catch (error) {
        if (!answered(error, "NOT_STORED")) throw error;
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

  /**
   * Clears the namespace unless `persistent`, then closes the connections, whatever clearing
   * did: every command has the deadline, so a frozen server cannot hold a shutdown.
   */
  protected override async shutdown(): Promise<void> {
    try {
      if (this.ring !== undefined) await super.shutdown();
    } finally {
      for (const server of this.servers) server.client.shutdown();
      this.servers = [];
      this.ring = undefined;
    }
  }

  /** Waits for initialization and a fresh namespace generation before a command. */
  protected async prepared(): Promise<void> {
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

  /** The memcached key and server of a relative key (a fixed window's cell when `windowEnd` is given). */
  protected place(relative: string, windowEnd?: number): Cell {
    const key = memcachedKey(this.namespace, this.generation + 1, relative);
    return { key, server: this.serverFor(key), windowEnd };
  }

  private async placed(relative: string): Promise<Cell> {
    await this.prepared();
    return this.place(relative);
  }

  /** Adds to a counter, creating it with `lifetime` when missing. */
  private async addTo(cell: Cell, amount: number, lifetime: number): Promise<number> {
    const { client } = cell.server;
    try {
      return Number(await this.call(cell.server, () => client.incr(cell.key, amount)));
    } catch (error) {
      if (!answered(error, "NOT_FOUND")) throw error;
    }
    try {
      await this.call(cell.server, () => client.add(cell.key, String(amount), { lifetime }));
      return amount;
    } catch (error) {
      if (!answered(error, "NOT_STORED")) throw error;
    }
    // Another process created it first.
    return Number(await this.call(cell.server, () => client.incr(cell.key, amount)));
  }

  /** Reads a cell with `gets`: its value and CAS token, if it exists. */
  protected async read(cell: Cell): Promise<Read> {
    const found = await this.call(cell.server, () => cell.server.client.gets(cell.key));
    return found === undefined
      ? { raw: undefined, cas: undefined }
      : { raw: String(found.value), cas: found.casUniq };
  }

  private async release(cell: Cell, token: string): Promise<boolean> {
    const found = await this.read(cell);
    if (found.raw !== token || found.cas === undefined) return false;
    const casUniq = found.cas;
    try {
      // Expiring it at once, only if it still holds this token: a delete that checks its CAS.
      await this.call(cell.server, () =>
        cell.server.client.cas(cell.key, token, { casUniq, lifetime: -1 }),
      );
      return true;
    } catch (error) {
      if (answered(error, "EXISTS") || answered(error, "NOT_FOUND")) return false;
      throw error;
    }
  }

  /**
   * Sends one command with the backend's deadline and bound on pending commands. The server's
   * protocol answers (EXISTS, NOT_FOUND, NOT_STORED) come back as they are; other failures as
   * a `BackendError` naming the server.
   */
  protected call<T>(server: Server, send: () => Promise<T>): Promise<T> {
    return this.command(send, undefined, (error: unknown): never => {
      if (
        answered(error, "EXISTS") ||
        answered(error, "NOT_FOUND") ||
        answered(error, "NOT_STORED")
      ) {
        throw error;
      }
      throw failure(error, server.name);
    });
  }
}

function ignoreMissing(error: unknown): void {
  if (!answered(error, "NOT_FOUND")) throw error;
}

function ignoreNotStored(error: unknown): void {
  if (!answered(error, "NOT_STORED")) throw error;
}

export function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ConfigurationError(`MemcachedBackend: ${name} must be a whole number of at least 1.`);
  }
  return value;
}
