/**
 * Hello-world requests per second on Express, Fastify and Hono: bare, with an empty middleware
 * (what any app-wide limiter costs at least), with Traffik app-wide
 * (in-memory, fixed window and token bucket), and with the framework's usual limiter
 * (express-rate-limit, @fastify/rate-limit, hono-rate-limiter), in one run. Each server runs in
 * its own process; autocannon loads them in turn from this one over loopback, in many short
 * slices, and the median slice is reported.
 *
 *   npm run bench:http            (BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONNECTIONS, BENCH_FRAMEWORKS)
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 1);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const FRAMEWORKS = (process.env.BENCH_FRAMEWORKS ?? "express,fastify,hono").split(",");
const VARIANTS = ["bare", "noop", "traffik-fixed", "traffik-token", "peer"] as const;
const PEERS: Record<string, string> = {
  express: "express-rate-limit",
  fastify: "@fastify/rate-limit",
  hono: "hono-rate-limiter",
};

// On a machine with few cores, the server gets core 0 and this process (the load) the rest, so
// the two do not take turns on one core, which blurred the figures by tens of percent.
const PIN =
  spawnSync("sh", ["-c", "command -v taskset"]).status === 0 && availableParallelism() >= 2;
if (PIN) {
  spawnSync("taskset", ["-a", "-p", "-c", `1-${availableParallelism() - 1}`, String(process.pid)]);
}

async function startServer(
  framework: string,
  variant: string,
): Promise<{ child: ChildProcess; port: number }> {
  const server = [
    "--import",
    "tsx",
    join(import.meta.dirname, "http-server.ts"),
    framework,
    variant,
  ];
  const child = PIN
    ? spawn("taskset", ["-c", "0", process.execPath, ...server], {
        stdio: ["ignore", "pipe", "inherit"],
      })
    : spawn(process.execPath, server, { stdio: ["ignore", "pipe", "inherit"] });
  const [chunk] = (await once(child.stdout as NodeJS.ReadableStream, "data")) as [Buffer];
  return { child, port: (JSON.parse(chunk.toString()) as { port: number }).port };
}

async function load(port: number): Promise<{ rate: number; non2xx: number }> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/`,
    connections: CONNECTIONS,
    duration: SECONDS,
  });
  return { rate: result.requests.average, non2xx: result.non2xx };
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const format = (rate: number) => `${(rate / 1000).toFixed(1).padStart(6)} k/s`;

console.log(
  `Hello-world requests/s, ${CONNECTIONS} connections, median of ${ROUNDS} interleaved slices of ${SECONDS} s${PIN ? ", servers pinned to core 0, load on the others" : ""}:`,
);
for (const framework of FRAMEWORKS) {
  // All four servers run at once and are loaded in turn, in short slices, so a slow minute on a
  // noisy machine falls on every variant alike.
  const servers = new Map<string, { child: ChildProcess; port: number }>();
  for (const variant of VARIANTS) servers.set(variant, await startServer(framework, variant));
  const rates: Record<string, number[]> = Object.fromEntries(VARIANTS.map((v) => [v, []]));
  for (const { port } of servers.values()) await load(port); // warm-up: JIT, connections
  for (let round = 0; round < ROUNDS; round++) {
    const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length] as string);
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
    console.log(
      `  ${label.padEnd(36)} ${format(rate)}   ${us(variant)}   ${(rate / bare).toFixed(2)}x bare   ${(rate / peer).toFixed(2)}x ${PEERS[framework]}`,
    );
  }
  console.log(
    `  ${(PEERS[framework] ?? "").padEnd(36)} ${format(peer)}   ${us("peer")}   ${(peer / bare).toFixed(2)}x bare`,
  );
}
