/**
 * The in-memory backend: no dependency, one process.
 *
 * @module
 */
export { InMemoryBackend, type InMemoryBackendOptions } from "./backend.js";
