/** Runs the race worker in four OS processes on one SQLite file, started together. */
import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Rate } from "../../../src/rate.js";
import { allStrategies } from "../../strategies/harness.js";

/** The next line `child` prints, or an error with what it wrote to stderr if it exits first. */
function nextLine(child: ChildProcessWithoutNullStreams, lines: AsyncIterator<string>) {
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return async (): Promise<string> => {
    const line = await lines.next();
    if (line.done) throw new Error(`worker exited: ${stderr}`);
    return line.value;
  };
}

/**
 * Four processes decide `rounds` times each for every strategy on one shared key per
 * strategy, all at once; together they must admit exactly each strategy's capacity.
 */
export async function assertExactAcrossFourProcesses(path: string, rounds = 60): Promise<void> {
  const worker = join(import.meta.dirname, "race-worker.ts");
  const children = [0, 1, 2, 3].map(() =>
    spawn(process.execPath, ["--import", "tsx", worker, path, String(rounds)]),
  );
  try {
    const readers = children.map((child) =>
      nextLine(child, createInterface({ input: child.stdout })[Symbol.asyncIterator]()),
    );
    for (const read of readers) assert.equal(await read(), "ready");
    for (const child of children) child.stdin.write("go\n");
    const counts = await Promise.all(readers.map(async (read) => JSON.parse(await read())));
    const totals: Record<string, number> = {};
    for (const count of counts as Record<string, number>[]) {
      for (const [uid, n] of Object.entries(count)) totals[uid] = (totals[uid] ?? 0) + n;
    }
    const rate = Rate.parse("20/h");
    allStrategies().forEach((strategy, index) => {
      assert.equal(
        totals[`s${index}`],
        strategy.capacity(rate),
        `${strategy.name}: ${4 * rounds} requests, capacity ${strategy.capacity(rate)}`,
      );
    });
    await Promise.all(
      children.map((child) => (child.exitCode === null ? once(child, "exit") : undefined)),
    );
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill();
  }
}
