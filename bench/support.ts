/** What the benchmark scripts share: medians, servers pinned to a core, store-bench rounds. */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { availableParallelism } from "node:os";

/** The middle value (the upper one of the two middles for an even count). */
export function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
}

/**
 * Whether servers are pinned: on a machine with taskset and two cores or more, a server gets
 * core 0 and the load the rest, so the two do not take turns on one core, which blurred the
 * figures by tens of percent.
 */
export const PIN =
  spawnSync("sh", ["-c", "command -v taskset"]).status === 0 && availableParallelism() >= 2;

/** Moves this process (the load) off core 0, where `startServer` puts servers, when pinning. */
export function keepLoadOffServerCore(): void {
  if (!PIN) return;
  spawnSync("taskset", ["-a", "-p", "-c", `1-${availableParallelism() - 1}`, String(process.pid)]);
}

/** Moves a server already running (its process id) to core 0, when pinning. */
export function pinToServerCore(pid: number | string): void {
  if (PIN) spawnSync("taskset", ["-a", "-p", "-c", "0", String(pid)]);
}

/** Starts a server script (through tsx, on core 0 when pinning) that prints `{ "port" }`. */
export async function startServer(
  script: string,
  args: readonly string[],
): Promise<{ child: ChildProcess; port: number }> {
  const node = [process.execPath, "--import", "tsx", script, ...args];
  const [command, ...rest] = PIN ? ["taskset", "-c", "0", ...node] : node;
  const child = spawn(command as string, rest, { stdio: ["ignore", "pipe", "inherit"] });
  const [chunk] = (await once(child.stdout as NodeJS.ReadableStream, "data")) as [Buffer];
  return { child, port: (JSON.parse(chunk.toString()) as { port: number }).port };
}

/** One store-bench measurement: decisions per second and store commands per decision. */
export interface StoreRun {
  rate: number;
  commands: number;
  /** This process's CPU per decision, µs, when measured. */
  processCpuUs?: number;
  /** The server's CPU per decision, µs, when measured. */
  serverCpuUs?: number;
}

/** A contender of a store bench: how it decides for client `i`, and how it is closed. */
export type StoreContender = () => {
  decide: (i: number) => Promise<unknown>;
  close: () => unknown;
};

/** A contender's runs with 1 and with 64 decisions in flight, in this process. */
export async function measureContender(
  contender: StoreContender,
  measure: (decide: (i: number) => Promise<unknown>, inFlight: number) => Promise<StoreRun>,
): Promise<[StoreRun, StoreRun]> {
  const { decide, close } = contender();
  const one = await measure(decide, 1);
  const many = await measure(decide, 64);
  await close();
  return [one, many];
}

/**
 * Runs every contender with 1 and with 64 decisions in flight, in alternating order over
 * `rounds`, then prints a table of medians with ratios to `baseFor(name)`'s figures.
 */
export async function compareStores(options: {
  title: string;
  contenders: Record<string, StoreContender>;
  rounds: number;
  measure: (decide: (i: number) => Promise<unknown>, inFlight: number) => Promise<StoreRun>;
  afterEach?: () => Promise<unknown>;
  baseFor: (name: string) => string;
  /**
   * Measures a contender somewhere else (a fresh process), so that contenders sharing a
   * library's code do not make it polymorphic for each other, as no single app would.
   */
  isolate?: (name: string) => Promise<[StoreRun, StoreRun]>;
}): Promise<void> {
  const { contenders, rounds, measure } = options;
  const results = new Map<string, StoreRun[][]>();
  for (let round = 0; round < rounds; round++) {
    const names = round % 2 === 0 ? Object.keys(contenders) : Object.keys(contenders).reverse();
    for (const name of names) {
      const [one, many] = options.isolate
        ? await options.isolate(name)
        : await measureContender(contenders[name] as StoreContender, measure);
      await options.afterEach?.();
      const list = results.get(name) ?? [[], []];
      list[0]?.push(one);
      list[1]?.push(many);
      results.set(name, list);
    }
  }
  const summary = new Map(
    [...results].map(([name, [one = [], many = []]]) => [
      name,
      {
        one: median(one.map((r) => r.rate)),
        many: median(many.map((r) => r.rate)),
        commands: median(many.map((r) => r.commands)),
        cpu: cpuFigures(one, many),
      },
    ]),
  );
  const k = (n: number) => `${(n / 1000).toFixed(1)} k/s`;
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  console.log(options.title);
  console.log(
    `${"".padEnd(42)} ${"1 in flight".padStart(20)} ${"64 in flight".padStart(20)}   commands/decision`,
  );
  for (const [name, s] of summary) {
    const base = summary.get(options.baseFor(name)) ?? s;
    console.log(
      `${name.padEnd(42)} ${`${k(s.one)} ${ratio(s.one, base.one)}`.padStart(20)} ${`${k(s.many)} ${ratio(s.many, base.many)}`.padStart(20)}   ${s.commands.toFixed(2)}${s.cpu}`,
    );
  }
}

/** "  CPU µs/decision process 1|64, server 1|64" from the runs' medians, when measured. */
function cpuFigures(one: readonly StoreRun[], many: readonly StoreRun[]): string {
  const at = (runs: readonly StoreRun[], pick: (run: StoreRun) => number | undefined) => {
    const values = runs.map(pick).filter((value) => value !== undefined);
    return values.length === 0 ? undefined : median(values).toFixed(1);
  };
  const processOne = at(one, (r) => r.processCpuUs);
  const serverOne = at(one, (r) => r.serverCpuUs);
  if (processOne === undefined || serverOne === undefined) return "";
  const processMany = at(many, (r) => r.processCpuUs);
  const serverMany = at(many, (r) => r.serverCpuUs);
  return `   CPU µs/decision: process ${processOne}|${processMany}, server ${serverOne}|${serverMany}`;
}
