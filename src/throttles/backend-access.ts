/**
 * What the framework adapters need of a backend, so that they import `throttles/` and never
 * `backends/`: its type (for an app's `backend` option), and attaching it to a request
 * (`attachTo`), initializing (`ready`) and closing it, which are its own methods.
 *
 * @module
 */
export { ThrottleBackend } from "../backends/base.js";
