/**
 * WebSocket echo messages per second, with and without Traffik's per-message throttling
 * (in-memory backend), on one connection and on many, in one run: on `ws`, then on Socket.IO
 * (its WebSocket transport, events echoed). The servers run in their own
 * process (pinned to core 0 when `taskset` is there); the clients here keep a window of
 * messages in flight per connection. Interleaved one-second slices, median reported, with the
 * median of the server's CPU time per message over the slices.
 *
 *   npm run bench:ws            (BENCH_ROUNDS, BENCH_SECONDS)
 */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { io as connectSocketIo } from "socket.io-client";
import { WebSocket } from "ws";
import { cpuPerUnit, readCounters, stopServer } from "./server-counters.js";
import { keepLoadOffServerCore, median, PIN, startServer } from "./support.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 11);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 1);
const WINDOW = 16;
const VARIANTS = ["bare", "throttled"] as const;
const CONNECTIONS = [1, 32];

/** One client connection, as the load sees it: send a message, hear its echoes. */
interface Channel {
  send(payload: Buffer): void;
  on(listener: () => void): void;
  off(listener: () => void): void;
  close(): void;
}

/** A server under test: its script, and how a client connects to it. */
interface Transport {
  readonly name: string;
  readonly script: string;
  connect(port: number): Promise<Channel>;
}

const TRANSPORTS: readonly Transport[] = [
  {
    name: "ws",
    script: "ws-server.ts",
    async connect(port) {
      const socket = new WebSocket(`ws://127.0.0.1:${port}`);
      await once(socket, "open");
      return {
        send: (payload) => socket.send(payload),
        on: (listener) => socket.on("message", listener),
        off: (listener) => socket.off("message", listener),
        close: () => socket.close(),
      };
    },
  },
  {
    name: "Socket.IO",
    script: "socket-io-server.ts",
    async connect(port) {
      const socket = connectSocketIo(`http://127.0.0.1:${port}`, {
        transports: ["websocket"],
        forceNew: true,
      });
      await new Promise((resolve) => socket.once("connect", () => resolve(undefined)));
      return {
        send: (payload) => socket.emit("echo", payload),
        on: (listener) => socket.on("echo", listener),
        off: (listener) => socket.off("echo", listener),
        close: () => socket.disconnect(),
      };
    },
  },
];

/** Echoes per second over `sockets`, each keeping WINDOW messages in flight, for SECONDS. */
async function load(sockets: Channel[]): Promise<number> {
  let echoes = 0;
  let running = true;
  const payload = Buffer.from("x".repeat(64));
  const done = sockets.map(
    (socket) =>
      new Promise<void>((resolve) => {
        let inFlight = 0;
        const onMessage = () => {
          echoes++;
          inFlight--;
          if (running) {
            socket.send(payload);
            inFlight++;
          } else if (inFlight === 0) {
            socket.off(onMessage);
            resolve();
          }
        };
        socket.on(onMessage);
        for (; inFlight < WINDOW; inFlight++) socket.send(payload);
      }),
  );
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
  running = false;
  const elapsed = (performance.now() - started) / 1000;
  const counted = echoes;
  await Promise.all(done);
  return counted / elapsed;
}

keepLoadOffServerCore();
console.log(
  `WebSocket echo messages/s (64 bytes, ${WINDOW} in flight per connection), median of ${ROUNDS} interleaved slices of ${SECONDS} s${PIN ? ", servers pinned to core 0" : ""}:`,
);
async function measure(transport: Transport): Promise<void> {
  const servers = new Map<string, { child: ChildProcess; port: number }>();
  for (const variant of VARIANTS)
    servers.set(variant, await startServer(join(import.meta.dirname, transport.script), [variant]));
  console.log(`${transport.name}:`);
  for (const connections of CONNECTIONS) {
    const sockets = new Map<string, Channel[]>();
    for (const [variant, { port }] of servers) {
      sockets.set(
        variant,
        await Promise.all(Array.from({ length: connections }, () => transport.connect(port))),
      );
    }
    const rates: Record<string, number[]> = { bare: [], throttled: [] };
    const cpuSlices: Record<string, number[]> = { bare: [], throttled: [] };
    for (const variant of VARIANTS) await load(sockets.get(variant) as Channel[]); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
      for (const variant of order) {
        const { child } = servers.get(variant) as { child: ChildProcess };
        const before = await readCounters(child);
        rates[variant]?.push(await load(sockets.get(variant) as Channel[]));
        cpuSlices[variant]?.push(cpuPerUnit(before, await readCounters(child)));
      }
    }
    for (const list of sockets.values()) for (const socket of list) socket.close();
    const bare = median(rates.bare ?? []);
    const throttled = median(rates.throttled ?? []);
    const bareCpu = median(cpuSlices.bare ?? []);
    const throttledCpu = median(cpuSlices.throttled ?? []);
    const k = (rate: number) => `${(rate / 1000).toFixed(1).padStart(6)} k/s`;
    console.log(
      `  ${String(connections).padStart(2)} connection${connections === 1 ? " " : "s"}: unthrottled ${k(bare)}   throttled ${k(throttled)}   ${(throttled / bare).toFixed(2)}x unthrottled`,
    );
    // By CPU: the rate a server bound by its CPU would reach, the figure to trust under drift.
    console.log(
      `     server CPU per message: unthrottled ${bareCpu.toFixed(2)} µs   throttled ${throttledCpu.toFixed(2)} µs   ${(bareCpu / throttledCpu).toFixed(2)}x unthrottled by CPU`,
    );
  }
  for (const { child } of servers.values()) await stopServer(child);
}

for (const transport of TRANSPORTS) await measure(transport);
