/**
 * Events on a real Redis killed and restarted: the backend's state changes (ready, outage
 * began, outage ended, closed), one logger line per outage start and end, the decisions'
 * sources; and, without degraded mode, `onError`'s decisions with their cause.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { RedisBackend } from "../../src/backends/redis/index.js";
import { BackendError } from "../../src/errors.js";
import {
  type BackendErrorEvent,
  type BackendStateEvent,
  CHANNELS,
  type DecisionEvent,
  HTTPThrottle,
} from "../../src/index.js";
import { outageWarnings } from "../support/failover-traffic.js";
import { hasBinary, startRedis } from "../support/servers.js";
import { memoryLogger, record } from "./support.js";

const skip = !hasBinary("redis-server");

describe("events on Redis, through an outage", { skip }, () => {
  it("publishes ready, the outage's start and end, closed; logs one line for each end of the outage", async (t) => {
    const server = await startRedis();
    const logger = memoryLogger();
    const backend = new RedisBackend({
      connection: server.url,
      namespace: "ev",
      // Far above a loaded machine's answer time: only the kill makes calls fail (at once, as
      // the client queues nothing offline), never a slow first call.
      timeoutMs: 10_000,
      logger,
    });
    const states = record<BackendStateEvent>(CHANNELS.backendState);
    const decisions = record<DecisionEvent>(CHANNELS.decision);
    const warnings = outageWarnings();
    t.after(async () => {
      states.stop();
      decisions.stop();
      warnings.stop();
      await backend.close().catch(() => {});
      await server.stop();
    });
    const throttle = new HTTPThrottle<string>({
      uid: "ev",
      rate: "3/h",
      backend,
      identifier: (id) => id,
    });
    await throttle.tryHit("c");
    await server.kill();
    for (let i = 0; i < 5; i++) await throttle.tryHit("c");
    await server.start();
    // Counted in polls, not measured: a stall delays reconnection and the polls alike.
    let source = "degraded";
    for (let polls = 0; source !== "backend"; polls++) {
      assert.ok(polls < 60, "back on the server within 60 polls, 50 ms apart");
      await sleep(50);
      source = (await throttle.tryHit("e")).source;
    }
    await backend.close();

    assert.deepEqual(
      states.events.map((e) => e.state),
      ["ready", "outage-began", "outage-ended", "closed"],
    );
    const [, began, ended] = states.events;
    assert.equal(began?.backend, "ev");
    assert.equal(began?.node, "");
    assert.ok(began?.error instanceof Error);
    assert.equal(ended?.backend, "ev");
    assert.ok(typeof ended?.durationMs === "number" && ended.durationMs >= 0);

    const during = decisions.events.slice(1, 6);
    assert.equal(decisions.events[0]?.source, "backend");
    assert.deepEqual(new Set(during.map((e) => e.source)), new Set(["degraded"]));
    assert.deepEqual(
      during.map((e) => e.allowed),
      [true, true, true, false, false],
      "in-process, the client gets its limit again",
    );
    assert.ok(
      during.every((e) => e.backend === "ev" && e.identity === decisions.events[0]?.identity),
    );

    // One structured line per outage start and end, to the logger, not per request.
    assert.deepEqual(
      logger.lines.map((line) => [line.level, line.fields.state, line.fields.code]),
      [
        ["error", "outage-began", "TRAFFIK_BACKEND_OUTAGE"],
        ["warn", "outage-ended", "TRAFFIK_BACKEND_RECOVERED"],
      ],
    );
    await sleep(0);
    assert.deepEqual(warnings.warnings, [], "a logger replaces the process warnings");
  });

  it("without degraded mode: publishes onError's decisions with their cause", async (t) => {
    const server = await startRedis();
    const backend = new RedisBackend({
      connection: server.url,
      namespace: "ev-nodegraded",
      // As above: only the kill fails a call.
      timeoutMs: 10_000,
      degradedMode: false,
    });
    const errors = record<BackendErrorEvent>(CHANNELS.backendError);
    const hooked: DecisionEvent[] = [];
    t.after(async () => {
      errors.stop();
      await backend.close().catch(() => {});
      await server.stop();
    });
    const throttle = new HTTPThrottle<string>({
      uid: "ev-throttle",
      rate: "3/h",
      backend,
      identifier: (id) => id,
      onError: "throttle",
      onThrottled: (event) => hooked.push(event),
    });
    assert.equal((await throttle.tryHit("c")).allowed, true);
    await server.kill();
    assert.equal((await throttle.tryHit("c")).source, "error");
    assert.equal(errors.events.length, 1);
    assert.equal(errors.events[0]?.uid, "ev-throttle");
    assert.equal(errors.events[0]?.action, "throttle");
    assert.ok(errors.events[0]?.error instanceof BackendError, "the failure, as a BackendError");
    assert.deepEqual(
      hooked.map((e) => [e.source, e.allowed, e.backend, e.cost]),
      [["error", false, "ev-nodegraded", 1]],
    );
  });
});
