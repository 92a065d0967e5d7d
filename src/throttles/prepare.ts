import type { ThrottleBackend } from "../backends/base.js";
import type { DecisionRequest } from "../backends/types.js";
import { AnonymousConnection, ConfigurationError } from "../errors.js";
import { safeIdentity } from "../identity/safe-identity.js";
import { UNLIMITED, type Unlimited } from "../unlimited.js";
import type { BackendResolution } from "./backend-resolution.js";
import { checkCost, type Policy } from "./policy.js";
import type { Eventually } from "./sync-or-async.js";

/** A request ready for a backend, with the backend that decides it. @internal */
export interface PreparedRequest extends DecisionRequest {
  readonly backend: ThrottleBackend;
}

/**
 * Makes the request a backend decides for `connection`: finds the backend (waiting for its
 * initialisation, within its deadline), the client's identity and the cost. `UNLIMITED` when
 * the allow list, `skip` or the identifier exempts the connection. Synchronous when all are.
 * @internal
 *
 * @throws {ConnectionDenied} for an address on the deny list, before anything else runs.
 */
export function prepare<C>(
  policy: Policy<C>,
  backends: BackendResolution,
  connection: C,
  cost: number | undefined,
): Eventually<PreparedRequest | Unlimited> {
  if (policy.access === undefined) return prepareDecided(policy, backends, connection, cost);
  // Only `true` exempts: a predicate's stray truthy value must not let a client past its limit.
  const exempt = policy.access(connection);
  if (exempt instanceof Promise) {
    return exempt.then((yes) =>
      yes === true ? UNLIMITED : prepareDecided(policy, backends, connection, cost),
    );
  }
  return exempt === true ? UNLIMITED : prepareDecided(policy, backends, connection, cost);
}

/** {@link prepare} for a connection neither exempt nor denied by the access lists. */
function prepareDecided<C>(
  policy: Policy<C>,
  backends: BackendResolution,
  connection: C,
  cost: number | undefined,
): Eventually<PreparedRequest | Unlimited> {
  const backend = backends.resolve(connection);
  const deciding = backends.deciding(backend);
  // Asked of what decides: in degraded mode, a backend that fails to start is out, not failed.
  const ready = deciding.readyForDecisions();
  const identity = policy.identifier(connection);
  // The throttle's own constant cost was checked when it was made.
  const checked = cost === undefined && typeof policy.cost === "number";
  const units = cost ?? (typeof policy.cost === "number" ? policy.cost : policy.cost(connection));
  if (ready === undefined && !(identity instanceof Promise) && !(units instanceof Promise)) {
    return prepared(policy, deciding, identity, units, checked);
  }
  return Promise.all([identity, units, ready]).then(([id, n]) =>
    prepared(policy, deciding, id as string | Unlimited, n, checked),
  );
}

/**
 * The request for the client named `identity` (as an identifier names it), on the backend
 * for a call with no connection, at the throttle's cost, or 1 where the cost is a function of
 * a connection. For calls on a client rather than a request (`penalty`, `block`). @internal
 */
export async function prepareIdentity<C>(
  policy: Policy<C>,
  backends: BackendResolution,
  identity: string,
): Promise<PreparedRequest | Unlimited> {
  const backend = backends.resolve(undefined);
  await backend.readyForDecisions();
  const cost = typeof policy.cost === "number" ? policy.cost : 1;
  // The throttle's cost was checked when it was made; 1 is always valid.
  return prepared(policy, backends.deciding(backend), identity, cost, true);
}

function prepared<C>(
  policy: Policy<C>,
  backend: ThrottleBackend,
  identity: string | Unlimited,
  cost: number,
  checked: boolean,
): PreparedRequest | Unlimited {
  if (identity === UNLIMITED) return UNLIMITED;
  if (typeof identity !== "string") {
    throw new ConfigurationError(
      `Throttle "${policy.uid}": the identifier returned ${typeof identity}; it must return a string or UNLIMITED.`,
    );
  }
  if (identity === "") throw new AnonymousConnection("The identifier returned an empty identity.");
  if (!checked) checkCost(policy, cost);
  return {
    uid: policy.uid,
    identity: safeIdentity(identity),
    strategy: policy.strategy,
    rate: policy.rate,
    cost,
    backend,
  };
}
