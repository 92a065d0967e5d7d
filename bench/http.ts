/**
 * Hello-world requests per second on Express, Fastify, Hono and Koa: bare, with an empty middleware
 * (what any app-wide limiter costs at least), with Traffik app-wide
 * (in-memory, fixed window and token bucket), and with the framework's usual limiter
 * (express-rate-limit, @fastify/rate-limit, hono-rate-limiter; Koa has no peer line), in one run;
 * on Express, Fastify and Hono also Traffik's fixed window with a `traffik:decision` subscriber
 * and with traffik/otel metrics, beside the one with no listener. Each server runs in
 * its own process; autocannon loads them in turn from this one over loopback, in many short
 * slices, and the median slice is reported.
 *
 *   npm run bench:http            (BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONNECTIONS, BENCH_FRAMEWORKS)
 */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import autocannon from "autocannon";
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
  for (const { port } of servers.values()) await load(port); // warm-up: JIT, connections
  for (let round = 0; round < ROUNDS; round++) {
    const order = variants.map((_, i) => variants[(i + round) % variants.length] as string);
    for (const variant of order) {
      const { rate, non2xx } = await load((servers.get(variant) as { port: number }).port);
      if (non2xx > 0) throw new Error(`${framework} ${variant}: ${non2xx} responses were not 2xx`);
      rates[variant]?.push(rate);
    }
  }
  const cpu: Record<string, number> = {};
  for (const [variant, { child }] of servers) {
    const report = once(child.stdout as NodeJS.ReadableStream, "data");
    child.kill("SIGINT");
    const [chunk] = (await report) as [Buffer];
    cpu[variant] = (
      JSON.parse(chunk.toString()) as { cpuMicrosPerRequest: number }
    ).cpuMicrosPerRequest;
    await once(child, "exit");
  }
  const bare = median(rates.bare ?? []);
  const peer = median(rates.peer ?? []);
  console.log(`${framework}:`);
  const us = (variant: string) => `${(cpu[variant] ?? 0).toFixed(1).padStart(6)} µs CPU/request`;
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
    const versusPeer = peerName ? `   ${(rate / peer).toFixed(2)}x ${peerName}` : "";
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
      `  ${label.padEnd(36)} ${format(rate)}   ${us(variant)}   ${(rate / fixed).toFixed(2)}x no listener`,
    );
  }
  if (peerName === undefined) continue;
  console.log(
    `  ${peerName.padEnd(36)} ${format(peer)}   ${us("peer")}   ${(peer / bare).toFixed(2)}x bare`,
  );
}
