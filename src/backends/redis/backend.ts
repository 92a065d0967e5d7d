import { createHash, randomUUID } from "node:crypto";
import type { Cluster, Redis } from "ioredis";
import { BackendConnectionError, ConfigurationError } from "../../errors.js";
import type { Rate } from "../../rate.js";
import { FixedWindowStrategy } from "../../strategies/fixed-window.js";
import type { Step } from "../../strategies/strategy.js";
import { ThrottleBackend, type ThrottleBackendOptions } from "../base.js";
import { pollForLock } from "../poll-lock.js";
import type { DecisionMode, DecisionRequest, Lock, LockOptions } from "../types.js";
import { DecisionBatcher, type Send } from "./batcher.js";
import { BlockCache } from "./block-cache.js";
import { stateKey } from "./keys.js";
import { decideScript, FIXED_WINDOW_ALONE_LUA } from "./lua/decide.js";
import { INCREMENT_WITH_TTL_LUA, RELEASE_LOCK_LUA } from "./lua/primitives.js";
import { strategyArgs } from "./strategy-args.js";

/** An ioredis client: a single node or a cluster. */
export type RedisClient = Redis | Cluster;

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
   * For tests only: the deciding clock in ms. By default every decision reads the Redis server's
   * `TIME`, so application servers with skewed clocks agree.
   */
  clock?: () => number;
}

const sha1 = (text: string): string => createHash("sha1").update(text).digest("hex");
const RELEASE_LOCK_SHA = sha1(RELEASE_LOCK_LUA);
const FIXED_WINDOW_ALONE = { sha: sha1(FIXED_WINDOW_ALONE_LUA), source: FIXED_WINDOW_ALONE_LUA };
const INCREMENT_WITH_TTL_SHA = sha1(INCREMENT_WITH_TTL_LUA);

const isNoScript = (error: unknown): boolean =>
  error instanceof Error && error.message.startsWith("NOSCRIPT");

/**
 * Keeps counters in Redis (a single node or a Redis Cluster) through ioredis. Every decision,
 * for every built-in strategy and for a group of throttles, is one `EVALSHA` of a script that
 * mirrors the strategies exactly and reads the server's clock, so any number of processes
 * admit exactly what one would.
 */
export class RedisBackend extends ThrottleBackend {
  private readonly connection: RedisBackendOptions["connection"];
  private readonly clock: (() => number) | undefined;
  private readonly blocks: BlockCache | undefined;
  private client: RedisClient | undefined;
  private ownsClient = false;

  /** @throws {ConfigurationError} for a malformed connection URL. */
  constructor(options: RedisBackendOptions) {
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
    }
    this.connection = options.connection;
    this.clock = options.clock;
    this.blocks = options.blockCache === false ? undefined : new BlockCache();
  }

  /** The ioredis client, once initialized. */
  get redis(): RedisClient | undefined {
    return this.client;
  }

  /** @throws {BackendConnectionError} when Redis cannot be reached. */
  override async initialize(): Promise<void> {
    try {
      this.client ??= await this.makeClient();
      const client = this.client;
      if (client.status === "wait") await this.withinTimeout(client.connect());
      await this.withinTimeout(client.ping());
    } catch (error) {
      throw new BackendConnectionError(
        `Cannot reach Redis for backend "${this.namespace}": ${errorText(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  override async close(): Promise<void> {
    this.blocks?.clear();
    if (this.client === undefined) return;
    await super.close();
    if (this.ownsClient) await this.client.quit().catch(() => this.client?.disconnect());
    this.client = undefined;
  }

  override now(): number {
    return this.clock?.() ?? Date.now();
  }

  override decide(request: DecisionRequest, mode: DecisionMode): Promise<Step> {
    const policy = strategyArgs(request.strategy);
    if (policy === undefined) return super.decide(request, mode) as Promise<Step>;
    const key = this.key(stateKey(request.uid, request.identity));
    const localNow = this.localNow();
    const blockedFor = this.blocks?.waitFor(key, request.cost, localNow);
    if (blockedFor !== undefined) return Promise.resolve(blockedStep(blockedFor));
    const remember = (step: Step): Step => {
      if (!step.allowed && mode === "consume") {
        this.blocks?.block(key, request.cost, step.retryAfterMs, localNow);
      }
      return step;
    };
    const client = this.client;
    if (client !== undefined && (client.isCluster || this.batcher.idle())) {
      // Nothing to gather with: one script call, its reply shaped in the turn it arrives.
      const call = this.sendAlone(key, policy, request, mode, remember);
      if (!client.isCluster) this.batcher.track(call);
      return call;
    }
    const args = [requestArg(policy, request)];
    return this.runDecide([key], [policy[0]], args, mode).then((steps) =>
      remember(steps[0] as Step),
    );
  }

  private sendAlone(
    key: string,
    policy: Policy,
    request: DecisionRequest,
    mode: DecisionMode,
    remember: (step: Step) => Step,
  ): Promise<Step> {
    const now = this.clock === undefined ? "" : String(this.clock());
    const flag = mode === "consume" ? "c" : "p";
    if (policy[0] === "fw") {
      const cost = String(request.cost);
      const limit = String(request.rate.limit);
      const window = String(request.rate.windowMs);
      const { sha, source } = FIXED_WINDOW_ALONE;
      return this.script(sha, source, [key], [flag, now, cost, limit, window], (reply) =>
        remember(fixedWindowStep((reply as string[])[0] as string, now, cost, limit, window)),
      );
    }
    const { sha, source } = scriptFor([policy[0]]);
    const args = [flag, now, `0,${requestArg(policy, request)}`];
    return this.script(sha, source, [key], args, (reply) =>
      remember(stepFrom((reply as string[])[0] as string)),
    );
  }

  override decideAll(requests: readonly DecisionRequest[], mode: DecisionMode): Promise<Step[]> {
    const policies = requests.map((request) => strategyArgs(request.strategy));
    // One script needs one slot on a cluster: one identity. Otherwise, locks decide.
    const oneSlot = new Set(requests.map((r) => r.identity)).size === 1;
    if (policies.some((p) => p === undefined) || (!oneSlot && this.isCluster())) {
      return super.decideAll(requests, mode) as Promise<Step[]>;
    }
    const known = policies as Policy[];
    const keys = requests.map((r) => this.key(stateKey(r.uid, r.identity)));
    const args = requests.map((request, i) => requestArg(known[i] as Policy, request));
    return this.runDecide(
      keys,
      known.map(([code]) => code),
      args,
      mode,
    ).then((steps) => [...steps]);
  }

  override async clear(uid: string, identity: string): Promise<void> {
    const key = this.key(stateKey(uid, identity));
    this.blocks?.forget(key);
    await (await this.connected()).del(key);
  }

  protected override stateKey(uid: string, identity: string): string {
    return stateKey(uid, identity);
  }

  async get(key: string): Promise<string | null> {
    return (await this.connected()).get(this.key(key));
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    const client = await this.connected();
    if (ttlMs === undefined) await client.set(this.key(key), value);
    else await client.set(this.key(key), value, "PX", Math.max(1, Math.ceil(ttlMs)));
  }

  async delete(key: string): Promise<void> {
    await (await this.connected()).del(this.key(key));
  }

  async increment(key: string, amount = 1): Promise<number> {
    return (await this.connected()).incrby(this.key(key), amount);
  }

  async decrement(key: string, amount = 1): Promise<number> {
    return (await this.connected()).decrby(this.key(key), amount);
  }

  async incrementWithTtl(key: string, amount: number, ttlMs: number): Promise<number> {
    const ttl = String(Math.max(1, Math.ceil(ttlMs)));
    return Number(
      await this.script(
        INCREMENT_WITH_TTL_SHA,
        INCREMENT_WITH_TTL_LUA,
        [this.key(key)],
        [String(amount), ttl],
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
      return (await client.set(key, token, "PX", ttlMs, "NX")) === "OK";
    });
    return {
      release: async () =>
        Number(await this.script(RELEASE_LOCK_SHA, RELEASE_LOCK_LUA, [key], [token])) === 1,
    };
  }

  /** Removes every key of the namespace with `SCAN` (never `KEYS`), on every cluster master. */
  async reset(): Promise<void> {
    const client = await this.connected();
    this.blocks?.clear();
    const nodes: Redis[] = client.isCluster
      ? (client as Cluster).nodes("master")
      : [client as Redis];
    for (const node of nodes) {
      let cursor = "0";
      do {
        const [next, keys] = await node.scan(cursor, "MATCH", `${this.namespace}:*`, "COUNT", 1000);
        cursor = next;
        // One key per UNLINK: keys found on one cluster node may sit in different slots.
        if (keys.length > 0) await Promise.all(keys.map((key) => node.unlink(key)));
      } while (cursor !== "0");
    }
  }

  /** Whether the client is a cluster; a connection given as a function is not known before use. */
  private isCluster(): boolean {
    const connection = this.client ?? this.connection;
    return typeof connection === "object" && connection.isCluster;
  }

  private key(relative: string): string {
    return `${this.namespace}:${relative}`;
  }

  private localNow(): number {
    return this.clock?.() ?? performance.now();
  }

  private async connected(): Promise<RedisClient> {
    const ready = this.ready();
    if (ready !== undefined) await ready;
    return this.client as RedisClient;
  }

  /** Decides one entry (a request or a group): batched with its neighbours on a single node. */
  private runDecide(
    keys: readonly string[],
    codes: readonly string[],
    args: readonly string[],
    mode: DecisionMode,
  ): Promise<readonly Step[]> {
    // Whether the client is a cluster decides how to send: know it first.
    if (this.client === undefined) {
      return this.connected().then(() => this.runDecide(keys, codes, args, mode));
    }
    // A cluster script may only touch one slot, so there each entry goes alone.
    if (this.client.isCluster)
      return this.send(
        mode,
        keys,
        codes,
        args.map((arg) => `0,${arg}`),
      );
    return this.batcher.submit(mode, { keys, args, codes });
  }

  /** One script call for a batch (or a group); a lone decision goes through `sendAlone`. */
  private readonly send: Send = (mode, keys, codes, args) => {
    const now = this.clock === undefined ? "" : String(this.clock());
    const { sha, source } = scriptFor(codes);
    return this.script(sha, source, keys, [mode === "consume" ? "c" : "p", now, ...args], (reply) =>
      toSteps(reply as string[]),
    );
  };

  private readonly batcher = new DecisionBatcher(this.send);

  /**
   * EVALSHA, falling back to EVAL (which caches the script) where the node lacks it; `map`
   * shapes the reply in the same turn, which spares the hot path a promise.
   */
  private script<T = unknown>(
    sha: string,
    source: string,
    keys: readonly string[],
    args: readonly string[],
    map: (reply: unknown) => T = (reply) => reply as T,
  ): Promise<T> {
    const run = (client: RedisClient) =>
      client.evalsha(sha, keys.length, ...keys, ...args).then(map, (error: unknown) => {
        if (!isNoScript(error)) throw error;
        return client.eval(source, keys.length, ...keys, ...args).then(map);
      });
    // Initialized is the common case: no extra turn of the microtask queue.
    return this.client !== undefined && this.ready() === undefined
      ? run(this.client)
      : this.connected().then(run);
  }

  private async makeClient(): Promise<RedisClient> {
    const connection = this.connection;
    if (typeof connection === "function") return connection();
    if (typeof connection !== "string") return connection;
    const { Redis } = await import("ioredis");
    const client = new Redis(connection, {
      lazyConnect: true,
      // Fail fast while Redis is away, so onError decides within the timeout; reconnect quickly.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: this.timeoutMs,
      retryStrategy: (attempt) => Math.min(50 * attempt, 500),
    });
    client.on("error", () => {
      // Surfaced per request as a BackendError; the client reconnects by itself.
    });
    this.ownsClient = true;
    return client;
  }
}

const scripts = new Map<string, { sha: string; source: string }>();

/** The decision script for a set of strategy codes, built once. */
function scriptFor(codes: readonly string[]): { sha: string; source: string } {
  const name = [...new Set(codes)].sort().join(",");
  let script = scripts.get(name);
  if (script === undefined) {
    const source = decideScript(codes);
    script = { sha: sha1(source), source };
    scripts.set(name, script);
  }
  return script;
}

/** A step from one reply string, "allowed,remaining,retry after,reset after,delay". */
function stepFrom(reply: string): Step {
  // indexOf and slice: this runs for every decision, and split() allocates more.
  const a = reply.indexOf(",", 2);
  const b = reply.indexOf(",", a + 1);
  const c = reply.indexOf(",", b + 1);
  const retry = reply.slice(a + 1, b);
  return {
    state: EMPTY_STATE,
    allowed: reply.charCodeAt(0) === 49, // "1"
    remaining: Number(reply.slice(2, a)),
    retryAfterMs: retry === "inf" ? Number.POSITIVE_INFINITY : Number(retry),
    resetAfterMs: Number(reply.slice(b + 1, c)),
    delayMs: Number(reply.slice(c + 1)),
  };
}

const EMPTY_STATE: readonly number[] = [];

const toSteps = (reply: readonly string[]): Step[] => reply.map(stepFrom);

const fixedWindow = new FixedWindowStrategy();

/**
 * The step of a lone fixed-window request from the script's "prior,seconds,microseconds":
 * the TypeScript strategy decides from the count before the request and the server's clock
 * (computed as the scripts compute it), exactly as the script did.
 */
function fixedWindowStep(
  reply: string,
  testNow: string,
  cost: string,
  limit: string,
  window: string,
): Step {
  const comma = reply.indexOf(",");
  let now: number;
  if (comma === -1) {
    now = Number(testNow);
  } else {
    const micros = reply.indexOf(",", comma + 1);
    now = Number(reply.slice(comma + 1, micros)) * 1000 + Number(reply.slice(micros + 1)) / 1000;
  }
  const prior = Number(comma === -1 ? reply : reply.slice(0, comma));
  const windowMs = Number(window);
  const windowEnd = (Math.floor(now / windowMs) + 1) * windowMs;
  const rate = { limit: Number(limit), windowMs } as Rate;
  return fixedWindow.apply([windowEnd, prior], now, Number(cost), rate);
}

type Policy = readonly [code: string, first: string, second: string];

/** A request's packed script argument, less its group: "code,cost,limit,window,option,option". */
function requestArg([code, first, second]: Policy, { cost, rate }: DecisionRequest): string {
  return `${code},${cost},${rate.limit},${rate.windowMs},${first},${second}`;
}

function blockedStep(waitMs: number): Step {
  return {
    state: [],
    allowed: false,
    remaining: 0,
    retryAfterMs: waitMs,
    resetAfterMs: waitMs,
    delayMs: 0,
  };
}

function checkUrl(connection: string): void {
  let protocol: string;
  try {
    protocol = new URL(connection).protocol;
  } catch {
    throw new ConfigurationError(
      `Invalid Redis URL ${JSON.stringify(connection)}: expected redis://host:port/db or rediss://...`,
    );
  }
  if (protocol !== "redis:" && protocol !== "rediss:") {
    throw new ConfigurationError(
      `Invalid Redis URL ${JSON.stringify(connection)}: the scheme must be redis: or rediss:.`,
    );
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
