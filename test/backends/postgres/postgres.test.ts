import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { PostgresBackend } from "../../../src/backends/postgres/index.js";
import { Rate } from "../../../src/rate.js";
import {
  FixedWindowStrategy,
  LeakyBucketWithQueueStrategy,
  SlidingWindowLogStrategy,
  TokenBucketStrategy,
} from "../../../src/strategies/index.js";
import type { Step, StrategyState } from "../../../src/strategies/strategy.js";
import { tryHitAll } from "../../../src/throttles/all-or-nothing.js";
import { HTTPThrottle } from "../../../src/throttles/http.js";
import {
  type PostgresServer,
  postgresBinaries,
  startPostgres,
} from "../../support/postgres-server.js";
import { assertNoOverAdmission } from "../shared-checks.js";

const bin = postgresBinaries();

/** A token bucket whose `apply` is its own: no mirror decides it, `apply` does. */
class CountingBucket extends TokenBucketStrategy {
  calls = 0;
  override apply(state: StrategyState | undefined, now: number, cost: number, rate: Rate): Step {
    this.calls++;
    return super.apply(state, now, cost, rate);
  }
}

describe("PostgresBackend against a real PostgreSQL", { skip: !bin }, () => {
  let server: PostgresServer;
  let now = 1_800_000_000_000;
  let backend: PostgresBackend;
  let admin: pg.Pool;

  before(async () => {
    server = await startPostgres(bin as string);
    admin = new pg.Pool({ connectionString: server.url, max: 2 });
    backend = new PostgresBackend({ connection: server.url, namespace: "t", clock: () => now });
    await backend.initialize();
  });
  after(async () => {
    await backend?.close();
    await admin?.end();
    await server?.stop();
  });

  it("admits exactly the capacity across four OS processes, for every strategy", () =>
    assertNoOverAdmission("postgres", server.url));

  it("applies a group all or nothing: a rejection leaves every state as it was", async () => {
    const short = new HTTPThrottle({
      uid: "short",
      rate: "1/h",
      backend,
      strategy: new TokenBucketStrategy(),
    });
    const long = new HTTPThrottle({ uid: "long", rate: "5/h", backend });
    const conn = { ip: "192.0.2.1" };
    assert.deepEqual(
      (await tryHitAll([short, long], conn)).map((d) => d.allowed),
      [true, true],
    );
    assert.deepEqual(
      (await tryHitAll([short, long], conn)).map((d) => d.allowed),
      [false, true],
    );
    assert.equal((await long.peek(conn)).remaining, 3, "the long window counted only the first");
  });

  it("peeks without storing, and clear and reset forget", async () => {
    const strategy = new SlidingWindowLogStrategy();
    const rate = Rate.parse("2/h");
    const request = { uid: "pk", identity: "c", strategy, rate, cost: 1 };
    for (let i = 0; i < 3; i++) assert.ok((await backend.decide(request, "peek")).allowed);
    assert.ok((await backend.decide(request, "consume")).allowed);
    assert.equal((await backend.decide({ ...request, cost: 0 }, "peek")).remaining, 1);
    await backend.clear("pk", "c");
    assert.equal((await backend.decide({ ...request, cost: 0 }, "peek")).remaining, 2);
    assert.ok((await backend.decide(request, "consume")).allowed);
    const other = new PostgresBackend({ connection: server.url, namespace: "other" });
    try {
      await other.decide(request, "consume");
      await backend.reset();
      assert.equal((await backend.decide({ ...request, cost: 0 }, "peek")).remaining, 2);
      assert.equal((await other.decide({ ...request, cost: 0 }, "peek")).remaining, 1, "kept");
    } finally {
      await other.close();
    }
  });

  it("keeps hostile identities apart (NUL, %, quotes, emoji, 2000 characters)", async () => {
    const strategy = new SlidingWindowLogStrategy();
    const rate = Rate.parse("1/h");
    const identities = [
      "a\0b",
      "a%00b",
      "a%b",
      "a%25b",
      "'; DROP TABLE x; --",
      "🙂",
      "k".repeat(2000),
      "",
    ];
    for (const identity of identities) {
      const step = await backend.decide({ uid: "h", identity, strategy, rate, cost: 1 }, "consume");
      assert.ok(step.allowed, JSON.stringify(identity.slice(0, 20)));
    }
    for (const identity of identities) {
      const step = await backend.decide({ uid: "h", identity, strategy, rate, cost: 1 }, "consume");
      assert.ok(!step.allowed, JSON.stringify(identity.slice(0, 20)));
    }
  });

  it("decides a strategy without a mirror by its own apply, under the same locks", async () => {
    const strategy = new CountingBucket();
    const rate = Rate.parse("3/h");
    const request = { uid: "custom", identity: "c", strategy, rate, cost: 1 };
    const steps = await Promise.all(
      Array.from({ length: 10 }, () => backend.decide(request, "consume")),
    );
    assert.equal(steps.filter((s) => s.allowed).length, 3);
    assert.ok(strategy.calls >= 10, "apply decided every request");
    // A group mixing it with a mirrored strategy is decided in one transaction as well.
    const fixed = {
      uid: "custom-fw",
      identity: "c",
      strategy: new FixedWindowStrategy(),
      rate,
      cost: 1,
    };
    const group = await backend.decideAll([fixed, request], "consume");
    assert.deepEqual(
      group.map((s) => s.allowed),
      [true, false],
    );
    assert.equal((await backend.decide({ ...fixed, cost: 0 }, "peek")).remaining, 3, "not kept");
  });

  it("gives an abandoned place back only while the state is still the admitted one", async () => {
    const strategy = new LeakyBucketWithQueueStrategy({ queueSize: 3 });
    const rate = Rate.parse("1/s");
    const request = { uid: "q", identity: "c", strategy, rate, cost: 1 };
    await backend.decide(request, "consume");
    const queued = await backend.decide(request, "consume");
    assert.ok(queued.allowed && queued.delayMs === 1000 && queued.state.length === 2);
    const restored = strategy.release(queued.state, 1, rate);
    await backend.restoreState(request, queued.state, restored);
    const again = await backend.decide(request, "consume");
    assert.equal(again.delayMs, 1000, "the place was given back");
    const behind = await backend.decide(request, "consume");
    assert.equal(behind.delayMs, 2000);
    // A request queued behind: giving `queued`'s place back now must change nothing.
    await backend.restoreState(request, queued.state, restored);
    assert.equal((await backend.decide(request, "consume")).delayMs, 3000);
  });

  it("sweeps expired rows in bounded steps carried by decisions", async (t) => {
    const sweeping = new PostgresBackend({
      connection: server.url,
      namespace: "sweep",
      clock: () => now,
      sweep: { every: 1, rows: 7 },
    });
    t.after(() => sweeping.close());
    const strategy = new TokenBucketStrategy();
    const rate = Rate.parse("5/s");
    for (let i = 0; i < 30; i++) {
      await sweeping.decide({ uid: "s", identity: `c${i}`, strategy, rate, cost: 1 }, "consume");
    }
    const count = async () =>
      Number(
        (await admin.query("SELECT count(*) AS n FROM traffik_state WHERE key LIKE 'sweep:%'"))
          .rows[0].n,
      );
    // Every state expires within a second; each later decision examines 7 rows.
    now += 60_000;
    const before = await count();
    await sweeping.decide({ uid: "s", identity: "x", strategy, rate, cost: 1 }, "consume");
    assert.equal(await count(), before + 1 - 7, "one sweep deleted 7 expired rows, no more");
    for (let i = 0; i < 5; i++) {
      await sweeping.decide({ uid: "s", identity: "x", strategy, rate, cost: 0 }, "peek");
    }
    assert.equal(await count(), 1, "the sweep went round the namespace; the live row stays");
  });

  it("offers the store primitives and locks over the table", async () => {
    await backend.set("k", "v", 1000);
    assert.equal(await backend.get("k"), "v");
    now += 1000;
    assert.equal(await backend.get("k"), null, "expired on the deciding clock");
    const lock = await backend.lock("l", { ttlMs: 500 });
    await assert.rejects(backend.lock("l", { blocking: false }), { code: "ERR_TRAFFIK_LOCK_HELD" });
    assert.equal(await lock.release(), true);
    const lapsed = await backend.lock("l", { ttlMs: 500 });
    now += 501;
    const taken = await backend.lock("l", { blocking: false });
    assert.equal(await lapsed.release(), false, "a lapsed lock is another's");
    assert.equal(await taken.release(), true);
  });
});
