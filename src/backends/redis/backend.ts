import { createHash, randomUUID } from "node:crypto";
import type { Cluster, Redis } from "ioredis";
import { BackendConnectionError, ConfigurationError } from "../../errors.js";
import { rejectUnknownOptions } from "../../internal/known-keys.js";
import type { Step } from "../../strategies/strategy.js";
import { BACKEND_OPTION_NAMES, ThrottleBackend, type ThrottleBackendOptions } from "../base.js";
import { pollForLock } from "../poll-lock.js";
import type { DecisionMode, DecisionRequest, Lock, LockOptions } from "../types.js";
import { DecisionBatcher, type Entry, type Send } from "./batcher.js";
import { BlockCache } from "./block-cache.js";
import { stateKey } from "./keys.js";
import { decideScript } from "./lua/decide.js";
import {
  FIXED_WINDOW_CONSUME_LUA,
  FIXED_WINDOW_PEEK_LUA,
  FIXED_WINDOWS_LUA,
} from "./lua/fixed-window.js";
import { INCREMENT_WITH_TTL_LUA, RELEASE_LOCK_LUA } from "./lua/primitives.js";
import { blockedStep, fixedWindowStep, stepFrom, toSteps } from "./replies.js";
import { fixedWindowArgs, type Policy, requestArg, strategyArgs } from "./strategy-args.js";

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
   * For tests only: the deciding clock in ms. By default decisions are on the Redis server's
   * clock (its `TIME` and its key expiry), so application servers with skewed clocks agree.
   * Under a test clock, fixed windows need Redis 7 or later (`PEXPIRETIME`).
   */
  clock?: () => number;
}

const sha1 = (text: string): string => createHash("sha1").update(text).digest("hex");
const RELEASE_LOCK_SHA = sha1(RELEASE_LOCK_LUA);
const withSha = (source: string) => ({ sha: sha1(source), source });
const FIXED_WINDOW_CONSUME = withSha(FIXED_WINDOW_CONSUME_LUA);
const FIXED_WINDOW_PEEK = withSha(FIXED_WINDOW_PEEK_LUA);
const FIXED_WINDOWS = withSha(FIXED_WINDOWS_LUA);
const INCREMENT_WITH_TTL_SHA = sha1(INCREMENT_WITH_TTL_LUA);

/** A request, or a group, for the decision script: a packed argument per request. */
interface DecideEntry extends Entry {
  readonly codes: readonly string[];
  /** "code,cost,limit,window,option,option" per request. */
  readonly args: readonly string[];
}

/** A lone fixed-window request, for the fixed-window batch script. */
interface FixedWindowEntry extends Entry {
  readonly request: DecisionRequest;
}

/** Counts calls sent at once as in flight (see {@link DecisionBatcher.sent}). */
type InFlight = Pick<DecisionBatcher<Entry>, "sent" | "answered">;

const isNoScript = (error: unknown): boolean =>
  error instanceof Error && error.message.startsWith("NOSCRIPT");

/**
 * Keeps counters in Redis (a single node or a Redis Cluster) through ioredis. Every decision,
 * for every built-in strategy and for a group of throttles, is one `EVALSHA` of a script that
 * mirrors the strategies exactly on the server's clock, so any number of processes admit
 * exactly what one would.
 */
export class RedisBackend extends ThrottleBackend {
  private readonly connection: RedisBackendOptions["connection"];
  private readonly clock: (() => number) | undefined;
  private readonly blocks: BlockCache | undefined;
  private client: RedisClient | undefined;
  private ownsClient = false;

  /** @throws {ConfigurationError} for a malformed connection URL. */
  constructor(options: RedisBackendOptions) {
    rejectUnknownOptions("RedisBackend", options, {
      ...BACKEND_OPTION_NAMES,
      connection: true,
      blockCache: true,
      clock: true,
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

  override decide(request: DecisionRequest, mode: DecisionMode): Step | Promise<Step> {
    return this.decideThen(request, mode, sameStep, rethrow);
  }

  /**
   * One decision, within the backend's timeout. A lone one (nothing in flight to gather it
   * with) is one script call whose reply is shaped by `map` in the turn it arrives; others are
   * batched with their neighbours, fixed windows in a script of their own. A client known to
   * be throttled is answered at once.
   */
  override decideThen<R>(
    request: DecisionRequest,
    mode: DecisionMode,
    map: (step: Step) => R,
    recover: (error: unknown) => R | Promise<R>,
  ): R | Promise<R> {
    const policy = strategyArgs(request.strategy);
    if (policy === undefined) {
      // No Lua mirror: the base class's read-modify-write under a lock.
      return this.withinTimeout(super.decide(request, mode) as Promise<Step>, map, recover);
    }
    const key = this.key(stateKey(request.uid, request.identity));
    const blocks = this.blocks;
    if (blocks !== undefined && !blocks.isEmpty()) {
      const blockedFor = blocks.waitFor(key, request.cost, this.localNow());
      if (blockedFor !== undefined) return map(blockedStep(blockedFor));
    }
    const client = this.client;
    const ready = client !== undefined && this.ready() === undefined;
    const fixedWindow = policy[0] === "fw";
    if (ready) {
      if (client.isCluster) return this.sendAlone(client, key, policy, request, mode, map, recover);
      const batcher = fixedWindow ? this.fixedWindows : this.batcher;
      if (batcher.idle()) {
        return this.sendAlone(client, key, policy, request, mode, map, recover, batcher);
      }
    }
    const call =
      ready && fixedWindow
        ? this.fixedWindows.submit(mode, { keys: [key], request })
        : this.runDecide([key], [policy[0]], [requestArg(policy, request)], mode);
    return this.withinTimeout(
      call,
      (steps) => map(this.remember(key, request, mode, steps[0] as Step)),
      recover,
    );
  }

  /** Blocks a consumer that was rejected in-process, until its wait is over. */
  private remember(key: string, request: DecisionRequest, mode: DecisionMode, step: Step): Step {
    if (!step.allowed && mode === "consume" && request.cost > 0) {
      // The wait counts from now, the reply's arrival: never earlier than the server meant.
      this.blocks?.block(key, request.cost, step.retryAfterMs, this.localNow());
    }
    return step;
  }

  /**
   * One script call for one decision. The fixed window, the common case, has scripts and a
   * path of their own (which keeps its call sites monomorphic, and fast, in apps that use other
   * strategies too); others run the decision script for their strategy. `batcher` counts the
   * call as in flight, so decisions made meanwhile gather into a batch.
   */
  private sendAlone<R>(
    client: RedisClient,
    key: string,
    policy: Policy,
    request: DecisionRequest,
    mode: DecisionMode,
    map: (step: Step) => R,
    recover: (error: unknown) => R | Promise<R>,
    batcher?: InFlight,
  ): Promise<R> {
    const now = this.clock?.();
    if (policy[0] === "fw") {
      const { cost, rate } = request;
      const counts = mode === "consume" && cost > 0 && cost <= rate.limit;
      const script = counts ? FIXED_WINDOW_CONSUME : FIXED_WINDOW_PEEK;
      const onReply = (reply: unknown): R => {
        batcher?.answered();
        const step = fixedWindowStep(reply as number | string, cost, rate);
        return map(this.remember(key, request, mode, step));
      };
      const args = fixedWindowArgs(request, now);
      return this.evalAlone(client, script, key, args, onReply, recover, batcher);
    }
    const onReply = (reply: unknown): R => {
      batcher?.answered();
      const step = stepFrom((reply as string[])[0] as string);
      return map(this.remember(key, request, mode, step));
    };
    const args = [
      mode === "consume" ? "c" : "p",
      now === undefined ? "" : String(now),
      `0,${requestArg(policy, request)}`,
    ];
    return this.evalAlone(client, scriptFor([policy[0]]), key, args, onReply, recover, batcher);
  }

  /**
   * EVALSHA within the backend's timeout, answered by `onReply` (which also tells `batcher`),
   * falling back to EVAL where the node lacks the script (a restart, a failover).
   */
  private evalAlone<R>(
    client: RedisClient,
    { sha, source }: { sha: string; source: string },
    key: string,
    args: readonly string[],
    onReply: (reply: unknown) => R,
    recover: (error: unknown) => R | Promise<R>,
    batcher: InFlight | undefined,
  ): Promise<R> {
    const onError = (error: unknown): R | Promise<R> => {
      batcher?.answered();
      if (!isNoScript(error)) return recover(error);
      batcher?.sent();
      return this.withinTimeout(client.eval(source, 1, key, ...args), onReply, (failure) => {
        batcher?.answered();
        return recover(failure);
      });
    };
    batcher?.sent();
    return this.withinTimeout(client.evalsha(sha, 1, key, ...args), onReply, onError);
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
    const entry = { keys, args, codes };
    // A cluster script may only touch one slot, so there each entry goes alone.
    if (this.client.isCluster) return this.send(mode, [entry]);
    return this.batcher.submit(mode, entry);
  }

  /** The clock argument of the batch scripts: a test clock's time, or "" for the server's. */
  private clockArg(): string {
    return this.clock === undefined ? "" : String(this.clock());
  }

  /**
   * One decision script call for a batch of entries, each its own all-or-nothing group; a lone
   * decision goes through `sendAlone`.
   */
  private readonly send: Send<DecideEntry> = (mode, entries) => {
    const keys: string[] = [];
    const codes: string[] = [];
    const args = [mode === "consume" ? "c" : "p", this.clockArg()];
    entries.forEach((entry, group) => {
      keys.push(...entry.keys);
      codes.push(...entry.codes);
      for (const arg of entry.args) args.push(`${group},${arg}`);
    });
    const { sha, source } = scriptFor(codes);
    return this.script(sha, source, keys, args, (reply) => toSteps(reply as string[]));
  };

  private readonly batcher = new DecisionBatcher(this.send);

  /** One call of the fixed-window batch script for lone fixed-window requests made at once. */
  private readonly sendFixedWindows: Send<FixedWindowEntry> = (mode, entries) => {
    const keys: string[] = [];
    const args = [mode === "consume" ? "c" : "p", this.clockArg()];
    for (const { keys: entryKeys, request } of entries) {
      keys.push(entryKeys[0] as string);
      args.push(...fixedWindowArgs(request, undefined));
    }
    return this.script(FIXED_WINDOWS.sha, FIXED_WINDOWS.source, keys, args, (reply) =>
      (reply as (number | string)[]).map((answer, i) => {
        const { cost, rate } = (entries[i] as FixedWindowEntry).request;
        return fixedWindowStep(answer, cost, rate);
      }),
    );
  };

  private readonly fixedWindows = new DecisionBatcher(this.sendFixedWindows);

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

const sameStep = (step: Step): Step => step;

const rethrow = (error: unknown): never => {
  throw error;
};

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
