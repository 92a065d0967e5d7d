import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Database, openDatabase } from "../../../src/backends/sqlite/driver.js";
import { SQLiteBackend } from "../../../src/backends/sqlite/index.js";
import type { BackendError } from "../../../src/errors.js";
import { Rate } from "../../../src/rate.js";
import {
  LeakyBucketWithQueueStrategy,
  SlidingWindowLogStrategy,
  TokenBucketStrategy,
} from "../../../src/strategies/index.js";
import { tryHitAll } from "../../../src/throttles/all-or-nothing.js";
import { HTTPThrottle } from "../../../src/throttles/http.js";
import { allStrategies } from "../../strategies/harness.js";
import { assertNoOverAdmission, assertSameDecisions } from "../shared-checks.js";

describe("SQLiteBackend on a file", () => {
  let dir: string;
  let path: string;
  let now = 0;
  let backend: SQLiteBackend;
  /** A second connection to the file, as another process would have. */
  let peer: Database;
  /** The one number a query of `peer` answers. */
  const scalar = (sql: string) => Object.values(peer.prepare(sql).get() as object)[0];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "traffik-sqlite-"));
    path = join(dir, "limits.db");
    backend = new SQLiteBackend({ path, namespace: "t", clock: () => now });
    await backend.initialize();
    peer = await openDatabase(path, 5000);
  });
  after(async () => {
    peer.close();
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const strategy of allStrategies()) {
    it(`${strategy.name}: decides exactly as the TypeScript strategy over random traces`, async () => {
      const setNow = (at: number) => {
        now = at;
      };
      const fields = ["allowed", "remaining", "retryAfterMs", "resetAfterMs", "delayMs"] as const;
      await assertSameDecisions(backend, strategy, setNow, fields, 15);
      await assertSameDecisions(backend, strategy, setNow, fields, 5, "group");
    });
  }

  it("admits exactly the capacity across four OS processes on one file, for every strategy", () =>
    assertNoOverAdmission("sqlite", join(dir, "race.db")));

  it("keeps the file in WAL mode and the table as documented", () => {
    assert.equal(peer.pragma("journal_mode", { simple: true }), "wal");
    const columns = peer.prepare("SELECT name, type, pk FROM pragma_table_info('traffik')").all();
    assert.deepEqual(columns, [
      { name: "key", type: "TEXT", pk: 1 },
      { name: "state", type: "TEXT", pk: 0 },
      { name: "expires_at", type: "INTEGER", pk: 0 },
    ]);
    const sql = scalar("SELECT sql FROM sqlite_schema WHERE name = 'traffik'");
    assert.match(String(sql), /WITHOUT ROWID$/);
  });

  it("applies a group all or nothing: a rejection leaves every state as it was", async (t) => {
    now = Date.now();
    const group = new SQLiteBackend({ path, namespace: "group" });
    t.after(() => group.close());
    const short = new HTTPThrottle({
      uid: "short",
      rate: "1/h",
      backend: group,
      strategy: new TokenBucketStrategy(),
    });
    const long = new HTTPThrottle({ uid: "long", rate: "5/h", backend: group });
    const conn = { ip: "192.0.2.1" };
    assert.deepEqual(
      (await tryHitAll([short, long], conn)).map((d) => d.allowed),
      [true, true],
    );
    const rejected = await tryHitAll([short, long], conn);
    assert.deepEqual(
      rejected.map((d) => d.allowed),
      [false, true],
    );
    assert.equal((await long.peek(conn)).remaining, 3, "the long window counted only the first");
  });

  it("keeps hostile identities apart, directly and through a throttle", async (t) => {
    now = Date.now();
    const strategy = new SlidingWindowLogStrategy();
    const rate = Rate.parse("1/h");
    const identities = [
      "a b",
      "a_b",
      "a:b",
      "a",
      "a%",
      "'; DROP TABLE traffik; --",
      "x\0y",
      "x",
      "é",
      "🙂",
      "k".repeat(5000),
      "t;",
    ];
    for (const identity of identities) {
      const request = { uid: "h", identity, strategy, rate, cost: 1 };
      assert.ok((await backend.decide(request, "consume")).allowed, JSON.stringify(identity));
    }
    for (const identity of identities) {
      const request = { uid: "h", identity, strategy, rate, cost: 1 };
      assert.ok(!(await backend.decide(request, "consume")).allowed, JSON.stringify(identity));
    }
    const hostile = new SQLiteBackend({ path, namespace: "hostile" });
    t.after(() => hostile.close());
    const throttle = new HTTPThrottle({
      uid: "h",
      rate: "1/h",
      backend: hostile,
      identifier: (conn: { id: string }) => conn.id,
    });
    const lone = ["\uD800", "\uDFFF", "\uFFFD", "#x", "~x", "x"];
    for (const id of lone) assert.ok((await throttle.hit({ id })).allowed, JSON.stringify(id));
    for (const id of lone) {
      await assert.rejects(throttle.hit({ id }), { code: "ERR_TRAFFIK_THROTTLED" });
    }
  });

  it("peeks without storing, clears one client, and resets only its namespace", async (t) => {
    now = Date.now();
    const strategy = new TokenBucketStrategy();
    const rate = Rate.parse("2/h");
    const request = { uid: "p", identity: "c", strategy, rate, cost: 1 };
    const peek = { ...request, cost: 0 };
    const other = new SQLiteBackend({ path, namespace: "t2", clock: () => now });
    t.after(() => other.close());
    for (let i = 0; i < 3; i++) assert.equal((await backend.decide(peek, "peek")).remaining, 2);
    await backend.decide(request, "consume");
    await other.decide(request, "consume");
    assert.equal((await backend.decide(peek, "peek")).remaining, 1);
    await backend.clear("p", "c");
    assert.equal((await backend.decide(peek, "peek")).remaining, 2, "cleared");
    await backend.decide(request, "consume");
    await backend.reset();
    assert.equal((await backend.decide(peek, "peek")).remaining, 2, "reset");
    assert.equal((await other.decide(peek, "peek")).remaining, 1, "another namespace kept");
  });

  it("gives a delayed request's place back only while its state is unchanged", async () => {
    now = 1_000_000;
    const strategy = new LeakyBucketWithQueueStrategy({ queueSize: 3 });
    const rate = Rate.parse("1/s");
    const request = { uid: "q", identity: "c", strategy, rate, cost: 1 };
    const peek = { ...request, cost: 0 };
    await backend.decide(request, "consume");
    const queued = await backend.decide(request, "consume");
    assert.ok(queued.allowed && queued.delayMs > 0);
    const restored = strategy.release?.(queued.state, 1, rate) ?? [];
    await backend.restoreState(request, [1, 2, 3], restored);
    assert.equal((await backend.decide(peek, "peek")).remaining, 2, "a stale state: kept");
    await backend.restoreState(request, queued.state, restored);
    assert.equal((await backend.decide(peek, "peek")).remaining, 3, "its place given back");
  });

  it("removes expired rows by a bounded sweep as decisions go on, keeping live ones", async () => {
    const sweeping = new SQLiteBackend({ path, namespace: "sweep", clock: () => now });
    try {
      now = 5_000_000;
      const strategy = new TokenBucketStrategy();
      const short = Rate.parse("1/s");
      for (let i = 0; i < 200; i++) {
        await sweeping.decide(
          { uid: "s", identity: `c${i}`, strategy, rate: short, cost: 1 },
          "consume",
        );
      }
      const live = { uid: "live", identity: "c", strategy, rate: Rate.parse("1/d"), cost: 1 };
      await sweeping.decide(live, "consume");
      const rows = () => scalar("SELECT count(*) FROM traffik WHERE key LIKE 'sweep:%'");
      assert.equal(rows(), 201);
      now += 60_000;
      // A sweep of 64 keys per 16 writes, from where the last stopped, back to the first key
      // after the last: 8 sweeps pass the 203 keys at least once.
      for (let i = 0; i < 128; i++)
        await sweeping.decide({ ...live, identity: "other" }, "consume");
      assert.equal(rows(), 2, "only the live rows are left");
    } finally {
      await sweeping.close();
    }
  });

  it("offers the primitives and token locks", async () => {
    now = Date.now();
    assert.equal(await backend.get("p:missing"), null);
    await backend.set("p:s", "hello", 60_000);
    assert.equal(await backend.get("p:s"), "hello");
    now += 60_000;
    assert.equal(await backend.get("p:s"), null, "expired");
    await backend.set("p:f", "forever");
    assert.equal(await backend.get("p:f"), "forever");
    await backend.delete("p:f");
    await backend.delete("p:f");
    assert.equal(await backend.get("p:f"), null);

    const held = await backend.lock("job", { ttlMs: 1000 });
    await assert.rejects(backend.lock("job", { blocking: false }), (error: BackendError) => {
      return error.code === "ERR_TRAFFIK_LOCK_HELD";
    });
    assert.equal(await held.release(), true);
    assert.equal(await held.release(), false, "twice is harmless");
    const expiring = await backend.lock("job", { ttlMs: 1000 });
    now += 1000;
    const next = await backend.lock("job", { ttlMs: 1000, blocking: false });
    assert.equal(await expiring.release(), false, "an expired holder cannot free the new one");
    assert.equal(await next.release(), true);
  });
});
