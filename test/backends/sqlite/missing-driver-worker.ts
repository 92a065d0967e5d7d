/**
 * Run with `better-sqlite3` hidden (test/support/hide-packages.mjs): one request through a
 * throttle with `onError: "allow"`; prints what it got, admitted or the error.
 * Usage: missing-driver-worker.ts <database file>
 */
import { SQLiteBackend } from "../../../src/backends/sqlite/index.js";
import { HTTPThrottle } from "../../../src/throttles/http.js";

const backend = new SQLiteBackend({ path: process.argv[2] ?? "", namespace: "missing" });
const throttle = new HTTPThrottle({ uid: "m", rate: "5/m", backend, onError: "allow" });
try {
  const decision = await throttle.hit({ ip: "192.0.2.1" });
  console.log(JSON.stringify({ allowed: decision.allowed, source: decision.source }));
} catch (error) {
  const { name, code, message } = error as { name: string; code: string; message: string };
  console.log(JSON.stringify({ name, code, message }));
}
await backend.close();
