import type { ThrottleBackend } from "../base.js";
import { DegradedModeBackend } from "./backend.js";
import { type DegradableBackend, degradedModeOf } from "./options.js";

const deciding = new WeakMap<ThrottleBackend, ThrottleBackend>();

/**
 * What decides a throttle's requests on `backend`: `backend` in degraded mode when it declares
 * it (see {@link DegradableBackend}), else `backend` itself. One per backend, so that every
 * throttle on it shares what it knows of its outages. @internal
 */
export function decidingBackend(backend: ThrottleBackend): ThrottleBackend {
  let found = deciding.get(backend);
  if (found === undefined) {
    const options = degradedModeOf(backend);
    found =
      options === false
        ? backend
        : new DegradedModeBackend(backend as ThrottleBackend & DegradableBackend, options);
    deciding.set(backend, found);
  }
  return found;
}
