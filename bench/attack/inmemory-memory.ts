/**
 * Attack: fill the in-memory backend's sliding logs (issue 14, item 13).
 *
 * A sliding log keeps two numbers per request in its window: at 1000/d a busy client holds
 * ~18 kB, so `maxKeys` alone (1 000 000 by default) would allow ~18 GB. Clients here each send
 * a full window of requests until twice `maxBytes` would be needed. The attack holds when the
 * heap grows no more than `maxBytes` (plus a quarter, the estimate's margin, plus 16 MB) and a
 * throttled client's log is still there at the end.
 *
 *   ATTACK_ONLY=inmemory-memory npm run attack     (ATTACK_MAX_BYTES=67108864 by default)
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { InMemoryBackend } from "../../src/backends/inmemory/index.js";
import { Rate } from "../../src/index.js";
import { SlidingWindowLogStrategy } from "../../src/strategies/index.js";

const MAX_BYTES = Number(process.env.ATTACK_MAX_BYTES ?? 64 * 2 ** 20);
const LIMIT = 1_000;
const DEADLINE_MS = 40_000;
const strategy = new SlidingWindowLogStrategy();
// A day: the whole flood (one ms per request) stays inside every log's window.
const rate = Rate.parse(`${LIMIT}/d`);
const request = (identity: string) => ({ uid: "api", identity, strategy, rate, cost: 1 });
/** Heap bytes of one full log at LIMIT, as measured when the issue was filed. */
const FULL_LOG_BYTES = 18_000;
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

let now = Date.now();
const backend = new InMemoryBackend({ namespace: "attack", maxBytes: MAX_BYTES, clock: () => now });
await backend.ready();

// The victim uses its whole window and is rejected: its log must outlive the flood.
for (let i = 0; i < LIMIT; i++) {
  now++;
  backend.decide(request("victim"), "consume");
}
const victimRejected = !backend.decide(request("victim"), "consume").allowed;

globalThis.gc?.();
const heapBefore = process.memoryUsage().heapUsed;
let heapPeak = 0;
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
const start = performance.now();
// Enough full logs to need twice the budget.
const perLog = backend.bytes;
const clients = Math.ceil((2 * MAX_BYTES) / FULL_LOG_BYTES);
let client = 0;
for (; client < clients && performance.now() - start < DEADLINE_MS; client++) {
  const identity = `client-${client}`;
  for (let i = 0; i < LIMIT - 1; i++) {
    now++;
    backend.decide(request(identity), "consume");
  }
  if (client % 100 === 99) {
    await new Promise((resolve) => setImmediate(resolve));
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed - heapBefore);
  }
}
delay.disable();
const seconds = (performance.now() - start) / 1000;
globalThis.gc?.();
const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
const victimStill = !backend.decide(request("victim"), "peek").allowed;
const bound = MAX_BYTES * 1.25 + 16 * 2 ** 20;

console.log(`sliding log at ${LIMIT}/d, maxBytes ${mb(MAX_BYTES)}, maxKeys ${backend.maxKeys}`);
console.log(
  `${client} clients x ${LIMIT - 1} requests in ${seconds.toFixed(1)} s: ${backend.size} logs kept, ${mb(backend.bytes)} estimated (${(perLog / 1000).toFixed(1)} kB estimated per full log: maxKeys alone would allow ${((backend.maxKeys * perLog) / 1e9).toFixed(1)} GB)`,
);
console.log(
  `heap growth ${mb(heapGrowth)} after GC, peak ${mb(heapPeak)} before GC (bound ${mb(bound)}); event-loop delay max ${(delay.max / 1e6).toFixed(1)} ms`,
);
console.log(
  `victim throttled before: ${victimRejected}, still throttled after: ${victimStill} (limit ${LIMIT} used)`,
);
await backend.close();
process.exitCode = heapGrowth <= bound && victimRejected && victimStill ? 0 : 1;
