import { randomUUID } from "node:crypto";
import { BackendConnectionError, BackendError } from "../../errors.js";
import { ThrottleBackend } from "../base.js";
import {
  type DegradableBackend,
  type DegradedModeOptions,
  degradedModeOption,
} from "../degraded/options.js";
import { pollForLock } from "../poll-lock.js";
import type { Lock, LockOptions } from "../types.js";
import type { Cell, Read } from "./cas-round.js";
import { answered, failure, openServerClient, type Server } from "./client.js";
import { corkedGets } from "./corked-commands.js";
import { exptime, memcachedKey } from "./keys.js";
import { checkMemcachedOptions, type MemcachedBackendOptions, positiveInteger } from "./options.js";
import { HashRing } from "./ring.js";

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
    const serverNames = checkMemcachedOptions(options);
    super({
      ...options,
      namespace: options.namespace ?? "traffik",
      persistent: options.persistent ?? true,
    });
    this.serverNames = serverNames;
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
        servers.push({ name, client, answeredAt: Number.NEGATIVE_INFINITY });
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

  async lock(name: string, options: LockOptions = {}): Promise<Lock> {
    const ttlMs = Math.max(1, Math.ceil(options.ttlMs ?? this.lockTtlMs));
    const { server, key } = await this.placed(`lock:${name}`);
    const cell: Cell = { key, server };
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
    return { key, server: this.serverFor(key) };
  }

  private serverFor(key: string): Server {
    if (this.ring === undefined) {
      throw new BackendError("MemcachedBackend is closed or not initialized.", {
        code: "ERR_TRAFFIK_BACKEND_CLOSED",
      });
    }
    return this.ring.serverFor(key);
  }

  /** The memcached key and server of a relative key. */
  protected place(relative: string): Cell {
    const key = memcachedKey(this.namespace, this.generation + 1, relative);
    return { key, server: this.serverFor(key) };
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
    const found = await this.call(cell.server, () => corkedGets(cell.server.client, cell.key));
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
    const heard = (value: T): T => {
      server.answeredAt = performance.now();
      return value;
    };
    return this.command(send, heard, (error: unknown): never => {
      if (
        answered(error, "EXISTS") ||
        answered(error, "NOT_FOUND") ||
        answered(error, "NOT_STORED")
      ) {
        server.answeredAt = performance.now();
        throw error;
      }
      throw failure(error, server.name);
    });
  }
}

function ignoreMissing(error: unknown): void {
  if (!answered(error, "NOT_FOUND")) throw error;
}
