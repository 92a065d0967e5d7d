/**
 * The CPU time a bench server spends per request (or message), read slice by slice: on a shared
 * machine whose load drifts by tens of percent, the server's CPU per unit of work moves far
 * less than throughput, and a median over slices shrugs off a slow one, which a figure over
 * the whole run cannot.
 */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";

/** What a server has done so far: units served and its process CPU time. */
export interface Counters {
  readonly served: number;
  readonly cpuMicros: number;
}

/**
 * In a server: prints its {@link Counters} on SIGUSR2; exits on SIGINT (cleanly, so that
 * `node --cpu-prof` writes its profile).
 */
export function reportCounters(served: () => number): void {
  process.on("SIGUSR2", () => {
    const { user, system } = process.cpuUsage();
    console.log(JSON.stringify({ served: served(), cpuMicros: user + system }));
  });
  process.on("SIGINT", () => process.exit(0));
}

/** In the bench: a server's counters now. */
export async function readCounters(child: ChildProcess): Promise<Counters> {
  const line = once(child.stdout as NodeJS.ReadableStream, "data");
  child.kill("SIGUSR2");
  const [chunk] = (await line) as [Buffer];
  return JSON.parse(chunk.toString()) as Counters;
}

/** CPU µs per unit served between two readings. */
export function cpuPerUnit(before: Counters, after: Counters): number {
  return (after.cpuMicros - before.cpuMicros) / Math.max(1, after.served - before.served);
}

/** Stops a server and waits for it to exit. */
export async function stopServer(child: ChildProcess): Promise<void> {
  const exited = once(child, "exit");
  child.kill("SIGINT");
  await exited;
}
