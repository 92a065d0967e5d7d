/**
 * The table and the functions dropped, or the whole schema recreated, while decisions run:
 * the backend creates them again and decides on, every decision answered by the server.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { PostgresBackend } from "../../../src/backends/postgres/index.js";
import { Rate } from "../../../src/rate.js";
import {
  FixedWindowStrategy,
  GCRAStrategy,
  SlidingWindowLogStrategy,
  TokenBucketStrategy,
} from "../../../src/strategies/index.js";
import type { Step, StrategyState } from "../../../src/strategies/strategy.js";
import {
  type PostgresServer,
  postgresBinaries,
  startPostgres,
} from "../../support/postgres-server.js";

const bin = postgresBinaries();

/** A token bucket decided by its own `apply`, in a transaction: the path without a mirror. */
class OwnBucket extends TokenBucketStrategy {
  override apply(state: StrategyState | undefined, now: number, cost: number, rate: Rate): Step {
    return super.apply(state, now, cost, rate);
  }
}

const drops: Record<string, string> = {
  "the table": "DROP TABLE traffik_state",
  "the functions": `DO $$ DECLARE f regprocedure; BEGIN
      FOR f IN SELECT oid::regprocedure FROM pg_proc WHERE proname LIKE 'traffik_state_%' LOOP
        EXECUTE 'DROP FUNCTION ' || f;
      END LOOP; END $$`,
  "the schema (dropped and created again)": "DROP SCHEMA public CASCADE; CREATE SCHEMA public",
};

describe("PostgresBackend when its schema disappears mid-traffic", { skip: !bin }, () => {
  let server: PostgresServer;
  let admin: pg.Pool;
  let backend: PostgresBackend;

  before(async () => {
    server = await startPostgres(bin as string);
    admin = new pg.Pool({ connectionString: server.url, max: 2 });
    // A deadline a loaded machine's stalls do not reach (this test counts, it does not time),
    // and that its timer, armed until the last call's deadline, outlives by less than the
    // watchdog allows.
    backend = new PostgresBackend({ connection: server.url, namespace: "gone", timeoutMs: 5_000 });
    await backend.initialize();
  });
  after(async () => {
    await backend?.close();
    await admin?.end();
    await server?.stop();
  });

  const rate = Rate.parse("1000000/h");
  const strategies = [
    new FixedWindowStrategy(),
    new GCRAStrategy(),
    new SlidingWindowLogStrategy(),
    new OwnBucket(),
  ];
  let clients = 0;

  /** Decisions on every path (lone, group, by `apply`, primitives) until `stop` is set. */
  async function traffic(stop: { done: boolean; decided: number }): Promise<void> {
    const lane = async (lane: number) => {
      while (!stop.done) {
        const identity = `c${clients++ % 50}`;
        const strategy = strategies[lane % strategies.length] as (typeof strategies)[number];
        const request = { uid: `u${lane}`, identity, strategy, rate, cost: 1 };
        if (lane === 4) {
          const steps = await backend.decideAll(
            [request, { ...request, uid: "other", strategy: new FixedWindowStrategy() }],
            "consume",
          );
          assert.ok(steps.every((step) => step.allowed));
        } else if (lane === 5) {
          await backend.set(`value-${identity}`, "v", 60_000);
          // Null only when the table went between the two calls.
          assert.ok(["v", null].includes(await backend.get(`value-${identity}`)));
        } else {
          assert.ok((await backend.decide(request, "consume")).allowed);
        }
        stop.decided++;
      }
    };
    await Promise.all([0, 1, 2, 3, 4, 5, 0, 1].map(lane));
  }

  /** Resolves once `decided` has reached `count` (or the traffic failed). */
  async function until(progress: { decided: number }, count: number, running: Promise<void>) {
    let failed = false;
    running.catch(() => {
      failed = true;
    });
    while (progress.decided < count && !failed) await new Promise((r) => setImmediate(r));
  }

  for (const [what, statement] of Object.entries(drops)) {
    it(`recreates ${what} and decides on, with no decision failing`, async () => {
      const progress = { done: false, decided: 0 };
      const running = traffic(progress);
      try {
        // Some traffic first, then the drop while it runs, then as much again.
        await until(progress, 40, running);
        await admin.query(statement);
        await until(progress, progress.decided + 40, running);
      } finally {
        progress.done = true;
      }
      await running;
      const gone = await admin.query(
        `SELECT to_regclass('traffik_state') IS NULL AS t,
          (SELECT count(*) FROM pg_proc WHERE proname LIKE 'traffik_state_%') AS f`,
      );
      assert.deepEqual(gone.rows[0], { t: false, f: "2" }, "the table and both functions are back");
      // Exact again on the recreated table: 64 decisions at once on a new key.
      const exact = Rate.parse("10/h");
      for (const strategy of strategies) {
        const identity = `${what}-${strategy.name}`;
        const request = { uid: "exact", identity, strategy, rate: exact, cost: 1 };
        const steps = await Promise.all(
          Array.from({ length: 64 }, () => backend.decide(request, "consume")),
        );
        const admitted = steps.filter((step) => step.allowed).length;
        assert.equal(admitted, strategy.capacity(exact), strategy.name);
      }
    });
  }

  it("fails a decision plainly, once, when the schema cannot be created again", async () => {
    const request = {
      uid: "lost",
      identity: "c",
      strategy: new GCRAStrategy(),
      rate: Rate.parse("5/h"),
      cost: 1,
    };
    await admin.query("DROP SCHEMA public CASCADE");
    try {
      await assert.rejects(async () => backend.decide(request, "consume"), {
        name: "BackendError",
        message: /schema "public" does not exist/,
      });
    } finally {
      await admin.query("CREATE SCHEMA public");
    }
    assert.ok((await backend.decide(request, "consume")).allowed, "recreated on the next call");
  });
});
