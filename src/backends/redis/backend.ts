import type { Step, StrategyState } from "../../strategies/strategy.js";
import { encodeState } from "../state-codec.js";
import type { DecisionMode, DecisionRequest } from "../types.js";
import { adjustByCompareAndSet, type KeyScript } from "./adjust.js";
import { DecisionBatcher } from "./batcher.js";
import { BlockCache } from "./block-cache.js";
import type { ClientLink } from "./client-link.js";
import { type DecideEntry, decisionCall } from "./decision-call.js";
import { stateKey } from "./keys.js";
import { RESTORE_STATE_LUA } from "./lua/restore.js";
import { mirrorOf, type Policy, requestArg } from "./mirrors.js";
import type { RedisBackendOptions } from "./options.js";
import { blockedStep, type DecisionReply, stepFrom, toSteps } from "./replies.js";
import { script } from "./script.js";
import { RedisStore } from "./store.js";

export type { NodeRedisClient, RedisClient } from "./client-link.js";
export type { RedisBackendOptions } from "./options.js";

const RESTORE_STATE = script(RESTORE_STATE_LUA);

/**
 * Keeps counters in Redis (a single node or a Redis Cluster) through ioredis. Every decision,
 * for every built-in strategy and for a group of throttles, is one `EVALSHA` of one decision
 * script that mirrors the strategies exactly on the server's clock, so any number of processes
 * admit exactly what one would. Other strategies (custom ones, subclasses) are decided by their
 * own `apply` under a lock.
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
  private watched: ClientLink | undefined;
  private stopWatching: (() => void) | undefined;
  private readonly forgetBlocks = (): void => this.blocks?.clear();

  /**
   * @throws {ConfigurationError} for a malformed connection URL or an unknown option.
   * @throws {BackendConfigurationError} for a client that is neither an ioredis nor a node-redis one.
   */
  constructor(options: RedisBackendOptions) {
    super(options);
    this.blocks = options.blockCache === false ? undefined : new BlockCache();
  }

  /**
   * Connects (see `RedisLink.initialize`); from then on, every reconnection forgets the
   * clients blocked in-process: the server may have restarted empty, or a replica that lags
   * may have taken over, and Redis, not a memory of it, says who is blocked.
   */
  override async initialize(): Promise<void> {
    await super.initialize();
    const link = this.link;
    if (this.blocks !== undefined && link !== undefined && link !== this.watched) {
      this.stopWatching?.();
      this.watched = link;
      this.stopWatching = link.onReady(this.forgetBlocks);
    }
  }

  protected override async shutdown(): Promise<void> {
    this.stopWatching?.();
    this.stopWatching = undefined;
    this.watched = undefined;
    this.blocks?.clear();
    await super.shutdown();
  }

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
    return this.withinTimeout(this.script(RESTORE_STATE, [key], args), () => undefined);
  }

  /**
   * A penalty or reward: by compare-and-set for a strategy with a Lua mirror (see `adjust.ts`),
   * under the client's lock for others, as their decisions are. This process then forgets the
   * client's block: a reward may have shortened its wait.
   */
  override adjustState(request: DecisionRequest, points: number): Promise<Step> {
    if (mirrorOf(request.strategy) === undefined) return super.adjustState(request, points);
    const key = this.key(stateKey(request.uid, request.identity));
    const run: KeyScript = (code, args) => this.script(code, [key], args);
    return this.withinTimeout(
      adjustByCompareAndSet(run, this.clockArg(), request, points),
      (step) => {
        this.blocks?.forget(key);
        return step;
      },
    );
  }

  override decide(request: DecisionRequest, mode: DecisionMode): Step | Promise<Step> {
    return this.decideThen(request, mode, sameStep, rethrow);
  }

  /**
   * One decision, within the backend's timeout. A lone one (nothing in flight to gather it
   * with) is one script call whose reply is shaped by `map` in the turn it arrives; others are
   * batched with their neighbours. A client known to be throttled is answered at once. A
   * strategy without a Lua mirror is decided by its own `apply` under a lock.
   */
  override decideThen<R>(
    request: DecisionRequest,
    mode: DecisionMode,
    map: (step: Step) => R,
    recover: (error: unknown) => R | Promise<R>,
  ): R | Promise<R> {
    const policy = mirrorOf(request.strategy);
    if (policy === undefined) {
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
    const entry: DecideEntry = {
      keys: [key],
      codes: [policy[0]],
      args: [requestArg(policy, request)],
      deadline,
    };
    const link = this.link;
    if (link !== undefined && this.ready() === undefined) {
      // A cluster script may only touch one slot, so there each entry goes alone.
      if (link.isCluster) return this.sendAlone(link, entry, request, mode, map, recover);
      if (this.batcher.idle()) {
        return this.sendAlone(link, entry, request, mode, map, recover, this.batcher);
      }
    }
    return this.withinTimeout(
      this.runDecide(entry, mode),
      (steps) => map(this.remember(key, request, mode, steps[0] as Step)),
      recover,
    );
  }

  override decideAll(requests: readonly DecisionRequest[], mode: DecisionMode): Promise<Step[]> {
    const policies = requests.map((request) => mirrorOf(request.strategy));
    // One script needs one slot on a cluster: one identity. Otherwise, locks decide.
    const oneSlot = new Set(requests.map((r) => r.identity)).size === 1;
    if (policies.some((p) => p === undefined) || (!oneSlot && this.isCluster())) {
      return super.decideAll(requests, mode) as Promise<Step[]>;
    }
    const known = policies as Policy[];
    const entry: DecideEntry = {
      keys: requests.map((r) => this.key(stateKey(r.uid, r.identity))),
      codes: known.map(([code]) => code),
      args: requests.map((request, i) => requestArg(known[i] as Policy, request)),
      deadline: this.serverClock.deadline(this.timeoutMs),
    };
    return this.runDecide(entry, mode).then((steps) => [...steps]);
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
   * The decision script for one request, as a batch of one, sent at once: EVALSHA within the
   * backend's timeout and bound on pending calls, its reply shaped by `map` in the turn it
   * arrives, falling back to EVAL where the node lacks the script (a restart, a failover).
   * `batcher` counts the call as in flight, so decisions made meanwhile gather into a batch.
   */
  private sendAlone<R>(
    link: ClientLink,
    entry: DecideEntry,
    request: DecisionRequest,
    mode: DecisionMode,
    map: (step: Step) => R,
    recover: (error: unknown) => R | Promise<R>,
    batcher?: DecisionBatcher<DecideEntry>,
  ): Promise<R> {
    const key = entry.keys[0] as string;
    const { script, args } = decisionCall(mode, this.clockArg(), [entry]);
    const onReply = (reply: unknown): R => {
      batcher?.answered();
      const step = stepFrom(reply as DecisionReply, 0);
      return map(this.remember(key, request, mode, step));
    };
    const onError = (error: unknown): R | Promise<R> => {
      batcher?.answered();
      if (!this.lacksCode(error, link)) return recover(this.failure(error));
      batcher?.sent();
      return this.command<unknown, R>(
        () => link.script("EVAL", script.source, [key], args),
        onReply,
        (failure) => {
          batcher?.answered();
          return recover(this.failure(failure));
        },
      );
    };
    batcher?.sent();
    return this.command<unknown, R>(
      () => this.firstTry(link, script, [key], args, true),
      onReply,
      onError,
    );
  }

  private localNow(): number {
    return this.clock?.() ?? performance.now();
  }

  /** Decides one entry (a request or a group): batched with its neighbours on a single node. */
  private runDecide(entry: DecideEntry, mode: DecisionMode): Promise<readonly Step[]> {
    // Whether the client is a cluster decides how to send: know it first.
    if (this.link === undefined) return this.connected().then(() => this.runDecide(entry, mode));
    if (this.link.isCluster) return this.send(mode, [entry]);
    return this.batcher.submit(mode, entry);
  }

  /** The clock argument of the decision script: a test clock's time, or "" for the server's. */
  private clockArg(): string {
    return this.clock === undefined ? "" : String(this.clock());
  }

  /** One decision script call for a batch of entries, each its own all-or-nothing group. */
  private readonly send = (
    mode: DecisionMode,
    entries: readonly DecideEntry[],
  ): Promise<Step[]> => {
    if (!this.isReady()) return this.connected().then(() => this.send(mode, entries));
    const { script, keys, args } = decisionCall(mode, this.clockArg(), entries);
    return this.script(script, keys, args, (reply) => toSteps(reply as DecisionReply), true);
  };

  private readonly batcher = new DecisionBatcher(this.send);
}

const sameStep = (step: Step): Step => step;

const rethrow = (error: unknown): never => {
  throw error;
};
