import type { OptionNames } from "../../internal/known-keys.js";
import { BACKEND_OPTION_NAMES, type ThrottleBackendOptions } from "../base.js";
import type { DegradedModeOptions } from "../degraded/options.js";
import type { RedisClient } from "./client-link.js";

/** Options of {@link RedisBackend}. */
export interface RedisBackendOptions extends Partial<ThrottleBackendOptions> {
  /**
   * A `redis://` or `rediss://` URL (the backend makes and owns an ioredis client), a client of
   * your own, or a function returning one: an ioredis `Redis` or `Cluster`, or a node-redis
   * client or cluster (`createClient`, `createCluster` of the `redis` package, 4.x or later),
   * told apart by what they can do. For a client of your own, turn its offline queue off
   * (ioredis `enableOfflineQueue: false`, node-redis `disableOfflineQueue: true`) so that
   * requests fail fast instead of queueing while Redis is down, and give a node-redis client an
   * `error` listener, without which its connection errors throw.
   */
  connection: string | RedisClient | (() => RedisClient | Promise<RedisClient>);
  /** Keep the namespace's keys on `close()`; other processes may share them. @default true */
  persistent?: boolean;
  /**
   * Answer requests from clients known to be throttled in-process until their wait is over,
   * without a round trip. @default true
   */
  blockCache?: boolean;
  /**
   * For tests only: the deciding clock in ms, passed to each decision script. By default
   * decisions are on the Redis server's clock (its `TIME`), so application servers with skewed
   * clocks agree. Keys expire on the server's clock either way, after their state has expired.
   */
  clock?: () => number;
  /**
   * While the server (a cluster master) is out, decide its requests in this process, each
   * client within its limit per process, instead of by `onError`, and hand them back once it
   * answers (see {@link DegradedModeOptions}). `false` leaves outages to `onError`. @default true
   */
  degradedMode?: boolean | DegradedModeOptions;
}

/** The names of {@link RedisBackendOptions}, for the check of unknown keys. */
export const REDIS_OPTION_NAMES: OptionNames<RedisBackendOptions> = {
  ...BACKEND_OPTION_NAMES,
  connection: true,
  persistent: true,
  blockCache: true,
  clock: true,
  degradedMode: true,
};
