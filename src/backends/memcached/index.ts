/**
 * The Memcached backend: `MemcachedBackend`, on `memcache-client` (an optional peer dependency).
 *
 * @module
 */
export type { DegradedModeOptions } from "../degraded/options.js";
export { MemcachedBackend, type MemcachedBackendOptions } from "./backend.js";
