import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { PostgresBackend } from "../../../src/backends/postgres/index.js";
import { HTTPThrottle } from "../../../src/index.js";
import { GCRAStrategy } from "../../../src/strategies/index.js";
import { postgresBinaries, startPostgres } from "../../support/postgres-server.js";

const bin = postgresBinaries();

describe("PostgresBackend when the server restarts mid-traffic", { skip: !bin }, () => {
  it("answers by onError during the outage, never charging for it, and recovers after", async (t) => {
    const server = await startPostgres(bin as string);
    const backend = new PostgresBackend({
      connection: server.url,
      namespace: "restart",
      table: "kept_state",
      logged: true,
      // Far above a loaded machine's answer time: only the kill fails calls (at once, the
      // connections closed or refused), never a slow one while the server is up.
      timeoutMs: 10_000,
    });
    let stop = false;
    let traffic: Promise<void> = Promise.resolve();
    t.after(async () => {
      stop = true;
      await traffic.catch(() => {});
      await backend.close().catch(() => {});
      await server.stop();
    });
    const throttle = new HTTPThrottle<string>({
      uid: "r",
      rate: "3/h",
      backend,
      strategy: new GCRAStrategy(),
      identifier: (id) => id,
      onError: "allow",
    });
    assert.equal((await throttle.tryHit("c")).source, "backend");
    // Traffic that keeps coming while the server dies and comes back.
    const sources: string[] = [];
    traffic = (async () => {
      while (!stop) {
        sources.push((await throttle.tryHit(`other-${sources.length}`)).source);
        await sleep(5);
      }
    })();
    await server.kill();
    // Counted in polls, not measured: the outage is answered by onError...
    let decision = await throttle.tryHit("probe");
    for (let polls = 0; decision.source !== "error"; polls++) {
      assert.ok(polls < 60, "onError answers within 60 polls of the kill");
      await sleep(50);
      decision = await throttle.tryHit("probe");
    }
    for (let i = 0; i < 5; i++) assert.equal((await throttle.tryHit("c")).source, "error");
    await server.start();
    // ...and once the server is back, the pool reconnects and the backend decides again.
    for (let polls = 0; decision.source !== "backend"; polls++) {
      assert.ok(polls < 100, "back on the server within 100 polls, 50 ms apart");
      await sleep(50);
      decision = await throttle.tryHit("probe");
    }
    stop = true;
    await traffic;
    assert.ok(sources.includes("error") && sources.at(-1) === "backend", sources.join());
    // The logged table kept "c"'s first hit; the five answered by onError were not charged.
    assert.equal((await throttle.peek("c")).remaining, 1);
  });
});

describe("PostgresBackend when the server freezes", { skip: !bin }, () => {
  it("answers every decision by onError in bounded time, and charges none of them after", async (t) => {
    const server = await startPostgres(bin as string);
    const backend = new PostgresBackend({
      connection: server.url,
      namespace: "frozen",
      // Only the freeze reaches it, not the warm-up call before it on a loaded machine.
      timeoutMs: 2_000,
      poolSize: 4,
    });
    t.after(async () => {
      server.thaw();
      await backend.close().catch(() => {});
      await server.stop();
    });
    const throttle = new HTTPThrottle<string>({
      uid: "f",
      rate: "2/h",
      backend,
      strategy: new GCRAStrategy(),
      identifier: (id) => id,
      onError: "allow",
    });
    assert.equal((await throttle.tryHit("warm")).source, "backend");
    server.freeze();
    // Four hang on the pool's connections until their deadline; the rest wait for a turn
    // that does not come, and are given up once the pool has not answered for 2 s.
    const decisions = await Promise.all(Array.from({ length: 12 }, () => throttle.tryHit("c")));
    assert.deepEqual(
      new Set(decisions.map((d) => `${d.source} ${d.allowed}`)),
      new Set(["error true"]),
    );
    server.thaw();
    let probe = await throttle.tryHit("probe");
    for (let polls = 0; probe.source !== "backend"; polls++) {
      assert.ok(polls < 100, "back on the server within 100 polls, 50 ms apart");
      await sleep(50);
      probe = await throttle.tryHit("probe");
    }
    // The calls that hung ran once the server thawed, past their deadline: they wrote nothing.
    assert.equal((await throttle.peek("c")).remaining, 1);
  });
});
