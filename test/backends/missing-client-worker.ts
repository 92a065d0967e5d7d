/**
 * Run with the backend's client package hidden (test/support/hide-packages.mjs): one request
 * through a throttle with `onError: "allow"`; prints what it got, admitted or the error.
 * Usage: missing-client-worker.ts <redis|memcached> <redis URL or memcached host:port>
 */
import type { ThrottleBackend } from "../../src/backends/base.js";
import { MemcachedBackend } from "../../src/backends/memcached/index.js";
import { RedisBackend } from "../../src/backends/redis/index.js";
import { HTTPThrottle } from "../../src/throttles/http.js";

const [kind, address = ""] = process.argv.slice(2);
const backend: ThrottleBackend =
  kind === "redis"
    ? new RedisBackend({ connection: address, namespace: "missing" })
    : new MemcachedBackend({ servers: [address], namespace: "missing" });
const throttle = new HTTPThrottle({ uid: "m", rate: "5/m", backend, onError: "allow" });
try {
  const decision = await throttle.hit({ ip: "192.0.2.1" });
  console.log(JSON.stringify({ allowed: decision.allowed, source: decision.source }));
} catch (error) {
  const { name, code, message } = error as { name: string; code: string; message: string };
  console.log(JSON.stringify({ name, code, message }));
}
await backend.close().catch(() => {});
