/**
 * States this process last saw (known states, `src/backends/memcached/known-states.ts`) save a
 * `gets` per decision, but only ever as a guess: another process's writes must count all the
 * same, whether they make this process's guess too full or too empty.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MemcachedBackend } from "../../../src/backends/memcached/index.js";
import { HTTPThrottle, Rate } from "../../../src/index.js";
import {
  FixedWindowStrategy,
  GCRAStrategy,
  LeakyBucketStrategy,
  SlidingWindowCounterStrategy,
  SlidingWindowLogStrategy,
  TokenBucketStrategy,
} from "../../../src/strategies/index.js";
import { hasBinary, type MemcachedServer, startMemcached } from "../../support/servers.js";
import { fromAddress } from "../shared-adjust-checks.js";

const MONTH_MS = 30 * 86_400_000;

/** The strategies that admit a limit's worth at once and nothing more (no debt, no queue). */
const strict = () => [
  new FixedWindowStrategy(),
  new SlidingWindowLogStrategy(),
  new SlidingWindowCounterStrategy(),
  new TokenBucketStrategy(),
  new LeakyBucketStrategy(),
  new GCRAStrategy(),
];

describe("MemcachedBackend's known states", {
  skip: !hasBinary("memcached"),
  timeout: 120_000,
}, () => {
  let server: MemcachedServer;
  let here: MemcachedBackend;
  let there: MemcachedBackend;
  before(async () => {
    server = await startMemcached();
    here = new MemcachedBackend({ servers: [server.address], namespace: "known" });
    there = new MemcachedBackend({ servers: [server.address], namespace: "known" });
    await Promise.all([here.initialize(), there.initialize()]);
  });
  after(async () => {
    await here?.close();
    await there?.close();
    await server?.stop();
  });

  it("admits what another process gave back after this one saw the client full", async () => {
    for (const [n, strategy] of strict().entries()) {
      const uid = `given-back-${n}`;
      const rate = new Rate({ limit: 3, milliseconds: MONTH_MS });
      const local = new HTTPThrottle({ uid, rate, strategy, backend: here });
      const remote = new HTTPThrottle({ uid, rate, strategy, backend: there });
      const client = fromAddress("192.0.2.7");
      for (let i = 0; i < 3; i++) await local.tryHit(client);
      assert.equal((await local.tryHit(client)).allowed, false, strategy.name);
      await remote.reward(client, 3);
      // Right after an answer from the server, when a known state may be used.
      const admitted = await local.peek(fromAddress("192.0.2.8")).then(() => local.tryHit(client));
      assert.equal(admitted.allowed, true, `${strategy.name}: decided on the stale full state`);
    }
  });

  it("counts what another process admitted after this one wrote", async () => {
    for (const [n, strategy] of strict().entries()) {
      const uid = `taken-${n}`;
      const rate = new Rate({ limit: 4, milliseconds: MONTH_MS });
      const local = new HTTPThrottle({ uid, rate, strategy, backend: here });
      const remote = new HTTPThrottle({ uid, rate, strategy, backend: there });
      const client = fromAddress("192.0.2.9");
      assert.equal((await local.tryHit(client)).allowed, true, strategy.name);
      for (let i = 0; i < 3; i++) assert.equal((await remote.tryHit(client)).allowed, true);
      const last = await local.peek(fromAddress("192.0.2.10")).then(() => local.tryHit(client));
      assert.equal(last.allowed, false, `${strategy.name}: admitted on the stale state`);
    }
  });
});
