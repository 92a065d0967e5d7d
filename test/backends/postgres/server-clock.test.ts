/**
 * The production clock path: decisions on the PostgreSQL server's `clock_timestamp()`, no
 * test clock, still exactly the TypeScript strategies' (the arithmetic itself is held to them
 * over random traces on an injected clock in parity.test.ts).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import pg from "pg";
import { PostgresBackend } from "../../../src/backends/postgres/index.js";
import type { Step, StrategyState } from "../../../src/strategies/strategy.js";
import { allStrategies, rateArb } from "../../strategies/harness.js";
import {
  type PostgresServer,
  postgresBinaries,
  startPostgres,
} from "../../support/postgres-server.js";

const bin = postgresBinaries();
const FIELDS = ["allowed", "remaining", "retryAfterMs", "resetAfterMs", "delayMs"] as const;

describe("the PL/pgSQL mirrors on the server's clock", { skip: !bin }, () => {
  let server: PostgresServer;
  let production: PostgresBackend;
  let admin: pg.Pool;

  before(async () => {
    server = await startPostgres(bin as string);
    production = new PostgresBackend({ connection: server.url, namespace: "server-clock" });
    admin = new pg.Pool({ connectionString: server.url, max: 1 });
    await production.initialize();
  });
  after(async () => {
    await production?.close();
    await admin?.end();
    await server?.stop();
  });

  /** The server's clock in whole ms, as the decision function reads it. */
  async function serverNow(): Promise<number> {
    const { rows } = await admin.query(
      "SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS t",
    );
    return Number((rows[0] as { t: string }).t);
  }

  let clients = 0;
  for (const strategy of allStrategies()) {
    it(`${strategy.name}: the TypeScript strategy's step at the server's time`, async () => {
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
              const before = await serverNow();
              const request = { uid: "s", identity, strategy, rate, cost };
              const marker = { ...request, identity: `${identity}-m`, cost: 0 };
              const [step] = (await production.decideAll(
                [request, marker],
                cost === 0 ? "peek" : "consume",
              )) as [Step, Step];
              const after = await serverNow();
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
        { numRuns: 6 },
      );
    });
  }
});
