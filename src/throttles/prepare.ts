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
 * the identifier exempts the connection. Synchronous when all three are. @internal
 */
export function prepare<C>(
  policy: Policy<C>,
  backends: BackendResolution,
  connection: C,
  cost: number | undefined,
): Eventually<PreparedRequest | Unlimited> {
  const backend = backends.resolve(connection);
  const initializing = backend.ready();
  const ready = initializing && backend.withinTimeout(initializing);
  const identity = policy.identifier(connection);
  // The throttle's own constant cost was checked when it was made.
  const checked = cost === undefined && typeof policy.cost === "number";
  const units = cost ?? (typeof policy.cost === "number" ? policy.cost : policy.cost(connection));
  if (ready === undefined && !(identity instanceof Promise) && !(units instanceof Promise)) {
    return prepared(policy, backends.deciding(backend), identity, units, checked);
  }
  return Promise.all([identity, units, ready]).then(([id, n]) =>
    prepared(policy, backends.deciding(backend), id as string | Unlimited, n, checked),
  );
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
