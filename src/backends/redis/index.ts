/**
 * The Redis backend (single node or Redis Cluster), on ioredis: an optional peer dependency.
 *
 * @module
 */
export type { DegradedModeOptions } from "../degraded/options.js";
export { RedisBackend, type RedisBackendOptions, type RedisClient } from "./backend.js";
