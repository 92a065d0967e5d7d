/**
 * One process of the four-process test on one SQLite file: opens the backend, prints "ready",
 * waits for "go" on stdin (so that the four race from the same moment), then decides
 * `rounds` times for every strategy, each on one key shared by all processes, and prints how
 * many each admitted.
 * Usage: race-worker.ts <database file> <rounds>
 */
import { once } from "node:events";
import { SQLiteBackend } from "../../../src/backends/sqlite/index.js";
import { Rate } from "../../../src/rate.js";
import type { Step } from "../../../src/strategies/strategy.js";
import { allStrategies } from "../../strategies/harness.js";

const [path = "", rounds = "60"] = process.argv.slice(2);
// A deadline no stall of a loaded machine reaches: this test counts, it does not time.
const backend = new SQLiteBackend({ path, namespace: "race", timeoutMs: 60_000 });
await backend.initialize();
process.stdout.write("ready\n");
process.stdin.setEncoding("utf8");
await once(process.stdin, "data");
const rate = Rate.parse("20/h");
const strategies = allStrategies();
const admitted: Record<string, number> = {};
for (let round = 0; round < Number(rounds); round++) {
  strategies.forEach((strategy, index) => {
    const request = { uid: `s${index}`, identity: "shared", strategy, rate, cost: 1 };
    const step = backend.decide(request, "consume") as Step;
    admitted[`s${index}`] = (admitted[`s${index}`] ?? 0) + (step.allowed ? 1 : 0);
  });
}
process.stdout.write(`${JSON.stringify(admitted)}\n`);
process.stdin.destroy();
await backend.close();
