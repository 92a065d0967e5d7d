/**
 * The one internal decision: `hit`, `tryHit`, `peek`, `hitAll`/`tryHitAll` and every framework
 * adapter decide a connection here, and get one {@link Verdict}.
 *
 * @module
 */
import type { ThrottleBackend } from "../backends/base.js";
import type { DecisionMode } from "../backends/types.js";
import { BackendError, ConfigurationError } from "../errors.js";
import { appHooksOf } from "../events/app-hooks.js";
import { decisionsWatched, publishDecision } from "../events/publish.js";
import type { Step } from "../strategies/strategy.js";
import { UNLIMITED, type Unlimited } from "../unlimited.js";
import { withBans } from "./ban.js";
import type { BaseThrottle } from "./base.js";
import type { Decision } from "./decision.js";
import { placesToGiveBack } from "./give-back.js";
import type { PreparedRequest } from "./prepare.js";
import { decideMixedGroup, mixesShadow } from "./shadow.js";
import { type Eventually, whenReady } from "./sync-or-async.js";
import { type Departure, waitForTurn, waitsForTurn } from "./turn.js";
import { type Verdict, verdictOf } from "./verdict.js";

/** What one decision is asked for, beyond the throttles and the connection. @internal */
export interface DecideOptions {
  /** `"consume"` counts an admitted request; `"peek"` only looks. */
  readonly mode: DecisionMode;
  /** Units the request takes in each throttle, instead of the throttles' own cost. */
  readonly cost?: number | undefined;
  /**
   * Where a request admitted with a queueing delay learns that its client has gone: its wait
   * then rejects with the departure's reason, and its place is given back.
   */
  readonly departure?: Departure | undefined;
  /** Where the requests prepared are kept, by throttle, for the decision's events. */
  readonly seen?: (PreparedRequest | Unlimited)[] | undefined;
  /** Decides every throttle as in shadow mode (a middleware's `mode: "shadow"`). */
  readonly shadow?: boolean | undefined;
}

/**
 * Decides `connection` under `throttles`, all or nothing when there are several: either every
 * throttle admits the request and each counts it, or none counts anything. Exempt throttles
 * (`UNLIMITED`) take no part; a backend failure is decided by each throttle's `onError`. A
 * request admitted with a queueing delay is decided once its turn comes. A verdict, not a
 * promise, when the backend, the identifiers and the costs answer at once and nothing waits
 * (see `sync-or-async.ts`). The one place decisions are published (`events/`), when anyone
 * listens. @internal
 *
 * @throws {ConfigurationError} when several throttles resolve to different backends.
 */
export function decide<C>(
  throttles: readonly BaseThrottle<C>[],
  connection: C,
  options: DecideOptions,
): Eventually<Verdict<C>> {
  // Nothing is timed or built for a decision nobody listens to.
  if (decisionsWatched(throttles, connection)) return decideWatched(throttles, connection, options);
  return decideUnwatched(throttles, connection, options);
}

/**
 * {@link decide} for one throttle alone, its one decision rather than a verdict: what `hit`,
 * `tryHit` and `peek` take, with no group to build around a decision nobody else reads.
 * @internal
 */
export function decideAlone<C>(
  throttle: BaseThrottle<C>,
  connection: C,
  options: DecideOptions,
): Eventually<Decision> {
  // A throttle that reads bans decides with its ban, as a group (see `ban.ts`).
  if (throttle.blocking || decisionsWatched(throttle.alone, connection)) {
    return whenReady(decide(throttle.alone, connection, options), firstDecision);
  }
  return decideOne(throttle, connection, options);
}

function firstDecision<C>(verdict: Verdict<C>): Decision {
  return verdict.decisions[0] as Decision;
}

/** {@link decide}, timed, each throttle's decision published once the verdict is in. */
function decideWatched<C>(
  throttles: readonly BaseThrottle<C>[],
  connection: C,
  options: DecideOptions,
): Eventually<Verdict<C>> {
  const started = performance.now();
  const seen: (PreparedRequest | Unlimited)[] = [];
  const verdict = decideUnwatched(throttles, connection, { ...options, seen });
  return whenReady(verdict, (ready) => {
    const durationMs = performance.now() - started;
    const app = appHooksOf(connection);
    ready.decisions.forEach((decision, index) => {
      const { events } = throttles[index] as BaseThrottle<C>;
      publishDecision(events, decision, seen[index], options.mode, options.cost, durationMs, app);
    });
    return ready;
  });
}

function decideUnwatched<C>(
  throttles: readonly BaseThrottle<C>[],
  connection: C,
  options: DecideOptions,
): Eventually<Verdict<C>> {
  // A throttle that reads bans decides with its ban, as a group (see `ban.ts`).
  if (throttles.length !== 1 || (throttles[0] as BaseThrottle<C>).blocking) {
    return decideGroup(throttles, connection, options);
  }
  const decided = decideOne(throttles[0] as BaseThrottle<C>, connection, options);
  // Not whenReady: a closure per decision that the sync path does not need.
  if (!(decided instanceof Promise)) return verdictOf(throttles, [decided]);
  return decided.then((decision) => verdictOf(throttles, [decision]));
}

function decideOne<C>(
  throttle: BaseThrottle<C>,
  connection: C,
  options: DecideOptions,
): Eventually<Decision> {
  const prepared = throttle.prepare(connection, options.cost);
  if (!(prepared instanceof Promise))
    return decidePrepared(throttle, prepared, connection, options);
  return prepared.then(
    (ready) => decidePrepared(throttle, ready, connection, options),
    (error: unknown) => {
      // A backend that failed to initialize within its deadline is an outage, like any other.
      if (!(error instanceof BackendError)) throw error;
      return throttle.decideOnError(error, connection, options.shadow);
    },
  );
}

function decidePrepared<C>(
  throttle: BaseThrottle<C>,
  prepared: PreparedRequest | Unlimited,
  connection: C,
  { mode, departure, seen, shadow }: DecideOptions,
): Eventually<Decision> {
  if (seen) seen[0] = prepared;
  if (prepared === UNLIMITED) return throttle.exempt;
  const counted = mode === "consume" && prepared.cost > 0;
  return prepared.backend.decideThen<Eventually<Decision>>(
    prepared,
    counted ? "consume" : "peek",
    stepToDecision(throttle, prepared, counted, shadow === true, departure),
    (error) => throttle.decideOnError(error, connection, shadow),
  ) as Eventually<Decision>;
}

/**
 * What turns the backend's step into the decision: one of the throttle's own functions unless
 * a counted request can give its place back, so a decision makes no closure for it.
 */
function stepToDecision<C>(
  throttle: BaseThrottle<C>,
  prepared: PreparedRequest,
  counted: boolean,
  shadow: boolean,
  departure: Departure | undefined,
): (step: Step) => Eventually<Decision> {
  if (shadow) return throttle.toShadowDecision;
  if (!counted) return throttle.toDecision;
  if (departure === undefined) return throttle.toDecisionInTurn;
  const toDecision = throttle.toDecision;
  return (step) => inTurn(toDecision(step), prepared, step, departure);
}

/** `decision`, once its turn comes when it was admitted with a queueing delay (never in shadow). */
function inTurn(
  decision: Decision,
  request: PreparedRequest,
  step: Step,
  departure: Departure | undefined,
): Eventually<Decision> {
  if (!waitsForTurn(decision)) return decision;
  const giveBack = departure && placesToGiveBack(request.backend, [{ request, step }]);
  return waitForTurn(decision, decision.delayMs, departure, giveBack);
}

/** One throttle of a group, where it stands among the throttles given, and its request. */
interface Member<C> {
  readonly throttle: BaseThrottle<C>;
  readonly index: number;
  readonly request: PreparedRequest;
}

function decideGroup<C>(
  throttles: readonly BaseThrottle<C>[],
  connection: C,
  options: DecideOptions,
): Eventually<Verdict<C>> {
  if (options.shadow !== true && mixesShadow(throttles)) {
    return decideMixedGroup(throttles, connection, options, decideUnwatched);
  }
  const prepared = throttles.map((throttle) => throttle.prepare(connection, options.cost));
  if (!prepared.some((entry) => entry instanceof Promise)) {
    return decidePreparedGroup(
      throttles,
      prepared as (PreparedRequest | Unlimited)[],
      connection,
      options,
    );
  }
  return Promise.all(prepared).then(
    (ready) => decidePreparedGroup(throttles, ready, connection, options),
    (error: unknown) => {
      if (!(error instanceof BackendError)) throw error;
      return decideOnError(
        throttles,
        throttles.map((t) => t.exempt),
        error,
        connection,
        options.shadow,
      );
    },
  );
}

function decidePreparedGroup<C>(
  throttles: readonly BaseThrottle<C>[],
  prepared: readonly (PreparedRequest | Unlimited)[],
  connection: C,
  options: DecideOptions,
): Eventually<Verdict<C>> {
  options.seen?.push(...prepared);
  const decisions = throttles.map((throttle) => throttle.exempt);
  const members: Member<C>[] = [];
  let backend: ThrottleBackend | undefined;
  prepared.forEach((request, index) => {
    if (request === UNLIMITED) return;
    if (backend !== undefined && request.backend !== backend) {
      throw new ConfigurationError("Throttles applied all or nothing must share one backend.");
    }
    backend = request.backend;
    members.push({ throttle: throttles[index] as BaseThrottle<C>, index, request });
  });
  if (backend === undefined) return verdictOf(throttles, decisions);
  const failed = (error: unknown) =>
    decideOnError(throttles, decisions, error, connection, options.shadow, members);
  const requests = members.map((member) => member.request);
  const bans = withBans(requests, (i) => (members[i] as Member<C>).throttle.blocking);
  let answer: Step[] | Promise<Step[]>;
  try {
    answer = backend.decideAll(bans?.requests ?? requests, options.mode);
  } catch (error) {
    return failed(error);
  }
  const decided = (steps: Step[]) =>
    groupVerdict(
      throttles,
      members,
      bans === undefined ? steps : bans.fold(steps),
      decisions,
      backend as ThrottleBackend,
      options,
    );
  return answer instanceof Promise
    ? backend.withinTimeout(answer).then(decided, failed)
    : decided(answer);
}

/** The group's verdict for its backend's steps, once its turn comes. */
function groupVerdict<C>(
  throttles: readonly BaseThrottle<C>[],
  members: readonly Member<C>[],
  steps: readonly Step[],
  decisions: Decision[],
  backend: ThrottleBackend,
  { mode, departure, shadow }: DecideOptions,
): Eventually<Verdict<C>> {
  const admitted = steps.every((step) => step.allowed);
  members.forEach(({ throttle, index, request }, i) => {
    const toDecision = shadow === true ? throttle.toShadowDecision : throttle.toDecision;
    const decision = toDecision(steps[i] as Step);
    // A throttle that would have admitted a rejected group counted nothing: its units remain.
    decisions[index] =
      admitted || !decision.allowed
        ? decision
        : {
            ...decision,
            remaining: Math.min(throttle.capacity, decision.remaining + request.cost),
          };
  });
  const verdict = verdictOf(throttles, decisions);
  // A group that mixes modes is decided in two (see `shadow.ts`): this one is all of one mode.
  const watching = shadow === true || members[0]?.throttle.shadow === true;
  const delayMs =
    admitted && mode === "consume" && !watching ? Math.max(...decisions.map((d) => d.delayMs)) : 0;
  if (delayMs === 0) return verdict;
  const taken = members.map(({ request }, i) => ({ request, step: steps[i] as Step }));
  return waitForTurn(verdict, delayMs, departure, departure && placesToGiveBack(backend, taken));
}

/** Each throttle's own `onError` speaks for it when the group's backend fails; any "raise" raises. */
async function decideOnError<C>(
  throttles: readonly BaseThrottle<C>[],
  decisions: Decision[],
  error: unknown,
  connection: C,
  shadow: boolean | undefined,
  members?: readonly Member<C>[],
): Promise<Verdict<C>> {
  const all = members ?? throttles.map((throttle, index) => ({ throttle, index }));
  for (const { throttle, index } of all) {
    decisions[index] = await throttle.decideOnError(error, connection, shadow);
  }
  return verdictOf(throttles, decisions);
}
