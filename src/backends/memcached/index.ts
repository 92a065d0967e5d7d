/**
 * The Memcached backend: `MemcachedBackend`, on `memcache-client` (an optional peer dependency).
 *
 * @module
 */
export { MemcachedBackend, type MemcachedBackendOptions } from "./backend.js";
