import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { PostgresBackend } from "../../../src/backends/postgres/index.js";
import type { Step, StrategyState } from "../../../src/strategies/strategy.js";
import { allStrategies, rateArb } from "../../strategies/harness.js";
import {
  type PostgresServer,
  postgresBinaries,
  startPostgres,
} from "../../support/postgres-server.js";
import { assertSameDecisions } from "../shared-checks.js";

const bin = postgresBinaries();
const FIELDS = ["allowed", "remaining", "retryAfterMs", "resetAfterMs", "delayMs"] as const;

describe("the PL/pgSQL mirrors decide exactly as the TypeScript strategies", { skip: !bin }, () => {
  let server: PostgresServer;
  let now = 0;
  let backend: PostgresBackend;
  let production: PostgresBackend;

  before(async () => {
    server = await startPostgres(bin as string);
    // The test-only clock: both sides see the same `now`.
    backend = new PostgresBackend({
      connection: server.url,
      namespace: "parity",
      clock: () => now,
    });
    production = new PostgresBackend({ connection: server.url, namespace: "server-clock" });
    await backend.initialize();
    await production.initialize();
  });
  after(async () => {
    await backend?.close();
    await production?.close();
    await server?.stop();
  });

  for (const strategy of allStrategies()) {
    for (const via of ["alone", "group", "batch"] as const) {
      it(`${strategy.name}: same decisions over random traces, ${via}, on an injected clock`, () =>
        assertSameDecisions(
          backend,
          strategy,
          (at) => {
            now = at;
          },
          FIELDS,
          via === "alone" ? 30 : 10,
          via,
        ));
    }
  }

  let clients = 0;
  for (const strategy of allStrategies()) {
    it(`${strategy.name}: same decisions on the server's clock (clock_timestamp())`, async () => {
      // The server decides at a time this test cannot set: it reads the server's clock before
      // and after each call, and requires the step and state to be the TypeScript strategy's
      // at one whole millisecond between the two. A group of two returns the state.
      await fc.assert(
        fc.asyncProperty(
          rateArb,
          fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 25 }),
          async (rate, costs) => {
            const identity = `c${clients++}`;
            let state: StrategyState | undefined;
            for (const cost of costs) {
              if (cost > strategy.capacity(rate)) continue;
              const before = await serverNow(server.url);
              const request = { uid: "s", identity, strategy, rate, cost };
              const marker = { ...request, identity: `${identity}-m`, cost: 0 };
              const [step] = (await production.decideAll(
                [request, marker],
                cost === 0 ? "peek" : "consume",
              )) as [Step, Step];
              const after = await serverNow(server.url);
              let match: Step | undefined;
              for (let t = before; t <= after && match === undefined; t++) {
                const expected = strategy.apply(state, t, cost, rate);
                const same = FIELDS.every((field) => expected[field] === step[field]);
                const sameState = !step.allowed || String(expected.state) === String(step.state);
                if (same && sameState) match = expected;
              }
              assert.ok(match, `no time in [${before}, ${after}] gives ${JSON.stringify(step)}`);
              if (match.allowed && cost > 0) state = match.state;
            }
          },
        ),
        { numRuns: 8 },
      );
    });
  }
});

/** The server's clock in whole ms, as the decision function reads it. */
async function serverNow(url: string): Promise<number> {
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(
      "SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS t",
    );
    return Number((rows[0] as { t: string }).t);
  } finally {
    await client.end();
  }
}
