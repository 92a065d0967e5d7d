/**
 * A test process in miniature for `orphan-servers.test.ts`: starts a redis-server and a
 * memcached through `servers.ts`, prints their ports, then waits to be ended.
 */
import { startMemcached, startRedis } from "./servers.js";

const redis = await startRedis();
const memcached = await startMemcached();
console.log(JSON.stringify({ redis: redis.port, memcached: memcached.port }));
setInterval(() => {}, 60_000);
