import type { ThrottleBackend } from "../backends/base.js";
import { ConnectionThrottled } from "../errors.js";
import type { ThrottleEvents } from "../events/publish.js";
import type { Rate } from "../rate.js";
import type { Step, Strategy } from "../strategies/strategy.js";
import { UNLIMITED, type Unlimited } from "../unlimited.js";
import { adjustClient, blockClient, type ClientTarget, unblockClient } from "./adjust.js";
import { BackendResolution } from "./backend-resolution.js";
import { type DecideOptions, decideAlone } from "./decide.js";
import type { Decision } from "./decision.js";
import { ErrorPolicy } from "./on-error.js";
import type {
  HitOptions,
  Identifier,
  ThrottledHandler,
  ThrottleMode,
  ThrottleOptions,
} from "./options.js";
import { exemptDecision, type Policy, readPolicy } from "./policy.js";
import { type PreparedRequest, prepare, prepareIdentity } from "./prepare.js";
import { shadowed } from "./shadow.js";
import { stepDecision } from "./step-decision.js";
import type { Eventually } from "./sync-or-async.js";
import { signalDeparture, waitForTurn, waitsForTurn } from "./turn.js";
import { answerRejected, rejects } from "./verdict.js";

const CONSUME: DecideOptions = Object.freeze({ mode: "consume" });
const PEEK: DecideOptions = Object.freeze({ mode: "peek" });

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
  /** `"enforce"`, or `"shadow"`: counted and reported as if enforcing, never rejecting. */
  readonly mode: ThrottleMode;
  /** Whether {@link mode} is `"shadow"`. @internal */
  readonly shadow: boolean;
  /** Whether {@link block} may ban its clients (each decision then reads the client's ban). */
  readonly blocking: boolean;
  /** Turns a connection into the client's identity, or `UNLIMITED` to exempt it. */
  protected readonly identifier: Identifier<C>;
  /** Called when a client is throttled; by default it throws `ConnectionThrottled`. */
  protected readonly handleThrottled: ThrottledHandler<C>;
  /** The decision for an exempt (`UNLIMITED`) connection. @internal */
  readonly exempt: Decision;
  /** Its hooks and how its events show identities. @internal */
  readonly events: ThrottleEvents;
  /** This throttle alone, as the group the internal decision takes. @internal */
  readonly alone: readonly BaseThrottle<C>[];
  private readonly policy: Policy<C>;
  private readonly backends: BackendResolution;
  private readonly errors: ErrorPolicy<C>;

  constructor(options: ThrottleOptions<C>) {
    const policy = readPolicy(new.target.name, options);
    this.policy = policy;
    this.uid = policy.uid;
    this.rate = policy.rate;
    this.strategy = policy.strategy;
    this.capacity = policy.capacity;
    this.minWaitPeriod = policy.minWaitPeriod;
    this.headers = policy.headers;
    this.dynamicBackend = policy.dynamicBackend;
    this.shadow = policy.shadow;
    this.mode = policy.shadow ? "shadow" : "enforce";
    this.toDecision = policy.shadow ? this.toShadowDecision : this.enforcingDecision;
    this.blocking = policy.blocking;
    this.identifier = policy.identifier;
    this.handleThrottled = policy.handleThrottled ?? this.defaultHandleThrottled;
    this.exempt = exemptDecision(policy);
    this.events = policy.events;
    this.alone = [this];
    this.backends = new BackendResolution(this.uid, policy.backend, this.dynamicBackend, this);
    this.errors = new ErrorPolicy(policy.onError, this.exempt, this.minWaitPeriod, policy.events);
  }

  /**
   * Counts the connection's request. Resolves to the decision when admitted (after any
   * queueing delay); when throttled, calls `handleThrottled`, which by default throws
   * `ConnectionThrottled`. Traffik for Python's `await throttle(request)`.
   */
  hit(connection: C, options?: HitOptions): Promise<Decision> {
    // Not an async function: on the hot path, each promise more cost more than the rest of it.
    try {
      const decision = decideAlone(this, connection, consume(options));
      if (decision instanceof Promise)
        return decision.then((ready) => this.answer(ready, connection));
      return this.answer(decision, connection);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Like {@link hit}, but a throttled request resolves to its decision instead of throwing. */
  tryHit(connection: C, options?: HitOptions): Promise<Decision> {
    return settled(() => decideAlone(this, connection, consume(options)));
  }

  /** The decision a request would get now, without counting it. */
  peek(connection: C, options?: Pick<HitOptions, "cost">): Promise<Decision> {
    const asked =
      options?.cost === undefined ? PEEK : { mode: "peek" as const, cost: options.cost };
    return settled(() => decideAlone(this, connection, asked));
  }

  /**
   * Takes `points` units from a client at once, outside any request, atomically on every
   * backend: rate-limiter-flexible's `penalty`. It may take the client past its limit (a
   * bucket goes into debt, up to one bucket past empty), so it waits longer. The client is a
   * connection, or `{ identity }` as the identifier names it. Resolves to the client's decision
   * after the change: what a request of the throttle's cost would be told now.
   * @throws {ConfigurationError} when the strategy has no `adjust` (a custom strategy).
   * @throws {InvalidCost} for points that are not a whole number of at least 0.
   */
  penalty(client: ClientTarget<C>, points: number): Promise<Decision> {
    return adjustClient(this, client, points, "penalty");
  }

  /**
   * Gives `points` units back to a client, atomically, never past the strategy's capacity:
   * rate-limiter-flexible's `reward`, and the adapters' refunds. Otherwise as {@link penalty}.
   */
  reward(client: ClientTarget<C>, points: number): Promise<Decision> {
    return adjustClient(this, client, points, "reward");
  }

  /**
   * Bans a client for `durationMs` (a longer ban already in place stays): every request is
   * rejected meanwhile, told to wait the ban's remainder, in every process on the backend.
   * Needs `blocking: true`. Resolves to the client's decision then.
   * @throws {ConfigurationError} without `blocking: true`, or for a duration that is not above 0.
   */
  block(client: ClientTarget<C>, durationMs: number): Promise<Decision> {
    return blockClient(this, client, durationMs);
  }

  /** Lifts a client's ban, if any (its counts stay). Needs `blocking: true`. */
  unblock(client: ClientTarget<C>): Promise<void> {
    return unblockClient(this, client);
  }

  /** Forgets the connection's client in this throttle: its full quota is back. */
  async reset(connection: C): Promise<void> {
    const prepared = await this.prepare(connection, 0);
    if (prepared !== UNLIMITED) await prepared.backend.clear(this.uid, prepared.identity);
  }

  /**
   * The backend this throttle uses for this call: its own (unless `dynamicBackend` and one is
   * installed), else the one installed by `backend.run()` around the call, else the one
   * attached to the connection (`backend.attachTo(request)`, as the framework integrations do).
   * Looked up at every call, so a throttle made once follows each app that uses it.
   * @throws {ConfigurationError} when there is none, or it is closed.
   */
  resolveBackend(connection?: C): ThrottleBackend {
    return this.backends.resolve(connection);
  }

  /** Identifies the connection and checks the cost: the request for a backend. @internal */
  prepare(connection: C, cost: number | undefined): Eventually<PreparedRequest | Unlimited> {
    return prepare(this.policy, this.backends, connection, cost);
  }

  /** The request for the client named `identity`, with no connection. @internal */
  prepareIdentity(identity: string): Promise<PreparedRequest | Unlimited> {
    return prepareIdentity(this.policy, this.backends, identity);
  }

  /** The decision for a backend's answer, marked `shadow` in shadow mode. @internal */
  readonly toDecision: (step: Step) => Decision;

  /** The decision for a backend's answer, marked `shadow` whatever the mode. @internal */
  readonly toShadowDecision = (step: Step): Decision => shadowed(this.enforcingDecision(step));

  /**
   * {@link toDecision} for a counted request whose place cannot be given back, once its turn
   * comes when it was admitted with a queueing delay. @internal
   */
  readonly toDecisionInTurn = (step: Step): Eventually<Decision> => {
    const decision = this.toDecision(step);
    return waitsForTurn(decision) ? waitForTurn(decision, decision.delayMs, undefined) : decision;
  };

  private readonly enforcingDecision = (step: Step): Decision => {
    this.errors.answered();
    return stepDecision(this.policy, step);
  };

  /** Applies `onError` to a backend failure; `shadow` decides it as in shadow mode. @internal */
  decideOnError(error: unknown, connection: C, shadow?: boolean): Promise<Decision> {
    const decided = this.errors.decide(error, connection, this);
    return this.shadow || shadow === true ? decided.then(shadowed) : decided;
  }

  /**
   * Runs `handleThrottled` for a rejected decision: what it returns, or what it throws, thrown
   * straight to the caller. Not async: a promise rejected before anyone awaits it costs Node's
   * unhandled-rejection bookkeeping, which dominated a flood of rejections. @internal
   */
  rejectWith(connection: C, decision: Decision): unknown {
    return this.handleThrottled(connection, decision.retryAfterMs, this, decision);
  }

  /** Builds what the default handler throws; subclasses may word it for their connections. */
  protected throttledError(waitMs: number): ConnectionThrottled {
    return ConnectionThrottled.answer({ waitMs, headers: this.headers });
  }

  private readonly defaultHandleThrottled: ThrottledHandler<C> = (_connection, waitMs) => {
    throw this.throttledError(waitMs);
  };

  /**
   * What the default `handleThrottled` would throw for `rejection`, or `undefined` when the
   * throttle was given a handler of its own. @internal
   */
  defaultRejection(rejection: Decision): ConnectionThrottled | undefined {
    return this.handleThrottled === this.defaultHandleThrottled
      ? this.throttledError(rejection.retryAfterMs)
      : undefined;
  }

  /** An admitted decision; a rejected one goes to `handleThrottled` first. */
  private answer(decision: Decision, connection: C): Promise<Decision> {
    return rejects(decision)
      ? answerRejected(this, connection, decision, decision)
      : Promise.resolve(decision);
  }
}

/** The promise of `decided()`'s decision, or of what it threw. */
function settled(decided: () => Eventually<Decision>): Promise<Decision> {
  try {
    return Promise.resolve(decided());
  } catch (error) {
    return Promise.reject(error);
  }
}

/** What `hit` and `tryHit` ask of the internal decision. */
function consume(options: HitOptions | undefined): DecideOptions {
  if (options === undefined) return CONSUME;
  return { mode: "consume", cost: options.cost, departure: signalDeparture(options.signal) };
}
