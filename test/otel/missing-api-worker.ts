/**
 * Run with `@opentelemetry/api` hidden (test/support/hide-packages.mjs): loads traffik/otel,
 * decides one request, calls instrumentTraffik, and prints what each did.
 */
import { InMemoryBackend } from "../../src/backends/inmemory/index.js";
import { HTTPThrottle } from "../../src/index.js";
import { instrumentTraffik } from "../../src/otel/index.js";

const backend = new InMemoryBackend({ namespace: "no-otel" });
const throttle = new HTTPThrottle<string>({
  uid: "m",
  rate: "5/m",
  backend,
  identifier: (id) => id,
});
const allowed = (await throttle.tryHit("192.0.2.1")).allowed;
try {
  await instrumentTraffik();
  console.log(JSON.stringify({ allowed, instrumented: true }));
} catch (error) {
  const { name, code, message } = error as { name: string; code: string; message: string };
  console.log(JSON.stringify({ allowed, name, code, message }));
}
await backend.close();
