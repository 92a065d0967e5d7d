/**
 * Attack (issue 14, item 11): a WebSocket client floods one socket with 40 000 messages of
 * 10 kB while the server's handler takes 200 ms per message. Before the fix the guard held
 * every message, the dropped ones included, behind the slow handler (measured with this script:
 * 489 MB of growth, 39 985 messages held), and one AbortSignal collected a listener per waiting
 * message.
 *
 * The flood comes from another process, so this one measures only the server: the peak growth
 * of heap and buffers (`heapUsed + arrayBuffers`, sampled every 20 ms) over its level before
 * the flood, the most messages the guard held, the event-loop delay, delivered and dropped
 * counts, and the time to drain what was held once the flood ended. It fails when the growth
 * passes {@link BOUND_MB}, the guard held more than `maxPending`, a message was lost or
 * admitted past the limit, or a warning (MaxListenersExceededWarning) was emitted.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { WebSocketServer } from "ws";
import { InMemoryBackend } from "../../src/backends/inmemory/index.js";
import { WebSocketThrottle } from "../../src/index.js";
import { throttleMessages } from "../../src/integrations/ws/index.js";

const MESSAGES = 40_000;
const MESSAGE_BYTES = 10 * 1024;
const HANDLER_MS = 200;
const MAX_PENDING = 64;
/** The guard holds at most 64 x 10 kB; the rest is ws's and V8's own churn, with room. */
const BOUND_MB = 64;
const LIMIT = 10_000;

const mb = (bytes: number) => bytes / 1024 / 1024;
const used = () => {
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
};

const warnings: string[] = [];
process.on("warning", (warning) => warnings.push(`${warning.name}: ${warning.message}`));

const backend = new InMemoryBackend({ namespace: "ws-flood" });
await backend.ready();
const throttle = new WebSocketThrottle({ uid: "flood", rate: `${LIMIT}/m`, backend });
let arrived = 0;
let delivered = 0;
let dropped = 0;
let mostHeld = 0;
const http = createServer();
const wss = new WebSocketServer({ server: http, maxPayload: 64 * 1024 });
const flooded = new Promise<{ settled: () => Promise<void> }>((resolve) => {
  wss.on("connection", (ws, request) => {
    const guard = throttleMessages(ws, request, {
      throttles: throttle,
      maxPending: MAX_PENDING,
      onThrottled: () => {
        dropped++;
        return "drop";
      },
      onMessage: async () => {
        delivered++;
        await sleep(HANDLER_MS);
      },
    });
    ws.on("message", () => {
      mostHeld = Math.max(mostHeld, guard.pending);
      if (++arrived === MESSAGES) resolve(guard);
    });
  });
});
http.listen(0, "127.0.0.1");
await once(http, "listening");
const { port } = http.address() as AddressInfo;

// The attacker: another process, sending as fast as its socket takes it.
const attacker = spawn(
  process.execPath,
  [
    "--input-type=module",
    "-e",
    `import { WebSocket } from "ws";
     const ws = new WebSocket(process.argv[1]);
     await new Promise((r) => ws.once("open", r));
     const payload = Buffer.alloc(${MESSAGE_BYTES}, 120);
     for (let i = 0; i < ${MESSAGES}; i++) {
       ws.send(payload);
       while (ws.bufferedAmount > 8 * 1024 * 1024) await new Promise((r) => setTimeout(r, 1));
     }
     process.stdin.resume();`,
    `ws://127.0.0.1:${port}`,
  ],
  { stdio: ["pipe", "inherit", "inherit"] },
);

globalThis.gc?.();
const baseline = used();
let peak = baseline;
const sampler = setInterval(() => {
  peak = Math.max(peak, used());
}, 20);
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
const started = performance.now();
const guard = await Promise.race([
  flooded,
  sleep(50_000, undefined, { ref: false }).then(() => {
    throw new Error(`the flood did not arrive within 50 s (${arrived} of ${MESSAGES})`);
  }),
]);
const floodSeconds = (performance.now() - started) / 1000;
const drainStarted = performance.now();
await guard.settled();
const drainSeconds = (performance.now() - drainStarted) / 1000;
peak = Math.max(peak, used());
clearInterval(sampler);
delay.disable();
attacker.kill();
for (const client of wss.clients) client.terminate();
wss.close();
http.close();
await backend.close();

const growth = mb(peak - baseline);
console.log(
  `ws flood: ${MESSAGES} messages of ${MESSAGE_BYTES / 1024} kB in ${floodSeconds.toFixed(1)} s, handler ${HANDLER_MS} ms, maxPending ${MAX_PENDING}`,
);
console.log(`  delivered ${delivered}, dropped ${dropped} (limit ${LIMIT}/m)`);
console.log(`  most held by the guard: ${mostHeld} (bound ${MAX_PENDING})`);
console.log(
  `  peak growth of heap + buffers: ${growth.toFixed(1)} MB (bound ${BOUND_MB} MB; before the fix: 489 MB)`,
);
console.log(
  `  event-loop delay: p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms, max ${(delay.max / 1e6).toFixed(1)} ms`,
);
console.log(`  held messages drained in ${drainSeconds.toFixed(1)} s after the flood`);
console.log(`  warnings: ${warnings.length === 0 ? "none" : warnings.join("; ")}`);

const broken = [
  growth > BOUND_MB && `heap + buffers grew ${growth.toFixed(1)} MB, over ${BOUND_MB} MB`,
  mostHeld > MAX_PENDING && `the guard held ${mostHeld} messages, over ${MAX_PENDING}`,
  delivered + dropped !== MESSAGES && `${MESSAGES - delivered - dropped} messages unaccounted for`,
  delivered > LIMIT && `${delivered} delivered past the limit of ${LIMIT}`,
  warnings.length > 0 && `${warnings.length} warnings`,
].filter(Boolean);
if (broken.length > 0) {
  console.log(`  BROKEN: ${broken.join("; ")}`);
  process.exitCode = 1;
}
