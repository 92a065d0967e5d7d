// Over 250 lines: the class is composed of small modules, and what remains is the contract's
// TSDoc, the reference for backend authors of what each required and optional member means.
import { publishBackendState } from "../events/publish.js";
import type { Logger } from "../events/types.js";
import type { Step, StrategyState } from "../strategies/strategy.js";
import { checkBackendOptions, type ThrottleBackendOptions } from "./backend-options.js";
import { CallLimits } from "./call-limits.js";
import { Installation } from "./installation.js";
import { LazyInitialization } from "./lazy-initialization.js";
import { adjustUnderLock } from "./locked-adjust.js";
import { decideUnderLocks, restoreUnderLock } from "./locked-decisions.js";
import type { DecisionMode, DecisionRequest, Lock, LockOptions } from "./types.js";
import { UidRegistry } from "./uid-registry.js";

export { BACKEND_OPTION_NAMES, checkName, type ThrottleBackendOptions } from "./backend-options.js";

const installation = new Installation<ThrottleBackend>();

/**
 * Storage for throttles. A store implements five methods: {@link get}, {@link set} (with an
 * expiry), {@link delete}, {@link lock} and {@link reset}; it then decides every strategy
 * correctly and atomically, all-or-nothing groups and peeks included, by taking each client's
 * lock and reading, deciding and writing its state.
 *
 * Everything else is optional, a capability a store declares by overriding it:
 * - {@link decide} and {@link decideAll}: a store with an atomic primitive of its own (a
 *   script, compare-and-swap, a single thread) decides without locks, in one round trip;
 * - {@link restoreState}: gives back an abandoned request's place without a lock;
 * - {@link adjustState}: a penalty or reward without a lock;
 * - {@link clear}: forgets a client where its state is not a single key;
 * - {@link initialize} and {@link shutdown}: connect lazily, release connections on close;
 * - {@link now}: decide on another clock than this process's wall time.
 *
 * The class composes what every backend shares, each in a module of its own: deadlines and
 * the bound on pending commands (`call-limits.ts`), lazy initialisation
 * (`lazy-initialization.ts`), the uid registry (`uid-registry.ts`), and finding the backend
 * for a call (`installation.ts`). Keys given to the primitives are relative; implementations
 * prefix them with the namespace. Times are milliseconds.
 */
export abstract class ThrottleBackend {
  /** See {@link ThrottleBackendOptions.namespace}. */
  readonly namespace: string;
  /** See {@link ThrottleBackendOptions.persistent}. */
  readonly persistent: boolean;
  /** See {@link ThrottleBackendOptions.timeoutMs}. */
  readonly timeoutMs: number;
  /** See {@link ThrottleBackendOptions.maxPending}. */
  readonly maxPending: number;
  /** See {@link ThrottleBackendOptions.logger}. */
  readonly logger: Logger | undefined;
  /** See {@link ThrottleBackendOptions.lockTtlMs}. */
  protected readonly lockTtlMs: number;
  private readonly calls: CallLimits;
  private readonly initialization: LazyInitialization;
  private readonly uids: UidRegistry;
  // A true private field: a subclass may name a field of its own `closed`.
  #closed = false;

  constructor(options: ThrottleBackendOptions) {
    const checked = checkBackendOptions(options);
    this.namespace = checked.namespace;
    this.persistent = checked.persistent;
    this.timeoutMs = checked.timeoutMs;
    this.lockTtlMs = checked.lockTtlMs;
    this.maxPending = checked.maxPending;
    this.logger = checked.logger;
    this.calls = new CallLimits(this.timeoutMs, this.maxPending, `Backend "${this.namespace}"`);
    this.initialization = new LazyInitialization(async () => {
      await this.initialize();
      publishBackendState({ backend: this.namespace, state: "ready" });
    });
    this.uids = new UidRegistry(this.namespace);
  }

  /** Required: the value at `key`, or `null`. */
  abstract get(key: string): Promise<string | null>;
  /** Required: stores `value` at `key`, expiring after `ttlMs` when given. */
  abstract set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** Required: removes `key`; a missing key is no error. */
  abstract delete(key: string): Promise<void>;
  /**
   * Required: takes the named lock; it always expires (after `ttlMs`) so a crashed holder
   * cannot keep it. `pollForLock` (`traffik/backend`) builds one on "take it if free".
   */
  abstract lock(name: string, options?: LockOptions): Promise<Lock>;
  /** Required: removes everything in this backend's namespace. */
  abstract reset(): Promise<void>;

  /**
   * Optional: connects, loads scripts, checks the server. Called once, before the first
   * decision ({@link ready}); a failure is retried by the next call.
   */
  async initialize(): Promise<void> {}

  /** Optional: the deciding clock, in ms. Wall time by default, so processes sharing a store agree. */
  now(): number {
    return Date.now();
  }

  /**
   * Optional: decides one request atomically; an override buys decisions without locks (and
   * may answer synchronously, as the in-memory backend does). In `"consume"` mode an admitted
   * request's state is stored; rejections store nothing. By default: the client's lock, then
   * read, decide, write.
   */
  decide(request: DecisionRequest, mode: DecisionMode): Step | Promise<Step> {
    return this.decideWithLocks([request], mode).then((steps) => steps[0] as Step);
  }

  /**
   * Optional: decides several requests (one per throttle, for one connection) all or nothing:
   * the admitted states are stored only if every request is admitted (see `stageGroup`). An
   * override buys groups without locks. By default: every key's lock, in sorted order.
   */
  decideAll(requests: readonly DecisionRequest[], mode: DecisionMode): Step[] | Promise<Step[]> {
    return this.decideWithLocks(requests, mode);
  }

  /**
   * Optional: puts `restored` back as the client's state in `request`'s throttle if its state
   * is still exactly `admitted`, atomically; otherwise leaves it. This gives back the place of
   * a request admitted with a delay whose client went away before its turn (`Strategy.release`
   * makes `restored`): only safe while no later request has queued behind it, hence the
   * comparison. The state expires with `restored[0]` (at once if that has passed). Has the
   * backend's deadline. By default it takes the client's lock; an override buys a compare and
   * set without one.
   */
  restoreState(
    request: DecisionRequest,
    admitted: StrategyState,
    restored: StrategyState,
  ): Promise<void> {
    const key = this.stateKey(request.uid, request.identity);
    return this.withinTimeout(restoreUnderLock(this, this.lockTtlMs, key, admitted, restored));
  }

  /**
   * Optional: takes `points` from the client of `request` (a penalty, `points > 0`) or gives
   * them back (a reward, `points < 0`) atomically, through `Strategy.adjust` on the deciding
   * clock, and resolves to a peek of `request.cost` on the new state. A rare operation: by
   * default under the client's lock (read, adjust, write); an override uses the store's own
   * atomic primitive so it excludes the decisions it makes without locks. Has the backend's
   * deadline; a call that fails may or may not have been applied.
   * @throws {ConfigurationError} when the strategy has no `adjust`.
   */
  adjustState(request: DecisionRequest, points: number): Promise<Step> {
    const key = this.stateKey(request.uid, request.identity);
    return this.withinTimeout(adjustUnderLock(this, this.lockTtlMs, key, request, points));
  }

  /** Optional: forgets one client's state in one throttle; by default deletes its key. */
  async clear(uid: string, identity: string): Promise<void> {
    await this.withinTimeout(this.delete(this.stateKey(uid, identity)));
  }

  /**
   * Decides `request` and shapes the answer in the turn it arrives: `map(step)`, or
   * `recover(error)` when the backend fails or does not answer within `timeoutMs`. This is what
   * throttles call: it calls {@link decide}, never the other way round, and maps a synchronous
   * answer at once. A backend may override it to fuse its own reply handling into the same
   * step. @internal
   */
  decideThen<R>(
    request: DecisionRequest,
    mode: DecisionMode,
    map: (step: Step) => R,
    recover: (error: unknown) => R | Promise<R>,
  ): R | Promise<R> {
    let step: Step | Promise<Step>;
    try {
      step = this.decide(request, mode);
    } catch (error) {
      return recover(error);
    }
    return step instanceof Promise ? this.withinTimeout(step, map, recover) : map(step);
  }

  /**
   * `call`, or a `BackendError` (code ERR_TRAFFIK_BACKEND_TIMEOUT) once `timeoutMs` have passed:
   * throttles never wait on a backend longer than that. `map` and `recover` shape the outcome
   * as `.then(map, recover)` would. @internal
   */
  withinTimeout<T, R = T>(
    call: Promise<T>,
    map?: (value: T) => R,
    recover?: (error: unknown) => R | Promise<R>,
  ): Promise<R> {
    return this.calls.withinTimeout(call, map, recover);
  }

  /**
   * Sends one command to the server, within the deadline: what `send()` answers, shaped by `map`
   * and `recover` as {@link withinTimeout} does; a `BackendError` once `timeoutMs` have passed
   * waiting for the server (ERR_TRAFFIK_BACKEND_TIMEOUT); or one at once, without sending, while
   * `maxPending` commands already wait on the server (ERR_TRAFFIK_BACKEND_OVERLOADED). @internal
   */
  protected command<T, R = T>(
    send: () => Promise<T>,
    map?: (value: T) => R,
    recover?: (error: unknown) => R | Promise<R>,
  ): Promise<R> {
    return this.calls.withinTimeout(this.calls.counted(send), map, recover);
  }

  /**
   * `send()`, counted as waiting on the server until it settles; a `BackendError`
   * (ERR_TRAFFIK_BACKEND_OVERLOADED) without sending while `maxPending` already wait. For a
   * call whose deadline is applied further up; otherwise use {@link command}. @internal
   */
  protected counted<T>(send: () => Promise<T>): Promise<T> {
    return this.calls.counted(send);
  }

  /** How many commands wait on the server now (see {@link command}). @internal */
  get pendingCommands(): number {
    return this.calls.pendingCommands;
  }

  /**
   * `undefined` once {@link initialize} has succeeded, else the promise of it (started once;
   * after a failure the next call tries again).
   */
  ready(): Promise<void> | undefined {
    return this.initialization.ready();
  }

  /** {@link ready} within the backend's deadline, as a decision waits for it. @internal */
  readyForDecisions(): Promise<void> | undefined {
    const initializing = this.ready();
    return initializing && this.withinTimeout(initializing);
  }

  /**
   * What an app's startup awaits (Fastify's `onReady`, NestJS's module init): {@link ready},
   * bounded by its own steps' deadlines, since a slow but sound start is no failure. @internal
   */
  readyToServe(): Promise<void> | undefined {
    return this.ready();
  }

  /**
   * Releases resources; clears the namespace first unless `persistent`. Clearing has the
   * backend's deadline: a frozen server cannot hold a graceful shutdown. A closed backend is
   * never used again: a throttle that meets one throws a `ConfigurationError`.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.shutdown();
    } finally {
      this.calls.idle();
      publishBackendState({ backend: this.namespace, state: "closed" });
    }
  }

  /** Whether {@link close} was called. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /**
   * Optional: what {@link close} does, once: clears the namespace unless `persistent`. Backends
   * that hold connections or timers override it to release them, and call `super.shutdown()`.
   */
  protected async shutdown(): Promise<void> {
    if (!this.persistent) await this.withinTimeout(this.reset());
  }

  /** The relative key of a client's state: the identity comes last, after a plain uid. */
  protected stateKey(uid: string, identity: string): string {
    return `${uid}:${identity}`;
  }

  /**
   * Records that `owner` uses `uid` here.
   * @throws {ConfigurationError} when another live throttle already uses that uid on this backend.
   */
  claim(uid: string, owner: object): void {
    this.uids.claim(uid, owner);
  }

  /**
   * Runs `fn` with this backend installed: throttles without a backend of their own use it for
   * everything `fn` does, sync or async (AsyncLocalStorage). Wrap a server's handler, or call
   * it from a middleware: `app.use((req, res, next) => backend.run(next))`.
   */
  run<T>(fn: () => T): T {
    return installation.run(this, fn);
  }

  /** The backend installed by the innermost {@link run} around the caller, if any. */
  static current(): ThrottleBackend | undefined {
    return installation.current();
  }

  /**
   * Installs this backend for one connection (a request object): throttles without a backend of
   * their own use it for that connection, unless a {@link run} around the call installs another.
   * Unlike `run`, this costs nothing per promise (on Node 20 an active AsyncLocalStorage slows
   * every promise in the process); the framework integrations use it.
   */
  attachTo(connection: object): void {
    installation.attach(connection, this);
  }

  /** The backend attached to `connection` by {@link attachTo}, if any. */
  static attachedTo(connection: unknown): ThrottleBackend | undefined {
    return installation.attachedTo(connection);
  }

  /** The lock path, for {@link decide} and {@link decideAll} and subclasses' fallbacks. */
  private decideWithLocks(
    requests: readonly DecisionRequest[],
    mode: DecisionMode,
  ): Promise<Step[]> {
    const keys = requests.map((r) => this.stateKey(r.uid, r.identity));
    return decideUnderLocks(this, this.lockTtlMs, keys, requests, mode);
  }
}
