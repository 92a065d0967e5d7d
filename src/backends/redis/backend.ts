import type { Step, StrategyState } from "../../strategies/strategy.js";
import { encodeState } from "../state-codec.js";
import type { DecisionMode, DecisionRequest } from "../types.js";
import { DecisionBatcher, type Entry, type Send } from "./batcher.js";
import { BlockCache } from "./block-cache.js";
import type { RedisClient } from "./connection.js";
import { stateKey } from "./keys.js";
import { decideScript } from "./lua/decide.js";
import {
  FIXED_WINDOW_CONSUME_LUA,
  FIXED_WINDOW_PEEK_LUA,
  FIXED_WINDOWS_LUA,
} from "./lua/fixed-window.js";
import { RESTORE_STATE_LUA } from "./lua/restore.js";
import { blockedStep, fixedWindowStep, stepFrom, toSteps } from "./replies.js";
import { isNoScript, type RedisBackendOptions, RedisStore, sha1 } from "./store.js";
import { fixedWindowArgs, type Policy, requestArg, strategyArgs } from "./strategy-args.js";

export type { RedisClient } from "./connection.js";
export type { RedisBackendOptions } from "./store.js";

const withSha = (source: string) => ({ sha: sha1(source), source });
const FIXED_WINDOW_CONSUME = withSha(FIXED_WINDOW_CONSUME_LUA);
const FIXED_WINDOW_PEEK = withSha(FIXED_WINDOW_PEEK_LUA);
const FIXED_WINDOWS = withSha(FIXED_WINDOWS_LUA);
const RESTORE_STATE = withSha(RESTORE_STATE_LUA);

/** A request, or a group, for the decision script: a packed argument per request. */
interface DecideEntry extends Entry {
  readonly codes: readonly string[];
  /** "code,cost,limit,window,option,option" per request. */
  readonly args: readonly string[];
  /** Past this time on the server's clock the script must not write for this entry. */
  readonly deadline: number;
}

/** A lone fixed-window request, for the fixed-window batch script. */
interface FixedWindowEntry extends Entry {
  readonly request: DecisionRequest;
  /** Past this time on the server's clock the script must not write for this entry. */
  readonly deadline: number;
}

/** Counts calls sent at once as in flight (see {@link DecisionBatcher.sent}). */
type InFlight = Pick<DecisionBatcher<Entry>, "sent" | "answered">;

/**
 * Keeps counters in Redis (a single node or a Redis Cluster) through ioredis. Every decision,
 * for every built-in strategy and for a group of throttles, is one `EVALSHA` of a script that
 * mirrors the strategies exactly on the server's clock, so any number of processes admit
 * exactly what one would.
 *
 * Every call has the backend's deadline (`timeoutMs`), `close()` included. A decision carries
 * its deadline on the server's clock, and the script writes nothing if it runs later (the
 * server was frozen, or far behind): a request answered by `onError` is never charged. At most
 * `maxPending` calls wait on the server; beyond, `onError` decides at once. Bad credentials, a
 * user who may not run scripts, a missing `ioredis` or a client that is not an ioredis one fail
 * `initialize()` (or the constructor) with a `BackendConfigurationError`, never `onError`.
 */
export class RedisBackend extends RedisStore {
  private readonly blocks: BlockCache | undefined;

  /**
   * @throws {ConfigurationError} for a malformed connection URL.
   * @throws {BackendConfigurationError} for a client that is not an ioredis one.
   */
  constructor(options: RedisBackendOptions) {
    super(options);
    this.blocks = options.blockCache === false ? undefined : new BlockCache();
  }

  /**
   * Connects (as the store does); from then on, every reconnection forgets the
   * clients blocked in-process: the server may have restarted empty, or a replica that lags
   * may have taken over, and Redis, not a memory of it, says who is blocked.
   */
  override async initialize(): Promise<void> {
    await super.initialize();
    const client = this.client;
    if (this.blocks !== undefined && client !== undefined && client !== this.watched) {
      this.watched?.off("ready", this.forgetBlocks);
      this.watched = client;
      client.on("ready", this.forgetBlocks);
    }
  }

  protected override async shutdown(): Promise<void> {
    this.watched?.off("ready", this.forgetBlocks);
    this.watched = undefined;
    this.blocks?.clear();
    await super.shutdown();
  }

  private watched: RedisClient | undefined;
  private readonly forgetBlocks = (): void => this.blocks?.clear();

  /** Forgets one client's state for one throttle, and its in-process block. */
  override async clear(uid: string, identity: string): Promise<void> {
    this.blocks?.forget(this.key(stateKey(uid, identity)));
    await super.clear(uid, identity);
  }

  override async reset(): Promise<void> {
    this.blocks?.clear();
    await super.reset();
  }

  /** One script: compare and set on the server, on the deciding clock. */
  override restoreState(
    request: DecisionRequest,
    admitted: StrategyState,
    restored: StrategyState,
  ): Promise<void> {
    const key = this.key(stateKey(request.uid, request.identity));
    const args = [encodeState(admitted), this.clockArg(), encodeState(restored)];
    const replaced = this.script(RESTORE_STATE.sha, RESTORE_STATE.source, [key], args);
    return this.withinTimeout(replaced, () => undefined);
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
    // Taken before the call's own timeout starts, whenever the call is sent (at once, in a
    // batch, after a reconnection): the server never writes for a call given up on. Not for
    // a known rejection, which sends nothing.
    const deadline = this.serverClock.deadline(this.timeoutMs);
    const client = this.client;
    const ready = client !== undefined && this.ready() === undefined;
    const fixedWindow = policy[0] === "fw";
    if (ready) {
      if (client.isCluster) {
        return this.sendAlone(client, key, policy, request, mode, deadline, map, recover);
      }
      const batcher = fixedWindow ? this.fixedWindows : this.batcher;
      if (batcher.idle()) {
        return this.sendAlone(client, key, policy, request, mode, deadline, map, recover, batcher);
      }
    }
    const call =
      ready && fixedWindow
        ? this.fixedWindows.submit(mode, { keys: [key], request, deadline })
        : this.runDecide([key], [policy[0]], [requestArg(policy, request)], mode, deadline);
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
    deadline: number,
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
      if (counts) {
        if (now === undefined) args.push("");
        args.push(String(deadline));
      }
      return this.evalAlone(client, script, key, args, onReply, recover, batcher);
    }
    const onReply = (reply: unknown): R => {
      batcher?.answered();
      const step = stepFrom((reply as string[])[0] as string);
      return map(this.remember(key, request, mode, step));
    };
    const args = [
      modeArg(mode, deadline),
      now === undefined ? "" : String(now),
      `0,${requestArg(policy, request)}`,
    ];
    return this.evalAlone(client, scriptFor([policy[0]]), key, args, onReply, recover, batcher);
  }

  /**
   * EVALSHA within the backend's timeout and bound on pending calls, answered by `onReply`
   * (which also tells `batcher`), falling back to EVAL where the node lacks the script (a
   * restart, a failover).
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
      if (!isNoScript(error)) return recover(this.failure(error));
      batcher?.sent();
      return this.command<unknown, R>(
        () => client.eval(source, 1, key, ...args),
        onReply,
        (failure) => {
          batcher?.answered();
          return recover(this.failure(failure));
        },
      );
    };
    batcher?.sent();
    return this.command<unknown, R>(() => client.evalsha(sha, 1, key, ...args), onReply, onError);
  }

  override decideAll(requests: readonly DecisionRequest[], mode: DecisionMode): Promise<Step[]> {
    const policies = requests.map((request) => strategyArgs(request.strategy));
    // One script needs one slot on a cluster: one identity. Otherwise, locks decide.
    const oneSlot = new Set(requests.map((r) => r.identity)).size === 1;
    if (policies.some((p) => p === undefined) || (!oneSlot && this.isCluster())) {
      return super.decideAll(requests, mode) as Promise<Step[]>;
    }
    const deadline = this.serverClock.deadline(this.timeoutMs);
    const known = policies as Policy[];
    const keys = requests.map((r) => this.key(stateKey(r.uid, r.identity)));
    const args = requests.map((request, i) => requestArg(known[i] as Policy, request));
    return this.runDecide(
      keys,
      known.map(([code]) => code),
      args,
      mode,
      deadline,
    ).then((steps) => [...steps]);
  }

  private localNow(): number {
    return this.clock?.() ?? performance.now();
  }

  /** Decides one entry (a request or a group): batched with its neighbours on a single node. */
  private runDecide(
    keys: readonly string[],
    codes: readonly string[],
    args: readonly string[],
    mode: DecisionMode,
    deadline: number,
  ): Promise<readonly Step[]> {
    // Whether the client is a cluster decides how to send: know it first.
    if (this.client === undefined) {
      return this.connected().then(() => this.runDecide(keys, codes, args, mode, deadline));
    }
    const entry = { keys, args, codes, deadline };
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
    if (!this.isReady()) return this.connected().then(() => this.send(mode, entries));
    const keys: string[] = [];
    const codes: string[] = [];
    const args = [modeArg(mode, earliestDeadline(entries)), this.clockArg()];
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
    if (!this.isReady()) return this.connected().then(() => this.sendFixedWindows(mode, entries));
    const keys: string[] = [];
    const args = [modeArg(mode, earliestDeadline(entries)), this.clockArg()];
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

/**
 * The mode argument of the decision scripts: "p" to peek, else "c:" and the call's deadline
 * on the server's clock, past which the script writes nothing.
 */
function modeArg(mode: DecisionMode, deadline: number): string {
  return mode === "consume" ? `c:${deadline}` : "p";
}

/** A batch's deadline: its earliest entry's, so no entry is written for after it was given up. */
function earliestDeadline(entries: readonly { readonly deadline: number }[]): number {
  let earliest = Number.POSITIVE_INFINITY;
  for (const { deadline } of entries) if (deadline < earliest) earliest = deadline;
  return earliest;
}
