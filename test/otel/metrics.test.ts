/**
 * traffik/otel's metrics with the real OpenTelemetry SDK (sdk-metrics), on the in-memory
 * backend: each decision counted by throttle, outcome and source, timed in seconds by backend;
 * backend state changes; nothing of a client's identity in any attribute; options checked;
 * a broken meter never reaches a request.
 */
import assert from "node:assert/strict";
import { channel } from "node:diagnostics_channel";
import { once } from "node:events";
import { after, describe, it } from "node:test";
import { metrics } from "@opentelemetry/api";
import { InMemoryBackend } from "../../src/backends/inmemory/index.js";
import { ConfigurationError } from "../../src/errors.js";
import {
  type BackendStateEvent,
  CHANNELS,
  type DecisionEvent,
  HTTPThrottle,
  tryHitAll,
} from "../../src/index.js";
import { MAX_SERIES } from "../../src/otel/decision-tally.js";
import { instrumentTraffik } from "../../src/otel/index.js";
import { TokenBucketStrategy } from "../../src/strategies/index.js";
import { record } from "../events/support.js";
import { testMeterProvider, valueWhere } from "./support.js";

const channelsWithSubscribers = () =>
  Object.values(CHANNELS).filter((name) => channel(name).hasSubscribers);

describe("traffik/otel metrics (in-memory backend, real SDK)", () => {
  const backend = new InMemoryBackend({ namespace: "otel-mem" });
  after(() => backend.close());

  it("counts each decision by throttle, outcome, mode and source, and times it in seconds by backend", async (t) => {
    const sdk = testMeterProvider();
    const stop = await instrumentTraffik({ meterProvider: sdk.meterProvider });
    t.after(stop);
    const throttle = new HTTPThrottle<string>({
      uid: "login",
      rate: "3/h",
      strategy: new TokenBucketStrategy(),
      backend,
      identifier: (id) => id,
    });
    const published = record<DecisionEvent>(CHANNELS.decision);
    t.after(published.stop);
    const outcomes = [];
    for (let i = 0; i < 5; i++) outcomes.push((await throttle.tryHit("alice")).allowed);
    assert.deepEqual(outcomes, [true, true, true, false, false]);
    await throttle.peek("bob");

    const decisions = await sdk.sum("traffik.decisions");
    assert.equal(decisions.unit, "{decision}");
    const common = {
      "traffik.throttle.uid": "login",
      "traffik.throttle.mode": "enforce",
      "traffik.strategy": throttle.strategy.name,
      "traffik.decision.source": "backend",
      "traffik.backend": "otel-mem",
    };
    assert.deepEqual(
      decisions.points.map((p) => [p.attributes, p.value]),
      [
        [
          { ...common, "traffik.decision.mode": "consume", "traffik.decision.outcome": "allowed" },
          3,
        ],
        [
          {
            ...common,
            "traffik.decision.mode": "consume",
            "traffik.decision.outcome": "throttled",
          },
          2,
        ],
        [{ ...common, "traffik.decision.mode": "peek", "traffik.decision.outcome": "allowed" }, 1],
      ],
    );

    const duration = await sdk.histogram("traffik.decision.duration");
    assert.equal(duration.unit, "s");
    assert.equal(duration.points.length, 1);
    const [point] = duration.points;
    assert.deepEqual(point?.attributes, {
      "traffik.backend": "otel-mem",
      "traffik.decision.source": "backend",
    });
    const histogram = point?.value;
    assert.equal(histogram?.count, 6);
    assert.equal(
      histogram?.buckets.counts.reduce((a, b) => a + b, 0),
      6,
    );
    // Bounds in seconds, from 10 µs: not the SDK's default ones, which suit milliseconds.
    assert.equal(histogram?.buckets.boundaries[0], 0.00001);
    assert.equal(histogram?.buckets.boundaries.at(-1), 10);
    // In seconds: the events' milliseconds over 1000.
    const publishedMs = published.events.reduce((total, event) => total + event.durationMs, 0);
    assert.ok(publishedMs > 0);
    assert.ok(
      Math.abs((histogram?.sum ?? 0) - publishedMs / 1000) < 1e-9,
      `${histogram?.sum} s, ${publishedMs} ms published`,
    );
  });

  it("counts each throttle of a group once, with the group's verdict", async (t) => {
    const sdk = testMeterProvider();
    const stop = await instrumentTraffik({ meterProvider: sdk.meterProvider });
    t.after(stop);
    const options = { backend, identifier: (id: string) => id };
    const burst = new HTTPThrottle<string>({ uid: "burst", rate: "1/h", ...options });
    const steady = new HTTPThrottle<string>({ uid: "steady", rate: "10/h", ...options });
    await tryHitAll([burst, steady], "carol");
    await tryHitAll([burst, steady], "carol");
    const { points } = await sdk.sum("traffik.decisions");
    const count = (uid: string, outcome: string) =>
      valueWhere(points, { "traffik.throttle.uid": uid, "traffik.decision.outcome": outcome });
    assert.deepEqual(
      [count("burst", "allowed"), count("burst", "throttled"), count("steady", "allowed")],
      [1, 1, 2],
      "steady admits the second request, but it is not counted: the group rejected it",
    );
    const [histogram] = (await sdk.histogram("traffik.decision.duration")).points;
    assert.equal(histogram?.value.count, 4, "one duration per throttle's decision");
  });

  it("never puts the client's identity, raw or hashed, in an attribute", async (t) => {
    const sdk = testMeterProvider();
    const stop = await instrumentTraffik({ meterProvider: sdk.meterProvider });
    t.after(stop);
    const identities = new Set<string>();
    const throttle = new HTTPThrottle<string>({
      uid: "privacy",
      rate: "1/h",
      backend,
      identifier: (id) => id,
      eventIdentity: "raw",
      onDecision: (event) => identities.add(event.identity as string),
    });
    const hashed = new HTTPThrottle<string>({
      uid: "privacy-hashed",
      rate: "1/h",
      backend,
      identifier: (id) => id,
      onDecision: (event) => identities.add(event.identity as string),
    });
    for (const id of ["dave@example.com", "192.0.2.77", "dave@example.com"]) {
      await throttle.tryHit(id);
      await hashed.tryHit(id);
    }
    assert.equal(identities.size, 4, "two raw identities and two hashes were published");
    const values = (await sdk.allAttributes()).flatMap((attributes) =>
      Object.values(attributes).map(String),
    );
    assert.ok(values.includes("privacy"), "the attributes were read");
    for (const identity of identities) {
      assert.ok(
        !values.some((value) => value.includes(identity)),
        `${identity} is in an attribute`,
      );
    }
  });

  it("counts backend state changes, and outages begun and ended as nodes out now", async (t) => {
    const sdk = testMeterProvider();
    const stop = await instrumentTraffik({ meterProvider: sdk.meterProvider });
    t.after(stop);
    const own = new InMemoryBackend({ namespace: "otel-states" });
    const throttle = new HTTPThrottle<string>({
      uid: "states",
      rate: "5/h",
      backend: own,
      identifier: (id) => id,
    });
    await throttle.tryHit("hana"); // initialises the backend: "ready"
    await own.close();
    // Outages come from networked backends (test/otel/redis-outage.test.ts); here, what their
    // events would say in the order no real server makes on cue.
    const state = channel(CHANNELS.backendState);
    const publish = (event: BackendStateEvent) => state.publish(event);
    const out = async () =>
      valueWhere((await sdk.sum("traffik.backend.active_outages")).points, {
        "traffik.backend": "cluster",
      });
    publish({ backend: "cluster", state: "outage-ended", node: "a:1", durationMs: 5 });
    assert.equal(await out(), 0, "an outage begun before instrumenting is not counted down");
    publish({ backend: "cluster", state: "outage-began", node: "a:1", error: new Error("x") });
    publish({ backend: "cluster", state: "outage-began", node: "b:2", error: new Error("x") });
    assert.equal(await out(), 2);
    publish({ backend: "cluster", state: "outage-ended", node: "a:1", durationMs: 5 });
    assert.equal(await out(), 1);
    publish({ backend: "cluster", state: "closed" });
    assert.equal(await out(), 0, "closing a backend ends its outages");

    const changes = await sdk.sum("traffik.backend.state_changes");
    assert.equal(changes.unit, "{change}");
    const count = (backendName: string, stateName: string) =>
      valueWhere(changes.points, {
        "traffik.backend": backendName,
        "traffik.backend.state": stateName,
      });
    assert.deepEqual(
      [count("otel-states", "ready"), count("otel-states", "closed")],
      [1, 1],
      "the in-memory backend's own ready and closed",
    );
    assert.deepEqual(
      [
        count("cluster", "outage-began"),
        count("cluster", "outage-ended"),
        count("cluster", "closed"),
      ],
      [2, 2, 1],
    );
  });

  it("keeps at most 1 999 series of decisions, then counts the rest in one overflow series", async (t) => {
    const sdk = testMeterProvider();
    const stop = await instrumentTraffik({ meterProvider: sdk.meterProvider });
    t.after(stop);
    const own = new InMemoryBackend({ namespace: "otel-many" });
    t.after(() => own.close());
    for (let i = 0; i <= MAX_SERIES + 1; i++) {
      const throttle = new HTTPThrottle<string>({
        uid: `per-request-${i}`,
        rate: "5/h",
        backend: own,
        identifier: (id) => id,
      });
      await throttle.tryHit("ivan");
      if (i === 0) await throttle.tryHit("ivan");
    }
    const { points } = await sdk.sum("traffik.decisions");
    assert.equal(points.length, MAX_SERIES + 1);
    assert.equal(valueWhere(points, { "traffik.throttle.uid": "per-request-0" }), 2);
    assert.equal(valueWhere(points, { "otel.metric.overflow": true }), 2);
    assert.equal(
      points.reduce((sum, point) => sum + point.value, 0),
      MAX_SERIES + 3,
      "every decision counted",
    );
  });

  it("labels a shadow throttle's decisions (enforced: false) traffik.throttle.mode=shadow", async (t) => {
    const sdk = testMeterProvider();
    const stop = await instrumentTraffik({ meterProvider: sdk.meterProvider });
    t.after(stop);
    const event: DecisionEvent & { enforced: boolean } = {
      uid: "new-limit",
      identity: "0123456789abcdef",
      strategy: "fixed-window",
      mode: "consume",
      cost: 1,
      allowed: false,
      remaining: 0,
      limit: 10,
      retryAfterMs: 1000,
      delayMs: 0,
      source: "backend",
      backend: "otel-mem",
      durationMs: 0.002,
      enforced: false,
    };
    channel(CHANNELS.decision).publish(event);
    channel(CHANNELS.decision).publish({ ...event, enforced: true });
    const { points } = await sdk.sum("traffik.decisions");
    const count = (mode: string) =>
      valueWhere(points, {
        "traffik.throttle.mode": mode,
        "traffik.decision.outcome": "throttled",
      });
    assert.deepEqual([count("shadow"), count("enforce")], [1, 1]);
  });

  it("stops when told: nothing more is counted, and no channel keeps a subscriber", async () => {
    const sdk = testMeterProvider();
    assert.deepEqual(channelsWithSubscribers(), []);
    const stop = await instrumentTraffik({ meterProvider: sdk.meterProvider });
    assert.deepEqual(channelsWithSubscribers().sort(), Object.values(CHANNELS).sort());
    const throttle = new HTTPThrottle<string>({
      uid: "stopped",
      rate: "5/h",
      backend,
      identifier: (id) => id,
    });
    await throttle.tryHit("erin");
    stop();
    stop();
    await throttle.tryHit("erin");
    assert.deepEqual(channelsWithSubscribers(), []);
    const { points } = await sdk.sum("traffik.decisions");
    assert.equal(valueWhere(points, { "traffik.throttle.uid": "stopped" }), 1);
  });

  it("subscribes to traffik:throttled only for span events", async () => {
    const sdk = testMeterProvider();
    const stop = await instrumentTraffik({ meterProvider: sdk.meterProvider, spanEvents: false });
    try {
      assert.deepEqual(
        channelsWithSubscribers().sort(),
        [CHANNELS.backendError, CHANNELS.backendState, CHANNELS.decision].sort(),
      );
    } finally {
      stop();
    }
  });

  it("keeps a meter that throws away from the request: decided, one warning", async (t) => {
    const failing = () => ({
      add() {
        throw new Error("meter broken");
      },
      record() {
        throw new Error("meter broken");
      },
    });
    const meter = {
      createCounter: failing,
      createHistogram: failing,
      createUpDownCounter: failing,
      createObservableCounter: () => ({ addCallback() {} }),
    } as unknown as import("@opentelemetry/api").Meter;
    const stop = await instrumentTraffik({ meter });
    t.after(stop);
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    t.after(() => process.off("warning", onWarning));
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on("uncaughtException", onUncaught);
    t.after(() => process.off("uncaughtException", onUncaught));
    const throttle = new HTTPThrottle<string>({
      uid: "broken-meter",
      rate: "1/h",
      backend,
      identifier: (id) => id,
    });
    assert.equal((await throttle.tryHit("frank")).allowed, true);
    assert.equal((await throttle.tryHit("frank")).allowed, false);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(uncaught, []);
    assert.deepEqual(
      warnings.map((w) => (w as Error & { code?: string }).code),
      ["TRAFFIK_OTEL_FAILED"],
    );
    assert.match(warnings[0]?.message ?? "", /meter broken/);
  });

  it("rejects bad options with a ConfigurationError naming them", async () => {
    const sdk = testMeterProvider();
    const cases: [unknown, RegExp][] = [
      [
        { meterprovider: sdk.meterProvider },
        /unknown option "meterprovider"; did you mean "meterProvider"/,
      ],
      [
        { meter: sdk.meterProvider.getMeter("x"), meterProvider: sdk.meterProvider },
        /meter or meterProvider, not both/,
      ],
      [{ meterProvider: {} }, /meterProvider must be an OpenTelemetry MeterProvider/],
      [{ meter: sdk.meterProvider }, /meter must be an OpenTelemetry Meter/],
      [{ spanEvents: "yes" }, /spanEvents must be true or false, got "yes"/],
      [null, /options must be an object/],
    ];
    for (const [options, message] of cases) {
      await assert.rejects(
        instrumentTraffik(options as never),
        (error: Error) => error instanceof ConfigurationError && message.test(error.message),
      );
    }
    assert.deepEqual(channelsWithSubscribers(), [], "a rejected call subscribes to nothing");
  });

  it("takes the global MeterProvider by default, and warns when none is registered", async (t) => {
    t.after(() => metrics.disable());
    const warned = once(process, "warning");
    const stopUnregistered = await instrumentTraffik();
    stopUnregistered();
    const [warning] = (await warned) as [Error & { code?: string }];
    assert.equal(warning.code, "TRAFFIK_OTEL_NO_METER_PROVIDER");

    const sdk = testMeterProvider();
    assert.ok(metrics.setGlobalMeterProvider(sdk.meterProvider));
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on("warning", onWarning);
    t.after(() => process.off("warning", onWarning));
    const stop = await instrumentTraffik();
    t.after(stop);
    const throttle = new HTTPThrottle<string>({
      uid: "global",
      rate: "5/h",
      backend,
      identifier: (id) => id,
    });
    await throttle.tryHit("gina");
    const { points } = await sdk.sum("traffik.decisions");
    assert.equal(valueWhere(points, { "traffik.throttle.uid": "global" }), 1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(warnings, []);
  });
});
