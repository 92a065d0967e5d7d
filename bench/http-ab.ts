/**
 * A/B of one framework's hello-world servers between two trees of Traffik: `bench/http-server.ts`
 * of another checkout (built, its `dist/`) and of this one, loaded in turn, slice by slice, in one
 * run, so that the machine's drift falls on both alike. Prints, per variant, the median server
 * CPU per request and requests per second of each tree, and their ratio.
 *
 *   npm run build && TSX_TSCONFIG_PATH=bench/tsconfig.json tsx bench/http-ab.ts <base tree> <framework> [variants]
 *
 * variants: comma-separated, default `bare,noop,traffik-fixed,traffik-token,peer`
 * (BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONNECTIONS as for bench/http.ts). BENCH_TOGETHER=1 loads
 * a variant's two servers at the same time, both on the server core: each slice's pair then
 * shares the machine's load exactly, which taking turns cannot promise at a load average of 10+.
 */
import type { ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";
import autocannon from "autocannon";
import { type Counters, cpuPerUnit, readCounters, stopServer } from "./server-counters.js";
import { keepLoadOffServerCore, median, startServer } from "./support.js";

const [baseTree, framework = "fastify", variantList] = process.argv.slice(2);
if (baseTree === undefined) throw new Error("usage: http-ab.ts <base tree> <framework> [variants]");
const VARIANTS = (variantList ?? "bare,noop,traffik-fixed,traffik-token,peer").split(",");
const SECONDS = Number(process.env.BENCH_SECONDS ?? 1);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 11);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
/** Load a variant's two servers at the same time rather than in turn. */
const TOGETHER = process.env.BENCH_TOGETHER === "1";
const TREES = { base: resolve(baseTree), new: resolve(import.meta.dirname, "..") };

/** Starts a tree's server, with tsx resolving `traffik` to that tree's `dist/`. */
async function start(tree: string, variant: string) {
  process.env.TSX_TSCONFIG_PATH = join(tree, "bench/tsconfig.json");
  return startServer(join(tree, "bench/http-server.ts"), [framework, variant]);
}

async function load(port: number): Promise<number> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/`,
    connections: CONNECTIONS,
    duration: SECONDS,
  });
  if (result.non2xx > 0) throw new Error(`${result.non2xx} responses were not 2xx`);
  return result.requests.average;
}

keepLoadOffServerCore();
const servers = new Map<string, { child: ChildProcess; port: number }>();
for (const variant of VARIANTS) {
  for (const [name, tree] of Object.entries(TREES)) {
    servers.set(`${name} ${variant}`, await start(tree, variant));
  }
}
const cpu = new Map<string, number[]>([...servers.keys()].map((key) => [key, []]));
const rates = new Map<string, number[]>([...servers.keys()].map((key) => [key, []]));
for (const { port } of servers.values()) await load(port); // warm-up: JIT, connections
/** Loads servers at once, each by its own autocannon, and records their figures. */
async function slice(keys: readonly string[]): Promise<void> {
  const running = keys.map((key) => servers.get(key) as { child: ChildProcess; port: number });
  const before = await Promise.all(running.map(({ child }) => readCounters(child)));
  const loaded = await Promise.all(running.map(({ port }) => load(port)));
  const after = await Promise.all(running.map(({ child }) => readCounters(child)));
  keys.forEach((key, i) => {
    rates.get(key)?.push(loaded[i] as number);
    cpu.get(key)?.push(cpuPerUnit(before[i] as Counters, after[i] as Counters));
  });
}

const keys = [...servers.keys()];
for (let round = 0; round < ROUNDS; round++) {
  if (TOGETHER) {
    // Both trees' servers of a variant share core 0 and the minute's load, slice by slice.
    for (const variant of VARIANTS) await slice([`base ${variant}`, `new ${variant}`]);
    continue;
  }
  // Rotated each round, so neither tree always follows the other.
  const order = keys.map((_, i) => keys[(i + round) % keys.length] as string);
  for (const key of order) await slice([key]);
}
for (const { child } of servers.values()) await stopServer(child);

console.log(
  `${framework}: A/B ${TREES.base} -> ${TREES.new}, ${ROUNDS} slices of ${SECONDS} s, medians`,
);
for (const variant of VARIANTS) {
  const figure = (name: string) => ({
    cpu: median(cpu.get(`${name} ${variant}`) ?? []),
    rate: median(rates.get(`${name} ${variant}`) ?? []),
  });
  const a = figure("base");
  const b = figure("new");
  // Each round's two slices of a variant run back to back: their ratio shares the minute's load.
  const baseSlices = cpu.get(`base ${variant}`) ?? [];
  const newSlices = cpu.get(`new ${variant}`) ?? [];
  const paired = median(baseSlices.map((value, i) => value / (newSlices[i] ?? value)));
  console.log(
    `  ${variant.padEnd(14)} CPU/request ${a.cpu.toFixed(1).padStart(6)} -> ${b.cpu.toFixed(1).padStart(6)} µs (${(a.cpu / b.cpu).toFixed(2)}x, paired ${paired.toFixed(2)}x)   ` +
      `${(a.rate / 1000).toFixed(1)}k -> ${(b.rate / 1000).toFixed(1)}k req/s`,
  );
}
