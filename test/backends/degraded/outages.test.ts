import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { Outages } from "../../../src/backends/degraded/outages.js";
import { outageWarnings } from "../../support/failover-traffic.js";

const PROBE_MS = 250;
const TIMEOUT_MS = 1000;

describe("Outages: one per node, begun once and ended once, probed one request at a time", () => {
  let now = 0;
  let outages: Outages;
  let watching: ReturnType<typeof outageWarnings>;
  const codes = () =>
    watching.warnings.map(
      (w) => `${(w as { code?: string }).code}:${/node (\S+):/.exec(w.message)?.[1]}`,
    );
  // Warnings are emitted on the next tick.
  const flushed = () => new Promise((resolve) => setImmediate(resolve));

  beforeEach(() => {
    now = 1000;
    outages = new Outages("ns", PROBE_MS, TIMEOUT_MS, () => now);
    watching = outageWarnings();
  });
  afterEach(() => watching.stop());

  it("begins with the first failure, whatever fails after it, and sends nothing until a probe is due", async () => {
    const sentBefore = outages.sentAt();
    assert.equal(outages.route("a:1"), "shared");
    outages.failed("a:1", new Error("down"), sentBefore);
    for (let i = 0; i < 100; i++) outages.failed("a:1", new Error("down"), sentBefore);
    assert.equal(outages.route("a:1"), "fallback");
    assert.equal(outages.route("b:2"), "shared", "another node is not out");
    now += PROBE_MS;
    assert.equal(outages.route("a:1"), "probe");
    assert.equal(outages.route("a:1"), "fallback", "one probe at a time");
    await flushed();
    assert.deepEqual(codes(), ["TRAFFIK_BACKEND_OUTAGE:a:1"]);
  });

  it("ends once, when a request sent after it began is answered; not when an older one or another node answers", async () => {
    const old = outages.sentAt();
    now += 1;
    outages.failed("a:1", new Error("down"), old);
    outages.answered("a:1", old);
    outages.answered("b:2", outages.sentAt());
    assert.equal(outages.isOut("a:1"), true);
    now += PROBE_MS;
    assert.equal(outages.route("a:1"), "probe");
    const probe = outages.sentAt();
    outages.failed("a:1", new Error("still down"), probe);
    assert.equal(outages.route("a:1"), "fallback", "the next probe waits its interval");
    now += PROBE_MS;
    assert.equal(outages.route("a:1"), "probe");
    outages.answered("a:1", outages.sentAt());
    outages.answered("a:1", outages.sentAt());
    assert.equal(outages.none(), true);
    await flushed();
    assert.deepEqual(codes(), ["TRAFFIK_BACKEND_OUTAGE:a:1", "TRAFFIK_BACKEND_RECOVERED:a:1"]);
  });

  it("ends the outage of a node nothing is routed to any more (a replica took its slots)", async () => {
    outages.failed("a:1", new Error("down"), outages.sentAt());
    now += 2 * (PROBE_MS + TIMEOUT_MS);
    outages.answered("b:2", outages.sentAt());
    assert.equal(outages.isOut("a:1"), true, "not yet: it was routed to that long ago");
    now += 1;
    outages.answered("b:2", outages.sentAt());
    assert.equal(outages.none(), true);
    await flushed();
    assert.deepEqual(codes(), ["TRAFFIK_BACKEND_OUTAGE:a:1", "TRAFFIK_BACKEND_RECOVERED:a:1"]);
  });
});
