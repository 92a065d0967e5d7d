/** Penalties, rewards and bans on a real memcached: compare-and-swap, as decisions are made. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MemcachedBackend } from "../../../src/backends/memcached/index.js";
import { type Decision, HTTPThrottle, Rate } from "../../../src/index.js";
import { hasBinary, type MemcachedServer, startMemcached } from "../../support/servers.js";
import {
  adjustChecks,
  assertAdjustmentsAcrossFourProcesses,
  fromAddress,
  raceStrategies,
} from "../shared-adjust-checks.js";

describe("penalty, reward and block on MemcachedBackend", { skip: !hasBinary("memcached") }, () => {
  let server: MemcachedServer;
  let backend: MemcachedBackend;
  before(async () => {
    server = await startMemcached();
    backend = new MemcachedBackend({ servers: [server.address], namespace: "adjust-race" });
    await backend.initialize();
  });
  after(async () => {
    await backend?.close();
    await server?.stop();
  });

  for (const [name, check] of adjustChecks) it(name, () => check(backend));

  // Hundreds of adjustments on one key from one process (refunds on a hot client make as many)
  // must not contend with each other: each exhausting its compare-and-swap attempts or the
  // deadline would be an "outage", which degraded mode (on by default) answers from the local
  // fallback, silently: the unit never reaches memcached, and the client's count drifts.
  it("a flood of penalties and rewards on one key from one process loses nothing", async () => {
    // From 300 of 1000: no order of these calls can reach 0 or the limit, so no cap binds.
    const rate = new Rate({ limit: 1000, milliseconds: 3_600_000 });
    for (const [name, strategy] of raceStrategies()) {
      const uid = `flood-${name}-${process.pid}`;
      const throttle = new HTTPThrottle({ uid, rate, strategy, backend });
      const client = fromAddress("192.0.2.40");
      await throttle.penalty(client, 300);
      const calls: Promise<Decision>[] = [];
      for (let i = 0; i < 60; i++) calls.push(throttle.tryHit(client));
      for (let i = 0; i < 150; i++) calls.push(throttle.penalty(client, 1));
      for (let i = 0; i < 150; i++) calls.push(throttle.reward(client, 1));
      const decisions = await Promise.all(calls);
      assert.equal(
        decisions.filter((d) => d.source !== "backend").length,
        0,
        `${name}: not memcached's`,
      );
      assert.ok(
        decisions.slice(0, 60).every((hit) => hit.allowed),
        `${name}: every request admitted`,
      );
      assert.equal((await throttle.peek(client)).remaining, 1000 - 300 - 60 - 1, name);
    }
  });

  it("loses nothing across four OS processes", async () => {
    await assertAdjustmentsAcrossFourProcesses("memcached", server.address, backend);
  });
});
