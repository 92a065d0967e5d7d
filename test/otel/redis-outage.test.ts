/**
 * traffik/otel through a real Redis killed and restarted: the outage as the nodes-out count and
 * as state changes (degraded mode); without degraded mode, each `onError` decision counted by
 * its action and error type, and the decisions by their source.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { RedisBackend } from "../../src/backends/redis/index.js";
import { type BackendErrorEvent, CHANNELS, type Decision, HTTPThrottle } from "../../src/index.js";
import { instrumentTraffik } from "../../src/otel/index.js";
import { record } from "../events/support.js";
import { outageWarnings } from "../support/failover-traffic.js";
import { hasBinary, startRedis } from "../support/servers.js";
import { testMeterProvider, valueWhere } from "./support.js";

const skip = !hasBinary("redis-server");

/** How many of `decisions` came from each source. */
function bySource(decisions: readonly Decision[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { source } of decisions) counts[source] = (counts[source] ?? 0) + 1;
  return counts;
}

describe("traffik/otel on Redis, through an outage", { skip }, () => {
  it("degraded mode: one node out while Redis is down, none once it answers again", async (t) => {
    const server = await startRedis();
    const sdk = testMeterProvider();
    const stop = await instrumentTraffik({ meterProvider: sdk.meterProvider });
    const backend = new RedisBackend({
      connection: server.url,
      namespace: "otel-redis",
      timeoutMs: 500,
    });
    const warnings = outageWarnings();
    t.after(async () => {
      stop();
      warnings.stop();
      await backend.close().catch(() => {});
      await server.stop();
    });
    const throttle = new HTTPThrottle<string>({
      uid: "otel-redis",
      rate: "3/h",
      backend,
      identifier: (id) => id,
    });
    const nodesOut = async () =>
      valueWhere((await sdk.sum("traffik.backend.active_outages")).points, {
        "traffik.backend": "otel-redis",
      });
    const decided: Decision[] = [await throttle.tryHit("c")];
    await server.kill();
    for (let i = 0; i < 3; i++) decided.push(await throttle.tryHit("c"));
    assert.equal(await nodesOut(), 1, JSON.stringify(bySource(decided)));
    await server.start();
    // Counted in polls, not measured: a stall delays reconnection and the polls alike.
    for (let polls = 0; decided.at(-1)?.source !== "backend" || polls === 0; polls++) {
      assert.ok(polls < 60, "back on the server within 60 polls, 50 ms apart");
      await sleep(50);
      decided.push(await throttle.tryHit("e"));
    }
    assert.equal(await nodesOut(), 0);
    await backend.close();

    const changes = (await sdk.sum("traffik.backend.state_changes")).points;
    assert.deepEqual(
      ["ready", "outage-began", "outage-ended", "closed"].map((state) =>
        valueWhere(changes, { "traffik.backend": "otel-redis", "traffik.backend.state": state }),
      ),
      [1, 1, 1, 1],
    );
    const sources = bySource(decided);
    assert.ok((sources.degraded ?? 0) >= 3, JSON.stringify(sources));
    const decisions = (await sdk.sum("traffik.decisions")).points;
    for (const [source, count] of Object.entries(sources)) {
      assert.equal(valueWhere(decisions, { "traffik.decision.source": source }), count, source);
    }
  });

  it("without degraded mode: counts onError's decisions by action and error type", async (t) => {
    const server = await startRedis();
    const sdk = testMeterProvider();
    const stop = await instrumentTraffik({ meterProvider: sdk.meterProvider });
    const errors = record<BackendErrorEvent>(CHANNELS.backendError);
    const backend = new RedisBackend({
      connection: server.url,
      namespace: "otel-nodegraded",
      timeoutMs: 500,
      degradedMode: false,
    });
    const warnings = outageWarnings();
    t.after(async () => {
      stop();
      errors.stop();
      warnings.stop();
      await backend.close().catch(() => {});
      await server.stop();
    });
    const options = { backend, identifier: (id: string) => id };
    const lenient = new HTTPThrottle<string>({
      uid: "lenient",
      rate: "3/h",
      onError: "allow",
      ...options,
    });
    const strict = new HTTPThrottle<string>({
      uid: "strict",
      rate: "3/h",
      onError: "throttle",
      ...options,
    });
    assert.equal((await lenient.tryHit("c")).source, "backend");
    await server.kill();
    const during = [];
    for (let i = 0; i < 3; i++) during.push(await lenient.tryHit("c"), await strict.tryHit("c"));
    assert.deepEqual(bySource(during), { error: 6 });

    const counted = (await sdk.sum("traffik.backend.errors")).points;
    const types = new Set(errors.events.map((event) => event.error.code));
    assert.equal(errors.events.length, 6);
    assert.ok(
      [...types].every((type) => type.startsWith("ERR_TRAFFIK_BACKEND")),
      [...types].join(),
    );
    for (const [uid, action] of [
      ["lenient", "allow"],
      ["strict", "throttle"],
    ]) {
      for (const type of types) {
        assert.equal(
          valueWhere(counted, {
            "traffik.throttle.uid": uid,
            "traffik.error.action": action,
            "error.type": type,
          }),
          errors.events.filter((event) => event.uid === uid && event.error.code === type).length,
          `${uid} ${type}`,
        );
      }
    }
    assert.equal(
      counted.reduce((sum, point) => sum + point.value, 0),
      6,
    );
    const decisions = (await sdk.sum("traffik.decisions")).points;
    const errorDecisions = (uid: string, outcome: string) =>
      valueWhere(decisions, {
        "traffik.throttle.uid": uid,
        "traffik.decision.source": "error",
        "traffik.decision.outcome": outcome,
      });
    assert.deepEqual(
      [errorDecisions("lenient", "allowed"), errorDecisions("strict", "throttled")],
      [3, 3],
    );
    const [duration] = (await sdk.histogram("traffik.decision.duration")).points.filter(
      (point) => point.attributes["traffik.decision.source"] === "error",
    );
    assert.equal(duration?.value.count, 6);
    assert.equal(duration?.attributes["traffik.backend"], "otel-nodegraded");
  });
});
