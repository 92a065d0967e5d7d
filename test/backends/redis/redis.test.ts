/** The RedisBackend suite (redis-suite.ts) through ioredis and the current node-redis. */
import { clientKinds } from "../../support/redis-clients.js";
import { describeRedisBackend } from "./redis-suite.js";

for (const kind of clientKinds) {
  if (kind.name === "ioredis" || kind.name === "node-redis 6") describeRedisBackend(kind);
}
