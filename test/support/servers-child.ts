/**
 * A test process in miniature for `orphan-servers.test.ts`: starts a redis-server and a
 * memcached through `servers.ts`, prints their ports, then waits to be ended; it ends itself
 * (through `process.exit`, so its servers go too) should its parent go first.
 */
import { startMemcached, startRedis } from "./servers.js";

const redis = await startRedis();
const memcached = await startMemcached();
console.log(JSON.stringify({ redis: redis.port, memcached: memcached.port }));
process.stdin.on("end", () => process.exit(1)).resume();
