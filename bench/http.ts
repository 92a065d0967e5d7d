/**
 * Hello-world requests per second on Express, Fastify, Hono and Koa: bare, with an empty middleware
 * (what any app-wide limiter costs at least), with Traffik app-wide
 * (in-memory, fixed window and token bucket), and with the framework's usual limiter
 * (express-rate-limit, @fastify/rate-limit, hono-rate-limiter; Koa has no peer line), in one run;
 * on Express, Fastify and Hono also Traffik's fixed window with a `traffik:decision` subscriber
 * and with traffik/otel metrics, beside the one with no listener. Each server runs in
 * its own process; autocannon loads them in turn from this one over loopback, in many short
 * slices, and the median slice is reported, with the median of the server's CPU time per request
 * over the slices.
 *
 *   npm run bench:http            (BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONNECTIONS, BENCH_FRAMEWORKS)
 */
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import autocannon from "autocannon";
import { cpuPerUnit, readCounters, stopServer } from "./server-counters.js";
import { keepLoadOffServerCore, median, PIN, startServer } from "./support.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 1);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const FRAMEWORKS = (process.env.BENCH_FRAMEWORKS ?? "express,fastify,hono,koa").split(",");
const VARIANTS = [
  "bare",
  "noop",
  "traffik-fixed",
  "traffik-token",
  "peer",
  "traffik-channel",
  "traffik-otel",
] as const;
/** Variants the Koa server (bench/koa-server.ts) has not got. */
const NOT_ON_KOA = new Set(["peer", "traffik-channel", "traffik-otel"]);
const PEERS: Record<string, string> = {
  express: "express-rate-limit",
  fastify: "@fastify/rate-limit",
  hono: "hono-rate-limiter",
};

async function load(port: number): Promise<{ rate: number; non2xx: number }> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/`,
    connections: CONNECTIONS,
    duration: SECONDS,
  });
  return { rate: result.requests.average, non2xx: result.non2xx };
}

const format = (rate: number) => `${(rate / 1000).toFixed(1).padStart(6)} k/s`;

keepLoadOffServerCore();
console.log(
  `Hello-world requests/s, ${CONNECTIONS} connections, median of ${ROUNDS} interleaved slices of ${SECONDS} s${PIN ? ", servers pinned to core 0, load on the others" : ""}:`,
);
for (const framework of FRAMEWORKS) {
  // All four servers run at once and are loaded in turn, in short slices, so a slow minute on a
  // noisy machine falls on every variant alike.
  const peerName = PEERS[framework];
  const variants = VARIANTS.filter((v) =>
    framework === "koa" ? !NOT_ON_KOA.has(v) : v !== "peer" || peerName !== undefined,
  );
  const servers = new Map<string, { child: ChildProcess; port: number }>();
  for (const variant of variants)
    servers.set(
      variant,
      framework === "koa"
        ? await startServer(join(import.meta.dirname, "koa-server.ts"), [variant])
        : await startServer(join(import.meta.dirname, "http-server.ts"), [framework, variant]),
    );
  const rates: Record<string, number[]> = Object.fromEntries(variants.map((v) => [v, []]));
  const cpuSlices: Record<string, number[]> = Object.fromEntries(variants.map((v) => [v, []]));
  for (const { port } of servers.values()) await load(port); // warm-up: JIT, connections
  for (let round = 0; round < ROUNDS; round++) {
    const order = variants.map((_, i) => variants[(i + round) % variants.length] as string);
    for (const variant of order) {
      const { child, port } = servers.get(variant) as { child: ChildProcess; port: number };
      const before = await readCounters(child);
      const { rate, non2xx } = await load(port);
      cpuSlices[variant]?.push(cpuPerUnit(before, await readCounters(child)));
      if (non2xx > 0) throw new Error(`${framework} ${variant}: ${non2xx} responses were not 2xx`);
      rates[variant]?.push(rate);
    }
  }
  for (const { child } of servers.values()) await stopServer(child);
  const cpu = Object.fromEntries(variants.map((v) => [v, median(cpuSlices[v] ?? [])]));
  const bare = median(rates.bare ?? []);
  const peer = median(rates.peer ?? []);
  console.log(`${framework}:`);
  // "x bare by CPU": the throughput a server bound by its CPU would reach, bare's CPU per
  // request over this one's: the figure to trust when the machine's load drifts.
  const us = (variant: string, base = "bare") =>
    `${(cpu[variant] ?? 0).toFixed(1).padStart(6)} µs CPU/request` +
    (variant === base ? "" : ` ${((cpu[base] ?? 0) / (cpu[variant] ?? 1)).toFixed(2)}x by CPU`);
  console.log(`  bare                                 ${format(bare)}   ${us("bare")}`);
  const noop = median(rates.noop ?? []);
  console.log(
    `  an empty middleware                  ${format(noop)}   ${us("noop")}   ${(noop / bare).toFixed(2)}x bare`,
  );
  for (const [variant, label] of [
    ["traffik-fixed", "Traffik, fixed window"],
    ["traffik-token", "Traffik, token bucket"],
  ] as const) {
    const rate = median(rates[variant] ?? []);
    const versusPeer = peerName
      ? `   ${(rate / peer).toFixed(2)}x ${peerName} (${((cpu.peer ?? 0) / (cpu[variant] ?? 1)).toFixed(2)}x by CPU)`
      : "";
    console.log(
      `  ${label.padEnd(36)} ${format(rate)}   ${us(variant)}   ${(rate / bare).toFixed(2)}x bare${versusPeer}`,
    );
  }
  const fixed = median(rates["traffik-fixed"] ?? []);
  for (const [variant, label] of [
    ["traffik-channel", "  with a traffik:decision subscriber"],
    ["traffik-otel", "  with traffik/otel metrics"],
  ] as const) {
    if (rates[variant] === undefined) continue;
    const rate = median(rates[variant]);
    console.log(
      `  ${label.padEnd(36)} ${format(rate)}   ${us(variant, "traffik-fixed")}   ${(rate / fixed).toFixed(2)}x no listener`,
    );
  }
  if (peerName === undefined) continue;
  console.log(
    `  ${peerName.padEnd(36)} ${format(peer)}   ${us("peer")}   ${(peer / bare).toFixed(2)}x bare`,
  );
}
