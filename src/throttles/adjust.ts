/**
 * Calls on a client rather than a request: `penalty`, `reward`, `block`, `unblock`. Each
 * finds the client (by a connection, as a request would, or by the identity an identifier
 * returns) and asks the backend for one atomic change of its state (`adjustState`), or of its
 * ban (`ban.ts`). Not decisions: nothing is published, `onError` does not apply, and a backend
 * failure rejects with its `BackendError`.
 *
 * @module
 */
import { cannotAdjust } from "../backends/adjusted.js";
import { ConfigurationError, InvalidCost } from "../errors.js";
import { UNLIMITED, type Unlimited } from "../unlimited.js";
import { banOf, banUid } from "./ban.js";
import type { BaseThrottle } from "./base.js";
import type { Decision } from "./decision.js";
import type { PreparedRequest } from "./prepare.js";

/**
 * A client named by its identity, as the throttle's identifier returns it (an address, a user
 * id), rather than by a connection: `{ identity: "user:42" }`. A plain object with that one key.
 */
export interface ClientIdentity {
  /** The identity, as the throttle's identifier would return it for the client's requests. */
  readonly identity: string;
}

/** A connection of the throttle, or a {@link ClientIdentity}. */
export type ClientTarget<C> = C | ClientIdentity;

/** Whether `target` is a {@link ClientIdentity}: a plain object whose one key is `identity`. */
function isClientIdentity(target: unknown): target is ClientIdentity {
  if (typeof target !== "object" || target === null) return false;
  const prototype: unknown = Object.getPrototypeOf(target);
  if (prototype !== Object.prototype && prototype !== null) return false;
  const keys = Object.keys(target);
  return keys.length === 1 && keys[0] === "identity";
}

/** The request of `target`'s client in `throttle`, or `UNLIMITED` for an exempt one. */
function requestOf<C>(
  throttle: BaseThrottle<C>,
  target: ClientTarget<C>,
): Promise<PreparedRequest | Unlimited> {
  if (isClientIdentity(target)) return throttle.prepareIdentity(target.identity);
  return Promise.resolve(throttle.prepare(target as C, undefined));
}

/**
 * Takes `points` from the client (`"penalty"`) or gives them back (`"reward"`), and resolves
 * to its decision after the change: what a request of the throttle's cost would be told now.
 * @internal
 */
export async function adjustClient<C>(
  throttle: BaseThrottle<C>,
  target: ClientTarget<C>,
  points: number,
  kind: "penalty" | "reward",
): Promise<Decision> {
  if (!Number.isSafeInteger(points) || points < 0) {
    throw new InvalidCost(
      `Throttle "${throttle.uid}": ${kind} points must be a whole number of at least 0, got ${String(points)}.`,
      points,
    );
  }
  if (throttle.strategy.adjust === undefined) throw cannotAdjust(throttle.strategy.name);
  const request = await requestOf(throttle, target);
  if (request === UNLIMITED) return throttle.exempt;
  const step = await request.backend.adjustState(request, kind === "penalty" ? points : -points);
  return throttle.toDecision(step);
}

/** Bans the client for `durationMs` (never shortening a longer ban); its decision then. @internal */
export async function blockClient<C>(
  throttle: BaseThrottle<C>,
  target: ClientTarget<C>,
  durationMs: number,
): Promise<Decision> {
  checkBlocking(throttle);
  if (!(durationMs > 0) || !Number.isSafeInteger(Math.ceil(durationMs))) {
    throw new ConfigurationError(
      `Throttle "${throttle.uid}": a block lasts a finite number of ms above 0, got ${String(durationMs)}.`,
    );
  }
  const request = await requestOf(throttle, target);
  if (request === UNLIMITED) return throttle.exempt;
  return throttle.toDecision(await request.backend.adjustState(banOf(request), durationMs));
}

/** Lifts the client's ban, if any; its counts stay as they are. @internal */
export async function unblockClient<C>(
  throttle: BaseThrottle<C>,
  target: ClientTarget<C>,
): Promise<void> {
  checkBlocking(throttle);
  const request = await requestOf(throttle, target);
  if (request !== UNLIMITED) await request.backend.clear(banUid(request.uid), request.identity);
}

/**
 * Gives back what the request on `connection` took (its cost, its identity, its backend, as
 * a decision finds them now): a refund. @internal
 */
export async function refundRequest<C>(throttle: BaseThrottle<C>, connection: C): Promise<void> {
  if (throttle.strategy.adjust === undefined) throw cannotAdjust(throttle.strategy.name);
  const request = await throttle.prepare(connection, undefined);
  if (request === UNLIMITED || request.cost === 0) return;
  await request.backend.adjustState(request, -request.cost);
}

function checkBlocking(throttle: BaseThrottle<never>): void {
  if (!throttle.blocking) {
    throw new ConfigurationError(
      `Throttle "${throttle.uid}" was built without \`blocking: true\`; block and unblock need it (its decisions then read the client's ban).`,
    );
  }
}
