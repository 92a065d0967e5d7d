/** The RedisBackend suite (redis-suite.ts) through the older node-redis majors. */
import { clientKinds } from "../../support/redis-clients.js";
import { describeRedisBackend } from "./redis-suite.js";

for (const kind of clientKinds) {
  if (kind.name === "node-redis 5" || kind.name === "node-redis 4") describeRedisBackend(kind);
}
