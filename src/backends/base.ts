import { AsyncLocalStorage } from "node:async_hooks";
import { BackendError, ConfigurationError } from "../errors.js";
import { Deadlines } from "../internal/deadlines.js";
import type { OptionNames } from "../internal/known-keys.js";
import type { Rate } from "../rate.js";
import type { Step, StrategyState } from "../strategies/strategy.js";
import { decodeState, encodeState, sameState } from "./state-codec.js";
import type { DecisionMode, DecisionRequest, Lock, LockOptions } from "./types.js";

/** Options every backend takes. */
export interface ThrottleBackendOptions {
  /** Prefix of every key this backend writes; letters, digits, `_`, `-` and `.`. */
  namespace: string;
  /** Keep the namespace's data on `close()`. @default false */
  persistent?: boolean;
  /** The longest a throttle waits for one backend call before `onError` decides. @default 1000 */
  timeoutMs?: number;
  /** Lifetime of the locks the default decision path takes, in ms. @default 5000 */
  lockTtlMs?: number;
  /**
   * The most commands this backend keeps waiting on its server at once. Beyond it a decision is
   * not sent: `onError` decides it at once, so a frozen server cannot make the process hold ever
   * more abandoned commands. @default 1000
   */
  maxPending?: number;
}

/** The names of {@link ThrottleBackendOptions}, for backends' check of unknown keys. @internal */
export const BACKEND_OPTION_NAMES: OptionNames<ThrottleBackendOptions> = {
  namespace: true,
  persistent: true,
  timeoutMs: true,
  lockTtlMs: true,
  maxPending: true,
};

const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;

/** Checks a namespace or throttle uid: it becomes part of storage keys, so it is kept plain. */
export function checkName(kind: string, name: unknown): string {
  if (typeof name !== "string" || !NAME_PATTERN.test(name)) {
    throw new ConfigurationError(
      `Invalid ${kind} ${JSON.stringify(name)}: use 1 to 128 letters, digits, "_", "-" or ".".`,
    );
  }
  return name;
}

const installed = new AsyncLocalStorage<ThrottleBackend>();
/** Where {@link ThrottleBackend.attachTo} puts a backend on a connection object. */
const ATTACHED = Symbol.for("traffik.backend");

/**
 * Storage for throttles. A custom backend implements the primitives (`get`, `set`, `delete`,
 * `increment`, `decrement`, `incrementWithTtl`, `lock`, `reset`) and inherits correct,
 * atomic decisions for every strategy through `lock` + read/modify/write. Backends with a
 * better atomic primitive (a script, a CAS loop, a single thread) override {@link decide} and
 * {@link decideAll}.
 *
 * Keys given to the primitives are relative; implementations prefix them with the namespace.
 * Times are milliseconds.
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
  /** See {@link ThrottleBackendOptions.lockTtlMs}. */
  protected readonly lockTtlMs: number;
  private pending = 0;
  private readonly owners = new Map<string, WeakRef<object>>();
  private deadlines: Deadlines | undefined;
  private initialization: Promise<void> | undefined;
  private initialized = false;
  // A true private field: a subclass may name a field of its own `closed`.
  #closed = false;

  constructor(options: ThrottleBackendOptions) {
    this.namespace = checkName("namespace", options.namespace);
    this.persistent = options.persistent ?? false;
    this.timeoutMs = options.timeoutMs ?? 1000;
    this.lockTtlMs = options.lockTtlMs ?? 5000;
    this.maxPending = options.maxPending ?? 1000;
    if (!(this.timeoutMs > 0) || !(this.lockTtlMs > 0)) {
      throw new ConfigurationError(
        "timeoutMs and lockTtlMs must be positive numbers of milliseconds.",
      );
    }
    if (!Number.isSafeInteger(this.maxPending) || this.maxPending < 1) {
      throw new ConfigurationError("maxPending must be a whole number of at least 1.");
    }
  }

  /** The value at `key`, or `null`. */
  abstract get(key: string): Promise<string | null>;
  /** Stores `value` at `key`, expiring after `ttlMs` when given. */
  abstract set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** Removes `key`. */
  abstract delete(key: string): Promise<void>;
  /** Adds `amount` to the integer at `key` (0 when missing) and returns the result, atomically. */
  abstract increment(key: string, amount?: number): Promise<number>;
  /** Subtracts `amount` from the integer at `key` (0 when missing), atomically. */
  abstract decrement(key: string, amount?: number): Promise<number>;
  /** Like {@link increment}; a key it creates expires after `ttlMs`. */
  abstract incrementWithTtl(key: string, amount: number, ttlMs: number): Promise<number>;
  /** Takes the named lock; it always expires (after `ttlMs`) so a crashed holder cannot keep it. */
  abstract lock(name: string, options?: LockOptions): Promise<Lock>;
  /** Removes everything in this backend's namespace. */
  abstract reset(): Promise<void>;

  /** Connects, loads scripts, checks the server. Called once before the first decision. */
  async initialize(): Promise<void> {}

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
    this.deadlines ??= new Deadlines(this.timeoutMs, `Backend "${this.namespace}"`);
    return this.deadlines.guard(call, map, recover);
  }

  /**
   * Sends one command to the server, within the deadline: what `send()` answers, shaped by `map`
   * and `recover` as {@link withinTimeout} does; a `BackendError` once `timeoutMs` have passed
   * waiting for the server (ERR_TRAFFIK_BACKEND_TIMEOUT); or one at once, without sending, while
   * `maxPending` commands already wait on the server (ERR_TRAFFIK_BACKEND_OVERLOADED). A command
   * counts as waiting until the client settles it (its answer, its own timeout, a dropped
   * connection), not merely until the deadline: that is what the process still holds. @internal
   */
  protected command<T, R = T>(
    send: () => Promise<T>,
    map?: (value: T) => R,
    recover?: (error: unknown) => R | Promise<R>,
  ): Promise<R> {
    return this.withinTimeout(this.counted(send), map, recover);
  }

  /**
   * `send()`, counted as waiting on the server until it settles; a `BackendError`
   * (ERR_TRAFFIK_BACKEND_OVERLOADED) without sending while `maxPending` already wait. For a
   * call whose deadline is applied further up; otherwise use {@link command}. @internal
   */
  protected counted<T>(send: () => Promise<T>): Promise<T> {
    if (this.pending >= this.maxPending) {
      return Promise.reject(
        new BackendError(
          `Backend "${this.namespace}" has ${this.maxPending} commands waiting on its server already.`,
          { code: "ERR_TRAFFIK_BACKEND_OVERLOADED" },
        ),
      );
    }
    let sent: Promise<T>;
    try {
      sent = send();
    } catch (error) {
      return Promise.reject(error);
    }
    this.pending++;
    sent.then(this.commandSettled, this.commandSettled);
    return sent;
  }

  /** How many commands wait on the server now (see {@link command}). @internal */
  get pendingCommands(): number {
    return this.pending;
  }

  private readonly commandSettled = (): void => {
    this.pending--;
  };

  /**
   * `undefined` once {@link initialize} has succeeded, else the promise of it (started once;
   * after a failure the next call tries again).
   */
  ready(): Promise<void> | undefined {
    if (this.initialized) return undefined;
    this.initialization ??= this.initialize().then(
      () => {
        this.initialized = true;
      },
      (error: unknown) => {
        this.initialization = undefined;
        throw error;
      },
    );
    return this.initialization;
  }

  /**
   * Releases resources; clears the namespace first unless `persistent`. Clearing has the
   * backend's deadline: a frozen server cannot hold a graceful shutdown. A closed backend is
   * never used again: a throttle that meets one throws a `ConfigurationError`.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.shutdown();
  }

  /** Whether {@link close} was called. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /**
   * What {@link close} does, once: clears the namespace unless `persistent`. Backends that hold
   * connections or timers override it to release them, and call `super.shutdown()`.
   */
  protected async shutdown(): Promise<void> {
    if (!this.persistent) await this.withinTimeout(this.reset());
  }

  /** The deciding clock, in ms. Wall time by default, so processes sharing a store agree. */
  now(): number {
    return Date.now();
  }

  /**
   * Decides one request atomically. May answer synchronously (the in-memory backend does).
   * In `"consume"` mode an admitted request's state is stored; rejections store nothing.
   */
  decide(request: DecisionRequest, mode: DecisionMode): Step | Promise<Step> {
    return this.decideWithLocks([request], mode).then((steps) => steps[0] as Step);
  }

  /**
   * Decides `request` and shapes the answer in the turn it arrives: `map(step)`, or
   * `recover(error)` when the backend fails or does not answer within `timeoutMs`. This is what
   * throttles call; a synchronous answer is mapped at once. A backend may override it to fuse
   * its own reply handling into the same step. @internal
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
   * Decides several requests (one per throttle, for one connection) all or nothing: the
   * admitted states are stored only if every request is admitted.
   */
  decideAll(requests: readonly DecisionRequest[], mode: DecisionMode): Step[] | Promise<Step[]> {
    return this.decideWithLocks(requests, mode);
  }

  /**
   * Puts `restored` back as the client's state in `request`'s throttle if its state is still
   * exactly `admitted`, atomically; otherwise leaves it. This gives back the place of a request
   * admitted with a delay whose client went away before its turn (`Strategy.release` makes
   * `restored`): only safe while no later request has queued behind it, hence the comparison.
   * The state expires with `restored[0]` (at once if that has passed). Has the backend's
   * deadline. This default takes the client's lock, as decisions on the default path do.
   */
  restoreState(
    request: DecisionRequest,
    admitted: StrategyState,
    restored: StrategyState,
  ): Promise<void> {
    const key = this.stateKey(request.uid, request.identity);
    return this.withinTimeout(this.restoreWithLock(key, admitted, restored));
  }

  /**
   * Forgets one client's state in one throttle. `rate` is the throttle's, for backends that
   * keep a fixed window's counter per window.
   */
  async clear(uid: string, identity: string, _rate?: Rate): Promise<void> {
    await this.withinTimeout(this.delete(this.stateKey(uid, identity)));
  }

  /** The relative key of a client's state: the identity comes last, after a plain uid. */
  protected stateKey(uid: string, identity: string): string {
    return `${uid}:${identity}`;
  }

  /**
   * Runs `fn` with this backend installed: throttles without a backend of their own use it for
   * everything `fn` does, sync or async (AsyncLocalStorage). Wrap a server's handler, or call
   * it from a middleware: `app.use((req, res, next) => backend.run(next))`.
   */
  run<T>(fn: () => T): T {
    return installed.run(this, fn);
  }

  /** The backend installed by the innermost {@link run} around the caller, if any. */
  static current(): ThrottleBackend | undefined {
    return installed.getStore();
  }

  /**
   * Installs this backend for one connection (a request object): throttles without a backend of
   * their own use it for that connection, unless a {@link run} around the call installs another.
   * Unlike `run`, this costs nothing per promise (on Node 20 an active AsyncLocalStorage slows
   * every promise in the process); the framework integrations use it.
   */
  attachTo(connection: object): void {
    // A symbol-keyed property, not a WeakMap: one per request is cheap to add, while WeakMap
    // entries for short-lived keys weigh on every garbage collection.
    (connection as { [ATTACHED]?: ThrottleBackend })[ATTACHED] = this;
  }

  /** The backend attached to `connection` by {@link attachTo}, if any. */
  static attachedTo(connection: unknown): ThrottleBackend | undefined {
    return typeof connection === "object" && connection !== null
      ? (connection as { [ATTACHED]?: ThrottleBackend })[ATTACHED]
      : undefined;
  }

  /**
   * Records that `owner` uses `uid` here.
   * @throws {ConfigurationError} when another live throttle already uses that uid on this backend.
   */
  claim(uid: string, owner: object): void {
    const existing = this.owners.get(uid)?.deref();
    if (existing === owner) return;
    if (existing !== undefined) {
      throw new ConfigurationError(
        `Two throttles use uid "${uid}" on backend "${this.namespace}"; they would share counters. Give each throttle its own uid.`,
      );
    }
    this.owners.set(uid, new WeakRef(owner));
  }

  /** Stores `state` at `key` until it expires (`state[0]`), or deletes it if it has. */
  private async storeState(key: string, state: StrategyState, now: number): Promise<void> {
    const ttlMs = Math.ceil((state[0] as number) - now);
    if (ttlMs > 0) await this.set(key, encodeState(state), ttlMs);
    else await this.delete(key);
  }

  private async restoreWithLock(
    key: string,
    admitted: StrategyState,
    restored: StrategyState,
  ): Promise<void> {
    const deadline = performance.now() + this.timeoutMs;
    const lock = await this.lock(`lock:${key}`, { ttlMs: this.lockTtlMs });
    try {
      if (!sameState(decodeState(await this.get(key)), admitted)) return;
      // Past the deadline the lock may have lapsed and another writer come: leave it be.
      if (performance.now() > deadline) return;
      await this.storeState(key, restored, this.now());
    } finally {
      await lock.release().catch(() => false);
    }
  }

  private async decideWithLocks(
    requests: readonly DecisionRequest[],
    mode: DecisionMode,
  ): Promise<Step[]> {
    const keys = requests.map((r) => this.stateKey(r.uid, r.identity));
    const deadline = performance.now() + this.timeoutMs;
    // Taken in sorted order, so two groups over the same keys cannot deadlock.
    const distinct = [...new Set(keys)].sort();
    const locks: Lock[] = [];
    try {
      for (const key of distinct) {
        locks.push(await this.lock(`lock:${key}`, { ttlMs: this.lockTtlMs }));
      }
      const states = new Map<string, StrategyState | undefined>();
      for (const key of distinct) states.set(key, decodeState(await this.get(key)));
      const now = this.now();
      const steps = requests.map((request, i) => {
        const key = keys[i] as string;
        const step = request.strategy.apply(states.get(key), now, request.cost, request.rate);
        if (step.allowed) states.set(key, step.state);
        return step;
      });
      if (mode === "consume" && steps.every((step) => step.allowed)) {
        // The caller stopped waiting at the deadline and `onError` answered: store nothing.
        if (performance.now() > deadline) {
          throw new BackendError(
            `Backend "${this.namespace}" did not decide within ${this.timeoutMs} ms.`,
            {
              code: "ERR_TRAFFIK_BACKEND_TIMEOUT",
            },
          );
        }
        for (const key of distinct) {
          const state = states.get(key);
          if (state !== undefined && state.length > 0) await this.storeState(key, state, now);
        }
      }
      return steps;
    } catch (error) {
      throw error instanceof BackendError
        ? error
        : new BackendError(`Backend "${this.namespace}" failed: ${String(error)}`, {
            cause: error,
          });
    } finally {
      for (const lock of locks.reverse()) await lock.release().catch(() => false);
    }
  }
}
