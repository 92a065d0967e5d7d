/**
 * What the framework adapters need of a backend, so that they import `throttles/` and never
 * `backends/`: its type (for an app's `backend` option), attaching it to a request
 * (`attachTo`), closing it (its own method), and what an app's startup awaits of it
 * ({@link readyToServe}).
 *
 * @module
 */
import type { ThrottleBackend } from "../backends/base.js";
import { decidingBackend } from "../backends/degraded/deciding.js";

export { ThrottleBackend } from "../backends/base.js";

/**
 * What an app's startup awaits of its backend (Fastify's `onReady`, NestJS's module init): its
 * initialization, so that a misconfiguration (a refused password, a wrong client) fails the
 * start. In degraded mode a server that cannot be reached is an outage, not a failed start:
 * the outage begins there and the app serves in-process, as it would had the server gone down
 * a moment after it started. Without degraded mode, a backend that cannot initialize fails the
 * start. @internal
 */
export function readyToServe(backend: ThrottleBackend): Promise<void> | undefined {
  return decidingBackend(backend).readyToServe();
}
