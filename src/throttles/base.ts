import { checkName, ThrottleBackend } from "../backends/base.js";
import type { DegradedStep } from "../backends/degraded/backend.js";
import { decidingBackend } from "../backends/degraded/deciding.js";
import type { DecisionMode, DecisionRequest } from "../backends/types.js";
import {
  AnonymousConnection,
  BackendError,
  ConfigurationError,
  ConnectionThrottled,
  InvalidCost,
  TraffikError,
} from "../errors.js";
import { defaultClientAddress, type IdentifiableConnection } from "../identity/client-address.js";
import { safeIdentity } from "../identity/safe-identity.js";
import { rejectUnknownOptions } from "../internal/known-keys.js";
import { Rate } from "../rate.js";
import { FixedWindowStrategy } from "../strategies/fixed-window.js";
import type { Step, Strategy } from "../strategies/strategy.js";
import { MAX_UNIT_MS } from "../strategies/whole-numbers.js";
import { UNLIMITED, type Unlimited } from "../unlimited.js";
import type { Decision } from "./decision.js";
import { placesToGiveBack } from "./give-back.js";
import {
  type ErrorAction,
  type ErrorHandler,
  type HitOptions,
  type Identifier,
  THROTTLE_OPTION_NAMES,
  type ThrottledHandler,
  type ThrottleOptions,
} from "./options.js";
import { type Departure, signalDeparture, waitForTurn } from "./turn.js";

/** A request ready for a backend, with the backend that decides it. @internal */
export interface PreparedRequest extends DecisionRequest {
  readonly backend: ThrottleBackend;
}

function identifyByAddress(connection: unknown): string {
  const address = defaultClientAddress(connection as IdentifiableConnection);
  if (address === undefined) throw new AnonymousConnection();
  return address;
}

const FAILED_BACKEND_WAIT_MS = 1000;
/** How long a backend must answer with no failure before an outage counts as over. */
const OUTAGE_QUIET_MS = 5000;

/**
 * A throttle: identifies the client of a connection, asks the backend for a decision under its
 * strategy and rate, and turns a rejection into `handleThrottled` (by default a thrown
 * `ConnectionThrottled`). Subclass it for a new kind of connection; use {@link HTTPThrottle} or
 * {@link WebSocketThrottle} otherwise. Unknown option keys are a `ConfigurationError`, so a
 * subclass with options of its own passes on only these.
 */
export abstract class BaseThrottle<C = unknown> {
  /** Names the throttle and its key space; unique per backend. */
  readonly uid: string;
  /** The rate, parsed. */
  readonly rate: Rate;
  /** How the rate is counted (by default a fixed window). */
  readonly strategy: Strategy;
  /** The largest cost the strategy can admit at this rate. */
  readonly capacity: number;
  /** The shortest wait told to a throttled client, in ms. */
  readonly minWaitPeriod: number;
  /** Extra headers for the throttled response. */
  readonly headers: Readonly<Record<string, string>>;
  /** Whether a backend installed for the call wins over the throttle's own. */
  readonly dynamicBackend: boolean;
  /** Turns a connection into the client's identity, or `UNLIMITED` to exempt it. */
  protected readonly identifier: Identifier<C>;
  /** Called when a client is throttled; by default it throws `ConnectionThrottled`. */
  protected readonly handleThrottled: ThrottledHandler<C>;
  private readonly cost: number | ((connection: C) => number | Promise<number>);
  private readonly onError: ErrorAction | ErrorHandler<C>;
  private readonly backend: ThrottleBackend | undefined;
  /** The decision for an exempt (`UNLIMITED`) connection. @internal */
  readonly exempt: Decision;
  private inOutage = false;
  /** When `onError` last decided for this throttle (wall ms), while in an outage. */
  private lastFailureAt = 0;
  /**
   * The backend this throttle last met, on which it has claimed its uid, and what decides
   * there (itself, or itself in degraded mode): most calls meet the same one again.
   */
  private lastBackend: ThrottleBackend | undefined;
  private lastDeciding: ThrottleBackend | undefined;

  constructor(options: ThrottleOptions<C>) {
    rejectUnknownOptions(new.target.name, options, THROTTLE_OPTION_NAMES);
    this.uid = checkName("throttle uid", options.uid);
    this.rate = Rate.from(options.rate);
    this.strategy = options.strategy ?? new FixedWindowStrategy();
    this.capacity = this.strategy.capacity(this.rate);
    if (this.capacity * this.rate.windowMs > MAX_UNIT_MS) {
      throw new ConfigurationError(
        `Throttle "${this.uid}": ${this.strategy.name} at ${this.rate} holds ${this.capacity} units over ${this.rate.windowMs} ms; capacity × window must stay below 2^52 for exact arithmetic (about 52 million a day). Use a coarser unit of cost or a shorter window.`,
      );
    }
    this.minWaitPeriod = options.minWaitPeriod ?? 0;
    if (!(this.minWaitPeriod >= 0) || !Number.isFinite(this.minWaitPeriod)) {
      throw new ConfigurationError(
        `Throttle "${this.uid}": minWaitPeriod must be a finite number of ms, at least 0.`,
      );
    }
    this.headers = Object.freeze({ ...options.headers });
    this.dynamicBackend = options.dynamicBackend ?? false;
    this.identifier = options.identifier ?? identifyByAddress;
    this.handleThrottled = options.handleThrottled ?? this.defaultHandleThrottled;
    this.cost = options.cost ?? 1;
    if (typeof this.cost === "number") this.checkCost(this.cost);
    this.onError = options.onError ?? "throttle";
    if (options.backend !== undefined) {
      this.backend = options.backend;
      this.meet(options.backend);
    }
    this.exempt = Object.freeze({
      allowed: true,
      uid: this.uid,
      rate: this.rate,
      limit: this.capacity,
      remaining: this.capacity,
      retryAfterMs: 0,
      resetAfterMs: 0,
      delayMs: 0,
      source: "exempt",
    });
  }

  /**
   * Counts the connection's request. Resolves to the decision when admitted (after any
   * queueing delay); when throttled, calls `handleThrottled`, which by default throws
   * `ConnectionThrottled`. Traffik for Python's `await throttle(request)`.
   */
  hit(connection: C, options?: HitOptions): Promise<Decision> {
    // Not an async function, and the decision is finished in the step that makes it: on the
    // hot path, each promise more cost more than the rest of `hit`.
    const finish = (decision: Decision) =>
      decision.allowed ? decision : this.throttledHit(connection, decision);
    try {
      const departure = signalDeparture(options?.signal);
      return Promise.resolve(
        this.decideFor(connection, options?.cost, "consume", departure, finish),
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private async throttledHit(connection: C, decision: Decision): Promise<Decision> {
    // Throw a turn later, once the caller awaits this promise: a promise rejected before it
    // has a handler costs Node's unhandled-rejection bookkeeping, which dominated a flood.
    await undefined;
    await this.handleThrottled(connection, decision.retryAfterMs, this, decision);
    return decision;
  }

  /** Like {@link hit}, but a throttled request resolves to its decision instead of throwing. */
  async tryHit(connection: C, options?: HitOptions): Promise<Decision> {
    return this.decideFor(connection, options?.cost, "consume", signalDeparture(options?.signal));
  }

  /**
   * Counts the request like {@link tryHit}, but answers synchronously when the backend can (the
   * in-memory one always does) and the request need not wait for its turn. The wait rejects
   * with the departure's reason if the client goes first. @internal
   */
  decideNow(connection: C, departure?: Departure, cost?: number): Decision | Promise<Decision> {
    return this.decideFor(connection, cost, "consume", departure);
  }

  /** The decision a request would get now, without counting it. */
  async peek(connection: C, options?: Pick<HitOptions, "cost">): Promise<Decision> {
    return this.decideFor(connection, options?.cost, "peek", undefined);
  }

  /** Forgets the connection's client in this throttle: its full quota is back. */
  async reset(connection: C): Promise<void> {
    const prepared = await this.prepare(connection, 0);
    if (prepared !== UNLIMITED) {
      await prepared.backend.clear(this.uid, prepared.identity, this.rate);
    }
  }

  /**
   * The backend this throttle uses for this call: its own (unless `dynamicBackend` and one is
   * installed), else the one installed by `backend.run()` around the call, else the one
   * attached to the connection (`backend.attachTo(request)`, as the framework integrations do).
   * Looked up at every call, so a throttle made once follows each app that uses it.
   * @throws {ConfigurationError} when there is none, or it is closed.
   */
  resolveBackend(connection?: C): ThrottleBackend {
    let backend = this.backend;
    if (backend === undefined || this.dynamicBackend) {
      backend = ThrottleBackend.current() ?? ThrottleBackend.attachedTo(connection) ?? backend;
      if (backend === undefined) {
        throw new ConfigurationError(
          `Throttle "${this.uid}" has no backend: pass \`backend\` to it, run the app inside \`backend.run(...)\`, or install it with a framework's ThrottleMiddleware.`,
        );
      }
    }
    if (backend.isClosed) {
      throw new ConfigurationError(
        `Throttle "${this.uid}": backend "${backend.namespace}" is closed; a closed backend is never used again. Give the throttle (or the app) a backend that is open.`,
      );
    }
    this.meet(backend);
    return backend;
  }

  /** Claims this throttle's uid on `backend`, once for as long as it is the one met. */
  private meet(backend: ThrottleBackend): void {
    if (backend === this.lastBackend) return;
    backend.claim(this.uid, this);
    this.lastBackend = backend;
    this.lastDeciding = decidingBackend(backend);
  }

  /** Identifies the connection and checks the cost: the request for a backend. @internal */
  prepare(
    connection: C,
    cost: number | undefined,
  ): PreparedRequest | Unlimited | Promise<PreparedRequest | Unlimited> {
    const backend = this.resolveBackend(connection);
    const initializing = backend.ready();
    const ready = initializing && backend.withinTimeout(initializing);
    const identity = this.identifier(connection);
    const units = cost ?? (typeof this.cost === "number" ? this.cost : this.cost(connection));
    if (ready === undefined && !(identity instanceof Promise) && !(units instanceof Promise)) {
      return this.prepared(backend, identity, units);
    }
    return Promise.all([identity, units, ready]).then(([id, n]) =>
      this.prepared(backend, id as string | Unlimited, n),
    );
  }

  /** The decision for a backend's answer. @internal */
  toDecision(step: Step): Decision {
    // An outage ends once the backend has answered for a while with no failure between: a
    // partial one (a Cluster master down, the others up) is one outage, warned about once.
    if (this.inOutage && Date.now() - this.lastFailureAt > OUTAGE_QUIET_MS) this.inOutage = false;
    const allowed = step.allowed;
    if (!allowed && !Number.isFinite(step.retryAfterMs)) {
      // Only a strategy whose capacity() understates what it rejects gets here.
      throw new InvalidCost(
        `Throttle "${this.uid}": ${this.strategy.name} can never admit this request.`,
        undefined,
        this.capacity,
      );
    }
    return {
      allowed,
      uid: this.uid,
      rate: this.rate,
      limit: this.capacity,
      remaining: step.remaining,
      retryAfterMs: allowed ? 0 : Math.max(1, Math.ceil(step.retryAfterMs), this.minWaitPeriod),
      resetAfterMs: Math.ceil(step.resetAfterMs),
      delayMs: Math.ceil(step.delayMs),
      source: (step as Partial<DegradedStep>).degraded === true ? "degraded" : "backend",
    };
  }

  /** Applies `onError` to a backend failure. @internal */
  async decideOnError(error: unknown, connection: C): Promise<Decision> {
    if (error instanceof TraffikError && !(error instanceof BackendError)) throw error;
    const failure =
      error instanceof BackendError
        ? error
        : new BackendError(`Backend failed: ${String(error)}`, { cause: error });
    const action =
      typeof this.onError === "function"
        ? await this.onError(failure, { connection, throttle: this })
        : this.onError;
    if (action === "raise") throw failure;
    const allowed = action !== "throttle";
    if (allowed) this.lastFailureAt = Date.now();
    if (allowed && !this.inOutage) {
      this.inOutage = true;
      process.emitWarning(
        `Throttle "${this.uid}" admits requests while its backend fails: ${failure.message}`,
        {
          code: "TRAFFIK_BACKEND_OUTAGE",
        },
      );
    }
    return {
      ...this.exempt,
      allowed,
      remaining: allowed ? this.capacity : 0,
      retryAfterMs: allowed ? 0 : Math.max(this.minWaitPeriod, FAILED_BACKEND_WAIT_MS),
      source: "error",
    };
  }

  /** Runs `handleThrottled` for a rejected decision. @internal */
  async rejectWith(connection: C, decision: Decision): Promise<void> {
    await this.handleThrottled(connection, decision.retryAfterMs, this, decision);
  }

  /** Builds what the default handler throws; subclasses may word it for their connections. */
  protected throttledError(waitMs: number): ConnectionThrottled {
    return new ConnectionThrottled({ waitMs, headers: this.headers });
  }

  private readonly defaultHandleThrottled: ThrottledHandler<C> = (_connection, waitMs) => {
    throw this.throttledError(waitMs);
  };

  /**
   * The decision for the connection, passed through `finish` (when given) as it is made. A
   * request admitted with a queueing delay is decided once its turn comes.
   */
  private decideFor(
    connection: C,
    cost: number | undefined,
    mode: DecisionMode,
    departure: Departure | undefined,
    finish?: (decision: Decision) => Decision | Promise<Decision>,
  ): Decision | Promise<Decision> {
    const prepared = this.prepare(connection, cost);
    if (prepared instanceof Promise) {
      return prepared.then(
        (ready) => this.decidePrepared(ready, mode, connection, departure, finish),
        (error: unknown) => {
          if (!(error instanceof BackendError)) throw error;
          const decided = this.decideOnError(error, connection);
          return finish === undefined ? decided : decided.then(finish);
        },
      );
    }
    return this.decidePrepared(prepared, mode, connection, departure, finish);
  }

  private decidePrepared(
    prepared: PreparedRequest | Unlimited,
    mode: DecisionMode,
    connection: C,
    departure: Departure | undefined,
    finish?: (decision: Decision) => Decision | Promise<Decision>,
  ): Decision | Promise<Decision> {
    if (prepared === UNLIMITED) return finish === undefined ? this.exempt : finish(this.exempt);
    const map =
      mode === "peek" && finish === undefined
        ? this.decisionOf
        : (step: Step) => {
            const decision = this.toDecision(step);
            if (mode === "consume" && decision.allowed && decision.delayMs > 0) {
              const giveBack =
                departure && placesToGiveBack(prepared.backend, [{ request: prepared, step }]);
              const started = waitForTurn(decision, decision.delayMs, departure, giveBack);
              return finish === undefined ? started : started.then(finish);
            }
            return finish === undefined ? decision : finish(decision);
          };
    const decided = prepared.backend.decideThen<Decision | Promise<Decision>>(
      prepared,
      prepared.cost === 0 ? "peek" : mode,
      map,
      (error: unknown) => {
        const decision = this.decideOnError(error, connection);
        return finish === undefined ? decision : decision.then(finish);
      },
    );
    // A promise resolved with a promise adopts it: this is a decision or a promise of one.
    return decided as Decision | Promise<Decision>;
  }

  private readonly decisionOf = (step: Step): Decision => this.toDecision(step);

  private prepared(
    backend: ThrottleBackend,
    identity: string | Unlimited,
    cost: number,
  ): PreparedRequest | Unlimited {
    if (identity === UNLIMITED) return UNLIMITED;
    if (typeof identity !== "string") {
      throw new ConfigurationError(
        `Throttle "${this.uid}": the identifier returned ${typeof identity}; it must return a string or UNLIMITED.`,
      );
    }
    if (identity === "")
      throw new AnonymousConnection("The identifier returned an empty identity.");
    this.checkCost(cost);
    return {
      uid: this.uid,
      identity: safeIdentity(identity),
      strategy: this.strategy,
      rate: this.rate,
      cost,
      backend: this.deciding(backend),
    };
  }

  /** What decides on `backend`: itself, or itself in degraded mode. */
  private deciding(backend: ThrottleBackend): ThrottleBackend {
    // Another call may have met another backend since this one resolved `backend`.
    return backend === this.lastBackend
      ? (this.lastDeciding as ThrottleBackend)
      : decidingBackend(backend);
  }

  private checkCost(cost: number): void {
    if (!Number.isSafeInteger(cost) || cost < 0) {
      throw new InvalidCost(
        `Throttle "${this.uid}": a cost must be a whole number of at least 0, got ${String(cost)}.`,
        cost,
      );
    }
    if (cost > this.capacity) {
      throw new InvalidCost(
        `Throttle "${this.uid}": a cost of ${cost} can never be admitted; ${this.strategy.name} at ${this.rate} admits at most ${this.capacity} at once.`,
        cost,
        this.capacity,
      );
    }
  }
}
