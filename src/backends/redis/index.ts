/**
 * The Redis backend (single node or Redis Cluster), on ioredis or node-redis (the `redis`
 * package): each an optional peer dependency.
 *
 * @module
 */
export type { DegradedModeOptions } from "../degraded/options.js";
export {
  type NodeRedisClient,
  RedisBackend,
  type RedisBackendOptions,
  type RedisClient,
} from "./backend.js";
