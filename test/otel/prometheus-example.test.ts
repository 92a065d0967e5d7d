/**
 * examples/otel-prometheus.ts, run as a user would: an Express app limited by Traffik, the real
 * OpenTelemetry SDK and Prometheus exporter; requests until some are throttled, then /metrics
 * scraped over HTTP and read back: the counters say what the responses said, and the
 * histogram holds each decision once, in seconds.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { freePort } from "../support/servers.js";
import { parseScrape, samplesOf, total } from "./prometheus-text.js";

describe("examples/otel-prometheus.ts", () => {
  it("exports Traffik's metrics to a Prometheus endpoint that a scrape reads back", async (t) => {
    const { start } = await import("../../examples/otel-prometheus.js");
    const app = await start({ port: 0, metricsPort: await freePort() });
    t.after(app.close);

    // "5/10s" on /api/data: a window may end during the loop, so count what was answered.
    const statuses = { 200: 0, 429: 0 } as Record<number, number>;
    for (let sent = 0; (statuses[429] ?? 0) < 3; sent++) {
      assert.ok(sent < 40, "throttled within 40 requests");
      const response = await fetch(`${app.url}/api/data`);
      await response.text();
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
    }
    const admitted = statuses[200] ?? 0;
    const throttled = statuses[429] ?? 0;
    assert.deepEqual(Object.keys(statuses).sort(), ["200", "429"]);

    const response = await fetch(app.metricsUrl);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain/);
    const scrape = parseScrape(await response.text());

    const decisions = "traffik_decisions_total";
    assert.equal(scrape.types.get(decisions), "counter");
    const route = { traffik_throttle_uid: "data", traffik_decision_source: "backend" };
    assert.equal(
      total(scrape, decisions, { ...route, traffik_decision_outcome: "allowed" }),
      admitted,
    );
    assert.equal(
      total(scrape, decisions, { ...route, traffik_decision_outcome: "throttled" }),
      throttled,
    );
    // The app-wide "100/m" throttle admitted every request, before the route's throttle.
    assert.equal(
      total(scrape, decisions, {
        traffik_throttle_uid: "api",
        traffik_decision_outcome: "allowed",
      }),
      admitted + throttled,
    );
    assert.equal(total(scrape, decisions, { traffik_throttle_uid: "api" }), admitted + throttled);
    for (const sample of samplesOf(scrape, decisions)) {
      assert.equal(sample.labels.traffik_backend, "otel-example");
      assert.equal(sample.labels.traffik_throttle_mode, "enforce");
      assert.equal(sample.labels.traffik_decision_mode, "consume");
      assert.equal(sample.labels.otel_scope_name, "traffik");
    }

    const duration = "traffik_decision_duration";
    assert.equal(scrape.types.get(duration), "histogram");
    assert.equal(scrape.units.get(duration), "s");
    const labels = { traffik_backend: "otel-example", traffik_decision_source: "backend" };
    const decided = 2 * (admitted + throttled);
    assert.equal(total(scrape, `${duration}_count`, labels), decided, "each decision once");
    const sum = total(scrape, `${duration}_sum`, labels);
    assert.ok(sum > 0 && sum < decided, `${sum} s for ${decided} in-memory decisions`);
    const buckets = samplesOf(scrape, `${duration}_bucket`, labels);
    assert.deepEqual(
      buckets.map((b) => b.labels.le).slice(0, 3),
      ["0.00001", "0.000025", "0.00005"],
      "bounds in seconds",
    );
    assert.equal(buckets.at(-1)?.labels.le, "+Inf");
    assert.equal(buckets.at(-1)?.value, decided);
    for (let i = 1; i < buckets.length; i++) {
      assert.ok((buckets[i]?.value ?? 0) >= (buckets[i - 1]?.value ?? 0), "cumulative buckets");
    }

    assert.equal(
      total(scrape, "traffik_backend_state_changes_total", {
        traffik_backend: "otel-example",
        traffik_backend_state: "ready",
      }),
      1,
    );
  });
});
