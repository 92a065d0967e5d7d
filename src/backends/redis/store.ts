import { createHash, randomUUID } from "node:crypto";
import type { Cluster, Redis } from "ioredis";
import {
  BackendConfigurationError,
  BackendConnectionError,
  BackendError,
  ConfigurationError,
} from "../../errors.js";
import { rejectUnknownOptions } from "../../internal/known-keys.js";
import { BACKEND_OPTION_NAMES, ThrottleBackend, type ThrottleBackendOptions } from "../base.js";
import {
  type DegradableBackend,
  type DegradedModeOptions,
  degradedModeOption,
} from "../degraded/options.js";
import { pollForLock } from "../poll-lock.js";
import type { DecisionRequest, Lock, LockOptions } from "../types.js";
import {
  checkClient,
  checkUrl,
  clientForUrl,
  errorText,
  isRefusal,
  type RedisClient,
  serverAddress,
  untilReady,
} from "./connection.js";
import { stateKey } from "./keys.js";
import { LATE_REPLY } from "./lua/deadline.js";
import { INCREMENT_WITH_TTL_LUA, RELEASE_LOCK_LUA } from "./lua/primitives.js";
import { ServerClock } from "./server-clock.js";
import { nodeOf } from "./slots.js";

/** Options of {@link RedisBackend}. */
export interface RedisBackendOptions extends Partial<ThrottleBackendOptions> {
  /**
   * A `redis://` or `rediss://` URL (the backend makes and owns the client), an ioredis `Redis`
   * or `Cluster`, or a function returning one. For a client of your own, set
   * `enableOfflineQueue: false` so that requests fail fast instead of queueing while Redis is down.
   */
  connection: string | RedisClient | (() => RedisClient | Promise<RedisClient>);
  /** Keep the namespace's keys on `close()`; other processes may share them. @default true */
  persistent?: boolean;
  /**
   * Answer requests from clients known to be throttled in-process until their wait is over,
   * without a round trip. @default true
   */
  blockCache?: boolean;
  /**
   * For tests only: the deciding clock in ms. By default decisions are on the Redis server's
   * clock (its `TIME` and its key expiry), so application servers with skewed clocks agree.
   * Under a test clock, fixed windows need Redis 7 or later (`PEXPIRETIME`).
   */
  clock?: () => number;
  /**
   * While the server (a cluster master) is out, decide its requests in this process, each
   * client within its limit per process, instead of by `onError`, and hand them back once it
   * answers (see {@link DegradedModeOptions}). `false` leaves outages to `onError`. @default true
   */
  degradedMode?: boolean | DegradedModeOptions;
}

export const sha1 = (text: string): string => createHash("sha1").update(text).digest("hex");
const RELEASE_LOCK_SHA = sha1(RELEASE_LOCK_LUA);
const INCREMENT_WITH_TTL_SHA = sha1(INCREMENT_WITH_TTL_LUA);

export const isNoScript = (error: unknown): boolean =>
  error instanceof Error && error.message.startsWith("NOSCRIPT");

/** Reads the server's clock; also proves the server lets this client run scripts. */
const TIME_PROBE_LUA = `local t = redis.call("TIME")
return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * The store half of {@link RedisBackend}: the connection (made, checked, closed), the
 * primitives and locks, `reset()`, and how every command is sent: within the deadline and the
 * bound on pending calls, its failure a `BackendError` naming the server. Decisions are the
 * backend's.
 * Not exported: it reaches the published types only as {@link RedisBackend}'s base class.
 */
export abstract class RedisStore extends ThrottleBackend implements DegradableBackend {
  readonly degradedMode: DegradedModeOptions | false;
  private readonly connection: RedisBackendOptions["connection"];
  /** The injected deciding clock (tests only); `undefined` decides on Redis's `TIME`. */
  protected readonly clock: (() => number) | undefined;
  /** The ioredis client, once connected or given. */
  protected client: RedisClient | undefined;
  private ownsClient = false;
  /** The server as error messages name it (`host:port`). */
  protected readonly where: string;
  /** The offset between this process's clock and the server's, for each call's deadline. */
  protected readonly serverClock = new ServerClock(() => this.probeTime());

  /**
   * @throws {ConfigurationError} for a malformed connection URL.
   * @throws {BackendConfigurationError} for a client that is not an ioredis one.
   */
  constructor(options: RedisBackendOptions) {
    rejectUnknownOptions("RedisBackend", options, {
      ...BACKEND_OPTION_NAMES,
      connection: true,
      blockCache: true,
      clock: true,
      degradedMode: true,
    });
    super({
      ...options,
      namespace: options.namespace ?? "traffik",
      persistent: options.persistent ?? true,
    });
    if (typeof options.connection === "string") checkUrl(options.connection);
    else if (options.connection === undefined || options.connection === null) {
      throw new ConfigurationError(
        "RedisBackend needs a `connection`: a URL, an ioredis client, or a function returning one.",
      );
    } else if (typeof options.connection !== "function") checkClient(options.connection);
    this.connection = options.connection;
    this.where = serverAddress(options.connection);
    this.clock = options.clock;
    this.degradedMode = degradedModeOption(options.degradedMode);
  }

  /** The cluster master that decides `request` as the client knows it now (`""` off a cluster). */
  outageNode(request: DecisionRequest): string {
    return nodeOf(this.client, this.key(stateKey(request.uid, request.identity)));
  }

  /** The ioredis client, once initialized. */
  get redis(): RedisClient | undefined {
    return this.client;
  }

  /**
   * Connects, and reads the server's clock with a script (which also proves scripts may run).
   * @throws {BackendConnectionError} naming host:port, when Redis cannot be reached.
   * @throws {BackendConfigurationError} when it refuses the credentials or scripts, or when
   * `ioredis` is missing or the client is not an ioredis one.
   */
  override async initialize(): Promise<void> {
    this.client ??= await this.makeClient();
    const client = this.client;
    // A refused password is only told on the client's "error" event; connect() then says
    // "Connection is closed.".
    let told: unknown;
    const listen = (error: unknown) => {
      told = error;
    };
    client.on("error", listen);
    try {
      await this.withinTimeout(untilReady(client, this.timeoutMs));
      await this.withinTimeout(this.serverClock.sync());
    } catch (error) {
      const reason = isRefusal(told) ? told : error;
      if (isRefusal(reason)) {
        if (this.ownsClient) {
          client.disconnect();
          this.client = undefined;
        }
        throw new BackendConfigurationError(
          `Redis at ${this.where} refused backend "${this.namespace}": ${errorText(reason)}. Check the credentials and that the user may run scripts (EVAL, EVALSHA, TIME).`,
          { cause: reason },
        );
      }
      throw new BackendConnectionError(
        `Cannot reach Redis at ${this.where} for backend "${this.namespace}": ${errorText(told ?? error)}`,
        { cause: error },
      );
    } finally {
      client.off("error", listen);
    }
  }

  /**
   * Clears the namespace unless `persistent`, then lets go of a client it made (QUIT, or a
   * disconnect if the server does not answer within the deadline), whatever clearing did.
   */
  protected override async shutdown(): Promise<void> {
    const client = this.client;
    if (client === undefined) return;
    try {
      if (!this.persistent) await this.reset();
    } finally {
      this.client = undefined;
      if (this.ownsClient) {
        await this.withinTimeout(client.quit()).catch(() => client.disconnect());
      }
    }
  }

  override now(): number {
    return this.clock?.() ?? Date.now();
  }

  override async clear(uid: string, identity: string): Promise<void> {
    const key = this.key(stateKey(uid, identity));
    const client = await this.connected();
    await this.call(() => client.del(key));
  }

  protected override stateKey(uid: string, identity: string): string {
    return stateKey(uid, identity);
  }

  async get(key: string): Promise<string | null> {
    const client = await this.connected();
    return this.call(() => client.get(this.key(key)));
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    const client = await this.connected();
    const at = this.key(key);
    await this.call(() =>
      ttlMs === undefined
        ? client.set(at, value)
        : client.set(at, value, "PX", Math.max(1, Math.ceil(ttlMs))),
    );
  }

  async delete(key: string): Promise<void> {
    const client = await this.connected();
    await this.call(() => client.del(this.key(key)));
  }

  async increment(key: string, amount = 1): Promise<number> {
    const client = await this.connected();
    return this.call(() => client.incrby(this.key(key), amount));
  }

  async decrement(key: string, amount = 1): Promise<number> {
    const client = await this.connected();
    return this.call(() => client.decrby(this.key(key), amount));
  }

  async incrementWithTtl(key: string, amount: number, ttlMs: number): Promise<number> {
    const ttl = String(Math.max(1, Math.ceil(ttlMs)));
    return Number(
      await this.withinTimeout(
        this.script(
          INCREMENT_WITH_TTL_SHA,
          INCREMENT_WITH_TTL_LUA,
          [this.key(key)],
          [String(amount), ttl],
        ),
      ),
    );
  }

  /**
   * A lock with a random token and a TTL (`SET NX PX`): it cannot outlive a crashed holder, and
   * only the holder's release (compare-and-delete in Lua) frees it. Blocking waits poll with a
   * growing pause until `blockingTimeoutMs`.
   */
  async lock(name: string, options: LockOptions = {}): Promise<Lock> {
    const client = await this.connected();
    const ttlMs = Math.max(1, Math.ceil(options.ttlMs ?? this.lockTtlMs));
    const key = this.key(`lock:${name}`);
    const token = randomUUID();
    await pollForLock(name, ttlMs, options, async () => {
      return (await this.call(() => client.set(key, token, "PX", ttlMs, "NX"))) === "OK";
    });
    return {
      release: async () =>
        Number(
          await this.withinTimeout(this.script(RELEASE_LOCK_SHA, RELEASE_LOCK_LUA, [key], [token])),
        ) === 1,
    };
  }

  /**
   * Removes every key of the namespace with `SCAN` (never `KEYS`), on every cluster master.
   * Each command has the deadline: a frozen server fails this, it cannot hold it.
   */
  async reset(): Promise<void> {
    const client = await this.connected();
    const nodes: Redis[] = client.isCluster
      ? (client as Cluster).nodes("master")
      : [client as Redis];
    for (const node of nodes) {
      let cursor = "0";
      do {
        const at = cursor;
        const [next, keys] = await this.call(() =>
          node.scan(at, "MATCH", `${this.namespace}:*`, "COUNT", 1000),
        );
        cursor = next;
        // One key per UNLINK: keys found on one cluster node may sit in different slots.
        if (keys.length > 0) {
          await Promise.all(keys.map((key) => this.call(() => node.unlink(key))));
        }
      } while (cursor !== "0");
    }
  }

  /** Whether the client is a cluster; a connection given as a function is not known before use. */
  protected isCluster(): boolean {
    const connection = this.client ?? this.connection;
    return typeof connection === "object" && connection.isCluster;
  }

  /** The full key of a relative one: the namespace, then the key. */
  protected key(relative: string): string {
    return `${this.namespace}:${relative}`;
  }

  /** The client, once it is connected. */
  protected async connected(): Promise<RedisClient> {
    const ready = this.ready();
    if (ready !== undefined) await ready;
    return this.client as RedisClient;
  }

  /** Whether the client is connected, so a call need not wait. */
  protected isReady(): boolean {
    return this.client !== undefined && this.ready() === undefined;
  }

  /** One command with the deadline; its failure as a `BackendError` naming the server. */
  private call<T>(send: () => Promise<T>): Promise<T> {
    return this.command(send, undefined, (error: unknown): never => {
      throw this.failure(error);
    });
  }

  /** What a call failed with, as a `BackendError` naming the server. */
  protected failure(error: unknown): unknown {
    if (error instanceof BackendError) return error;
    const message = errorText(error);
    const late = message.startsWith(LATE_REPLY);
    // A script declined before this process's own deadline: its idea of the server's clock is off.
    if (late) this.serverClock.resync();
    if (late || message === "Command timed out") {
      return new BackendError(`Redis at ${this.where}: ${message}`, {
        code: "ERR_TRAFFIK_BACKEND_TIMEOUT",
        cause: error,
      });
    }
    return new BackendError(`Redis at ${this.where}: ${message}`, { cause: error });
  }

  /** The server's clock, read by a script: proof that this client may run scripts. */
  private async probeTime(): Promise<number> {
    const client = this.client as RedisClient;
    return Number(await client.eval(TIME_PROBE_LUA, 0));
  }

  /**
   * EVALSHA, falling back to EVAL (which caches the script) where the node lacks it; `map`
   * shapes the reply in the same turn, which spares the hot path a promise.
   */
  protected script<T = unknown>(
    sha: string,
    source: string,
    keys: readonly string[],
    args: readonly string[],
    map: (reply: unknown) => T = (reply) => reply as T,
  ): Promise<T> {
    const fail = (error: unknown): never => {
      throw this.failure(error);
    };
    const run = (client: RedisClient) =>
      this.counted(() => client.evalsha(sha, keys.length, ...keys, ...args)).then(
        map,
        (error: unknown) => {
          if (!isNoScript(error)) return fail(error);
          return this.counted(() => client.eval(source, keys.length, ...keys, ...args)).then(
            map,
            fail,
          );
        },
      );
    // Initialized is the common case: no extra turn of the microtask queue.
    return this.isReady() ? run(this.client as RedisClient) : this.connected().then(run);
  }

  private async makeClient(): Promise<RedisClient> {
    const connection = this.connection;
    if (typeof connection === "function") return checkClient(await connection());
    if (typeof connection !== "string") return connection;
    const client = await clientForUrl(connection, this.timeoutMs);
    this.ownsClient = true;
    return client;
  }
}
