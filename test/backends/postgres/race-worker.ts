/**
 * One process of the over-admission test: fires `concurrency` decisions at once for every
 * strategy against one shared key per strategy, and prints how many each admitted.
 * Usage: race-worker.ts <postgres URL> <concurrency>
 */
import { PostgresBackend } from "../../../src/backends/postgres/index.js";
import { Rate } from "../../../src/rate.js";
import { allStrategies } from "../../strategies/harness.js";

const [url = "", concurrency = "60"] = process.argv.slice(2);
const backend = new PostgresBackend({ connection: url, namespace: "race", poolSize: 8 });
await backend.initialize();
const rate = Rate.parse("20/h");
const admitted: Record<string, number> = {};
await Promise.all(
  allStrategies().map(async (strategy, index) => {
    const request = { uid: `s${index}`, identity: "shared", strategy, rate, cost: 1 };
    const steps = await Promise.all(
      Array.from({ length: Number(concurrency) }, () => backend.decide(request, "consume")),
    );
    admitted[`s${index}`] = steps.filter((step) => step.allowed).length;
  }),
);
console.log(JSON.stringify(admitted));
await backend.close();
