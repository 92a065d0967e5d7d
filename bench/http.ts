/**
 * Hello-world requests per second on Express, Fastify and Hono: bare, with Traffik app-wide
 * (in-memory, fixed window and token bucket), and with the framework's usual limiter
 * (express-rate-limit, @fastify/rate-limit, hono-rate-limiter), in one run. Each server runs in
 * its own process; autocannon loads it from this one over loopback. Rounds alternate the
 * variants and the median is reported.
 *
 *   npm run bench:http            (BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONNECTIONS, BENCH_FRAMEWORKS)
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const FRAMEWORKS = (process.env.BENCH_FRAMEWORKS ?? "express,fastify,hono").split(",");
const VARIANTS = ["bare", "traffik-fixed", "traffik-token", "peer"] as const;
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
  `Hello-world requests/s, ${CONNECTIONS} connections, median of ${ROUNDS} alternating rounds of ${SECONDS} s${PIN ? ", server pinned to core 0, load on the others" : ""}:`,
);
for (const framework of FRAMEWORKS) {
  const rates: Record<string, number[]> = Object.fromEntries(VARIANTS.map((v) => [v, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order so no variant always runs first on a cold machine.
    const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length] as string);
    for (const variant of order) {
      const { child, port } = await startServer(framework, variant);
      await load(port); // warm-up: JIT and connection setup
      const { rate, non2xx } = await load(port);
      if (non2xx > 0) throw new Error(`${framework} ${variant}: ${non2xx} responses were not 2xx`);
      child.kill();
      await once(child, "exit");
      rates[variant]?.push(rate);
    }
  }
  const bare = median(rates.bare ?? []);
  const peer = median(rates.peer ?? []);
  console.log(`${framework}:`);
  console.log(`  bare                                 ${format(bare)}`);
  for (const [variant, label] of [
    ["traffik-fixed", "Traffik, fixed window"],
    ["traffik-token", "Traffik, token bucket"],
  ] as const) {
    const rate = median(rates[variant] ?? []);
    console.log(
      `  ${label.padEnd(36)} ${format(rate)}   ${(rate / bare).toFixed(2)}x bare   ${(rate / peer).toFixed(2)}x ${PEERS[framework]}`,
    );
  }
  console.log(
    `  ${(PEERS[framework] ?? "").padEnd(36)} ${format(peer)}   ${(peer / bare).toFixed(2)}x bare`,
  );
}
